"""Client side of the conductor's two RPC interfaces (as ``nova/conductor/rpcapi.py``).

Owns ``ConductorAPI`` (topic ``conductor``, no namespace, version 3.x: the object calls a
compute makes instead of touching the database) and ``ComputeTaskAPI`` (topic
``conductor``, namespace ``compute_task``, version 1.x: the casts that start or reschedule
builds). Must not know about the database or the managers' internals.

Instances and other records travel as plain dicts. A save is Nova's ``object_action``:
the record's changed fields go to the conductor as ``{"nova_object.name", ...data,
...changes}``, the conductor writes them with the expected-state check in one statement and
answers ``[updates, result]``; the caller's dict is then refreshed from ``updates``.
Every method on ``ConductorAPI`` is an RPC **call** (it waits; raises
``MessagingTimeout`` after ``rpc_response_timeout``, and re-raises the conductor's
``nova_sim.exception`` errors such as ``InstanceNotFound`` or
``UnexpectedTaskStateError``); every method on ``ComputeTaskAPI`` is a **cast**.
"""

from __future__ import annotations

import logging
from typing import Any

from nova_sim import rpc
from nova_sim.context import RequestContextSerializer

LOG = logging.getLogger(__name__)

TOPIC = "conductor"
#: The conductor's RPC API version (Nova's conductor is at 3.0).
CONDUCTOR_VERSION = "3.0"
#: The compute-task API version (Nova's ComputeTaskManager is at 1.25).
COMPUTE_TASK_VERSION = "1.25"
COMPUTE_TASK_NAMESPACE = "compute_task"


def _primitive(objname: str, data: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    return {
        "nova_object.name": objname,
        "nova_object.namespace": "nova",
        "nova_object.data": data,
        "nova_object.changes": changes,
    }


class ConductorAPI:
    """The calls a compute service makes to the conductor (all synchronous RPC calls)."""

    def __init__(self, transport: Any, conf: Any = None, timeout: float | None = None):
        target = rpc.Target(topic=TOPIC, version=CONDUCTOR_VERSION)
        self.client = rpc.RPCClient(
            transport, target, timeout=timeout, serializer=RequestContextSerializer()
        )

    def wait_until_ready(self, ctxt: Any, early_timeout: float = 10.0,
                         early_attempts: int = 10) -> None:
        """Block until a conductor answers ``ping`` (Nova's compute does this before it
        starts: a message sent before any conductor declared its queue is lost).

        Tries ``early_attempts`` pings of ``early_timeout`` seconds, logging each
        timeout, then keeps pinging with the default timeout; never gives up (stop the
        service to give up)."""
        from nova_sim.rpc import MessagingTimeout

        attempt = 0
        while True:
            attempt += 1
            timeout = early_timeout if attempt <= early_attempts else None
            try:
                self.client.prepare(timeout=timeout).call(ctxt, "ping", arg="1.21 GigaWatts")
                return
            except MessagingTimeout:
                LOG.warning("Timed out waiting for nova-conductor. Is it running? Or did this "
                            "service start before nova-conductor? Reattempting establishment "
                            "of nova-conductor connection...")

    # -- objects ---------------------------------------------------------------------------

    def object_action(
        self,
        ctxt: Any,
        objname: str,
        objinst: dict[str, Any],
        changes: dict[str, Any],
        objmethod: str,
        **kwargs: Any,
    ) -> list[Any]:
        """Run ``objmethod`` (``save``, ``destroy``, ``create``) of an object on the
        conductor; returns ``[updates, result]`` (updates: the record as stored)."""
        return self.client.call(
            ctxt,
            "object_action",
            objinst=_primitive(objname, objinst, changes),
            objmethod=objmethod,
            args=[],
            kwargs=kwargs,
        )

    def object_class_action(
        self, ctxt: Any, objname: str, objmethod: str, **kwargs: Any
    ) -> Any:
        """Run a class method of an object (``InstanceList.get_by_host``,
        ``InstanceActionEvent.event_start``, ``Service.get_by_host_and_binary``...)."""
        return self.client.call(
            ctxt,
            "object_class_action_versions",
            objname=objname,
            objmethod=objmethod,
            object_versions={},
            args=[],
            kwargs=kwargs,
        )

    def instance_save(
        self,
        ctxt: Any,
        instance: dict[str, Any],
        updates: dict[str, Any],
        expected_task_state: Any = None,
        expected_vm_state: Any = None,
    ) -> dict[str, Any]:
        """``instance.save()``: write ``updates`` and refresh ``instance`` in place (with
        the written fields and the state fields the conductor answers with).

        ``expected_task_state`` (a value or a list; ``[None]`` means "no task") is checked
        atomically with the write. Raises ``UnexpectedTaskStateError`` (nothing written;
        ``actual == "deleting"`` when a delete overtook us) or ``InstanceNotFound``.
        Returns ``instance``.
        """
        kwargs: dict[str, Any] = {}
        if expected_task_state is not None:
            kwargs["expected_task_state"] = expected_task_state
        if expected_vm_state is not None:
            kwargs["expected_vm_state"] = expected_vm_state
        stored, _ = self.object_action(
            ctxt, "Instance", {"uuid": instance["uuid"]}, updates, "save", **kwargs
        )
        instance.update(stored)
        return instance

    def instance_destroy(self, ctxt: Any, instance: dict[str, Any]) -> dict[str, Any]:
        """``instance.destroy()``: soft-delete the record; refreshes ``instance``."""
        stored, _ = self.object_action(
            ctxt, "Instance", {"uuid": instance["uuid"]}, {}, "destroy"
        )
        instance.update(stored)
        return instance

    def instance_get_all_by_host(
        self, ctxt: Any, host: str, node: str | None = None
    ) -> list[dict[str, Any]]:
        """``InstanceList.get_by_host[_and_node]``: the live instances on ``host``."""
        return self.object_class_action(
            ctxt, "InstanceList", "get_by_host", host=host, node=node
        )

    def instance_fault_create(
        self, ctxt: Any, instance_uuid: str, code: int, message: str,
        details: str | None = None, host: str | None = None,
    ) -> dict[str, Any]:
        """``InstanceFault.create()``: record a fault of an instance."""
        values = {
            "instance_uuid": instance_uuid, "code": code, "message": message,
            "details": details, "host": host,
        }
        stored, _ = self.object_action(ctxt, "InstanceFault", {}, values, "create")
        return stored

    def action_event_start(
        self, ctxt: Any, instance_uuid: str, event: str, host: str | None = None
    ) -> Any:
        """``InstanceActionEvent.event_start``: an event of the action of the context's
        request. Returns False when there is no such action (nothing recorded)."""
        return self.object_class_action(
            ctxt, "InstanceActionEvent", "event_start",
            instance_uuid=instance_uuid, event_name=event, host=host,
        )

    def action_event_finish(
        self, ctxt: Any, instance_uuid: str, event: str, result: str = "Success",
        traceback: str | None = None,
    ) -> Any:
        """``InstanceActionEvent.event_finish[_with_failure]``; False when there is no
        such action or event."""
        return self.object_class_action(
            ctxt, "InstanceActionEvent", "event_finish",
            instance_uuid=instance_uuid, event_name=event, result=result,
            traceback=traceback,
        )

    # -- services and resources ------------------------------------------------------------

    def service_get_or_create(
        self, ctxt: Any, host: str, binary: str, topic: str
    ) -> dict[str, Any]:
        """``Service.get_by_host_and_binary`` or ``Service.create`` for a starting service."""
        return self.object_class_action(
            ctxt, "Service", "get_or_create", host=host, binary=binary, topic=topic
        )

    def service_heartbeat(self, ctxt: Any, service: dict[str, Any]) -> dict[str, Any]:
        """``service.report_count += 1; service.save()``: one heartbeat of a compute.

        Refreshes ``service`` in place with what the save changed (``report_count``,
        ``last_seen_up``, ``updated_at``) and returns it. Raises ``ServiceNotFound``.
        """
        stored, _ = self.object_action(
            ctxt, "Service", {"id": service["id"]},
            {"report_count": service.get("report_count", 0) + 1}, "save",
        )
        service.update(stored)
        return service

    def compute_node_update(
        self,
        ctxt: Any,
        values: dict[str, Any],
        inventories: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """``ComputeNode.save()`` plus, with ``inventories``, the provider's inventory
        report (Nova's compute talks to placement over HTTP; here it goes through the
        conductor). Returns the compute node row."""
        stored, _ = self.object_action(
            ctxt, "ComputeNode", {"host": values["host"]}, values, "save",
            inventories=inventories,
        )
        return stored

    def remove_allocations(
        self, ctxt: Any, instance_uuid: str, rp_uuid: str | None = None
    ) -> bool:
        """Placement ``DELETE /allocations/{consumer}`` (only on ``rp_uuid`` when given)."""
        return self.object_class_action(
            ctxt, "Allocations", "delete", consumer_uuid=instance_uuid, rp_uuid=rp_uuid
        )

    def move_allocations(self, ctxt: Any, source_consumer: str, target_consumer: str
                         ) -> bool:
        """Placement's allocation move (Nova's ``move_allocations`` of a migration):
        ``target_consumer``'s allocations are replaced by ``source_consumer``'s."""
        return self.object_class_action(
            ctxt, "Allocations", "move", source_consumer=source_consumer,
            target_consumer=target_consumer)


    # -- images (Nova's compute talks to Glance over HTTP; here through the conductor) --

    def image_update(self, ctxt: Any, image_id: str, values: dict[str, Any]
                     ) -> dict[str, Any]:
        """Change an image record (status, size...); ``ImageNotFound``."""
        stored, _ = self.object_action(ctxt, "Image", {"id": image_id}, values, "save")
        return stored

    def image_delete(self, ctxt: Any, image_id: str) -> None:
        """Delete an image record; ``ImageNotFound``."""
        self.object_action(ctxt, "Image", {"id": image_id}, {}, "destroy")

    def image_get_all(self, ctxt: Any) -> list[dict[str, Any]]:
        """Every live image record (Glance-v2 shaped)."""
        return self.object_class_action(ctxt, "ImageList", "get_all")

class ComputeTaskAPI:
    """Casts that start builds (API -> conductor) and reschedule them (compute -> conductor)."""

    def __init__(self, transport: Any, conf: Any = None):
        target = rpc.Target(
            topic=TOPIC, namespace=COMPUTE_TASK_NAMESPACE, version=COMPUTE_TASK_VERSION
        )
        self.client = rpc.RPCClient(transport, target, serializer=RequestContextSerializer())

    def schedule_and_build_instances(
        self,
        ctxt: Any,
        build_requests: list[dict[str, Any]],
        request_specs: list[dict[str, Any]],
        image: dict[str, Any] | None,
        admin_password: str | None = None,
        injected_files: Any = None,
        requested_networks: Any = None,
        block_device_mapping: Any = None,
        tags: Any = None,
    ) -> None:
        """Cast: schedule the instances and cast their builds (the API returns at once)."""
        self.client.prepare(version="1.17").cast(
            ctxt,
            "schedule_and_build_instances",
            build_requests=build_requests,
            request_specs=request_specs,
            image=image,
            admin_password=admin_password,
            injected_files=injected_files,
            requested_networks=requested_networks,
            block_device_mapping=block_device_mapping,
            tags=tags,
        )

    def build_instances(
        self,
        ctxt: Any,
        instances: list[dict[str, Any]],
        image: dict[str, Any] | None,
        filter_properties: dict[str, Any],
        admin_password: str | None = None,
        injected_files: Any = None,
        requested_networks: Any = None,
        security_groups: Any = None,
        block_device_mapping: Any = None,
        legacy_bdm: bool = False,
        request_spec: dict[str, Any] | None = None,
        host_lists: list[list[dict[str, Any]]] | None = None,
    ) -> None:
        """Cast: reschedule failed builds to their next alternate host (``host_lists``)."""
        self.client.prepare(version="1.17").cast(
            ctxt,
            "build_instances",
            instances=instances,
            image=image,
            filter_properties=filter_properties,
            admin_password=admin_password,
            injected_files=injected_files,
            requested_networks=requested_networks,
            security_groups=security_groups,
            block_device_mapping=block_device_mapping,
            legacy_bdm=legacy_bdm,
            request_spec=request_spec,
            host_lists=host_lists,
        )

    def rebuild_instance(
        self,
        ctxt: Any,
        instance: dict[str, Any],
        orig_image_ref: str | None,
        image_ref: str,
        orig_sys_metadata: dict[str, Any],
        bdms: Any,
        recreate: bool = False,
        on_shared_storage: bool = False,
        preserve_ephemeral: bool = False,
        host: str | None = None,
        request_spec: Any = None,
        new_pass: str | None = None,
        injected_files: Any = None,
    ) -> None:
        """Cast: rebuild the instance (on its own host: no scheduling for a rebuild)."""
        self.client.prepare(version="1.25").cast(
            ctxt,
            "rebuild_instance",
            instance=instance,
            new_pass=new_pass,
            injected_files=injected_files,
            image_ref=image_ref,
            orig_image_ref=orig_image_ref,
            orig_sys_metadata=orig_sys_metadata,
            bdms=bdms,
            recreate=recreate,
            on_shared_storage=on_shared_storage,
            preserve_ephemeral=preserve_ephemeral,
            host=host,
            request_spec=request_spec,
        )

    def unshelve_instance(self, ctxt: Any, instance: dict[str, Any],
                          request_spec: dict[str, Any] | None = None) -> None:
        """Cast: unshelve (power a shelved instance on, or schedule an offloaded one)."""
        self.client.prepare(version="1.25").cast(
            ctxt, "unshelve_instance", instance=instance, request_spec=request_spec,
        )

    def migrate_server(self, ctxt: Any, instance: dict[str, Any], flavor: dict[str, Any],
                       request_spec: dict[str, Any] | None = None,
                       clean_shutdown: bool = True, live: bool = False,
                       rebuild: bool = False, host_list: Any = None) -> None:
        """Cast (``do_cast``, as Nova's API does for a resize or cold migration):
        schedule the instance with ``flavor`` and start the resize."""
        self.client.prepare(version="1.25").cast(
            ctxt, "migrate_server", instance=instance, scheduler_hint={}, live=live,
            rebuild=rebuild, flavor=flavor, block_migration=None, disk_over_commit=None,
            reservations=None, clean_shutdown=clean_shutdown, request_spec=request_spec,
            host_list=host_list,
        )
