"""Databases of this test run's own on the MariaDB and PostgreSQL servers.

``ServerDatabases`` creates, on first use, one uniquely named database per server
(``nova_sim_test_<pid>_<random>``), syncs the schema into it, empties its tables before
each test that asks for it, and drops it when the run ends: the servers are left as they
were found. A server that cannot be reached skips the test, unless
``NOVA_SIM_REQUIRE_DBS=1`` (set by ``.ci/run``), which makes it fail.

The servers' admin URLs come from ``NOVA_SIM_MYSQL_URL`` / ``NOVA_SIM_POSTGRESQL_URL``
(default: root on 127.0.0.1:3306, postgres on 127.0.0.1:5432, no password).
"""

from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa

SERVERS = {
    "mysql": os.environ.get("NOVA_SIM_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test"),
    "postgresql": os.environ.get(
        "NOVA_SIM_POSTGRESQL_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    ),
}


def _admin(backend: str) -> sa.Engine:
    return sa.create_engine(
        SERVERS[backend], isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool,
        connect_args={"connect_timeout": 5},
    )


class ServerDatabases:
    """The run's databases, by backend (``url(backend)``), dropped by ``drop_all``."""

    def __init__(self) -> None:
        self.urls: dict[str, str] = {}
        self.unreachable: dict[str, str] = {}

    def url(self, backend: str, empty: bool = True) -> str:
        """The URL of this run's database on ``backend`` (created and synced on first
        use; emptied first when ``empty``); skips (or fails, under
        NOVA_SIM_REQUIRE_DBS=1) when the server is down."""
        if backend in self.unreachable:
            self._unavailable(backend, self.unreachable[backend])
        if backend not in self.urls:
            try:
                self.urls[backend] = self._create(backend)
            except sa.exc.OperationalError as error:
                self.unreachable[backend] = str(error.orig)
                self._unavailable(backend, self.unreachable[backend])
        url = self.urls[backend]
        if empty:
            empty_tables(url)
        return url

    def fresh(self, backend: str) -> str:
        """The URL of another database of this run on ``backend``, empty: no schema."""
        self.url(backend, empty=False)  # skips or fails when the server is down
        url = self._create(backend, sync=False)
        self.urls[f"{backend}-{len(self.urls)}"] = url
        return url

    @staticmethod
    def _unavailable(backend: str, reason: str) -> None:
        message = f"the {backend} server cannot be reached ({reason})"
        if os.environ.get("NOVA_SIM_REQUIRE_DBS") == "1":
            pytest.fail(message + " and NOVA_SIM_REQUIRE_DBS=1")
        pytest.skip(message)

    @staticmethod
    def _create(backend: str, sync: bool = True) -> str:
        from nova_sim.db.migration import db_sync

        name = f"nova_sim_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        admin = _admin(backend)
        try:
            with admin.connect() as connection:
                connection.exec_driver_sql(f"CREATE DATABASE {name}")
        finally:
            admin.dispose()
        url = sa.engine.make_url(SERVERS[backend]).set(database=name)
        text = url.render_as_string(hide_password=False)
        if sync:
            db_sync(text)
        return text

    def drop_all(self) -> None:
        """Drop every database this run created."""
        for key, url in self.urls.items():
            name = sa.engine.make_url(url).database
            admin = _admin(key.split("-")[0])
            try:
                with admin.connect() as connection:
                    force = " WITH (FORCE)" if key.startswith("postgresql") else ""
                    connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}{force}")
            finally:
                admin.dispose()
        self.urls.clear()


def empty_tables(url: str) -> None:
    """Delete every row of every table (ids start again from 1) and put back the change
    sequence's one row."""
    from nova_sim.db.schema import metadata

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    names = [table.name for table in metadata.sorted_tables]
    try:
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                connection.exec_driver_sql(f"TRUNCATE {', '.join(names)} RESTART IDENTITY")
            else:
                for name in names:
                    connection.exec_driver_sql(f"TRUNCATE TABLE {name}")
            connection.exec_driver_sql("INSERT INTO change_sequence (id, value) VALUES (1, 0)")
    finally:
        engine.dispose()
