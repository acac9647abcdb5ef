"""Version documents: ``GET /``, ``GET /v2[/]``, ``GET /v2.1[/]``, ``GET /image`` and
``GET /network``.

Owns the discovery documents clients read before anything else (no token needed): the
list at ``/`` names v2.0 (the legacy API, ``SUPPORTED``; only its document is served, at
``/v2/``) and v2.1, whose document carries ``version`` (our maximum microversion, 2.100)
and ``min_version`` (2.1); ``/image`` answers 300 Multiple Choices like Glance,
``/network`` 200 like Neutron. Must not know about the other resources.
"""

from __future__ import annotations

from nova_sim.api import microversion
from nova_sim.api.app import APIRequest, Reply

_V21_UPDATED = "2013-07-23T11:33:21Z"


def _v21(base_url: str) -> dict:
    return {
        "id": "v2.1",
        "status": "CURRENT",
        "version": str(microversion.MAX_VERSION),
        "min_version": str(microversion.MIN_VERSION),
        "updated": _V21_UPDATED,
        "links": [{"rel": "self", "href": f"{base_url}/v2.1/"}],
    }


def _v20(base_url: str) -> dict:
    return {
        "id": "v2.0",
        "status": "SUPPORTED",
        "version": "",
        "min_version": "",
        "updated": "2011-01-21T11:33:21Z",
        "links": [{"rel": "self", "href": f"{base_url}/v2/"}],
    }


def root(request: APIRequest) -> Reply:
    """``GET /``: the list of API versions, as Nova lists them: v2.0 (the legacy API,
    ``SUPPORTED``, only its version document is served) then v2.1 (``CURRENT``)."""
    return Reply(200, {"versions": [_v20(request.base_url), _v21(request.base_url)]})


def _document(doc: dict, version: str) -> Reply:
    doc["links"].append(
        {"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"}
    )
    doc["media-types"] = [
        {"base": "application/json",
         "type": f"application/vnd.openstack.compute+json;version={version}"}
    ]
    return Reply(200, {"version": doc})


def v21(request: APIRequest) -> Reply:
    """``GET /v2.1`` and ``/v2.1/``: the v2.1 version document."""
    return _document(_v21(request.base_url), "2.1")


def v20(request: APIRequest) -> Reply:
    """``GET /v2`` and ``/v2/``: the v2.0 version document (nothing else is served under
    ``/v2``)."""
    return _document(_v20(request.base_url), "2")


def image_versions(request: APIRequest) -> Reply:
    """``GET /image``: Glance's version list (300 Multiple Choices)."""
    href = f"{request.base_url}/image/v2/"
    versions = [
        {"id": f"v2.{minor}", "status": "CURRENT" if minor == 16 else "SUPPORTED",
         "links": [{"rel": "self", "href": href}]}
        for minor in (16, 15, 9, 0)
    ]
    return Reply(300, {"versions": versions})


def network_versions(request: APIRequest) -> Reply:
    """``GET /network``: Neutron's version list."""
    return Reply(200, {"versions": [{
        "id": "v2.0", "status": "CURRENT",
        "links": [{"rel": "self", "href": f"{request.base_url}/network/v2.0/"}],
    }]})


def _identity_v3(base_url: str) -> dict:
    return {
        "id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": f"{base_url}/identity/v3/"}],
        "media-types": [{"base": "application/json",
                         "type": "application/vnd.openstack.identity-v3+json"}],
    }


def identity_versions(request: APIRequest) -> Reply:
    """``GET /identity``: a Keystone-shaped version list holding only v3.

    nova-sim has no Keystone; this document exists so that clients that insist on an
    identity v3 endpoint (``openstack server list`` checks for one) find it, with
    ``identity_endpoint_override`` pointing here. No identity API is served below it.
    """
    return Reply(300, {"versions": {"values": [_identity_v3(request.base_url)]}})


def identity_v3(request: APIRequest) -> Reply:
    """``GET /identity/v3``: the identity v3 version document (see identity_versions)."""
    return Reply(200, {"version": _identity_v3(request.base_url)})
