"""``/servers``: create (and its input checks), list, detail, filters, paging, show, delete."""

from __future__ import annotations

import pytest

from nova_sim.api.network import PRIVATE

from .fakes import make_compute_api, set_error

IMAGE = "13dbfda8-883f-5c6c-a946-6ad6d8486726"
V = "2.100"


def body(**server):
    base = {"name": "vm", "imageRef": IMAGE, "flavorRef": "1", "networks": "none"}
    base.update(server)
    return {"server": {k: v for k, v in base.items() if v is not ...}}


def create(client, token="admin:admin", **server):
    response = client.post("/v2.1/servers", body(**server), token=token, version=V)
    assert response.status_int == 202, response.body
    return response.json["server"]["id"]


def test_create_answers_202_with_nova_shape(client):
    response = client.post("/v2.1/servers", body(), version=V)
    assert response.status_int == 202
    server = response.json["server"]
    assert set(server) == {"id", "links", "adminPass", "security_groups", "OS-DCF:diskConfig"}
    assert response.headers["Location"] == f"http://localhost/v2.1/servers/{server['id']}"
    assert server["links"][0] == {"rel": "self", "href": response.headers["Location"]}


def test_create_as_the_openstack_cli_sends_it(client):
    bdm = [{"uuid": IMAGE, "boot_index": 0, "source_type": "image",
            "destination_type": "local", "delete_on_termination": True}]
    server_id = create(client, min_count=1, max_count=1, block_device_mapping_v2=bdm,
                       networks=[{"uuid": PRIVATE["id"]}])
    shown = client.get(f"/v2.1/servers/{server_id}", version=V).json["server"]
    assert shown["status"] == "ACTIVE"
    assert shown["addresses"]["private"][0]["addr"].startswith("10.0.0.")


def test_create_many_and_metadata_and_zone(client):
    create(client, name="many", min_count=2, max_count=3, metadata={"k": "v"},
           availability_zone="nova")
    servers = client.get("/v2.1/servers/detail?name=many", version=V).json["servers"]
    assert sorted(s["name"] for s in servers) == ["many-1", "many-2", "many-3"]
    assert all(s["metadata"] == {"k": "v"} for s in servers)
    assert all(s["OS-EXT-AZ:availability_zone"] == "nova" for s in servers)


@pytest.mark.parametrize("server,words", [
    ({"name": ...}, "'name' is a required property"),
    ({"name": ""}, "too short"),
    ({"name": " vm"}, "must not start or end with a space"),
    ({"name": 42}, "is not of type 'string'"),
    ({"name": "x" * 256}, "too long"),
    ({"flavorRef": ...}, "'flavorRef' is a required property"),
    ({"flavorRef": "99"}, "Flavor 99 could not be found"),
    ({"flavorRef": ["1"]}, "is not of type"),
    ({"imageRef": "nope"}, "Invalid imageRef"),
    ({"imageRef": "11111111-2222-3333-4444-555555555555"}, "could not be found"),
    ({"imageRef": 7}, "is not of type 'string'"),
    ({"networks": ...}, "'networks' is a required property"),
    ({"networks": "all"}, "is not one of"),
    ({"networks": [{"uuid": "bad"}]}, "network uuid is not in proper format"),
    ({"networks": [{"uuid": "11111111-2222-3333-4444-555555555555"}]}, "could not be found"),
    ({"networks": [{"port": "p1"}]}, "Ports are not supported"),
    ({"networks": [{"nope": 1}]}, "Additional properties"),
    ({"networks": 5}, "is not of type"),
    ({"min_count": 0}, "less than the minimum"),
    ({"min_count": "x"}, "not a positive integer"),
    ({"min_count": 3, "max_count": 2}, "min_count must be <= max_count"),
    ({"metadata": []}, "is not of type 'object'"),
    ({"metadata": {"k": 1}}, "is not of type 'string'"),
    ({"metadata": {"": "v"}}, "Metadata keys"),
    ({"availability_zone": "mars"}, "availability zone is not available"),
    ({"availability_zone": 3}, "is not of type 'string'"),
    ({"block_device_mapping_v2": {}}, "is not of type 'array'"),
    ({"block_device_mapping_v2": [{"bogus": 1}]}, "Additional properties"),
    ({"color": "blue"}, "Additional properties are not allowed ('color' were unexpected)"),
])
def test_create_rejects_bad_input_with_400(client, server, words):
    response = client.post("/v2.1/servers", body(**server), version=V)
    assert response.status_int == 400, response.body
    assert words in response.json["badRequest"]["message"]


@pytest.mark.parametrize("raw,words", [
    (b"{", "Malformed request body"),
    (b"", "empty"),
    (b"[]", "must be a JSON object"),
    (b'{"server": 1}', "is not of type 'object'"),
    (b'{"other": {}}', "'server' is a required property"),
])
def test_create_rejects_bad_bodies(client, raw, words):
    response = client.request("POST", "/v2.1/servers", raw=raw, version=V)
    assert response.status_int == 400
    assert words in response.json["badRequest"]["message"]


def test_create_rejects_non_json_content_type(client):
    response = client.request("POST", "/v2.1/servers", raw=b"<xml/>", version=V,
                              headers={"Content-Type": "application/xml"})
    assert response.status_int == 415
    assert "badMediaType" in response.json


def test_networks_optional_before_2_37(client):
    response = client.post("/v2.1/servers", body(networks=...), version="2.36")
    assert response.status_int == 202


def test_networks_none_below_2_37_says_which_microversion(client):
    response = client.post("/v2.1/servers", body(networks="none"), version="2.1")
    assert response.status_int == 400
    message = response.json["badRequest"]["message"]
    assert "needs microversion 2.37" in message


def test_show_shape_for_admin_and_member(client):
    server_id = create(client, token="demo:demo")
    member = client.get(f"/v2.1/servers/{server_id}", token="demo:demo", version=V)
    admin = client.get(f"/v2.1/servers/{server_id}", version=V)
    for view in (member.json["server"], admin.json["server"]):
        assert view["id"] == server_id
        assert view["status"] == "ACTIVE"
        assert view["tenant_id"] == "demo"
        assert view["OS-EXT-STS:vm_state"] == "active"
        assert view["OS-EXT-STS:power_state"] == 1
        assert view["flavor"]["original_name"] == "m1.tiny"
        assert view["image"]["id"] == IMAGE
        assert len(view["hostId"]) == 56
        assert view["created"].endswith("Z")
        assert view["links"][1]["rel"] == "bookmark"
    assert "OS-EXT-SRV-ATTR:host" not in member.json["server"]
    assert admin.json["server"]["OS-EXT-SRV-ATTR:host"] in ("host1", "host2")
    assert admin.json["server"]["OS-EXT-SRV-ATTR:hypervisor_hostname"] in ("host1", "host2")


def test_flavor_view_before_2_47_is_a_link(client):
    server_id = create(client)
    view = client.get(f"/v2.1/servers/{server_id}", version="2.46").json["server"]
    assert view["flavor"]["id"] == "1"
    assert view["flavor"]["links"][0]["rel"] == "bookmark"
    assert "locked" in view and "tags" in view and "scheduler_hints" not in view


def test_building_server_is_build(app, conf):
    from nova_sim.api.app import APIApplication

    from .conftest import Client

    client = Client(APIApplication(make_compute_api(build_state="building"), conf))
    server_id = create(client)
    view = client.get(f"/v2.1/servers/{server_id}", version=V).json["server"]
    assert view["status"] == "BUILD"
    assert view["OS-EXT-STS:task_state"] == "scheduling"
    assert view["hostId"] == ""


def test_error_server_shows_its_fault(client, compute):
    server_id = create(client, token="demo:demo")
    set_error(compute, server_id)
    member = client.get(f"/v2.1/servers/{server_id}", token="demo:demo", version=V)
    assert member.json["server"]["status"] == "ERROR"
    fault = member.json["server"]["fault"]
    assert fault["code"] == 500 and "No valid host" in fault["message"]
    assert "details" not in fault  # a 500's details are for admins only
    admin = client.get(f"/v2.1/servers/{server_id}", version=V).json["server"]["fault"]
    assert admin["details"].startswith("Traceback")


@pytest.mark.parametrize("vm_state,task_state,status", [
    ("active", "rebooting", "REBOOT"),
    ("active", "rebooting_hard", "HARD_REBOOT"),
    ("active", "reboot_started_hard", "HARD_REBOOT"),
    ("active", "powering-off", "ACTIVE"),
    ("stopped", None, "SHUTOFF"),
    ("error", None, "ERROR"),
    ("building", "spawning", "BUILD"),
])
def test_status_is_derived_from_states(client, compute, vm_state, task_state, status):
    server_id = create(client)
    compute.db.instance_update(server_id, {"vm_state": vm_state, "task_state": task_state})
    view = client.get(f"/v2.1/servers/{server_id}", version=V).json["server"]
    assert view["status"] == status


def test_projects_cannot_see_each_other(client):
    alice = create(client, token="alice:alpha", name="a")
    bob = create(client, token="bob:beta", name="b")
    assert [s["id"] for s in client.get("/v2.1/servers", token="alice:alpha").json[
        "servers"]] == [alice]
    assert [s["id"] for s in client.get("/v2.1/servers/detail", token="bob:beta").json[
        "servers"]] == [bob]
    for method in ("GET", "DELETE"):
        response = client.request(method, f"/v2.1/servers/{bob}", token="alice:alpha")
        assert response.status_int == 404
        assert "itemNotFound" in response.json
    action = client.post(f"/v2.1/servers/{bob}/action", {"os-stop": None}, token="alice:alpha")
    assert action.status_int == 404


def test_all_tenants_for_admins_only(client):
    create(client, token="alice:alpha")
    create(client, token="bob:beta")
    admin_own = client.get("/v2.1/servers").json["servers"]
    assert admin_own == []
    everyone = client.get("/v2.1/servers?all_tenants=1").json["servers"]
    assert len(everyone) == 2
    only_bob = client.get("/v2.1/servers/detail?all_tenants=True&project_id=beta",
                          version=V).json["servers"]
    assert [s["tenant_id"] for s in only_bob] == ["beta"]
    forbidden = client.get("/v2.1/servers?all_tenants=1", token="alice:alpha")
    assert forbidden.status_int == 403
    assert "get_all_tenants" in forbidden.json["forbidden"]["message"]


def test_filters_name_status_host(client, compute):
    first = create(client, name="web-1")
    second = create(client, name="web-2")
    create(client, name="db-1")
    compute.db.instance_update(second, {"vm_state": "stopped"})
    names = lambda q: sorted(s["name"] for s in client.get(  # noqa: E731
        "/v2.1/servers/detail" + q, version=V).json["servers"])
    assert names("?name=web") == ["web-1", "web-2"]
    assert names("?name=^db") == ["db-1"]
    assert names("?status=SHUTOFF") == ["web-2"]
    assert names("?status=ACTIVE&name=web") == ["web-1"]
    assert names("?status=NOPE") == []
    host = compute.db.instance_get(first)["host"]
    assert "web-1" in names(f"?host={host}")
    assert client.get("/v2.1/servers?name=(", version=V).status_int == 400


def test_host_filter_ignored_for_members(client):
    create(client, token="demo:demo")
    servers = client.get("/v2.1/servers?host=nowhere", token="demo:demo").json["servers"]
    assert len(servers) == 1


def test_limit_and_marker(client):
    ids = [create(client, name=f"p{i}") for i in range(5)]
    page = client.get("/v2.1/servers?limit=2", version=V).json
    assert len(page["servers"]) == 2
    assert page["servers_links"][0]["rel"] == "next"
    assert "marker=" + page["servers"][-1]["id"] in page["servers_links"][0]["href"]
    rest = client.get(f"/v2.1/servers?marker={page['servers'][-1]['id']}", version=V).json
    assert len(rest["servers"]) == 3 and "servers_links" not in rest
    assert {s["id"] for s in page["servers"] + rest["servers"]} == set(ids)


@pytest.mark.parametrize("query", ["limit=x", "limit=-1", "marker=nope"])
def test_bad_paging_is_400(client, query):
    create(client)
    response = client.get(f"/v2.1/servers?{query}", version=V)
    assert response.status_int == 400
    assert "badRequest" in response.json


def test_delete_and_unknown_ids(client, compute):
    server_id = create(client)
    assert client.delete(f"/v2.1/servers/{server_id}", version=V).status_int == 204
    assert client.get(f"/v2.1/servers/{server_id}", version=V).status_int == 404
    assert client.delete(f"/v2.1/servers/{server_id}", version=V).status_int == 404
    assert client.get("/v2.1/servers/osc-vm1", version=V).status_int == 404


def test_update_name_and_description(client):
    server_id = create(client)
    response = client.put(f"/v2.1/servers/{server_id}",
                          {"server": {"name": "renamed", "description": "d"}}, version=V)
    assert response.status_int == 200
    assert response.json["server"]["name"] == "renamed"
    assert response.json["server"]["description"] == "d"
    bad = client.put(f"/v2.1/servers/{server_id}", {"server": {"flavor": 1}}, version=V)
    assert bad.status_int == 400


def test_instance_quota(client, conf):
    conf.set_override("instances", 3, group="quota")
    create(client, token="q:q", min_count=2, max_count=2)
    assert client.post("/v2.1/servers", body(min_count=1, max_count=5), token="q:q",
                       version=V).status_int == 202  # only one more fits: one is built
    assert len(client.get("/v2.1/servers", token="q:q").json["servers"]) == 3
    over = client.post("/v2.1/servers", body(), token="q:q", version=V)
    assert over.status_int == 403
    assert "Quota exceeded for instances" in over.json["forbidden"]["message"]
    create(client, token="other:other")  # quotas are per project


def test_create_records_the_optional_fields(client):
    client.post("/v2.1/os-keypairs", {"keypair": {"name": "k"}}, version="2.91")
    client.post("/v2.1/os-security-groups", {"security_group": {"name": "web",
                                                                "description": ""}})
    server_id = create(client, key_name="k", description="d", user_data="dXNlcg==",
                       accessIPv4="192.0.2.1", config_drive=True,
                       security_groups=[{"name": "web"}], metadata={"a": "b"})
    view = client.get(f"/v2.1/servers/{server_id}", version=V).json["server"]
    assert view["key_name"] == "k" and view["description"] == "d"
    assert view["accessIPv4"] == "192.0.2.1" and view["config_drive"] == "True"
    assert view["OS-EXT-SRV-ATTR:user_data"] == "dXNlcg=="
    bad = client.post("/v2.1/servers", body(security_groups="web"), version=V)
    assert bad.status_int == 400


def test_changes_since_and_sorting(client, compute):
    first = create(client, name="a")
    second = create(client, name="b")
    compute.db.instance_update(first, {"updated_at": "2020-01-01T00:00:00.000000"})
    recent = client.get("/v2.1/servers?changes-since=2021-01-01T00:00:00Z").json["servers"]
    assert [s["id"] for s in recent] == [second]
    assert client.get("/v2.1/servers?changes-since=yesterday").status_int == 400
    ordered = client.get("/v2.1/servers?sort_key=display_name&sort_dir=asc").json["servers"]
    assert [s["name"] for s in ordered] == ["a", "b"]
    assert client.get("/v2.1/servers?sort_key=bogus").status_int == 400
    assert client.get("/v2.1/servers?sort_key=display_name&sort_dir=up").status_int == 400


def test_list_filters_image_flavor_and_ip(client):
    tiny = create(client, token="demo:demo", networks="auto")
    small = create(client, token="demo:demo", networks="auto", flavorRef="2")
    names = {s["id"] for s in client.get("/v2.1/servers?flavor=2", token="demo:demo").json[
        "servers"]}
    assert names == {small}
    assert client.get("/v2.1/servers?flavor=nope", token="demo:demo").json == {"servers": []}
    image = client.get(f"/v2.1/servers/{tiny}", token="demo:demo").json["server"]["image"]
    by_image = client.get(f"/v2.1/servers/detail?image={image['id']}", token="demo:demo")
    assert {s["id"] for s in by_image.json["servers"]} == {tiny, small}
    assert client.get("/v2.1/servers?image=" + "0" * 32, token="demo:demo").json == {
        "servers": []}
    address = next(iter(client.get(f"/v2.1/servers/{tiny}", token="demo:demo").json[
        "server"]["addresses"].values()))[0]["addr"]
    by_ip = client.get(f"/v2.1/servers?ip={address.replace('.', '[.]')}$",
                       token="demo:demo").json["servers"]
    assert [s["id"] for s in by_ip] == [tiny]
    assert client.get("/v2.1/servers?ip=^203[.]0[.]113", token="demo:demo").json == {
        "servers": []}


def test_access_ips_are_checked_and_ipv6_normalized(client):
    server = create(client, accessIPv4="192.0.2.7",
                    accessIPv6="0000:0000:0000:0000:0000:babe:220.12.22.2")
    view = client.get(f"/v2.1/servers/{server}", version=V).json["server"]
    assert view["accessIPv4"] == "192.0.2.7" and view["accessIPv6"] == "::babe:dc0c:1602"
    for bad in ({"accessIPv4": "1.1.1.1.1"}, {"accessIPv6": "notv6"},
                {"accessIPv4": "::1"}):
        assert client.post("/v2.1/servers", body(**bad), version=V).status_int == 400
    updated = client.put(f"/v2.1/servers/{server}", {"server": {"accessIPv4": "192.0.2.8"}},
                         version=V)
    assert updated.json["server"]["accessIPv4"] == "192.0.2.8"
    assert client.put(f"/v2.1/servers/{server}", {"server": {"accessIPv6": "x"}},
                      version=V).status_int == 400


def test_update_answers_nova_s_short_view_below_2_75(client):
    server = create(client)
    old = client.put(f"/v2.1/servers/{server}", {"server": {"name": "n"}},
                     version="2.74").json["server"]
    assert old["name"] == "n"
    assert not [k for k in old if k.startswith(("OS-EXT-", "OS-SRV-USG"))]
    assert "key_name" not in old and "config_drive" not in old
    new = client.put(f"/v2.1/servers/{server}", {"server": {"name": "m"}},
                     version="2.75").json["server"]
    assert "OS-EXT-STS:vm_state" in new and "key_name" in new


def test_list_filter_reservation_id(client):
    reservation = client.post("/v2.1/servers", body(min_count=2, return_reservation_id=True),
                              token="demo:demo", version=V).json["reservation_id"]
    create(client, token="demo:demo")
    found = client.get(f"/v2.1/servers?reservation_id={reservation}", token="demo:demo")
    assert len(found.json["servers"]) == 2
