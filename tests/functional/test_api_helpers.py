"""The compute API's helpers the REST API uses: services, hypervisors, zones, flavors,
images, instance actions, listing."""

from __future__ import annotations

import pytest

from nova_sim import exception, green
from nova_sim.image import CIRROS_IMAGE_ID, CIRROS_IMAGE_NAME

M1_SMALL = "2"


def test_services_hypervisors_and_zones(make_cloud, ctxt):
    cloud = make_cloud(computes=2)
    green.sleep(6)
    services = cloud.api.service_list(ctxt)
    assert [(s["binary"], s["host"], s["state"], s["status"], s["zone"]) for s in services] == [
        ("nova-conductor", "nova-sim", "up", "enabled", "internal"),
        ("nova-scheduler", "nova-sim", "up", "enabled", "internal"),
        ("nova-compute", "compute1", "up", "enabled", "nova"),
        ("nova-compute", "compute2", "up", "enabled", "nova"),
    ]
    hypervisors = cloud.api.hypervisor_list(ctxt)
    assert [(h["hypervisor_hostname"], h["state"], h["status"]) for h in hypervisors] == [
        ("compute1", "up", "enabled"), ("compute2", "up", "enabled")]
    assert hypervisors[0]["vcpus"] == 16 and hypervisors[0]["memory_mb_used"] == 512
    assert cloud.api.hypervisor_get(ctxt, hypervisors[1]["uuid"])["host"] == "compute2"
    with pytest.raises(exception.ComputeHostNotFound):
        cloud.api.hypervisor_get(ctxt, "nope")
    zones = cloud.api.availability_zones(ctxt)
    assert [(z["zone"], z["available"]) for z in zones] == [("nova", True), ("internal", True)]
    assert set(zones[0]["hosts"]) == {"compute1", "compute2"}


def test_disabled_compute_gets_no_new_instances(make_cloud, ctxt):
    cloud = make_cloud(computes=2)
    disabled = cloud.api.service_disable(ctxt, "compute1", reason="maintenance")
    assert disabled["status"] == "disabled" and disabled["disabled_reason"] == "maintenance"
    green.sleep(1)
    instances = cloud.api.create(ctxt, M1_SMALL, CIRROS_IMAGE_ID, "vm", min_count=3,
                                 max_count=3)
    for instance in instances:
        assert cloud.wait_for_instance(instance["uuid"], "active", None)["host"] == "compute2"
    assert cloud.api.service_enable(ctxt, "compute1")["status"] == "enabled"
    with pytest.raises(exception.InvalidInput):
        cloud.api.service_update(ctxt, disabled["id"], {"host": "x"})


def test_flavors_images_and_zone_validation(make_cloud, ctxt):
    cloud = make_cloud(computes=1)
    names = [f["name"] for f in cloud.api.flavor_list(ctxt)]
    assert names == ["m1.tiny", "m1.small", "m1.medium", "m1.large", "m1.xlarge"]
    assert cloud.api.flavor_get(ctxt, "2")["memory_mb"] == 2048
    assert [i["name"] for i in cloud.api.image_list(ctxt)] == [CIRROS_IMAGE_NAME]
    assert cloud.api.image_get(ctxt, CIRROS_IMAGE_NAME)["id"] == CIRROS_IMAGE_ID
    with pytest.raises(exception.InvalidInput):
        cloud.api.create(ctxt, M1_SMALL, CIRROS_IMAGE_ID, "vm", availability_zone="mars")
    [instance] = cloud.api.create(ctxt, M1_SMALL, f"http://glance/images/{CIRROS_IMAGE_ID}",
                                  "vm", availability_zone="nova")
    row = cloud.wait_for_instance(instance["uuid"], "active", None)
    assert row["availability_zone"] == "nova" and row["hostname"] == "vm"


def test_listing_pages_and_actions(make_cloud, ctxt):
    cloud = make_cloud(computes=1)
    instances = cloud.api.create(ctxt, M1_SMALL, CIRROS_IMAGE_ID, "web", min_count=3,
                                 max_count=3)
    assert [i["display_name"] for i in instances] == ["web-1", "web-2", "web-3"]
    for instance in instances:
        cloud.wait_for_instance(instance["uuid"], "active", None)
    page = cloud.api.get_all(ctxt, filters={"name": "^web"}, limit=2,
                             sort_keys=["display_name"], sort_dirs=["asc"])
    assert [i["display_name"] for i in page] == ["web-1", "web-2"]
    rest = cloud.api.get_all(ctxt, limit=2, marker=page[-1]["uuid"],
                             sort_keys=["display_name"], sort_dirs=["asc"])
    assert [i["display_name"] for i in rest] == ["web-3"]
    [action] = cloud.api.actions_list(ctxt, instances[0]["uuid"])
    shown = cloud.api.action_get(ctxt, instances[0]["uuid"], action["request_id"])
    assert shown["action"] == "create"
    assert [e["event"] for e in shown["events"]] == ["compute__do_build_and_run_instance"]
    with pytest.raises(exception.InstanceActionNotFound):
        cloud.api.action_get(ctxt, instances[0]["uuid"], "req-nope")
