"""Fixtures of the reliability tests: the real REST application over the real compute
API and an in-memory database (casts applied at once, see ``tests/api/fakes.py``),
called in-process through WSGI."""

from __future__ import annotations

import pytest
from api.conftest import Client
from api.fakes import make_compute_api

from nova_sim import conf as nova_conf
from nova_sim.api.app import APIApplication

IMAGE = "13dbfda8-883f-5c6c-a946-6ad6d8486726"
NEW_VERSION = "2.100"


@pytest.fixture
def conf():
    return nova_conf.new_conf()


@pytest.fixture
def compute(conf):
    return make_compute_api(conf=conf)


@pytest.fixture
def client(compute, conf):
    return Client(APIApplication(compute, conf))


def boot(client: Client, name: str = "vm", token: str = "demo:demo", **extra) -> str:
    """Create one server (``extra`` merged into ``server``); its id. Fails unless 202."""
    server = {"name": name, "imageRef": IMAGE, "flavorRef": "1", "networks": "none",
              **extra}
    response = client.post("/v2.1/servers", {"server": server}, token=token,
                           version=NEW_VERSION)
    assert response.status_int == 202, response.text
    return response.json["server"]["id"]


def assert_fault(response, code: int) -> str:
    """The message of a Nova fault body with status ``code`` (fails otherwise)."""
    assert response.status_int == code, response.text
    (name, fault), = response.json.items()
    assert fault["code"] == code
    assert isinstance(fault["message"], str) and fault["message"]
    return fault["message"]
