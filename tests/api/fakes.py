"""A stand-in for ``nova_sim.compute.api.API`` for the REST API's unit tests.

Same method names and shapes as the real compute API (rows of ``nova_sim.db``), but every
action completes at once in the database, with no RPC and no hub: controllers can be tested
alone, fast and deterministically. ``build_state`` chooses where ``create`` leaves new
instances (``"active"`` or ``"building"``).
"""

from __future__ import annotations

from typing import Any

from nova_sim import exception
from nova_sim.db.api import Database


class FakeComputeAPI:
    def __init__(self, build_state: str = "active", hosts: tuple[str, ...] = ("host1", "host2")):
        self.db = Database("sqlite://")
        self.db.ensure_default_flavors()
        self.build_state = build_state
        self.calls: list[tuple] = []
        for binary in ("nova-conductor", "nova-scheduler"):
            self.db.service_create({"binary": binary, "host": "controller",
                                    "topic": binary[5:]})
        for host in hosts:
            service = self.db.service_create({"binary": "nova-compute", "host": host,
                                              "topic": "compute",
                                              "availability_zone": "nova"})
            self.db.compute_node_create_or_update({
                "host": host, "vcpus": 16, "memory_mb": 65536, "local_gb": 1024,
                "service_id": service["id"], "host_ip": "127.0.0.1",
            })
        self._next_host = 0

    # -- instances ---------------------------------------------------------------------
    def _with_fault(self, instance: dict) -> dict:
        faults = self.db.instance_fault_get_by_instance_uuids([instance["uuid"]])
        found = faults.get(instance["uuid"]) or []
        instance["fault"] = found[0] if found else None
        return instance

    def create(self, ctxt, flavor_id, image_ref, name, min_count=1, max_count=1,
               metadata=None, availability_zone=None, networks=None, **kwargs):
        self.calls.append(("create", name, kwargs))
        flavor = self.db.flavor_get_by_flavor_id(str(flavor_id))
        if image_ref != "13dbfda8-883f-5c6c-a946-6ad6d8486726":
            raise exception.ImageNotFound(image_id=image_ref)
        result = []
        for index in range(max_count):
            host = ("host1", "host2")[self._next_host % 2]
            self._next_host += 1
            active = self.build_state == "active"
            instance = self.db.instance_create({
                "display_name": name if max_count == 1 else f"{name}-{index + 1}",
                "project_id": ctxt.project_id, "user_id": ctxt.user_id,
                "image_ref": image_ref, "flavor": flavor,
                "vm_state": "active" if active else "building",
                "task_state": None if active else "scheduling",
                "power_state": 1 if active else 0,
                "host": host if active else None, "node": host if active else None,
                "availability_zone": availability_zone or "nova",
                "metadata": metadata or {}, "launch_index": index,
                "system_metadata": {"requested_networks": networks},
            })
            self.db.action_start({"instance_uuid": instance["uuid"],
                                  "request_id": ctxt.request_id, "action": "create",
                                  "project_id": ctxt.project_id, "user_id": ctxt.user_id})
            self.db.action_event_start(instance["uuid"], ctxt.request_id,
                                       "compute__do_build_and_run_instance", host=host)
            self.db.action_event_finish(instance["uuid"], ctxt.request_id,
                                        "compute__do_build_and_run_instance", "Success")
            result.append(instance)
        return result

    def get(self, ctxt, uuid):
        return self._with_fault(self.db.instance_get(uuid))

    def get_all(self, ctxt, filters=None, limit=None, marker=None, **kwargs):
        rows = self.db.instance_get_all_by_filters(filters or {}, limit=limit, marker=marker)
        return [self._with_fault(r) for r in rows]

    def _update(self, uuid, **values):
        return self.db.instance_update(uuid, values)

    def _check(self, instance, method, vm_states, task_states=(None,)):
        if instance["vm_state"] not in vm_states:
            raise exception.InstanceInvalidState(
                method=method, instance_uuid=instance["uuid"], attr="vm_state",
                state=instance["vm_state"])
        if instance["task_state"] not in task_states:
            raise exception.InstanceInvalidState(
                method=method, instance_uuid=instance["uuid"], attr="task_state",
                state=instance["task_state"])

    def _record(self, ctxt, uuid, action):
        self.db.action_start({"instance_uuid": uuid, "request_id": ctxt.request_id,
                              "action": action, "project_id": ctxt.project_id,
                              "user_id": ctxt.user_id})

    def delete(self, ctxt, uuid):
        self.calls.append(("delete", uuid))
        self._record(ctxt, uuid, "delete")
        self.db.instance_destroy(uuid)

    def stop(self, ctxt, uuid):
        instance = self.db.instance_get(uuid)
        self._check(instance, "stop", ("active", "error"))
        self._record(ctxt, uuid, "stop")
        self._update(uuid, vm_state="stopped", power_state=4)

    def start(self, ctxt, uuid):
        instance = self.db.instance_get(uuid)
        self._check(instance, "start", ("stopped",))
        self._record(ctxt, uuid, "start")
        self._update(uuid, vm_state="active", power_state=1)

    def reboot(self, ctxt, uuid, reboot_type):
        instance = self.db.instance_get(uuid)
        if reboot_type == "SOFT":
            self._check(instance, "reboot", ("active",))
        else:
            self._check(instance, "reboot", ("active", "stopped", "error"))
        self._record(ctxt, uuid, "reboot")
        self.calls.append(("reboot", uuid, reboot_type))
        self._update(uuid, vm_state="active", power_state=1)

    def set_error(self, uuid, message="No valid host was found. ", code=500):
        """Test helper: put an instance in ERROR with a fault."""
        self._update(uuid, vm_state="error", task_state=None)
        self.db.instance_fault_create({"instance_uuid": uuid, "code": code,
                                       "message": message, "details": "Traceback..."})

    def get_instance_actions(self, ctxt, uuid):
        return self.db.actions_get(uuid)

    def get_instance_action(self, ctxt, uuid, request_id):
        action = self.db.action_get_by_request_id(uuid, request_id)
        return action, self.db.action_events_get(action["id"])

    # -- flavors, services, nodes ------------------------------------------------------
    def get_all_flavors(self, ctxt, is_public=True):
        return self.db.flavor_get_all(is_public=is_public)

    def get_flavor(self, ctxt, flavor_id):
        return self.db.flavor_get_by_flavor_id(flavor_id)

    def service_get_all(self, ctxt) -> list[dict[str, Any]]:
        rows = self.db.service_get_all()
        for row in rows:
            row["state"] = "down" if row.get("forced_down") else "up"
        return rows

    def service_update(self, ctxt, service, values):
        return self.db.service_update(service["id"], values)

    def compute_node_get_all(self, ctxt):
        return self.db.compute_node_get_all()
