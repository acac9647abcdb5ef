"""The ``nova-sim`` command: argument parsing, configuration, logging and dispatch.

Owns the command line (subcommands ``run``, ``api``, ``conductor``, ``scheduler``,
``compute``, ``status``, ``demo``, ``trace``, ``simulate``, ``db``), turning the global
options into oslo.config arguments (``--config-file``, ``--config-dir``, ``--debug``,
``--log-file``) and overrides (``--transport-url``), and the exit statuses:

* 0: success, including a graceful stop on SIGTERM or Ctrl-C;
* 1: a runtime failure (a piece missing, a cloud that cannot be reached...), one line;
* 2: a usage or configuration error, one line on standard error and no traceback.

Each subcommand's handler lives in its own module of ``nova_sim.cmd`` and imports what it
starts lazily, inside the handler. Must not know how services work inside.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from nova_sim import conf as nova_conf
from nova_sim.cmd import CommandError, UsageError

PROG = "nova-sim"

# Subcommand -> the binary name it logs and registers its service under (Nova's names, as
# `openstack compute service list` shows them).
BINARIES = {
    "run": "nova-sim",
    "api": "nova-api",
    "conductor": "nova-conductor",
    "scheduler": "nova-scheduler",
    "compute": "nova-compute",
    "status": "nova-sim",
    "demo": "nova-sim",
    "trace": "nova-sim",
    "simulate": "nova-sim",
    "db": "nova-sim",
}


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on standard error and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _add_global_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """The options every subcommand takes, before or after the subcommand's name.

    On subparsers the defaults are SUPPRESS, so a value given before the subcommand is not
    overwritten by the subparser's default.
    """
    default: Any = argparse.SUPPRESS if suppress else None
    group = parser.add_argument_group("configuration and logging")
    group.add_argument(
        "--config-file",
        action="append",
        metavar="PATH",
        default=argparse.SUPPRESS if suppress else [],
        help="read options from this file (repeatable; later files win). Without it, "
        "nova-sim.conf is looked up in ~/.nova-sim/, ~/, /etc/nova-sim/ and /etc/",
    )
    group.add_argument(
        "--config-dir",
        action="append",
        metavar="DIR",
        default=argparse.SUPPRESS if suppress else [],
        help="read every *.conf file in this directory, after the config files",
    )
    group.add_argument(
        "--debug",
        "-d",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="log at DEBUG level",
    )
    group.add_argument("--log-file", metavar="PATH", default=default, help="log to this file")
    group.add_argument(
        "--transport-url",
        metavar="URL",
        default=default,
        help="RPC transport ([DEFAULT] transport_url): green:// (in-process, default), "
        "memory://, rabbit://user:password@host:5672/",
    )


def build_parser() -> argparse.ArgumentParser:
    """The full command-line parser (also used to document the command)."""
    parser = _Parser(
        prog=PROG,
        description="A Nova-style cloud control plane on greenthreads: run it, trace a "
        "request through it, and learn how Nova's greenthreads work.",
        epilog="Run 'nova-sim COMMAND --help' for the options of a command.",
    )
    _add_global_options(parser, suppress=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    def command(name: str, help_text: str, add_help: bool = True) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text,
                                  add_help=add_help)
        _add_global_options(sub, suppress=True)
        return sub

    run = command(
        "run",
        "run a whole cloud in one process: the compute API, conductor, scheduler and "
        "computes (stop with Ctrl-C or SIGTERM)",
    )
    run.add_argument(
        "--computes", type=_positive_int, default=3, metavar="N",
        help="number of compute hosts (default: 3)",
    )
    run.add_argument(
        "--demo-boots", type=_non_negative_int, default=0, metavar="N",
        help="once the cloud is up, boot N servers through the REST API and print the "
        "trace of one boot",
    )
    run.add_argument(
        "--no-api", dest="api", action="store_false",
        help="run the services without the REST API",
    )

    api = command("api",
                  "run the compute API service alone (services talk over --transport-url)")
    for parser_with_port in (run, api):
        parser_with_port.add_argument(
            "--port", type=_port, default=None,
            help="API port ([DEFAULT] osapi_compute_listen_port, default 8774; 0: any "
            "free port)",
        )
        parser_with_port.add_argument(
            "--dashboard-port", type=_port, default=None, metavar="PORT",
            help="dashboard port ([dashboard] port, default 8780; 0: any free port)",
        )
    command("conductor", "run the conductor service alone")
    command("scheduler", "run the scheduler service alone")
    compute = command("compute", "run one compute service alone")
    compute.add_argument(
        "--host", metavar="NAME", default=None,
        help="name of this compute host ([DEFAULT] host)",
    )
    compute.add_argument(
        "--hosts", type=_positive_int, default=1, metavar="N",
        help="run N simulated compute hosts in this process, HOST-1 .. HOST-N, each its "
        "own service, heartbeat and RPC server (default: 1, named HOST)",
    )

    status = command(
        "status",
        "show the services, hosts and instances of a running cloud (through its REST API)",
    )
    status.add_argument(
        "--url", default=None,
        help="compute endpoint (default: http://OSAPI_COMPUTE_LISTEN:PORT/v2.1 from the "
        "configuration)",
    )
    status.add_argument(
        "--token", default="admin:admin",
        help="X-Auth-Token to send (noauth2: user:project; default admin:admin)",
    )

    demo = command("demo", "run a narrated teaching demo (see 'nova-sim demo --list')")
    demo.add_argument(
        "name", nargs="?", metavar="NAME",
        help="demo number or name, e.g. 1, 01 or greenlet_switch",
    )
    demo.add_argument("--list", action="store_true", help="list the demos")
    demo.add_argument("demo_args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)

    from nova_sim.cmd import db as db_command

    db_command.add_arguments(
        command("db", "create or upgrade the database's schema ('db sync') or print its "
                "revision ('db version')")
    )

    def pass_through(name: str, help_text: str) -> None:
        """A command whose arguments all go to its own parser (``nova-sim NAME --help``
        is that parser's help), collected as ``args.<name>_args``."""
        sub = command(name, help_text, add_help=False)
        sub.add_argument(
            f"{name}_args", nargs=argparse.REMAINDER, metavar="...",
            help=f"arguments of the {name} command (see 'nova-sim {name} --help')",
        )

    pass_through(
        "trace",
        "show, export and merge request traces: 'trace show REQUEST_ID|--last', "
        "'trace export --format perfetto|otlp|osprofiler|mermaid|text', 'trace merge'",
    )
    pass_through(
        "simulate",
        "run a Rally task file against a simulated cloud: 'simulate TASK [--cloud FILE] "
        "[--seed N] [--repeat N] [--out DIR]...', 'simulate compare DIR_A DIR_B'",
    )
    return parser


def _int_in(text: str, low: int, high: int | None, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer")
    if value < low or (high is not None and value > high):
        raise argparse.ArgumentTypeError(f"{value} is not {what}")
    return value


def _positive_int(text: str) -> int:
    return _int_in(text, 1, None, "a positive integer")


def _non_negative_int(text: str) -> int:
    return _int_in(text, 0, None, "zero or more")


def _port(text: str) -> int:
    return _int_in(text, 0, 65535, "a port number (0-65535)")


def oslo_arguments(args: argparse.Namespace) -> list[str]:
    """The oslo.config command line equivalent to the parsed global options."""
    argv: list[str] = []
    for path in getattr(args, "config_file", None) or []:
        argv += ["--config-file", path]
    for path in getattr(args, "config_dir", None) or []:
        argv += ["--config-dir", path]
    if getattr(args, "debug", False):
        argv.append("--debug")
    if getattr(args, "log_file", None):
        argv += ["--log-file", args.log_file]
    return argv


def overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Option overrides from the command line (None: not given)."""
    values: dict[str, Any] = {"transport_url": getattr(args, "transport_url", None)}
    if args.command == "compute":
        values["host"] = args.host
    if args.command in ("run", "api"):
        values["osapi_compute_listen_port"] = args.port
        values["dashboard.port"] = args.dashboard_port
    return values


def load_configuration(args: argparse.Namespace, conf: Any = None) -> Any:
    """Parse the configuration for ``args`` into ``conf`` (default: nova_sim.conf.CONF).

    Raises UsageError (one line) for any configuration problem.
    """
    try:
        return nova_conf.parse_args(
            oslo_arguments(args),
            nova_conf.CONF if conf is None else conf,
            overrides=overrides(args),
        )
    except nova_conf.ConfigError as error:
        raise UsageError(str(error))


def _handler(command: str):
    if command == "run":
        from nova_sim.cmd.launch import run_cloud

        return run_cloud
    if command in ("api", "conductor", "scheduler", "compute"):
        from nova_sim.cmd.launch import run_service

        return run_service
    if command == "status":
        from nova_sim.cmd.status import show_status

        return show_status
    if command == "demo":
        from nova_sim.cmd.demo import demo_command

        return demo_command
    if command == "simulate":
        from nova_sim.cmd.simulate import simulate_command

        return simulate_command
    if command == "db":
        from nova_sim.cmd.db import db_command

        return db_command
    from nova_sim.cmd.trace import trace_command

    return trace_command


def _fail(status: int, message: str) -> int:
    text = " ".join(str(message).split())
    sys.stderr.write(f"{PROG}: {text}\n")
    sys.stderr.flush()
    return status


def main(argv: Sequence[str] | None = None, conf: Any = None) -> int:
    """Run the ``nova-sim`` command with ``argv`` (default: ``sys.argv[1:]``).

    Returns the exit status (the console script passes it to ``sys.exit``): 0 on success
    and on a graceful stop by signal, 1 for a runtime failure, 2 for a usage or
    configuration error. Errors are one line on standard error, never a traceback
    (except for a bug: an unexpected exception propagates).
    """
    parser = build_parser()
    args, unknown = parser.parse_known_args(list(sys.argv[1:] if argv is None else argv))
    if unknown:
        if args.command not in ("trace", "simulate"):
            parser.error(f"unrecognized arguments: {' '.join(unknown)}")
        # Options argparse's REMAINDER leaves out when they come first (`trace --help`)
        # belong to the trace (or simulate) command.
        name = f"{args.command}_args"
        setattr(args, name, unknown + list(getattr(args, name) or []))
    try:
        conf = load_configuration(args, conf)
        from nova_sim import log

        try:
            log.setup(conf, BINARIES[args.command])
        except (OSError, ValueError) as error:
            raise UsageError(f"cannot set up logging: {error}")
        nova_conf.warn_unknown_options(conf)
        status = _handler(args.command)(args, conf)
    except UsageError as error:
        return _fail(2, str(error))
    except nova_conf.ConfigError as error:  # raised late, e.g. by a service checking names
        return _fail(2, str(error))
    except CommandError as error:
        return _fail(1, str(error))
    except KeyboardInterrupt:
        # Ctrl-C before the signal handlers were installed (e.g. while starting).
        return _fail(0, "interrupted")
    except BrokenPipeError:
        # `nova-sim demo --list | head`: the reader left; say nothing more.
        _silence_stdout()
        return 0
    return int(status or 0)


def _silence_stdout() -> None:
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _service_main(command: str) -> int:
    return main([command, *sys.argv[1:]])


def api_main() -> int:
    """``nova-sim-api``: the same as ``nova-sim api``."""
    return _service_main("api")


def conductor_main() -> int:
    """``nova-sim-conductor``: the same as ``nova-sim conductor``."""
    return _service_main("conductor")


def scheduler_main() -> int:
    """``nova-sim-scheduler``: the same as ``nova-sim scheduler``."""
    return _service_main("scheduler")


def compute_main() -> int:
    """``nova-sim-compute``: the same as ``nova-sim compute`` (``--host NAME``)."""
    return _service_main("compute")


if __name__ == "__main__":
    sys.exit(main())
