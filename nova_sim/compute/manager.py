"""The compute manager: what one compute host does with the instances sent to it.

Owns the compute service's RPC endpoint (``build_and_run_instance``,
``terminate_instance``, ``stop_instance``, ``start_instance``, ``reboot_instance``,
``pause_instance`` / ``unpause_instance``, ``suspend_instance`` / ``resume_instance``,
``rescue_instance`` / ``unrescue_instance``, ``snapshot_instance``, ``backup_instance``,
``rebuild_instance``, ``shelve_instance``, ``shelve_offload_instance``,
``unshelve_instance``, ``inject_network_info``, the resize steps ``prep_resize``,
``resize_instance``, ``finish_resize``, ``confirm_resize``, ``revert_resize`` and
``finish_revert_resize``, and the one call ``get_console_output``), its periodic tasks
(``update_available_resource`` every 60 s, ``_sync_power_states`` every 600 s,
``_poll_shelved_instances`` every 3600 s, and the cheap 60 s checks) and ``init_host``. It
follows ``nova/compute/manager.py`` of the eventlet era:

* Every RPC method is a cast. ``build_and_run_instance`` returns at once: the build runs on
  its own greenthread (``spawn_n`` on the service's GreenPool, as ``utils.spawn_n``), under
  the per-instance lock and then ``_build_semaphore`` (``max_concurrent_builds``).
* A build moves the instance through Nova's states, each an instance save:
  ``task_state`` scheduling -> None (``vm_state`` building) -> networking ->
  block_device_mapping -> spawning -> ``vm_state`` active / ``task_state`` None /
  ``power_state`` RUNNING with ``launched_at`` set.
* A failed spawn is a reschedule: the claim is aborted, the allocation freed, the
  instance's host cleared and ``task_state`` set back to scheduling, and
  ``build_instances`` is cast back to the conductor with the remaining alternates.
* The compute never touches the database: every save, lookup, action event, fault and
  resource report is an RPC call to the conductor (``self.conductor_api``).

Must not know about the database, the scheduler or the REST API.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import traceback
from typing import Any, Callable, Iterator

import nova_sim.conf
from nova_sim import context as nova_context
from nova_sim import exception, green, periodic, rpc, trace
from nova_sim.compute import power_state, task_states, vm_states
from nova_sim.compute import rpcapi as compute_rpcapi
from nova_sim.compute.resource_tracker import ResourceTracker
from nova_sim.conductor import rpcapi as conductor_rpcapi
from nova_sim.db.api import format_timestamp, parse_timestamp  # pure functions: no DB access
from nova_sim.green.costs import hooks as costs
from nova_sim.virt.fake import FakeDriver

LOG = logging.getLogger(__name__)

#: The system metadata a shelve records (Nova's ``remove_shelved_keys_from_system_metadata``)
SHELVE_KEYS = ("shelved_at", "shelved_image_id", "shelved_host")



def _utcnow() -> str:
    """Now on the hub's clock, as the database writes timestamps."""
    return format_timestamp(green.wallclock())


class _Unlimited:
    """The build semaphore when ``max_concurrent_builds`` is 0 (no limit)."""

    def __enter__(self) -> _Unlimited:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        return None


class InstanceLocks:
    """Per-instance green locks (Nova's ``utils.synchronized(instance.uuid)``): FIFO,
    created on first use and dropped when nobody holds or waits for them.

    ``with locks.lock(uuid):`` holds the lock named ``uuid`` for the block.
    """

    def __init__(self) -> None:
        self._locks: dict[str, _NamedLock] = {}

    def lock(self, name: str) -> _NamedLock:
        """The lock named ``name`` (a context manager)."""
        lock = self._locks.get(name)
        if lock is None:
            lock = self._locks[name] = _NamedLock(self._locks, name)
        return lock


class _NamedLock:
    """One entry of ``InstanceLocks``: a Semaphore(1) that removes itself when unused."""

    __slots__ = ("_registry", "_name", "_semaphore", "_users")

    def __init__(self, registry: dict[str, _NamedLock], name: str):
        self._registry = registry
        self._name = name
        self._semaphore = green.Semaphore(1)
        self._users = 0

    def __enter__(self) -> _NamedLock:
        self._users += 1
        try:
            self._semaphore.acquire()
        except BaseException:
            self._leave()
            raise
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._semaphore.release()
        self._leave()

    def _leave(self) -> None:
        self._users -= 1
        if not self._users and self._registry.get(self._name) is self:
            del self._registry[self._name]


def _instance_lock(function: Callable) -> Callable:
    """Run a manager method ``(self, ctxt, instance, ...)`` under the instance's lock."""

    @functools.wraps(function)
    def wrapper(self, ctxt, instance, *args, **kwargs):
        with self._locks.lock(instance["uuid"]):
            return function(self, ctxt, instance, *args, **kwargs)

    return wrapper


class ComputeManager(periodic.PeriodicTasks):
    """The RPC endpoint and periodic tasks of one compute service (host ``host``).

    ``transport``: the RPC transport to reach the conductor; ``driver``: the hypervisor
    (a ``FakeDriver`` for ``host`` made from ``conf`` by default).
    """

    target = rpc.Target(version="6.0")

    def __init__(self, host: str, conf: Any, transport: Any, driver: Any = None):
        super().__init__()
        self.host = host
        self.conf = conf = conf if conf is not None else nova_sim.conf.CONF
        self.driver = driver if driver is not None else FakeDriver(conf, host)
        self.conductor_api = conductor_rpcapi.ConductorAPI(transport, conf)
        self.compute_task_api = conductor_rpcapi.ComputeTaskAPI(transport, conf)
        #: casts to other computes (a resize's source and destination talk directly)
        self.compute_rpcapi = compute_rpcapi.ComputeAPI(transport, conf)
        from nova_sim.scheduler.rpcapi import SchedulerAPI

        self.scheduler_api = SchedulerAPI(transport, conf)
        builds = conf.max_concurrent_builds
        self._build_semaphore = green.Semaphore(builds) if builds > 0 else _Unlimited()
        self._sync_power_pool = green.GreenPool(
            conf.sync_power_state_pool_size
        )
        #: the service's pool behind ``utils.spawn_n`` (one per service, as in Nova where
        #: each service is its own process)
        self._pool = green.GreenPool(conf.default_green_pool_size)
        self._locks = InstanceLocks()
        self.rt = ResourceTracker(host, self.driver, self.conductor_api, conf)
        self.additional_endpoints: list[Any] = []
        self.service_ref: dict[str, Any] | None = None
        self.set_periodic_spacing(
            "update_available_resource", conf.update_resources_interval
        )
        self.set_periodic_spacing(
            "_sync_power_states", conf.sync_power_state_interval
        )
        self.set_periodic_spacing("_poll_shelved_instances", conf.shelved_poll_interval)

    # -- service hooks ---------------------------------------------------------------------

    def init_host(self, service_ref: dict[str, Any] | None = None) -> None:
        """Start-up: reconcile what the database says about this host with the driver.

        Guests the database no longer has are destroyed; instances caught mid-build or
        mid-rebuild go to ERROR; a snapshot or backup in flight loses its task (its image
        stays queued or saving, as in Nova); a delete, stop, start or reboot that was in
        flight is finished; an instance
        the database has but the (fake, in-memory) hypervisor lost with the last process is
        adopted with its recorded power state (a real hypervisor keeps its guests across a
        compute restart).
        """
        self.service_ref = service_ref
        if service_ref is not None:
            self.rt.service_id = service_ref.get("id")
        self.driver.init_host(self.host)
        ctxt = nova_context.get_admin_context()
        with trace.span("compute.init_host", host=self.host):
            instances = self.conductor_api.instance_get_all_by_host(ctxt, self.host)
            known = {instance["uuid"] for instance in instances}
            for uuid in self.driver.list_instance_uuids():
                if uuid not in known:
                    LOG.info("Destroying guest %s the database no longer has", uuid)
                    self.driver.destroy(ctxt, {"uuid": uuid})
            for instance in instances:
                try:
                    self._init_instance(ctxt, instance)
                except Exception:
                    LOG.exception("Failed to initialise instance %s", instance["uuid"])

    def _init_instance(self, ctxt: Any, instance: dict[str, Any]) -> None:
        task = instance.get("task_state")
        vm_state = instance.get("vm_state")
        if vm_state == vm_states.BUILDING or task in (
            task_states.SCHEDULING, task_states.NETWORKING,
            task_states.BLOCK_DEVICE_MAPPING, task_states.SPAWNING,
        ):
            LOG.warning("Instance %s was building when the compute stopped", instance["uuid"])
            self._set_error(ctxt, instance, "Instance was in BUILD at compute startup")
            return
        if task == task_states.DELETING:
            self._delete_instance(ctxt, instance)
            return
        if task in (task_states.REBUILDING, task_states.REBUILD_BLOCK_DEVICE_MAPPING,
                    task_states.REBUILD_SPAWNING):
            self._set_error(ctxt, instance, "Instance was rebuilding at compute startup")
            return
        if vm_state != vm_states.ERROR and task in (
            task_states.IMAGE_SNAPSHOT_PENDING, task_states.IMAGE_SNAPSHOT,
            task_states.IMAGE_PENDING_UPLOAD, task_states.IMAGE_UPLOADING,
            task_states.IMAGE_BACKUP,
        ):
            LOG.info("Instance %s was %s at compute startup; clearing the task",
                     instance["uuid"], task)
            self._save(ctxt, instance, {"task_state": None})
        if not self.driver.instance_exists(instance) and vm_state in (
            vm_states.ACTIVE, vm_states.STOPPED, vm_states.ERROR, vm_states.PAUSED,
            vm_states.SUSPENDED, vm_states.RESCUED, vm_states.RESIZED, vm_states.SHELVED,
        ):
            self.driver.adopt(instance, instance.get("power_state") or power_state.NOSTATE)
        if task == task_states.POWERING_OFF:
            self._do_stop(ctxt, instance)
        elif task == task_states.POWERING_ON:
            self._do_start(ctxt, instance)
        elif task in task_states.HARD_REBOOT_ALLOWED and task is not None:
            hard = task in (task_states.REBOOTING_HARD, task_states.REBOOT_PENDING_HARD,
                            task_states.REBOOT_STARTED_HARD)
            self._do_reboot(ctxt, instance, "HARD" if hard else "SOFT", expected=[task])

    def pre_start_hook(self) -> None:
        """Before the RPC server starts: report the hypervisor's inventory once, so the
        scheduler can place instances here right away (Nova does the same)."""
        ctxt = nova_context.get_admin_context()
        for nodename in self.driver.get_available_nodes():
            self.rt.update_available_resource(ctxt, nodename)

    def post_start_hook(self) -> None:
        """After the RPC server started (nothing to do)."""

    def graceful_shutdown(self, timeout: float | None) -> bool:
        """Wait until builds and other operations in flight finish; ``False`` if
        ``timeout`` seconds passed first (they are left running)."""
        with green.Timeout(timeout, False):
            self._pool.waitall()
            return True
        return False

    def cleanup_host(self) -> None:
        """When the service stops (the hypervisor keeps its guests)."""

    def spawn_n(self, function: Callable, *args: Any, **kwargs: Any) -> None:
        """``utils.spawn_n``: run ``function`` on the service's pool with the caller's
        context (blocks while the pool is full)."""
        if costs.work is not None:  # the cost model charges the greenthread's CPU
            self._pool.spawn_n(self._charged, function, *args, **kwargs)
            return
        self._pool.spawn_n(function, *args, **kwargs)

    def _charged(self, function: Callable, /, *args: Any, **kwargs: Any) -> None:
        work = costs.work
        if work is not None:
            work(self, "spawn", function.__name__)
        function(*args, **kwargs)

    # -- helpers ---------------------------------------------------------------------------

    def _save(self, ctxt: Any, instance: dict[str, Any], updates: dict[str, Any],
              expected_task_state: Any = None) -> dict[str, Any]:
        """Save ``updates`` through the conductor (and say so in the trace)."""
        self.conductor_api.instance_save(
            ctxt, instance, updates, expected_task_state=expected_task_state
        )
        if "vm_state" in updates or "task_state" in updates or "power_state" in updates:
            trace.event(
                "instance.state", instance_uuid=instance["uuid"],
                vm_state=instance.get("vm_state"), task_state=instance.get("task_state"),
                power_state=instance.get("power_state"),
            )
        return instance

    @contextlib.contextmanager
    def _instance_event(self, ctxt: Any, instance: dict[str, Any], name: str) -> Iterator[None]:
        """Nova's ``wrap_instance_event``: an action event around the work, finished with
        Success, or Error when the work raised (failures to record are logged only)."""
        event = f"compute_{name}"
        self._start_event(ctxt, instance, event)
        try:
            yield
        except Exception:
            self._finish_event(ctxt, instance, event, "Error", traceback.format_exc())
            raise
        self._finish_event(ctxt, instance, event, "Success", None)

    def _start_event(self, ctxt: Any, instance: dict[str, Any], event: str) -> None:
        try:
            self.conductor_api.action_event_start(ctxt, instance["uuid"], event, self.host)
        except Exception:
            LOG.debug("Could not record event %s of %s", event, instance["uuid"], exc_info=True)

    def _finish_event(self, ctxt: Any, instance: dict[str, Any], event: str, result: str,
                      tb: str | None) -> None:
        try:
            self.conductor_api.action_event_finish(ctxt, instance["uuid"], event, result, tb)
        except Exception:
            LOG.debug("Could not finish event %s of %s", event, instance["uuid"], exc_info=True)

    def _add_fault(self, ctxt: Any, instance: dict[str, Any], error: BaseException) -> bool:
        """Record ``error`` as the instance's fault; False when the conductor could not
        be reached (logged at debug)."""
        code = getattr(error, "code", 500)
        message = (
            error.format_message() if isinstance(error, exception.NovaException) else str(error)
        ) or type(error).__name__
        try:
            self.conductor_api.instance_fault_create(
                ctxt, instance["uuid"], code, message[:255],
                details="".join(traceback.format_exception(type(error), error,
                                                           error.__traceback__)),
                host=self.host,
            )
        except Exception:
            LOG.debug("Could not record fault of %s", instance["uuid"], exc_info=True)
            return False
        return True

    def _set_error(self, ctxt: Any, instance: dict[str, Any], reason: str | None = None,
                   error: BaseException | None = None, clear_host: bool = False) -> None:
        """ERROR with a fault; ``clear_host`` for a failed build (Nova's
        ``_nil_out_instance_obj_host_and_node``: the instance uses nothing here).

        A fault that could not be recorded (the conductor did not answer in time) is
        recorded again once the ERROR save went through: an ERROR always says why."""
        fault_recorded = error is None or self._add_fault(ctxt, instance, error)
        updates: dict[str, Any] = {"vm_state": vm_states.ERROR, "task_state": None}
        if clear_host:
            updates.update(host=None, node=None)
        try:
            self._save(ctxt, instance, updates)
        except (exception.InstanceNotFound, exception.UnexpectedTaskStateError):
            LOG.debug("Instance %s vanished before it could be set to ERROR", instance["uuid"])
        else:
            if not fault_recorded:
                self._add_fault(ctxt, instance, error)
        if reason:
            LOG.warning("Instance %s set to ERROR: %s", instance["uuid"], reason)

    def _node_uuid(self, nodename: str | None) -> str | None:
        node = self.rt.compute_nodes.get(nodename or self.host)
        return node.get("uuid") if node else None

    @staticmethod
    def _deleting(error: BaseException) -> bool:
        """Whether a failed save means the instance is being (or was) deleted."""
        if isinstance(error, exception.InstanceNotFound):
            return True
        return isinstance(error, exception.UnexpectedTaskStateError) and (
            error.kwargs.get("actual") in (task_states.DELETING, task_states.SOFT_DELETING)
        )

    # -- build -----------------------------------------------------------------------------

    def build_and_run_instance(
        self,
        ctxt: Any,
        instance: dict[str, Any],
        image: dict[str, Any] | None = None,
        request_spec: dict[str, Any] | None = None,
        filter_properties: dict[str, Any] | None = None,
        admin_password: str | None = None,
        injected_files: Any = None,
        requested_networks: Any = None,
        security_groups: Any = None,
        block_device_mapping: Any = None,
        node: str | None = None,
        limits: dict[str, Any] | None = None,
        host_list: list[dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        """RPC cast: build ``instance`` here. Returns at once; the build runs on its own
        greenthread under the instance lock and the build semaphore."""
        build = {
            "image": image, "request_spec": request_spec,
            "filter_properties": filter_properties or {}, "admin_password": admin_password,
            "injected_files": injected_files, "requested_networks": requested_networks,
            "security_groups": security_groups,
            "block_device_mapping": block_device_mapping,
            "node": node or self.host, "limits": limits, "host_list": host_list or [],
        }
        self.spawn_n(self._locked_do_build_and_run_instance, ctxt, instance, build)

    def _locked_do_build_and_run_instance(
        self, ctxt: Any, instance: dict[str, Any], build: dict[str, Any]
    ) -> None:
        with self._locks.lock(instance["uuid"]), self._build_semaphore:
            try:
                self._do_build_and_run_instance(ctxt, instance, build)
            except Exception:
                LOG.exception("Unexpected build failure of %s", instance["uuid"])

    def _do_build_and_run_instance(
        self, ctxt: Any, instance: dict[str, Any], build: dict[str, Any]
    ) -> str:
        uuid = instance["uuid"]
        event = "compute__do_build_and_run_instance"
        with trace.span("compute.build_and_run_instance", instance_uuid=uuid, host=self.host):
            self._start_event(ctxt, instance, event)
            result, tb = "Error", None
            try:
                outcome = self._build_or_reschedule(ctxt, instance, build)
            except Exception:
                outcome, tb = "failed", traceback.format_exc()
            if outcome in ("active", "deleted"):
                result = "Success"
            node = build.get("node") or self.host
            if outcome == "active":
                self.rt.build_succeeded(node)
            elif outcome != "deleted":
                # failed or rescheduled: as Nova's _build_failed, for the weigher
                try:
                    self.rt.build_failed(ctxt, node)
                except Exception:
                    LOG.exception("Could not report the failed build on %s", node)
            self._finish_event(ctxt, instance, event, result, tb)
            return outcome

    def _build_or_reschedule(
        self, ctxt: Any, instance: dict[str, Any], build: dict[str, Any]
    ) -> str:
        uuid = instance["uuid"]
        node = build["node"]
        try:
            self._save(
                ctxt, instance, {"vm_state": vm_states.BUILDING, "task_state": None},
                expected_task_state=[task_states.SCHEDULING, None],
            )
        except (exception.InstanceNotFound, exception.UnexpectedTaskStateError) as error:
            LOG.debug("Instance %s was deleted before its build: %s", uuid, error)
            self._free_allocation(ctxt, uuid, node)
            return "deleted"
        try:
            self._build_and_run_instance(ctxt, instance, build)
            LOG.info("Instance %s built on %s", uuid, self.host)
            self._update_scheduler_instance_info(ctxt, instance)
            return "active"
        except exception.RescheduledException as error:
            return self._reschedule(ctxt, instance, build, error)
        except (exception.InstanceNotFound, exception.UnexpectedTaskStateError) as error:
            if self._deleting(error):
                LOG.info("Instance %s was deleted during its build", uuid)
                self._free_allocation(ctxt, uuid, node)
                return "deleted"
            self._set_error(ctxt, instance, str(error), error, clear_host=True)
            self._free_allocation(ctxt, uuid, node)
            raise
        except Exception as error:
            LOG.exception("Build of instance %s failed", uuid)
            self._set_error(ctxt, instance, str(error), error, clear_host=True)
            self._free_allocation(ctxt, uuid, node)
            raise

    def _build_and_run_instance(
        self, ctxt: Any, instance: dict[str, Any], build: dict[str, Any]
    ) -> None:
        uuid = instance["uuid"]
        node = build["node"]
        with self.rt.instance_claim(ctxt, instance, node, build["limits"]):
            try:
                with trace.span("compute.build_resources", instance_uuid=uuid):
                    self._save(
                        ctxt, instance,
                        {"vm_state": vm_states.BUILDING, "task_state": task_states.NETWORKING},
                        expected_task_state=[None],
                    )
                    network_info = self.driver.allocate_network(instance)
                    self._save(
                        ctxt, instance,
                        {"task_state": task_states.BLOCK_DEVICE_MAPPING},
                        expected_task_state=[task_states.NETWORKING],
                    )
                self._save(
                    ctxt, instance, {"task_state": task_states.SPAWNING},
                    expected_task_state=[task_states.BLOCK_DEVICE_MAPPING],
                )
                self.driver.spawn(
                    ctxt, instance, build["image"], build["injected_files"],
                    build["admin_password"], None, network_info,
                )
            except (exception.InstanceNotFound, exception.UnexpectedTaskStateError) as error:
                self.driver.destroy(ctxt, instance)
                if self._deleting(error):
                    raise
                raise exception.RescheduledException(instance_uuid=uuid, reason=str(error))
            except Exception as error:
                LOG.warning("Spawn of %s on %s failed: %s", uuid, self.host, error)
                self._add_fault(ctxt, instance, error)
                self.driver.destroy(ctxt, instance)
                raise exception.RescheduledException(
                    instance_uuid=uuid, reason=str(error)
                ) from error
            try:
                self._save(
                    ctxt, instance,
                    {
                        "power_state": self.driver.get_info(instance).state,
                        "vm_state": vm_states.ACTIVE,
                        "task_state": None,
                        "launched_at": _utcnow(),
                    },
                    expected_task_state=[task_states.SPAWNING],
                )
            except Exception:
                self.driver.destroy(ctxt, instance)
                raise

    def _reschedule(
        self, ctxt: Any, instance: dict[str, Any], build: dict[str, Any],
        error: exception.RescheduledException,
    ) -> str:
        """Send a failed build back to the conductor for the next alternate host."""
        uuid = instance["uuid"]
        filter_properties = build["filter_properties"]
        self._free_allocation(ctxt, uuid, build["node"])
        if not filter_properties.get("retry"):
            # max_attempts == 1: no rescheduling, as Nova does without retry info
            self._set_error(ctxt, instance, error.format_message(), error, clear_host=True)
            raise error
        LOG.info("Rescheduling instance %s from %s: %s", uuid, self.host, error)
        try:
            self._save(
                ctxt, instance,
                {"host": None, "node": None, "task_state": task_states.SCHEDULING},
            )
        except (exception.InstanceNotFound, exception.UnexpectedTaskStateError):
            return "deleted"
        with trace.span("compute.reschedule", instance_uuid=uuid, host=self.host):
            self.compute_task_api.build_instances(
                ctxt, [instance], build["image"], filter_properties,
                admin_password=build["admin_password"],
                injected_files=build["injected_files"],
                requested_networks=build["requested_networks"],
                security_groups=build["security_groups"],
                block_device_mapping=build["block_device_mapping"],
                request_spec=build["request_spec"], host_lists=[build["host_list"]],
            )
        return "rescheduled"

    def _update_scheduler_instance_info(self, ctxt: Any, instance: dict[str, Any]) -> None:
        """Tell the schedulers (fanout cast) that the instance is now here, as Nova does
        with ``[filter_scheduler] track_instance_changes`` (default on)."""
        try:
            self.scheduler_api.update_instance_info(ctxt, self.host, [instance["uuid"]])
        except Exception:
            LOG.debug("Could not update the schedulers' instance info", exc_info=True)

    def _delete_scheduler_instance_info(self, ctxt: Any, instance_uuid: str) -> None:
        try:
            self.scheduler_api.delete_instance_info(ctxt, self.host, instance_uuid)
        except Exception:
            LOG.debug("Could not update the schedulers' instance info", exc_info=True)

    def _free_allocation(self, ctxt: Any, instance_uuid: str, nodename: str | None) -> None:
        """Delete the instance's allocation on this host's provider (placement)."""
        try:
            self.conductor_api.remove_allocations(
                ctxt, instance_uuid, self._node_uuid(nodename)
            )
        except Exception:
            LOG.exception("Could not free the allocation of %s", instance_uuid)

    # -- delete ----------------------------------------------------------------------------

    def terminate_instance(self, ctxt: Any, instance: dict[str, Any], bdms: Any = None,
                           **kwargs: Any) -> None:
        """RPC cast: destroy the guest, free the resources and soft-delete the record."""
        self.spawn_n(self._do_terminate_instance, ctxt, instance)

    @_instance_lock
    def _do_terminate_instance(self, ctxt: Any, instance: dict[str, Any]) -> None:
        with trace.span("compute.terminate_instance", instance_uuid=instance["uuid"]):
            try:
                with self._instance_event(ctxt, instance, "terminate_instance"):
                    self._delete_instance(ctxt, instance)
            except exception.InstanceNotFound:
                LOG.info("Instance %s was already deleted", instance["uuid"])
            except Exception as error:
                LOG.exception("Delete of %s failed", instance["uuid"])
                self._set_error(ctxt, instance, str(error), error)

    def _delete_instance(self, ctxt: Any, instance: dict[str, Any]) -> None:
        self.driver.destroy(ctxt, instance)
        self._save(
            ctxt, instance,
            {
                "vm_state": vm_states.DELETED, "task_state": None,
                "power_state": power_state.NOSTATE, "terminated_at": _utcnow(),
            },
        )
        self.conductor_api.instance_destroy(ctxt, instance)
        self.rt.update_usage_for_deleted(ctxt, instance)
        self.conductor_api.remove_allocations(ctxt, instance["uuid"])
        self._delete_scheduler_instance_info(ctxt, instance["uuid"])

    # -- power -----------------------------------------------------------------------------

    def stop_instance(self, ctxt: Any, instance: dict[str, Any], clean_shutdown: bool = True,
                      **kwargs: Any) -> None:
        """RPC cast: power off (``powering-off`` -> ``stopped``, power SHUTDOWN)."""
        self.spawn_n(self._locked_stop, ctxt, instance)

    @_instance_lock
    def _locked_stop(self, ctxt: Any, instance: dict[str, Any]) -> None:
        with trace.span("compute.stop_instance", instance_uuid=instance["uuid"]):
            self._guarded(ctxt, instance, "stop_instance", self._do_stop)

    def _do_stop(self, ctxt: Any, instance: dict[str, Any]) -> None:
        self.driver.power_off(instance)
        self._save(
            ctxt, instance,
            {
                "power_state": self.driver.get_info(instance).state,
                "vm_state": vm_states.STOPPED, "task_state": None,
            },
            expected_task_state=[task_states.POWERING_OFF],
        )

    def start_instance(self, ctxt: Any, instance: dict[str, Any], **kwargs: Any) -> None:
        """RPC cast: power on (``powering-on`` -> ``active``, power RUNNING)."""
        self.spawn_n(self._locked_start, ctxt, instance)

    @_instance_lock
    def _locked_start(self, ctxt: Any, instance: dict[str, Any]) -> None:
        with trace.span("compute.start_instance", instance_uuid=instance["uuid"]):
            self._guarded(ctxt, instance, "start_instance", self._do_start)

    def _do_start(self, ctxt: Any, instance: dict[str, Any]) -> None:
        self.driver.power_on(ctxt, instance)
        updates: dict[str, Any] = {
            "power_state": self.driver.get_info(instance).state,
            "vm_state": vm_states.ACTIVE, "task_state": None,
        }
        # A shelved instance unshelved where it is: its snapshot and shelve keys go
        system_metadata = dict(instance.get("system_metadata") or {})
        shelved_image = system_metadata.get("shelved_image_id")
        if any(key in system_metadata for key in SHELVE_KEYS):
            for key in SHELVE_KEYS:
                system_metadata.pop(key, None)
            updates["system_metadata"] = system_metadata
        self._save(ctxt, instance, updates, expected_task_state=[task_states.POWERING_ON])
        self._delete_image_quietly(ctxt, shelved_image)

    def reboot_instance(self, ctxt: Any, instance: dict[str, Any], block_device_info: Any = None,
                        reboot_type: str = "SOFT", **kwargs: Any) -> None:
        """RPC cast: reboot. SOFT: rebooting -> reboot_pending -> reboot_started -> active;
        HARD: the ``_hard`` states."""
        self.spawn_n(self._locked_reboot, ctxt, instance, reboot_type)

    @_instance_lock
    def _locked_reboot(self, ctxt: Any, instance: dict[str, Any], reboot_type: str) -> None:
        with trace.span("compute.reboot_instance", instance_uuid=instance["uuid"],
                        type=reboot_type):
            self._guarded(
                ctxt, instance, "reboot_instance",
                lambda c, i: self._do_reboot(c, i, reboot_type),
            )

    def _do_reboot(self, ctxt: Any, instance: dict[str, Any], reboot_type: str,
                   expected: list[Any] | None = None) -> None:
        if reboot_type == "SOFT":
            pending, started = task_states.REBOOT_PENDING, task_states.REBOOT_STARTED
            allowed = [task_states.REBOOTING, pending, started]
        else:
            pending = task_states.REBOOT_PENDING_HARD
            started = task_states.REBOOT_STARTED_HARD
            allowed = [task_states.REBOOTING_HARD, pending, started]
        self._save(ctxt, instance, {"task_state": pending},
                   expected_task_state=expected or allowed)
        self._save(ctxt, instance, {"task_state": started}, expected_task_state=[pending])
        self.driver.reboot(ctxt, instance, None, reboot_type)
        # Expecting reboot_started[_hard] (Nova expects nothing here) lets a hard reboot
        # that overtook a soft one win: the soft one then ends quietly.
        self._save(
            ctxt, instance,
            {
                "power_state": self.driver.get_info(instance).state,
                "vm_state": vm_states.ACTIVE, "task_state": None,
            },
            expected_task_state=[started],
        )

    def _guarded(self, ctxt: Any, instance: dict[str, Any], name: str,
                 operation: Callable[[Any, dict[str, Any]], None]) -> None:
        """Run a power operation with its action event. Another operation that overtook
        it (a delete, a hard reboot over a soft one: the expected task state is gone) ends
        it quietly, leaving the state to the newer operation, as Nova's
        ``reverts_task_state`` does; any other failure sets ERROR with a fault."""
        try:
            with self._instance_event(ctxt, instance, name):
                operation(ctxt, instance)
        except (exception.InstanceNotFound, exception.UnexpectedTaskStateError) as error:
            # Nova's reverts_task_state says "Task possibly preempted" at info: a user
            # deleting during a reboot is no fault (the message, not the remote traceback)
            LOG.info("%s of %s possibly preempted: %s", name, instance["uuid"],
                     error.format_message())
        except Exception as error:
            LOG.exception("%s of %s failed", name, instance["uuid"])
            self._set_error(ctxt, instance, str(error), error)

    # -- pause, suspend, rescue ------------------------------------------------------------

    def _simple_action(self, ctxt: Any, instance: dict[str, Any], name: str,
                       operation: Callable[[Any, dict[str, Any]], None]) -> None:
        """Run ``operation`` on the service's pool under the instance's lock, in a span
        and with its action event (``compute_<name>``)."""
        def run() -> None:
            with self._locks.lock(instance["uuid"]), trace.span(
                    f"compute.{name}", instance_uuid=instance["uuid"]):
                self._guarded(ctxt, instance, name, operation)

        self.spawn_n(run)

    def _finish_power_action(self, ctxt: Any, instance: dict[str, Any], vm_state: str,
                             expected: str, **extra: Any) -> None:
        self._save(
            ctxt, instance,
            {"power_state": self.driver.get_info(instance).state, "vm_state": vm_state,
             "task_state": None, **extra},
            expected_task_state=[expected],
        )

    def pause_instance(self, ctxt: Any, instance: dict[str, Any], **kwargs: Any) -> None:
        """RPC cast: pause (``pausing`` -> ``paused``, power PAUSED)."""
        def pause(c: Any, i: dict[str, Any]) -> None:
            self.driver.pause(i)
            self._finish_power_action(c, i, vm_states.PAUSED, task_states.PAUSING)

        self._simple_action(ctxt, instance, "pause_instance", pause)

    def unpause_instance(self, ctxt: Any, instance: dict[str, Any], **kwargs: Any) -> None:
        """RPC cast: unpause (``unpausing`` -> ``active``, power RUNNING)."""
        def unpause(c: Any, i: dict[str, Any]) -> None:
            self.driver.unpause(i)
            self._finish_power_action(c, i, vm_states.ACTIVE, task_states.UNPAUSING)

        self._simple_action(ctxt, instance, "unpause_instance", unpause)

    def suspend_instance(self, ctxt: Any, instance: dict[str, Any], **kwargs: Any) -> None:
        """RPC cast: suspend (``suspending`` -> ``suspended``, power SUSPENDED)."""
        def suspend(c: Any, i: dict[str, Any]) -> None:
            self.driver.suspend(c, i)
            self._finish_power_action(c, i, vm_states.SUSPENDED, task_states.SUSPENDING)

        self._simple_action(ctxt, instance, "suspend_instance", suspend)

    def resume_instance(self, ctxt: Any, instance: dict[str, Any], **kwargs: Any) -> None:
        """RPC cast: resume (``resuming`` -> ``active``, power RUNNING)."""
        def resume(c: Any, i: dict[str, Any]) -> None:
            self.driver.resume(c, i)
            self._finish_power_action(c, i, vm_states.ACTIVE, task_states.RESUMING)

        self._simple_action(ctxt, instance, "resume_instance", resume)

    def rescue_instance(self, ctxt: Any, instance: dict[str, Any],
                        rescue_password: str | None = None,
                        rescue_image_ref: str | None = None, clean_shutdown: bool = True,
                        **kwargs: Any) -> None:
        """RPC cast: rescue (``rescuing`` -> ``rescued``, power RUNNING, ``launched_at``
        now): the guest is powered off and booted from the rescue image."""
        def rescue(c: Any, i: dict[str, Any]) -> None:
            self.driver.power_off(i)
            self.driver.rescue(c, i, None, rescue_image_ref, rescue_password)
            self._finish_power_action(c, i, vm_states.RESCUED, task_states.RESCUING,
                                      launched_at=_utcnow())

        self._simple_action(ctxt, instance, "rescue_instance", rescue)

    def unrescue_instance(self, ctxt: Any, instance: dict[str, Any], **kwargs: Any) -> None:
        """RPC cast: unrescue (``unrescuing`` -> ``active``, power RUNNING)."""
        def unrescue(c: Any, i: dict[str, Any]) -> None:
            self.driver.unrescue(c, i)
            self._finish_power_action(c, i, vm_states.ACTIVE, task_states.UNRESCUING)

        self._simple_action(ctxt, instance, "unrescue_instance", unrescue)

    # -- snapshots and backups -------------------------------------------------------------

    def snapshot_instance(self, ctxt: Any, instance: dict[str, Any], image_id: str,
                          **kwargs: Any) -> None:
        """RPC cast: snapshot into ``image_id``: ``image_snapshot_pending`` ->
        ``image_snapshot`` -> ``image_pending_upload`` -> ``image_uploading`` -> no task;
        the image goes ``saving`` -> ``active`` with its size."""
        def snapshot(c: Any, i: dict[str, Any]) -> None:
            try:
                self._save(c, i, {"task_state": task_states.IMAGE_SNAPSHOT},
                           expected_task_state=[task_states.IMAGE_SNAPSHOT_PENDING])
            except (exception.InstanceNotFound, exception.UnexpectedTaskStateError):
                self._delete_image_quietly(c, image_id)
                raise
            self._snapshot(c, i, image_id, task_states.IMAGE_SNAPSHOT)

        self._simple_action(ctxt, instance, "snapshot_instance", snapshot)

    def backup_instance(self, ctxt: Any, instance: dict[str, Any], image_id: str | None,
                        backup_type: str, rotation: int, **kwargs: Any) -> None:
        """RPC cast: a backup into ``image_id`` (task ``image_backup``, then as a
        snapshot), then the oldest backups of ``backup_type`` beyond ``rotation`` are
        deleted."""
        def backup(c: Any, i: dict[str, Any]) -> None:
            if image_id:
                self._snapshot(c, i, image_id, task_states.IMAGE_BACKUP)
            else:
                self._save(c, i, {"task_state": None},
                           expected_task_state=[task_states.IMAGE_BACKUP])
            self._rotate_backups(c, i, backup_type, rotation)

        self._simple_action(ctxt, instance, "backup_instance", backup)

    def _snapshot(self, ctxt: Any, instance: dict[str, Any], image_id: str,
                  expected: str) -> None:
        """Nova's ``_snapshot_instance``: the driver moves the task states and copies
        the disk; the image is then ``active``. A failure deletes the image."""
        def update_task_state(task_state: str, expected_state: str = expected) -> None:
            self._save(ctxt, instance, {"task_state": task_state},
                       expected_task_state=[expected_state])

        try:
            self.conductor_api.image_update(ctxt, image_id, {"status": "saving"})
            size = self.driver.snapshot(ctxt, instance, image_id, update_task_state)
            self.conductor_api.image_update(ctxt, image_id, {"status": "active",
                                                             "size": size})
            self._save(ctxt, instance, {"task_state": None},
                       expected_task_state=[task_states.IMAGE_UPLOADING])
        except exception.ImageNotFound:
            LOG.warning("Image %s not found during the snapshot of %s", image_id,
                        instance["uuid"])
            self._save(ctxt, instance, {"task_state": None})
        except Exception:
            self._delete_image_quietly(ctxt, image_id)
            if not self._deleting_now(ctxt, instance):
                with contextlib.suppress(Exception):
                    self._save(ctxt, instance, {"task_state": None})
            raise

    def _deleting_now(self, ctxt: Any, instance: dict[str, Any]) -> bool:
        return instance.get("task_state") in (task_states.DELETING,
                                              task_states.SOFT_DELETING)

    def _delete_image_quietly(self, ctxt: Any, image_id: str | None) -> None:
        if not image_id:
            return
        try:
            self.conductor_api.image_delete(ctxt, image_id)
        except exception.ImageNotFound:
            pass
        except Exception:
            LOG.debug("Could not delete image %s", image_id, exc_info=True)

    def _rotate_backups(self, ctxt: Any, instance: dict[str, Any], backup_type: str,
                        rotation: int) -> None:
        """Delete the oldest backups of the instance of ``backup_type`` beyond
        ``rotation`` (Nova's ``_rotate_backups``)."""
        backups = [
            image for image in self.conductor_api.image_get_all(ctxt)
            if image.get("properties", {}).get("image_type") == "backup"
            and image["properties"].get("backup_type") == backup_type
            and image["properties"].get("instance_uuid") == instance["uuid"]
        ]
        # oldest first: the image list is in creation order, and a stable sort keeps it
        # for backups made within the same second
        backups.sort(key=lambda image: image.get("created_at") or "")
        for image in backups[:max(len(backups) - max(rotation, 0), 0)]:
            LOG.info("Deleting backup image %s of %s (rotation %d)", image["id"],
                     instance["uuid"], rotation)
            self._delete_image_quietly(ctxt, image["id"])

    # -- rebuild ---------------------------------------------------------------------------

    def rebuild_instance(self, ctxt: Any, instance: dict[str, Any],
                         new_pass: str | None = None, image_ref: str | None = None,
                         **kwargs: Any) -> None:
        """RPC cast (from the conductor): rebuild from ``image_ref``: ``rebuilding``
        -> the guest destroyed -> ``rebuild_block_device_mapping`` ->
        ``rebuild_spawning`` (spawned again) -> ``active`` with a new ``launched_at``;
        an instance that was ``stopped`` is then powered off again (``powering-off`` ->
        ``stopped``), as Nova does."""
        def rebuild(c: Any, i: dict[str, Any]) -> None:
            original_vm_state = i.get("vm_state")
            self._save(c, i, {"power_state": self._power_state(i)},
                       expected_task_state=[task_states.REBUILDING])
            self.driver.destroy(c, i)
            self._save(c, i, {"task_state": task_states.REBUILD_BLOCK_DEVICE_MAPPING},
                       expected_task_state=[task_states.REBUILDING])
            self._save(c, i, {"task_state": task_states.REBUILD_SPAWNING},
                       expected_task_state=[task_states.REBUILD_BLOCK_DEVICE_MAPPING])
            self.driver.spawn(c, i, {"id": image_ref}, None, new_pass)
            self._save(c, i, {"power_state": self.driver.get_info(i).state,
                              "vm_state": vm_states.ACTIVE, "task_state": None,
                              "launched_at": _utcnow()},
                       expected_task_state=[task_states.REBUILD_SPAWNING])
            if original_vm_state == vm_states.STOPPED:
                LOG.info("Bringing %s back to its original state: stopped", i["uuid"])
                self._save(c, i, {"task_state": task_states.POWERING_OFF})
                self._do_stop(c, i)

        self._simple_action(ctxt, instance, "rebuild_instance", rebuild)

    def _power_state(self, instance: dict[str, Any]) -> int:
        try:
            return self.driver.get_info(instance).state
        except exception.InstanceNotFound:
            return power_state.NOSTATE

    # -- shelve ----------------------------------------------------------------------------

    def shelve_instance(self, ctxt: Any, instance: dict[str, Any], image_id: str | None,
                        clean_shutdown: bool = True, **kwargs: Any) -> None:
        """RPC cast: shelve: power off, ``shelving_image_pending_upload`` ->
        ``shelving_image_uploading`` (the image uploaded), ``shelved`` with
        ``shelved_at``, ``shelved_image_id`` and ``shelved_host`` in the system metadata;
        with ``shelved_offload_time = 0`` straight on to ``shelving_offloading`` and the
        offload."""
        def shelve(c: Any, i: dict[str, Any]) -> None:
            self.driver.power_off(i)

            def update_task_state(task_state: str, expected_state: str | None = None
                                  ) -> None:
                shelving = {task_states.IMAGE_PENDING_UPLOAD:
                            task_states.SHELVING_IMAGE_PENDING_UPLOAD,
                            task_states.IMAGE_UPLOADING: task_states.SHELVING_IMAGE_UPLOADING}
                expected = ([task_states.SHELVING] if expected_state is None
                            else [shelving[expected_state]])
                self._save(c, i, {"task_state": shelving[task_state]},
                           expected_task_state=expected)

            if image_id:
                self.conductor_api.image_update(c, image_id, {"status": "saving"})
                size = self.driver.snapshot(c, i, image_id, update_task_state)
                self.conductor_api.image_update(c, image_id, {"status": "active",
                                                              "size": size})
            system_metadata = dict(i.get("system_metadata") or {})
            system_metadata.update(shelved_at=_utcnow(), shelved_image_id=image_id,
                                   shelved_host=self.host)
            offload = self.conf.shelved_offload_time == 0
            self._save(c, i, {
                "system_metadata": system_metadata, "vm_state": vm_states.SHELVED,
                "task_state": task_states.SHELVING_OFFLOADING if offload else None,
                "power_state": self._power_state(i),
            }, expected_task_state=[task_states.SHELVING,
                                    task_states.SHELVING_IMAGE_UPLOADING])
            if offload:
                self._shelve_offload(c, i)

        self._simple_action(ctxt, instance, "shelve_instance", shelve)

    def shelve_offload_instance(self, ctxt: Any, instance: dict[str, Any],
                                clean_shutdown: bool = True, **kwargs: Any) -> None:
        """RPC cast: offload a shelved instance (``shelving_offloading`` ->
        ``shelved_offloaded``)."""
        self._simple_action(ctxt, instance, "shelve_offload_instance",
                            self._shelve_offload)

    def _shelve_offload(self, ctxt: Any, instance: dict[str, Any]) -> None:
        """Destroy the guest, clear host and node, free the allocation and the usage:
        ``shelved_offloaded``, power NOSTATE."""
        self.driver.destroy(ctxt, instance)
        node = instance.get("node") or self.host
        self._save(ctxt, instance, {
            "vm_state": vm_states.SHELVED_OFFLOADED, "task_state": None,
            "power_state": power_state.NOSTATE, "host": None, "node": None,
        }, expected_task_state=[task_states.SHELVING, task_states.SHELVING_OFFLOADING])
        self.rt.update_usage_for_deleted(ctxt, {"uuid": instance["uuid"], "node": node})
        self._free_allocation(ctxt, instance["uuid"], node)
        self._delete_scheduler_instance_info(ctxt, instance["uuid"])

    def unshelve_instance(self, ctxt: Any, instance: dict[str, Any],
                          image: dict[str, Any] | None = None,
                          filter_properties: dict[str, Any] | None = None,
                          node: str | None = None, request_spec: Any = None,
                          **kwargs: Any) -> None:
        """RPC cast (from the conductor, which scheduled it here): spawn an offloaded
        instance from its shelved image: ``unshelving`` -> ``spawning`` (host claimed)
        -> ``active``; the shelve keys leave the system metadata and the shelved image is
        deleted."""
        def unshelve(c: Any, i: dict[str, Any]) -> None:
            self._save(c, i, {"task_state": task_states.SPAWNING},
                       expected_task_state=[task_states.UNSHELVING])
            with self.rt.instance_claim(c, i, node or self.host):
                self.driver.allocate_network(i)
                self.driver.spawn(c, i, image, None, None)
            system_metadata = dict(i.get("system_metadata") or {})
            image_id = system_metadata.get("shelved_image_id")
            for key in SHELVE_KEYS:
                system_metadata.pop(key, None)
            self._save(c, i, {
                "power_state": self.driver.get_info(i).state, "vm_state": vm_states.ACTIVE,
                "task_state": None, "launched_at": _utcnow(),
                "system_metadata": system_metadata,
            }, expected_task_state=[task_states.SPAWNING])
            self._delete_image_quietly(c, image_id)
            self._update_scheduler_instance_info(c, i)

        self._simple_action(ctxt, instance, "unshelve_instance", unshelve)

    # -- resize and cold migration ---------------------------------------------------------

    @staticmethod
    def _flavor_fields(flavor: dict[str, Any]) -> dict[str, Any]:
        """The instance columns a flavor sets (the flavor snapshot and its sizes)."""
        return {"flavor": flavor, "instance_type_id": flavor.get("id"),
                **{key: flavor.get(key) for key in ("vcpus", "memory_mb", "root_gb",
                                                    "ephemeral_gb")}}

    def _save_migration(self, ctxt: Any, instance: dict[str, Any],
                        migration: dict[str, Any], status: str,
                        updates: dict[str, Any] | None = None,
                        expected_task_state: Any = None) -> None:
        """Save the migration's new ``status`` (in the system metadata) with
        ``updates``."""
        migration["status"] = status
        system_metadata = dict(instance.get("system_metadata") or {})
        system_metadata["migration"] = dict(migration)
        self._save(ctxt, instance, {"system_metadata": system_metadata, **(updates or {})},
                   expected_task_state=expected_task_state)

    def prep_resize(self, ctxt: Any, instance: dict[str, Any], flavor: dict[str, Any],
                    migration: dict[str, Any], node: str | None = None,
                    clean_shutdown: bool = True, **kwargs: Any) -> None:
        """RPC cast (from the conductor), on the destination: count the new flavor here
        and cast ``resize_instance`` to the source."""
        def prep(c: Any, i: dict[str, Any]) -> None:
            self.rt.track(c, i, flavor, node or self.host)
            self.compute_rpcapi.resize_instance(c, i, migration, flavor,
                                                clean_shutdown=clean_shutdown)

        self._simple_action(ctxt, instance, "prep_resize", prep)

    def resize_instance(self, ctxt: Any, instance: dict[str, Any],
                        migration: dict[str, Any], flavor: dict[str, Any],
                        clean_shutdown: bool = True, **kwargs: Any) -> None:
        """RPC cast, on the source: ``resize_migrating``, the guest powered off and its
        disk moved, ``resize_migrated`` with the destination as the instance's host, then
        ``finish_resize`` cast to the destination."""
        def resize(c: Any, i: dict[str, Any]) -> None:
            self._save_migration(c, i, migration, "migrating",
                                 {"task_state": task_states.RESIZE_MIGRATING},
                                 expected_task_state=[task_states.RESIZE_PREP])
            self.driver.migrate_disk_and_power_off(c, i, migration["dest_compute"], flavor)
            self._save_migration(c, i, migration, "post-migrating", {
                "task_state": task_states.RESIZE_MIGRATED,
                "host": migration["dest_compute"], "node": migration["dest_node"],
                "power_state": self._power_state(i),
            }, expected_task_state=[task_states.RESIZE_MIGRATING])
            self.compute_rpcapi.finish_resize(c, i, migration, flavor)

        self._simple_action(ctxt, instance, "resize_instance", resize)

    def finish_resize(self, ctxt: Any, instance: dict[str, Any],
                      migration: dict[str, Any], flavor: dict[str, Any],
                      **kwargs: Any) -> None:
        """RPC cast, on the destination: ``resize_finish`` with the new flavor, the
        guest started here (left off when the instance was stopped), then ``resized``
        (VERIFY_RESIZE)."""
        def finish(c: Any, i: dict[str, Any]) -> None:
            self._save(c, i, {"task_state": task_states.RESIZE_FINISH,
                              **self._flavor_fields(flavor)},
                       expected_task_state=[task_states.RESIZE_MIGRATED])
            power_on = migration.get("old_vm_state") != vm_states.STOPPED
            self.driver.finish_migration(c, migration, i, power_on=power_on)
            self._save_migration(c, i, migration, "finished", {
                "vm_state": vm_states.RESIZED, "task_state": None,
                "power_state": self.driver.get_info(i).state,
            }, expected_task_state=[task_states.RESIZE_FINISH])
            self._update_scheduler_instance_info(c, i)

        self._simple_action(ctxt, instance, "finish_resize", finish)

    def _end_state(self, migration: dict[str, Any]) -> str:
        return (vm_states.STOPPED if migration.get("old_vm_state") == vm_states.STOPPED
                else vm_states.ACTIVE)

    def confirm_resize(self, ctxt: Any, instance: dict[str, Any],
                       migration: dict[str, Any], **kwargs: Any) -> None:
        """RPC cast (from the API), on the source: the old guest destroyed and its usage
        and allocation (the migration's) freed; ``active`` (or ``stopped``), the
        migration ``confirmed``."""
        def confirm(c: Any, i: dict[str, Any]) -> None:
            if migration["source_compute"] != migration["dest_compute"]:
                self.driver.confirm_migration(c, migration, i)
                self.rt.update_usage_for_deleted(
                    c, {"uuid": i["uuid"], "node": migration["source_node"]})
            self.conductor_api.remove_allocations(c, migration["uuid"])
            system_metadata = dict(i.get("system_metadata") or {})
            for key in ("old_flavor", "new_flavor"):
                system_metadata.pop(key, None)
            i["system_metadata"] = system_metadata
            self._save_migration(c, i, migration, "confirmed", {
                "vm_state": self._end_state(migration), "task_state": None},
                expected_task_state=[None])

        self._simple_action(ctxt, instance, "confirm_resize", confirm)

    def revert_resize(self, ctxt: Any, instance: dict[str, Any],
                      migration: dict[str, Any], **kwargs: Any) -> None:
        """RPC cast (from the API), on the destination: the new guest destroyed and its
        usage dropped, then ``finish_revert_resize`` cast to the source."""
        def revert(c: Any, i: dict[str, Any]) -> None:
            if migration["source_compute"] != migration["dest_compute"]:
                self.driver.destroy(c, i)
                self.rt.update_usage_for_deleted(
                    c, {"uuid": i["uuid"], "node": migration["dest_node"]})
            self.compute_rpcapi.finish_revert_resize(c, i, migration,
                                                     migration["source_compute"])

        self._simple_action(ctxt, instance, "revert_resize", revert)

    def finish_revert_resize(self, ctxt: Any, instance: dict[str, Any],
                             migration: dict[str, Any], **kwargs: Any) -> None:
        """RPC cast, on the source: the old flavor and host back, the allocation moved
        back from the migration to the instance, the old guest started again (unless the
        instance was stopped); ``active`` (or ``stopped``), the migration ``reverted``."""
        def finish_revert(c: Any, i: dict[str, Any]) -> None:
            system_metadata = dict(i.get("system_metadata") or {})
            old_flavor = system_metadata.pop("old_flavor", None) or i.get("flavor") or {}
            system_metadata.pop("new_flavor", None)
            i["system_metadata"] = system_metadata
            self.conductor_api.move_allocations(c, migration["uuid"], i["uuid"])
            self._save(c, i, {"host": migration["source_compute"],
                              "node": migration["source_node"],
                              **self._flavor_fields(old_flavor)},
                       expected_task_state=[task_states.RESIZE_REVERTING])
            self.rt.track(c, i, old_flavor, migration["source_node"] or self.host)
            power_on = migration.get("old_vm_state") != vm_states.STOPPED
            self.driver.finish_revert_migration(c, i, migration=migration,
                                                power_on=power_on)
            self._save_migration(c, i, migration, "reverted", {
                "vm_state": self._end_state(migration), "task_state": None,
                "power_state": self.driver.get_info(i).state,
            }, expected_task_state=[task_states.RESIZE_REVERTING])
            self._update_scheduler_instance_info(c, i)

        self._simple_action(ctxt, instance, "finish_revert_resize", finish_revert)

    def inject_network_info(self, ctxt: Any, instance: dict[str, Any],
                            **kwargs: Any) -> None:
        """RPC cast: write the guest's network configuration again (the fake driver has
        nothing to write); an action event, no state change."""
        self._simple_action(ctxt, instance, "inject_network_info",
                            lambda c, i: self.driver.inject_network_info(i, None))

    # -- console ---------------------------------------------------------------------------

    def get_console_output(self, ctxt: Any, instance: dict[str, Any],
                           tail_length: int | None = None, **kwargs: Any) -> str:
        """RPC call: the guest's console log, its last ``tail_length`` lines when given
        (``InstanceNotFound`` when the hypervisor has no guest)."""
        output = self.driver.get_console_output(ctxt, instance)
        if tail_length is None or tail_length < 0:
            return output
        lines = output.split("\n")
        return "\n".join(lines[-tail_length:]) if tail_length else ""

    # -- periodic tasks --------------------------------------------------------------------

    @periodic.periodic_task(spacing=60)
    def update_available_resource(self, ctxt: Any) -> None:
        """Every 60 s: audit and report each node's inventory and usage."""
        for nodename in self.driver.get_available_nodes():
            self.rt.update_available_resource(ctxt, nodename)

    @periodic.periodic_task(spacing=600, run_immediately=True)
    def _sync_power_states(self, ctxt: Any) -> None:
        """Every 600 s: compare the recorded power states with the hypervisor's, one
        ``spawn_n`` per instance on the sync pool (fire and forget, as Nova)."""
        instances = self.conductor_api.instance_get_all_by_host(ctxt, self.host)
        on_hypervisor = len(self.driver.list_instance_uuids())
        if len(instances) != on_hypervisor:
            LOG.warning(
                "While synchronizing instance power states, found %d instances in the "
                "database and %d instances on the hypervisor.", len(instances), on_hypervisor,
            )
        for instance in instances:
            self._sync_power_pool.spawn_n(self._query_driver_power_state_and_sync, ctxt,
                                          instance)

    def _query_driver_power_state_and_sync(self, ctxt: Any, instance: dict[str, Any]) -> None:
        if instance.get("task_state") is not None:
            return
        try:
            vm_power = self.driver.get_info(instance).state
        except exception.InstanceNotFound:
            vm_power = power_state.NOSTATE
        with self._locks.lock(instance["uuid"]):
            try:
                self._sync_instance_power_state(ctxt, instance, vm_power)
            except Exception:
                LOG.exception("Periodic sync_power_state of %s failed", instance["uuid"])

    def _sync_instance_power_state(self, ctxt: Any, instance: dict[str, Any],
                                   vm_power: int) -> None:
        if instance.get("host") != self.host or instance.get("task_state") is not None:
            return
        updates: dict[str, Any] = {}
        if instance.get("power_state") != vm_power:
            updates["power_state"] = vm_power
        vm_state = instance.get("vm_state")
        if vm_state == vm_states.ACTIVE and vm_power in (power_state.SHUTDOWN,
                                                         power_state.CRASHED):
            # Nova calls compute_api.stop(); the simulator records the stop directly.
            LOG.warning("Instance %s shut down by itself; marking it stopped",
                        instance["uuid"])
            updates["vm_state"] = vm_states.STOPPED
        elif vm_state == vm_states.ACTIVE and vm_power == power_state.NOSTATE:
            LOG.warning("Instance %s is unexpectedly not found by the hypervisor",
                        instance["uuid"])
        elif vm_state == vm_states.STOPPED and vm_power == power_state.RUNNING:
            LOG.warning("Instance %s is running while stopped; powering it off",
                        instance["uuid"])
            self.driver.power_off(instance)
            updates["power_state"] = self.driver.get_info(instance).state
        if updates:
            self._save(ctxt, instance, updates, expected_task_state=[None])

    @periodic.periodic_task(spacing=120, run_immediately=True)
    def _sync_scheduler_instance_info(self, ctxt: Any) -> None:
        """Every 120 s: send the schedulers the full list of this host's instances."""
        uuids = [i["uuid"] for i in self.conductor_api.instance_get_all_by_host(ctxt, self.host)]
        self.scheduler_api.sync_instance_info(ctxt, self.host, uuids)

    @periodic.periodic_task(spacing=60)
    def _poll_rebooting_instances(self, ctxt: Any) -> None:
        """Every 60 s: an instance stuck rebooting for longer than ``reboot_timeout`` is
        hard rebooted (off when the option is 0, the default). Nova asks the compute API
        for the hard reboot; the simulator moves the task state and reboots here."""
        timeout = self.conf.reboot_timeout
        if timeout <= 0:
            return
        now = green.wallclock()
        for instance in self.conductor_api.instance_get_all_by_host(ctxt, self.host):
            task = instance.get("task_state")
            if task not in task_states.HARD_REBOOT_ALLOWED or task is None:
                continue
            updated = parse_timestamp(instance.get("updated_at")) or now
            if now - updated <= timeout:
                continue
            LOG.warning("Instance %s has been rebooting for more than %d s; hard "
                        "rebooting it", instance["uuid"], timeout)
            try:
                self._save(ctxt, instance, {"task_state": task_states.REBOOTING_HARD},
                           expected_task_state=[task])
            except (exception.InstanceNotFound, exception.UnexpectedTaskStateError):
                continue
            self.spawn_n(self._locked_reboot, ctxt, instance, "HARD")

    @periodic.periodic_task(spacing=3600)
    def _poll_shelved_instances(self, ctxt: Any) -> None:
        """Every ``shelved_poll_interval`` s: offload the instances shelved here for
        longer than ``shelved_offload_time`` (nothing when it is 0 or -1: offloaded at
        once, or never)."""
        offload_time = self.conf.shelved_offload_time
        if offload_time <= 0:
            return
        now = green.wallclock()
        for instance in self.conductor_api.instance_get_all_by_host(ctxt, self.host):
            if instance.get("vm_state") != vm_states.SHELVED or instance.get("task_state"):
                continue
            shelved_at = parse_timestamp(
                (instance.get("system_metadata") or {}).get("shelved_at")) or now
            if now - shelved_at <= offload_time:
                continue
            try:
                self._save(ctxt, instance, {"task_state": task_states.SHELVING_OFFLOADING},
                           expected_task_state=[None])
            except (exception.InstanceNotFound, exception.UnexpectedTaskStateError):
                continue
            self.shelve_offload_instance(ctxt, instance)

    @periodic.periodic_task(spacing=60)
    def _check_instance_build_time(self, ctxt: Any) -> None:
        """Every 60 s: instances building for longer than ``instance_build_timeout`` go
        to ERROR (off when the option is 0, the default)."""
        timeout = self.conf.instance_build_timeout
        if timeout <= 0:
            return
        now = green.wallclock()
        for instance in self.conductor_api.instance_get_all_by_host(ctxt, self.host):
            if instance.get("vm_state") != vm_states.BUILDING:
                continue
            created = parse_timestamp(instance.get("created_at")) or now
            if now - created > timeout:
                self._set_error(
                    ctxt, instance, "Instance build timed out",
                    exception.NovaException(f"Build of instance timed out after {timeout} s"),
                )
