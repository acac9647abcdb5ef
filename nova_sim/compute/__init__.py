"""The compute service and its API: ``manager`` (the RPC endpoint and periodic tasks of a
compute host), ``rpcapi`` (casts to it), ``api`` (the internal entry point of server
operations), ``resource_tracker``, and the state constants (``vm_states``,
``task_states``, ``power_state``)."""
