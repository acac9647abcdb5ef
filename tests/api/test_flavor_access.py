"""Flavor extra specs, flavor access and the flavor description update: Nova's status
codes, bodies, policy and microversion boundaries."""

from __future__ import annotations

import pytest

from .test_servers import body

PRIVATE = {"name": "m1.private", "ram": 256, "vcpus": 1, "disk": 1, "id": "p1",
           "os-flavor-access:is_public": False}
SPECS = "/v2.1/flavors/1/os-extra_specs"


def test_extra_specs_set_read_update_and_unset(client):
    assert client.get(SPECS, token="demo:demo").json == {"extra_specs": {}}
    created = client.post(SPECS, {"extra_specs": {"hw:cpu_policy": "shared", "n": 2}})
    assert created.status_int == 200
    assert created.json == {"extra_specs": {"hw:cpu_policy": "shared", "n": 2}}
    merged = client.post(SPECS, {"extra_specs": {"a": "b"}}).json
    assert merged == {"extra_specs": {"a": "b"}}
    assert client.get(SPECS, token="demo:demo").json == {
        "extra_specs": {"hw:cpu_policy": "shared", "n": 2, "a": "b"}}
    assert client.get(f"{SPECS}/a", token="demo:demo").json == {"a": "b"}
    updated = client.put(f"{SPECS}/a", {"a": "c"})
    assert updated.status_int == 200 and updated.json == {"a": "c"}
    unset = client.delete(f"{SPECS}/a")
    assert unset.status_int == 200 and unset.body == b""
    missing = client.get(f"{SPECS}/a")
    assert missing.status_int == 404
    assert missing.json["itemNotFound"]["message"] == "Flavor 1 has no extra specs with key a."
    assert client.delete(f"{SPECS}/a").status_int == 404
    shown = client.get("/v2.1/flavors/1", version="2.61").json["flavor"]
    assert shown["extra_specs"] == {"hw:cpu_policy": "shared", "n": 2}


@pytest.mark.parametrize("path, payload, message", [
    ("/a", {"b": "1"}, "Request body and URI mismatch"),
    ("/a", {"a": "1", "b": "2"}, "Request body contains too many items"),
    ("/a", {"a": "x" * 256}, "longer than 255"),
    ("/a", {"a": ["list"]}, "is not of type"),
    ("", {"extra_specs": {"bad key!": "1"}}, "does not match"),
    ("", {"specs": {}}, "'extra_specs' is a required property"),
])
def test_extra_specs_bad_bodies_are_400(client, path, payload, message):
    method = client.put if path else client.post
    response = method(SPECS + path, payload)
    assert response.status_int == 400
    assert message in response.json["badRequest"]["message"]


def test_extra_specs_writes_are_for_admins(client):
    for response in (client.post(SPECS, {"extra_specs": {"a": "b"}}, token="demo:demo"),
                     client.put(f"{SPECS}/a", {"a": "b"}, token="demo:demo"),
                     client.delete(f"{SPECS}/a", token="demo:demo")):
        assert response.status_int == 403
    assert client.get(SPECS).json == {"extra_specs": {}}
    assert client.get("/v2.1/flavors/nope/os-extra_specs").status_int == 404


def test_flavor_access_add_list_use_and_remove(client):
    assert client.post("/v2.1/flavors", {"flavor": PRIVATE}).status_int == 200
    # Without access: not listed, not shown, not bootable.
    names = [f["name"] for f in client.get("/v2.1/flavors", token="demo:demo").json["flavors"]]
    assert "m1.private" not in names
    assert client.get("/v2.1/flavors/p1", token="demo:demo").status_int == 404
    refused = client.post("/v2.1/servers", body(flavorRef="p1"), token="demo:demo",
                          version="2.100")
    assert refused.status_int == 400
    assert client.get("/v2.1/flavors/p1/os-flavor-access").json == {"flavor_access": []}
    added = client.post("/v2.1/flavors/p1/action", {"addTenantAccess": {"tenant": "demo"}})
    assert added.status_int == 200
    assert added.json == {"flavor_access": [{"flavor_id": "p1", "tenant_id": "demo"}]}
    again = client.post("/v2.1/flavors/p1/action", {"addTenantAccess": {"tenant": "demo"}})
    assert again.status_int == 409
    names = [f["name"] for f in client.get("/v2.1/flavors", token="demo:demo").json["flavors"]]
    assert "m1.private" in names
    assert client.get("/v2.1/flavors/p1", token="demo:demo").status_int == 200
    assert client.get("/v2.1/flavors/p1", token="alt:alt").status_int == 404
    booted = client.post("/v2.1/servers", body(flavorRef="p1"), token="demo:demo",
                         version="2.100")
    assert booted.status_int == 202
    removed = client.post("/v2.1/flavors/p1/action",
                          {"removeTenantAccess": {"tenant": "demo"}})
    assert removed.status_int == 200 and removed.json == {"flavor_access": []}
    gone = client.post("/v2.1/flavors/p1/action", {"removeTenantAccess": {"tenant": "demo"}})
    assert gone.status_int == 404
    assert gone.json["itemNotFound"]["message"] == (
        "Flavor access not found for p1 / demo combination.")
    assert client.get("/v2.1/flavors/p1", token="demo:demo").status_int == 404


def test_flavor_access_of_a_public_flavor(client):
    listed = client.get("/v2.1/flavors/1/os-flavor-access")
    assert listed.status_int == 404
    assert listed.json["itemNotFound"]["message"] == (
        "Access list not available for public flavors.")
    added = client.post("/v2.1/flavors/1/action", {"addTenantAccess": {"tenant": "demo"}})
    assert added.status_int == 409
    assert added.json["conflictingRequest"]["message"] == (
        "Can not add access to a public flavor.")


def test_flavor_access_is_for_admins_and_checks_the_body(client):
    client.post("/v2.1/flavors", {"flavor": PRIVATE})
    assert client.get("/v2.1/flavors/p1/os-flavor-access", token="demo:demo").status_int == 403
    assert client.post("/v2.1/flavors/p1/action", {"addTenantAccess": {"tenant": "demo"}},
                       token="demo:demo").status_int == 403
    for payload in ({"addTenantAccess": {}}, {"addTenantAccess": {"tenant": ""}},
                    {"addTenantAccess": {"tenant": "a", "x": 1}}, {"nope": {}}):
        assert client.post("/v2.1/flavors/p1/action", payload).status_int == 400
    assert client.post("/v2.1/flavors/zz/action",
                       {"addTenantAccess": {"tenant": "a"}}).status_int == 404


def test_deleting_a_flavor_forgets_its_access(client):
    client.post("/v2.1/flavors", {"flavor": PRIVATE})
    client.post("/v2.1/flavors/p1/action", {"addTenantAccess": {"tenant": "demo"}})
    assert client.delete("/v2.1/flavors/p1").status_int == 202
    client.post("/v2.1/flavors", {"flavor": PRIVATE})
    assert client.get("/v2.1/flavors/p1/os-flavor-access").json == {"flavor_access": []}


def test_description_update_from_2_55(client):
    path = "/v2.1/flavors/1"
    updated = client.put(path, {"flavor": {"description": "tiny"}}, version="2.55")
    assert updated.status_int == 200 and updated.json["flavor"]["description"] == "tiny"
    assert client.get(path, version="2.55").json["flavor"]["description"] == "tiny"
    assert client.put(path, {"flavor": {"description": "x"}}, version="2.54").status_int == 404
    assert client.put(path, {"flavor": {"name": "x"}}, version="2.55").status_int == 400
    assert client.put(path, {"flavor": {"description": "x"}}, token="demo:demo",
                      version="2.55").status_int == 403
    assert client.put("/v2.1/flavors/zz", {"flavor": {"description": "x"}},
                      version="2.55").status_int == 404
