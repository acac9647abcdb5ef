"""``POST /flavors`` and ``DELETE /flavors/{id}``: admin only, Nova's checks and answers."""

from __future__ import annotations

import pytest

FLAVOR = {"name": "m1.test", "ram": 256, "vcpus": 2, "disk": 5}


def test_create_show_use_and_delete(client):
    response = client.post("/v2.1/flavors", {"flavor": dict(FLAVOR, id="42", swap=128,
                                                            description="a test")},
                           version="2.75")
    assert response.status_int == 200
    flavor = response.json["flavor"]
    assert (flavor["id"], flavor["name"], flavor["ram"], flavor["vcpus"], flavor["disk"],
            flavor["swap"], flavor["description"]) == ("42", "m1.test", 256, 2, 5, 128,
                                                       "a test")
    assert flavor["os-flavor-access:is_public"] is True
    assert client.get("/v2.1/flavors/42").json["flavor"]["name"] == "m1.test"
    assert client.delete("/v2.1/flavors/42").status_int == 202
    assert client.get("/v2.1/flavors/42").status_int == 404
    missing = client.delete("/v2.1/flavors/42")
    assert missing.status_int == 404
    assert missing.json["itemNotFound"]["message"] == "Flavor 42 could not be found."


def test_an_id_is_made_when_none_is_given(client):
    flavor = client.post("/v2.1/flavors", {"flavor": FLAVOR}).json["flavor"]
    assert len(flavor["id"]) == 36


def test_taken_name_or_id_is_409(client):
    name = client.post("/v2.1/flavors", {"flavor": dict(FLAVOR, name="m1.tiny")})
    assert name.status_int == 409
    assert name.json["conflictingRequest"]["message"] == \
        "Flavor with name m1.tiny already exists."
    ident = client.post("/v2.1/flavors", {"flavor": dict(FLAVOR, id="1")})
    assert ident.status_int == 409
    assert ident.json["conflictingRequest"]["message"] == "Flavor with ID 1 already exists."


def test_admin_only(client):
    assert client.post("/v2.1/flavors", {"flavor": FLAVOR}, token="demo:demo").status_int \
        == 403
    refused = client.delete("/v2.1/flavors/1", token="demo:demo")
    assert refused.status_int == 403 and "flavor-manage" in refused.json["forbidden"]["message"]
    assert client.get("/v2.1/flavors/1").status_int == 200


@pytest.mark.parametrize("change", [
    {"name": ""}, {"name": " padded"}, {"ram": 0}, {"vcpus": "two"}, {"disk": -1},
    {"id": "bad/id"}, {"rxtx_factor": 0}, {"os-flavor-access:is_public": "maybe"},
    {"unknown": 1}, {"ram": True},
])
def test_bad_input_is_400(client, change):
    response = client.post("/v2.1/flavors", {"flavor": dict(FLAVOR, **change)})
    assert response.status_int == 400, response.body
    assert "badRequest" in response.json


def test_a_number_id_and_a_string_boolean_are_taken_as_nova_takes_them(client):
    made = client.post("/v2.1/flavors", {"flavor": dict(
        FLAVOR, id=12345, **{"os-flavor-access:is_public": "False"})})
    assert made.status_int == 200, made.body
    assert made.json["flavor"]["id"] == "12345"
    assert made.json["flavor"]["os-flavor-access:is_public"] is False
    assert client.get("/v2.1/flavors/12345").status_int == 200


def test_missing_field_and_description_before_2_55_are_400(client):
    body = {k: v for k, v in FLAVOR.items() if k != "ram"}
    response = client.post("/v2.1/flavors", {"flavor": body})
    assert "'ram' is a required property" in response.json["badRequest"]["message"]
    early = client.post("/v2.1/flavors", {"flavor": dict(FLAVOR, description="x")},
                        version="2.54")
    assert early.status_int == 400
    late = client.post("/v2.1/flavors", {"flavor": dict(FLAVOR, description="x")},
                       version="2.55")
    assert late.status_int == 200 and late.json["flavor"]["description"] == "x"


def test_ints_as_strings_are_accepted(client):
    flavor = client.post("/v2.1/flavors", {"flavor": dict(FLAVOR, ram="512")}).json["flavor"]
    assert flavor["ram"] == 512
