"""At least 5,000 generated requests per run over every endpoint of the API, with lone
surrogates, control characters, huge numbers and odd JSON types in every field of every
body, path and query parameter: never an HTTP 5xx, every error a Nova fault body.

In-process through the WSGI application (one application shared by all examples, so
earlier requests leave servers and actions behind for later ones to hit).
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
import webob
from api.fakes import make_compute_api
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nova_sim import conf as nova_conf
from nova_sim.api.app import APIApplication

from .conftest import IMAGE

pytestmark = [pytest.mark.slow, pytest.mark.reliability]  # 5,000 requests: about 40 s

REQUESTS_PER_EXAMPLE = 5
EXAMPLES = 1000
SERVER = "{server}"

SPECIALS = ["\ud800", "\udfff", "\ud83d", "\x00", "\x07", "\x1b[2J", "\u202e", "\ufeff",
            "\u0085", "\r\n", "%00", "../../", "(a+)+$", "' OR 1=1 --", " ", "", "a" * 300]
HUGE = [10**30, -(10**30), 2**63, 2**64 + 1, -1, 0, 1e308, -1e308, float("inf"),
        float("nan"), 1.5]

hostile_text = st.one_of(
    st.sampled_from(SPECIALS),
    st.lists(st.one_of(st.integers(0, 0x10FFFF).map(chr), st.sampled_from(SPECIALS)),
             max_size=12).map("".join),
)
hostile_number = st.one_of(st.sampled_from(HUGE), st.integers(-(2**80), 2**80))
scalar = st.one_of(hostile_text, hostile_text, hostile_number, st.booleans(), st.none())
hostile_value = st.recursive(
    scalar, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                    st.dictionaries(hostile_text, inner, max_size=3)),
    max_leaves=6)

# Fields of each body: a valid value, then any field may be replaced by a hostile one.
SERVER_FIELDS = {
    "name": "vm", "imageRef": IMAGE, "flavorRef": "1", "networks": "none",
    "min_count": 1, "max_count": 1, "metadata": {"k": "v"}, "availability_zone": "nova",
    "key_name": "key", "user_data": "ZGF0YQ==", "description": "d", "hostname": "h",
    "adminPass": "p", "accessIPv4": "10.0.0.1", "accessIPv6": "::1", "config_drive": True,
    "security_groups": [{"name": "default"}], "tags": ["t"], "host": "host1",
    "hypervisor_hostname": "host1", "block_device_mapping_v2": [], "return_reservation_id":
    False,
}
UPDATE_FIELDS = {"name": "renamed", "description": "d", "hostname": "h",
                 "accessIPv4": "10.0.0.2", "accessIPv6": "::2", "OS-DCF:diskConfig": "AUTO"}
SERVICE_FIELDS = {"status": "disabled", "disabled_reason": "r", "forced_down": False}
ACTION_BODIES = [{"os-start": None}, {"os-stop": None}, {"reboot": {"type": "SOFT"}},
                 {"reboot": {"type": "HARD"}}, {"createImage": {"name": "i"}}]
QUERY_KEYS = ["name", "status", "host", "limit", "marker", "sort_key", "sort_dir",
              "all_tenants", "project_id", "changes-since", "changes-before", "flavor",
              "image", "ip", "deleted", "minDisk", "minRam", "is_public", "binary",
              "hypervisor_hostname_pattern", "with_servers", "reserved"]


def _body(fields: dict, wrapper: str | None, required: tuple[str, ...] = ()):
    """A body of valid fields (the ``required`` ones and some others) of which up to
    three are replaced by hostile values, so that many requests get past the other checks
    to the field under attack."""
    @st.composite
    def build(draw):
        keys = list(required) + draw(st.lists(st.sampled_from(sorted(fields)), max_size=4))
        body = {key: fields[key] for key in keys}
        for key in draw(st.lists(st.sampled_from(sorted(fields)), max_size=3)):
            body[key] = draw(hostile_value)
        return {wrapper: body} if wrapper else body
    return build()


def _action_body():
    return st.one_of(st.sampled_from(ACTION_BODIES),
                     st.builds(lambda k, v: {k: v},
                               st.sampled_from(["os-start", "os-stop", "reboot",
                                                "createImage"]), hostile_value))


# (method, template, body strategy or None); SERVER is replaced by an existing server's id
# or a hostile string.
ENDPOINTS = [
    ("GET", "/", None), ("GET", "/v2.1", None), ("GET", "/v2.1/servers", None),
    ("GET", "/v2.1/servers/detail", None),
    ("POST", "/v2.1/servers",
     _body(SERVER_FIELDS, "server", ("name", "imageRef", "flavorRef", "networks"))),
    ("POST", "/v2.1/servers", hostile_value),
    ("GET", f"/v2.1/servers/{SERVER}", None),
    ("PUT", f"/v2.1/servers/{SERVER}", _body(UPDATE_FIELDS, "server")),
    ("DELETE", f"/v2.1/servers/{SERVER}", None),
    ("POST", f"/v2.1/servers/{SERVER}/action", _action_body()),
    ("GET", f"/v2.1/servers/{SERVER}/os-instance-actions", None),
    ("GET", f"/v2.1/servers/{SERVER}/os-instance-actions/{SERVER}", None),
    ("GET", "/v2.1/flavors", None), ("GET", "/v2.1/flavors/detail", None),
    ("GET", f"/v2.1/flavors/{SERVER}", None),
    ("GET", f"/v2.1/flavors/{SERVER}/os-extra_specs", None),
    ("GET", "/v2.1/os-services", None),
    ("PUT", f"/v2.1/os-services/{SERVER}", _body(SERVICE_FIELDS, None)),
    ("GET", "/v2.1/os-hypervisors", None), ("GET", "/v2.1/os-hypervisors/detail", None),
    ("GET", "/v2.1/os-hypervisors/statistics", None),
    ("GET", f"/v2.1/os-hypervisors/{SERVER}", None),
    ("GET", "/v2.1/os-availability-zone", None),
    ("GET", "/v2.1/os-availability-zone/detail", None),
    ("GET", "/v2.1/limits", None), ("GET", "/v2.1/os-aggregates", None),
    ("GET", "/image/v2/images", None), ("GET", f"/image/v2/images/{SERVER}", None),
    ("GET", "/image/v2/schemas/image", None),
    ("GET", "/network/v2.0/networks", None), ("GET", f"/network/v2.0/networks/{SERVER}", None),
    ("GET", "/network/v2.0/extensions", None),
]


# The endpoints that take bodies (where the database is written) are drawn four times
# as often as the others.
WEIGHTED = [row for row in ENDPOINTS for _ in range(4 if row[2] is not None else 1)]


def _url_text(text: str) -> str:
    """Percent-encoded UTF-8 (a lone surrogate becomes the invalid bytes it would be)."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


@st.composite
def requests(draw):
    method, template, body_strategy = draw(st.sampled_from(WEIGHTED))
    # Path parameters: an index into the servers made so far (resolved when sent, so
    # that what is drawn never depends on earlier examples) or a hostile string.
    idents = [draw(st.one_of(st.integers(0, 63), hostile_text.map(_url_text),
                             st.integers(-(2**70), 2**70).map(str)))
              for _ in range(template.count(SERVER))]
    path = template
    query = draw(st.dictionaries(st.sampled_from(QUERY_KEYS),
                                 st.one_of(hostile_text, hostile_number.map(str)),
                                 max_size=3))
    if query:
        path += "?" + "&".join(f"{k}={_url_text(v)}" for k, v in query.items())
    body = draw(body_strategy) if body_strategy is not None else None
    token = draw(st.sampled_from(["admin:admin", "demo:demo", "other:other"]))
    version = draw(st.sampled_from(["2.1", "2.37", "2.74", "2.100", "latest", "2.100",
                                    "2.100", "2.100", f"2.{10**30}", "2.-1"]))
    return method, path, idents, body, token, version


def _resolve(path: str, idents: list) -> str:
    """``path`` with each SERVER placeholder replaced by its drawn identifier."""
    known = _STATE["servers"] or ["00000000-0000-0000-0000-000000000000"]
    for ident in idents:
        value = known[ident % len(known)] if isinstance(ident, int) else ident
        path = path.replace(SERVER, value, 1)
    return path


_STATE: dict = {"app": None, "servers": [], "sent": 0, "codes": {}}


MAX_SERVERS = 30  # then the generator's servers are deleted, to keep lists cheap


def _app() -> APIApplication:
    if _STATE["app"] is None:
        conf = nova_conf.new_conf()
        for name in ("instances", "cores", "ram"):  # creates reach the database
            conf.set_override(name, -1, "quota")
        conf.set_override("max_servers_per_request", 3, "api")
        _STATE["app"] = APIApplication(make_compute_api(conf=conf), conf)
    return _STATE["app"]


def _clean_up() -> None:
    """Delete the servers of earlier examples (through the compute API, not counted)."""
    compute = _app().compute_api
    for row in compute.db.instance_get_all_by_filters({}):
        compute.db.instance_destroy(row["uuid"], hard=True)
    _STATE["servers"].clear()


def _send(method: str, path: str, body, token: str, version: str) -> webob.Response:
    request = webob.Request.blank(path, method=method)
    request.headers["X-Auth-Token"] = token
    request.headers["OpenStack-API-Version"] = f"compute {version}"
    if body is not None:
        request.body = json.dumps(body).encode()  # NaN/Infinity and \ud800 escapes kept
        request.content_type = "application/json"
    return request.get_response(_app())


def _check(response: webob.Response, what: str) -> None:
    code = response.status_int
    _STATE["codes"][code] = _STATE["codes"].get(code, 0) + 1
    assert code < 500, f"{what} -> {response.status} {response.text[:500]}"
    if code >= 400 and response.body:
        fault = json.loads(response.body)
        ((_name, detail),) = fault.items()
        assert detail["code"] == code and isinstance(detail["message"], str), what


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(st.lists(requests(), min_size=REQUESTS_PER_EXAMPLE, max_size=REQUESTS_PER_EXAMPLE))
def _exercise(batch):
    for method, template, idents, body, token, version in batch:
        path = _resolve(template, idents)
        response = _send(method, path, body, token, version)
        _STATE["sent"] += 1
        _check(response, f"{method} {path!r} {body!r} as {token} at {version}")
        if method == "POST" and path == "/v2.1/servers" and response.status_int == 202:
            server = response.json.get("server")
            if server:
                _STATE["servers"].append(server["id"])
    if len(_STATE["servers"]) > MAX_SERVERS:
        _clean_up()


@pytest.mark.timeout(600)
def test_no_generated_request_gives_a_5xx():
    _exercise()
    assert _STATE["sent"] >= 5000
    # The generator reaches past validation too: some requests succeed, some are refused.
    codes = _STATE["codes"]
    print("status counts:", dict(sorted(codes.items())), "servers:", len(_STATE["servers"]))
    assert {200, 202, 400, 403, 404} <= set(codes), codes
