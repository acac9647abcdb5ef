"""Client side of the compute service's RPC interface (as ``nova/compute/rpcapi.py``).

Owns ``ComputeAPI``: every method is a **cast** to ``compute.<host>`` (the queue of one
compute service), so the caller never waits for the hypervisor; results show up as
instance state changes. Must not know about the manager's internals or the database.
"""

from __future__ import annotations

from typing import Any

from nova_sim import rpc
from nova_sim.context import RequestContextSerializer

TOPIC = "compute"
#: The compute RPC API version (Nova's compute is at 6.x).
VERSION = "6.0"


class ComputeAPI:
    """Casts to one compute host's manager; the host is taken from the instance."""

    def __init__(self, transport: Any, conf: Any = None):
        self.client = rpc.RPCClient(
            transport, rpc.Target(topic=TOPIC, version=VERSION),
            serializer=RequestContextSerializer(),
        )

    def _cast(self, ctxt: Any, host: str, method: str, **kwargs: Any) -> None:
        self.client.prepare(server=host, version=VERSION).cast(ctxt, method, **kwargs)

    def build_and_run_instance(
        self,
        ctxt: Any,
        instance: dict[str, Any],
        host: str,
        image: dict[str, Any] | None,
        request_spec: dict[str, Any] | None,
        filter_properties: dict[str, Any],
        admin_password: str | None = None,
        injected_files: Any = None,
        requested_networks: Any = None,
        security_groups: Any = None,
        block_device_mapping: Any = None,
        node: str | None = None,
        limits: dict[str, Any] | None = None,
        host_list: list[dict[str, Any]] | None = None,
    ) -> None:
        """Cast: build ``instance`` on ``host``; ``host_list`` holds the alternates."""
        self._cast(
            ctxt, host, "build_and_run_instance",
            instance=instance, image=image, request_spec=request_spec,
            filter_properties=filter_properties, admin_password=admin_password,
            injected_files=injected_files, requested_networks=requested_networks,
            security_groups=security_groups, block_device_mapping=block_device_mapping,
            node=node, limits=limits, host_list=host_list,
        )

    def terminate_instance(self, ctxt: Any, instance: dict[str, Any], bdms: Any = None) -> None:
        """Cast: destroy the guest and delete the instance."""
        self._cast(ctxt, instance["host"], "terminate_instance", instance=instance, bdms=bdms)

    def stop_instance(
        self, ctxt: Any, instance: dict[str, Any], clean_shutdown: bool = True
    ) -> None:
        """Cast: power the guest off (``powering-off`` -> ``stopped``)."""
        self._cast(
            ctxt, instance["host"], "stop_instance", instance=instance,
            clean_shutdown=clean_shutdown,
        )

    def start_instance(self, ctxt: Any, instance: dict[str, Any]) -> None:
        """Cast: power the guest on (``powering-on`` -> ``active``)."""
        self._cast(ctxt, instance["host"], "start_instance", instance=instance)

    def reboot_instance(
        self,
        ctxt: Any,
        instance: dict[str, Any],
        block_device_info: Any = None,
        reboot_type: str = "SOFT",
    ) -> None:
        """Cast: reboot the guest, ``SOFT`` or ``HARD``."""
        self._cast(
            ctxt, instance["host"], "reboot_instance", instance=instance,
            block_device_info=block_device_info, reboot_type=reboot_type,
        )
