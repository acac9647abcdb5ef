"""Launch paths: the one-process Cloud and the per-process service factory."""

from __future__ import annotations

import pytest

from nova_sim import context as nova_context
from nova_sim import green
from nova_sim.deploy import Cloud, create_service, new_conf
from nova_sim.image import CIRROS_IMAGE_ID


def test_virtual_cloud_refuses_the_real_clock():
    with pytest.raises(RuntimeError):
        Cloud(computes=1, virtual=True).start()


def test_unknown_binary_is_refused():
    with pytest.raises(ValueError):
        create_service("nova-fortune-teller", "h", new_conf())


def test_per_process_services_share_a_database_file(tmp_path):
    """What `nova-sim conductor|scheduler|compute` build, here in one process on green://."""
    conf = new_conf()
    conf.set_override("connection", f"sqlite:///{tmp_path}/nova.db", group="database")
    conf.set_override("periodic_fuzzy_delay", 0)
    for name in ("spawn_latency", "delete_latency"):
        conf.set_override(name, "fixed:0", group="fake_driver")
    with green.virtual_time(seed=9):
        services = [create_service(binary, "ctl", conf)
                    for binary in ("nova-conductor", "nova-scheduler")]
        services.append(create_service("nova-compute", "c1", conf))
        for service in services:
            service.start()
        from nova_sim.compute.api import API

        conductor = services[0]
        api = API(conf, conductor.db, conductor.transport)
        ctxt = nova_context.RequestContext(user_id="u", project_id="p", overwrite=False)
        [instance] = api.create(ctxt, "1", CIRROS_IMAGE_ID, "vm")
        while conductor.db.instance_get(instance["uuid"])["vm_state"] == "building":
            green.sleep(0.1)
        assert conductor.db.instance_get(instance["uuid"])["host"] == "c1"
        # the scheduler process has its own connection to the same file
        assert services[1].db.instance_get(instance["uuid"])["vm_state"] == "active"
        waiter = green.spawn(services[2].wait)
        for service in reversed(services):
            service.stop()
        waiter.wait()


def test_cloud_keywords_are_overrides_of_the_conf_and_the_conf_is_read(tmp_path):
    conf = new_conf()
    conf.set_override("transport_url", "green://from-conf")
    with green.virtual_time(seed=3):
        cloud = Cloud(conf=conf, computes=0, virtual=True, periodic_enable=False,
                      db_url=f"sqlite:///{tmp_path}/cloud.db").start()
        try:
            assert cloud.transport.url == "green://from-conf"  # read from the conf
            assert conf.database.connection == f"sqlite:///{tmp_path}/cloud.db"
            assert cloud.db.path == f"{tmp_path}/cloud.db"
            assert conf.periodic_enable is False
            assert cloud.conductor.periodic_enable is False
        finally:
            cloud.stop()


def test_one_compute_process_runs_many_hosts(tmp_path):
    """`nova-sim compute --hosts 3`: three hosts, each its own service row (heartbeat)
    and RPC server, in one process; servers land on them."""
    conf = new_conf()
    conf.set_override("connection", f"sqlite:///{tmp_path}/nova.db", group="database")
    conf.set_override("periodic_fuzzy_delay", 0)
    conf.set_override("spawn_latency", "fixed:0", group="fake_driver")
    with pytest.raises(ValueError):
        create_service("nova-scheduler", "ctl", conf, hosts=2)
    with green.virtual_time(seed=5):
        services = [create_service(binary, "ctl", conf)
                    for binary in ("nova-conductor", "nova-scheduler")]
        computes = create_service("nova-compute", "rack", conf, hosts=3)
        assert computes.hosts == ["rack-1", "rack-2", "rack-3"]
        for service in (*services, computes):
            service.start()
        from nova_sim.compute.api import API

        db = services[0].db
        green.sleep(conf.report_interval + 1)  # every host has reported once
        rows = db.service_get_all(binary="nova-compute")
        assert [row["host"] for row in rows] == ["rack-1", "rack-2", "rack-3"]
        assert all(row["report_count"] >= 1 for row in rows)
        api = API(conf, db, services[0].transport)
        ctxt = nova_context.RequestContext(user_id="u", project_id="p", overwrite=False)
        uuids = [api.create(ctxt, "1", CIRROS_IMAGE_ID, f"vm{k}")[0]["uuid"] for k in range(6)]
        while any(db.instance_get(u)["vm_state"] == "building" for u in uuids):
            green.sleep(0.1)
        hosts = {db.instance_get(u)["host"] for u in uuids}
        assert hosts <= {"rack-1", "rack-2", "rack-3"} and len(hosts) > 1
        for service in (computes, *reversed(services)):
            service.stop()
