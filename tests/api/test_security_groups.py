"""The security group proxies: groups, rules, a server's groups, views, checks, scoping."""

from __future__ import annotations

import pytest

from .test_servers import body

PATH = "/v2.1/os-security-groups"
RULES = "/v2.1/os-security-group-rules"


def make(client, name="web", token="demo:demo"):
    response = client.post(PATH, {"security_group": {"name": name, "description": "d"}},
                           token=token)
    assert response.status_int == 200, response.body
    return response.json["security_group"]


def rule(client, group, token="demo:demo", **fields):
    spec = {"parent_group_id": group, "ip_protocol": "tcp", "from_port": 22,
            "to_port": 22, **fields}
    return client.post(RULES, {"security_group_rule": spec}, token=token)


def test_default_group_create_rules_update_and_delete(client):
    listed = client.get(PATH, token="demo:demo").json["security_groups"]
    assert [g["name"] for g in listed] == ["default"]
    group = make(client)
    assert group["tenant_id"] == "demo" and group["rules"] == []
    made = rule(client, group["id"], cidr="10.0.0.7/8")
    assert made.status_int == 200
    shown = made.json["security_group_rule"]
    assert shown["ip_range"] == {"cidr": "10.0.0.7/8"} and shown["group"] == {}
    by_group = rule(client, group["id"], group_id=listed[0]["id"], from_port=80, to_port=80)
    assert by_group.json["security_group_rule"]["group"] == {"name": "default",
                                                            "tenant_id": "demo"}
    assert rule(client, group["id"], cidr="10.0.0.7/8").status_int == 400  # duplicate
    full = client.get(f"{PATH}/{group['id']}", token="demo:demo").json["security_group"]
    assert len(full["rules"]) == 2
    renamed = client.put(f"{PATH}/{group['id']}", {"security_group": {"name": "www"}},
                         token="demo:demo").json["security_group"]
    assert renamed["name"] == "www" and renamed["description"] == "d"
    rule_id = shown["id"]
    assert client.delete(f"{RULES}/{rule_id}", token="demo:demo").status_int == 202
    assert client.delete(f"{RULES}/{rule_id}", token="demo:demo").status_int == 404
    assert client.delete(f"{PATH}/{group['id']}", token="demo:demo").status_int == 202
    assert client.get(f"{PATH}/{group['id']}", token="demo:demo").status_int == 404
    assert client.delete(f"{PATH}/{listed[0]['id']}", token="demo:demo").status_int == 400


@pytest.mark.parametrize("fields", [
    {"ip_protocol": "gre"}, {"from_port": 0}, {"to_port": 70000}, {"from_port": 30,
                                                                    "to_port": 20},
    {"from_port": "x"}, {"cidr": "10.0.0.0/33"},
    {"ip_protocol": "icmp", "from_port": 256, "to_port": -1},
])
def test_bad_rules_are_400(client, fields):
    group = make(client)
    assert rule(client, group["id"], **fields).status_int == 400


def test_missing_groups_are_404(client):
    group = make(client)
    missing = "4f3b0b5e-43a4-4c1e-9a58-0c1e1c6c9b11"
    assert rule(client, missing).status_int == 404
    assert rule(client, group["id"], group_id=missing).status_int == 404
    assert client.get(f"{PATH}/{missing}", token="demo:demo").status_int == 404
    assert client.get(f"{PATH}/nope", token="demo:demo").status_int == 400
    assert rule(client, "nope").status_int == 400
    assert client.delete(f"{PATH}/", token="demo:demo").status_int == 404


def test_groups_are_per_project_and_admins_see_all(client):
    group = make(client)
    assert client.get(f"{PATH}/{group['id']}", token="alt:alt").status_int == 404
    assert rule(client, group["id"], token="alt:alt").status_int == 404
    make(client, "other", token="alt:alt")
    everyone = client.get(f"{PATH}?all_tenants=true").json["security_groups"]
    assert {g["tenant_id"] for g in everyone} >= {"demo", "alt", "admin"}
    assert {g["tenant_id"] for g in client.get(f"{PATH}?all_tenants=true",
                                               token="demo:demo").json[
        "security_groups"]} == {"demo"}


def test_servers_name_existing_groups_and_list_them(client):
    refused = client.post("/v2.1/servers", body(security_groups=[{"name": "web"}]),
                          token="demo:demo", version="2.100")
    assert refused.status_int == 400
    assert "Security group web not found" in refused.json["badRequest"]["message"]
    group = make(client)
    made = client.post("/v2.1/servers", body(security_groups=[{"name": "web"}]),
                       token="demo:demo", version="2.100")
    assert made.status_int == 202
    server = made.json["server"]["id"]
    groups = client.get(f"/v2.1/servers/{server}/os-security-groups", token="demo:demo")
    assert [g["id"] for g in groups.json["security_groups"]] == [group["id"]]
    in_use = client.delete(f"{PATH}/{group['id']}", token="demo:demo")
    assert in_use.status_int == 400


def test_gone_at_2_36(client):
    assert client.get(PATH, token="demo:demo", version="2.36").status_int == 404
