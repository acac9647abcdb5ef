"""The scheduler service: where an instance goes.

``manager.SchedulerManager`` serves ``select_destinations`` over RPC (topic
``scheduler``); ``rpcapi.SchedulerAPI`` is its client; ``host_manager`` keeps the cached
``HostState`` of every compute node; ``filters`` and ``weights`` hold the filters and
weighers; ``utils`` the helpers a caller of the scheduler shares (resources of a flavor,
the claim of an alternate). Must not know about the compute driver or the REST API.
"""
