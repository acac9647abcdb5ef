"""Version documents, microversion negotiation, request ids and the auth strategies."""

from __future__ import annotations

import pytest

from nova_sim.api.app import APIApplication

GLOBAL_ID = "req-12345678-1234-1234-1234-123456789abc"


@pytest.mark.parametrize("path", ["/", "/v2.1", "/v2.1/"])
def test_version_documents_need_no_token(client, path):
    response = client.get(path, token=None)
    assert response.status_int == 200
    body = response.json
    doc = body["versions"][1] if path == "/" else body["version"]
    assert doc["id"] == "v2.1"
    assert doc["version"] == "2.100"
    assert doc["min_version"] == "2.1"
    assert doc["status"] == "CURRENT"
    assert doc["links"][0]["href"] == "http://localhost/v2.1/"


def test_the_legacy_v2_0_entry_comes_first_and_its_link_is_followable(client):
    versions = client.get("/", token=None).json["versions"]
    assert [v["id"] for v in versions] == ["v2.0", "v2.1"]
    assert versions[0]["status"] == "SUPPORTED" and versions[0]["version"] == ""
    for version in versions:
        href = version["links"][0]["href"].replace("http://localhost", "")
        followed = client.get(href, token=None)
        assert followed.status_int == 200
        assert followed.json["version"]["links"][0] == version["links"][0]
        assert followed.json["version"]["id"] == version["id"]


def test_image_and_network_version_documents(client):
    image = client.get("/image", token=None)
    assert image.status_int == 300
    assert image.json["versions"][0]["links"][0]["href"] == "http://localhost/image/v2/"
    network = client.get("/network", token=None)
    assert network.status_int == 200
    assert network.json["versions"][0]["id"] == "v2.0"


def test_missing_token_is_401_with_how_to(client):
    response = client.get("/v2.1/servers", token=None)
    assert response.status_int == 401
    message = response.json["unauthorized"]["message"]
    assert "X-Auth-Token" in message and "admin:admin" in message
    assert response.json["unauthorized"]["code"] == 401


def test_open_strategy_needs_no_token(compute, conf):
    conf.set_override("auth_strategy", "open", group="api")
    from .conftest import Client

    client = Client(APIApplication(compute, conf))
    response = client.get("/v2.1/os-services", token=None)
    assert response.status_int == 200  # the anonymous caller is the admin


def test_token_without_colon_is_user_and_project(client):
    created = client.post("/v2.1/servers", _server_body(), token="alice", version="2.37")
    assert created.status_int == 202
    shown = client.get(f"/v2.1/servers/{created.json['server']['id']}", token="alice")
    assert shown.json["server"]["tenant_id"] == "alice"
    assert shown.json["server"]["user_id"] == "alice"


def _server_body(**extra):
    server = {"name": "vm", "imageRef": "13dbfda8-883f-5c6c-a946-6ad6d8486726",
              "flavorRef": "1", "networks": "none"}
    server.update(extra)
    return {"server": server}


def test_request_ids_on_every_response(client):
    for response in (client.get("/"), client.get("/v2.1/servers"), client.get("/v2.1/nope"),
                     client.get("/v2.1/servers", token=None)):
        request_id = response.headers["x-openstack-request-id"]
        assert request_id.startswith("req-") and len(request_id) == 40
        assert response.headers["x-compute-request-id"] == request_id


def test_valid_inbound_request_id_becomes_global_request_id(client, compute):
    seen = []
    original = compute.get_all

    def spy(ctxt, *args, **kwargs):
        seen.append(ctxt.global_request_id)
        return original(ctxt, *args, **kwargs)

    compute.get_all = spy
    client.get("/v2.1/servers", headers={"X-Openstack-Request-Id": GLOBAL_ID})
    client.get("/v2.1/servers", headers={"X-Openstack-Request-Id": "not-a-request-id"})
    assert seen == [GLOBAL_ID, None]


@pytest.mark.parametrize("header,value,expected", [
    ("OpenStack-API-Version", "compute 2.53", "2.53"),
    ("OpenStack-API-Version", "compute latest", "2.100"),
    ("X-OpenStack-Nova-API-Version", "2.60", "2.60"),
    ("X-OpenStack-Nova-API-Version", "latest", "2.100"),
    ("OpenStack-API-Version", "placement 1.2", "2.1"),
])
def test_microversion_headers_in_and_out(client, header, value, expected):
    response = client.get("/v2.1/flavors", headers={header: value})
    assert response.status_int == 200
    assert response.headers["OpenStack-API-Version"] == f"compute {expected}"
    assert response.headers["X-OpenStack-Nova-API-Version"] == expected
    assert "OpenStack-API-Version" in response.headers["Vary"]


def test_no_microversion_means_2_1(client):
    response = client.get("/v2.1/flavors")
    assert response.headers["OpenStack-API-Version"] == "compute 2.1"


def test_new_header_wins_over_legacy(client):
    response = client.get("/v2.1/flavors", headers={
        "OpenStack-API-Version": "compute 2.30", "X-OpenStack-Nova-API-Version": "2.5"})
    assert response.headers["X-OpenStack-Nova-API-Version"] == "2.30"


@pytest.mark.parametrize("value", ["compute 2.101", "compute 3.0", "compute 1.9", "compute 2.0"])
def test_microversion_out_of_range_is_406(client, value):
    response = client.get("/v2.1/flavors", headers={"OpenStack-API-Version": value})
    assert response.status_int == 406
    assert "Minimum is 2.1 and maximum is 2.100" in response.json["computeFault"]["message"]


@pytest.mark.parametrize("value", ["compute 2", "compute abc", "compute 2.x", "compute",
                                   "compute 2.01.1", "compute -2.5"])
def test_malformed_microversion_is_400(client, value):
    response = client.get("/v2.1/flavors", headers={"OpenStack-API-Version": value})
    assert response.status_int == 400
    assert "badRequest" in response.json


def test_project_id_in_url_is_accepted(client):
    assert client.get("/v2.1/admin/servers").status_int == 200
    response = client.get("/v2.1/other/servers")
    assert response.status_int == 400
    assert "doesn't match" in response.json["badRequest"]["message"]


def test_compute_link_prefix(compute, conf):
    conf.set_override("compute_link_prefix", "https://cloud.example/", group="api")
    from .conftest import Client

    client = Client(APIApplication(compute, conf))
    assert client.get("/").json["versions"][1]["links"][0]["href"] == (
        "https://cloud.example/v2.1/")


def test_unknown_auth_strategy_fails_at_start(compute, conf):
    class Conf:
        class api:  # noqa: N801 - mimics an option group
            auth_strategy = "ldap"
            max_limit = 1000
            compute_link_prefix = None

    with pytest.raises(ValueError, match="auth_strategy"):
        APIApplication(compute, Conf())


def test_request_log_line_in_the_request_context(client, caplog):
    import logging

    from nova_sim import context as nova_context

    seen = []

    class Capture(logging.Handler):
        def emit(self, record):
            current = nova_context.get_current()
            seen.append((record.getMessage(), current and current.user_id))

    handler = Capture()
    logger = logging.getLogger("nova_sim.api.requestlog")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        client.get("/v2.1/servers?limit=1", token="demo:demo", version="2.60")
        client.get("/", token=None)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    (first, first_user), (second, second_user) = seen
    assert '"GET /v2.1/servers?limit=1" status: 200' in first
    assert "microversion: 2.60" in first and first_user == "demo"
    assert second_user is None  # the previous request's context did not leak
    assert nova_context.get_current() is None
