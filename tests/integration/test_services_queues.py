"""What a service process leaves on the broker when it stops: its shared topic queues
(``compute``, ``compute.<host>``: casts sent meanwhile wait there for the next consumer),
and none of the queues that were its alone (its fanout queues and its reply queue).

Runs a conductor and a compute as ``nova-sim`` processes on this run's own virtual host,
stops them with SIGTERM and lists the queues with ``rabbitmqctl``. Waiting for the
services polls the broker (other processes: there is no event to wait on).
"""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import uuid
from urllib.parse import unquote

import pytest

from nova_sim import green

REPO = pathlib.Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow  # service processes and RabbitMQ


def _queues(vhost: str) -> dict[str, int]:
    done = subprocess.run(["rabbitmqctl", "list_queues", "-q", "-p", vhost, "name",
                           "consumers"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    queues = {}
    for line in done.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            queues[parts[0]] = int(parts[1])
    return queues


def test_stopped_services_delete_only_their_own_queues(rabbit_url, tmp_path):
    vhost = unquote(rabbit_url.rsplit("/", 1)[1])
    if not vhost:
        message = "needs a virtual host of this run's own (rabbitmqctl)"
        if os.environ.get("NOVA_SIM_REQUIRE_RABBIT") == "1":
            pytest.fail(message + " and NOVA_SIM_REQUIRE_RABBIT=1")
        pytest.skip(message)
    tag = uuid.uuid4().hex[:8]
    controller, compute = f"ctl-{tag}", f"cmp-{tag}"
    config = tmp_path / "nova-sim.conf"
    config.write_text(
        f"[DEFAULT]\ntransport_url = {rabbit_url}\ncontrol_exchange = q_{tag}\n"
        f"host = {controller}\nservice_start_timeout = 60\n"
        f"[database]\nconnection = sqlite:///{tmp_path / 'nova-sim.db'}\n"
    )
    before = set(_queues(vhost))
    processes = []
    for args in (["conductor"], ["compute", "--host", compute]):
        log = open(tmp_path / f"{args[0]}.log", "w")
        processes.append((subprocess.Popen(
            [sys.executable, "-m", "nova_sim.cmd.main", "--config-file", str(config), *args],
            stdout=log, stderr=log, cwd=str(REPO), env=dict(os.environ, HOME=str(tmp_path)),
        ), log))
    try:
        deadline = green.now() + 120
        while True:
            running = {name: n for name, n in _queues(vhost).items() if name not in before}
            if running.get(f"compute.{compute}") and running.get(f"conductor.{controller}"):
                break
            assert all(p.poll() is None for p, _ in processes), "a service exited"
            assert green.now() < deadline, f"the services did not start: {running}"
            green.sleep(0.5)
        # Each service has a fanout queue per topic; the compute has a reply queue.
        assert any(name.startswith("compute_fanout_") for name in running)
        assert any(name.startswith("conductor_fanout_") for name in running)
        assert any(name.startswith("reply_") for name in running)
        for process, _ in processes:
            process.send_signal(signal.SIGTERM)
        for process, _ in processes:
            assert process.wait(timeout=60) == 0
    finally:
        for process, log in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
            log.close()
    left = set(_queues(vhost)) - before
    assert not [name for name in left if "_fanout_" in name or name.startswith("reply_")], left
    assert {f"compute.{compute}", f"conductor.{controller}"} <= left
    assert {"compute", "conductor"} & (left | before) == {"compute", "conductor"}
