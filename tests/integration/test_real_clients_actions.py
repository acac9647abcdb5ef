"""The server actions through the real ``openstack`` CLI and openstacksdk against a
running cloud (a subprocess, as in ``test_real_clients``): pause, suspend, lock, rescue,
snapshots, shelve, rebuild, resize and the console log, each waited for by the clients'
own polling (openstacksdk for most: the CLI pays a second of imports per command)."""

from __future__ import annotations

import json

import pytest
import test_real_clients as shipped
from test_real_clients import IMAGE_NAME, openstack_cli, sdk_connection

pytestmark = pytest.mark.slow  # a cloud in a subprocess, the real clients' commands


@pytest.fixture(scope="module")
def endpoint():
    """A cloud of this module's own, as ``test_real_clients`` starts one."""
    yield from shipped.run_cloud()


@pytest.fixture(scope="module")
def cli_env(endpoint, tmp_path_factory):
    """The ``openstack`` CLI's environment for it (``test_real_clients``' fixture)."""
    return shipped.cli_env.__wrapped__(endpoint, tmp_path_factory)


def status(cli_env, name):
    return json.loads(openstack_cli(cli_env, "server", "show", name, "-f", "json"))["status"]


def boot(cli_env, name):
    openstack_cli(cli_env, "server", "create", "--image", IMAGE_NAME, "--flavor", "m1.tiny",
                  "--network", "private", "--wait", name)


def test_openstack_cli_snapshot_console_rebuild(cli_env):
    boot(cli_env, "act-image")
    image = json.loads(openstack_cli(cli_env, "server", "image", "create", "--name",
                                     "act-snap", "--wait", "act-image", "-f", "json"))
    assert image["status"] == "active"
    log = openstack_cli(cli_env, "console", "log", "show", "--lines", "5", "act-image")
    assert len(log.strip("\n").split("\n")) == 5
    openstack_cli(cli_env, "server", "rebuild", "--image", "act-snap", "--wait",
                  "act-image")
    rebuilt = json.loads(openstack_cli(cli_env, "server", "show", "act-image", "-f",
                                       "json"))
    assert rebuilt["image"].startswith(f"act-snap ({image['id']})")
    openstack_cli(cli_env, "server", "delete", "--wait", "act-image")
    openstack_cli(cli_env, "image", "delete", "act-snap")
    names = [i["Name"] for i in json.loads(openstack_cli(cli_env, "image", "list",
                                                         "-f", "json"))]
    assert "act-snap" not in names


def test_openstack_cli_resize_and_shelve(cli_env):
    boot(cli_env, "act-move")
    openstack_cli(cli_env, "server", "resize", "--flavor", "m1.small", "--wait",
                  "act-move")
    assert status(cli_env, "act-move") == "VERIFY_RESIZE"
    openstack_cli(cli_env, "server", "resize", "confirm", "act-move")
    shown = json.loads(openstack_cli(cli_env, "server", "show", "act-move", "-f", "json"))
    assert shown["status"] == "ACTIVE" and "m1.small" in str(shown["flavor"])
    openstack_cli(cli_env, "server", "shelve", "--wait", "act-move")
    assert status(cli_env, "act-move") == "SHELVED_OFFLOADED"
    openstack_cli(cli_env, "server", "unshelve", "--wait", "act-move")
    assert status(cli_env, "act-move") == "ACTIVE"
    openstack_cli(cli_env, "server", "delete", "--wait", "act-move")


def test_openstacksdk_power_actions_snapshot_and_shelve(endpoint):
    from nova_sim.image import CIRROS_IMAGE_ID

    conn = sdk_connection(endpoint)
    compute = conn.compute
    server = compute.wait_for_server(
        compute.create_server(name="sdk-act", image_id=CIRROS_IMAGE_ID, flavor_id="1",
                              networks="none"),
        status="ACTIVE", interval=0.1, wait=60)
    for act, undo, shown in ((compute.pause_server, compute.unpause_server, "PAUSED"),
                             (compute.suspend_server, compute.resume_server, "SUSPENDED"),
                             (compute.rescue_server, compute.unrescue_server, "RESCUE"),
                             (compute.shelve_server, compute.unshelve_server,
                              "SHELVED_OFFLOADED")):
        act(server)
        compute.wait_for_server(server, status=shown, interval=0.1, wait=60)
        undo(server)
        compute.wait_for_server(server, status="ACTIVE", interval=0.1, wait=60)
    compute.lock_server(server)
    assert compute.get_server(server).is_locked is True
    compute.unlock_server(server)
    image = compute.create_server_image(server, "sdk-snap", wait=True, timeout=60)
    assert conn.image.get_image(image.id).status == "active"
    actions = [a.action for a in compute.server_actions(server)]
    assert actions[:3] == ["createImage", "unlock", "lock"]
    assert {"pause", "suspend", "rescue", "shelve", "unshelve"} <= set(actions)
    compute.delete_server(server)
    compute.wait_for_delete(server, interval=0.1, wait=60)
    conn.image.delete_image(image.id)
