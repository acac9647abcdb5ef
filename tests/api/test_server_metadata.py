"""``/servers/{id}/metadata[/{key}]``: Nova's status codes, bodies and checks."""

from __future__ import annotations

import pytest

from .fakes import make_compute_api
from .test_servers import body

V = "2.100"


def boot(client, token="demo:demo", **server):
    response = client.post("/v2.1/servers", body(**server), token=token, version=V)
    assert response.status_int == 202, response.body
    return response.json["server"]["id"]


def test_read_merge_replace_set_and_delete(client):
    server = boot(client, metadata={"a": "1"})
    path = f"/v2.1/servers/{server}/metadata"
    assert client.get(path, token="demo:demo").json == {"metadata": {"a": "1"}}
    merged = client.post(path, {"metadata": {"b": "2"}}, token="demo:demo")
    assert merged.status_int == 200 and merged.json == {"metadata": {"a": "1", "b": "2"}}
    replaced = client.put(path, {"metadata": {"c": "3"}}, token="demo:demo")
    assert replaced.status_int == 200 and replaced.json == {"metadata": {"c": "3"}}
    one = client.put(f"{path}/d", {"meta": {"d": "4"}}, token="demo:demo")
    assert one.status_int == 200 and one.json == {"meta": {"d": "4"}}
    assert client.get(f"{path}/d", token="demo:demo").json == {"meta": {"d": "4"}}
    assert client.delete(f"{path}/c", token="demo:demo").status_int == 204
    assert client.get(path, token="demo:demo").json == {"metadata": {"d": "4"}}
    shown = client.get(f"/v2.1/servers/{server}", token="demo:demo").json["server"]
    assert shown["metadata"] == {"d": "4"}


def test_missing_key_is_404(client):
    server = boot(client)
    for response in (client.get(f"/v2.1/servers/{server}/metadata/nope", token="demo:demo"),
                     client.delete(f"/v2.1/servers/{server}/metadata/nope",
                                   token="demo:demo")):
        assert response.status_int == 404
        assert response.json["itemNotFound"]["message"] == "Metadata item was not found"


@pytest.mark.parametrize("path_key, payload, message", [
    ("a", {"meta": {"b": "1"}}, "Request body and URI mismatch"),
    ("a", {"meta": {"a": "1", "b": "2"}}, "Request body contains too many items"),
    ("a", {"meta": {"a": 1}}, "is not of type 'string'"),
    ("a", {"metadata": {"a": "1"}}, "'meta' is a required property"),
    ("a", {"meta": {"a": "x" * 256}}, "at most 255"),
])
def test_set_one_item_checks_the_body(client, path_key, payload, message):
    server = boot(client)
    response = client.put(f"/v2.1/servers/{server}/metadata/{path_key}", payload,
                          token="demo:demo")
    assert response.status_int == 400
    assert message in response.json["badRequest"]["message"]


def test_more_than_128_items_is_403(client):
    server = boot(client)
    many = {f"k{i}": "v" for i in range(129)}
    response = client.put(f"/v2.1/servers/{server}/metadata", {"metadata": many},
                          token="demo:demo")
    assert response.status_int == 403
    assert "128" in response.json["forbidden"]["message"]
    assert client.get(f"/v2.1/servers/{server}/metadata", token="demo:demo").json == {
        "metadata": {}}


def test_another_projects_server_is_404_but_admin_may(client):
    server = boot(client)
    path = f"/v2.1/servers/{server}/metadata"
    assert client.get(path, token="alt:alt").status_int == 404
    assert client.post(path, {"metadata": {"a": "1"}}, token="alt:alt").status_int == 404
    assert client.post(path, {"metadata": {"a": "1"}}, token="admin:admin").status_int == 200


def test_a_building_server_is_409():
    from nova_sim.api.app import APIApplication
    from nova_sim.conf import new_conf

    from .conftest import Client

    client = Client(APIApplication(make_compute_api(build_state="building"), new_conf()))
    server = boot(client)
    response = client.post(f"/v2.1/servers/{server}/metadata", {"metadata": {"a": "1"}},
                           token="demo:demo")
    assert response.status_int == 409
    assert "conflictingRequest" in response.json
    assert client.get(f"/v2.1/servers/{server}/metadata", token="demo:demo").status_int == 200
