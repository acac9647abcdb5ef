"""``/image/v2/images``: create, upload, show, list and delete, with Glance's visibility
and ownership rules."""

from __future__ import annotations

import hashlib

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
