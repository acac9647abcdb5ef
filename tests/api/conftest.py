"""Fixtures of the REST API tests: the application over a fake compute API, and a client.

``api_client.get("/v2.1/servers", token="demo:demo", version="2.100")`` calls the WSGI
application in-process (WebOb's ``Request.blank``) and returns the WebOb response.
"""

from __future__ import annotations

import json

import pytest
import webob

from nova_sim import conf as nova_conf
from nova_sim.api.app import APIApplication

from .fakes import make_compute_api


class Client:
    def __init__(self, app):
        self.app = app

    def request(self, method, path, body=None, token="admin:admin", version=None,
                headers=None, raw=None):
        request = webob.Request.blank(path, method=method)
        if token is not None:
            request.headers["X-Auth-Token"] = token
        if version is not None:
            request.headers["OpenStack-API-Version"] = f"compute {version}"
        if raw is not None:
            request.body = raw
            request.content_type = "application/json"
        elif body is not None:
            request.body = json.dumps(body).encode()
            request.content_type = "application/json"
        for key, value in (headers or {}).items():
            request.headers[key] = value
        return request.get_response(self.app)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, body=body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


@pytest.fixture
def conf():
    return nova_conf.new_conf()


@pytest.fixture
def compute(conf):
    # The application and the compute API read one configuration (quotas are the
    # compute API's).
    return make_compute_api(conf=conf)


@pytest.fixture
def app(compute, conf):
    return APIApplication(compute, conf)


@pytest.fixture
def client(app):
    return Client(app)


@pytest.fixture
def kc(conf):
    """A client of the application under ``[api] auth_strategy = keystone`` (tokens from
    ``test_identity.login``)."""
    conf.set_override("auth_strategy", "keystone", group="api")
    return Client(APIApplication(make_compute_api(), conf))
