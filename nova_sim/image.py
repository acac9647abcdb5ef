"""The image catalogue: the few Glance images a simulated cloud offers.

Owns the fixed list of images (devstack's CirrOS image, with a fixed UUID so that scripts
and docs can name it) and the lookups the compute API and the REST API's ``/image``
endpoint use. Records are shaped like Glance v2 image records. Must not know about HTTP,
RPC or the database.
"""

from __future__ import annotations

from typing import Any

from nova_sim import exception

#: The UUID of ``cirros-0.6.2-x86_64-disk`` (uuid5 of its name; never changes).
CIRROS_IMAGE_ID = "13dbfda8-883f-5c6c-a946-6ad6d8486726"
CIRROS_IMAGE_NAME = "cirros-0.6.2-x86_64-disk"

_IMAGES: dict[str, dict[str, Any]] = {
    CIRROS_IMAGE_ID: {
        "id": CIRROS_IMAGE_ID,
        "name": CIRROS_IMAGE_NAME,
        "status": "active",
        "visibility": "public",
        "protected": False,
        "disk_format": "qcow2",
        "container_format": "bare",
        "size": 21430272,
        "virtual_size": 117440512,
        "min_disk": 0,
        "min_ram": 0,
        "checksum": "c8fc807773e5354afe61636071771906",
        "os_hash_algo": "sha512",
        "owner": "admin",
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
        "tags": [],
        "properties": {
            "hw_architecture": "x86_64",
            "os_distro": "cirros",
            "os_version": "0.6.2",
        },
    },
}


def _copy(image: dict[str, Any]) -> dict[str, Any]:
    """A copy callers may change (the only nested values are ``properties`` and ``tags``)."""
    copied = dict(image)
    copied["properties"] = dict(image["properties"])
    copied["tags"] = list(image["tags"])
    return copied


def list_images() -> list[dict[str, Any]]:
    """Every image of the catalogue (copies; callers may change them)."""
    return [_copy(image) for image in _IMAGES.values()]


def get_image(image_id: str) -> dict[str, Any]:
    """The image with this id, or with this name; raises ``ImageNotFound`` otherwise."""
    image = _IMAGES.get(image_id)
    if image is None:
        for candidate in _IMAGES.values():
            if candidate["name"] == image_id:
                image = candidate
                break
    if image is None:
        raise exception.ImageNotFound(image_id=image_id)
    return _copy(image)


def image_ref_from_href(image_href: str) -> str:
    """The image id at the end of an ``imageRef`` that may be a URL (Nova accepts both)."""
    return str(image_href).rstrip("/").rsplit("/", 1)[-1]
