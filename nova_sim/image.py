"""The image catalogue and the image service: the Glance images a simulated cloud offers.

Owns the fixed list of built-in images (devstack's CirrOS image, with a fixed UUID so that
scripts and docs can name it), the lookups over it, and ``ImageAPI``: the built-in images
plus the images the cloud makes (snapshots, backups, shelved images, images created
through ``/image/v2/images``), kept in the database's ``images`` table so that every
process of a cloud sees them (as are the properties an admin sets on a built-in image,
in a record of the built-in image's id). Records are shaped like Glance v2 image records. Must not
know about HTTP or RPC; the database is a ``Database``-like object given to ``ImageAPI``
(it is not imported).
"""

from __future__ import annotations

from typing import Any

from nova_sim import exception

#: Glance's image states (``queued`` -> ``saving`` -> ``active``; ``deleted``...).
QUEUED, SAVING, ACTIVE, KILLED, DELETED = "queued", "saving", "active", "killed", "deleted"

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


def _glance_time(stamp: str | None) -> str | None:
    """``2026-01-01T00:00:05.000000`` (the database's form) as Glance shows it
    (``2026-01-01T00:00:05Z``)."""
    if not stamp:
        return stamp
    return stamp.split(".", 1)[0].rstrip("Z") + "Z"


def _from_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["uuid"],
        "name": row.get("name"),
        "status": row.get("status"),
        "visibility": row.get("visibility") or "private",
        "protected": bool(row.get("protected")),
        "disk_format": row.get("disk_format"),
        "container_format": row.get("container_format"),
        "size": row.get("size"),
        "virtual_size": None,
        "min_disk": row.get("min_disk") or 0,
        "min_ram": row.get("min_ram") or 0,
        "checksum": row.get("checksum"),
        "os_hash_algo": "sha512" if row.get("checksum") else None,
        "owner": row.get("owner"),
        "created_at": _glance_time(row.get("created_at")),
        "updated_at": _glance_time(row.get("updated_at")),
        "tags": [],
        "properties": dict(row.get("properties") or {}),
    }


#: Fields of an image record ``ImageAPI.create`` / ``update`` accept (anything else
#: given goes to ``properties``).
_FIELDS = ("name", "status", "visibility", "owner", "protected", "disk_format",
           "container_format", "size", "min_disk", "min_ram", "checksum")


def _apply_override(image: dict[str, Any], stored: dict[str, Any]) -> None:
    """Give a built-in image the properties (and update time) of its stored record."""
    image["properties"] = dict(stored["properties"])
    image["updated_at"] = stored.get("updated_at") or image["updated_at"]


class ImageAPI:
    """The image service of one cloud: the built-in catalogue plus ``db``'s images.

    ``db`` is a ``nova_sim.db.api.Database`` (or None: the built-in catalogue only, and
    ``create`` refuses). Every method answers Glance v2 shaped dicts (copies).
    """

    def __init__(self, db: Any = None):
        self.db = db

    def list(self) -> list[dict[str, Any]]:
        """Every live image: the built-in ones first (with the properties an admin set on
        them), then the stored ones oldest first."""
        builtin = list_images()
        if not self.db:
            return builtin
        stored = [_from_row(row) for row in self.db.image_get_all()]
        overrides = {image["id"]: image for image in stored if image["id"] in _IMAGES}
        for image in builtin:
            if image["id"] in overrides:
                _apply_override(image, overrides[image["id"]])
        return builtin + [image for image in stored if image["id"] not in _IMAGES]

    def show(self, image_id: str) -> dict[str, Any]:
        """As ``get``, with the properties an admin set on a built-in image (what the
        image APIs show; ``get``, on the boot path, reads the catalogue alone)."""
        image = self.get(image_id)
        if image["id"] in _IMAGES and self.db is not None:
            try:
                _apply_override(image, _from_row(self.db.image_get(image["id"])))
            except exception.ImageNotFound:
                pass
        return image

    def get(self, image_id: str) -> dict[str, Any]:
        """The image with this id, or (built-in images only) with this name;
        ``ImageNotFound`` otherwise."""
        try:
            return get_image(image_id)
        except exception.ImageNotFound:
            if self.db is None:
                raise
        return _from_row(self.db.image_get(image_id))

    @staticmethod
    def _split(values: dict[str, Any]) -> dict[str, Any]:
        row = {key: values[key] for key in _FIELDS if key in values}
        properties = dict(values.get("properties") or {})
        properties.update({key: value for key, value in values.items()
                           if key not in _FIELDS and key not in ("properties", "id")})
        if properties or "properties" in values:
            row["properties"] = properties
        if "id" in values:
            row["uuid"] = values["id"]
        return row

    def create(self, values: dict[str, Any]) -> dict[str, Any]:
        """A new image (status ``queued`` unless given); fields other than the record's
        become ``properties``."""
        if self.db is None:
            raise exception.Forbidden()
        return _from_row(self.db.image_create(self._split(values)))

    def update(self, image_id: str, values: dict[str, Any],
               purge_props: bool = False) -> dict[str, Any]:
        """Change a stored image (``ImageNotFound``); given properties are merged into
        the image's (replace them with ``purge_props``). Of a built-in image only the
        properties may change (``Forbidden`` otherwise): they are kept in a record of
        the same id that ``list`` and ``show`` read."""
        if self.db is None:
            raise exception.Forbidden()
        row = self._split(values)
        if image_id in _IMAGES:
            return self._update_builtin(image_id, row, purge_props)
        if "properties" in row and not purge_props:
            current = self.db.image_get(image_id).get("properties") or {}
            row["properties"] = {**current, **row["properties"]}
        return _from_row(self.db.image_update(image_id, row))

    def _update_builtin(self, image_id: str, row: dict[str, Any],
                        purge_props: bool) -> dict[str, Any]:
        if set(row) - {"properties"}:
            raise exception.Forbidden()
        image = self.show(image_id)
        properties = row.get("properties", {})
        if not purge_props:
            properties = {**image["properties"], **properties}
        try:
            self.db.image_update(image_id, {"properties": properties})
        except exception.ImageNotFound:
            self.db.image_create({
                "uuid": image_id, "name": image["name"], "status": image["status"],
                "visibility": image["visibility"], "owner": image["owner"],
                "properties": properties})
        return self.show(image_id)

    def delete(self, image_id: str) -> None:
        """Delete a stored image (``ImageNotFound``; ``Forbidden`` for a built-in one)."""
        if image_id in _IMAGES or self.db is None:
            raise exception.Forbidden()
        self.db.image_destroy(image_id)
