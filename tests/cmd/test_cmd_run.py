"""`nova-sim run` in a subprocess: it serves the compute API, SIGTERM ends it cleanly."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def start_run(tmp_path, *extra):
    env = dict(os.environ, HOME=str(tmp_path / "home"), XDG_STATE_HOME=str(tmp_path / "state"))
    return subprocess.Popen(
        [sys.executable, "-m", "nova_sim.cmd.main", "run", "--port", "0", "--computes", "2",
         *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env,
    )


def read_until_endpoint(process) -> tuple[str, list[str]]:
    lines = []
    for line in process.stdout:
        lines.append(line)
        match = re.search(r"compute API\s+(http://\S+)", line)
        if match:
            return match.group(1), lines
    raise AssertionError("no endpoint printed: " + "".join(lines) + process.stderr.read())


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_run_serves_the_api_and_stops_cleanly(tmp_path, signum):
    process = start_run(tmp_path)
    try:
        endpoint, lines = read_until_endpoint(process)
        request = urllib.request.Request(endpoint + "/os-services",
                                         headers={"X-Auth-Token": "admin:admin"})
        with urllib.request.urlopen(request, timeout=30) as response:
            services = json.loads(response.read())["services"]
        assert sorted(s["binary"] for s in services) == [
            "nova-compute", "nova-compute", "nova-conductor", "nova-scheduler"]
        process.send_signal(signum)
        # Not communicate(): it reads the raw pipes and would lose what the text wrapper
        # already buffered. The output is small, so the pipes cannot fill up.
        process.wait(timeout=60)
        out, err = process.stdout.read(), process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "Traceback" not in err
    assert f"nova-sim: stopped on {signal.Signals(signum).name}" in err
    assert "Stopping nova-conductor" in err
    text = "".join(lines) + out
    assert "compute1, compute2" in text
    clouds = tmp_path / "state" / "nova-sim" / "clouds.yaml"
    assert f"OS_CLIENT_CONFIG_FILE={clouds}" in text
    assert endpoint.rsplit("/v2.1", 1)[0] + "/image" in clouds.read_text()


def run_on_a_taken_port(tmp_path, *command):
    """Run ``nova-sim COMMAND --port P`` while P is taken; returns (result, P)."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = dict(os.environ, HOME=str(tmp_path), XDG_STATE_HOME=str(tmp_path))
        result = subprocess.run(
            [sys.executable, "-m", "nova_sim.cmd.main", *command, "--port", str(port)],
            capture_output=True, text=True, timeout=60, cwd=ROOT, env=env,
        )
    return result, port


def test_port_in_use_is_one_line(tmp_path):
    result, port = run_on_a_taken_port(tmp_path, "run")
    assert result.returncode == 1, result
    errors = [line for line in result.stderr.splitlines() if line.startswith("nova-sim:")]
    assert len(errors) == 1, result.stderr
    assert "cannot start the cloud" in errors[0]
    # names the address and the ways out
    assert f"127.0.0.1:{port} is already in use" in errors[0]
    assert "--port N (make run PORT=N)" in errors[0]
    assert "Traceback" not in result.stderr


def test_api_port_in_use_names_the_address(tmp_path):
    result, port = run_on_a_taken_port(tmp_path, "api", "--transport-url", "memory://")
    assert result.returncode == 1, result
    assert result.stderr.strip().splitlines()[-1] == (
        f"nova-sim: cannot start nova-api: the compute API address 127.0.0.1:{port} is "
        "already in use (another nova-sim?): pick another port with --port N (0: any free "
        "port) or [DEFAULT] osapi_compute_listen_port")


def test_make_run_takes_a_port():
    import shutil

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    dry = subprocess.run(["make", "-n", "-W", "pyproject.toml", "run", "PORT=8779"],
                         capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert dry.returncode == 0, dry.stderr
    [command] = [line for line in dry.stdout.splitlines() if "nova_sim.cmd.main run" in line]
    assert command.endswith("--port 8779")
    dry = subprocess.run(["make", "-n", "-W", "pyproject.toml", "run", "DASHBOARD_PORT=8781"],
                         capture_output=True, text=True, timeout=60, cwd=ROOT)
    [command] = [line for line in dry.stdout.splitlines() if "nova_sim.cmd.main run" in line]
    assert command.split()[-3:] == ["3", "--dashboard-port", "8781"]
    dry = subprocess.run(["make", "-n", "-W", "pyproject.toml", "run"],
                         capture_output=True, text=True, timeout=60, cwd=ROOT)
    [command] = [line for line in dry.stdout.splitlines() if "nova_sim.cmd.main run" in line]
    assert "--port" not in command


def test_run_demo_boots_prints_progress_and_the_trace(tmp_path):
    config = tmp_path / "nova-sim.conf"
    config.write_text("[fake_driver]\nspawn_latency = fixed:0\n")
    process = start_run(tmp_path, "--demo-boots", "2", "--config-file", str(config))
    try:
        endpoint, lines = read_until_endpoint(process)
        for line in process.stdout:
            lines.append(line)
            if "compute.build_and_run_instance" in line:
                break
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        lines.append(process.stdout.read())
        err = process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    text = "".join(lines)
    assert process.returncode == 0, err
    assert "demo: 2/2 servers ACTIVE" in text
    assert "wsgi.request POST /v2.1/servers" in text
    assert "rpc.call select_destinations" in text
    traces = list((tmp_path / "state" / "nova-sim" / "traces").glob("*.spans"))
    assert traces, "the span file was not written"
