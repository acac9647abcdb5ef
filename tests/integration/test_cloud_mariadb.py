"""A multi-process cloud on RabbitMQ and MariaDB: conductor, scheduler and API processes
and two ``nova-sim compute --hosts 50`` processes (100 compute hosts); 100 servers boot
to ACTIVE through the REST API.

The controllers share this test run's own MariaDB database (tests/db_servers.py); the
broker objects live under a unique ``control_exchange`` and unique host names and are
deleted afterwards. Waiting polls the database on the real clock (the services are other
processes: there is no event to wait on).
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
import uuid

import pytest
from test_services_rabbit import (
    LATENCIES,
    LOGS,
    _check_no_other_cloud,
    _delete_broker_objects,
    launch_service,
    stop_cloud,
    wait_until,
)

from nova_sim.deploy import new_conf, open_database
from nova_sim.image import CIRROS_IMAGE_ID
from nova_sim.service import get_transport


@pytest.mark.backends
@pytest.mark.slow  # one process per service
@pytest.mark.timeout(900)
def test_a_hundred_servers_boot_on_two_compute_processes_over_mariadb(
    rabbit_url, server_databases, tmp_path
):
    _check_no_other_cloud(rabbit_url)
    LOGS.clear()
    url = server_databases.url("mysql")
    tag = uuid.uuid4().hex[:8]
    exchange = f"nova_sim_it_{tag}"
    config = tmp_path / "nova-sim.conf"
    config.write_text(
        "[DEFAULT]\n"
        f"transport_url = {rabbit_url}\n"
        f"control_exchange = {exchange}\n"
        f"host = ctl-{tag}\n"
        "periodic_fuzzy_delay = 0\n"
        "report_interval = 5\n"
        f"[database]\nconnection = {url}\n"
        "[quota]\ninstances = -1\ncores = -1\nram = -1\n"  # 100 servers in one project
        "[fake_driver]\n" + "".join(f"{name} = fixed:0\n" for name in LATENCIES)
    )
    conf = new_conf()
    conf([f"--config-file={config}"], project="nova-sim", default_config_files=[])
    db = open_database(conf)  # the flavors exist before the services start
    processes = []

    def launch(*args):
        processes.append(launch_service(config, tmp_path, *args))

    with socket.socket() as probe:  # a free port for the API process
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}/v2.1"

    def rest(method, path, body=None):
        request = urllib.request.Request(
            endpoint + path, method=method, headers={
                "X-Auth-Token": "it:it", "Content-Type": "application/json"},
            data=None if body is None else json.dumps(body).encode())
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")

    launch("conductor")
    launch("scheduler")
    launch("api", "--port", str(port))
    launch("compute", "--host", f"a-{tag}", "--hosts", "50")
    launch("compute", "--host", f"b-{tag}", "--hosts", "50")
    hosts = {f"{prefix}-{tag}-{k}" for prefix in "ab" for k in range(1, 51)}
    transport = get_transport(conf)
    try:
        def ready():
            for process, _log in processes:
                assert process.poll() is None, f"a service exited: {process.args}"
            nodes = {node["host"] for node in db.compute_node_get_all()}
            providers = len(db.resource_providers_get_all())
            try:
                rest("GET", "/flavors")
            except (urllib.error.URLError, ConnectionError):
                return False  # the API process is not listening yet
            return hosts <= nodes and providers >= len(hosts)

        wait_until(ready, 300, "the 100 compute hosts and the API to come up")
        services = db.service_get_all(binary="nova-compute")
        assert {s["host"] for s in services} == hosts  # each host its own service row
        uuids = []
        for k in range(100):
            status, body = rest("POST", "/servers", {"server": {
                "name": f"vm-{k}", "imageRef": CIRROS_IMAGE_ID, "flavorRef": "1"}})
            assert status == 202, body
            uuids.append(body["server"]["id"])

        def all_active():
            rows = db.instance_get_all_by_filters({"uuid": uuids})
            failed = [row["uuid"] for row in rows if row["vm_state"] == "error"]
            assert not failed, f"servers in ERROR: {failed}"
            return all(row["vm_state"] == "active" for row in rows) and rows

        rows = wait_until(all_active, 600, "the 100 servers to become ACTIVE")
        assert len(rows) == 100 and {row["host"] for row in rows} <= hosts
        for node in db.compute_node_get_all():  # no host took more than it holds
            usage = db.usages_get(node["uuid"])
            assert usage["VCPU"] <= node["vcpus"] * node["cpu_allocation_ratio"]

        def every_host_heartbeated():  # the first comes INITIAL_REPORTING_DELAY after start,
            # which a quick machine may boot the 100 servers within
            counts = {s["host"]: s["report_count"] for s in db.service_get_all()}
            return all(counts.get(host, 0) >= 1 for host in hosts)

        wait_until(every_host_heartbeated, 60, "every compute host's first heartbeat")
        status, body = rest("GET", "/servers/detail?limit=1000")
        assert status == 200
        assert {server["id"] for server in body["servers"]} == set(uuids)
        assert {server["status"] for server in body["servers"]} == {"ACTIVE"}
    finally:
        stop_cloud(processes, transport, db, timeout=60)
        names = {"ctl": f"ctl-{tag}", **{host: host for host in hosts}}
        _delete_broker_objects(rabbit_url, exchange, names)
