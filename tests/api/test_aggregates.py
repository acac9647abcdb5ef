"""``/os-aggregates``: Nova's answers, the hosts' availability zones, policy."""

from __future__ import annotations

import pytest

PATH = "/v2.1/os-aggregates"


def make(client, name="agg", zone=None, version="2.41"):
    spec = {"name": name}
    if zone is not None:
        spec["availability_zone"] = zone
    response = client.post(PATH, {"aggregate": spec}, version=version)
    assert response.status_int == 200, response.body
    return response.json["aggregate"]


def test_create_show_update_hosts_metadata_and_delete(client):
    made = make(client, zone="az1")
    assert made["name"] == "agg" and made["availability_zone"] == "az1"
    assert "hosts" not in made and "metadata" not in made and made["uuid"]
    path = f"{PATH}/{made['id']}"
    added = client.post(f"{path}/action", {"add_host": {"host": "host1"}}).json["aggregate"]
    assert added["hosts"] == ["host1"] and added["metadata"] == {"availability_zone": "az1"}
    zones = {z["zoneName"] for z in client.get("/v2.1/os-availability-zone").json[
        "availabilityZoneInfo"]}
    assert "az1" in zones
    again = client.post(f"{path}/action", {"add_host": {"host": "host1"}})
    assert again.status_int == 409
    assert again.json["conflictingRequest"]["message"] == (
        f"Aggregate {made['id']} already has host host1.")
    meta = client.post(f"{path}/action", {"set_metadata": {"metadata": {"k": "v"}}}).json
    assert meta["aggregate"]["metadata"] == {"availability_zone": "az1", "k": "v"}
    unset = client.post(f"{path}/action", {"set_metadata": {"metadata": {"k": None}}}).json
    assert unset["aggregate"]["metadata"] == {"availability_zone": "az1"}
    renamed = client.put(path, {"aggregate": {"name": "agg2"}}).json["aggregate"]
    assert renamed["name"] == "agg2" and renamed["hosts"] == ["host1"]
    assert client.delete(path).status_int == 400  # it has a host
    removed = client.post(f"{path}/action", {"remove_host": {"host": "host1"}}).json
    assert removed["aggregate"]["hosts"] == []
    zones = {z["zoneName"] for z in client.get("/v2.1/os-availability-zone").json[
        "availabilityZoneInfo"]}
    assert "az1" not in zones
    assert client.delete(path).status_int == 200
    assert client.get(path).status_int == 404
    assert client.get(PATH).json == {"aggregates": []}


def test_the_aggregates_zone_is_a_zone_servers_may_ask_for(client):
    from .test_servers import body

    made = make(client, zone="az1")
    unknown = client.post("/v2.1/servers", body(availability_zone="az1"), token="demo:demo",
                          version="2.100")
    assert unknown.status_int == 400  # no host in az1 yet
    client.post(f"{PATH}/{made['id']}/action", {"add_host": {"host": "host2"}})
    booted = client.post("/v2.1/servers", body(availability_zone="az1"), token="demo:demo",
                         version="2.100")
    assert booted.status_int == 202, booted.body


@pytest.mark.parametrize("spec", [{"name": ""}, {"name": "x" * 256}, {"name": " x"},
                                  {"name": "a", "availability_zone": ""},
                                  {"name": "a", "other": 1}, {}])
def test_bad_create_is_400(client, spec):
    assert client.post(PATH, {"aggregate": spec}).status_int == 400


def test_conflicts_and_missing_things(client):
    made = make(client)
    assert client.post(PATH, {"aggregate": {"name": "agg"}}).status_int == 409
    path = f"{PATH}/{made['id']}/action"
    assert client.post(path, {"add_host": {"host": "nope"}}).status_int == 404
    assert client.post(path, {"remove_host": {"host": "host1"}}).status_int == 404
    assert client.post(path, {"remove_host": {"host": "nope"}}).status_int == 404
    assert client.get(f"{PATH}/999").status_int == 404
    assert client.get(f"{PATH}/abc").status_int == 404
    assert client.post(path, {"nope": {}}).status_int == 400
    assert client.put(f"{PATH}/{made['id']}", {"aggregate": {}}).status_int == 400


def test_a_host_cannot_be_in_two_zones(client):
    first = make(client, "a", zone="az1")
    second = make(client, "b", zone="az2")
    client.post(f"{PATH}/{first['id']}/action", {"add_host": {"host": "host1"}})
    refused = client.post(f"{PATH}/{second['id']}/action", {"add_host": {"host": "host1"}})
    assert refused.status_int == 400
    assert client.post(PATH, {"aggregate": {"name": "c", "availability_zone": "internal"}}
                       ).status_int == 400


def test_admin_only(client):
    made = make(client)
    for response in (client.get(PATH, token="demo:demo"),
                     client.post(PATH, {"aggregate": {"name": "x"}}, token="demo:demo"),
                     client.get(f"{PATH}/{made['id']}", token="demo:demo"),
                     client.delete(f"{PATH}/{made['id']}", token="demo:demo"),
                     client.post(f"{PATH}/{made['id']}/action",
                                 {"add_host": {"host": "host1"}}, token="demo:demo")):
        assert response.status_int == 403
