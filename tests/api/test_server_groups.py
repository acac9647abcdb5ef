"""``/os-server-groups``: Nova's views per microversion, checks, quota and scoping."""

from __future__ import annotations

import pytest

from nova_sim import conf as nova_conf
from nova_sim.api.app import APIApplication

from .conftest import Client
from .fakes import make_compute_api
from .test_servers import body

PATH = "/v2.1/os-server-groups"


def test_create_show_list_boot_into_and_delete_at_2_1(client):
    made = client.post(PATH, {"server_group": {"name": "g", "policies": ["affinity"]}},
                       token="demo:demo")
    assert made.status_int == 200
    group = made.json["server_group"]
    assert set(group) == {"id", "name", "policies", "members", "metadata"}
    assert group["policies"] == ["affinity"] and group["members"] == []
    booted = client.post("/v2.1/servers", dict(body(), **{
        "os:scheduler_hints": {"group": group["id"]}}), token="demo:demo", version="2.100")
    assert booted.status_int == 202, booted.body
    server = booted.json["server"]["id"]
    shown = client.get(f"{PATH}/{group['id']}", token="demo:demo").json["server_group"]
    assert shown["members"] == [server]
    listed = client.get(PATH, token="demo:demo").json["server_groups"]
    assert [g["id"] for g in listed] == [group["id"]]
    assert client.get(PATH, token="alt:alt").json == {"server_groups": []}
    assert client.get(f"{PATH}/{group['id']}", token="alt:alt").status_int == 404
    client.delete(f"/v2.1/servers/{server}", token="demo:demo")
    assert client.get(f"{PATH}/{group['id']}", token="demo:demo").json[
        "server_group"]["members"] == []
    assert client.delete(f"{PATH}/{group['id']}", token="demo:demo").status_int == 204
    assert client.get(f"{PATH}/{group['id']}", token="demo:demo").status_int == 404


def test_2_13_and_2_64_views(client):
    made = client.post(PATH, {"server_group": {"name": "g", "policy": "anti-affinity",
                                               "rules": {"max_server_per_host": 2}}},
                       token="demo:demo", version="2.64").json["server_group"]
    assert made["policy"] == "anti-affinity" and made["rules"] == {"max_server_per_host": 2}
    assert "policies" not in made and "metadata" not in made
    assert made["project_id"] == "demo" and made["user_id"] == "demo"
    old = client.get(f"{PATH}/{made['id']}", token="demo:demo", version="2.12").json
    assert "project_id" not in old["server_group"]
    assert old["server_group"]["policies"] == ["anti-affinity"]


@pytest.mark.parametrize("version, spec", [
    ("2.1", {"name": "g", "policies": ["soft-affinity"]}),  # soft-* from 2.15
    ("2.1", {"name": "g", "policies": ["affinity", "anti-affinity"]}),
    ("2.1", {"name": "g", "policy": "affinity"}),
    ("2.1", {"name": "", "policies": ["affinity"]}),
    ("2.64", {"name": "g", "policies": ["affinity"]}),
    ("2.64", {"name": "g", "policy": "affinity", "rules": {"max_server_per_host": 2}}),
    ("2.64", {"name": "g", "policy": "anti-affinity", "rules": {"other": 1}}),
    ("2.64", {"name": "g", "policy": "nope"}),
])
def test_bad_bodies_are_400(client, version, spec):
    response = client.post(PATH, {"server_group": spec}, version=version)
    assert response.status_int == 400, response.body


def test_soft_policies_from_2_15(client):
    response = client.post(PATH, {"server_group": {"name": "g", "policies": [
        "soft-anti-affinity"]}}, version="2.15")
    assert response.status_int == 200


def test_admin_lists_all_projects_and_pages(client):
    for token in ("demo:demo", "alt:alt", "alt:alt"):
        client.post(PATH, {"server_group": {"name": "g", "policies": ["affinity"]}},
                    token=token)
    assert len(client.get(f"{PATH}?all_projects=true").json["server_groups"]) == 3
    assert len(client.get(PATH).json["server_groups"]) == 0  # the admin's own project
    assert len(client.get(f"{PATH}?all_projects=true", token="alt:alt").json[
        "server_groups"]) == 2  # not for non-admins
    assert len(client.get(f"{PATH}?all_projects=1&limit=1&offset=1").json[
        "server_groups"]) == 1
    assert client.get(f"{PATH}?offset=-1").status_int == 400


def test_quota_server_groups():
    conf = nova_conf.new_conf()
    conf.set_override("server_groups", 1, "quota")
    client = Client(APIApplication(make_compute_api(conf=conf), conf))
    spec = {"server_group": {"name": "g", "policies": ["affinity"]}}
    assert client.post(PATH, spec, token="demo:demo").status_int == 200
    refused = client.post(PATH, spec, token="demo:demo")
    assert refused.status_int == 403
    assert refused.json["forbidden"]["message"] == "Quota exceeded, too many server groups."
    assert client.post(PATH, spec, token="alt:alt").status_int == 200
