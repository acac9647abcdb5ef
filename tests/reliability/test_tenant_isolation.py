"""The tenant-isolation matrix: project ``demo`` owns a server; project ``other`` tries
every server endpoint the API serves on it and must see a 404 (as Nova answers for
another project's server) and change nothing. ``test_matrix_covers_every_server_route``
fails when a server route is added without a row here, so the table grows with the API.
"""

from __future__ import annotations

import pytest

from nova_sim.api import server_actions

from .conftest import NEW_VERSION, assert_fault, boot

OWNER = "demo:demo"
INTRUDER = "other:other"

# (method, route template, body): every route on one server, each action of
# POST /servers/{server_id}/action.
MATRIX = [
    ("GET", "/servers/{server_id}", None),
    ("PUT", "/servers/{server_id}", {"server": {"name": "stolen"}}),
    ("DELETE", "/servers/{server_id}", None),
    ("GET", "/servers/{server_id}/os-instance-actions", None),
    ("GET", "/servers/{server_id}/os-instance-actions/{request_id}", None),
    ("GET", "/servers/{server_id}/metadata", None),
    ("POST", "/servers/{server_id}/metadata", {"metadata": {"stolen": "yes"}}),
    ("PUT", "/servers/{server_id}/metadata", {"metadata": {"stolen": "yes"}}),
    ("GET", "/servers/{server_id}/metadata/{key}", None),
    ("PUT", "/servers/{server_id}/metadata/{key}", {"meta": {"owner": "stolen"}}),
    ("DELETE", "/servers/{server_id}/metadata/{key}", None),
    ("GET", "/servers/{server_id}/ips", None),
    ("GET", "/servers/{server_id}/ips/{network}", None),
    ("GET", "/servers/{server_id}/os-server-password", None),
    ("DELETE", "/servers/{server_id}/os-server-password", None),
    ("GET", "/servers/{server_id}/diagnostics", None),
    ("POST", "/servers/{server_id}/remote-consoles",
     {"remote_console": {"protocol": "vnc", "type": "novnc"}}),
    ("GET", "/servers/{server_id}/migrations", None),
    ("GET", "/servers/{server_id}/os-security-groups", None),
    ("GET", "/servers/{server_id}/tags", None),
    ("PUT", "/servers/{server_id}/tags", {"tags": ["stolen"]}),
    ("DELETE", "/servers/{server_id}/tags", None),
    ("GET", "/servers/{server_id}/tags/{tag}", None),
    ("PUT", "/servers/{server_id}/tags/{tag}", None),
    ("DELETE", "/servers/{server_id}/tags/{tag}", None),
    ("GET", "/servers/{server_id}/os-volume_attachments", None),
    ("POST", "/servers/{server_id}/os-volume_attachments",
     {"volumeAttachment": {"volumeId": "{volume_id}"}}),
    ("GET", "/servers/{server_id}/os-volume_attachments/{volume_id}", None),
    ("PUT", "/servers/{server_id}/os-volume_attachments/{volume_id}",
     {"volumeAttachment": {"volumeId": "{volume_id}", "delete_on_termination": False}}),
    ("DELETE", "/servers/{server_id}/os-volume_attachments/{volume_id}", None),
    *[("POST", "/servers/{server_id}/action", {name: {"type": "HARD"} if name == "reboot"
                                               else None})
      for name in sorted(server_actions._ACTIONS)],
]


@pytest.fixture
def owned(client):
    """The owner's server (with the metadata item ``owner``, the tag ``mine`` and an
    attached volume), the request id of its create action and the volume's id."""
    volume_id = client.post("/volume/v3/volumes", {"volume": {"size": 1}},
                            token=OWNER).json["volume"]["id"]
    server_id = boot(client, "mine", token=OWNER, metadata={"owner": "demo"}, tags=["mine"],
                     block_device_mapping_v2=[{"uuid": volume_id, "source_type": "volume",
                                               "destination_type": "volume",
                                               "boot_index": 1}])
    actions = client.get(f"/v2.1/servers/{server_id}/os-instance-actions",
                         token=OWNER).json["instanceActions"]
    request_id = actions[0]["request_id"]
    return server_id, request_id, volume_id


def _row_id(row) -> str:
    method, template, body = row
    return f"{method} {template} {next(iter(body)) if body else ''}".strip()


@pytest.mark.parametrize("row", MATRIX, ids=_row_id)
def test_another_project_gets_404_and_changes_nothing(client, owned, row):
    method, template, body = row
    server_id, request_id, volume_id = owned
    before = client.get(f"/v2.1/servers/{server_id}", token=OWNER,
                        version=NEW_VERSION).json["server"]
    path = "/v2.1" + template.format(server_id=server_id, request_id=request_id, key="owner",
                                    network="private", tag="mine", volume_id=volume_id)
    if body and "volumeAttachment" in body:
        body = {"volumeAttachment": dict(body["volumeAttachment"], volumeId=volume_id)}
    response = client.request(method, path, body=body, token=INTRUDER, version=NEW_VERSION)
    assert_fault(response, 404)
    after = client.get(f"/v2.1/servers/{server_id}", token=OWNER, version=NEW_VERSION)
    assert after.status_int == 200
    after = after.json["server"]
    for key in ("name", "status", "OS-EXT-STS:task_state", "updated", "metadata", "tags",
                "os-extended-volumes:volumes_attached"):
        assert after.get(key) == before.get(key), key


@pytest.mark.parametrize("query", ["", "?all_tenants=1", "?project_id=demo",
                                   "?all_tenants=1&project_id=demo", "?tenant_id=demo"])
@pytest.mark.parametrize("collection", ["servers", "servers/detail"])
def test_lists_never_show_another_projects_server(client, owned, collection, query):
    response = client.get(f"/v2.1/{collection}{query}", token=INTRUDER, version=NEW_VERSION)
    if response.status_int == 200:
        assert response.json["servers"] == []
    else:  # Nova's policy may refuse all_tenants outright
        assert_fault(response, 403)


def test_limits_count_only_the_callers_servers(client, owned):
    absolute = client.get("/v2.1/limits", token=INTRUDER).json["limits"]["absolute"]
    assert absolute["totalInstancesUsed"] == 0


def test_matrix_covers_every_server_route(app_routes):
    served = {(method, template) for method, template in app_routes
              if template.startswith("/servers/{server_id}")}
    assert served == {(method, template) for method, template, _body in MATRIX}


@pytest.fixture
def app_routes(client):
    return [(method, template)
            for template, methods in client.app.compute._by_template.items()
            for method in methods]


# (method, route template, body, microversion): every route on one floating IP.
FLOATING_IP_MATRIX = [
    ("GET", "/v2.1/os-floating-ips/{ip_id}", None, "2.35"),
    ("DELETE", "/v2.1/os-floating-ips/{ip_id}", None, "2.35"),
    ("GET", "/network/v2.0/floatingips/{ip_id}", None, None),
    ("PUT", "/network/v2.0/floatingips/{ip_id}", {"floatingip": {"port_id": None}}, None),
    ("DELETE", "/network/v2.0/floatingips/{ip_id}", None, None),
]


@pytest.fixture
def owned_floating_ip(client):
    """The owner's floating IP, associated with the owner's server."""
    server_id = boot(client, "mine", token=OWNER, networks="auto")
    made = client.post("/v2.1/os-floating-ips", None, token=OWNER, version="2.35")
    assert made.status_int == 200, made.text
    floating_ip = made.json["floating_ip"]
    added = client.post(f"/v2.1/servers/{server_id}/action",
                        {"addFloatingIp": {"address": floating_ip["ip"]}}, token=OWNER,
                        version="2.35")
    assert added.status_int == 202, added.text
    return client.get(f"/v2.1/os-floating-ips/{floating_ip['id']}", token=OWNER,
                      version="2.35").json["floating_ip"]


@pytest.mark.parametrize("row", FLOATING_IP_MATRIX, ids=lambda row: f"{row[0]} {row[1]}")
def test_another_projects_floating_ip_is_404_and_unchanged(client, owned_floating_ip, row):
    method, template, body, version = row
    path = template.format(ip_id=owned_floating_ip["id"])
    assert_fault(client.request(method, path, body=body, token=INTRUDER, version=version),
                 404)
    after = client.get(f"/v2.1/os-floating-ips/{owned_floating_ip['id']}", token=OWNER,
                       version="2.35")
    assert after.json["floating_ip"] == owned_floating_ip


def test_floating_ip_lists_and_actions_never_reach_another_project(client,
                                                                   owned_floating_ip):
    assert client.get("/v2.1/os-floating-ips", token=INTRUDER,
                      version="2.35").json["floating_ips"] == []
    assert client.get("/network/v2.0/floatingips", token=INTRUDER).json["floatingips"] == []
    own_server = boot(client, "theirs", token=INTRUDER, networks="auto")
    for name in ("addFloatingIp", "removeFloatingIp"):
        response = client.post(f"/v2.1/servers/{own_server}/action",
                               {name: {"address": owned_floating_ip["ip"]}},
                               token=INTRUDER, version="2.35")
        assert_fault(response, 404)
    after = client.get(f"/v2.1/os-floating-ips/{owned_floating_ip['id']}", token=OWNER,
                       version="2.35")
    assert after.json["floating_ip"] == owned_floating_ip


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_another_projects_volume_is_404_and_unchanged(client, owned, method):
    _server_id, _request_id, volume_id = owned
    before = client.get(f"/volume/v3/volumes/{volume_id}", token=OWNER).json["volume"]
    assert_fault(client.request(method, f"/volume/v3/volumes/{volume_id}", token=INTRUDER),
                 404)
    assert client.get("/volume/v3/volumes/detail", token=INTRUDER).json["volumes"] == []
    own_server = boot(client, "theirs", token=INTRUDER)
    stolen = client.post(f"/v2.1/servers/{own_server}/os-volume_attachments",
                         {"volumeAttachment": {"volumeId": volume_id}}, token=INTRUDER,
                         version=NEW_VERSION)
    assert_fault(stolen, 404)
    after = client.get(f"/volume/v3/volumes/{volume_id}", token=OWNER).json["volume"]
    assert after == before
