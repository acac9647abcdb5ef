"""A minimal block-storage service at ``/volume`` (Cinder's v3 shapes): discovery and an
empty volume list.

Owns what clients that insist on a ``block-storage`` endpoint in the catalog read before
anything else: the version documents (``GET /volume``: 300 with v3.0; ``GET /volume/v3``)
and ``GET /volume/v3/volumes[/detail]``, always empty, since nova-sim has no volumes
(``GET /volume/v3/volumes/{id}`` is a 404, as are writes: there is no volume service
behind it). openstacksdk lists a server's volumes before deleting it. Must not know about
the compute service.
"""

from __future__ import annotations

from nova_sim.api import faults
from nova_sim.api.app import APIRequest, Reply, Router

MAX_VERSION = "3.70"


def register(router: Router, api) -> None:
    """Add the ``/volume`` routes (paths relative to ``/volume``)."""
    router.add("GET", "/v3", version_doc)
    router.add("GET", "/v3/volumes", list_volumes)
    router.add("GET", "/v3/volumes/detail", list_volumes)
    router.add("GET", "/v3/volumes/{volume_id}", show_volume)


def _v3(request: APIRequest) -> dict:
    return {"id": "v3.0", "status": "CURRENT", "version": MAX_VERSION, "min_version": "3.0",
            "updated": "2023-08-31T00:00:00Z",
            "links": [{"rel": "self", "href": f"{request.base_url}/volume/v3/"}],
            "media-types": [{"base": "application/json",
                             "type": "application/vnd.openstack.volume+json;version=3"}]}


def versions(request: APIRequest) -> Reply:
    """``GET /volume``: Cinder's version list (300 Multiple Choices)."""
    return Reply(300, {"versions": [_v3(request)]})


def version_doc(request: APIRequest) -> Reply:
    """``GET /volume/v3``: the v3 document."""
    return Reply(200, {"versions": [_v3(request)]})


def list_volumes(request: APIRequest) -> Reply:
    """``GET /volume/v3/volumes[/detail]``: none."""
    return Reply(200, {"volumes": []})


def show_volume(request: APIRequest, volume_id: str) -> Reply:
    """``GET /volume/v3/volumes/{id}``: there are no volumes."""
    raise faults.NotFound(f"Volume {volume_id} could not be found.")
