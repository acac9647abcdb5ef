"""The real clients log in with a password under ``[api] auth_strategy = keystone``.

openstacksdk and the ``openstack`` CLI, configured only with the identity URL, a user and
a password (the shipped etc/nova-sim/clouds-keystone.yaml), get a token from nova-sim's
identity service, find the compute endpoint in its catalog and list and create servers.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest
import yaml
from test_real_clients import OPENSTACK, REPO, run_cloud

pytestmark = pytest.mark.slow  # a cloud in a subprocess, the real clients' commands


@pytest.fixture(scope="module")
def endpoint():
    """``http://127.0.0.1:<port>`` of a keystone-authenticated cloud in a subprocess."""
    yield from run_cloud("keystone")


@pytest.fixture(scope="module")
def clouds_file(endpoint, tmp_path_factory):
    """The shipped clouds-keystone.yaml with the test's port, in a directory of its own."""
    directory = tmp_path_factory.mktemp("osc-keystone")
    shipped = (REPO / "etc" / "nova-sim" / "clouds-keystone.yaml").read_text()
    path = directory / "clouds.yaml"
    path.write_text(shipped.replace("http://127.0.0.1:8774", endpoint))
    return path


def test_openstacksdk_password_login_and_catalog(endpoint, clouds_file):
    import openstack

    from nova_sim.image import CIRROS_IMAGE_ID

    auth = yaml.safe_load(clouds_file.read_text())["clouds"]["nova-sim-demo"]["auth"]
    conn = openstack.connect(auth_type="password", auth=auth, region_name="RegionOne")
    assert conn.compute.get_endpoint() == f"{endpoint}/v2.1"
    server = conn.compute.create_server(name="sdk-ks-vm", image_id=CIRROS_IMAGE_ID,
                                        flavor_id="1", networks="none")
    conn.compute.wait_for_server(server, status="ACTIVE", interval=0.1, wait=60)
    assert [s.name for s in conn.compute.servers()] == ["sdk-ks-vm"]
    assert server.project_id == conn.current_project_id
    conn.compute.delete_server(server)
    conn.compute.wait_for_delete(server, interval=0.1, wait=60)


def test_openstack_cli_with_clouds_keystone_yaml(clouds_file):
    env = {key: value for key, value in os.environ.items() if not key.startswith("OS_")}
    env["OS_CLIENT_CONFIG_FILE"] = str(clouds_file)

    def cli(*args, cloud="nova-sim-admin"):
        result = subprocess.run([str(OPENSTACK), "--os-cloud", cloud, *args], env=env,
                                cwd=clouds_file.parent, capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0, f"openstack {' '.join(args)}: {result.stderr}"
        return json.loads(result.stdout) if "-f" in args else result.stdout

    token = cli("token", "issue", "-f", "json")
    assert token["id"] and token["project_id"]
    assert cli("server", "list", "-f", "json") == []
    services = cli("compute", "service", "list", "-f", "json")
    assert {s["Binary"] for s in services} >= {"nova-compute", "nova-scheduler"}
    projects = cli("project", "list", "-f", "json")
    assert {p["Name"] for p in projects} == {"admin", "demo", "alt_demo"}
    assert cli("server", "list", "-f", "json", cloud="nova-sim-demo") == []
