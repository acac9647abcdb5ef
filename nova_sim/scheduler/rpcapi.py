"""Client side of the scheduler's RPC API (Nova's ``nova/scheduler/rpcapi.py``).

Owns ``SchedulerAPI``: ``select_destinations`` is a *call* to topic ``scheduler``
(any scheduler may answer); the instance-info methods are *fanout casts* (every
scheduler hears them). Must not know how the scheduler decides.

API versions (as Nova's, the ones nova-sim implements):

- 4.0: select_destinations(request_spec, filter_properties) [old form]
- 4.2: update_instance_info, delete_instance_info, sync_instance_info (fanout casts)
- 4.3: select_destinations takes ``instance_uuids``
- 4.4: select_destinations takes ``spec_obj`` (the request spec)
- 4.5: select_destinations takes ``return_objects`` and ``return_alternates``
"""

from __future__ import annotations

from typing import Any

import nova_sim.conf
from nova_sim import rpc
from nova_sim.context import RequestContextSerializer

#: Topic of the scheduler service.
RPC_TOPIC = "scheduler"



class SchedulerAPI:
    """The scheduler's RPC client. ``transport`` from ``nova_sim.rpc.get_transport``;
    ``conf`` (default ``nova_sim.conf.CONF``) gives ``rpc_response_timeout`` and
    ``long_rpc_timeout`` (scheduling many instances can take longer than a usual RPC;
    heartbeats every ``rpc_response_timeout`` keep the call alive);
    ``topic`` is ``scheduler`` (tests that share a broker pick their own)."""

    VERSION = "4.5"

    def __init__(
        self,
        transport: Any,
        conf: Any = None,
        version_cap: str | None = None,
        topic: str = RPC_TOPIC,
    ):
        self.conf = conf if conf is not None else nova_sim.conf.CONF
        target = rpc.Target(topic=topic, version="4.0")
        self.client = rpc.RPCClient(
            transport, target, version_cap=version_cap, serializer=RequestContextSerializer()
        )

    def select_destinations(
        self,
        ctxt: Any,
        spec_obj: dict[str, Any],
        instance_uuids: list[str] | None,
        return_objects: bool = True,
        return_alternates: bool = False,
    ) -> list:
        """Call ``select_destinations``: one host list ``[chosen, alternates...]`` per
        instance (``return_objects=True``, nova-sim's default; Nova's rpcapi defaults to
        False and its conductor passes True). Raises ``NoValidHost`` (rebuilt from the
        remote error), ``MessagingTimeout`` after ``long_rpc_timeout`` seconds."""
        msg_args: dict[str, Any] = {"instance_uuids": instance_uuids, "spec_obj": spec_obj}
        version = "4.5"
        msg_args["return_objects"] = return_objects
        msg_args["return_alternates"] = return_alternates
        if not self.client.can_send_version(version):
            version = "4.4"
            del msg_args["return_objects"], msg_args["return_alternates"]
        timeout = self.conf.long_rpc_timeout
        monitor = self.conf.rpc_response_timeout
        cctxt = self.client.prepare(
            version=version, timeout=timeout, call_monitor_timeout=monitor
        )
        return cctxt.call(ctxt, "select_destinations", **msg_args)

    def update_instance_info(self, ctxt: Any, host_name: str, instance_info: Any) -> None:
        """Fanout cast: instances now on ``host_name``."""
        cctxt = self.client.prepare(fanout=True, version="4.2")
        cctxt.cast(ctxt, "update_instance_info", host_name=host_name,
                   instance_info=instance_info)

    def delete_instance_info(self, ctxt: Any, host_name: str, instance_uuid: str) -> None:
        """Fanout cast: ``instance_uuid`` left ``host_name``."""
        cctxt = self.client.prepare(fanout=True, version="4.2")
        cctxt.cast(ctxt, "delete_instance_info", host_name=host_name,
                   instance_uuid=instance_uuid)

    def sync_instance_info(self, ctxt: Any, host_name: str, instance_uuids: list[str]) -> None:
        """Fanout cast: the full list of ``host_name``'s instances."""
        cctxt = self.client.prepare(fanout=True, version="4.2")
        cctxt.cast(ctxt, "sync_instance_info", host_name=host_name,
                   instance_uuids=instance_uuids)
