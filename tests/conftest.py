"""Shared test fixtures.

``rabbit_url``: the RabbitMQ URL for integration tests. When the broker cannot be reached,
the test is skipped, unless ``NOVA_SIM_REQUIRE_RABBIT=1`` (set by ``.ci/run``), in which case
it fails: CI must never skip the broker tests silently.
"""

from __future__ import annotations

import os
import socket

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


@pytest.fixture(scope="session")
def rabbit_url() -> str:
    """The broker URL; skip (or fail under NOVA_SIM_REQUIRE_RABBIT=1) when it is down."""
    if not rabbit_reachable():
        message = f"RabbitMQ is not reachable at {RABBIT_HOST}:{RABBIT_PORT}"
        if os.environ.get("NOVA_SIM_REQUIRE_RABBIT") == "1":
            pytest.fail(message + " and NOVA_SIM_REQUIRE_RABBIT=1")
        pytest.skip(message)
    return RABBIT_URL
