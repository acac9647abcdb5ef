"""The nova-sim command: parsing, configuration errors, exit statuses (subprocesses)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from nova_sim.cmd import main as cli

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def nova_sim(*args: str, timeout: float = 60, **kw) -> subprocess.CompletedProcess:
    """Run ``python -m nova_sim.cmd.main ARGS`` with no user config file around."""
    env = dict(os.environ, HOME=kw.pop("home", ROOT + "/.nonexistent-home"))
    return subprocess.run(
        [sys.executable, "-m", "nova_sim.cmd.main", *args],
        capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env, **kw,
    )


def test_help_lists_every_command():
    result = nova_sim("--help")
    assert result.returncode == 0, result.stderr
    for command in ("run", "api", "conductor", "scheduler", "compute", "status", "demo",
                    "trace"):
        assert command in result.stdout
    for option in ("--config-file", "--config-dir", "--debug", "--log-file",
                   "--transport-url"):
        assert option in result.stdout


def test_bad_option_value_in_config_file_is_one_line_and_status_2(tmp_path):
    path = tmp_path / "bad.conf"
    path.write_text("[DEFAULT]\nosapi_compute_listen_port = notaport\n")
    for args in (["--config-file", str(path), "status"], ["status", "--config-file", str(path)],
                 ["--config-file", str(path), "run"]):
        result = nova_sim(*args)
        assert result.returncode == 2, result
        lines = result.stderr.splitlines()
        assert len(lines) == 1, result.stderr
        assert "osapi_compute_listen_port" in lines[0]
        assert "notaport" in lines[0]
        assert "Traceback" not in result.stderr
        assert result.stdout == ""

def test_unknown_scheduler_filter_stops_start_up_with_status_2(tmp_path):
    path = tmp_path / "bad.conf"
    path.write_text("[database]\nconnection = sqlite:///%s\n"
                    "[filter_scheduler]\nenabled_filters = ComputeFilter,NoSuchFilter\n"
                    % (tmp_path / "db.sqlite"))
    result = nova_sim("--config-file", str(path), "scheduler")
    assert result.returncode == 2, result
    errors = [line for line in result.stderr.splitlines() if line.startswith("nova-sim:")]
    assert len(errors) == 1 and "NoSuchFilter" in errors[0], result.stderr
    assert "Traceback" not in result.stderr



@pytest.mark.parametrize(
    "args, expected",
    [
        (["status", "--bogus"], "unrecognized arguments: --bogus"),
        (["run", "--computes", "0"], "not a positive integer"),
        (["run", "--port", "notaport"], "'notaport' is not an integer"),
        (["compute", "--host"], "expected one argument"),
        (["--config-file", "/nonexistent/nova-sim.conf", "demo", "--list"], "Failed to find"),
        (["--config-dir", "/nonexistent/conf.d", "demo", "--list"], "directory"),
        (["--transport-url", "x", "--config-file"], "expected one argument"),
        ([], "required"),
        (["demo", "no-such-demo"], "no demo named 'no-such-demo'"),
    ],
)
def test_usage_errors_are_one_line_and_status_2(args, expected):
    result = nova_sim(*args)
    assert result.returncode == 2, result
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_unwritable_log_file_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = nova_sim("--log-file", str(blocker / "sub" / "x.log"), "demo", "--list")
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1
    assert "cannot set up logging" in result.stderr


def test_status_without_a_cloud_is_one_line_and_status_1():
    result = nova_sim("status", "--url", "http://127.0.0.1:9/v2.1")
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1
    assert "cannot reach the compute API at http://127.0.0.1:9/v2.1" in result.stderr


def test_demo_list():
    result = nova_sim("demo", "--list")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.strip()


def test_global_options_before_or_after_the_command(tmp_path):
    parser = cli.build_parser()
    before = parser.parse_args(["--debug", "--transport-url", "memory://", "compute",
                                "--host", "c7"])
    after = parser.parse_args(["compute", "--host", "c7", "--debug", "--transport-url",
                               "memory://", "--config-file", "a", "--config-file", "b"])
    for args in (before, after):
        assert args.debug is True
        assert args.transport_url == "memory://"
        assert cli.overrides(args) == {"transport_url": "memory://", "host": "c7"}
    assert cli.oslo_arguments(after) == ["--config-file", "a", "--config-file", "b",
                                         "--debug"]
    plain = parser.parse_args(["status"])
    assert plain.debug is False and plain.config_file == [] and plain.transport_url is None


def test_load_configuration_applies_command_line(tmp_path):
    from nova_sim.conf import new_conf

    path = tmp_path / "n.conf"
    path.write_text("[DEFAULT]\nhost = from-file\ntransport_url = rabbit://f/\n")
    args = cli.build_parser().parse_args(
        ["--config-file", str(path), "compute", "--host", "c1", "--transport-url",
         "memory://"])
    conf = cli.load_configuration(args, new_conf())
    assert conf.host == "c1"
    assert conf.transport_url == "memory://"
    args = cli.build_parser().parse_args(["--config-file", str(path), "run", "--port", "0"])
    conf = cli.load_configuration(args, new_conf())
    assert conf.host == "from-file"
    assert conf.transport_url == "rabbit://f/"
    assert conf.osapi_compute_listen_port == 0


def test_console_scripts_are_declared():
    import tomllib

    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as handle:
        scripts = tomllib.load(handle)["project"]["scripts"]
    assert scripts["nova-sim"] == "nova_sim.cmd.main:main"
    for name in ("api", "conductor", "scheduler", "compute"):
        target = scripts[f"nova-sim-{name}"]
        assert target == f"nova_sim.cmd.main:{name}_main"
        assert callable(getattr(cli, f"{name}_main"))


def test_demo_runs_through_the_command():
    listed = nova_sim("demo", "--list").stdout
    if "greenlet_switch" not in listed:
        pytest.fail("demo 01 greenlet_switch is missing from nova_sim/demos")
    result = nova_sim("demo", "greenlet-switch")
    assert result.returncode == 0, result.stderr
    printed = [line.strip() for line in result.stdout.splitlines()]
    assert printed.index("12") < printed.index("56") < printed.index("34")
    assert "78" not in printed


def test_trace_dispatches_to_the_trace_command(tmp_path):
    result = nova_sim("trace", "--help")
    assert result.returncode == 0, result.stderr
    assert "usage: nova-sim trace" in result.stdout
    assert "show" in result.stdout and "export" in result.stdout
    empty = tmp_path / "traces"
    empty.mkdir()
    result = nova_sim("--debug", "trace", "show", "--last", "-i", str(empty))
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
