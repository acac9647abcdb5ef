"""The schema's version and its migrations (alembic), as ``nova-sim db`` runs them.

Owns ``db_sync`` (create or upgrade a database to the newest revision; idempotent),
``db_version`` (the revision a database is at), ``head`` (the newest revision) and
``check`` (refuse a database that is behind or ahead, with one line saying what to do).
The migrations themselves are in ``nova_sim/db/migrations/versions``: a table or column
that a later change adds arrives as a new revision there, never by editing an old one.

Must not know about the services.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import sqlalchemy as sa

from nova_sim.exception import DatabaseSchemaError

# alembic narrates every step at INFO, from its import on; nova-sim's commands say what
# happened themselves. (alembic is imported inside the functions, after this.)
if logging.getLogger("alembic").level == logging.NOTSET:
    logging.getLogger("alembic").setLevel(logging.WARNING)

_LOCATION = os.path.join(os.path.dirname(os.path.abspath(__file__)), "migrations")


def _config(connection: Any = None) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", _LOCATION)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest revision of the schema."""
    from alembic.script import ScriptDirectory

    found = ScriptDirectory.from_config(_config()).get_current_head()
    assert found is not None
    return found


def current(connection: Any) -> str | None:
    """The revision of the database behind an SQLAlchemy ``connection`` (None: empty)."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def upgrade(connection: Any, revision: str = "head") -> None:
    """Migrate the database behind an SQLAlchemy ``connection`` up to ``revision``."""
    from alembic import command

    command.upgrade(_config(connection), revision)


def check(connection: Any, url: str) -> None:
    """Raise ``DatabaseSchemaError`` (one line: what to run) unless the database is at
    the newest revision."""
    found, wanted = current(connection), head()
    if found == wanted:
        return
    shown = sa.engine.make_url(url).render_as_string(hide_password=True)
    if found is None:
        if sa.inspect(connection).get_table_names():
            raise DatabaseSchemaError(
                f"the database {shown} holds tables without a nova-sim schema revision "
                f"(made by another program or an old nova-sim): use another [database] "
                f"connection"
            )
        raise DatabaseSchemaError(
            f"the database {shown} has no nova-sim schema: run `nova-sim db sync`"
        )
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(_config())
    known = {script.revision for script in scripts.walk_revisions()}
    if found in known:
        raise DatabaseSchemaError(
            f"the database {shown} is at schema revision {found}, behind {wanted}: "
            f"run `nova-sim db sync`"
        )
    raise DatabaseSchemaError(
        f"the database {shown} is at schema revision {found}, unknown to this nova-sim "
        f"(newer?): use the nova-sim that made it or another [database] connection"
    )


def db_sync(url: str, revision: str = "head") -> str:
    """Create or upgrade the database at ``url`` to ``revision``; idempotent. Returns the
    revision it is at afterwards."""
    from nova_sim.db.engine import create_engine

    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            upgrade(connection, revision)
            return current(connection) or ""
    finally:
        engine.dispose()


def db_version(url: str) -> str | None:
    """The revision of the database at ``url`` (None: no schema yet)."""
    from nova_sim.db.engine import create_engine

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return current(connection)
    finally:
        engine.dispose()
