"""The compute API: the internal entry point of every server operation (``nova/compute/api.py``).

Owns ``API``, which the REST API (``nova_sim.api``), the CLI, the benchmarks and the tests
call. It checks what can be checked at once (flavor, image, state of the instance for the
action, lock, ownership), records the request in the database (the task state and an
instance action) and **casts** the work to the conductor (boot, rebuild, unshelve, resize
and cold migration) or to the instance's compute (delete, stop, start, reboot, pause,
suspend, rescue, snapshot, backup, shelve, confirm and revert of a resize...), then
returns: nothing here waits for a hypervisor, except ``get_console_output`` (an RPC call,
as in Nova). Snapshots, backups and shelves make their image records through the image
service (``nova_sim.image.ImageAPI``). It also offers thin read/write helpers over the
database for the REST API (instance actions, services, hypervisors, availability zones,
flavors, images).

Errors are ``nova_sim.exception`` classes whose ``code`` is the HTTP status the REST API
answers: ``InstanceNotFound`` (404; also for another project's instance unless admin),
``InstanceInvalidState`` (409: wrong state for the action), ``FlavorNotFound`` /
``ImageNotFound`` (404), ``InvalidInput`` (400), ``InstanceIsLocked`` (409),
``CannotResizeToSameFlavor`` / ``CannotResizeDisk`` / ``ImageNotActive`` (400).

Simplifications (compared with Nova): no quotas, no build requests or cells (the instance
row is written by the API at once, ``building`` / ``scheduling``), no Neutron or Cinder
(``networks`` is recorded as given), no policy engine (``is_admin`` decides).
Must not know about HTTP, the hypervisor or the scheduler's internals.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable
from typing import Any

import nova_sim.conf
from nova_sim import exception, green, trace
from nova_sim import image as image_catalogue
from nova_sim.compute import power_state, task_states, vm_states
from nova_sim.compute import rpcapi as compute_rpcapi
from nova_sim.compute.aggregates import AggregateAPI
from nova_sim.compute.keypairs import KeypairAPI
from nova_sim.compute.quotas import QuotaAPI
from nova_sim.conductor import rpcapi as conductor_rpcapi
from nova_sim.db.api import format_timestamp
from nova_sim.servicegroup import API as ServiceGroupAPI

LOG = logging.getLogger(__name__)

COMPUTE_BINARY = "nova-compute"


def _utcnow() -> str:
    return format_timestamp(green.wallclock())


def _sanitize_hostname(name: str) -> str:
    """Nova's ``utils.sanitize_hostname``: lower case, [a-z0-9-], at most 63 chars."""
    hostname = re.sub(r"[ _.]", "-", name.lower())
    hostname = re.sub(r"[^\w-]+", "", hostname, flags=re.ASCII).strip("-")
    return hostname[:63] or "server"


def _context_check(ctxt: Any) -> None:
    if ctxt is None:
        raise exception.Forbidden()



def _check_image_fits(flavor: dict[str, Any], image: dict[str, Any]) -> None:
    """Nova's check of an image against the flavor of a boot from it: the image's
    ``min_ram`` (``FlavorMemoryTooSmall``), and unless the flavor's disk is 0 (any size,
    for legacy reasons) its size (``FlavorDiskSmallerThanImage``) and ``min_disk``
    (``FlavorDiskSmallerThanMinDisk``); each a 400."""
    if int(image.get("min_ram") or 0) > int(flavor.get("memory_mb") or 0):
        raise exception.FlavorMemoryTooSmall()
    disk = int(flavor.get("root_gb") or 0) * 1024 ** 3
    if disk:
        size = int(image.get("size") or 0)
        if size > disk:
            raise exception.FlavorDiskSmallerThanImage(flavor_size=disk, image_size=size)
        min_disk = int(image.get("min_disk") or 0) * 1024 ** 3
        if min_disk > disk:
            raise exception.FlavorDiskSmallerThanMinDisk(flavor_size=disk,
                                                         image_min_disk=min_disk)

class API:
    """The compute API over one database and one RPC transport.

    ``conf`` gives ``[DEFAULT] default_schedule_zone``, ``service_down_time`` and
    ``default_availability_zone``; ``db`` is a ``nova_sim.db.api.Database``; ``transport``
    the RPC transport of the conductor and computes.
    """

    def __init__(self, conf: Any = None, db: Any = None, transport: Any = None):
        self.conf = conf = conf if conf is not None else nova_sim.conf.CONF
        self.db = db
        self.transport = transport
        self.compute_rpcapi = compute_rpcapi.ComputeAPI(transport, conf)
        self.compute_task_api = conductor_rpcapi.ComputeTaskAPI(transport, conf)
        self.servicegroup_api = ServiceGroupAPI(conf, db=db)
        self.image_api = image_catalogue.ImageAPI(db)
        self.default_schedule_zone = conf.default_schedule_zone
        self.keypair_api = KeypairAPI(conf, db)
        self.quota_api = QuotaAPI(conf, db)
        self.aggregate_api = AggregateAPI(conf, db)

    # -- lookups ---------------------------------------------------------------------------

    def _attach_faults(self, instances: list[dict[str, Any]]) -> list[dict[str, Any]]:
        failed = [i["uuid"] for i in instances if i.get("vm_state") == vm_states.ERROR]
        faults = self.db.instance_fault_get_by_instance_uuids(failed) if failed else {}
        for instance in instances:
            found = faults.get(instance["uuid"])
            instance["fault"] = found[0] if found else None
            # Nova keeps the lock reason in the system metadata (shown from 2.73)
            instance["locked_reason"] = (instance.get("system_metadata") or {}).get(
                "locked_reason")
        return instances

    def get(self, ctxt: Any, instance_id: str, want_fault: bool = True) -> dict[str, Any]:
        """The instance ``instance_id`` (a dict row, plus ``fault``: the newest fault or
        None). ``InstanceNotFound`` if it does not exist, is deleted (unless the context
        reads deleted rows) or belongs to another project and the context is not admin."""
        _context_check(ctxt)
        read_deleted = getattr(ctxt, "read_deleted", "no") or "no"
        instance = self.db.instance_get(instance_id, read_deleted=read_deleted)
        if not ctxt.is_admin and instance.get("project_id") != ctxt.project_id:
            raise exception.InstanceNotFound(instance_id=instance_id)
        if want_fault:
            self._attach_faults([instance])
        return instance

    def get_all(
        self,
        ctxt: Any,
        filters: dict[str, Any] | None = None,
        limit: int | None = None,
        marker: str | None = None,
        sort_keys: list[str] | None = None,
        sort_dirs: list[str] | None = None,
        search_opts: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Instances matching ``filters`` (alias ``search_opts``; the database's filters, see
        ``Database.instance_get_all_by_filters``), one page of them, each with ``fault``.

        A non-admin context sees only its project's instances; an admin sees what the
        filters select (as in Nova, the REST layer adds ``project_id`` unless the admin
        asked for ``all_tenants``). ``marker`` not found -> ``MarkerNotFound`` (400).
        """
        _context_check(ctxt)
        filters = dict(filters or search_opts or {})
        filters.pop("all_tenants", None)
        if not ctxt.is_admin:
            filters["project_id"] = ctxt.project_id
        instances = self.db.instance_get_all_by_filters(
            filters, limit=limit, marker=marker, sort_keys=sort_keys, sort_dirs=sort_dirs
        )
        return self._attach_faults(instances)

    def _instance(self, ctxt: Any, instance: dict[str, Any] | str) -> dict[str, Any]:
        uuid = instance if isinstance(instance, str) else instance["uuid"]
        return self.get(ctxt, uuid, want_fault=False)

    # -- create ----------------------------------------------------------------------------

    def create(
        self,
        ctxt: Any,
        flavor_id: str,
        image_ref: str,
        name: str | None = None,
        min_count: int = 1,
        max_count: int | None = None,
        metadata: dict[str, str] | None = None,
        availability_zone: str | None = None,
        networks: Any = None,
        key_name: str | None = None,
        user_data: str | None = None,
        admin_password: str | None = None,
        security_groups: list[str] | None = None,
        scheduler_hints: dict[str, Any] | None = None,
        description: str | None = None,
        config_drive: bool | str | None = None,
        access_ip_v4: str | None = None,
        access_ip_v6: str | None = None,
        hostname: str | None = None,
        server_group: str | None = None,
        requested_host: str | None = None,
        requested_hypervisor_hostname: str | None = None,
        client_gone: Callable[[], bool] | None = None,
        **kwargs: Any,
    ) -> list[dict[str, Any]]:
        """Boot ``max_count`` instances (at least ``min_count``) of ``flavor_id`` from
        ``image_ref``; returns their rows at once (``building`` / ``scheduling``).

        The rows and request specs are written, then ``schedule_and_build_instances`` is
        cast to the conductor; everything after that happens asynchronously and shows in
        the instances' states. Raises ``FlavorNotFound``, ``ImageNotFound``,
        ``KeypairNotFound`` (``key_name`` is not a key pair of the caller's user) or
        ``InvalidInput`` (bad counts, unknown availability zone) or
        ``ComputeHostNotFound`` (``requested_host`` / ``requested_hypervisor_hostname``
        naming no compute node; the scheduler then places only there) before anything is
        written. The hub is yielded to after each row written, so other requests keep
        being served during a large ``max_count`` (a row costs well under a millisecond).
        ``client_gone()`` (the WSGI server's ``nova_sim.client_gone``) is asked after each
        row: once it is true, the rows written so far are removed, nothing is cast, and
        ``CreateCancelled`` is raised.
        """
        _context_check(ctxt)
        max_count = min_count if max_count is None else max_count
        if min_count < 1 or max_count < min_count:
            raise exception.InvalidInput(
                reason=f"min_count {min_count} and max_count {max_count} are invalid"
            )
        flavor = self.flavor_get(ctxt, flavor_id)
        if flavor.get("disabled"):
            raise exception.FlavorNotFound(flavor_id=flavor_id)
        image = self._active_image(image_ref)
        _check_image_fits(flavor, image)
        key_data = self.db.key_pair_get(ctxt.user_id, key_name)["public_key"] if key_name \
            else None
        availability_zone = availability_zone or self.default_schedule_zone
        if availability_zone:
            zones = {zone["zone"] for zone in self.availability_zones(ctxt)}
            if availability_zone not in zones:
                raise exception.InvalidInput(
                    reason=f"The requested availability zone is not available: "
                    f"{availability_zone}"
                )
        destination = self._requested_destination(requested_host,
                                                  requested_hypervisor_hostname)
        group = None
        if server_group or (scheduler_hints or {}).get("group"):
            group = self.db.server_group_get(server_group or scheduler_hints["group"])
        name = name or "server"
        reservation_id = "r-" + green.random_uuid().replace("-", "")[:8]
        instances: list[dict[str, Any]] = []
        specs: list[dict[str, Any]] = []
        with trace.span("api.create", flavor=flavor["name"], count=max_count):
            for index in range(max_count):
                display_name = name if max_count == 1 else f"{name}-{index + 1}"
                values = {
                    "display_name": display_name,
                    "display_description": description,
                    "project_id": ctxt.project_id,
                    "user_id": ctxt.user_id,
                    "image_ref": image["id"],
                    "flavor": flavor,
                    "vm_state": vm_states.BUILDING,
                    "task_state": task_states.SCHEDULING,
                    "power_state": power_state.NOSTATE,
                    "availability_zone": availability_zone,
                    "metadata": dict(metadata or {}),
                    "reservation_id": reservation_id,
                    "launch_index": index,
                    "key_name": key_name,
                    "key_data": key_data,
                    "user_data": user_data,
                    "hostname": hostname or _sanitize_hostname(display_name),
                    "config_drive": "True" if config_drive in (True, "True", "true") else "",
                    "access_ip_v4": access_ip_v4,
                    "access_ip_v6": access_ip_v6,
                    "security_groups": [
                        {"name": group_name} for group_name in (security_groups or ["default"])
                    ],
                    "system_metadata": {"requested_networks": networks},
                }
                instance = self.db.instance_create(values)
                trace.event("instance.state", instance_uuid=instance["uuid"],
                            vm_state=vm_states.BUILDING, task_state=task_states.SCHEDULING)
                spec = {
                    "instance_uuid": instance["uuid"],
                    "num_instances": max_count,
                    "flavor": flavor,
                    "image": {"id": image["id"], "properties": image.get("properties", {})},
                    "project_id": ctxt.project_id,
                    "user_id": ctxt.user_id,
                    "availability_zone": availability_zone,
                    "scheduler_hints": dict(scheduler_hints or {}),
                    "instance_group": (
                        {"uuid": group["uuid"], "policy": group["policy"]} if group else None
                    ),
                    "ignore_hosts": [],
                    "force_hosts": [destination["host"]] if destination.get("host") else [],
                    "force_nodes": [destination["node"]] if destination.get("node") else [],
                }
                if destination:
                    spec["requested_destination"] = dict(destination)
                self.db.request_spec_save(instance["uuid"], spec)
                if group is not None:
                    self.db.server_group_add_members(group["uuid"], [instance["uuid"]])
                instances.append(instance)
                specs.append(spec)
                green.sleep(0)  # let the hub serve other requests between rows
                if client_gone is not None and client_gone():
                    self._cancel_create(instances, max_count)
            self.compute_task_api.schedule_and_build_instances(
                ctxt, build_requests=instances, request_specs=specs,
                image=image, admin_password=admin_password,
                requested_networks=networks, block_device_mapping=None,
            )
        return instances

    def _cancel_create(self, instances: list[dict[str, Any]], count: int) -> None:
        """The client of a create went away: remove the rows written (nothing was cast
        yet) and raise CreateCancelled."""
        LOG.info("Create of %d servers cancelled after %d: the client went away",
                 count, len(instances))
        for instance in instances:
            self.db.instance_destroy(instance["uuid"], hard=True)
            green.sleep(0)
        raise exception.CreateCancelled(written=len(instances), count=count)

    def _requested_destination(self, host: str | None, node: str | None) -> dict[str, str]:
        """``{"host", "node"}`` of a requested destination, checked against the compute
        nodes (``ComputeHostNotFound`` naming the host, else the node, as Nova)."""
        if not host and not node:
            return {}
        nodes = self.db.compute_node_get_all()
        if host and not any(n.get("host") == host for n in nodes):
            raise exception.ComputeHostNotFound(host=host)
        if node and not any(n.get("hypervisor_hostname") == node
                            and (not host or n.get("host") == host) for n in nodes):
            raise exception.ComputeHostNotFound(host=node)
        return {key: value for key, value in (("host", host), ("node", node)) if value}

    # -- actions ---------------------------------------------------------------------------

    def _record_action_start(self, ctxt: Any, instance: dict[str, Any], action: str) -> None:
        self.db.action_start({
            "instance_uuid": instance["uuid"], "request_id": ctxt.request_id,
            "action": action, "project_id": ctxt.project_id, "user_id": ctxt.user_id,
        })

    @staticmethod
    def _check_state(instance: dict[str, Any], method: str, vm_state: list[str] | None,
                     task_state: list[Any] | None, need_host: bool = True) -> None:
        """Nova's ``check_instance_state`` (and ``check_instance_host``):
        InstanceInvalidState (409) on a wrong state, or when the instance has no host."""
        if need_host and not instance.get("host"):
            raise exception.InstanceInvalidState(
                attr="host", instance_uuid=instance["uuid"], state=None, method=method,
            )
        if vm_state is not None and instance.get("vm_state") not in vm_state:
            raise exception.InstanceInvalidState(
                attr="vm_state", instance_uuid=instance["uuid"],
                state=instance.get("vm_state"), method=method,
            )
        if task_state is not None and instance.get("task_state") not in task_state:
            raise exception.InstanceInvalidState(
                attr="task_state", instance_uuid=instance["uuid"],
                state=instance.get("task_state"), method=method,
            )

    def _set_task_state(self, ctxt: Any, instance: dict[str, Any], method: str,
                        task_state: str, expected: list[Any]) -> dict[str, Any]:
        """Move to ``task_state`` only if the task state is still one of ``expected``
        (atomic); a lost race is InstanceInvalidState as well."""
        try:
            updated = self.db.instance_update(
                instance["uuid"], {"task_state": task_state}, expected_task_state=expected
            )
        except exception.UnexpectedTaskStateError as error:
            raise exception.InstanceInvalidState(
                attr="task_state", instance_uuid=instance["uuid"],
                state=error.kwargs.get("actual"), method=method,
            )
        trace.event("instance.state", instance_uuid=instance["uuid"],
                    vm_state=updated.get("vm_state"), task_state=task_state)
        return updated

    def stop(self, ctxt: Any, instance: dict[str, Any] | str, clean_shutdown: bool = True
             ) -> dict[str, Any]:
        """Power off an ``active`` or ``error`` instance with no task: ``powering-off`` now,
        ``stopped`` / SHUTDOWN when the compute is done. 409 otherwise."""
        instance = self._instance(ctxt, instance)
        self._check_lock(ctxt, instance)
        self._check_state(instance, "stop", [vm_states.ACTIVE, vm_states.ERROR], [None])
        instance = self._set_task_state(ctxt, instance, "stop", task_states.POWERING_OFF,
                                        [None])
        self._record_action_start(ctxt, instance, "stop")
        self.compute_rpcapi.stop_instance(ctxt, instance, clean_shutdown=clean_shutdown)
        return instance

    def update_instance_metadata(self, ctxt: Any, instance: dict[str, Any] | str,
                                 metadata: dict[str, str], replace: bool = False,
                                 delete_key: str | None = None) -> dict[str, str]:
        """Merge ``metadata`` into the instance's (or put it in place of it with
        ``replace``; or remove ``delete_key``) and return the new metadata. Only for an
        ``active``, ``paused``, ``suspended`` or ``stopped`` instance with no task (409
        otherwise), as Nova's ``update_instance_metadata``; ``delete_key`` that is not
        there: ``MetadataNotFound`` would be the API's 404, checked by the caller."""
        instance = self._instance(ctxt, instance)
        method = "delete_instance_metadata" if delete_key else "update_instance_metadata"
        self._check_lock(ctxt, instance)
        self._check_state(instance, method, [vm_states.ACTIVE, vm_states.PAUSED,
                                             vm_states.SUSPENDED, vm_states.STOPPED], [None],
                          need_host=False)
        new = {} if replace else dict(instance.get("metadata") or {})
        new.update(metadata)
        if delete_key is not None:
            new.pop(delete_key, None)
        self.db.instance_update(instance["uuid"], {"metadata": new})
        return new

    def start(self, ctxt: Any, instance: dict[str, Any] | str) -> dict[str, Any]:
        """Power on a ``stopped`` instance with no task: ``powering-on`` now, ``active`` /
        RUNNING when the compute is done. 409 otherwise."""
        instance = self._instance(ctxt, instance)
        self._check_lock(ctxt, instance)
        self._check_state(instance, "start", [vm_states.STOPPED], [None])
        instance = self._set_task_state(ctxt, instance, "start", task_states.POWERING_ON,
                                        [None])
        self._record_action_start(ctxt, instance, "start")
        self.compute_rpcapi.start_instance(ctxt, instance)
        return instance

    def reboot(self, ctxt: Any, instance: dict[str, Any] | str, reboot_type: str = "SOFT"
               ) -> dict[str, Any]:
        """Reboot: SOFT from ``active`` (task None or rebooting) -> ``rebooting``; HARD
        from active, stopped, paused, suspended or error -> ``rebooting_hard``. The compute
        then goes through ``reboot_pending[_hard]`` and ``reboot_started[_hard]`` to
        ``active``. 409 on a wrong state; ``InvalidInput`` on a bad ``reboot_type``."""
        reboot_type = str(reboot_type).upper()
        if reboot_type not in ("SOFT", "HARD"):
            raise exception.InvalidInput(reason=f"invalid reboot type {reboot_type!r}")
        instance = self._instance(ctxt, instance)
        if reboot_type == "SOFT":
            allowed_vm, allowed_task = vm_states.ALLOW_SOFT_REBOOT, task_states.SOFT_REBOOT_ALLOWED
            new_task = task_states.REBOOTING
        else:
            allowed_vm, allowed_task = vm_states.ALLOW_HARD_REBOOT, task_states.HARD_REBOOT_ALLOWED
            new_task = task_states.REBOOTING_HARD
        self._check_lock(ctxt, instance)
        self._check_state(instance, "reboot", allowed_vm, allowed_task)
        instance = self._set_task_state(ctxt, instance, "reboot", new_task, allowed_task)
        self._record_action_start(ctxt, instance, "reboot")
        self.compute_rpcapi.reboot_instance(ctxt, instance, reboot_type=reboot_type)
        return instance

    # -- locks -----------------------------------------------------------------------------

    @staticmethod
    def _check_lock(ctxt: Any, instance: dict[str, Any]) -> None:
        """Nova's ``check_instance_lock``: a locked instance refuses the action (409)
        unless the caller is an admin."""
        if instance.get("locked") and not ctxt.is_admin:
            raise exception.InstanceIsLocked(instance_uuid=instance["uuid"])

    def lock(self, ctxt: Any, instance: dict[str, Any] | str, reason: str | None = None
             ) -> dict[str, Any]:
        """Lock the instance (any state): only admins may act on it until unlocked.
        ``locked_by`` is ``owner`` for the instance's project, ``admin`` otherwise; the
        reason is kept in the system metadata. Recorded as the ``lock`` action."""
        instance = self._instance(ctxt, instance)
        self._record_action_start(ctxt, instance, "lock")
        system_metadata = dict(instance.get("system_metadata") or {})
        system_metadata.pop("locked_reason", None)
        if reason:
            system_metadata["locked_reason"] = reason
        locked_by = "owner" if ctxt.project_id == instance.get("project_id") else "admin"
        return self.db.instance_update(instance["uuid"], {
            "locked": True, "locked_by": locked_by, "system_metadata": system_metadata})

    def is_expected_locked_by(self, ctxt: Any, instance: dict[str, Any]) -> bool:
        """Whether the instance is unlocked or was locked by the caller's side (Nova's
        check before ``unlock``: unlocking an admin's lock needs ``unlock_override``)."""
        if not instance.get("locked"):
            return True
        expected = "owner" if ctxt.project_id == instance.get("project_id") else "admin"
        return instance.get("locked_by") == expected

    def unlock(self, ctxt: Any, instance: dict[str, Any] | str) -> dict[str, Any]:
        """Unlock the instance (any state); recorded as the ``unlock`` action."""
        instance = self._instance(ctxt, instance)
        self._record_action_start(ctxt, instance, "unlock")
        system_metadata = dict(instance.get("system_metadata") or {})
        system_metadata.pop("locked_reason", None)
        return self.db.instance_update(instance["uuid"], {
            "locked": False, "locked_by": None, "system_metadata": system_metadata})

    # -- actions cast to the instance's compute --------------------------------------------

    def _cast_action(self, ctxt: Any, instance: dict[str, Any] | str, method: str,
                     vm_state: list[str], task_state: str, action: str,
                     check_lock: bool = True) -> dict[str, Any]:
        """The common shape of a compute action (Nova's decorators and the first steps of
        its method): lock check, ``check_instance_state(vm_state, task_state=[None])``
        and a host, the atomic move to ``task_state`` and the ``action`` record. Returns
        the updated instance; the caller casts to its compute."""
        instance = self._instance(ctxt, instance)
        if check_lock:
            self._check_lock(ctxt, instance)
        self._check_state(instance, method, vm_state, [None])
        instance = self._set_task_state(ctxt, instance, method, task_state, [None])
        self._record_action_start(ctxt, instance, action)
        return instance

    def pause(self, ctxt: Any, instance: dict[str, Any] | str) -> dict[str, Any]:
        """Pause an ``active`` instance: ``pausing`` now, ``paused`` / PAUSED when the
        compute is done. 409 otherwise (or locked)."""
        instance = self._cast_action(ctxt, instance, "pause", [vm_states.ACTIVE],
                                     task_states.PAUSING, "pause")
        self.compute_rpcapi.pause_instance(ctxt, instance)
        return instance

    def unpause(self, ctxt: Any, instance: dict[str, Any] | str) -> dict[str, Any]:
        """Unpause a ``paused`` instance: ``unpausing`` -> ``active`` / RUNNING."""
        instance = self._cast_action(ctxt, instance, "unpause", [vm_states.PAUSED],
                                     task_states.UNPAUSING, "unpause")
        self.compute_rpcapi.unpause_instance(ctxt, instance)
        return instance

    def suspend(self, ctxt: Any, instance: dict[str, Any] | str) -> dict[str, Any]:
        """Suspend an ``active`` instance: ``suspending`` -> ``suspended`` / SUSPENDED."""
        instance = self._cast_action(ctxt, instance, "suspend", [vm_states.ACTIVE],
                                     task_states.SUSPENDING, "suspend")
        self.compute_rpcapi.suspend_instance(ctxt, instance)
        return instance

    def resume(self, ctxt: Any, instance: dict[str, Any] | str) -> dict[str, Any]:
        """Resume a ``suspended`` instance: ``resuming`` -> ``active`` / RUNNING."""
        instance = self._cast_action(ctxt, instance, "resume", [vm_states.SUSPENDED],
                                     task_states.RESUMING, "resume")
        self.compute_rpcapi.resume_instance(ctxt, instance)
        return instance

    def rescue(self, ctxt: Any, instance: dict[str, Any] | str,
               rescue_password: str | None = None, rescue_image_ref: str | None = None,
               clean_shutdown: bool = True) -> dict[str, Any]:
        """Boot an ``active``, ``stopped`` or ``error`` instance from a rescue image:
        ``rescuing`` -> ``rescued`` / RUNNING. ``ImageNotFound`` for an unknown
        ``rescue_image_ref``; 409 on a wrong state."""
        if rescue_image_ref:
            self.image_api.get(image_catalogue.image_ref_from_href(rescue_image_ref))
        instance = self._cast_action(
            ctxt, instance, "rescue", [vm_states.ACTIVE, vm_states.STOPPED, vm_states.ERROR],
            task_states.RESCUING, "rescue")
        self.compute_rpcapi.rescue_instance(
            ctxt, instance, rescue_password=rescue_password,
            rescue_image_ref=rescue_image_ref, clean_shutdown=clean_shutdown)
        return instance

    def unrescue(self, ctxt: Any, instance: dict[str, Any] | str) -> dict[str, Any]:
        """Leave rescue: ``unrescuing`` -> ``active`` / RUNNING."""
        instance = self._cast_action(ctxt, instance, "unrescue", [vm_states.RESCUED],
                                     task_states.UNRESCUING, "unrescue")
        self.compute_rpcapi.unrescue_instance(ctxt, instance)
        return instance

    # -- snapshots and backups -------------------------------------------------------------

    def _image_for(self, ctxt: Any, instance: dict[str, Any], name: str,
                   extra_properties: dict[str, str] | None = None) -> dict[str, Any]:
        """A new ``queued`` image record of the instance's disk (Nova's
        ``_create_image``): the base image's formats and minimums, the instance's
        properties, owned by the caller's project."""
        flavor = instance.get("flavor") or {}
        try:
            base = self.image_api.get(instance.get("image_ref") or "")
        except exception.ImageNotFound:
            base = {}
        properties = {
            key: value for key, value in (base.get("properties") or {}).items()
            if key not in ("instance_uuid", "image_type", "backup_type", "base_image_ref")
        }
        properties.update({
            "instance_uuid": instance["uuid"], "user_id": ctxt.user_id,
            "base_image_ref": instance.get("image_ref") or "",
        })
        properties.update(extra_properties or {})
        return self.image_api.create({
            "name": name, "status": image_catalogue.QUEUED, "visibility": "private",
            "owner": ctxt.project_id,
            "disk_format": base.get("disk_format") or "qcow2",
            "container_format": base.get("container_format") or "bare",
            "min_disk": max(int(flavor.get("root_gb") or 0), int(base.get("min_disk") or 0)),
            "min_ram": int(base.get("min_ram") or 0),
            "properties": properties,
        })

    def snapshot(self, ctxt: Any, instance: dict[str, Any] | str, name: str,
                 extra_properties: dict[str, str] | None = None) -> dict[str, Any]:
        """Snapshot an ``active``, ``stopped``, ``paused`` or ``suspended`` instance
        with no task into a new image: ``image_snapshot_pending`` and a ``queued``
        image now; the compute moves through ``image_snapshot``, ``image_pending_upload``
        and ``image_uploading`` and the image becomes ``active``. Returns the image
        record. 409 on a wrong state (no image is left behind)."""
        instance = self._instance(ctxt, instance)
        allowed = [vm_states.ACTIVE, vm_states.STOPPED, vm_states.PAUSED,
                   vm_states.SUSPENDED]
        self._check_state(instance, "snapshot", allowed, [None])
        image = self._image_for(ctxt, instance, name,
                                {"image_type": "snapshot", **(extra_properties or {})})
        try:
            instance = self._set_task_state(ctxt, instance, "snapshot",
                                            task_states.IMAGE_SNAPSHOT_PENDING, [None])
        except exception.InstanceInvalidState:
            self.image_api.delete(image["id"])
            raise
        self._record_action_start(ctxt, instance, "createImage")
        self.compute_rpcapi.snapshot_instance(ctxt, instance, image["id"])
        return image

    def backup(self, ctxt: Any, instance: dict[str, Any] | str, name: str,
               backup_type: str, rotation: int,
               extra_properties: dict[str, str] | None = None) -> dict[str, Any]:
        """A backup image of the instance (states as ``snapshot``; task
        ``image_backup``); the compute then deletes the oldest backups of this
        ``backup_type`` beyond ``rotation`` (with ``rotation`` 0, the new one too, as
        Nova). Returns the image record."""
        instance = self._instance(ctxt, instance)
        allowed = [vm_states.ACTIVE, vm_states.STOPPED, vm_states.PAUSED,
                   vm_states.SUSPENDED]
        self._check_state(instance, "backup", allowed, [None])
        image = self._image_for(ctxt, instance, name, {
            "image_type": "backup", "backup_type": backup_type,
            **(extra_properties or {})})
        try:
            instance = self._set_task_state(ctxt, instance, "backup",
                                            task_states.IMAGE_BACKUP, [None])
        except exception.InstanceInvalidState:
            self.image_api.delete(image["id"])
            raise
        self._record_action_start(ctxt, instance, "createBackup")
        self.compute_rpcapi.backup_instance(ctxt, instance, image["id"], backup_type,
                                            rotation)
        return image

    # -- rebuild ---------------------------------------------------------------------------

    def rebuild(self, ctxt: Any, instance: dict[str, Any] | str, image_ref: str,
                admin_password: str | None = None, name: str | None = None,
                metadata: dict[str, str] | None = None, **kwargs: Any) -> dict[str, Any]:
        """Rebuild an ``active``, ``stopped`` or ``error`` instance from ``image_ref``:
        ``rebuilding`` now (with the new image, name, metadata and the other fields of
        ``kwargs``: ``display_description``, ``access_ip_v4``, ``access_ip_v6``,
        ``key_name``, ``user_data``, ``hostname``), then the conductor casts
        ``rebuild_instance`` to the instance's compute, which goes through
        ``rebuild_block_device_mapping`` and ``rebuild_spawning`` back to ``active``
        (``stopped`` if it was stopped). 409 on a wrong state or locked;
        ``ImageNotFound`` / ``ImageNotActive`` for a bad image."""
        instance = self._instance(ctxt, instance)
        self._check_lock(ctxt, instance)
        allowed = [vm_states.ACTIVE, vm_states.STOPPED, vm_states.ERROR]
        self._check_state(instance, "rebuild", allowed, [None])
        image = self._active_image(image_ref)
        orig_image_ref = instance.get("image_ref")
        updates: dict[str, Any] = {"task_state": task_states.REBUILDING,
                                   "image_ref": image["id"]}
        if name is not None:
            updates["display_name"] = name
        if metadata is not None:
            updates["metadata"] = dict(metadata)
        known = ("display_description", "access_ip_v4", "access_ip_v6", "key_name",
                 "user_data", "hostname")
        updates.update({key: value for key, value in kwargs.items() if key in known})
        try:
            instance = self.db.instance_update(instance["uuid"], updates,
                                               expected_task_state=[None])
        except exception.UnexpectedTaskStateError as error:
            raise exception.InstanceInvalidState(
                attr="task_state", instance_uuid=instance["uuid"],
                state=error.kwargs.get("actual"), method="rebuild")
        trace.event("instance.state", instance_uuid=instance["uuid"],
                    vm_state=instance.get("vm_state"), task_state=task_states.REBUILDING)
        self._record_action_start(ctxt, instance, "rebuild")
        self.compute_task_api.rebuild_instance(
            ctxt, instance, new_pass=admin_password, injected_files=[],
            image_ref=image["id"], orig_image_ref=orig_image_ref,
            orig_sys_metadata=dict(instance.get("system_metadata") or {}), bdms=None,
            recreate=False, on_shared_storage=False, preserve_ephemeral=False,
            host=None, request_spec=None)
        return instance

    # -- shelve ----------------------------------------------------------------------------

    def shelve(self, ctxt: Any, instance: dict[str, Any] | str,
               clean_shutdown: bool = True) -> dict[str, Any]:
        """Shelve an ``active``, ``stopped``, ``paused`` or ``suspended`` instance:
        ``shelving`` now and a ``queued`` image ``<name>-shelved``; the compute powers it
        off, uploads the image and ends ``shelved`` (the image id, host and time in the
        system metadata), then, with ``[DEFAULT] shelved_offload_time = 0``, offloads it
        at once to ``shelved_offloaded`` (no host, resources freed)."""
        instance = self._instance(ctxt, instance)
        self._check_lock(ctxt, instance)
        allowed = [vm_states.ACTIVE, vm_states.STOPPED, vm_states.PAUSED,
                   vm_states.SUSPENDED]
        self._check_state(instance, "shelve", allowed, [None])
        instance = self._set_task_state(ctxt, instance, "shelve", task_states.SHELVING,
                                        [None])
        self._record_action_start(ctxt, instance, "shelve")
        image = self._image_for(ctxt, instance,
                                f"{instance.get('display_name') or 'server'}-shelved",
                                {"image_type": "snapshot"})
        self.compute_rpcapi.shelve_instance(ctxt, instance, image_id=image["id"],
                                            clean_shutdown=clean_shutdown)
        return instance

    def shelve_offload(self, ctxt: Any, instance: dict[str, Any] | str,
                       clean_shutdown: bool = True) -> dict[str, Any]:
        """Offload a ``shelved`` instance from its host: ``shelving_offloading`` ->
        ``shelved_offloaded`` (the guest destroyed, host cleared, resources freed)."""
        instance = self._cast_action(ctxt, instance, "shelve_offload",
                                     [vm_states.SHELVED], task_states.SHELVING_OFFLOADING,
                                     "shelveOffload")
        self.compute_rpcapi.shelve_offload_instance(ctxt, instance,
                                                    clean_shutdown=clean_shutdown)
        return instance

    def unshelve(self, ctxt: Any, instance: dict[str, Any] | str,
                 availability_zone: str | None = None,
                 host: str | None = None) -> dict[str, Any]:
        """Unshelve a ``shelved`` or ``shelved_offloaded`` instance: ``unshelving`` now,
        then the conductor either powers a shelved one on where it is, or schedules an
        offloaded one (``availability_zone`` restricts where; ``host``, 2.91, names the
        host: ``UnshelveHostNotInOffloadedState`` (409) unless offloaded,
        ``ComputeHostNotFound`` for a host with no compute node) and casts
        ``unshelve_instance`` to the chosen compute, which spawns it from the shelved
        image. With no valid host the instance stays offloaded with no task."""
        instance = self._instance(ctxt, instance)
        self._check_lock(ctxt, instance)
        self._check_state(instance, "unshelve",
                          [vm_states.SHELVED, vm_states.SHELVED_OFFLOADED], [None],
                          need_host=False)
        if host is not None:
            if instance.get("vm_state") != vm_states.SHELVED_OFFLOADED:
                raise exception.UnshelveHostNotInOffloadedState(
                    instance_uuid=instance["uuid"])
            self._requested_destination(host, None)
        if availability_zone is not None:
            if instance.get("vm_state") != vm_states.SHELVED_OFFLOADED:
                raise exception.InvalidInput(
                    reason="The availability zone can only be given when the instance "
                    "is shelved offloaded.")
            zones = {zone["zone"] for zone in self.availability_zones(ctxt)}
            if availability_zone not in zones:
                raise exception.InvalidInput(
                    reason=f"The requested availability zone is not available: "
                    f"{availability_zone}")
        spec: dict[str, Any] = {}
        try:
            spec = self.db.request_spec_get(instance["uuid"])
        except exception.NotFound:
            pass
        if availability_zone is not None:
            spec["availability_zone"] = availability_zone
            self.db.request_spec_save(instance["uuid"], spec)
        # the host asked for goes with this unshelve only (never one a create asked for)
        spec = dict(spec, requested_destination={"host": host} if host else None)
        instance = self._set_task_state(ctxt, instance, "unshelve", task_states.UNSHELVING,
                                        [None])
        self._record_action_start(ctxt, instance, "unshelve")
        self.compute_task_api.unshelve_instance(ctxt, instance, request_spec=spec)
        return instance

    # -- resize and cold migration ---------------------------------------------------------

    def resize(self, ctxt: Any, instance: dict[str, Any] | str,
               flavor_id: str | None = None, clean_shutdown: bool = True) -> dict[str, Any]:
        """Resize an ``active`` or ``stopped`` instance to ``flavor_id``, or cold-migrate
        it when ``flavor_id`` is None (the ``migrate`` action): ``resize_prep`` now and
        ``migrate_server`` cast to the conductor, which schedules it (another host unless
        ``allow_resize_to_same_host``) and casts ``prep_resize`` to the destination; the
        computes then go through ``resize_migrating``, ``resize_migrated`` and
        ``resize_finish`` to ``resized`` (VERIFY_RESIZE), which ``confirm_resize`` or
        ``revert_resize`` ends. ``FlavorNotFound``, ``CannotResizeToSameFlavor`` or
        ``CannotResizeDisk`` (400s) on a bad flavor; 409 on a wrong state or locked."""
        instance = self._instance(ctxt, instance)
        self._check_lock(ctxt, instance)
        method = "resize" if flavor_id is not None else "migrate"
        self._check_state(instance, method, [vm_states.ACTIVE, vm_states.STOPPED], [None])
        current = instance.get("flavor") or {}
        if flavor_id is None:
            flavor = dict(current)
        else:
            flavor = self.db.flavor_get_by_flavor_id(str(flavor_id))
            if flavor.get("disabled"):
                raise exception.FlavorNotFound(flavor_id=flavor_id)
            if str(flavor.get("flavorid")) == str(current.get("flavorid")):
                raise exception.CannotResizeToSameFlavor()
            if int(flavor.get("root_gb") or 0) < int(current.get("root_gb") or 0):
                raise exception.CannotResizeDisk(
                    reason="Resizing to a smaller disk flavor is not allowed.")
        instance = self._set_task_state(ctxt, instance, method, task_states.RESIZE_PREP,
                                        [None])
        self._record_action_start(ctxt, instance, method)
        try:
            spec = dict(self.db.request_spec_get(instance["uuid"]))
        except exception.NotFound:
            spec = {}
        self.compute_task_api.migrate_server(
            ctxt, instance, flavor=flavor, request_spec=spec,
            clean_shutdown=clean_shutdown)
        return instance

    def _migration(self, instance: dict[str, Any], status: str) -> dict[str, Any]:
        migration = (instance.get("system_metadata") or {}).get("migration") or {}
        if migration.get("status") != status:
            raise exception.MigrationNotFound(instance_id=instance["uuid"], status=status)
        return migration

    def confirm_resize(self, ctxt: Any, instance: dict[str, Any] | str) -> None:
        """Confirm a ``resized`` instance: the migration ``confirming``, action
        ``confirmResize``, ``confirm_resize`` cast to the source host, which destroys the
        old guest and frees the source's resources; the instance ends ``active`` (or
        ``stopped``) with no task."""
        instance = self._instance(ctxt, instance)
        self._check_lock(ctxt, instance)
        self._check_state(instance, "confirm_resize", [vm_states.RESIZED], [None])
        migration = self._migration(instance, "finished")
        instance = self._set_migration_status(instance, "confirming")
        self._record_action_start(ctxt, instance, "confirmResize")
        self.compute_rpcapi.confirm_resize(ctxt, instance, migration,
                                           migration["source_compute"])

    def revert_resize(self, ctxt: Any, instance: dict[str, Any] | str) -> dict[str, Any]:
        """Revert a ``resized`` instance: ``resize_reverting``, action ``revertResize``,
        ``revert_resize`` cast to the destination (the new guest destroyed), which casts
        ``finish_revert_resize`` to the source: the old flavor back, ``active`` (or
        ``stopped``) there."""
        instance = self._instance(ctxt, instance)
        self._check_lock(ctxt, instance)
        self._check_state(instance, "revert_resize", [vm_states.RESIZED], [None])
        migration = self._migration(instance, "finished")
        instance = self._set_task_state(ctxt, instance, "revert_resize",
                                        task_states.RESIZE_REVERTING, [None])
        instance = self._set_migration_status(instance, "reverting")
        self._record_action_start(ctxt, instance, "revertResize")
        self.compute_rpcapi.revert_resize(ctxt, instance, migration,
                                          migration["dest_compute"])
        return instance

    def _set_migration_status(self, instance: dict[str, Any], status: str
                              ) -> dict[str, Any]:
        system_metadata = dict(instance.get("system_metadata") or {})
        system_metadata["migration"] = {**system_metadata.get("migration", {}),
                                        "status": status}
        return self.db.instance_update(instance["uuid"],
                                       {"system_metadata": system_metadata})

    # -- admin and misc --------------------------------------------------------------------

    def reset_state(self, ctxt: Any, instance: dict[str, Any] | str, state: str
                    ) -> dict[str, Any]:
        """``os-resetState``: set ``vm_state`` to ``active`` or ``error`` and clear the
        task (any state; no RPC). Recorded as the ``resetState`` action."""
        if state not in (vm_states.ACTIVE, vm_states.ERROR):
            raise exception.InvalidInput(reason=f"invalid state {state!r}")
        instance = self._instance(ctxt, instance)
        self._record_action_start(ctxt, instance, "resetState")
        instance = self.db.instance_update(instance["uuid"],
                                           {"vm_state": state, "task_state": None})
        trace.event("instance.state", instance_uuid=instance["uuid"], vm_state=state,
                    task_state=None)
        return instance

    def get_console_output(self, ctxt: Any, instance: dict[str, Any] | str,
                           tail_length: int | None = None) -> str:
        """The guest's console log (its last ``tail_length`` lines): an RPC **call** to
        the instance's compute. 409 without a host or while deleting or migrating."""
        instance = self._instance(ctxt, instance)
        if not instance.get("host"):
            raise exception.InstanceNotReady(instance_id=instance["uuid"])
        if instance.get("task_state") in (task_states.DELETING, "migrating"):
            raise exception.InstanceInvalidState(
                attr="task_state", instance_uuid=instance["uuid"],
                state=instance.get("task_state"), method="get_console_output")
        return self.compute_rpcapi.get_console_output(ctxt, instance,
                                                      tail_length=tail_length)

    def inject_network_info(self, ctxt: Any, instance: dict[str, Any] | str) -> None:
        """Cast ``inject_network_info`` to the instance's compute (the guest's network
        configuration written again; no state changes). 409 without a host or while
        deleting or migrating; recorded as the ``inject_network_info`` action."""
        instance = self._instance(ctxt, instance)
        self._check_state(instance, "inject_network_info", None, None)
        if instance.get("task_state") in (task_states.DELETING, "migrating"):
            raise exception.InstanceInvalidState(
                attr="task_state", instance_uuid=instance["uuid"],
                state=instance.get("task_state"), method="inject_network_info")
        self._record_action_start(ctxt, instance, "inject_network_info")
        self.compute_rpcapi.inject_network_info(ctxt, instance)

    def _security_group(self, instance: dict[str, Any], name: str) -> dict[str, Any]:
        """The instance's project's security group named (or with the id) ``name``;
        ``SecurityGroupNotFound`` (404)."""
        for group in self.db.security_group_get_all(instance.get("project_id")):
            if name in (group.get("name"), group.get("uuid")):
                return group
        raise exception.SecurityGroupNotFoundForProject(
            project_id=instance.get("project_id"), security_group_id=name)

    def add_security_group(self, ctxt: Any, instance: dict[str, Any] | str,
                           name: str) -> dict[str, Any]:
        """Add the project's security group ``name`` to the instance (Nova asks
        Neutron to add it to the instance's ports; nova-sim records it on the instance).
        ``SecurityGroupExistsForInstance`` (400) when it is there already."""
        instance = self._instance(ctxt, instance)
        group = self._security_group(instance, name)
        groups = [entry.get("name") if isinstance(entry, dict) else entry
                  for entry in instance.get("security_groups") or []]
        if group["name"] in groups:
            raise exception.SecurityGroupExistsForInstance(
                security_group_id=name, instance_id=instance["uuid"])
        return self.db.instance_update(instance["uuid"], {"security_groups": [
            {"name": entry} for entry in (*groups, group["name"])]})

    def remove_security_group(self, ctxt: Any, instance: dict[str, Any] | str,
                              name: str) -> dict[str, Any]:
        """Remove the security group ``name`` from the instance;
        ``SecurityGroupNotExistsForInstance`` (400) when it is not there."""
        instance = self._instance(ctxt, instance)
        group = self._security_group(instance, name)
        groups = [entry.get("name") if isinstance(entry, dict) else entry
                  for entry in instance.get("security_groups") or []]
        if group["name"] not in groups:
            raise exception.SecurityGroupNotExistsForInstance(
                security_group_id=name, instance_id=instance["uuid"])
        return self.db.instance_update(instance["uuid"], {"security_groups": [
            {"name": entry} for entry in groups if entry != group["name"]]})

    def restore(self, ctxt: Any, instance: dict[str, Any] | str) -> None:
        """Restore a soft-deleted instance. nova-sim deletes at once (Nova's default
        ``reclaim_instance_interval = 0``), so an instance is never soft-deleted: this
        is the 409 Nova answers then."""
        instance = self._instance(ctxt, instance)
        self._check_lock(ctxt, instance)
        self._check_state(instance, "restore", [vm_states.SOFT_DELETED], None,
                          need_host=False)

    def force_delete(self, ctxt: Any, instance: dict[str, Any] | str) -> None:
        """Delete in any state (Nova's ``force_delete``; 409 when locked)."""
        instance = self._instance(ctxt, instance)
        self._check_lock(ctxt, instance)
        self.delete(ctxt, instance)

    def delete(self, ctxt: Any, instance: dict[str, Any] | str) -> None:
        """Delete an instance (any state). With a host whose compute is up: ``deleting``
        now and ``terminate_instance`` cast to it (the row disappears when the compute is
        done). With no host (not built yet, or failed to schedule) or on a compute that is
        down: deleted here at once (Nova's local delete), allocations freed."""
        instance = self._instance(ctxt, instance)
        self._check_lock(ctxt, instance)
        self._record_action_start(ctxt, instance, "delete")
        if instance.get("vm_state") in (vm_states.SHELVED, vm_states.SHELVED_OFFLOADED):
            # as Nova's _delete: the snapshot a shelve made goes with the instance
            shelved_image = (instance.get("system_metadata") or {}).get("shelved_image_id")
            if shelved_image:
                with contextlib.suppress(exception.NotFound, exception.Forbidden):
                    self.image_api.delete(shelved_image)
        host = instance.get("host")
        if host and self._compute_is_up(host):
            try:
                instance = self.db.instance_update(
                    instance["uuid"], {"task_state": task_states.DELETING}
                )
            except exception.InstanceNotFound:
                return
            trace.event("instance.state", instance_uuid=instance["uuid"],
                        vm_state=instance.get("vm_state"), task_state=task_states.DELETING)
            self.compute_rpcapi.terminate_instance(ctxt, instance)
            return
        self._local_delete(ctxt, instance)

    def _compute_is_up(self, host: str) -> bool:
        try:
            service = self.db.service_get_by_host_and_binary(host, COMPUTE_BINARY)
        except exception.NotFound:
            return False
        return self.servicegroup_api.service_is_up(service)

    def _local_delete(self, ctxt: Any, instance: dict[str, Any]) -> None:
        LOG.info("Deleting instance %s locally (no host, or its compute is down)",
                 instance["uuid"])
        try:
            self.db.instance_update(
                instance["uuid"],
                {"vm_state": vm_states.DELETED, "task_state": None,
                 "power_state": power_state.NOSTATE, "terminated_at": _utcnow()},
            )
            self.db.instance_destroy(instance["uuid"])
        except exception.InstanceNotFound:
            pass
        self.db.remove_allocations(instance["uuid"])
        trace.event("instance.state", instance_uuid=instance["uuid"],
                    vm_state=vm_states.DELETED, task_state=None)

    # -- instance actions ------------------------------------------------------------------

    def actions_list(self, ctxt: Any, instance_id: str) -> list[dict[str, Any]]:
        """The instance's actions, newest first (``InstanceNotFound`` as ``get``; a
        deleted instance's actions are still listed)."""
        self._instance_any(ctxt, instance_id)
        return self.db.actions_get(instance_id)

    def action_get(self, ctxt: Any, instance_id: str, request_id: str) -> dict[str, Any]:
        """One action with its ``events`` (newest first); ``InstanceActionNotFound``."""
        self._instance_any(ctxt, instance_id)
        action = self.db.action_get_by_request_id(instance_id, request_id)
        action["events"] = self.db.action_events_get(action["id"])
        return action

    def _instance_any(self, ctxt: Any, instance_id: str) -> dict[str, Any]:
        instance = self.db.instance_get(instance_id, read_deleted="yes")
        if not ctxt.is_admin and instance.get("project_id") != ctxt.project_id:
            raise exception.InstanceNotFound(instance_id=instance_id)
        return instance

    # -- services, hypervisors, zones ------------------------------------------------------

    def _with_state(self, service: dict[str, Any]) -> dict[str, Any]:
        service["up"] = self.servicegroup_api.service_is_up(service)
        service["state"] = "up" if service["up"] else "down"
        service["status"] = "disabled" if service.get("disabled") else "enabled"
        if service.get("binary") == COMPUTE_BINARY:
            service["zone"] = (service.get("availability_zone")
                               or self.conf.default_availability_zone)
        else:
            service["zone"] = self.conf.internal_service_availability_zone
        return service

    def service_list(self, ctxt: Any, binary: str | None = None, host: str | None = None
                     ) -> list[dict[str, Any]]:
        """Service rows, each with ``up`` (bool), ``state`` (up/down), ``status``
        (enabled/disabled) and ``zone``."""
        return [self._with_state(s) for s in self.db.service_get_all(binary=binary, host=host)]

    def service_get(self, ctxt: Any, service_id: int) -> dict[str, Any]:
        """One service row with its state (``ServiceNotFound``)."""
        return self._with_state(self.db.service_get(service_id))

    def service_update(self, ctxt: Any, service: int | dict[str, Any],
                       values: dict[str, Any]) -> dict[str, Any]:
        """Update ``disabled``, ``disabled_reason`` or ``forced_down`` of ``service`` (its
        id or its row); returns the row with its state (``ServiceNotFound``)."""
        service_id = service["id"] if isinstance(service, dict) else service
        allowed = {"disabled", "disabled_reason", "forced_down"}
        unknown = set(values) - allowed
        if unknown:
            raise exception.InvalidInput(reason=f"cannot update {sorted(unknown)}")
        return self._with_state(self.db.service_update(service_id, values))

    def service_enable(self, ctxt: Any, host: str, binary: str = COMPUTE_BINARY
                       ) -> dict[str, Any]:
        """Enable ``binary`` on ``host`` (``ComputeHostNotFound`` if no such service)."""
        service = self.db.service_get_by_host_and_binary(host, binary)
        return self.service_update(ctxt, service["id"],
                                   {"disabled": False, "disabled_reason": None})

    def service_disable(self, ctxt: Any, host: str, binary: str = COMPUTE_BINARY,
                        reason: str | None = None) -> dict[str, Any]:
        """Disable ``binary`` on ``host`` (the scheduler stops placing there)."""
        service = self.db.service_get_by_host_and_binary(host, binary)
        return self.service_update(ctxt, service["id"],
                                   {"disabled": True, "disabled_reason": reason})

    def _hypervisor(self, node: dict[str, Any], services: dict[str, dict[str, Any]]
                    ) -> dict[str, Any]:
        service = services.get(node["host"])
        node = dict(node)
        node["service"] = service
        node["state"] = service["state"] if service else "down"
        node["status"] = service["status"] if service else "disabled"
        return node

    def hypervisor_list(self, ctxt: Any) -> list[dict[str, Any]]:
        """Compute nodes, each with ``service`` (its compute service row), ``state`` and
        ``status`` (of that service)."""
        services = {s["host"]: s for s in self.service_list(ctxt, binary=COMPUTE_BINARY)}
        return [self._hypervisor(node, services) for node in self.db.compute_node_get_all()]

    def hypervisor_get(self, ctxt: Any, hypervisor_id: int | str) -> dict[str, Any]:
        """One compute node by id or uuid (``ComputeHostNotFound``)."""
        for node in self.hypervisor_list(ctxt):
            if str(node["id"]) == str(hypervisor_id) or node["uuid"] == hypervisor_id:
                return node
        raise exception.ComputeHostNotFound(host=hypervisor_id)

    def availability_zones(self, ctxt: Any) -> list[dict[str, Any]]:
        """Zones as ``{"zone", "available", "hosts": {host: {binary: {"available",
        "active", "updated_at"}}}}``; compute zones first, then the internal zone. A zone
        is available if one of its compute services is up and enabled."""
        zones: dict[str, dict[str, Any]] = {}
        for service in self.service_list(ctxt):
            zone = zones.setdefault(
                service["zone"], {"zone": service["zone"], "available": False, "hosts": {}}
            )
            alive = service["up"] and not service.get("disabled")
            zone["hosts"].setdefault(service["host"], {})[service["binary"]] = {
                "available": service["up"], "active": not service.get("disabled"),
                "updated_at": service.get("updated_at"),
            }
            if alive:
                zone["available"] = True
        internal = self.conf.internal_service_availability_zone
        return sorted(zones.values(), key=lambda z: (z["zone"] == internal, z["zone"]))

    # -- flavors and images ----------------------------------------------------------------

    def flavor_list(self, ctxt: Any, is_public: bool | None = True) -> list[dict[str, Any]]:
        """Flavors ordered by id: for an admin the public ones by default (``False``: the
        private ones, ``None``: all); for anyone else the public ones and the private ones
        their project was given access to (``is_public`` is not theirs to choose)."""
        if ctxt is not None and not ctxt.is_admin:
            return self.db.flavor_get_all_for_project(ctxt.project_id)
        return self.db.flavor_get_all(is_public=is_public)

    def flavor_get(self, ctxt: Any, flavor_id: str) -> dict[str, Any]:
        """A flavor by its API id (``FlavorNotFound``; also for a private flavor that the
        caller's project has no access to, unless an admin asks)."""
        if ctxt is not None and not ctxt.is_admin:
            return self.db.flavor_get_for_project(flavor_id, ctxt.project_id)
        return self.db.flavor_get_by_flavor_id(flavor_id)

    def flavor_update(self, ctxt: Any, flavor_id: str, values: dict[str, Any]) -> dict[str, Any]:
        """Write ``extra_specs`` / ``description`` of a flavor (``FlavorNotFound``)."""
        return self.db.flavor_update(flavor_id, values)

    def flavor_access_list(self, ctxt: Any, flavor_id: str) -> list[str]:
        """The projects given access to a flavor (``FlavorNotFound``)."""
        return self.db.flavor_access_get_by_flavor_id(flavor_id)

    def flavor_access_add(self, ctxt: Any, flavor_id: str, project_id: str) -> list[str]:
        """Give ``project_id`` access to a flavor (``FlavorAccessExists``)."""
        return self.db.flavor_access_add(flavor_id, project_id)

    def flavor_access_remove(self, ctxt: Any, flavor_id: str, project_id: str) -> list[str]:
        """Take the access of ``project_id`` to a flavor (``FlavorAccessNotFound``)."""
        return self.db.flavor_access_remove(flavor_id, project_id)

    # -- server groups ----------------------------------------------------------------------

    def _live_members(self, group: dict[str, Any]) -> dict[str, Any]:
        live = []
        for uuid in group.get("members") or []:
            try:
                self.db.instance_get(uuid)
            except exception.InstanceNotFound:
                continue
            live.append(uuid)
        return dict(group, members=live)

    def server_group_list(self, ctxt: Any, all_projects: bool = False) -> list[dict[str, Any]]:
        """The caller's project's server groups (every project's with ``all_projects``),
        each with its live members."""
        project_id = None if all_projects else ctxt.project_id
        return [self._live_members(g) for g in self.db.server_group_get_all(project_id)]

    def server_group_get(self, ctxt: Any, group_uuid: str) -> dict[str, Any]:
        """A server group with its live members (``ServerGroupNotFound``)."""
        return self._live_members(self.db.server_group_get(group_uuid))

    def server_group_create(self, ctxt: Any, name: str, policy: str,
                            rules: dict[str, Any]) -> dict[str, Any]:
        """A new server group of the caller's project and user."""
        return self.db.server_group_create({
            "name": name, "policy": policy, "rules": rules, "project_id": ctxt.project_id,
            "user_id": ctxt.user_id})

    def server_group_delete(self, ctxt: Any, group_uuid: str) -> None:
        """Delete a server group (``ServerGroupNotFound``); its servers stay."""
        self.db.server_group_delete(group_uuid)

    def flavor_create(self, ctxt: Any, values: dict[str, Any]) -> dict[str, Any]:
        """A new flavor from database ``values`` (``FlavorExists`` on a taken name or id)."""
        return self.db.flavor_create(values)

    def flavor_delete(self, ctxt: Any, flavor_id: str) -> None:
        """Delete a flavor by API id (``FlavorNotFound``); servers keep their copy."""
        self.db.flavor_destroy(flavor_id)

    def image_list(self, ctxt: Any) -> list[dict[str, Any]]:
        """The images of the image service (Glance-v2-shaped records)."""
        return self.image_api.list()

    def image_get(self, ctxt: Any, image_id: str) -> dict[str, Any]:
        """One image by id or (built-in images) name (``ImageNotFound``), with the
        properties an admin set on a built-in one."""
        return self.image_api.show(image_id)

    def _active_image(self, image_ref: str) -> dict[str, Any]:
        """The image an ``imageRef`` names (an id or a URL ending in one);
        ``ImageNotFound``, or ``ImageNotActive`` (400) when it is not active."""
        image = self.image_api.get(image_catalogue.image_ref_from_href(image_ref))
        if image.get("status") != image_catalogue.ACTIVE:
            raise exception.ImageNotActive(image_id=image["id"])
        return image
