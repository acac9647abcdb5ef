"""The Keystone v3 subset at ``/identity/v3`` and the compute API under
``[api] auth_strategy = keystone``: tokens, catalog, reads and writes, policy by role."""

from __future__ import annotations

import pytest

from nova_sim.api.app import APIApplication
from nova_sim.api.identity import store as identity_store

from .conftest import Client
from .fakes import make_compute_api

IMAGE = "13dbfda8-883f-5c6c-a946-6ad6d8486726"
SERVER = {"server": {"name": "vm", "imageRef": IMAGE, "flavorRef": "1", "networks": "none"}}


class Clock:
    def __init__(self):
        self.now = 1_800_000_000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def kapp(conf, clock):
    conf.set_override("auth_strategy", "keystone", group="api")
    app = APIApplication(make_compute_api(), conf)
    app.identity_store.clock = clock
    return app


@pytest.fixture
def kc(kapp):
    return Client(kapp)


def password_auth(user, password="nova-sim", project=None, by_id=False):
    auth = {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"name": "Default"}, "password": password}}}}
    if project is not None:
        auth["scope"] = {"project": {"id": project} if by_id else
                         {"name": project, "domain": {"id": "default"}}}
    return {"auth": auth}


def login(kc, user, project=None):
    response = kc.post("/identity/v3/auth/tokens", password_auth(user, project=project or user
                                                                 .replace("_reader", "")
                                                                 .replace("_manager", "")),
                       token=None)
    assert response.status_int == 201, response.body
    return response.headers["X-Subject-Token"]


def test_password_auth_issues_a_scoped_token_with_a_catalog(kc, clock):
    response = kc.post("/identity/v3/auth/tokens", password_auth("demo", project="demo"),
                       token=None)
    assert response.status_int == 201
    token_id = response.headers["X-Subject-Token"]
    assert len(token_id) >= 32 and ":" not in token_id
    token = response.json["token"]
    assert token["methods"] == ["password"]
    assert token["user"]["name"] == "demo"
    assert token["user"]["domain"] == {"id": "default", "name": "Default"}
    assert token["project"]["name"] == "demo"
    assert token["project"]["domain"]["id"] == "default"
    assert [r["name"] for r in token["roles"]] == ["member", "reader"]
    assert token["issued_at"] == "2027-01-15T08:00:00.000000Z"  # the clock
    assert token["expires_at"] == "2027-01-15T09:00:00.000000Z"  # + 3600 s
    catalog = {entry["type"]: entry for entry in token["catalog"]}
    assert set(catalog) == {"identity", "compute", "image", "network",
                            "block-storage"}
    compute = catalog["compute"]["endpoints"]
    assert {e["interface"] for e in compute} == {"public", "internal", "admin"}
    assert {e["url"] for e in compute} == {"http://localhost/v2.1"}
    assert {e["region"] for e in compute} == {"RegionOne"}
    assert catalog["image"]["endpoints"][0]["url"] == "http://localhost/image"


def test_the_token_works_on_the_compute_api(kc):
    token = login(kc, "demo")
    created = kc.post("/v2.1/servers", SERVER, token=token, version="2.100")
    assert created.status_int == 202
    server = kc.get(f"/v2.1/servers/{created.json['server']['id']}", token=token).json
    demo = identity_store.stable_id("project", "demo")
    assert server["server"]["tenant_id"] == demo
    assert server["server"]["user_id"] == identity_store.stable_id("user", "demo")


def test_a_noauth2_token_is_refused_under_keystone(kc):
    response = kc.get("/v2.1/servers", token="admin:admin")
    assert response.status_int == 401
    assert "auth_strategy keystone" in response.json["unauthorized"]["message"]
    assert kc.get("/v2.1/servers", token=None).status_int == 401


@pytest.mark.parametrize("auth, code", [
    (password_auth("demo", "wrong", project="demo"), 401),
    (password_auth("nobody", project="demo"), 401),
    (password_auth("demo", project="alt_demo"), 401),  # no role there
    (password_auth("demo", project="no-such-project"), 401),
    ({"auth": {}}, 400),
    ({"auth": {"identity": {"methods": ["totp"], "totp": {}}}}, 401),
    ({"nothing": 1}, 400),
])
def test_failed_authentication_answers_keystone_errors(kc, auth, code):
    response = kc.post("/identity/v3/auth/tokens", auth, token=None)
    assert response.status_int == code
    error = response.json["error"]
    assert error["code"] == code and error["title"] and error["message"]
    assert "X-Subject-Token" not in response.headers


def test_password_auth_by_project_id_and_unscoped(kc):
    demo = identity_store.stable_id("project", "demo")
    scoped = kc.post("/identity/v3/auth/tokens", password_auth("demo", project=demo,
                                                                by_id=True), token=None)
    assert scoped.status_int == 201 and scoped.json["token"]["project"]["id"] == demo
    unscoped = kc.post("/identity/v3/auth/tokens", password_auth("demo"), token=None)
    assert unscoped.status_int == 201
    assert "catalog" not in unscoped.json["token"] and "project" not in unscoped.json["token"]
    # an unscoped token is no good for compute
    token = unscoped.headers["X-Subject-Token"]
    assert kc.get("/v2.1/servers", token=token).status_int == 401


def test_token_method_rescopes_and_never_outlives_the_first(kc, clock):
    unscoped = kc.post("/identity/v3/auth/tokens", password_auth("admin"), token=None)
    first = unscoped.headers["X-Subject-Token"]
    clock.now += 1000
    body = {"auth": {"identity": {"methods": ["token"], "token": {"id": first}},
                     "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
    response = kc.post("/identity/v3/auth/tokens", body, token=None)
    assert response.status_int == 201
    token = response.json["token"]
    assert token["methods"] == ["token"]
    assert [r["name"] for r in token["roles"]] == ["admin", "manager", "member", "reader"]
    assert token["expires_at"] == unscoped.json["token"]["expires_at"]
    body["auth"]["identity"]["token"]["id"] = "bogus"
    assert kc.post("/identity/v3/auth/tokens", body, token=None).status_int == 401


def test_validate_head_and_revoke(kc):
    demo = login(kc, "demo")
    alt = login(kc, "alt_demo")
    admin = login(kc, "admin")
    own = kc.get("/identity/v3/auth/tokens", token=demo, headers={"X-Subject-Token": demo})
    assert own.status_int == 200 and own.headers["X-Subject-Token"] == demo
    assert own.json["token"]["user"]["name"] == "demo"
    head = kc.request("HEAD", "/identity/v3/auth/tokens", token=admin,
                      headers={"X-Subject-Token": demo})
    assert head.status_int == 200 and head.body == b""
    # another user's token: only an admin may look
    assert kc.get("/identity/v3/auth/tokens", token=alt,
                  headers={"X-Subject-Token": demo}).status_int == 403
    assert kc.get("/identity/v3/auth/tokens", token=demo,
                  headers={"X-Subject-Token": "bogus"}).status_int == 404
    assert kc.get("/identity/v3/auth/tokens", token=None,
                  headers={"X-Subject-Token": demo}).status_int == 401
    assert kc.delete("/identity/v3/auth/tokens", token=admin,
                     headers={"X-Subject-Token": demo}).status_int == 204
    assert kc.get("/v2.1/servers", token=demo).status_int == 401
    assert kc.delete("/identity/v3/auth/tokens", token=admin,
                     headers={"X-Subject-Token": demo}).status_int == 404


def test_tokens_expire(kc, clock, kapp):
    token = login(kc, "demo")
    clock.now += 3599
    assert kc.get("/v2.1/servers", token=token).status_int == 200
    clock.now += 1
    assert kc.get("/v2.1/servers", token=token).status_int == 401
    assert token not in kapp.identity_store.tokens


def test_passwords_are_stored_hashed(kapp):
    user = kapp.identity_store.find_user("demo")
    assert "nova-sim" not in user.password_hash
    assert user.password_hash.startswith("pbkdf2_sha256$")
    other = kapp.identity_store.create_user("ann", "nova-sim")
    assert other.password_hash != user.password_hash  # a salt of its own
    assert identity_store.check_password("nova-sim", other.password_hash)
    assert identity_store.check_password("nova-sim", user.password_hash)
    assert not identity_store.check_password("nova-sim2", user.password_hash)
    assert not identity_store.check_password("nova-sim", "garbage")


def test_version_discovery(kc):
    versions = kc.get("/identity", token=None)
    assert versions.status_int == 300
    assert versions.json["versions"]["values"][0]["id"].startswith("v3")
    v3 = kc.get("/identity/v3/", token=None)
    assert v3.status_int == 200
    assert v3.json["version"]["links"][0]["href"] == "http://localhost/identity/v3/"


def test_identity_routes_are_not_served_under_noauth2(client):
    response = client.post("/identity/v3/auth/tokens", password_auth("demo", project="demo"))
    assert response.status_int == 404


def test_unknown_route_and_method_are_keystone_errors(kc):
    admin = login(kc, "admin")
    missing = kc.get("/identity/v3/credentials", token=admin)
    assert missing.status_int == 404 and missing.json["error"]["code"] == 404
    wrong = kc.put("/identity/v3/auth/tokens", {}, token=admin)
    assert wrong.status_int == 405 and "POST" in wrong.headers["Allow"]


def test_the_default_users_projects_and_roles(kc):
    admin = login(kc, "admin")
    users = kc.get("/identity/v3/users", token=admin).json["users"]
    assert {u["name"] for u in users} == {"admin", "demo", "demo_reader", "alt_demo",
                                          "alt_demo_reader", "demo_manager"}
    projects = kc.get("/identity/v3/projects?name=demo", token=admin).json["projects"]
    assert [p["name"] for p in projects] == ["demo"]
    assert projects[0]["id"] == identity_store.stable_id("project", "demo")
    roles = kc.get("/identity/v3/roles", token=admin).json["roles"]
    assert {"admin", "manager", "member", "reader"} <= {r["name"] for r in roles}
    manager = login(kc, "demo_manager", project="demo")
    shown = kc.get("/identity/v3/auth/tokens", token=manager,
                   headers={"X-Subject-Token": manager}).json["token"]
    assert [r["name"] for r in shown["roles"]] == ["manager", "member", "reader"]


def test_role_assignments_with_names_and_filters(kc):
    admin = login(kc, "admin")
    demo = identity_store.stable_id("project", "demo")
    found = kc.get(f"/identity/v3/role_assignments?scope.project.id={demo}"
                   "&include_names=1", token=admin).json["role_assignments"]
    pairs = {(a["user"]["name"], a["role"]["name"]) for a in found}
    assert pairs == {("demo", "member"), ("demo_reader", "reader"),
                     ("demo_manager", "manager")}
    assert all(a["scope"]["project"]["name"] == "demo" for a in found)


def test_non_admins_may_read_only_themselves(kc):
    demo = login(kc, "demo")
    demo_id = identity_store.stable_id("user", "demo")
    assert kc.get("/identity/v3/users", token=demo).status_int == 403
    assert kc.get("/identity/v3/role_assignments", token=demo).status_int == 403
    assert kc.get(f"/identity/v3/users/{demo_id}", token=demo).status_int == 200
    admin_id = identity_store.stable_id("user", "admin")
    forbidden = kc.get(f"/identity/v3/users/{admin_id}", token=demo)
    assert forbidden.status_int == 403 and forbidden.json["error"]["title"] == "Forbidden"
    projects = kc.get("/identity/v3/auth/projects", token=demo).json["projects"]
    assert [p["name"] for p in projects] == ["demo"]
    assert kc.post("/identity/v3/projects", {"project": {"name": "x"}},
                   token=demo).status_int == 403


def test_create_grant_use_and_delete(kc):
    admin = login(kc, "admin")
    project = kc.post("/identity/v3/projects", {"project": {"name": "team"}}, token=admin)
    assert project.status_int == 201
    project_id = project.json["project"]["id"]
    user = kc.post("/identity/v3/users", {"user": {"name": "ann", "password": "pw",
                                                   "default_project_id": project_id}},
                   token=admin)
    assert user.status_int == 201 and "password" not in user.json["user"]
    user_id = user.json["user"]["id"]
    duplicate = kc.post("/identity/v3/users", {"user": {"name": "ann"}}, token=admin)
    assert duplicate.status_int == 409
    member = kc.get("/identity/v3/roles?name=member", token=admin).json["roles"][0]["id"]
    grant = f"/identity/v3/projects/{project_id}/users/{user_id}/roles/{member}"
    assert kc.request("HEAD", grant, token=admin).status_int == 404
    assert kc.put(grant, token=admin).status_int == 204
    assert kc.request("HEAD", grant, token=admin).status_int == 204
    listed = kc.get(f"/identity/v3/projects/{project_id}/users/{user_id}/roles", token=admin)
    assert [r["name"] for r in listed.json["roles"]] == ["member"]
    response = kc.post("/identity/v3/auth/tokens",
                       password_auth("ann", "pw", project="team"), token=None)
    assert response.status_int == 201
    token = response.headers["X-Subject-Token"]
    assert kc.get("/v2.1/servers", token=token).status_int == 200
    assert kc.delete(grant, token=admin).status_int == 204
    assert kc.delete(grant, token=admin).status_int == 404
    assert kc.delete(f"/identity/v3/users/{user_id}", token=admin).status_int == 204
    assert kc.get("/v2.1/servers", token=token).status_int == 401  # its tokens went too
    assert kc.get(f"/identity/v3/users/{user_id}", token=admin).status_int == 404
    assert kc.delete(f"/identity/v3/projects/{project_id}", token=admin).status_int == 204


@pytest.mark.parametrize("body", [{"project": {}}, {"project": {"name": ""}},
                                  {"project": {"name": "x", "enabled": "yes"}}, {"x": 1}])
def test_create_checks_its_input(kc, body):
    response = kc.post("/identity/v3/projects", body, token=login(kc, "admin"))
    assert response.status_int == 400 and response.json["error"]["code"] == 400


def test_compute_policy_by_role(kc):
    """Nova's defaults: readers read, members act on their project, admins see all."""
    member = login(kc, "demo")
    reader = login(kc, "demo_reader", project="demo")
    manager = login(kc, "demo_manager", project="demo")
    alt = login(kc, "alt_demo")
    admin = login(kc, "admin")
    refused = kc.post("/v2.1/servers", SERVER, token=reader, version="2.100")
    assert refused.status_int == 403 and "forbidden" in refused.json
    server_id = kc.post("/v2.1/servers", SERVER, token=member, version="2.100").json["server"]["id"]
    assert kc.post("/v2.1/servers", SERVER, token=manager, version="2.100").status_int == 202
    assert kc.get(f"/v2.1/servers/{server_id}", token=reader).status_int == 200
    assert kc.delete(f"/v2.1/servers/{server_id}", token=reader).status_int == 403
    assert kc.get(f"/v2.1/servers/{server_id}", token=alt).status_int == 404
    assert kc.get("/v2.1/servers?all_tenants=1", token=member).status_int == 403
    everyone = kc.get("/v2.1/servers?all_tenants=1", token=admin).json["servers"]
    assert server_id in {s["id"] for s in everyone}
    assert kc.get("/v2.1/os-services", token=member).status_int == 403
    assert kc.get("/v2.1/os-services", token=admin).status_int == 200
    metadata = {"metadata": {"owner": "demo"}}
    assert kc.post(f"/v2.1/servers/{server_id}/metadata", metadata,
                   token=reader).status_int == 403
    assert kc.post(f"/v2.1/servers/{server_id}/metadata", metadata,
                   token=member).status_int == 200
    assert kc.get(f"/v2.1/servers/{server_id}/metadata", token=reader).json == metadata
    assert kc.delete(f"/v2.1/servers/{server_id}", token=member).status_int == 204


def test_users_option_must_be_well_formed():
    with pytest.raises(ValueError, match="user:project:role"):
        identity_store.IdentityStore(["demo:demo"], "pw", 60)


def test_a_reader_manages_their_own_key_pairs_but_nothing_else(kc):
    reader = login(kc, "demo_reader", project="demo")
    made = kc.post("/v2.1/os-keypairs", {"keypair": {"name": "mine"}}, token=reader,
                   version="2.91")
    assert made.status_int == 201, made.body
    assert kc.delete("/v2.1/os-keypairs/mine", token=reader, version="2.91").status_int == 204
    assert kc.post("/v2.1/os-server-groups", {"server_group": {
        "name": "g", "policies": ["affinity"]}}, token=reader).status_int == 403
