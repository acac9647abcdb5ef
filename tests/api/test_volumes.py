"""The block-storage service's volumes, a boot with a volume, and
``/servers/{id}/os-volume_attachments``: status codes, fault bodies, microversion
boundaries, scoping by project and policy by role."""

from __future__ import annotations

import pytest

from .test_identity import login

IMAGE = "13dbfda8-883f-5c6c-a946-6ad6d8486726"
VOLUMES = "/volume/v3/volumes"


def make_volume(client, token="demo:demo", size=1, name="v"):
    response = client.post(VOLUMES, {"volume": {"size": size, "name": name}}, token=token)
    assert response.status_int == 202, response.body
    return response.json["volume"]


def volume(client, volume_id, token="demo:demo"):
    return client.get(f"{VOLUMES}/{volume_id}", token=token)


def boot(client, token="demo:demo", version="2.100", **server):
    spec = {"name": "vm", "imageRef": IMAGE, "flavorRef": "1", "networks": "none", **server}
    return client.post("/v2.1/servers", {"server": spec}, token=token, version=version)


def attachments(server_id):
    return f"/v2.1/servers/{server_id}/os-volume_attachments"


def test_create_show_list_and_delete(client):
    made = make_volume(client)
    assert made["status"] == "available" and made["size"] == 1 and made["attachments"] == []
    assert made["os-vol-tenant-attr:tenant_id"] == "demo"
    assert volume(client, made["id"]).json["volume"] == made
    listed = client.get(f"{VOLUMES}/detail", token="demo:demo").json["volumes"]
    assert [v["id"] for v in listed] == [made["id"]]
    assert client.get(VOLUMES, token="alt:alt").json == {"volumes": []}
    assert volume(client, made["id"], token="alt:alt").status_int == 404
    assert client.delete(f"{VOLUMES}/{made['id']}", token="alt:alt").status_int == 404
    assert client.delete(f"{VOLUMES}/{made['id']}", token="demo:demo").status_int == 202
    gone = volume(client, made["id"])
    assert gone.status_int == 404
    assert gone.json["itemNotFound"]["message"] == f"Volume {made['id']} could not be found."


@pytest.mark.parametrize("size", [0, -1, "x", None, True])
def test_a_bad_size_is_400(client, size):
    response = client.post(VOLUMES, {"volume": {"size": size}}, token="demo:demo")
    assert response.status_int == 400


def test_boot_with_a_volume_shows_it_and_deletes_it_with_the_server(client):
    made = make_volume(client)
    booted = boot(client, block_device_mapping_v2=[{
        "uuid": made["id"], "source_type": "volume", "destination_type": "volume",
        "boot_index": 0, "delete_on_termination": True}])
    assert booted.status_int == 202, booted.body
    server_id = booted.json["server"]["id"]
    server = client.get(f"/v2.1/servers/{server_id}", token="demo:demo",
                        version="2.100").json["server"]
    assert server["os-extended-volumes:volumes_attached"] == [
        {"id": made["id"], "delete_on_termination": True}]
    old = client.get(f"/v2.1/servers/{server_id}", token="demo:demo", version="2.2")
    assert old.json["server"]["os-extended-volumes:volumes_attached"] == [{"id": made["id"]}]
    shown = volume(client, made["id"]).json["volume"]
    assert shown["status"] == "in-use"
    assert shown["attachments"][0]["server_id"] == server_id
    assert shown["attachments"][0]["device"] == "/dev/vda"
    refused = client.delete(f"{VOLUMES}/{made['id']}", token="demo:demo")
    assert refused.status_int == 400
    root = client.delete(f"{attachments(server_id)}/{made['id']}", token="demo:demo")
    assert root.status_int == 400
    assert root.json["badRequest"]["message"] == "Cannot detach a root device volume"
    assert client.delete(f"/v2.1/servers/{server_id}", token="demo:demo").status_int == 204
    assert volume(client, made["id"]).status_int == 404  # it went with the server


def test_a_kept_volume_is_available_again_after_its_server_goes(client):
    made = make_volume(client)
    server_id = boot(client, block_device_mapping_v2=[{
        "uuid": made["id"], "source_type": "volume", "destination_type": "volume",
        "boot_index": 1}]).json["server"]["id"]
    client.delete(f"/v2.1/servers/{server_id}", token="demo:demo")
    shown = volume(client, made["id"]).json["volume"]
    assert shown["status"] == "available" and shown["attachments"] == []


@pytest.mark.parametrize("case", ["unknown", "in-use", "several", "other-project"])
def test_boot_with_a_volume_that_cannot_be_attached_is_400(client, case):
    made = make_volume(client, token="alt:alt" if case == "other-project" else "demo:demo")
    volume_id = "6b7d2f6a-1111-4a5e-9d0e-000000000000" if case == "unknown" else made["id"]
    if case == "in-use":
        assert boot(client, block_device_mapping_v2=[{
            "uuid": volume_id, "source_type": "volume", "destination_type": "volume",
            "boot_index": 1}]).status_int == 202
    extra = {"min_count": 2} if case == "several" else {}
    refused = boot(client, block_device_mapping_v2=[{
        "uuid": volume_id, "source_type": "volume", "destination_type": "volume",
        "boot_index": 1}], **extra)
    assert refused.status_int == 400, refused.body


def test_attach_update_show_and_detach(client):
    server_id = boot(client).json["server"]["id"]
    made = make_volume(client)
    path = attachments(server_id)
    attached = client.post(path, {"volumeAttachment": {"volumeId": made["id"]}},
                           token="demo:demo", version="2.79")
    assert attached.status_int == 200, attached.body
    assert attached.json["volumeAttachment"] == {
        "id": made["id"], "volumeId": made["id"], "serverId": server_id,
        "device": "/dev/vdb", "tag": None, "delete_on_termination": False}
    assert volume(client, made["id"]).json["volume"]["status"] == "in-use"
    again = client.post(path, {"volumeAttachment": {"volumeId": made["id"]}},
                        token="demo:demo")
    assert again.status_int == 400
    listed = client.get(path, token="demo:demo", version="2.89").json["volumeAttachments"]
    assert len(listed) == 1 and "id" not in listed[0] and listed[0]["attachment_id"]
    old = client.put(f"{path}/{made['id']}", {"volumeAttachment": {
        "volumeId": made["id"], "delete_on_termination": True}}, token="demo:demo",
        version="2.84")
    assert old.status_int == 400
    updated = client.put(f"{path}/{made['id']}", {"volumeAttachment": {
        "volumeId": made["id"], "delete_on_termination": True}}, token="demo:demo",
        version="2.85")
    assert updated.status_int == 202
    shown = client.get(f"{path}/{made['id']}", token="demo:demo", version="2.85")
    assert shown.json["volumeAttachment"]["delete_on_termination"] is True
    server = client.get(f"/v2.1/servers/{server_id}", token="demo:demo",
                        version="2.85").json["server"]
    assert server["os-extended-volumes:volumes_attached"] == [
        {"id": made["id"], "delete_on_termination": True}]
    assert client.delete(f"{path}/{made['id']}", token="demo:demo").status_int == 202
    assert client.get(f"{path}/{made['id']}", token="demo:demo").status_int == 404
    assert client.get(path, token="demo:demo").json == {"volumeAttachments": []}
    assert volume(client, made["id"]).json["volume"]["status"] == "available"


def test_attach_checks(client, compute):
    server_id = boot(client).json["server"]["id"]
    path = attachments(server_id)
    unknown = client.post(path, {"volumeAttachment": {
        "volumeId": "6b7d2f6a-1111-4a5e-9d0e-000000000000"}}, token="demo:demo")
    assert unknown.status_int == 404
    assert client.post(path, {"volumeAttachment": {"volumeId": "x"}},
                       token="demo:demo").status_int == 400
    made = make_volume(client)
    assert client.post(path, {"volumeAttachment": {
        "volumeId": made["id"], "delete_on_termination": True}}, token="demo:demo",
        version="2.78").status_int == 400
    other = make_volume(client, token="alt:alt")
    assert client.post(path, {"volumeAttachment": {"volumeId": other["id"]}},
                       token="demo:demo").status_int == 404
    compute.db.instance_update(server_id, {"vm_state": "error"})
    refused = client.post(path, {"volumeAttachment": {"volumeId": made["id"]}},
                          token="demo:demo")
    assert refused.status_int == 409
    swap = client.put(f"{path}/{made['id']}", {"volumeAttachment": {
        "volumeId": other["id"]}}, token="demo:demo")
    assert swap.status_int == 403


def test_policy_by_role_under_keystone(kc):
    member = login(kc, "demo")
    reader = login(kc, "demo_reader", project="demo")
    made = make_volume(kc, token=member)
    assert kc.post(VOLUMES, {"volume": {"size": 1}}, token=reader).status_int == 403
    assert kc.delete(f"{VOLUMES}/{made['id']}", token=reader).status_int == 403
    assert volume(kc, made["id"], token=reader).status_int == 200
    server_id = boot(kc, token=member).json["server"]["id"]
    body = {"volumeAttachment": {"volumeId": made["id"]}}
    assert kc.post(attachments(server_id), body, token=reader).status_int == 403
    assert kc.post(attachments(server_id), body, token=member).status_int == 200
    assert kc.get(attachments(server_id), token=reader).status_int == 200
