"""[database] options: where the controller services keep their state, and how they
connect to it (Nova's option names and defaults). Imports nothing of nova_sim."""

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
The database, as an SQLAlchemy URL:

* ``sqlite://``: an in-memory SQLite database, private to one process (one-process
  clouds, tests); it creates its schema itself,
* ``sqlite:////absolute/path/nova-sim.db`` (four slashes) or ``sqlite:///relative.db``:
  an SQLite file, kept between runs and shared by several processes on one machine,
* ``mysql+pymysql://USER:PASSWORD@HOST/DATABASE``: MariaDB or MySQL (PyMySQL),
* ``postgresql+psycopg://USER:PASSWORD@HOST/DATABASE``: PostgreSQL (psycopg 3).

A server's database (or an SQLite file that already holds tables) must be created or
upgraded with ``nova-sim db sync`` first; services refuse to start on one that is behind.
""",
    ),
    cfg.FloatOpt(
        "busy_timeout",
        default=30.0,
        min=0,
        help="Seconds an SQLite write waits for another process's lock on the file before "
        "the transaction fails (and is retried as a deadlock is).",
    ),
    cfg.IntOpt(
        "max_pool_size",
        default=5,
        min=0,
        help="Connections a process keeps open to a database server (each at most one "
        "call at a time).",
    ),
    cfg.IntOpt(
        "max_overflow",
        default=50,
        min=0,
        help="Connections a process may open beyond max_pool_size while calls queue.",
    ),
    cfg.IntOpt(
        "pool_timeout",
        default=None,
        min=0,
        help="Seconds a call waits for a free connection of the pool before it fails "
        "(unset: SQLAlchemy's 30 seconds).",
    ),
    cfg.IntOpt(
        "connection_recycle_time",
        default=3600,
        help="Connections older than this many seconds are replaced when next taken from "
        "the pool (a server closes idle connections after its own timeout).",
    ),
    cfg.IntOpt(
        "max_retries",
        default=10,
        min=-1,
        help="Attempts to open a connection to the server before giving up "
        "(-1: forever).",
    ),
    cfg.IntOpt(
        "retry_interval",
        default=10,
        min=0,
        help="Seconds between attempts to open a connection.",
    ),
    cfg.IntOpt(
        "db_max_retries",
        default=20,
        min=-1,
        help="Times a database call is run again after a deadlock, a lock wait timeout or "
        "a lost connection before the error is raised (-1: no limit).",
    ),
    cfg.FloatOpt(
        "db_retry_interval",
        default=1.0,
        min=0,
        help="Seconds before the first retry of a database call; each next wait doubles.",
    ),
    cfg.FloatOpt(
        "db_max_retry_interval",
        default=10.0,
        min=0,
        help="The longest wait between two retries of a database call.",
    ),
    cfg.BoolOpt(
        "use_tpool",
        default=False,
        help="Run database calls in native threads (eventlet's tpool). Without it, "
        "PyMySQL (mysql+pymysql://) and psycopg (postgresql+psycopg://) run on the "
        "calling greenthread and wait for the server in the hub, as Nova's PyMySQL does "
        "under eventlet, and SQLite is called directly; TLS connections to MariaDB "
        "always use the threads. "
        "Either way the hub never waits on a database socket; on the virtual clock "
        "every call is direct.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register the [database] options on ``conf``."""
    register_group_opts(conf, database_group, database_opts)


def list_opts() -> dict[cfg.OptGroup, list[cfg.Opt]]:
    """The options of this module by group, for the sample generator."""
    return {database_group: list(database_opts)}
