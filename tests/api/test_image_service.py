"""``/image/v2/images``: create, upload, show, list and delete, with Glance's visibility
and ownership rules."""

from __future__ import annotations

import hashlib

import pytest

IMAGE = "13dbfda8-883f-5c6c-a946-6ad6d8486726"


def test_create_upload_delete(client):
    created = client.post("/image/v2/images", {"name": "mine", "disk_format": "raw",
                                               "container_format": "bare",
                                               "hw_disk_bus": "scsi"}, token="demo:demo")
    assert created.status_int == 201
    image = created.json
    assert image["status"] == "queued" and image["owner"] == "demo"
    assert image["visibility"] == "shared" and image["hw_disk_bus"] == "scsi"
    assert created.headers["Location"].endswith(f"/image/v2/images/{image['id']}")
    upload = client.request("PUT", f"/image/v2/images/{image['id']}/file",
                            raw=b"x" * 100, token="demo:demo")
    assert upload.status_int == 204
    shown = client.get(f"/image/v2/images/{image['id']}", token="demo:demo").json
    assert shown["status"] == "active" and shown["size"] == 100
    assert shown["checksum"] == hashlib.md5(b"x" * 100).hexdigest()
    again = client.request("PUT", f"/image/v2/images/{image['id']}/file", raw=b"y",
                           token="demo:demo")
    assert again.status_int == 409
    assert client.get(f"/image/v2/images/{image['id']}", token="alt:alt").status_int == 404
    assert client.get(f"/image/v2/images/{image['id']}",
                      token="admin:admin").status_int == 200
    assert client.delete(f"/image/v2/images/{image['id']}",
                         token="alt:alt").status_int == 404
    assert client.delete(f"/image/v2/images/{image['id']}",
                         token="demo:demo").status_int == 204
    assert client.get(f"/image/v2/images/{image['id']}", token="demo:demo").status_int == 404


def test_refusals(client):
    assert client.post("/image/v2/images", {"name": "x", "status": "active"},
                       token="demo:demo").status_int == 403
    assert client.post("/image/v2/images", {"name": "x", "visibility": "public"},
                       token="demo:demo").status_int == 403
    assert client.post("/image/v2/images", {"name": "x", "visibility": "public"},
                       token="admin:admin").status_int == 201
    assert client.delete(f"/image/v2/images/{IMAGE}", token="admin:admin").status_int == 403
    assert client.delete(f"/image/v2/images/{IMAGE}", token="demo:demo").status_int == 403
    assert client.get(f"/image/v2/images/{IMAGE}", token="demo:demo").status_int == 200


def test_a_queued_image_cannot_boot(client):
    image_id = client.post("/image/v2/images", {"name": "empty"},
                           token="demo:demo").json["id"]
    response = client.post("/v2.1/servers", {"server": {
        "name": "vm", "imageRef": image_id, "flavorRef": "1", "networks": "none"}},
        token="demo:demo", version="2.100")
    assert response.status_int == 400
    assert "is not active" in response.json["badRequest"]["message"]


def test_compute_image_metadata_proxy(client):
    image_id = client.post("/image/v2/images", {"name": "mine", "os_distro": "cirros"},
                           token="demo:demo").json["id"]
    path = f"/v2.1/images/{image_id}/metadata"
    assert client.get(path, token="demo:demo").json == {"metadata": {"os_distro": "cirros"}}
    merged = client.post(path, {"metadata": {"a": "1"}}, token="demo:demo")
    assert merged.status_int == 200
    assert merged.json["metadata"] == {"os_distro": "cirros", "a": "1"}
    replaced = client.put(path, {"metadata": {"b": "2"}}, token="demo:demo")
    assert replaced.json["metadata"] == {"b": "2"}
    assert client.get(f"{path}/b", token="demo:demo").json == {"meta": {"b": "2"}}
    assert client.get(f"{path}/zz", token="demo:demo").status_int == 404
    assert client.put(f"{path}/c", {"meta": {"c": "3"}}, token="demo:demo").json == {
        "meta": {"c": "3"}}
    assert client.put(f"{path}/c", {"meta": {"d": "3"}}, token="demo:demo").status_int == 400
    assert client.delete(f"{path}/b", token="demo:demo").status_int == 204
    assert client.get(path, token="demo:demo").json == {"metadata": {"c": "3"}}
    assert client.delete(f"{path}/b", token="demo:demo").status_int == 404
    # another project does not see it; nobody changes the built-in image
    assert client.get(path, token="alt:alt").status_int == 404
    assert client.post(f"/v2.1/images/{IMAGE}/metadata", {"metadata": {"x": "y"}},
                       token="demo:demo").status_int == 403
    # from 2.39 the proxy is gone
    assert client.get(path, token="demo:demo", version="2.39").status_int == 404
    many = {f"k{n}": "v" for n in range(200)}
    assert client.put(path, {"metadata": many}, token="demo:demo").status_int == 403


def test_image_tasks_and_proxy_filters(client):
    server = client.post("/v2.1/servers", {"server": {
        "name": "vm", "imageRef": IMAGE, "flavorRef": "1", "networks": "none"}},
        token="demo:demo", version="2.100").json["server"]["id"]
    snap = client.post(f"/v2.1/servers/{server}/action", {"createImage": {"name": "s"}},
                       token="demo:demo", version="2.45").json["image_id"]
    assert client.get(f"/image/v2/images/{snap}/tasks", token="demo:demo").json == {
        "tasks": []}
    assert client.get(f"/image/v2/images/{snap}/tasks", token="alt:alt").status_int == 404

    def listed(query):
        return [i["id"] for i in client.get(f"/v2.1/images{query}", token="demo:demo")
                .json["images"]]

    assert listed(f"?server={server}") == [snap]
    assert listed(f"?server=http://x/v2.1/servers/{server}") == [snap]
    assert listed("?type=snapshot") == [snap]
    assert listed("?type=backup") == []
    assert listed("?minDisk=1") == [snap]  # m1.tiny's 1 GB disk
    assert set(listed("")) == {IMAGE, snap}
    assert client.delete("/v2.1/images/", token="demo:demo").status_int == 404


def test_list_filters_on_properties_and_sorts(client):
    for name in ("b-first", "a-second"):
        client.post("/image/v2/images", {"name": name, "image_type": "backup"},
                    token="demo:demo")
    client.post("/image/v2/images", {"name": "other", "image_type": "snapshot"},
                token="demo:demo")
    found = client.get("/image/v2/images?image_type=backup&sort_key=created_at&sort_dir=asc",
                       token="demo:demo").json["images"]
    assert [i["name"] for i in found] == ["b-first", "a-second"]
    by_name = client.get("/image/v2/images?image_type=backup&sort_key=name&sort_dir=asc",
                         token="demo:demo").json["images"]
    assert [i["name"] for i in by_name] == ["a-second", "b-first"]


def test_an_admin_sets_the_properties_of_a_built_in_image(client):
    path = f"/v2.1/images/{IMAGE}/metadata"
    original = client.get(path).json["metadata"]
    assert original["os_distro"] == "cirros"
    for key in original:
        assert client.delete(f"{path}/{key}").status_int == 204
    assert client.get(path).json == {"metadata": {}}
    assert client.post(path, {"metadata": {"k0": ""}}).json == {"metadata": {"k0": ""}}
    assert client.post(path, {"metadata": {"k1": "v1"}}).json["metadata"] == {
        "k0": "", "k1": "v1"}
    # every reader sees them: the proxy, Glance's view, the list; the image is still one
    assert client.get(f"/v2.1/images/{IMAGE}", token="demo:demo").json["image"][
        "metadata"] == {"k0": "", "k1": "v1"}
    assert client.get(f"/image/v2/images/{IMAGE}", token="demo:demo").json["k1"] == "v1"
    listed = [i for i in client.get("/v2.1/images/detail", token="demo:demo").json["images"]
              if i["id"] == IMAGE]
    assert len(listed) == 1 and listed[0]["metadata"] == {"k0": "", "k1": "v1"}
    # a member may still not change it, nor may anyone delete it
    assert client.post(path, {"metadata": {"x": "y"}}, token="demo:demo").status_int == 403
    assert client.delete(f"/v2.1/images/{IMAGE}").status_int == 403
    assert client.put(path, {"metadata": original}).json == {"metadata": original}
    assert client.get(path, token="demo:demo").json == {"metadata": original}


@pytest.mark.parametrize("field,value,message", [
    ("min_ram", 1024, "Flavor's memory is too small for requested image."),
    ("min_disk", 2, "Flavor's disk is smaller than the minimum size specified in image "
                    "metadata."),
])
def test_an_image_that_needs_more_than_the_flavor_is_400(client, field, value, message):
    image_id = client.post("/image/v2/images", {"name": "big", field: value,
                                                "disk_format": "qcow2",
                                                "container_format": "bare"},
                           token="demo:demo").json["id"]
    client.request("PUT", f"/image/v2/images/{image_id}/file", token="demo:demo",
                   raw=b"data", headers={"Content-Type": "application/octet-stream"})

    def boot(flavor):
        return client.post("/v2.1/servers", {"server": {
            "name": "vm", "imageRef": image_id, "flavorRef": flavor, "networks": "none"}},
            token="demo:demo", version="2.100")

    refused = boot("1")  # m1.tiny: 512 MB, 1 GB of disk
    assert refused.status_int == 400
    assert refused.json["badRequest"]["message"].startswith(message)
    assert boot("2").status_int == 202  # m1.small: 2048 MB, 20 GB
