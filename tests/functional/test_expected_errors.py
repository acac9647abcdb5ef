"""Expected errors are answers, not server faults: what each service logs, and at which
level, when a user deletes during a hard reboot and when no host is valid."""

from __future__ import annotations

import logging

from nova_sim import green
from nova_sim.image import CIRROS_IMAGE_ID

M1_SMALL, M1_LARGE = "2", "4"


def _errors(caplog):
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR]


def _records(caplog, logger, level, text):
    return [r for r in caplog.records
            if r.name == logger and r.levelno == level and text in r.getMessage()]


def test_a_delete_during_a_hard_reboot_is_no_error(make_cloud, ctxt, caplog):
    cloud = make_cloud(computes=1, reboot_latency="fixed:5")
    [instance] = cloud.api.create(ctxt, M1_SMALL, CIRROS_IMAGE_ID, "vm")
    uuid = cloud.wait_for_instance(instance["uuid"], "active", None)["uuid"]
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    cloud.api.reboot(ctxt, uuid, "HARD")
    green.sleep(1)
    assert cloud.db.instance_get(uuid)["task_state"] == "reboot_started_hard"
    cloud.api.delete(ctxt, uuid)
    cloud.wait_for_instance(uuid, "deleted")
    green.sleep(10)  # the reboot ends and finds the instance deleting / deleted

    assert _errors(caplog) == []
    # the conductor answered the compute's save with the error, at debug only
    [answered] = _records(caplog, "nova_sim.rpc.server", logging.DEBUG,
                          "Expected exception during message handling (object_action")
    assert "UnexpectedTaskStateError" in answered.getMessage()
    assert answered.exc_info is None
    # the compute says, at info as Nova does, that its reboot gave way to the delete
    [preempted] = _records(caplog, "nova_sim.compute.manager", logging.INFO,
                           f"reboot_instance of {uuid} possibly preempted")
    assert "but the actual state is deleting" in preempted.getMessage()
    assert "Traceback" not in preempted.getMessage() and preempted.exc_info is None
    assert "Traceback" not in caplog.text


def test_no_valid_host_is_no_error(make_cloud, ctxt, caplog):
    cloud = make_cloud(computes=1, memory_mb=4096)
    caplog.set_level(logging.DEBUG)
    [instance] = cloud.api.create(ctxt, M1_LARGE, CIRROS_IMAGE_ID, "too-big")  # 8 GB
    row = cloud.wait_for_instance(instance["uuid"], "error", None)

    assert _errors(caplog) == []
    [answered] = _records(caplog, "nova_sim.rpc.server", logging.DEBUG,
                          "Expected exception during message handling (select_destinations")
    assert "NoValidHost" in answered.getMessage()
    # the conductor sets ERROR with a warning (Nova's set_vm_state_and_notify)
    [warned] = _records(caplog, "nova_sim.conductor.manager", logging.WARNING,
                        f"Instance {row['uuid']} set to ERROR: No valid host was found.")
    assert "Traceback" not in warned.getMessage()
    # the user sees the fault; its details carry the scheduler's (remote) traceback
    [fault] = cloud.db.instance_fault_get_by_instance_uuids([row["uuid"]])[row["uuid"]]
    assert fault["message"].startswith("No valid host was found.")
    assert "in select_destinations" in fault["details"]
