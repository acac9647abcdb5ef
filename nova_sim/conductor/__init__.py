"""The conductor service: ``manager`` (ConductorManager and ComputeTaskManager, the RPC
endpoints) and ``rpcapi`` (their clients). Computes reach the database only through it."""
