"""``/os-keypairs``: Nova's status codes, bodies, microversion boundaries and policy."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from nova_sim import conf as nova_conf
from nova_sim.api.app import APIApplication

from .conftest import Client
from .fakes import make_compute_api
from .test_servers import body

PATH = "/v2.1/os-keypairs"


def public_key() -> str:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(serialization.Encoding.OpenSSH,
                            serialization.PublicFormat.OpenSSH).decode() + " me@host"


def md5_fingerprint(key: str) -> str:
    digest = hashlib.md5(base64.b64decode(key.split()[1])).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def create(client, name, key=None, token="demo:demo", version="2.1", **extra):
    spec = {"name": name, **extra}
    if key is not None:
        spec["public_key"] = key
    return client.post(PATH, {"keypair": spec}, token=token, version=version)


def test_import_list_show_delete_at_2_1(client):
    key = public_key()
    created = create(client, "k1", key)
    assert created.status_int == 200
    assert created.json == {"keypair": {
        "name": "k1", "public_key": key, "fingerprint": md5_fingerprint(key),
        "user_id": "demo"}}
    listed = client.get(PATH, token="demo:demo").json
    assert listed == {"keypairs": [{"keypair": {
        "name": "k1", "public_key": key, "fingerprint": md5_fingerprint(key)}}]}
    shown = client.get(f"{PATH}/k1", token="demo:demo").json["keypair"]
    assert set(shown) == {"name", "public_key", "fingerprint", "user_id", "created_at",
                          "deleted", "deleted_at", "id", "updated_at"}
    assert shown["deleted"] is False and shown["user_id"] == "demo"
    assert isinstance(shown["id"], int) and shown["created_at"]
    assert client.delete(f"{PATH}/k1", token="demo:demo").status_int == 202
    assert client.get(f"{PATH}/k1", token="demo:demo").status_int == 404
    assert client.get(PATH, token="demo:demo").json == {"keypairs": []}


def test_from_2_2_type_201_and_204(client):
    key = public_key()
    created = create(client, "k", key, version="2.2")
    assert created.status_int == 201 and created.json["keypair"]["type"] == "ssh"
    assert client.get(PATH, token="demo:demo", version="2.2").json[
        "keypairs"][0]["keypair"]["type"] == "ssh"
    assert client.get(f"{PATH}/k", token="demo:demo", version="2.2").json[
        "keypair"]["type"] == "ssh"
    assert "type" not in client.get(f"{PATH}/k", token="demo:demo").json["keypair"]
    assert client.delete(f"{PATH}/k", token="demo:demo", version="2.2").status_int == 204
    # "type" is an unknown property before 2.2.
    refused = create(client, "k2", key, type="ssh")
    assert refused.status_int == 400 and "'type' was unexpected" in refused.text


def test_generated_ssh_key_answers_its_private_key_once(client):
    created = create(client, "gen", version="2.2")
    assert created.status_int == 201
    keypair = created.json["keypair"]
    assert keypair["private_key"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert keypair["public_key"].startswith("ssh-rsa ")
    assert keypair["public_key"].endswith(" Generated-by-Nova")
    assert keypair["fingerprint"] == md5_fingerprint(keypair["public_key"])
    private = serialization.load_pem_private_key(keypair["private_key"].encode(), None)
    assert private.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).decode() == keypair["public_key"].rsplit(" ", 1)[0]
    shown = client.get(f"{PATH}/gen", token="demo:demo", version="2.2").json["keypair"]
    assert "private_key" not in shown and shown["public_key"] == keypair["public_key"]


def test_generated_x509_certificate(client):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    created = create(client, "cert", version="2.2", type="x509")
    assert created.status_int == 201
    keypair = created.json["keypair"]
    assert keypair["type"] == "x509"
    certificate = x509.load_pem_x509_certificate(keypair["public_key"].encode())
    assert keypair["fingerprint"] == certificate.fingerprint(hashes.SHA1()).hex(":")
    imported = create(client, "cert2", keypair["public_key"], version="2.2", type="x509")
    assert imported.status_int == 201
    assert imported.json["keypair"]["fingerprint"] == keypair["fingerprint"]


def test_2_92_requires_a_public_key_and_allows_at_and_dot(client):
    refused = create(client, "k", version="2.92")
    assert refused.status_int == 400
    assert "'public_key' is a required property" in refused.json["badRequest"]["message"]
    assert create(client, "me@host.k", public_key(), version="2.92").status_int == 201
    assert create(client, "me@host.k", public_key(), version="2.91").status_int == 400


@pytest.mark.parametrize("name", ["", "   ", "key_/.\\@:", "k" * 256, 5])
def test_bad_names_are_400(client, name):
    response = create(client, name, public_key())
    assert response.status_int == 400, response.text
    assert client.get(PATH, token="demo:demo").json == {"keypairs": []}


@pytest.mark.parametrize("key", ["", "ssh-rsa", "not a key", "ssh-rsa " + "A" * 2048 + " x"])
def test_bad_public_keys_are_400(client, key):
    response = create(client, "k", key)
    assert response.status_int == 400
    assert response.json["badRequest"]["message"] == (
        "Keypair data is invalid: failed to generate fingerprint")


def test_duplicate_name_is_409_but_another_user_may_use_it(client):
    assert create(client, "k", public_key()).status_int == 200
    again = create(client, "k", public_key())
    assert again.status_int == 409
    assert again.json["conflictingRequest"]["message"] == "Key pair 'k' already exists."
    assert create(client, "k", public_key(), token="alt:alt").status_int == 200


def test_another_users_keypair_is_404(client):
    create(client, "k", public_key())
    for response in (client.get(f"{PATH}/k", token="alt:alt"),
                     client.delete(f"{PATH}/k", token="alt:alt")):
        assert response.status_int == 404
        assert response.json["itemNotFound"]["message"] == (
            "Keypair k not found for user alt")
    assert client.get(PATH, token="alt:alt").json == {"keypairs": []}


def test_2_10_user_id_for_admins_only(client):
    key = public_key()
    as_admin = create(client, "k", key, token="admin:admin", version="2.10",
                      user_id="demo")
    assert as_admin.status_int == 201 and as_admin.json["keypair"]["user_id"] == "demo"
    assert client.get(f"{PATH}/k", token="demo:demo").status_int == 200
    listed = client.get(f"{PATH}?user_id=demo", token="admin:admin", version="2.10").json
    assert [k["keypair"]["name"] for k in listed["keypairs"]] == ["k"]
    # Below 2.10 the query parameter is ignored: the admin's own (none).
    assert client.get(f"{PATH}?user_id=demo", token="admin:admin", version="2.9").json == {
        "keypairs": []}
    assert client.get(f"{PATH}/k?user_id=demo", token="admin:admin",
                      version="2.10").status_int == 200
    for response in (
            client.get(f"{PATH}?user_id=admin", token="demo:demo", version="2.10"),
            client.get(f"{PATH}/k?user_id=alt", token="demo:demo", version="2.10"),
            create(client, "x", key, token="demo:demo", version="2.10", user_id="alt")):
        assert response.status_int == 403, response.text
    # Naming oneself is fine.
    assert client.get(f"{PATH}?user_id=demo", token="demo:demo",
                      version="2.10").status_int == 200
    # "user_id" in the body is an unknown property before 2.10.
    assert create(client, "y", key, token="admin:admin", version="2.9",
                  user_id="demo").status_int == 400
    assert client.delete(f"{PATH}/k?user_id=demo", token="admin:admin",
                         version="2.10").status_int == 204
    assert client.get(f"{PATH}/k", token="demo:demo").status_int == 404


def test_2_35_pages_by_name(client):
    for name in ("c", "a", "d", "b"):
        create(client, name, public_key())
    first = client.get(f"{PATH}?limit=2", token="demo:demo", version="2.35").json
    assert [k["keypair"]["name"] for k in first["keypairs"]] == ["a", "b"]
    assert first["keypairs_links"][0]["rel"] == "next"
    assert "marker=b" in first["keypairs_links"][0]["href"]
    rest = client.get(f"{PATH}?limit=5&marker=b", token="demo:demo", version="2.35").json
    assert [k["keypair"]["name"] for k in rest["keypairs"]] == ["c", "d"]
    assert "keypairs_links" not in rest
    missing = client.get(f"{PATH}?marker=zz", token="demo:demo", version="2.35")
    assert missing.status_int == 400
    # Before 2.35 limit and marker are ignored.
    old = client.get(f"{PATH}?limit=1&marker=zz", token="demo:demo", version="2.34").json
    assert len(old["keypairs"]) == 4 and "keypairs_links" not in old


def test_quota_key_pairs_is_403_and_in_limits():
    conf = nova_conf.new_conf()
    conf.set_override("key_pairs", 2, "quota")
    client = Client(APIApplication(make_compute_api(conf=conf), conf))
    assert create(client, "a", public_key()).status_int == 200
    assert create(client, "b", public_key()).status_int == 200
    refused = create(client, "c", public_key())
    assert refused.status_int == 403
    assert refused.json["forbidden"]["message"] == "Quota exceeded, too many key pairs."
    assert create(client, "c", public_key(), token="alt:alt").status_int == 200  # per user
    limits = client.get("/v2.1/limits", token="demo:demo").json["limits"]["absolute"]
    assert limits["maxTotalKeypairs"] == 2


def test_a_body_without_keypair_is_400(client):
    response = client.post(PATH, {}, token="demo:demo")
    assert response.status_int == 400
    assert "'keypair' is a required property" in response.json["badRequest"]["message"]


def test_server_create_checks_key_name_and_shows_it(client):
    key = public_key()
    create(client, "mine", key)
    refused = client.post("/v2.1/servers", body(key_name="nope"), token="demo:demo",
                          version="2.100")
    assert refused.status_int == 400
    assert refused.json["badRequest"]["message"] == "Invalid key_name provided."
    # Another user's key pair is not the caller's.
    other = client.post("/v2.1/servers", body(key_name="mine"), token="alt:alt", version="2.100")
    assert other.status_int == 400
    made = client.post("/v2.1/servers", body(key_name="mine"), token="demo:demo",
                       version="2.100")
    assert made.status_int == 202
    server = made.json["server"]["id"]
    shown = client.get(f"/v2.1/servers/{server}", token="demo:demo").json["server"]
    assert shown["key_name"] == "mine"
    instance = client.app.compute_api.db.instance_get(server)
    assert instance["key_data"] == key
