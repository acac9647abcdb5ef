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
