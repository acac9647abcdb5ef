"""Server actions, instance actions, flavors, os-services, os-hypervisors, zones, /image,
/network, and the generic errors (404, 405)."""

from __future__ import annotations

import pytest

from nova_sim.api.network import PRIVATE

IMAGE = "13dbfda8-883f-5c6c-a946-6ad6d8486726"
V = "2.100"


def create(client, token="admin:admin"):
    response = client.post("/v2.1/servers", {"server": {
        "name": "vm", "imageRef": IMAGE, "flavorRef": "1", "networks": "none"}},
        token=token, version=V)
    assert response.status_int == 202
    return response.json["server"]["id"]


def action(client, server_id, body, token="admin:admin"):
    return client.post(f"/v2.1/servers/{server_id}/action", body, token=token, version=V)


# -- actions ---------------------------------------------------------------------------
def test_stop_start_reboot_are_202_and_reach_the_compute(client, compute):
    server_id = create(client)
    assert action(client, server_id, {"os-stop": None}).status_int == 202
    assert client.get(f"/v2.1/servers/{server_id}").json["server"]["status"] == "SHUTOFF"
    assert action(client, server_id, {"os-start": None}).status_int == 202
    assert action(client, server_id, {"reboot": {"type": "SOFT"}}).status_int == 202
    assert action(client, server_id, {"reboot": {"type": "hard"}}).status_int == 202
    assert compute.compute_rpcapi.calls == [
        ("stop", server_id), ("start", server_id), ("reboot", server_id, "SOFT"),
        ("reboot", server_id, "HARD")]


@pytest.mark.parametrize("first,second", [
    ({"os-start": None}, None),
    ({"os-stop": None}, {"os-stop": None}),
    ({"os-stop": None}, {"reboot": {"type": "SOFT"}}),
])
def test_wrong_state_is_409(client, first, second):
    server_id = create(client)
    if second is None:
        response = action(client, server_id, first)
    else:
        assert action(client, server_id, first).status_int == 202
        response = action(client, server_id, second)
    assert response.status_int == 409
    assert "while it is in vm_state" in response.json["conflictingRequest"]["message"]


def test_task_in_progress_is_409(client, compute):
    server_id = create(client)
    compute.db.instance_update(server_id, {"task_state": "powering-off"})
    response = action(client, server_id, {"os-stop": None})
    assert response.status_int == 409
    assert "task_state powering-off" in response.json["conflictingRequest"]["message"]


@pytest.mark.parametrize("body,words", [
    ({"os-fly": None}, "There is no such action: os-fly"),
    ({"reboot": {"type": "WARM"}}, "is not one of"),
    ({"reboot": {}}, "'type' is a required property"),
    ({"reboot": "HARD"}, "is not of type 'object'"),
    ({"reboot": {"type": "SOFT", "x": 1}}, "Additional properties"),
    ({"os-stop": 5}, "is not of type 'null'"),
    ({"os-stop": None, "os-start": None}, "Only one action"),
    ({}, "one action"),
])
def test_bad_action_bodies_are_400(client, body, words):
    server_id = create(client)
    response = action(client, server_id, body)
    assert response.status_int == 400
    assert words in response.json["badRequest"]["message"]


def test_instance_actions_with_events(client):
    server_id = create(client, token="demo:demo")
    action(client, server_id, {"os-stop": None}, token="demo:demo")
    listed = client.get(f"/v2.1/servers/{server_id}/os-instance-actions", token="demo:demo",
                        version=V).json["instanceActions"]
    assert [a["action"] for a in listed] == ["stop", "create"]
    create_action = listed[-1]
    assert create_action["instance_uuid"] == server_id
    assert create_action["request_id"].startswith("req-")
    assert "updated_at" in create_action
    shown = client.get(
        f"/v2.1/servers/{server_id}/os-instance-actions/{create_action['request_id']}",
        token="demo:demo", version=V).json["instanceAction"]
    event = shown["events"][0]
    assert event["event"] == "compute__do_build_and_run_instance"
    assert event["result"] == "Success"
    assert "traceback" not in event and "host" not in event and len(event["hostId"]) == 56
    admin = client.get(
        f"/v2.1/servers/{server_id}/os-instance-actions/{create_action['request_id']}",
        version=V).json["instanceAction"]["events"][0]
    assert admin["host"] in ("host1", "host2") and "traceback" in admin
    old = client.get(
        f"/v2.1/servers/{server_id}/os-instance-actions/{create_action['request_id']}",
        token="demo:demo", version="2.50").json["instanceAction"]
    assert "events" not in old  # events for members only from 2.51
    missing = client.get(f"/v2.1/servers/{server_id}/os-instance-actions/req-nope",
                         token="demo:demo")
    assert missing.status_int == 404
    other = client.get(f"/v2.1/servers/{server_id}/os-instance-actions", token="eve:eve")
    assert other.status_int == 404


def test_the_request_id_of_an_action_is_the_response_request_id(client):
    server_id = create(client)
    response = action(client, server_id, {"os-stop": None})
    request_id = response.headers["x-openstack-request-id"]
    shown = client.get(f"/v2.1/servers/{server_id}/os-instance-actions/{request_id}",
                       version=V)
    assert shown.json["instanceAction"]["action"] == "stop"


# -- flavors ---------------------------------------------------------------------------
def test_flavors_list_detail_show(client):
    listed = client.get("/v2.1/flavors", version=V).json["flavors"]
    assert [f["name"] for f in listed] == ["m1.tiny", "m1.small", "m1.medium", "m1.large",
                                           "m1.xlarge"]
    assert set(listed[0]) == {"id", "name", "links", "description"}
    detail = client.get("/v2.1/flavors/detail?is_public=None", version="2.61").json["flavors"]
    tiny = detail[0]
    assert tiny["ram"] == 512 and tiny["vcpus"] == 1 and tiny["disk"] == 1
    assert tiny["os-flavor-access:is_public"] is True and tiny["extra_specs"] == {}
    assert tiny["swap"] == ""  # an int only from 2.75
    assert client.get("/v2.1/flavors/detail", version="2.75").json["flavors"][0]["swap"] == 0
    assert "extra_specs" not in client.get("/v2.1/flavors/detail", version="2.60").json[
        "flavors"][0]
    shown = client.get("/v2.1/flavors/2", version=V).json["flavor"]
    assert shown["name"] == "m1.small"


def test_flavor_by_name_is_404_like_nova(client):
    response = client.get("/v2.1/flavors/m1.tiny", version="2.61")
    assert response.status_int == 404
    assert response.json["itemNotFound"]["message"] == "Flavor m1.tiny could not be found."


def test_flavor_filters_and_paging(client):
    assert [f["id"] for f in client.get("/v2.1/flavors?minRam=4096").json["flavors"]] == [
        "3", "4", "5"]
    page = client.get("/v2.1/flavors?limit=2&marker=1").json
    assert [f["id"] for f in page["flavors"]] == ["2", "3"]
    assert "flavors_links" in page
    assert client.get("/v2.1/flavors?is_public=maybe").status_int == 400
    assert client.get("/v2.1/flavors?minRam=lots").status_int == 400


# -- services --------------------------------------------------------------------------
def test_services_list_is_admin_only(client):
    services = client.get("/v2.1/os-services", version="2.69").json["services"]
    assert {(s["binary"], s["host"]) for s in services} >= {
        ("nova-compute", "host1"), ("nova-compute", "host2"), ("nova-conductor", "controller")}
    compute = next(s for s in services if s["host"] == "host1")
    assert compute["state"] == "up" and compute["status"] == "enabled"
    assert compute["zone"] == "nova" and len(compute["id"]) == 36
    assert next(s for s in services if s["binary"] == "nova-conductor")["zone"] == "internal"
    assert isinstance(client.get("/v2.1/os-services").json["services"][0]["id"], int)
    filtered = client.get("/v2.1/os-services?binary=nova-compute&host=host2").json["services"]
    assert [s["host"] for s in filtered] == ["host2"]
    denied = client.get("/v2.1/os-services", token="demo:demo")
    assert denied.status_int == 403 and "forbidden" in denied.json


def test_service_disable_enable_by_uuid(client):
    services = client.get("/v2.1/os-services", version="2.53").json["services"]
    compute = next(s for s in services if s["binary"] == "nova-compute")
    url = f"/v2.1/os-services/{compute['id']}"
    disabled = client.put(url, {"status": "disabled", "disabled_reason": "maintenance"},
                          version="2.53")
    assert disabled.status_int == 200
    assert disabled.json["service"]["status"] == "disabled"
    assert disabled.json["service"]["disabled_reason"] == "maintenance"
    enabled = client.put(url, {"status": "enabled"}, version="2.53").json["service"]
    assert enabled["status"] == "enabled" and enabled["disabled_reason"] is None
    forced = client.put(url, {"forced_down": True}, version="2.53").json["service"]
    assert forced["forced_down"] is True
    conductor = next(s for s in services if s["binary"] == "nova-conductor")
    assert client.put(f"/v2.1/os-services/{conductor['id']}", {"status": "disabled"},
                      version="2.53").status_int == 400
    for bad in ({}, {"status": "off"}, {"status": "enabled", "disabled_reason": "x"},
                {"forced_down": "yes"}, {"color": 1}):
        assert client.put(url, bad, version="2.53").status_int == 400
    assert client.put("/v2.1/os-services/enable", {"host": "host1", "binary": "nova-compute"},
                      version="2.53").status_int == 400
    missing = client.put("/v2.1/os-services/11111111-2222-3333-4444-555555555555",
                         {"status": "disabled"}, version="2.53")
    assert missing.status_int == 404


def test_service_legacy_actions(client):
    body = {"host": "host1", "binary": "nova-compute"}
    disabled = client.put("/v2.1/os-services/disable", body, version="2.52")
    assert disabled.json == {"service": {"host": "host1", "binary": "nova-compute",
                                         "status": "disabled"}}
    reason = client.put("/v2.1/os-services/disable-log-reason",
                        dict(body, disabled_reason="why"), version="2.52").json["service"]
    assert reason["disabled_reason"] == "why"
    listed = client.get("/v2.1/os-services?host=host1", version="2.52").json["services"]
    assert listed[0]["status"] == "disabled" and listed[0]["disabled_reason"] == "why"
    assert client.put("/v2.1/os-services/enable", body).json["service"]["status"] == "enabled"
    assert client.put("/v2.1/os-services/dance", body).status_int == 404
    assert client.put("/v2.1/os-services/enable", {"host": "nowhere",
                                                   "binary": "nova-compute"}).status_int == 404
    assert client.put("/v2.1/os-services/enable", {"host": 1}).status_int == 400


# -- hypervisors -----------------------------------------------------------------------
def test_hypervisor_fields_follow_the_microversion(client):
    old = client.get("/v2.1/os-hypervisors/detail", version="2.87").json["hypervisors"]
    new = client.get("/v2.1/os-hypervisors/detail", version="2.88").json["hypervisors"]
    assert old[0]["vcpus"] == 16 and old[0]["memory_mb"] == 65536
    assert old[0]["vcpus_used"] == 0 and "local_gb_used" in old[0]
    for key in ("vcpus", "memory_mb", "local_gb", "vcpus_used", "memory_mb_used",
                "running_vms", "cpu_info"):
        assert key not in new[0]
    assert "uptime" in new[0]
    assert new[0]["hypervisor_type"] == "fake" and new[0]["state"] == "up"
    assert new[0]["service"]["host"] == new[0]["hypervisor_hostname"]
    listed = client.get("/v2.1/os-hypervisors", version="2.88").json["hypervisors"]
    assert set(listed[0]) == {"id", "hypervisor_hostname", "state", "status"}


def test_hypervisor_show_and_errors(client):
    listed = client.get("/v2.1/os-hypervisors", version="2.53").json["hypervisors"]
    shown = client.get(f"/v2.1/os-hypervisors/{listed[0]['id']}", version="2.53")
    assert shown.json["hypervisor"]["hypervisor_hostname"] == listed[0]["hypervisor_hostname"]
    int_ids = client.get("/v2.1/os-hypervisors").json["hypervisors"]
    assert client.get(f"/v2.1/os-hypervisors/{int_ids[0]['id']}").status_int == 200
    assert client.get("/v2.1/os-hypervisors/999").status_int == 404
    assert client.get("/v2.1/os-hypervisors/abc", version="2.53").status_int == 400
    assert client.get("/v2.1/os-hypervisors", token="demo:demo").status_int == 403
    stats = client.get("/v2.1/os-hypervisors/statistics").json["hypervisor_statistics"]
    assert stats["count"] == 2 and stats["vcpus"] == 32
    pattern = client.get("/v2.1/os-hypervisors?hypervisor_hostname_pattern=host2",
                         version="2.53").json["hypervisors"]
    assert [h["hypervisor_hostname"] for h in pattern] == ["host2"]


# -- zones, image, network -------------------------------------------------------------
def test_availability_zones(client):
    zones = client.get("/v2.1/os-availability-zone", token="demo:demo").json
    assert zones == {"availabilityZoneInfo": [
        {"zoneName": "nova", "zoneState": {"available": True}, "hosts": None}]}
    detail = client.get("/v2.1/os-availability-zone/detail").json["availabilityZoneInfo"]
    assert [z["zoneName"] for z in detail] == ["nova", "internal"]
    assert detail[0]["hosts"]["host1"]["nova-compute"]["available"] is True
    assert client.get("/v2.1/os-availability-zone/detail",
                      token="demo:demo").status_int == 403


def test_image_service(client):
    by_name = client.get("/image/v2/images?name=cirros-0.6.2-x86_64-disk").json["images"]
    assert [i["id"] for i in by_name] == [IMAGE]
    by_ids = client.get(f"/image/v2/images?id=in%3A{IMAGE}").json["images"]
    assert by_ids[0]["name"] == "cirros-0.6.2-x86_64-disk"
    assert client.get("/image/v2/images?id=in%3A").json["images"] == []
    assert client.get(f"/image/v2/images/{IMAGE}").json["id"] == IMAGE
    assert client.get("/image/v2/images/cirros-0.6.2-x86_64-disk").status_int == 404
    assert client.get("/image/v2/images", token=None).status_int == 401


def test_network_service(client):
    assert client.get(f"/network/v2.0/networks/{PRIVATE['id']}").json["network"][
        "name"] == "private"
    assert client.get("/network/v2.0/networks/private").status_int == 404
    named = client.get("/network/v2.0/networks?name=private").json["networks"]
    assert [n["id"] for n in named] == [PRIVATE["id"]]
    assert len(client.get("/network/v2.0/networks").json["networks"]) == 2


# -- generic errors --------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/v2.1/nope", "/v2/servers", "/v2.1/servers/x/y/z", "/nope",
                                  "/image/v1/images", "/network/v2.0/routers"])
def test_unknown_path_is_404_fault(client, path):
    response = client.get(path)
    assert response.status_int == 404
    assert response.json["itemNotFound"]["code"] == 404


@pytest.mark.parametrize("method,path,allowed", [
    ("DELETE", "/v2.1/servers", "GET, POST"),
    ("PUT", "/v2.1/flavors", "GET, POST"),
    ("PATCH", "/v2.1/servers/x", "DELETE, GET, PUT"),
    ("GET", "/v2.1/servers/x/action", "POST"),
])
def test_wrong_method_is_405_with_allow(client, method, path, allowed):
    response = client.request(method, path)
    assert response.status_int == 405
    assert response.headers["Allow"] == allowed
    assert response.json["badMethod"]["code"] == 405


def test_head_is_get_without_body(client):
    response = client.request("HEAD", "/v2.1/flavors")
    assert response.status_int == 200 and response.body == b""


def test_small_resources_the_cli_asks_for(client):
    assert client.get("/v2.1/flavors/1/os-extra_specs").json == {"extra_specs": {}}
    assert client.get("/v2.1/flavors/9/os-extra_specs").status_int == 404
    assert client.get("/v2.1/os-aggregates").json == {"aggregates": []}  # none made
    assert client.get("/v2.1/os-aggregates", token="demo:demo").status_int == 403
    create(client, token="demo:demo")
    absolute = client.get("/v2.1/limits", token="demo:demo").json["limits"]["absolute"]
    assert absolute["maxTotalInstances"] == 10 and absolute["totalInstancesUsed"] == 1
    assert absolute["totalCoresUsed"] == 1 and absolute["totalRAMUsed"] == 512
    assert client.get("/network/v2.0/extensions").json == {"extensions": []}
