"""Transports: how message bytes move between clients and servers.

``base`` holds what every transport shares (reply waiters, the listener interface);
``green`` is the in-process broker on green queues; ``amqp`` is kombu (``memory://``,
``rabbit://``, ``amqp://``). ``get_transport`` in ``nova_sim.rpc`` picks one by URL.
"""
