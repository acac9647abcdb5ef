"""nova_sim.conf: registration, defaults, parse_args and one-line errors."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest
from oslo_config import cfg

import nova_sim.conf
from nova_sim.conf import ConfigError, new_conf, parse_args
from nova_sim.conf.fake_driver import Distribution, parse_distribution
from nova_sim.conf.opts import list_opts


def write(tmp_path, text, name="nova-sim.conf"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_conf_is_not_oslo_global():
    assert nova_sim.conf.CONF is not cfg.CONF
    assert isinstance(nova_sim.conf.CONF, cfg.ConfigOpts)
    # Nothing of ours leaked onto oslo's global object.
    assert "osapi_compute_listen_port" not in cfg.CONF


def test_new_conf_is_fresh_and_complete():
    first, second = new_conf(), new_conf()
    assert first is not second
    first.set_override("host", "elsewhere")
    assert second.host == "nova-sim"
    expected = {
        "transport_url": "green://",
        "control_exchange": "nova",
        "rpc_response_timeout": 60,
        "executor_thread_pool_size": 64,
        "call_monitor_timeout": None,
        "allowed_remote_exmods": [],
        "host": "nova-sim",
        "report_interval": 10,
        "service_down_time": 60,
        "periodic_enable": True,
        "periodic_fuzzy_delay": 60,
        "max_concurrent_builds": 10,
        "sync_power_state_pool_size": 1000,
        "sync_power_state_interval": 600,
        "default_green_pool_size": 1000,
        "osapi_compute_listen": "127.0.0.1",
        "osapi_compute_listen_port": 8774,
        "graceful_shutdown_timeout": 60,
        "debug": False,
        "log_file": None,
        "seed": None,
        "long_rpc_timeout": 1800,
        "initial_cpu_allocation_ratio": 4.0,
        "initial_ram_allocation_ratio": 1.0,
        "initial_disk_allocation_ratio": 1.0,
    }
    for name, value in expected.items():
        assert second[name] == value, name
    assert second.api.auth_strategy == "noauth2"
    assert second.api.max_limit == 1000
    assert second.wsgi.default_pool_size == 1000
    assert second.wsgi.max_header_line == 16384
    assert second.wsgi.max_request_body_size == 114688
    assert second.wsgi.client_socket_timeout == 900
    assert second.wsgi.keep_alive is True
    assert second.database.connection == "sqlite://"
    assert second.scheduler.max_attempts == 3
    assert second.filter_scheduler.enabled_filters[:1] == ["AvailabilityZoneFilter"]
    assert "ComputeFilter" in second.filter_scheduler.enabled_filters
    assert second.filter_scheduler.host_subset_size == 1
    assert second.filter_scheduler.io_ops_weight_multiplier == -1.0
    assert second.filter_scheduler.build_failure_weight_multiplier == 1000000.0
    assert second.filter_scheduler.max_io_ops_per_host == 8
    assert second.filter_scheduler.max_instances_per_host == 50
    assert second.quota.instances == 10
    assert second.fake_driver.spawn_failure_rate == 0.0
    assert second.fake_driver.failing_hosts == []
    assert second.oslo_messaging_rabbit.heartbeat_timeout_threshold == 60
    assert second.trace.enabled is None  # the commands trace, code does not
    assert second.trace.output_dir == second.state_path + "/traces"


def test_parse_args_reads_files_and_dirs(tmp_path):
    first = write(tmp_path, "[DEFAULT]\nhost = h1\nreport_interval = 5\n", "a.conf")
    second = write(tmp_path, "[DEFAULT]\nhost = h2\n[api]\nauth_strategy = open\n", "b.conf")
    conf_dir = tmp_path / "conf.d"
    conf_dir.mkdir()
    (conf_dir / "10-db.conf").write_text("[database]\nconnection = sqlite:////tmp/x.db\n")
    conf = parse_args(
        ["--config-file", first, "--config-file", second, "--config-dir", str(conf_dir)],
        new_conf(),
        default_config_files=[],
    )
    assert conf.host == "h2"  # later files win
    assert conf.report_interval == 5
    assert conf.api.auth_strategy == "open"
    assert conf.database.connection == "sqlite:////tmp/x.db"


def test_parse_args_default_files_and_reparse(tmp_path):
    path = write(tmp_path, "[DEFAULT]\nhost = from-default\n")
    conf = parse_args([], new_conf(), default_config_files=[path])
    assert conf.host == "from-default"
    parse_args([], conf, default_config_files=[])
    assert conf.host == "nova-sim"


def test_parse_args_cli_logging_and_overrides():
    conf = parse_args(
        ["--debug", "--log-file", "/tmp/x.log"],
        new_conf(),
        default_config_files=[],
        overrides={
            "transport_url": "rabbit://u:p@127.0.0.1:5672/",
            "scheduler.max_attempts": 5,
            "seed": None,
        },
    )
    assert conf.debug is True
    assert conf.log_file == "/tmp/x.log"
    assert conf.transport_url == "rabbit://u:p@127.0.0.1:5672/"
    assert conf.scheduler.max_attempts == 5
    assert conf.seed is None


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "[DEFAULT]\nosapi_compute_listen_port = notaport\n",
            "[DEFAULT] osapi_compute_listen_port",
        ),
        ("[DEFAULT]\nosapi_compute_listen_port = 70000\n", "[DEFAULT] osapi_compute_listen_port"),
        ("[scheduler]\nmax_attempts = 0\n", "[scheduler] max_attempts"),
        ("[api]\nauth_strategy = keystone\n", "[api] auth_strategy"),
        ("[fake_driver]\nspawn_latency = uniform:2,1\n", "[fake_driver] spawn_latency"),
        ("[fake_driver]\nspawn_failure_rate = 1.5\n", "[fake_driver] spawn_failure_rate"),
        ("[wsgi]\nkeep_alive = perhaps\n", "[wsgi] keep_alive"),
        ("not an ini file\n", "Failed to parse"),
    ],
)
def test_bad_values_give_one_line(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        parse_args(["--config-file", path], new_conf(), default_config_files=[])
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message
    if expected.startswith("["):
        assert path in message


def test_missing_file_and_dir(tmp_path):
    with pytest.raises(ConfigError, match="Failed to find"):
        parse_args(["--config-file", str(tmp_path / "nope.conf")], new_conf(), [])
    with pytest.raises(ConfigError, match="directory"):
        parse_args(["--config-dir", str(tmp_path / "nope.d")], new_conf(), [])


def test_bad_override_is_one_line():
    with pytest.raises(ConfigError, match=r"\[DEFAULT\] osapi_compute_listen_port"):
        parse_args([], new_conf(), [], overrides={"osapi_compute_listen_port": "x"})


def test_distributions():
    rng = random.Random(1)
    assert parse_distribution("fixed:0") == Distribution("fixed", (0.0,))
    assert parse_distribution("0.5").sample(rng) == 0.5
    uniform = parse_distribution("uniform:1.0,2.0")
    assert all(1.0 <= uniform.sample(rng) <= 2.0 for _ in range(100))
    assert uniform.mean == 1.5
    assert parse_distribution("normal:1,5").sample(rng) >= 0.0
    assert parse_distribution("exponential:0.3").sample(rng) >= 0.0
    assert str(parse_distribution(" Uniform:1, 2 ")) == "uniform:1.0,2.0"
    for bad in ["", "uniform:1", "fixed:-1", "fixed:nan", "gamma:1", "uniform:a,b"]:
        with pytest.raises(ValueError):
            parse_distribution(bad)
    # Same seed, same samples.
    assert [uniform.sample(random.Random(7)) for _ in range(2)] == [
        uniform.sample(random.Random(7)) for _ in range(2)
    ]


def test_list_opts_order_and_groups():
    groups = [group if isinstance(group, str) else group.name for group, _ in list_opts()]
    assert groups[0] == "DEFAULT"
    assert groups[1:] == sorted(groups[1:])
    assert {
        "api",
        "wsgi",
        "database",
        "scheduler",
        "filter_scheduler",
        "fake_driver",
        "trace",
        "oslo_messaging_rabbit",
    } <= set(groups)
    for _, opts in list_opts():
        names = [opt.dest for opt in opts]
        assert len(names) == len(set(names))


def test_conf_package_imports_nothing_of_nova_sim():
    code = (
        "import sys; import nova_sim.conf, nova_sim.conf.opts; "
        "mods = sorted(m for m in sys.modules if m.startswith('nova_sim') "
        "and not m.startswith('nova_sim.conf')); print(mods)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    # The nova_sim package itself is imported as the parent; nothing else may be.
    assert out in ("[]", "['nova_sim']"), out


def test_overrides_do_not_leak_between_confs():
    first = new_conf()
    first.set_override("max_attempts", 5, group="scheduler")
    first.set_override("enabled", True, group="trace")
    second = new_conf()
    assert second.scheduler.max_attempts == 3
    assert second.trace.enabled is None
    assert nova_sim.conf.CONF.scheduler.max_attempts == 3


def test_environment_variables_are_not_read(monkeypatch):
    monkeypatch.setenv("OS_DEFAULT__HOST", "from-environment")
    monkeypatch.setenv("OS_SCHEDULER__MAX_ATTEMPTS", "9")
    conf = parse_args([], new_conf(), default_config_files=[])
    assert conf.host == "nova-sim"
    assert conf.scheduler.max_attempts == 3


UNKNOWN = """\
[DEFAULT]
host = h1
hots = typo
[api]
max_limt = 5
[keystone_authtoken]
auth_url = http://keystone.example/
[database]
connection = sqlite://
"""


def test_unknown_options_in_own_groups_only(tmp_path):
    path = write(tmp_path, UNKNOWN)
    conf_dir = tmp_path / "conf.d"
    conf_dir.mkdir()
    (conf_dir / "10-wsgi.conf").write_text("[wsgi]\nkeep_alive = true\nkeepalive = true\n")
    conf = parse_args(["--config-file", path, "--config-dir", str(conf_dir)], new_conf(), [])
    assert conf.host == "h1"
    assert nova_sim.conf.unknown_options(conf) == [
        (path, "DEFAULT", "hots"),
        (path, "api", "max_limt"),
        (str(conf_dir / "10-wsgi.conf"), "wsgi", "keepalive"),
    ]
    clean = parse_args(["--config-file", write(tmp_path, "[api]\nmax_limit = 5\n", "ok.conf")],
                       new_conf(), [])
    assert nova_sim.conf.unknown_options(clean) == []


def test_unknown_options_warn_once_at_start_up(tmp_path):
    path = write(tmp_path, UNKNOWN)
    result = subprocess.run(
        [sys.executable, "-m", "nova_sim.cmd.main", "--config-file", path, "demo", "--list"],
        capture_output=True, text=True, timeout=60,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "Unknown option" in line]
    assert len(warnings) == 2, result.stderr
    assert warnings[0].endswith(f"Unknown option hots in [DEFAULT] of {path}: ignored")
    assert warnings[1].endswith(f"Unknown option max_limt in [api] of {path}: ignored")
    assert "WARNING" in warnings[0]
    assert "auth_url" not in result.stderr


def test_an_unregistered_option_fails_at_once():
    conf = new_conf()
    with pytest.raises(cfg.NoSuchOptError):
        conf.api.max_limt  # noqa: B018 - the read is the test
    with pytest.raises(cfg.NoSuchOptError):
        conf.set_override("max_limt", 5, group="api")
    with pytest.raises(cfg.NoSuchOptError):
        conf.virtual_epoch  # noqa: B018 - removed: nothing read it
    assert not hasattr(nova_sim.conf, "option")


def test_no_code_reads_an_option_with_a_default_of_its_own():
    """``getattr(conf..., name, default)`` and ``try: conf.x except: default`` were how
    options used to be read; every read is now ``conf.<group>.<name>``."""
    import ast
    import pathlib

    package = pathlib.Path(nova_sim.conf.__file__).parents[1]
    found = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id == "getattr" and len(node.args) == 3
                    and "conf" in ast.unparse(node.args[0])):
                found.append(f"{path.relative_to(package)}:{node.lineno}")
    assert found == []
