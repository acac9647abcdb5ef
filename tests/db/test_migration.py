"""The schema's migrations: `nova-sim db sync` / `db version`, and services that refuse a
database that is behind."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from nova_sim.cmd.main import main
from nova_sim.db import Database, DatabaseSchemaError, migration
from nova_sim.db.schema import metadata


def test_db_sync_creates_then_changes_nothing(tmp_path, capsys):
    url = f"sqlite:///{tmp_path}/cloud.db"
    assert main(["db", "version", "--connection", url]) == 1  # behind: no schema yet
    assert capsys.readouterr().out.strip() == "None"
    assert main(["db", "sync", "--connection", url]) == 0
    assert f"schema revision none -> {migration.head()}" in capsys.readouterr().out
    assert main(["db", "sync", "--connection", url]) == 0
    assert f"already at schema revision {migration.head()}" in capsys.readouterr().out
    assert main(["db", "version", "--connection", url]) == 0
    assert capsys.readouterr().out.strip() == migration.head()
    with Database(url, sync=False) as db:  # a synced file is accepted as it is
        assert db.flavor_get_all() == []


def test_db_command_errors_are_one_line(capsys):
    assert main(["db", "sync", "--connection", "oracle://scott@h/x"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "unsupported database URL" in error
    assert main(["db", "sync", "--connection", "sqlite://"]) == 0
    assert "syncs itself" in capsys.readouterr().out


def test_a_database_without_the_schema_is_refused_with_what_to_run(tmp_path):
    url = f"sqlite:///{tmp_path}/empty.db"
    with pytest.raises(DatabaseSchemaError, match=r"run `nova-sim db sync`"):
        Database(url, sync=False)
    assert migration.db_version(url) is None  # the refusal changed nothing


def test_the_migrations_build_exactly_the_schema_of_the_code(database_url):
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            if database_url == "sqlite://":
                migration.upgrade(connection)
            context = MigrationContext.configure(connection)
            assert migration.current(connection) == migration.head()
            assert compare_metadata(context, metadata) == []
    finally:
        engine.dispose()


@pytest.mark.backends
@pytest.mark.parametrize("backend", ["mysql", "postgresql"])
def test_a_service_refuses_to_start_on_a_database_that_is_behind(
    backend, server_databases, tmp_path, capsys
):
    url = server_databases.fresh(backend)
    config = tmp_path / "nova-sim.conf"
    config.write_text(f"[DEFAULT]\ntransport_url = green://\n[database]\nconnection = {url}\n"
                      "[trace]\nenabled = false\n")
    assert main(["--config-file", str(config), "scheduler"]) == 1
    error = capsys.readouterr().err.strip().splitlines()[-1]  # after the log's lines
    assert error.startswith("nova-sim: cannot start nova-scheduler") and error.endswith(
        "has no nova-sim schema: run `nova-sim db sync`"
    )
    assert main(["--config-file", str(config), "db", "sync"]) == 0
    with Database(url, sync=False) as db:
        assert db.service_get_all() == []
