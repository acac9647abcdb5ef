"""``nova-sim db sync`` and ``nova-sim db version``: the database's schema, as
``nova-manage db sync`` / ``db version`` do for Nova.

``sync`` creates the tables of an empty database or upgrades one made by an older
nova-sim to the newest schema revision (alembic migrations); running it again changes
nothing. ``version`` prints the revision a database is at (``None``: no schema yet) and
exits with status 1 when it is behind this nova-sim's newest one. Both act on ``[database]
connection`` (``--connection`` overrides it). A private in-memory database (``sqlite://``)
needs neither: it syncs itself.

Must not know how services work inside.
"""

from __future__ import annotations

import argparse
from typing import Any

from nova_sim.cmd import CommandError, UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``db`` command's own arguments (its action and ``--connection``)."""
    parser.add_argument("action", choices=("sync", "version"),
                        help="sync: create or upgrade the schema; version: print its revision")
    parser.add_argument(
        "--connection", metavar="URL", default=None,
        help="the database URL ([database] connection)",
    )


def db_command(args: argparse.Namespace, conf: Any) -> int:
    """Handler of ``nova-sim db sync|version``. A database that cannot be reached is a
    ``CommandError`` (one line, status 1); an unsupported URL a ``UsageError``."""
    import sqlalchemy as sa

    from nova_sim.db import engine, migration

    url = args.connection or conf.database.connection
    try:
        engine.backend_of(url)
    except ValueError as error:
        raise UsageError(str(error))
    shown = sa.engine.make_url(url).render_as_string(hide_password=True)
    if engine.is_memory(url):
        print(f"{shown} is a private in-memory database: it syncs itself, nothing to do")
        return 0
    try:
        if args.action == "sync":
            before = migration.db_version(url)
            after = migration.db_sync(url)
            if before == after:
                print(f"{shown}: already at schema revision {after}")
            else:
                print(f"{shown}: schema revision {before or 'none'} -> {after}")
            return 0
        found, newest = migration.db_version(url), migration.head()
        print(found)
        return 0 if found == newest else 1
    except sa.exc.DBAPIError as error:
        raise CommandError(f"cannot use the database {shown}: {error.orig}")
