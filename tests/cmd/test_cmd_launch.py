"""Serving until a signal: SIGTERM / SIGINT stop gracefully on the hub, exit status 0."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import types

import pytest

from nova_sim import green
from nova_sim.cmd import launch


class FakeServer:
    """start / stop / wait on green primitives; records what happened, in order."""

    def __init__(self):
        self.events = []
        self.stopped = green.Event()

    def start(self):
        self.events.append("start")

    def stop(self):
        self.events.append(("stop", green.getcurrent() is not green.get_hub().greenlet))
        self.stopped.send(True)

    def wait(self):
        self.stopped.wait()
        self.events.append("waited")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_gracefully_on_the_hub(signum, capsys):
    before = signal.getsignal(signum)
    with green.virtual_time():
        server = FakeServer()
        started = []
        green.spawn_after(5, os.kill, os.getpid(), signum)
        assert launch.serve(server, on_started=lambda: started.append(green.now())) == 0
    assert server.events == ["start", ("stop", True), "waited"]
    assert started == [0]
    assert f"stopped on {signal.Signals(signum).name}" in capsys.readouterr().err
    assert signal.getsignal(signum) is before


def test_server_that_stops_by_itself():
    with green.virtual_time():
        server = FakeServer()
        green.spawn_after(1, server.stop)
        assert launch.serve(server) == 0
    assert server.events[0] == "start" and server.events[-1] == "waited"


SCRIPT = textwrap.dedent("""
    import sys
    from nova_sim import green
    from nova_sim.cmd import launch

    class Server:
        def __init__(self):
            self.done = green.Event()
        def start(self):
            pass
        def stop(self):
            green.sleep(0.01)  # in-flight work finishing, on the hub
            print("stopping gracefully", flush=True)
            self.done.send(True)
        def wait(self):
            self.done.wait()

    sys.exit(launch.serve(Server(), on_started=lambda: print("ready", flush=True)))
""")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_process_exits_0_without_traceback_on_signal(signum):
    process = subprocess.Popen([sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline() == "ready\n"
        process.send_signal(signum)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert out == "stopping gracefully\n"
    assert "Traceback" not in err
    assert err.strip() == f"nova-sim: stopped on {signal.Signals(signum).name}"


def test_describe_cloud_points_at_a_clouds_yaml(tmp_path, monkeypatch):
    from nova_sim.conf import new_conf

    conf = new_conf()
    conf.set_override("state_path", str(tmp_path / "state"))
    args = types.SimpleNamespace(computes=2, api=True)
    # From the checkout: the shipped file, as a path that works from there.
    shipped = launch.clouds_yaml_path()
    monkeypatch.chdir(os.path.dirname(os.path.dirname(os.path.dirname(shipped))))
    text = launch.describe_cloud(types.SimpleNamespace(), conf, args)
    assert "compute1, compute2" in text
    assert "http://127.0.0.1:8774/v2.1" in text
    assert "export OS_CLIENT_CONFIG_FILE=$PWD/etc/nova-sim/clouds.yaml" in text
    assert "--os-cloud nova-sim server list" in text
    monkeypatch.chdir(tmp_path)
    # Another port: a clouds.yaml for it under state_path.
    cloud = types.SimpleNamespace(api_url="http://127.0.0.1:41234/v2.1",
                                  compute_hosts=["c1"])
    text = launch.describe_cloud(cloud, conf, args)
    written = tmp_path / "state" / "clouds.yaml"
    assert "export OS_CLIENT_CONFIG_FILE=$PWD/state/clouds.yaml" in text  # cwd: tmp_path
    assert "1 x nova-compute (c1)" in text
    assert written.read_text() == launch.clouds_yaml("http://127.0.0.1:41234")
    assert "http://127.0.0.1:41234/image" in written.read_text()
    assert "8774" not in written.read_text()


def test_describe_cloud_under_keystone_points_at_the_keystone_clouds_yaml(tmp_path,
                                                                         monkeypatch):
    from nova_sim.conf import new_conf

    conf = new_conf()
    conf.set_override("state_path", str(tmp_path / "state"))
    conf.set_override("auth_strategy", "keystone", "api")
    args = types.SimpleNamespace(computes=1, api=True)
    shipped = launch.clouds_yaml_path("clouds-keystone.yaml")
    monkeypatch.chdir(os.path.dirname(os.path.dirname(os.path.dirname(shipped))))
    text = launch.describe_cloud(types.SimpleNamespace(), conf, args)
    assert "export OS_CLIENT_CONFIG_FILE=$PWD/etc/nova-sim/clouds-keystone.yaml" in text
    assert "--os-cloud nova-sim-admin server list  # admin" in text
    assert "clouds.yaml" not in text.replace("clouds-keystone.yaml", "")
    assert "auth: [api] keystone" in text
    # Another password (or port): a clouds-keystone.yaml with it under state_path.
    monkeypatch.chdir(tmp_path)
    conf.set_override("default_password", "s3cret", "identity")
    text = launch.describe_cloud(types.SimpleNamespace(), conf, args)
    written = tmp_path / "state" / "clouds-keystone.yaml"
    assert "export OS_CLIENT_CONFIG_FILE=$PWD/state/clouds-keystone.yaml" in text
    assert written.read_text() == launch.keystone_clouds_yaml(password="s3cret")
    assert "password: s3cret" in written.read_text()


def test_shipped_keystone_clouds_yaml_is_the_template():
    with open(launch.clouds_yaml_path("clouds-keystone.yaml")) as handle:
        assert handle.read() == launch.keystone_clouds_yaml(), (
            "etc/nova-sim/clouds-keystone.yaml and "
            "nova_sim.cmd.launch.keystone_clouds_yaml() differ: change both")


def test_shipped_clouds_yaml_is_the_template():
    with open(launch.clouds_yaml_path()) as handle:
        assert handle.read() == launch.clouds_yaml(), (
            "etc/nova-sim/clouds.yaml and nova_sim.cmd.launch.clouds_yaml() differ: "
            "change both")


def test_clouds_yaml_is_shipped():
    yaml = pytest.importorskip("yaml")
    with open(launch.clouds_yaml_path()) as handle:
        clouds = yaml.safe_load(handle)["clouds"]
    for name, token in (("nova-sim", "admin:admin"), ("nova-sim-demo", "demo:demo")):
        cloud = clouds[name]
        assert cloud["auth_type"] == "admin_token"
        assert cloud["auth"] == {"token": token, "endpoint": "http://127.0.0.1:8774/v2.1"}
        assert cloud["identity_api_version"] == "3"
        assert cloud["compute_endpoint_override"] == "http://127.0.0.1:8774/v2.1"
        assert cloud["image_endpoint_override"] == "http://127.0.0.1:8774/image"
        assert cloud["network_endpoint_override"] == "http://127.0.0.1:8774/network"


def test_server_without_wait_is_wrapped():
    events = []
    target = types.SimpleNamespace(start=lambda: events.append("start"),
                                   stop=lambda: events.append("stop"))
    with green.virtual_time():
        green.spawn_after(3, os.kill, os.getpid(), signal.SIGTERM)
        assert launch.serve(target) == 0
    assert events == ["start", "stop"]


def test_start_failure_is_one_command_error():
    from nova_sim.cmd import CommandError

    events = []

    class Broken:
        def start(self):
            raise RuntimeError("conductor did not answer")

        def stop(self):
            events.append("stop")

    with green.virtual_time():
        with pytest.raises(CommandError, match="cannot start nova-compute: RuntimeError: "
                                               "conductor did not answer"):
            launch.serve(launch._StartErrors(Broken(), "nova-compute"))
    assert events == ["stop"]


def test_signal_during_start_interrupts_it():
    events = []

    class SlowStart:
        def start(self):
            events.append("starting")
            green.sleep(3600)  # e.g. waiting for a conductor
            events.append("started")

        def stop(self):
            events.append("stop")

        def wait(self):
            events.append("wait")

    with green.virtual_time():
        green.spawn_after(5, os.kill, os.getpid(), signal.SIGTERM)
        assert launch.serve(SlowStart(), on_started=lambda: events.append("on_started")) == 0
        assert green.now() == 5
    assert events == ["starting", "stop"]


class _SlowStart:
    """Starts in 3600 virtual seconds (a conductor that answers late)."""

    def __init__(self, events):
        self.events = events

    def start(self):
        self.events.append("starting")
        green.sleep(3600)
        self.events.append("started")

    def stop(self):
        self.events.append("stop")

    def wait(self):
        self.events.append("wait")


def test_start_timeout_stops_and_says_why():
    from nova_sim.cmd import CommandError

    events = []
    with green.virtual_time():
        with pytest.raises(CommandError, match="^no conductor answered$"):
            launch.serve(_SlowStart(events), start_timeout=60,
                         timed_out=lambda: "no conductor answered")
        assert green.now() == 60
    assert events == ["starting", "stop"]


@pytest.mark.parametrize("start_timeout", [0, None])
def test_start_timeout_0_waits_for_ever(start_timeout):
    events = []
    with green.virtual_time():
        assert launch.serve(_SlowStart(events), start_timeout=start_timeout) == 0
        assert green.now() == 3600
    assert events == ["starting", "started", "wait"]


def test_config_error_while_starting_passes_through():
    from nova_sim.conf import ConfigError

    class Picky:
        def start(self):
            raise ConfigError("[filter_scheduler] enabled_filters: unknown filter(s) X")

        def stop(self):
            pass

    with green.virtual_time():
        with pytest.raises(ConfigError, match="unknown filter"):
            launch.serve(launch._StartErrors(Picky(), "the cloud"))


def test_printed_commands_are_the_ones_that_run(tmp_path, monkeypatch):
    # The banner prints a command beside this Python bare when it is the one on PATH,
    # else by its path (relative under the current directory), and None when absent.
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    tool = bin_dir / "openstack"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(bin_dir / "python"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert launch.command_as_typed("openstack") == os.path.join("venv", "bin", "openstack")
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    assert launch.command_as_typed("openstack") == "openstack"
    assert launch.command_as_typed("no-such-tool") is None
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # not under the current directory: absolute
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert launch.command_as_typed("openstack") == str(tool)


def test_banner_says_how_to_install_a_missing_openstack_cli(tmp_path, monkeypatch):
    from nova_sim.conf import new_conf

    conf = new_conf()
    conf.set_override("state_path", str(tmp_path / "state"))
    monkeypatch.setattr(launch, "command_as_typed",
                        lambda name: None if name == "openstack" else f"venv/bin/{name}")
    text = launch.describe_cloud(types.SimpleNamespace(), conf,
                                 types.SimpleNamespace(computes=1, api=True))
    assert ("(the openstack CLI is not installed here: venv/bin/python -m pip install "
            "python-openstackclient)") in text
    assert "venv/bin/nova-sim status --url http://127.0.0.1:8774/v2.1" in text


@pytest.mark.parametrize("connected, says", [
    (False, "cannot start nova-compute: cannot reach the broker at "
            "rabbit://u:****@broker:5672/ within 60s ([DEFAULT] service_start_timeout; 0 "
            "waits for ever)"),
    (True, "cannot start nova-compute: no nova-conductor answered over "
           "rabbit://u:****@broker:5672/ within 60s ([DEFAULT] service_start_timeout; 0 "
           "waits for ever); is one running on this transport_url and control_exchange?"),
])
def test_start_timeout_message_names_the_broker_or_the_conductor(connected, says):
    from nova_sim.conf import new_conf

    transport = types.SimpleNamespace(url="rabbit://u:secret@broker:5672/",
                                      connected=connected)
    started = types.SimpleNamespace(transport=transport)
    assert launch.start_timeout_message("nova-compute", started, new_conf()) == says


def test_shell_paths_read_the_same_on_every_machine(tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / "work").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(home / "work")
    assert launch.shell_path(str(home / "work" / "etc" / "clouds.yaml")) == \
        "$PWD/etc/clouds.yaml"
    assert launch.shell_path(str(home / ".local" / "state" / "traces")) == \
        "~/.local/state/traces"
    assert launch.shell_path(str(tmp_path / "elsewhere")) == str(tmp_path / "elsewhere")
