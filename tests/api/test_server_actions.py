"""The server actions beyond stop/start/reboot at the REST API: status codes, fault
bodies, microversion boundaries, the policy by user (noauth2) and by role (keystone), the
image records and the compute ``/images`` proxy."""

from __future__ import annotations

import pytest

from . import test_actions_resources as resources
from .test_identity import login

IMAGE = resources.IMAGE
V = resources.V


def create(client, token="demo:demo"):
    return resources.create(client, token=token)


def action(client, server_id, body, token="demo:demo", version=V):
    return client.post(f"/v2.1/servers/{server_id}/action", body, token=token,
                       version=version)


def status(client, server_id, token="demo:demo"):
    return client.get(f"/v2.1/servers/{server_id}", token=token,
                      version=V).json["server"]["status"]


@pytest.mark.parametrize("first,then,call", [
    ("pause", "PAUSED", "pause"), ("suspend", "SUSPENDED", "suspend"),
    ("shelve", "SHELVED_OFFLOADED", "shelve"),
])
def test_actions_without_argument_are_202_and_cast(client, compute, first, then, call):
    server_id = create(client)
    assert action(client, server_id, {first: None}).status_int == 202
    assert status(client, server_id) == then
    assert compute.compute_rpcapi.calls[-1] == (call, server_id)
    undo = {"pause": "unpause", "suspend": "resume", "shelve": "unshelve"}[first]
    assert action(client, server_id, {undo: None}).status_int == 202
    assert status(client, server_id) == "ACTIVE"
    actions = client.get(f"/v2.1/servers/{server_id}/os-instance-actions",
                         token="demo:demo").json["instanceActions"]
    assert [a["action"] for a in actions][:2] == [undo, first]


@pytest.mark.parametrize("body", [{"unpause": None}, {"resume": None}, {"unrescue": None},
                                  {"unshelve": None}, {"restore": None}])
def test_a_wrong_state_is_409(client, body):
    server_id = create(client)
    response = action(client, server_id, body)
    assert response.status_int == 409
    assert "while it is in vm_state active" in response.json["conflictingRequest"]["message"]


@pytest.mark.parametrize("body", [{"pause": {"x": 1}}, {"pause": 1}, {"lock": "now"},
                                  {"rescue": {"image": IMAGE}}, {"unshelve": "az"},
                                  {"os-getConsoleOutput": {"length": "ten"}},
                                  {"createImage": {}}, {"createImage": {"name": ""}},
                                  {"createBackup": {"name": "b", "backup_type": "daily"}},
                                  {"createBackup": {"name": "b", "backup_type": "daily",
                                                    "rotation": -1}},
                                  {"rebuild": {"name": "x"}},
                                  {"os-resetState": {"state": "paused"}}])
def test_malformed_bodies_are_400(client, body):
    server_id = create(client)
    token = "admin:admin" if "os-resetState" in body else "demo:demo"
    response = action(client, server_id, body, token=token)
    assert response.status_int == 400, response.body
    assert "badRequest" in response.json


def test_rescue_answers_the_password(client, compute):
    server_id = create(client)
    response = action(client, server_id, {"rescue": {"adminPass": "s3cret"}})
    assert response.status_int == 200 and response.json == {"adminPass": "s3cret"}
    assert status(client, server_id) == "RESCUE"
    assert action(client, server_id, {"unrescue": None}).status_int == 202
    generated = action(client, server_id, {"rescue": None}).json["adminPass"]
    assert isinstance(generated, str) and len(generated) == 12
    other = create(client)
    unknown = action(client, other, {"rescue": {
        "rescue_image_ref": "00000000-0000-0000-0000-000000000000"}})
    assert unknown.status_int == 400


def test_create_image_location_before_2_45_and_body_after(client):
    server_id = create(client)
    old = action(client, server_id, {"createImage": {"name": "snap",
                                                     "metadata": {"k": "v"}}}, version="2.44")
    assert old.status_int == 202 and old.body == b""
    image_id = old.headers["Location"].rsplit("/", 1)[1]
    assert old.headers["Location"].endswith(f"/image/images/{image_id}")
    new = action(client, server_id, {"createImage": {"name": "snap2"}}, version="2.45")
    assert new.status_int == 202 and "Location" not in new.headers
    second = new.json["image_id"]
    shown = client.get(f"/image/v2/images/{image_id}", token="demo:demo").json
    assert shown["status"] == "active" and shown["k"] == "v"
    assert shown["instance_uuid"] == server_id and shown["owner"] == "demo"
    assert shown["visibility"] == "private" and shown["image_type"] == "snapshot"
    assert client.get(f"/image/v2/images/{image_id}", token="alt:alt").status_int == 404
    listed = client.get("/image/v2/images", token="demo:demo").json["images"]
    assert {i["id"] for i in listed} == {IMAGE, image_id, second}
    assert {i["id"] for i in client.get("/image/v2/images", token="alt:alt")
            .json["images"]} == {IMAGE}


def test_create_image_in_a_wrong_state_is_409_and_leaves_no_image(client, compute):
    server_id = create(client)
    compute.db.instance_update(server_id, {"vm_state": "rescued"})
    response = action(client, server_id, {"createImage": {"name": "snap"}})
    assert response.status_int == 409
    assert [i["id"] for i in client.get("/image/v2/images").json["images"]] == [IMAGE]


def test_the_compute_images_proxy_until_2_35(client):
    server_id = create(client)
    image_id = action(client, server_id, {"createImage": {"name": "snap"}}).json["image_id"]
    shown = client.get(f"/v2.1/images/{image_id}", token="demo:demo", version="2.35")
    assert shown.status_int == 200
    image = shown.json["image"]
    assert image["status"] == "ACTIVE" and image["progress"] == 100
    assert image["server"]["id"] == server_id and image["OS-EXT-IMG-SIZE:size"] == 1024
    names = client.get("/v2.1/images", token="demo:demo", version="2.35").json["images"]
    assert {i["name"] for i in names} == {"cirros-0.6.2-x86_64-disk", "snap"}
    assert client.get(f"/v2.1/images/{image_id}", token="demo:demo",
                      version="2.36").status_int == 404
    assert client.delete(f"/v2.1/images/{IMAGE}", token="demo:demo").status_int == 403
    assert client.delete(f"/v2.1/images/{image_id}", token="alt:alt").status_int == 404
    assert client.delete(f"/v2.1/images/{image_id}", token="demo:demo").status_int == 204
    assert client.get(f"/v2.1/images/{image_id}", token="demo:demo").status_int == 404


def test_create_backup(client):
    server_id = create(client)
    body = {"createBackup": {"name": "b", "backup_type": "daily", "rotation": "2"}}
    response = action(client, server_id, body, version="2.1")
    assert response.status_int == 202
    assert "/v2.1/images/" in response.headers["Location"]
    image_id = response.headers["Location"].rsplit("/", 1)[1]
    image = client.get(f"/image/v2/images/{image_id}", token="demo:demo").json
    assert image["image_type"] == "backup" and image["backup_type"] == "daily"


def test_rebuild_answers_the_server(client, compute):
    server_id = create(client)
    response = action(client, server_id, {"rebuild": {
        "imageRef": IMAGE, "name": "rebuilt", "adminPass": "pw", "metadata": {"a": "b"}}})
    assert response.status_int == 202
    server = response.json["server"]
    assert server["id"] == server_id and server["name"] == "rebuilt"
    assert server["adminPass"] == "pw" and server["metadata"] == {"a": "b"}
    assert status(client, server_id) == "ACTIVE"
    missing = action(client, server_id, {"rebuild": {
        "imageRef": "00000000-0000-0000-0000-000000000000"}})
    assert missing.status_int == 400
    assert missing.json["badRequest"]["message"] == "Cannot find requested image"
    too_early = action(client, server_id, {"rebuild": {"imageRef": IMAGE,
                                                       "key_name": "k"}}, version="2.53")
    assert too_early.status_int == 400
    compute.db.instance_update(server_id, {"vm_state": "paused"})
    assert action(client, server_id, {"rebuild": {"imageRef": IMAGE}}).status_int == 409


def test_lock_and_unlock(client):
    server_id = create(client)
    assert action(client, server_id, {"lock": {"locked_reason": "r"}},
                  version="2.72").status_int == 400
    assert action(client, server_id, {"lock": {"locked_reason": "maintenance"}}
                  ).status_int == 202
    server = client.get(f"/v2.1/servers/{server_id}", token="demo:demo",
                        version="2.73").json["server"]
    assert server["locked"] is True and server["locked_reason"] == "maintenance"
    refused = action(client, server_id, {"pause": None})
    assert refused.status_int == 409
    assert "is locked" in refused.json["conflictingRequest"]["message"]
    assert client.delete(f"/v2.1/servers/{server_id}", token="demo:demo").status_int == 409
    assert action(client, server_id, {"pause": None}, token="admin:admin").status_int == 202
    assert action(client, server_id, {"unlock": None}).status_int == 202
    # a lock taken by an admin may only be lifted by an admin (unlock_override)
    assert action(client, server_id, {"lock": None}, token="admin:admin").status_int == 202
    assert action(client, server_id, {"unlock": None}).status_int == 403
    assert action(client, server_id, {"unlock": None}, token="admin:admin").status_int == 202


def test_admin_only_actions_by_user_under_noauth2(client):
    server_id = create(client)
    for body in ({"os-resetState": {"state": "error"}}, {"shelveOffload": None}):
        response = action(client, server_id, body)
        assert response.status_int == 403 and "forbidden" in response.json
    assert action(client, server_id, {"os-resetState": {"state": "error"}},
                  token="admin:admin").status_int == 202
    assert status(client, server_id) == "ERROR"
    actions = client.get(f"/v2.1/servers/{server_id}/os-instance-actions",
                         token="admin:admin").json["instanceActions"]
    assert actions[0]["action"] == "resetState"


def test_console_output(client, compute):
    server_id = create(client)
    response = action(client, server_id, {"os-getConsoleOutput": {"length": 5}})
    assert response.status_int == 200
    assert response.json["output"].split("\n") == [f"line {n}" for n in range(16, 21)]
    everything = action(client, server_id, {"os-getConsoleOutput": {"length": -1}})
    assert len(everything.json["output"].split("\n")) == 20
    assert compute.compute_rpcapi.calls[-1] == ("console", server_id, -1)
    compute.db.instance_update(server_id, {"host": None})
    assert action(client, server_id, {"os-getConsoleOutput": None}).status_int == 409


def test_restore_and_force_delete(client):
    server_id = create(client)
    assert action(client, server_id, {"restore": None}).status_int == 409
    assert action(client, server_id, {"forceDelete": None}).status_int == 202
    assert client.get(f"/v2.1/servers/{server_id}", token="demo:demo").status_int == 404
    assert action(client, server_id, {"forceDelete": None}).status_int == 404


def test_another_projects_server_is_404(client):
    server_id = create(client)
    for body in ({"pause": None}, {"createImage": {"name": "x"}}, {"lock": None}):
        assert action(client, server_id, body, token="alt:alt").status_int == 404


def test_unshelve_availability_zone_from_2_77(client):
    server_id = create(client)
    assert action(client, server_id, {"shelve": None}).status_int == 202
    body = {"unshelve": {"availability_zone": "nova"}}
    assert action(client, server_id, body, version="2.76").status_int == 400
    assert action(client, server_id, {"unshelve": {"availability_zone": "nowhere"}},
                  version="2.77").status_int == 400
    assert action(client, server_id, body, version="2.77").status_int == 202
    assert status(client, server_id) == "ACTIVE"


def test_unshelve_to_a_host_from_2_91(client, compute):
    server_id = create(client)
    assert action(client, server_id, {"shelve": None}).status_int == 202
    to_host2 = {"unshelve": {"host": "host2"}}
    assert action(client, server_id, to_host2, version="2.90").status_int == 400
    assert action(client, server_id, to_host2, version="2.91").status_int == 403
    unknown = action(client, server_id, {"unshelve": {"host": "nowhere"}},
                     token="admin:admin", version="2.91")
    assert unknown.status_int == 400
    assert unknown.json["badRequest"]["message"] == "Compute host nowhere could not be found."
    assert action(client, server_id, to_host2, token="admin:admin",
                  version="2.91").status_int == 202
    server = client.get(f"/v2.1/servers/{server_id}", token="admin:admin",
                        version=V).json["server"]
    assert server["status"] == "ACTIVE" and server["OS-EXT-SRV-ATTR:host"] == "host2"
    # only an offloaded server goes to a host; a plain unshelve goes anywhere
    compute.db.instance_update(server_id, {"vm_state": "shelved"})
    shelved = action(client, server_id, to_host2, token="admin:admin", version="2.91")
    assert shelved.status_int == 409
    assert "must be in shelved_offloaded state" in shelved.json["conflictingRequest"][
        "message"]


def test_policy_by_role_under_keystone(kc):
    member = login(kc, "demo")
    reader = login(kc, "demo_reader", project="demo")
    admin = login(kc, "admin")
    server_id = create(kc, token=member)
    for body in ({"pause": None}, {"createImage": {"name": "x"}}, {"lock": None},
                 {"rescue": None}):
        refused = action(kc, server_id, body, token=reader)
        assert refused.status_int == 403, body
    assert action(kc, server_id, {"pause": None}, token=member).status_int == 202
    assert action(kc, server_id, {"unpause": None}, token=member).status_int == 202
    assert action(kc, server_id, {"shelve": None}, token=member).status_int == 202
    assert action(kc, server_id, {"shelveOffload": None}, token=member).status_int == 403
    assert action(kc, server_id, {"os-resetState": {"state": "active"}},
                  token=member).status_int == 403
    assert action(kc, server_id, {"os-resetState": {"state": "active"}},
                  token=admin).status_int == 202


def test_resize_confirm_and_revert(client, compute):
    server_id = create(client)  # m1.tiny
    same = action(client, server_id, {"resize": {"flavorRef": "1"}})
    assert same.status_int == 400
    assert same.json["badRequest"]["message"] == "When resizing, instances must change flavor!"
    original = client.get(f"/v2.1/servers/{server_id}", token="demo:demo").json["server"]
    unknown = action(client, server_id, {"resize": {"flavorRef": "99"}})
    assert unknown.status_int == 400
    assert unknown.json["badRequest"]["message"] == "Unable to locate requested flavor."
    assert action(client, server_id, {"confirmResize": None}).status_int == 409
    assert action(client, server_id, {"resize": {"flavorRef": 3}}).status_int == 202
    assert status(client, server_id) == "VERIFY_RESIZE"
    confirm = action(client, server_id, {"confirmResize": None})
    assert confirm.status_int == 204 and confirm.body == b""
    assert status(client, server_id) == "ACTIVE"
    assert compute.compute_rpcapi.calls[-1] == ("confirm_resize", server_id)
    assert action(client, server_id, {"resize": {"flavorRef": "4"}}).status_int == 202
    assert action(client, server_id, {"revertResize": None}).status_int == 202
    reverted = client.get(f"/v2.1/servers/{server_id}", token="demo:demo").json["server"]
    assert reverted["status"] == "ACTIVE"
    assert reverted["flavor"]["id"] == "3" != original["flavor"]["id"]
    actions = client.get(f"/v2.1/servers/{server_id}/os-instance-actions",
                         token="demo:demo").json["instanceActions"]
    assert [a["action"] for a in actions][:4] == ["revertResize", "resize",
                                                   "confirmResize", "resize"]


@pytest.mark.parametrize("resource,limit,flavor,message", [
    ("cores", 1, "3", "Quota exceeded for cores: Requested 1, but already used 1 of 1 cores"),
    ("ram", 1024, "2", "Quota exceeded for ram: Requested 1536, but already used 512 of "
                       "1024 ram"),
])
def test_an_upsize_past_the_quota_is_403(client, resource, limit, flavor, message):
    server_id = create(client)  # m1.tiny: 1 vCPU, 512 MB
    client.put("/v2.1/os-quota-sets/demo", {"quota_set": {resource: limit}})
    refused = action(client, server_id, {"resize": {"flavorRef": flavor}})
    assert refused.status_int == 403
    assert refused.json["forbidden"]["message"] == message
    assert status(client, server_id) == "ACTIVE"
    client.put("/v2.1/os-quota-sets/demo", {"quota_set": {resource: -1}})
    assert action(client, server_id, {"resize": {"flavorRef": flavor}}).status_int == 202


def test_migrate_is_admin_only(client):
    server_id = create(client)
    assert action(client, server_id, {"migrate": None}).status_int == 403
    assert action(client, server_id, {"migrate": {"host": None}},
                  token="admin:admin", version="2.55").status_int == 400
    assert action(client, server_id, {"migrate": None}, token="admin:admin").status_int == 202
    assert status(client, server_id, token="admin:admin") == "VERIFY_RESIZE"


def test_inject_network_info_is_admin_only(client, compute):
    server_id = create(client)
    assert action(client, server_id, {"injectNetworkInfo": None}).status_int == 403
    assert action(client, server_id, {"injectNetworkInfo": None},
                  token="admin:admin").status_int == 202
    assert compute.compute_rpcapi.calls[-1] == ("inject_network_info", server_id)
    compute.db.instance_update(server_id, {"host": None})
    assert action(client, server_id, {"injectNetworkInfo": None},
                  token="admin:admin").status_int == 409


def test_rebuild_answers_fewer_fields_below_2_75(client):
    server_id = create(client)
    oldest = action(client, server_id, {"rebuild": {"imageRef": IMAGE}}, version="2.53")
    assert oldest.status_int == 202
    assert not [key for key in oldest.json["server"] if key.startswith("OS-EXT-")
                or key in ("key_name", "config_drive", "security_groups", "user_data")]
    old = action(client, server_id, {"rebuild": {"imageRef": IMAGE, "user_data": "aGk="}},
                 version="2.74")
    assert old.status_int == 202
    # as Nova: key_name from 2.54, user_data from 2.57, the extended attributes from 2.75
    assert not [key for key in old.json["server"] if key.startswith("OS-EXT-")
                or key in ("config_drive", "security_groups")]
    assert "key_name" in old.json["server"] and old.json["server"]["user_data"] == "aGk="
    new = action(client, server_id, {"rebuild": {"imageRef": IMAGE}}, version="2.75")
    assert "OS-EXT-STS:vm_state" in new.json["server"] and "key_name" in new.json["server"]
    assert "user_data" in new.json["server"]
    assert "OS-EXT-SRV-ATTR:user_data" not in new.json["server"]


def test_add_and_remove_security_group(client):
    server_id = create(client)
    created = client.post("/v2.1/os-security-groups", {"security_group": {
        "name": "web", "description": "web"}}, token="demo:demo")
    assert created.status_int == 200, created.body
    assert action(client, server_id, {"addSecurityGroup": {"name": "web"}}).status_int == 202
    again = action(client, server_id, {"addSecurityGroup": {"name": "web"}})
    assert again.status_int == 400 and "already associated" in again.json[
        "badRequest"]["message"]
    names = {g["name"] for g in client.get(f"/v2.1/servers/{server_id}/os-security-groups",
                                           token="demo:demo").json["security_groups"]}
    assert names == {"default", "web"}
    assert action(client, server_id, {"addSecurityGroup": {"name": "nope"}}
                  ).status_int == 404
    assert action(client, server_id, {"removeSecurityGroup": {"name": "web"}}
                  ).status_int == 202
    assert action(client, server_id, {"removeSecurityGroup": {"name": "web"}}
                  ).status_int == 400
    assert action(client, server_id, {"addSecurityGroup": {}}).status_int == 400


def test_a_server_without_security_groups_shows_no_key(client):
    server_id = client.post("/v2.1/servers", {"server": {
        "name": "vm", "imageRef": IMAGE, "flavorRef": "1", "networks": "auto"}},
        token="demo:demo", version=V).json["server"]["id"]

    def shown():
        return client.get(f"/v2.1/servers/{server_id}", token="demo:demo",
                          version=V).json["server"]

    assert shown()["security_groups"] == [{"name": "default"}]
    assert action(client, server_id, {"removeSecurityGroup": {"name": "default"}}
                  ).status_int == 202
    assert "security_groups" not in shown()
    assert action(client, server_id, {"addSecurityGroup": {"name": "default"}}
                  ).status_int == 202
    assert shown()["security_groups"] == [{"name": "default"}]


def test_rebuild_addresses_below_2_75_have_no_extended_attributes(client, compute):
    server_id = client.post("/v2.1/servers", {"server": {
        "name": "vm", "imageRef": IMAGE, "flavorRef": "1", "networks": "auto"}},
        token="demo:demo", version=V).json["server"]["id"]
    old = action(client, server_id, {"rebuild": {"imageRef": IMAGE}}, version="2.74")
    addresses = [a for network in old.json["server"]["addresses"].values() for a in network]
    assert addresses and all(set(a) == {"addr", "version"} for a in addresses)
