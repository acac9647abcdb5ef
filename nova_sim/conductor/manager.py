"""The conductor: the database front for computes, and the orchestrator of builds.

Owns two RPC endpoints served by one conductor service (as ``nova/conductor/manager.py``):

* ``ConductorManager`` (no namespace, version 3.x): ``object_action`` and
  ``object_class_action_versions``, the object calls a compute makes instead of touching
  the database: instance saves with an atomic expected-state check, instance destroy,
  faults, action events, the compute's service row and heartbeat, compute node and
  inventory reports, allocation removal.
* ``ComputeTaskManager`` (namespace ``compute_task``, version 1.x):
  ``schedule_and_build_instances`` (call the scheduler, record the ``create`` action, cast
  each build with its alternates) and ``build_instances`` (a reschedule: claim the next
  alternate and cast to it; never ask the scheduler again; out of alternates or over
  ``[scheduler] max_attempts`` -> ERROR with a fault).

Must not know about the hypervisor or the REST API.
"""

from __future__ import annotations

import contextlib
import logging
import traceback
from typing import Any, Callable

import nova_sim.conf
from nova_sim import exception, green, rpc, servicegroup, trace
from nova_sim.compute import rpcapi as compute_rpcapi
from nova_sim.compute import task_states, vm_states
from nova_sim.conductor.rpcapi import (
    COMPUTE_TASK_NAMESPACE,
    COMPUTE_TASK_VERSION,
    CONDUCTOR_VERSION,
)
from nova_sim.image import ImageAPI
from nova_sim.scheduler import utils as scheduler_utils

LOG = logging.getLogger(__name__)

#: Instance fields every save answers with (besides the fields it wrote).
INSTANCE_STATE_FIELDS = (
    "uuid", "vm_state", "task_state", "power_state", "host", "node", "launched_at",
    "terminated_at", "updated_at", "deleted",
)
#: Service fields a heartbeat (``report_count += 1; save()``) changes and answers with.
SERVICE_HEARTBEAT_FIELDS = ("report_count", "last_seen_up", "updated_at")
#: Compute node fields a ComputeNode.save answers with.
COMPUTE_NODE_REPLY_FIELDS = (
    "id", "uuid", "host", "hypervisor_hostname", "vcpus", "memory_mb", "local_gb",
    "vcpus_used", "memory_mb_used", "local_gb_used", "running_vms", "updated_at",
)



def _yield() -> None:
    """Let the other greenthreads of the process run between two instances of a batch.

    Under eventlet, Nova's conductor yields at every database write and every publish (its
    sockets are green); nova-sim's database on the hub does not yield, so a batch of 1,000
    instances would hold the hub for its whole length without this."""
    green.sleep(0)


def _selection_value(selection: Any, key: str, default: Any = None) -> Any:
    if isinstance(selection, dict):
        return selection.get(key, default)
    return getattr(selection, key, default)


def move_allocations(db: Any, source_consumer: str, target_consumer: str,
                     allocations: list[dict[str, Any]]) -> None:
    """Give ``allocations`` (rows of ``source_consumer``) to ``target_consumer``: the
    source's are removed, then claimed again under the target, provider by provider."""
    db.remove_allocations(source_consumer)
    by_provider: dict[str, dict[str, int]] = {}
    for row in allocations:
        by_provider.setdefault(row["rp_uuid"], {})[row["resource_class"]] = row["used"]
    for rp_uuid, resources in by_provider.items():
        owner = allocations[0]
        db.claim_resources(target_consumer, rp_uuid, resources, owner.get("project_id"),
                           owner.get("user_id"))


def _object_dispatch(span_name: str, handler: Callable[..., Any], *args: Any,
                     **kwargs: Any) -> Any:
    """Run an object method in a span of its own; what it raises is the caller's answer.

    As Nova's conductor does, an error of the object method (InstanceNotFound,
    UnexpectedTaskStateError when a delete overtook a reboot...) is re-raised as
    ``rpc.ExpectedException``: the caller gets it back as itself, with its remote
    traceback, and the conductor's RPC server logs it at debug, not as its own fault.
    """
    try:
        with trace.span(span_name):
            return handler(*args, **kwargs)
    except Exception:
        raise rpc.ExpectedException() from None


class ConductorManager:
    """Object calls from computes (they have no database access)."""

    target = rpc.Target(version=CONDUCTOR_VERSION)

    def __init__(self, conf: Any, db: Any, transport: Any, scheduler_api: Any = None):
        self.conf = conf = conf if conf is not None else nova_sim.conf.CONF
        self.db = db
        self.compute_task_mgr = ComputeTaskManager(conf, db, transport, scheduler_api)
        self.additional_endpoints = [self.compute_task_mgr]
        self._actions: dict[tuple[str, str], Callable[..., Any]] = {
            ("Instance", "save"): self._instance_save,
            ("Instance", "destroy"): self._instance_destroy,
            ("InstanceFault", "create"): self._fault_create,
            ("Service", "save"): self._service_save,
            ("ComputeNode", "save"): self._compute_node_save,
            ("Image", "save"): self._image_save,
            ("Image", "destroy"): self._image_destroy,
        }
        self._class_actions: dict[tuple[str, str], Callable[..., Any]] = {
            ("InstanceList", "get_by_host"): self._instances_by_host,
            ("InstanceActionEvent", "event_start"): self._event_start,
            ("InstanceActionEvent", "event_finish"): self._event_finish,
            ("Service", "get_or_create"): self._service_get_or_create,
            ("Allocations", "delete"): self._allocations_delete,
            ("ImageList", "get_all"): self._images_get_all,
            ("Allocations", "move"): self._allocations_move,
        }
        self.image_api = ImageAPI(db)

    def ping(self, ctxt: Any, arg: Any = None) -> dict[str, Any]:
        """Answer a compute's ``wait_until_ready``."""
        return {"service": "conductor", "arg": arg}

    # -- the RPC methods of the object layer -------------------------------------------------

    def object_action(self, ctxt: Any, objinst: dict[str, Any], objmethod: str,
                      args: list | None = None, kwargs: dict | None = None) -> list[Any]:
        """Run ``objmethod`` of the object ``objinst`` (a ``nova_object`` primitive whose
        ``changes`` are the fields to write); returns ``[updates, result]``.

        Raises ``InstanceNotFound``, ``UnexpectedTaskStateError`` and the other
        ``nova_sim.exception`` errors of the database as ``rpc.ExpectedException``: the
        caller gets them back as themselves and they are no error of the conductor; an
        unknown object or method raises ``NotImplementedError`` (a fault).
        """
        name = objinst.get("nova_object.name")
        handler = self._actions.get((name, objmethod))
        if handler is None:
            raise NotImplementedError(f"{name}.{objmethod} is not supported by the conductor")
        data = objinst.get("nova_object.data") or {}
        changes = objinst.get("nova_object.changes") or {}
        result = _object_dispatch(f"conductor.{name}.{objmethod}", handler,
                                  ctxt, data, changes, **(kwargs or {}))
        return [result, None]

    def object_class_action_versions(self, ctxt: Any, objname: str, objmethod: str,
                                     object_versions: dict | None = None,
                                     args: list | None = None,
                                     kwargs: dict | None = None) -> Any:
        """Run the class method ``objname.objmethod(**kwargs)``; returns its result."""
        handler = self._class_actions.get((objname, objmethod))
        if handler is None:
            raise NotImplementedError(
                f"{objname}.{objmethod} is not supported by the conductor"
            )
        return _object_dispatch(f"conductor.{objname}.{objmethod}", handler,
                                ctxt, **(kwargs or {}))

    # -- object methods --------------------------------------------------------------------

    def _instance_save(self, ctxt: Any, data: dict, changes: dict,
                       expected_task_state: Any = None, expected_vm_state: Any = None) -> dict:
        row = self.db.instance_save(
            data["uuid"], changes, expected_task_state=expected_task_state,
            expected_vm_state=expected_vm_state,
        )
        # As Nova's object_action answers only the fields that changed, the reply carries
        # what was written plus the fields others may have changed meanwhile (states,
        # placement, timestamps), not the whole row.
        return {key: row.get(key) for key in (*changes, *INSTANCE_STATE_FIELDS)}

    def _instance_destroy(self, ctxt: Any, data: dict, changes: dict) -> dict:
        return self.db.instance_destroy(data["uuid"])

    def _fault_create(self, ctxt: Any, data: dict, changes: dict) -> dict:
        return self.db.instance_fault_create(changes)

    def _service_save(self, ctxt: Any, data: dict, changes: dict) -> dict:
        # As Nova's object_action, the reply carries the fields the save changed (what
        # was written and the timestamps it moved), not the whole row.
        if set(changes) == {"report_count"}:
            row = self.db.service_heartbeat(data["id"])
            return {key: row[key] for key in SERVICE_HEARTBEAT_FIELDS}
        row = self.db.service_update(data["id"], changes)
        return {key: row.get(key) for key in (*changes, "updated_at")}

    def _compute_node_save(self, ctxt: Any, data: dict, changes: dict,
                           inventories: dict | None = None) -> dict:
        node = self.db.compute_node_create_or_update(changes)
        if inventories:
            self.db.resource_provider_ensure(
                node["uuid"], node["hypervisor_hostname"], inventories
            )
        return {key: node.get(key) for key in COMPUTE_NODE_REPLY_FIELDS}

    def _image_save(self, ctxt: Any, data: dict, changes: dict) -> dict:
        return self.image_api.update(data["id"], changes)

    def _image_destroy(self, ctxt: Any, data: dict, changes: dict) -> None:
        self.image_api.delete(data["id"])

    # -- class methods ---------------------------------------------------------------------

    def _images_get_all(self, ctxt: Any) -> list:
        return self.image_api.list()

    def _instances_by_host(self, ctxt: Any, host: str, node: str | None = None) -> list:
        return self.db.instance_get_all_by_host(host, node)

    def _event_start(self, ctxt: Any, instance_uuid: str, event_name: str,
                     host: str | None = None) -> bool:
        try:
            self.db.action_event_start(instance_uuid, ctxt.request_id, event_name, host)
        except exception.InstanceActionNotFound:
            return False
        return True

    def _event_finish(self, ctxt: Any, instance_uuid: str, event_name: str,
                      result: str = "Success", traceback: str | None = None) -> bool:
        try:
            self.db.action_event_finish(
                instance_uuid, ctxt.request_id, event_name, result, traceback
            )
        except exception.InstanceActionNotFound:
            return False
        return True

    def _service_get_or_create(self, ctxt: Any, host: str, binary: str, topic: str) -> dict:
        return servicegroup.service_get_or_create(self.db, self.conf, host, binary, topic)

    def _allocations_move(self, ctxt: Any, source_consumer: str,
                          target_consumer: str) -> bool:
        held = self.db.allocations_get(consumer_uuid=source_consumer)
        self.db.remove_allocations(target_consumer)
        move_allocations(self.db, source_consumer, target_consumer, held)
        return True

    def _allocations_delete(self, ctxt: Any, consumer_uuid: str,
                            rp_uuid: str | None = None) -> bool:
        return self.db.remove_allocations(consumer_uuid, rp_uuid)


class ComputeTaskManager:
    """Builds: scheduling, the ``create`` action, and reschedules to alternates."""

    target = rpc.Target(namespace=COMPUTE_TASK_NAMESPACE, version=COMPUTE_TASK_VERSION)

    def __init__(self, conf: Any, db: Any, transport: Any, scheduler_api: Any = None):
        self.conf = conf = conf if conf is not None else nova_sim.conf.CONF
        self.db = db
        self.compute_rpcapi = compute_rpcapi.ComputeAPI(transport, conf)
        self.max_attempts = conf.scheduler.max_attempts
        if scheduler_api is None:
            from nova_sim.scheduler.rpcapi import SchedulerAPI

            scheduler_api = SchedulerAPI(transport, conf)
        self.scheduler_api = scheduler_api

    # -- helpers ---------------------------------------------------------------------------

    def _set_error(self, ctxt: Any, instance_uuid: str, error: BaseException) -> None:
        """ERROR with a fault (Nova's ``_set_vm_state_and_notify``)."""
        message = (
            error.format_message() if isinstance(error, exception.NovaException)
            else str(error)
        )
        try:
            self.db.instance_update(
                instance_uuid, {"vm_state": vm_states.ERROR, "task_state": None}
            )
        except exception.InstanceNotFound:
            return
        self.db.instance_fault_create({
            "instance_uuid": instance_uuid, "code": getattr(error, "code", 500),
            "message": message[:255],
            "details": "".join(traceback.format_exception(type(error), error,
                                                          error.__traceback__)),
        })
        trace.event("instance.state", instance_uuid=instance_uuid,
                    vm_state=vm_states.ERROR, task_state=None)
        LOG.warning("Instance %s set to ERROR: %s", instance_uuid, message)

    def _start_create_action(self, ctxt: Any, instance: dict[str, Any]) -> None:
        self.db.action_start({
            "instance_uuid": instance["uuid"], "request_id": ctxt.request_id,
            "action": "create", "project_id": instance.get("project_id") or ctxt.project_id,
            "user_id": instance.get("user_id") or ctxt.user_id,
        })

    def _cast_build(self, ctxt: Any, instance: dict[str, Any], selection: Any,
                    alternates: list[Any], request_spec: dict[str, Any] | None,
                    filter_properties: dict[str, Any], image: Any, build_args: dict) -> None:
        host = _selection_value(selection, "service_host")
        node = _selection_value(selection, "nodename") or host
        retry = filter_properties.get("retry")
        if retry is not None:
            retry.setdefault("hosts", []).append([host, node])
        with trace.span("conductor.cast_build", instance_uuid=instance["uuid"], host=host):
            self.compute_rpcapi.build_and_run_instance(
                ctxt, instance, host, image, request_spec, filter_properties,
                admin_password=build_args.get("admin_password"),
                injected_files=build_args.get("injected_files"),
                requested_networks=build_args.get("requested_networks"),
                security_groups=build_args.get("security_groups"),
                block_device_mapping=build_args.get("block_device_mapping"),
                node=node, limits=_selection_value(selection, "limits"),
                host_list=[dict(alternate) if isinstance(alternate, dict) else alternate
                           for alternate in alternates],
            )

    def _max_attempts(self) -> int:
        return self.max_attempts

    # -- RPC methods -----------------------------------------------------------------------

    def schedule_and_build_instances(
        self,
        ctxt: Any,
        build_requests: list[dict[str, Any]],
        request_specs: list[dict[str, Any]],
        image: dict[str, Any] | None = None,
        admin_password: str | None = None,
        injected_files: Any = None,
        requested_networks: Any = None,
        block_device_mapping: Any = None,
        tags: Any = None,
        **kwargs: Any,
    ) -> None:
        """RPC cast from the API: place the instances and start their builds.

        One ``select_destinations`` call for all of them (return_alternates=True). On
        NoValidHost every instance goes to ERROR with a fault (Nova buries them in cell0).
        An instance deleted meanwhile has its new allocation removed and is skipped.
        """
        uuids = [request["uuid"] for request in build_requests]
        request_spec = dict(request_specs[0]) if request_specs else {}
        with trace.span("conductor.schedule_and_build_instances", instances=len(uuids)):
            try:
                host_lists = self.scheduler_api.select_destinations(
                    ctxt, request_spec, uuids, return_alternates=True
                )
            except exception.NoValidHost as error:
                self._bury_all(ctxt, build_requests, error)
                return
            except Exception as error:  # MessagingTimeout, a scheduler bug...
                LOG.exception("Scheduling of %s failed", uuids)
                self._bury_all(ctxt, build_requests, error)
                return
            build_args = {
                "admin_password": admin_password, "injected_files": injected_files,
                "requested_networks": requested_networks,
                "block_device_mapping": block_device_mapping,
            }
            for index, (instance, host_list) in enumerate(
                zip(build_requests, host_lists, strict=False)
            ):
                spec = dict(request_specs[index] if index < len(request_specs)
                            else request_spec)
                # An instance deleted meanwhile (the API deletes it locally: it has no
                # host yet) is noticed by the compute's first save, which then frees
                # the allocation the scheduler just made.
                self._start_create_action(ctxt, instance)
                filter_properties: dict[str, Any] = {}
                if self._max_attempts() > 1:
                    filter_properties["retry"] = {"num_attempts": 1, "hosts": []}
                self._cast_build(
                    ctxt, instance, host_list[0], list(host_list[1:]), spec,
                    filter_properties, image, build_args,
                )
                _yield()

    def _bury_all(self, ctxt: Any, instances: list[dict[str, Any]],
                  error: BaseException) -> None:
        for instance in instances:
            self._bury(ctxt, instance, error)
            _yield()

    def _bury(self, ctxt: Any, instance: dict[str, Any], error: BaseException) -> None:
        try:
            self._start_create_action(ctxt, instance)
            self.db.action_event_start(
                instance["uuid"], ctxt.request_id, "conductor_schedule_and_build_instances"
            )
            self.db.action_event_finish(
                instance["uuid"], ctxt.request_id, "conductor_schedule_and_build_instances",
                "Error", "".join(traceback.format_exception(type(error), error,
                                                            error.__traceback__)),
            )
        except exception.NotFound:
            pass
        self._set_error(ctxt, instance["uuid"], error)

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
        host_lists: list[list[Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        """RPC cast from a compute whose build failed: try the next alternate.

        Alternates are claimed in order (an atomic claim that replaces the instance's
        allocations); the first that fits gets the build. With none left, or after
        ``[scheduler] max_attempts`` attempts, the instance goes to ERROR with a
        MaxRetriesExceeded fault. The scheduler is never asked again.
        """
        filter_properties = dict(filter_properties or {})
        retry = filter_properties.get("retry") or {"num_attempts": 1, "hosts": []}
        filter_properties["retry"] = retry
        build_args = {
            "admin_password": admin_password, "injected_files": injected_files,
            "requested_networks": requested_networks, "security_groups": security_groups,
            "block_device_mapping": block_device_mapping,
        }
        host_lists = host_lists or [[] for _ in instances]
        for index, (instance, host_list) in enumerate(
            zip(instances, host_lists, strict=False)
        ):
            if index:
                _yield()
            uuid = instance["uuid"]
            with trace.span("conductor.build_instances", instance_uuid=uuid):
                retry["num_attempts"] = int(retry.get("num_attempts", 1)) + 1
                if retry["num_attempts"] > self._max_attempts():
                    self._exhausted(ctxt, uuid, retry)
                    continue
                try:
                    instance = self.db.instance_get(uuid)
                except exception.InstanceNotFound:
                    continue
                if instance.get("task_state") != task_states.SCHEDULING:
                    LOG.info("Instance %s is %s; not rescheduled", uuid,
                             instance.get("task_state"))
                    continue
                remaining = list(host_list or [])
                chosen = None
                while remaining:
                    candidate = remaining.pop(0)
                    if scheduler_utils.claim_resources(
                        self.db, uuid, candidate, instance.get("project_id"),
                        instance.get("user_id"),
                    ):
                        chosen = candidate
                        break
                    LOG.debug("Alternate %s of %s has no room any more",
                              _selection_value(candidate, "service_host"), uuid)
                if chosen is None:
                    self._exhausted(ctxt, uuid, retry)
                    continue
                self._cast_build(
                    ctxt, instance, chosen, remaining, request_spec, filter_properties,
                    image, build_args,
                )

    def _exhausted(self, ctxt: Any, instance_uuid: str, retry: dict[str, Any]) -> None:
        error = exception.MaxRetriesExceeded(
            reason=f"Exhausted all hosts available for retrying build failures for "
            f"instance {instance_uuid}."
        )
        self.db.remove_allocations(instance_uuid)
        self._set_error(ctxt, instance_uuid, error)

    def rebuild_instance(
        self,
        ctxt: Any,
        instance: dict[str, Any],
        orig_image_ref: str | None = None,
        image_ref: str | None = None,
        orig_sys_metadata: dict[str, Any] | None = None,
        bdms: Any = None,
        recreate: bool = False,
        on_shared_storage: bool = False,
        preserve_ephemeral: bool = False,
        host: str | None = None,
        request_spec: Any = None,
        new_pass: str | None = None,
        injected_files: Any = None,
        **kwargs: Any,
    ) -> None:
        """RPC cast from the API: rebuild on the instance's own host (a rebuild that is
        no evacuation is not scheduled here; Nova asks the scheduler only to re-check
        the new image's properties against that same host)."""
        with trace.span("conductor.rebuild_instance", instance_uuid=instance["uuid"]):
            self.compute_rpcapi.rebuild_instance(
                ctxt, instance, new_pass, injected_files, image_ref, orig_image_ref,
                orig_sys_metadata or {}, bdms, recreate=recreate,
                on_shared_storage=on_shared_storage, host=instance.get("host"),
                node=instance.get("node"), preserve_ephemeral=preserve_ephemeral,
                request_spec=request_spec,
            )

    def unshelve_instance(self, ctxt: Any, instance: dict[str, Any],
                          request_spec: dict[str, Any] | None = None,
                          **kwargs: Any) -> None:
        """RPC cast from the API. A ``shelved`` instance (still on its host) is powered
        on there: ``powering-on`` and ``start_instance`` cast to its compute. A
        ``shelved_offloaded`` one is scheduled (forced hosts reset, as Nova's
        ``reset_forced_destinations``; to the host of ``requested_destination`` when the
        API named one), and ``unshelve_instance`` cast to the chosen
        compute with the shelved image. No valid host: the task is cleared and the
        instance stays offloaded (the action event records the error)."""
        uuid = instance["uuid"]
        with trace.span("conductor.unshelve_instance", instance_uuid=uuid):
            try:
                instance = self.db.instance_get(uuid)
            except exception.InstanceNotFound:
                return
            if instance.get("vm_state") == vm_states.SHELVED:
                try:
                    instance = self.db.instance_update(
                        uuid, {"task_state": task_states.POWERING_ON},
                        expected_task_state=[task_states.UNSHELVING])
                except (exception.InstanceNotFound, exception.UnexpectedTaskStateError):
                    return
                self.compute_rpcapi.start_instance(ctxt, instance)
                return
            if instance.get("vm_state") != vm_states.SHELVED_OFFLOADED:
                LOG.warning("Unshelve of %s in vm_state %s ignored", uuid,
                            instance.get("vm_state"))
                return
            event = "conductor_unshelve_instance"
            try:
                self.db.action_event_start(uuid, ctxt.request_id, event)
            except exception.NotFound:
                pass
            spec = dict(request_spec or {})
            # the host an admin named (2.91), else anywhere
            wanted = (spec.pop("requested_destination", None) or {}).get("host")
            spec.update(instance_uuid=uuid, num_instances=1,
                        force_hosts=[wanted] if wanted else [], force_nodes=[],
                        ignore_hosts=[])
            try:
                host_lists = self.scheduler_api.select_destinations(
                    ctxt, spec, [uuid], return_alternates=False)
            except Exception as error:
                LOG.warning("No valid host found for unshelve instance %s: %s", uuid, error)
                try:
                    self.db.instance_update(uuid, {"task_state": None})
                    self.db.action_event_finish(
                        uuid, ctxt.request_id, event, "Error",
                        "".join(traceback.format_exception(type(error), error,
                                                           error.__traceback__)))
                except exception.NotFound:
                    pass
                return
            self._finish_event_quietly(ctxt, uuid, event)
            selection = host_lists[0][0]
            host = _selection_value(selection, "service_host")
            node = _selection_value(selection, "nodename") or host
            image_id = (instance.get("system_metadata") or {}).get("shelved_image_id")
            image = None
            if image_id:
                try:
                    image = ImageAPI(self.db).get(image_id)
                except exception.ImageNotFound:
                    image = None
            self.compute_rpcapi.unshelve_instance(
                ctxt, instance, host, spec, image=image, filter_properties={}, node=node)

    def _finish_event_quietly(self, ctxt: Any, instance_uuid: str, event: str) -> None:
        try:
            self.db.action_event_finish(instance_uuid, ctxt.request_id, event, "Success")
        except exception.NotFound:
            pass

    def migrate_server(self, ctxt: Any, instance: dict[str, Any],
                       scheduler_hint: dict[str, Any] | None = None, live: bool = False,
                       rebuild: bool = False, flavor: dict[str, Any] | None = None,
                       request_spec: dict[str, Any] | None = None,
                       clean_shutdown: bool = True, **kwargs: Any) -> None:
        """RPC cast from the API: a resize or cold migration (Nova's ``MigrationTask``).

        The instance's allocation on the source moves to the migration (a consumer of its
        own), the scheduler picks a destination for the new flavor (not the source unless
        ``allow_resize_to_same_host``; its claim is the instance's allocation there), the
        migration is recorded in the instance's system metadata (``migration``,
        ``old_flavor``, ``new_flavor``: Nova keeps them in the migrations table and
        ``instance_extra``) and ``prep_resize`` is cast to the destination. No valid
        host: the allocation moves back, the task is cleared and a fault recorded.
        """
        uuid = instance["uuid"]
        event = "conductor_migrate_server"
        with trace.span("conductor.migrate_server", instance_uuid=uuid):
            try:
                instance = self.db.instance_get(uuid)
            except exception.InstanceNotFound:
                return
            with contextlib.suppress(exception.NotFound):
                self.db.action_event_start(uuid, ctxt.request_id, event)
            source, source_node = instance.get("host"), instance.get("node")
            migration_uuid = green.random_uuid()
            held = self.db.allocations_get(consumer_uuid=uuid)
            move_allocations(self.db, uuid, migration_uuid, held)
            spec = dict(request_spec or {})
            spec.update(instance_uuid=uuid, num_instances=1, flavor=flavor,
                        force_hosts=[], force_nodes=[])
            spec.pop("requested_destination", None)
            same_host = self.conf.allow_resize_to_same_host
            spec["ignore_hosts"] = [] if same_host else [source]
            try:
                host_lists = self.scheduler_api.select_destinations(
                    ctxt, spec, [uuid], return_alternates=False)
            except Exception as error:
                LOG.warning("No valid host to resize %s: %s", uuid, error)
                move_allocations(self.db, migration_uuid, uuid, held)
                with contextlib.suppress(exception.NotFound):
                    self.db.instance_update(uuid, {"task_state": None})
                    self.db.instance_fault_create({
                        "instance_uuid": uuid, "code": getattr(error, "code", 500),
                        "message": str(error)[:255], "details": None})
                    self.db.action_event_finish(
                        uuid, ctxt.request_id, event, "Error",
                        "".join(traceback.format_exception(type(error), error,
                                                           error.__traceback__)))
                return
            self._finish_event_quietly(ctxt, uuid, event)
            selection = host_lists[0][0]
            dest = _selection_value(selection, "service_host")
            dest_node = _selection_value(selection, "nodename") or dest
            migration = {
                "uuid": migration_uuid, "status": "pre-migrating",
                "migration_type": "resize" if flavor and str(flavor.get("flavorid")) != str(
                    (instance.get("flavor") or {}).get("flavorid")) else "migration",
                "source_compute": source, "source_node": source_node,
                "dest_compute": dest, "dest_node": dest_node,
                "old_vm_state": instance.get("vm_state"),
            }
            system_metadata = dict(instance.get("system_metadata") or {})
            system_metadata.update(migration=migration, old_flavor=instance.get("flavor"),
                                   new_flavor=flavor)
            try:
                instance = self.db.instance_update(uuid, {"system_metadata": system_metadata})
            except exception.InstanceNotFound:
                return
            self.compute_rpcapi.prep_resize(ctxt, instance, flavor, dest, migration,
                                            dest_node, clean_shutdown=clean_shutdown)
