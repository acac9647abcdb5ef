"""Client side of the compute service's RPC interface (as ``nova/compute/rpcapi.py``).

Owns ``ComputeAPI``: every method but ``get_console_output`` is a **cast** to
``compute.<host>`` (the queue of one compute service), so the caller never waits for the
hypervisor; results show up as instance state changes. ``get_console_output`` is a
**call**, as in Nova: the API waits for the log. Must not know about the manager's
internals or the database.
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

    def _cast_instance(self, ctxt: Any, instance: dict[str, Any], method: str,
                       **kwargs: Any) -> None:
        self._cast(ctxt, instance["host"], method, instance=instance, **kwargs)

    def pause_instance(self, ctxt: Any, instance: dict[str, Any]) -> None:
        """Cast: pause the guest (``pausing`` -> ``paused``)."""
        self._cast_instance(ctxt, instance, "pause_instance")

    def unpause_instance(self, ctxt: Any, instance: dict[str, Any]) -> None:
        """Cast: unpause the guest (``unpausing`` -> ``active``)."""
        self._cast_instance(ctxt, instance, "unpause_instance")

    def suspend_instance(self, ctxt: Any, instance: dict[str, Any]) -> None:
        """Cast: suspend the guest (``suspending`` -> ``suspended``)."""
        self._cast_instance(ctxt, instance, "suspend_instance")

    def resume_instance(self, ctxt: Any, instance: dict[str, Any]) -> None:
        """Cast: resume the guest (``resuming`` -> ``active``)."""
        self._cast_instance(ctxt, instance, "resume_instance")

    def rescue_instance(self, ctxt: Any, instance: dict[str, Any],
                        rescue_password: str | None = None,
                        rescue_image_ref: str | None = None,
                        clean_shutdown: bool = True) -> None:
        """Cast: boot the guest from a rescue image (``rescuing`` -> ``rescued``)."""
        self._cast_instance(ctxt, instance, "rescue_instance",
                            rescue_password=rescue_password,
                            rescue_image_ref=rescue_image_ref,
                            clean_shutdown=clean_shutdown)

    def unrescue_instance(self, ctxt: Any, instance: dict[str, Any]) -> None:
        """Cast: leave rescue (``unrescuing`` -> ``active``)."""
        self._cast_instance(ctxt, instance, "unrescue_instance")

    def snapshot_instance(self, ctxt: Any, instance: dict[str, Any], image_id: str) -> None:
        """Cast: snapshot the guest's disk into image ``image_id``."""
        self._cast_instance(ctxt, instance, "snapshot_instance", image_id=image_id)

    def backup_instance(self, ctxt: Any, instance: dict[str, Any], image_id: str | None,
                        backup_type: str, rotation: int) -> None:
        """Cast: back the guest's disk up into ``image_id`` and rotate old backups."""
        self._cast_instance(ctxt, instance, "backup_instance", image_id=image_id,
                            backup_type=backup_type, rotation=rotation)

    def rebuild_instance(self, ctxt: Any, instance: dict[str, Any], new_pass: str | None,
                         injected_files: Any, image_ref: str, orig_image_ref: str | None,
                         orig_sys_metadata: dict[str, Any], bdms: Any,
                         recreate: bool = False, on_shared_storage: bool = False,
                         host: str | None = None, node: str | None = None,
                         preserve_ephemeral: bool = False, migration: Any = None,
                         limits: Any = None, request_spec: Any = None,
                         accel_uuids: Any = None, reimage_boot_volume: bool = False,
                         target_state: str | None = None) -> None:
        """Cast (from the conductor): rebuild the guest from ``image_ref`` on ``host``
        (the instance's own host when not given)."""
        self._cast(ctxt, host or instance["host"], "rebuild_instance", instance=instance,
                   new_pass=new_pass, injected_files=injected_files, image_ref=image_ref,
                   orig_image_ref=orig_image_ref, orig_sys_metadata=orig_sys_metadata,
                   bdms=bdms, recreate=recreate, on_shared_storage=on_shared_storage,
                   preserve_ephemeral=preserve_ephemeral, migration=migration,
                   scheduled_node=node, limits=limits, request_spec=request_spec,
                   accel_uuids=accel_uuids or [], reimage_boot_volume=reimage_boot_volume,
                   target_state=target_state)

    def shelve_instance(self, ctxt: Any, instance: dict[str, Any], image_id: str | None,
                        clean_shutdown: bool = True, accel_uuids: Any = None) -> None:
        """Cast: power off, upload the shelved image, ``shelved`` (and offload)."""
        self._cast_instance(ctxt, instance, "shelve_instance", image_id=image_id,
                            clean_shutdown=clean_shutdown, accel_uuids=accel_uuids or [])

    def shelve_offload_instance(self, ctxt: Any, instance: dict[str, Any],
                                clean_shutdown: bool = True,
                                accel_uuids: Any = None) -> None:
        """Cast: destroy a shelved guest and free the host (``shelved_offloaded``)."""
        self._cast_instance(ctxt, instance, "shelve_offload_instance",
                            clean_shutdown=clean_shutdown, accel_uuids=accel_uuids or [])

    def unshelve_instance(self, ctxt: Any, instance: dict[str, Any], host: str,
                          request_spec: Any, image: dict[str, Any] | None = None,
                          filter_properties: dict[str, Any] | None = None,
                          node: str | None = None, accel_uuids: Any = None) -> None:
        """Cast (from the conductor): spawn an offloaded instance on ``host``."""
        self._cast(ctxt, host, "unshelve_instance", instance=instance, image=image,
                   filter_properties=filter_properties or {}, node=node,
                   request_spec=request_spec, accel_uuids=accel_uuids or [])

    def inject_network_info(self, ctxt: Any, instance: dict[str, Any]) -> None:
        """Cast: write the guest's network configuration again."""
        self._cast_instance(ctxt, instance, "inject_network_info")

    def get_console_output(self, ctxt: Any, instance: dict[str, Any],
                           tail_length: int | None = None) -> str:
        """**Call**: the guest's console log (its last ``tail_length`` lines); waits for
        the compute (``MessagingTimeout`` after ``rpc_response_timeout``)."""
        return self.client.prepare(server=instance["host"], version=VERSION).call(
            ctxt, "get_console_output", instance=instance, tail_length=tail_length)

    # -- resize and cold migration ---------------------------------------------------------

    def prep_resize(self, ctxt: Any, instance: dict[str, Any], flavor: dict[str, Any],
                    host: str, migration: dict[str, Any], node: str | None = None,
                    clean_shutdown: bool = True, request_spec: Any = None,
                    image: Any = None, filter_properties: Any = None,
                    host_list: Any = None) -> None:
        """Cast (from the conductor) to the destination ``host``: claim the new flavor
        there and ask the source to migrate."""
        self._cast(ctxt, host, "prep_resize", instance=instance, flavor=flavor,
                   migration=migration, node=node, clean_shutdown=clean_shutdown,
                   request_spec=request_spec, image=image,
                   filter_properties=filter_properties or {}, host_list=host_list or [])

    def resize_instance(self, ctxt: Any, instance: dict[str, Any],
                        migration: dict[str, Any], flavor: dict[str, Any],
                        clean_shutdown: bool = True) -> None:
        """Cast (from the destination) to the source: power off and move the disk."""
        self._cast(ctxt, migration["source_compute"], "resize_instance", instance=instance,
                   migration=migration, flavor=flavor, image=None,
                   clean_shutdown=clean_shutdown, request_spec=None)

    def finish_resize(self, ctxt: Any, instance: dict[str, Any],
                      migration: dict[str, Any], flavor: dict[str, Any]) -> None:
        """Cast (from the source) to the destination: start the guest there."""
        self._cast(ctxt, migration["dest_compute"], "finish_resize", instance=instance,
                   migration=migration, flavor=flavor, image=None, disk_info=None,
                   request_spec=None)

    def confirm_resize(self, ctxt: Any, instance: dict[str, Any],
                       migration: dict[str, Any], host: str) -> None:
        """Cast (from the API) to the source ``host``: drop the old guest."""
        self._cast(ctxt, host, "confirm_resize", instance=instance, migration=migration)

    def revert_resize(self, ctxt: Any, instance: dict[str, Any],
                      migration: dict[str, Any], host: str) -> None:
        """Cast (from the API) to the destination ``host``: drop the new guest."""
        self._cast(ctxt, host, "revert_resize", instance=instance, migration=migration,
                   request_spec=None)

    def finish_revert_resize(self, ctxt: Any, instance: dict[str, Any],
                             migration: dict[str, Any], host: str) -> None:
        """Cast (from the destination) to the source ``host``: the old guest back."""
        self._cast(ctxt, host, "finish_revert_resize", instance=instance,
                   migration=migration, request_spec=None)
