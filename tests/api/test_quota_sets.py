"""``/os-quota-sets`` and ``/os-quota-class-sets``: views per microversion, updates that
the API then enforces, policy."""

from __future__ import annotations

import pytest

from .test_servers import body

PATH = "/v2.1/os-quota-sets"


def test_show_defaults_and_fields_per_microversion(client):
    shown = client.get(f"{PATH}/demo", token="demo:demo").json["quota_set"]
    assert shown["id"] == "demo" and shown["instances"] == 10 and shown["cores"] == 20
    assert shown["floating_ips"] == 10 and shown["injected_files"] == 5
    at_236 = client.get(f"{PATH}/demo", token="demo:demo", version="2.36").json["quota_set"]
    assert "floating_ips" not in at_236 and "injected_files" in at_236
    at_257 = client.get(f"{PATH}/demo", token="demo:demo", version="2.57").json["quota_set"]
    assert "injected_files" not in at_257 and at_257["server_groups"] == 10
    assert client.get(f"{PATH}/demo/defaults", token="demo:demo").json["quota_set"] == shown
    assert client.get(f"{PATH}/alt", token="demo:demo").status_int == 403


def test_update_is_enforced_and_delete_restores_the_defaults(client):
    updated = client.put(f"{PATH}/demo", {"quota_set": {"instances": "1", "cores": 4}})
    assert updated.status_int == 200
    assert updated.json["quota_set"]["instances"] == 1 and "id" not in updated.json[
        "quota_set"]
    assert client.post("/v2.1/servers", body(), token="demo:demo",
                       version="2.100").status_int == 202
    over = client.post("/v2.1/servers", body(), token="demo:demo", version="2.100")
    assert over.status_int == 403 and "instances" in over.json["forbidden"]["message"]
    assert client.get("/v2.1/limits", token="demo:demo").json["limits"]["absolute"][
        "maxTotalInstances"] == 1
    detail = client.get(f"{PATH}/demo/detail", token="demo:demo").json["quota_set"]
    assert detail["instances"] == {"limit": 1, "in_use": 1, "reserved": 0}
    below = client.put(f"{PATH}/demo", {"quota_set": {"instances": 0}})
    assert below.status_int == 400
    assert client.put(f"{PATH}/demo", {"quota_set": {"instances": 0, "force": True}}
                      ).status_int == 200
    assert client.delete(f"{PATH}/demo").status_int == 202
    assert client.get(f"{PATH}/demo", token="demo:demo").json["quota_set"]["instances"] == 10


def test_user_quotas(client):
    client.put(f"{PATH}/demo?user_id=u1", {"quota_set": {"ram": 2048}})
    assert client.get(f"{PATH}/demo?user_id=u1").json["quota_set"]["ram"] == 2048
    assert client.get(f"{PATH}/demo").json["quota_set"]["ram"] == 51200


@pytest.mark.parametrize("version, change", [
    ("2.1", {"instances": -2}), ("2.1", {"instances": "many"}), ("2.1", {"nope": 1}),
    ("2.36", {"floating_ips": 1}), ("2.57", {"injected_files": 1}),
    ("2.1", {"instances": True}),
])
def test_bad_updates_are_400(client, version, change):
    response = client.put(f"{PATH}/demo", {"quota_set": change}, version=version)
    assert response.status_int == 400


def test_writes_are_for_admins(client):
    assert client.put(f"{PATH}/demo", {"quota_set": {"instances": 1}},
                      token="demo:demo").status_int == 403
    assert client.delete(f"{PATH}/demo", token="demo:demo").status_int == 403
    assert client.get("/v2.1/os-quota-class-sets/default", token="demo:demo").status_int \
        == 403


def test_quota_classes_default_changes_every_projects_defaults(client):
    shown = client.get("/v2.1/os-quota-class-sets/default").json["quota_class_set"]
    assert shown["id"] == "default" and "server_groups" not in shown
    assert "floating_ips" in shown
    at_250 = client.get("/v2.1/os-quota-class-sets/default", version="2.50").json[
        "quota_class_set"]
    assert "server_groups" in at_250 and "floating_ips" not in at_250
    updated = client.put("/v2.1/os-quota-class-sets/default",
                         {"quota_class_set": {"key_pairs": 7}})
    assert updated.status_int == 200 and updated.json["quota_class_set"]["key_pairs"] == 7
    assert client.get(f"{PATH}/anyone/defaults").json["quota_set"]["key_pairs"] == 7
    assert client.put("/v2.1/os-quota-class-sets/default", {"quota_class_set": {
        "server_groups": 1}}).status_int == 400  # not a quota class resource below 2.50
