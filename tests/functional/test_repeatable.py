"""A seeded virtual-time cloud gives the same run twice (ids, hosts, timestamps)."""

from __future__ import annotations

from nova_sim import context as nova_context
from nova_sim import green
from nova_sim.deploy import Cloud, new_conf
from nova_sim.image import CIRROS_IMAGE_ID


def _run(seed):
    with green.virtual_time(seed=seed):
        conf = new_conf()
        conf.set_override("spawn_failure_rate", 0.3, group="fake_driver")
        cloud = Cloud(conf=conf, computes=3, virtual=True).start()
        ctxt = nova_context.RequestContext(user_id="u", project_id="p", overwrite=False)
        for number in range(6):
            cloud.api.create(ctxt, "2", CIRROS_IMAGE_ID, f"vm{number}")
            green.sleep(0.3)
        green.sleep(20)
        rows = cloud.db.instance_get_all_by_filters(
            {}, sort_keys=["display_name"], sort_dirs=["asc"])
        result = [
            (r["uuid"], r["host"], r["vm_state"], r["launched_at"], r["updated_at"],
             [(a["request_id"], a["start_time"]) for a in cloud.db.actions_get(r["uuid"])])
            for r in rows
        ]
        cloud.stop()
        return result


def test_same_seed_same_run_with_latencies_and_failures():
    first = _run(11)
    assert first == _run(11)
    assert first != _run(12)
    assert {state for _, _, state, *_ in first} <= {"active", "error"}
