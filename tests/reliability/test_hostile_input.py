"""Strings the database cannot store, policy on the requested destination (2.74),
the metadata-items limit and the per-request server count bound: each is a 4xx with
Nova's fault body, never a 500."""

from __future__ import annotations

import json

import pytest

from .conftest import IMAGE, NEW_VERSION, assert_fault, boot

SURROGATE = "\ud800"


def _raw(value) -> bytes:
    """JSON text with lone surrogates kept as ``\\ud800`` escapes (as a client sends)."""
    return json.dumps(value).encode()


def _server(**extra):
    return {"server": {"name": "vm", "imageRef": IMAGE, "flavorRef": "1",
                       "networks": "none", **extra}}


@pytest.mark.parametrize("bad", [SURROGATE, "x\udfffy", "nul\x00"])
@pytest.mark.parametrize("field", ["name", "description", "key_name", "hostname",
                                   "user_data", "availability_zone", "adminPass"])
def test_create_string_fields(client, field, bad):
    response = client.post("/v2.1/servers", raw=_raw(_server(**{field: bad})),
                           version=NEW_VERSION, token="demo:demo")
    assert_fault(response, 400)


@pytest.mark.parametrize("where", ["metadata key", "metadata value", "network", "hints"])
def test_create_nested_strings(client, where):
    body = _server()
    if where == "metadata key":
        body["server"]["metadata"] = {SURROGATE: "v"}
    elif where == "metadata value":
        body["server"]["metadata"] = {"k": SURROGATE}
    elif where == "network":
        body["server"]["networks"] = [{"uuid": SURROGATE}]
    else:
        body["os:scheduler_hints"] = {"group": SURROGATE}
    response = client.post("/v2.1/servers", raw=_raw(body), version=NEW_VERSION,
                           token="demo:demo")
    assert_fault(response, 400)


@pytest.mark.parametrize("field", ["name", "description", "hostname"])
def test_update_fields(client, field):
    server_id = boot(client)
    response = client.put(f"/v2.1/servers/{server_id}",
                          raw=_raw({"server": {field: SURROGATE}}), version=NEW_VERSION,
                          token="demo:demo")
    assert_fault(response, 400)


def test_service_disabled_reason(client):
    services = client.get("/v2.1/os-services", version=NEW_VERSION).json["services"]
    compute_id = next(s["id"] for s in services if s["binary"] == "nova-compute")
    response = client.put(f"/v2.1/os-services/{compute_id}", version=NEW_VERSION,
                          raw=_raw({"status": "disabled", "disabled_reason": SURROGATE}))
    assert_fault(response, 400)


def test_action_body(client):
    server_id = boot(client)
    response = client.post(f"/v2.1/servers/{server_id}/action", token="demo:demo",
                           raw=_raw({"createImage": {"name": SURROGATE}}))
    assert_fault(response, 400)


@pytest.mark.parametrize("query", ["name=%00", "host=%00", "status=%00", "marker=%00",
                                   "%00=1", "flavor=%00"])
def test_nul_in_query(client, query):
    assert_fault(client.get(f"/v2.1/servers/detail?{query}"), 400)


def test_nul_in_path(client):
    assert_fault(client.get("/v2.1/flavors/%00"), 400)


# -- requested destination (2.74) ------------------------------------------------------
def test_host_needs_2_74(client):
    response = client.post("/v2.1/servers", _server(host="host1"), version="2.73")
    assert "Additional properties" in assert_fault(response, 400)


@pytest.mark.parametrize("field", ["host", "hypervisor_hostname"])
def test_host_from_non_admin_is_403(client, field):
    response = client.post("/v2.1/servers", _server(**{field: "host1"}),
                           version="2.74", token="demo:demo")
    message = assert_fault(response, 403)
    assert "compute:servers:create:requested_destination" in message


@pytest.mark.parametrize("fields", [{"host": "nowhere"}, {"hypervisor_hostname": "nowhere"},
                                    {"host": "host1", "hypervisor_hostname": "host2"}])
def test_unknown_host_from_admin_is_400(client, fields):
    response = client.post("/v2.1/servers", _server(**fields), version="2.74")
    assert "could not be found" in assert_fault(response, 400)


def test_known_host_from_admin_is_placed_there(client, compute):
    response = client.post("/v2.1/servers", _server(host="host2", hypervisor_hostname="host2"),
                           version="2.74")
    assert response.status_int == 202, response.text
    spec = compute.db.request_spec_get(response.json["server"]["id"])
    assert spec["force_hosts"] == ["host2"]
    assert spec["requested_destination"] == {"host": "host2", "node": "host2"}


# -- metadata items and counts ---------------------------------------------------------
def test_metadata_items_limit_is_the_one_limits_reports(client):
    limit = client.get("/v2.1/limits", token="demo:demo").json["limits"]["absolute"][
        "maxServerMeta"]
    assert limit == 128
    at_limit = {f"k{n}": "v" for n in range(limit)}
    assert client.post("/v2.1/servers", _server(metadata=at_limit),
                       token="demo:demo", version=NEW_VERSION).status_int == 202
    over = {f"k{n}": "v" for n in range(3000)}
    message = assert_fault(client.post("/v2.1/servers", _server(metadata=over),
                                       token="demo:demo", version=NEW_VERSION), 403)
    assert "metadata" in message and "128" in message


@pytest.mark.parametrize("count", [1001, 10**9, 10**30])
def test_max_count_over_the_bound_is_400(client, conf, count):
    conf.set_override("instances", -1, "quota")
    body = _server(max_count=count)
    message = assert_fault(client.post("/v2.1/servers", body, token="demo:demo",
                                       version=NEW_VERSION), 400)
    assert "max_count" in message
    assert client.get("/v2.1/servers", token="demo:demo").json["servers"] == []
