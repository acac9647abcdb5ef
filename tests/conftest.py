"""Shared test fixtures.

``rabbit_url``: the RabbitMQ URL for integration tests. When the broker cannot be reached,
the test is skipped, unless ``NOVA_SIM_REQUIRE_RABBIT=1`` (set by ``.ci/run``), in which case
it fails: CI must never skip the broker tests silently.

The URL points at a virtual host of this test run's own (``nova-sim-test-<id>``, made
with ``rabbitmqctl`` and deleted, with every queue and exchange in it, when the run ends).
oslo.messaging names queues after topics whatever the exchange, so two runs on one broker
(two sessions, or a ``make run`` next to the tests) would otherwise share the
``conductor`` queue and take each other's messages. Where ``rabbitmqctl`` cannot be used,
the default virtual host is used and each test cleans up after itself.
"""

from __future__ import annotations

import os
import socket
import subprocess
import uuid

import pytest

RABBIT_HOST = os.environ.get("NOVA_SIM_RABBIT_HOST", "127.0.0.1")
RABBIT_PORT = int(os.environ.get("NOVA_SIM_RABBIT_PORT", "5672"))
RABBIT_URL = os.environ.get(
    "NOVA_SIM_RABBIT_URL", f"rabbit://guest:guest@{RABBIT_HOST}:{RABBIT_PORT}/"
)


def rabbit_reachable(timeout: float = 2.0) -> bool:
    """True when a TCP connection to the broker's AMQP port succeeds."""
    try:
        with socket.create_connection((RABBIT_HOST, RABBIT_PORT), timeout=timeout):
            return True
    except OSError:
        return False


def _rabbitmqctl(*args: str) -> bool:
    try:
        done = subprocess.run(["rabbitmqctl", *args], capture_output=True, timeout=60,
                              check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@pytest.fixture(scope="session")
def rabbit_url():
    """The broker URL (a virtual host of this run's own); skip, or fail under
    NOVA_SIM_REQUIRE_RABBIT=1, when the broker is down."""
    if not rabbit_reachable():
        message = f"RabbitMQ is not reachable at {RABBIT_HOST}:{RABBIT_PORT}"
        if os.environ.get("NOVA_SIM_REQUIRE_RABBIT") == "1":
            pytest.fail(message + " and NOVA_SIM_REQUIRE_RABBIT=1")
        pytest.skip(message)
    if "NOVA_SIM_RABBIT_URL" in os.environ:
        yield RABBIT_URL
        return
    vhost = f"nova-sim-test-{uuid.uuid4().hex[:12]}"
    if not (_rabbitmqctl("add_vhost", vhost)
            and _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")):
        _rabbitmqctl("delete_vhost", vhost)
        yield RABBIT_URL
        return
    try:
        yield RABBIT_URL.rstrip("/") + "/" + vhost
    finally:
        _rabbitmqctl("delete_vhost", vhost)


# ------------------------------------------------------------------ database backends

#: The backends the database tests run on; the servers' variants carry the ``backends``
#: marker (``make test-db``).
DATABASE_BACKENDS = [
    "sqlite",
    pytest.param("mysql", marks=pytest.mark.backends),
    pytest.param("postgresql", marks=pytest.mark.backends),
]


@pytest.fixture(scope="session")
def server_databases():
    """This run's own databases on the MariaDB and PostgreSQL servers (see
    tests/db_servers.py); dropped when the run ends."""
    from db_servers import ServerDatabases

    databases = ServerDatabases()
    yield databases
    databases.drop_all()


@pytest.fixture(params=DATABASE_BACKENDS)
def database_url(request, server_databases):
    """A URL of an empty, synced database on each backend in turn: ``sqlite://`` (in
    memory), then this run's database on MariaDB and on PostgreSQL."""
    if request.param == "sqlite":
        return "sqlite://"
    return server_databases.url(request.param)


@pytest.fixture(params=DATABASE_BACKENDS)
def shared_database_url(request, server_databases, tmp_path):
    """Like ``database_url``, but one several processes can share: an SQLite file
    instead of memory."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/shared.db"
    return server_databases.url(request.param)
