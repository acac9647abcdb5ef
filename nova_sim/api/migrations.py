"""``/os-migrations`` and ``/servers/{id}/migrations``: the migrations of the cloud.

Owns Nova's migration lists (admin only): nova-sim does not migrate or resize servers, so
there are none (``{"migrations": []}``); a server's list needs 2.23 (404 before) and the
server to exist. Must not know about RPC.
"""

from __future__ import annotations

from nova_sim.api import faults
from nova_sim.api.app import APIRequest, Reply, Router
from nova_sim.api.servers import get_instance


def register(router: Router, api) -> None:
    """Add the migration routes."""
    router.add("GET", "/os-migrations", index)
    router.add("GET", "/servers/{server_id}/migrations", server_index)


def index(request: APIRequest) -> Reply:
    """``GET /os-migrations`` (admin): none."""
    request.require_admin("os_compute_api:os-migrations:index")
    return Reply(200, {"migrations": []})


def server_index(request: APIRequest, server_id: str) -> Reply:
    """``GET /servers/{id}/migrations`` (2.23, admin): none."""
    if not request.version.matches("2.23"):
        raise faults.NotFound()
    get_instance(request, server_id)  # as Nova: another project's server is a 404 first
    request.require_admin("os_compute_api:servers:migrations:index")
    return Reply(200, {"migrations": []})
