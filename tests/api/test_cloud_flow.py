"""The REST API over a whole one-process cloud, on the virtual clock.

Requests go to the WSGI application in-process (no sockets, so the virtual clock works):
the compute API casts to the real conductor, scheduler and computes over ``green://``, and
the statuses the API shows move as the fake driver's (virtual) latencies pass: BUILD,
ACTIVE, HARD_REBOOT, REBOOT, SHUTOFF, ERROR with its fault, then gone.
"""

from __future__ import annotations

import pytest

from nova_sim import green
from nova_sim.api.app import APIApplication
from nova_sim.deploy import Cloud, new_conf

from .conftest import Client

IMAGE = "13dbfda8-883f-5c6c-a946-6ad6d8486726"
V = "2.100"


@pytest.fixture
def cloud_client():
    with green.virtual_time(seed=7):
        conf = new_conf()
        latencies = {"spawn_latency": "fixed:5", "reboot_latency": "fixed:3",
                     "stop_latency": "fixed:1", "start_latency": "fixed:1",
                     "delete_latency": "fixed:1", "memory_mb": 4096}
        for name, value in latencies.items():
            conf.set_override(name, value, group="fake_driver")
        cloud = Cloud(conf=conf, computes=2, virtual=True).start()
        try:
            yield cloud, Client(APIApplication(cloud.api, conf))
        finally:
            cloud.stop()


def status(client, server_id, token="demo:demo"):
    return client.get(f"/v2.1/servers/{server_id}", token=token, version=V).json["server"][
        "status"]


def test_a_server_lives_its_life_through_the_api(cloud_client):
    cloud, client = cloud_client
    created = client.post("/v2.1/servers", {"server": {
        "name": "vm", "imageRef": IMAGE, "flavorRef": "1", "networks": "auto"}},
        token="demo:demo", version=V)
    assert created.status_int == 202
    server_id = created.json["server"]["id"]
    assert status(client, server_id) == "BUILD"
    cloud.wait_for_instance(server_id, "active")
    view = client.get(f"/v2.1/servers/{server_id}", version=V).json["server"]
    assert view["status"] == "ACTIVE" and view["OS-EXT-SRV-ATTR:host"] in ("compute1",
                                                                         "compute2")
    assert view["addresses"]["private"][0]["addr"].startswith("10.0.0.")
    assert view["OS-SRV-USG:launched_at"] is not None

    def act(body):
        return client.post(f"/v2.1/servers/{server_id}/action", body, token="demo:demo",
                           version=V).status_int

    assert act({"reboot": {"type": "HARD"}}) == 202
    assert status(client, server_id) == "HARD_REBOOT"
    assert act({"reboot": {"type": "SOFT"}}) == 409  # a hard reboot is in progress
    cloud.wait_for_instance(server_id, "active", task_state=None)
    assert act({"reboot": {"type": "SOFT"}}) == 202
    assert status(client, server_id) == "REBOOT"
    cloud.wait_for_instance(server_id, "active", task_state=None)
    assert act({"os-stop": None}) == 202
    assert act({"os-stop": None}) == 409  # powering-off
    cloud.wait_for_instance(server_id, "stopped", task_state=None)
    assert status(client, server_id) == "SHUTOFF"
    assert act({"os-start": None}) == 202
    cloud.wait_for_instance(server_id, "active", task_state=None)

    actions = client.get(f"/v2.1/servers/{server_id}/os-instance-actions", token="demo:demo",
                         version=V).json["instanceActions"]
    assert [a["action"] for a in actions] == ["start", "stop", "reboot", "reboot", "create"]
    create_action = client.get(
        f"/v2.1/servers/{server_id}/os-instance-actions/{actions[-1]['request_id']}",
        token="demo:demo", version=V).json["instanceAction"]
    assert create_action["request_id"] == created.headers["x-openstack-request-id"]
    assert all(e["result"] == "Success" for e in create_action["events"])
    assert create_action["events"]

    assert client.delete(f"/v2.1/servers/{server_id}", token="demo:demo",
                         version=V).status_int == 204
    cloud.wait_for_instance(server_id, "deleted")
    assert client.get(f"/v2.1/servers/{server_id}", token="demo:demo").status_int == 404


def test_no_valid_host_shows_error_and_fault(cloud_client):
    cloud, client = cloud_client
    second = client.post("/v2.1/servers", {"server": {
        "name": "huge", "imageRef": IMAGE, "flavorRef": "5", "networks": "none"}},
        token="demo:demo", version=V)  # m1.xlarge: 16384 MB fits on no 4096 MB host
    huge = second.json["server"]["id"]
    cloud.wait_for_instance(huge, "error")
    view = client.get(f"/v2.1/servers/{huge}", token="demo:demo", version=V).json["server"]
    assert view["status"] == "ERROR"
    assert "No valid host" in view["fault"]["message"]
    assert view["fault"]["code"] == 500
    listed = client.get("/v2.1/servers/detail?status=ERROR", token="demo:demo",
                        version=V).json["servers"]
    assert [s["id"] for s in listed] == [huge]
