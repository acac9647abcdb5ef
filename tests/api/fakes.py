"""The real ``nova_sim.compute.api.API`` with instant stand-ins for the conductor and computes.

The REST API's unit tests drive the real compute API (state checks, ownership, instance
actions, services, hypervisors, zones) over an in-memory database, but instead of casting
to a conductor and computes over RPC, the casts are applied to the database at once: a
boot ends ACTIVE on ``host1``/``host2`` (or stays BUILD with ``build_state="building"``),
stop/start/reboot/delete finish immediately. Fast, deterministic, no services to run.
"""

from __future__ import annotations

from nova_sim import conf as nova_conf
from nova_sim import rpc
from nova_sim.compute.api import API
from nova_sim.db.api import Database

HOSTS = ("host1", "host2")


class InstantConductor:
    """Stands in for the conductor's ComputeTaskAPI: builds land at once."""

    def __init__(self, db: Database, build_state: str):
        self.db = db
        self.build_state = build_state
        self.count = 0

    def schedule_and_build_instances(self, ctxt, build_requests, request_specs, **kwargs):
        for instance in build_requests:
            host = HOSTS[self.count % len(HOSTS)]
            self.count += 1
            self.db.action_start({"instance_uuid": instance["uuid"],
                                  "request_id": ctxt.request_id, "action": "create",
                                  "project_id": ctxt.project_id, "user_id": ctxt.user_id})
            if self.build_state != "active":
                continue
            self.db.action_event_start(instance["uuid"], ctxt.request_id,
                                       "compute__do_build_and_run_instance", host=host)
            self.db.instance_update(instance["uuid"], {
                "vm_state": "active", "task_state": None, "power_state": 1,
                "host": host, "node": host, "launched_at": self.db.now(),
            })
            self.db.action_event_finish(instance["uuid"], ctxt.request_id,
                                        "compute__do_build_and_run_instance", "Success")


    def rebuild_instance(self, ctxt, instance, **kwargs):
        self.db.instance_update(instance["uuid"], {"vm_state": "active", "task_state": None})

    def migrate_server(self, ctxt, instance, flavor, request_spec=None, **kwargs):
        """A resize that lands at once on the other host (VERIFY_RESIZE)."""
        source = instance["host"]
        dest = HOSTS[1] if source == HOSTS[0] else HOSTS[0]
        system_metadata = dict(instance.get("system_metadata") or {})
        system_metadata.update(old_flavor=instance["flavor"], migration={
            "uuid": "m-" + instance["uuid"], "status": "finished",
            "source_compute": source, "dest_compute": dest, "old_vm_state": "active"})
        self.db.instance_update(instance["uuid"], {
            "vm_state": "resized", "task_state": None, "host": dest, "node": dest,
            "flavor": flavor, "system_metadata": system_metadata})

    def unshelve_instance(self, ctxt, instance, request_spec=None):
        host = ((request_spec or {}).get("requested_destination") or {}).get("host") \
            or HOSTS[0]
        self.db.instance_update(instance["uuid"], {"vm_state": "active", "task_state": None,
                                                   "host": host, "node": host,
                                                   "power_state": 1})


class InstantCompute:
    """Stands in for the compute RPC API: every action completes at once."""

    def __init__(self, db: Database):
        self.db = db
        self.calls: list[tuple] = []

    def stop_instance(self, ctxt, instance, clean_shutdown=True):
        self.calls.append(("stop", instance["uuid"]))
        self.db.instance_update(instance["uuid"], {"vm_state": "stopped", "task_state": None,
                                                   "power_state": 4})

    def start_instance(self, ctxt, instance):
        self.calls.append(("start", instance["uuid"]))
        self.db.instance_update(instance["uuid"], {"vm_state": "active", "task_state": None,
                                                   "power_state": 1})

    def reboot_instance(self, ctxt, instance, reboot_type="SOFT"):
        self.calls.append(("reboot", instance["uuid"], reboot_type))
        self.db.instance_update(instance["uuid"], {"vm_state": "active", "task_state": None,
                                                   "power_state": 1})

    def terminate_instance(self, ctxt, instance, **kwargs):
        self.calls.append(("terminate", instance["uuid"]))
        self.db.instance_update(instance["uuid"], {"vm_state": "deleted", "task_state": None})
        self.db.instance_destroy(instance["uuid"])

    def _finish(self, name, instance, vm_state, power, **extra):
        self.calls.append((name, instance["uuid"]))
        self.db.instance_update(instance["uuid"], {"vm_state": vm_state, "task_state": None,
                                                   "power_state": power, **extra})

    def pause_instance(self, ctxt, instance):
        self._finish("pause", instance, "paused", 3)

    def unpause_instance(self, ctxt, instance):
        self._finish("unpause", instance, "active", 1)

    def suspend_instance(self, ctxt, instance):
        self._finish("suspend", instance, "suspended", 7)

    def resume_instance(self, ctxt, instance):
        self._finish("resume", instance, "active", 1)

    def rescue_instance(self, ctxt, instance, **kwargs):
        self._finish("rescue", instance, "rescued", 1)

    def unrescue_instance(self, ctxt, instance):
        self._finish("unrescue", instance, "active", 1)

    def snapshot_instance(self, ctxt, instance, image_id):
        self.db.image_update(image_id, {"status": "active", "size": 1024})
        self._finish("snapshot", instance, instance["vm_state"], instance["power_state"])

    def backup_instance(self, ctxt, instance, image_id, backup_type, rotation):
        self.db.image_update(image_id, {"status": "active", "size": 1024})
        self._finish("backup", instance, instance["vm_state"], instance["power_state"])

    def shelve_instance(self, ctxt, instance, image_id=None, clean_shutdown=True):
        self.db.image_update(image_id, {"status": "active", "size": 1024})
        self._finish("shelve", instance, "shelved_offloaded", 0, host=None, node=None,
                     system_metadata={"shelved_image_id": image_id})

    def shelve_offload_instance(self, ctxt, instance, clean_shutdown=True):
        self._finish("shelve_offload", instance, "shelved_offloaded", 0, host=None,
                     node=None)

    def confirm_resize(self, ctxt, instance, migration, host):
        self._finish("confirm_resize", instance, "active", 1)

    def revert_resize(self, ctxt, instance, migration, host):
        self._finish("revert_resize", instance, "active", 1, host=migration["source_compute"],
                     flavor=instance["system_metadata"]["old_flavor"])

    def inject_network_info(self, ctxt, instance):
        self.calls.append(("inject_network_info", instance["uuid"]))

    def get_console_output(self, ctxt, instance, tail_length=None):
        self.calls.append(("console", instance["uuid"], tail_length))
        lines = [f"line {n}" for n in range(1, 21)]
        return "\n".join(lines if tail_length in (None, -1) else lines[-tail_length:]
                         if tail_length else [])


def make_compute_api(build_state: str = "active", conf=None) -> API:
    """A real compute API over a fresh database with a controller, two computes (up,
    heartbeating) and their nodes; RPC casts replaced by the instant stand-ins."""
    conf = conf or nova_conf.new_conf()
    db = Database("sqlite://")
    db.ensure_default_flavors()
    for binary in ("nova-conductor", "nova-scheduler"):
        service = db.service_create({"binary": binary, "host": "controller",
                                     "topic": binary[5:]})
        db.service_heartbeat(service["id"])
    for host in HOSTS:
        service = db.service_create({"binary": "nova-compute", "host": host,
                                     "topic": "compute"})
        db.service_heartbeat(service["id"])
        db.compute_node_create_or_update({
            "host": host, "vcpus": 16, "memory_mb": 65536, "local_gb": 1024,
            "service_id": service["id"], "host_ip": "127.0.0.1",
        })
    api = API(conf, db, rpc.get_transport("green://api-tests", conf=conf))
    api.compute_task_api = InstantConductor(db, build_state)
    api.compute_rpcapi = InstantCompute(db)
    return api


def set_error(api: API, uuid: str, message: str = "No valid host was found. ",
              code: int = 500) -> None:
    """Put an instance in ERROR with a fault, as a failed build does."""
    api.db.instance_update(uuid, {"vm_state": "error", "task_state": None})
    api.db.instance_fault_create({"instance_uuid": uuid, "code": code, "message": message,
                                  "details": "Traceback (most recent call last): ..."})
