"""The one-service commands in subprocesses: `nova-sim api` serves, status reads it, and
SIGTERM stops it cleanly (no broker needed: the API alone on a database file)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # service processes

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_api_process_serves_status_and_stops_on_sigterm(tmp_path):
    config = tmp_path / "nova-sim.conf"
    config.write_text(
        "[DEFAULT]\nosapi_compute_listen_port = 0\ntransport_url = memory://\n"
        f"[database]\nconnection = sqlite:///{tmp_path / 'nova-sim.db'}\n"
    )
    env = dict(os.environ, HOME=str(tmp_path), XDG_STATE_HOME=str(tmp_path / "state"))
    # The API never creates the schema: `db sync` first, as docs/deployment.md says.
    subprocess.run([sys.executable, "-m", "nova_sim.cmd.main", "--config-file", str(config),
                    "db", "sync"], check=True, capture_output=True, timeout=120, cwd=ROOT,
                   env=env)
    process = subprocess.Popen(
        [sys.executable, "-m", "nova_sim.cmd.main", "--config-file", str(config), "api"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env,
    )
    try:
        endpoint = None
        for line in process.stderr:
            match = re.search(r"listening on (http://\S+)", line)
            if match:
                endpoint = match.group(1)
                break
        assert endpoint, "the API did not say where it listens"
        status = subprocess.run(
            [sys.executable, "-m", "nova_sim.cmd.main", "status", "--url", endpoint],
            capture_output=True, text=True, timeout=60, cwd=ROOT, env=env,
        )
        assert status.returncode == 0, status.stderr
        assert "Services (0)" in status.stdout
        assert "Instances (0)" in status.stdout
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        err = process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "Traceback" not in err
    assert "nova-sim: stopped on SIGTERM" in err



def test_sigterm_while_waiting_for_the_conductor_stops_cleanly(tmp_path):
    # A compute waits for its conductor at start-up, for ever (as Nova's does); a signal
    # must still stop it, with exit status 0 and no traceback.
    config = tmp_path / "nova-sim.conf"
    config.write_text("[DEFAULT]\ntransport_url = memory://\nrpc_response_timeout = 1\n")
    env = dict(os.environ, HOME=str(tmp_path), XDG_STATE_HOME=str(tmp_path / "state"))
    process = subprocess.Popen(
        [sys.executable, "-m", "nova_sim.cmd.main", "--config-file", str(config), "compute",
         "--host", "lonely"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env,
    )
    try:
        for line in process.stderr:
            if "conductor" in line and "WARNING" in line:
                break
        else:
            raise AssertionError("the compute did not say it waits for the conductor")
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        err = process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "Traceback" not in err
    assert err.strip().endswith("nova-sim: stopped on SIGTERM")


def _start_alone(tmp_path, transport_url, *command):
    """Run a one-service command with a 1 s start-up timeout; returns the result."""
    config = tmp_path / "nova-sim.conf"
    config.write_text(f"[DEFAULT]\ntransport_url = {transport_url}\n"
                      "service_start_timeout = 1\n")
    env = dict(os.environ, HOME=str(tmp_path), XDG_STATE_HOME=str(tmp_path / "state"))
    return subprocess.run(
        [sys.executable, "-m", "nova_sim.cmd.main", "--config-file", str(config), *command],
        capture_output=True, text=True, timeout=60, cwd=ROOT, env=env,
    )


def _one_error_line(result) -> str:
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("nova-sim:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def test_a_compute_without_a_conductor_fails_after_the_start_timeout(tmp_path):
    line = _one_error_line(_start_alone(tmp_path, "memory://", "compute", "--host", "c1"))
    assert line.startswith("nova-sim: cannot start nova-compute: no nova-conductor answered "
                           "over memory:// within 1s ([DEFAULT] service_start_timeout; 0 "
                           "waits for ever); memory:// reaches only this process")


def _refused_port() -> int:
    import socket

    with socket.socket() as probe:  # bound, never listening: connections are refused
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_wrong_broker_url_fails_after_the_start_timeout(tmp_path):
    port = _refused_port()
    url = f"rabbit://guest:secret@127.0.0.1:{port}/"
    line = _one_error_line(_start_alone(tmp_path, url, "conductor"))
    assert line == (f"nova-sim: cannot start nova-conductor: cannot reach the broker at "
                    f"rabbit://guest:****@127.0.0.1:{port}/ within 1s ([DEFAULT] "
                    "service_start_timeout; 0 waits for ever)")
