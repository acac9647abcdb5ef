"""The real OpenStack clients against a running one-process nova-sim cloud.

The cloud (conductor, scheduler, two computes with zero fake-driver latencies, and the
REST API on a free port) runs in a subprocess with its own hub; the clients are the real,
blocking openstacksdk, ``openstack`` CLI and novaclient, used as a user would. Nothing here
sleeps: waiting is the clients' own polling.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # a cloud in a subprocess, the real clients' commands

REPO = pathlib.Path(__file__).resolve().parents[2]
OPENSTACK = pathlib.Path(sys.executable).with_name("openstack")
IMAGE_NAME = "cirros-0.6.2-x86_64-disk"

CLOUD_SCRIPT = """
import sys
from nova_sim.deploy import Cloud, new_conf
conf = new_conf()
conf.set_override("osapi_compute_listen", "127.0.0.1")
conf.set_override("osapi_compute_listen_port", 0)
for name in ("spawn_latency", "reboot_latency", "stop_latency", "start_latency",
             "delete_latency"):
    conf.set_override(name, "fixed:0", group="fake_driver")
cloud = Cloud(conf, computes=2, api=True).start()
print(cloud.api_port, flush=True)
cloud.wait()
"""


def run_cloud(auth_strategy="noauth2"):
    """Yield ``http://127.0.0.1:<port>`` of a cloud running in a subprocess with
    ``[api] auth_strategy``; stop it afterwards."""
    script = CLOUD_SCRIPT.replace(
        "conf = new_conf()\n",
        f"conf = new_conf()\nconf.set_override('auth_strategy', {auth_strategy!r}, 'api')\n")
    process = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, cwd=REPO,
    )
    try:
        line = process.stdout.readline().strip()
        if not line.isdigit():
            process.kill()
            raise RuntimeError(f"the cloud did not start: {line!r} {process.stderr.read()}")
        yield f"http://127.0.0.1:{line}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def endpoint():
    """``http://127.0.0.1:<port>`` of a cloud running in a subprocess (noauth2)."""
    yield from run_cloud()


def sdk_connection(endpoint):
    import openstack

    return openstack.connect(
        auth_type="none",
        compute_endpoint_override=f"{endpoint}/v2.1",
        image_endpoint_override=f"{endpoint}/image",
        network_endpoint_override=f"{endpoint}/network",
    )


def test_openstacksdk_server_lifecycle(endpoint):
    from nova_sim.image import CIRROS_IMAGE_ID

    conn = sdk_connection(endpoint)
    compute = conn.compute
    server = compute.create_server(name="sdk-vm", image_id=CIRROS_IMAGE_ID, flavor_id="1",
                                   networks="none")
    server = compute.wait_for_server(server, status="ACTIVE", interval=0.1, wait=60)
    assert server.status == "ACTIVE"
    assert server.id in [s.id for s in compute.servers()]
    compute.stop_server(server)
    compute.wait_for_server(server, status="SHUTOFF", interval=0.1, wait=60)
    compute.start_server(server)
    compute.wait_for_server(server, status="ACTIVE", interval=0.1, wait=60)
    compute.reboot_server(server, "SOFT")
    compute.wait_for_server(server, status="ACTIVE", interval=0.1, wait=60)
    compute.reboot_server(server, "HARD")
    compute.wait_for_server(server, status="ACTIVE", interval=0.1, wait=60)
    actions = [a.action for a in compute.server_actions(server)]
    assert actions[-1] == "create" and "stop" in actions and "reboot" in actions
    compute.delete_server(server)
    compute.wait_for_delete(server, interval=0.1, wait=60)
    assert server.id not in [s.id for s in compute.servers()]


@pytest.fixture(scope="module")
def cli_env(endpoint, tmp_path_factory):
    """Environment for the ``openstack`` CLI: the shipped clouds.yaml with the test's port,
    in a directory of its own (openstacksdk also reads ./clouds.yaml)."""
    directory = tmp_path_factory.mktemp("osc")
    shipped = (REPO / "etc" / "nova-sim" / "clouds.yaml").read_text()
    (directory / "clouds.yaml").write_text(
        shipped.replace("http://127.0.0.1:8774", endpoint))
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=str(directory / "clouds.yaml"))
    for key in list(env):
        if key.startswith("OS_") and key != "OS_CLIENT_CONFIG_FILE":
            del env[key]
    return env, directory


def openstack_cli(cli_env, *args, cloud="nova-sim"):
    env, directory = cli_env
    result = subprocess.run(
        [str(OPENSTACK), "--os-cloud", cloud, *args], env=env, cwd=directory,
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, f"openstack {' '.join(args)}: {result.stderr}"
    return result.stdout


def test_openstack_cli(cli_env):
    created = json.loads(openstack_cli(
        cli_env, "server", "create", "--image", IMAGE_NAME, "--flavor", "m1.tiny",
        "--network", "private", "--wait", "osc-vm", "-f", "json"))
    assert created["status"] == "ACTIVE"
    assert created["addresses"]["private"][0].startswith("10.0.0.")
    listed = json.loads(openstack_cli(cli_env, "server", "list", "-f", "json"))
    assert [(s["Name"], s["Status"], s["Image"]) for s in listed] == [
        ("osc-vm", "ACTIVE", IMAGE_NAME)]
    shown = json.loads(openstack_cli(cli_env, "server", "show", "osc-vm", "-f", "json"))
    assert shown["id"] == created["id"] and shown["flavor"]["name"] == "m1.tiny"
    flavors = json.loads(openstack_cli(cli_env, "flavor", "list", "-f", "json"))
    assert {f["Name"] for f in flavors} >= {"m1.tiny", "m1.small"}
    services = json.loads(openstack_cli(cli_env, "compute", "service", "list", "-f", "json"))
    assert {(s["Binary"], s["State"]) for s in services} == {
        ("nova-conductor", "up"), ("nova-scheduler", "up"), ("nova-compute", "up")}
    hypervisors = json.loads(openstack_cli(cli_env, "hypervisor", "list", "-f", "json"))
    assert sorted(h["Hypervisor Hostname"] for h in hypervisors) == ["compute1", "compute2"]
    openstack_cli(cli_env, "server", "delete", "--wait", "osc-vm")
    assert json.loads(openstack_cli(cli_env, "server", "list", "-f", "json")) == []


def novaclient_for(endpoint, token=None):
    from keystoneauth1 import noauth, session, token_endpoint
    from novaclient import client

    auth = noauth.NoAuth() if token is None else token_endpoint.Token(
        f"{endpoint}/v2.1", token)
    return client.Client("2.1", session=session.Session(auth=auth),
                         endpoint_override=f"{endpoint}/v2.1")


def test_novaclient_create_list_delete(endpoint):
    from novaclient import exceptions

    from nova_sim.image import CIRROS_IMAGE_ID

    nova = novaclient_for(endpoint)
    server = nova.servers.create("nc-vm", CIRROS_IMAGE_ID, "1")
    assert server.id in [s.id for s in nova.servers.list()]
    assert nova.servers.get(server.id).name == "nc-vm"
    assert {f.name for f in nova.flavors.list()} >= {"m1.tiny"}
    nova.servers.delete(server)
    for _poll in range(1000):  # each poll is one HTTP round trip; no sleeping
        try:
            nova.servers.get(server.id)
        except exceptions.NotFound:
            break
    else:
        pytest.fail("the server was not deleted")
    assert server.id not in [s.id for s in nova.servers.list()]


def test_two_projects_cannot_see_each_other(endpoint):
    from novaclient import exceptions

    from nova_sim.image import CIRROS_IMAGE_ID

    alice = novaclient_for(endpoint, "alice:alpha")
    bob = novaclient_for(endpoint, "bob:beta")
    mine = alice.servers.create("alice-vm", CIRROS_IMAGE_ID, "1")
    assert [s.id for s in alice.servers.list()] == [mine.id]
    assert mine.id not in [s.id for s in bob.servers.list()]
    with pytest.raises(exceptions.NotFound):
        bob.servers.get(mine.id)
    with pytest.raises(exceptions.NotFound):
        bob.servers.delete(mine.id)
    with pytest.raises(exceptions.Forbidden):
        bob.services.list()
    alice.servers.delete(mine)
