"""[database] options of the embedded SQL store. Imports nothing of nova_sim."""

from __future__ import annotations

from oslo_config import cfg

from nova_sim.conf.base import register_group_opts

database_group = cfg.OptGroup(
    "database",
    title="Database options",
    help="Where the controller services (API, conductor, scheduler) keep their state. "
    "Computes never use it: they go through the conductor.",
)

database_opts = [
    cfg.StrOpt(
        "connection",
        default="sqlite://",
        secret=True,
        help="""
The database, as a URL:

* ``sqlite://``: an in-memory SQLite database, private to one process (one-process
  clouds, tests),
* ``sqlite:////absolute/path/nova-sim.db`` (four slashes) or ``sqlite:///relative.db``:
  an SQLite file, kept between runs and shared by several processes on one machine
  (e.g. ``sqlite:///$state_path/nova-sim.db``).
""",
    ),
    cfg.FloatOpt(
        "busy_timeout",
        default=30.0,
        min=0,
        help="Seconds to wait for another process's lock on an SQLite file before the "
        "transaction fails.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register the [database] options on ``conf``."""
    register_group_opts(conf, database_group, database_opts)


def list_opts() -> dict[cfg.OptGroup, list[cfg.Opt]]:
    """The options of this module by group, for the sample generator."""
    return {database_group: list(database_opts)}
