"""``/servers/{id}/tags``: Nova's status codes, checks and microversion boundaries."""

from __future__ import annotations

import pytest

from .test_servers import body

V = "2.26"


def boot(client, **server):
    response = client.post("/v2.1/servers", body(**server), token="demo:demo",
                           version="2.100")
    assert response.status_int == 202, response.body
    return response.json["server"]["id"]


def test_add_check_replace_and_delete(client):
    server = boot(client)
    path = f"/v2.1/servers/{server}/tags"
    assert client.get(path, token="demo:demo", version=V).json == {"tags": []}
    added = client.put(f"{path}/a", token="demo:demo", version=V)
    assert added.status_int == 201 and added.headers["Location"].endswith(f"{server}/tags/a")
    assert client.put(f"{path}/a", token="demo:demo", version=V).status_int == 204
    assert client.get(f"{path}/a", token="demo:demo", version=V).status_int == 204
    missing = client.get(f"{path}/b", token="demo:demo", version=V)
    assert missing.status_int == 404
    assert missing.json["itemNotFound"]["message"] == f"Instance {server} has no tag 'b'"
    replaced = client.put(path, {"tags": ["y", "x"]}, token="demo:demo", version=V)
    assert replaced.status_int == 200 and replaced.json == {"tags": ["x", "y"]}
    shown = client.get(f"/v2.1/servers/{server}", token="demo:demo", version=V).json
    assert shown["server"]["tags"] == ["x", "y"]
    assert client.delete(f"{path}/x", token="demo:demo", version=V).status_int == 204
    assert client.delete(f"{path}/x", token="demo:demo", version=V).status_int == 404
    assert client.delete(path, token="demo:demo", version=V).status_int == 204
    assert client.get(path, token="demo:demo", version=V).json == {"tags": []}


@pytest.mark.parametrize("tags", [["a/b"], ["a,b"], ["x" * 61], [""], [1],
                                  [f"t{n}" for n in range(51)], "a"])
def test_bad_tags_are_400(client, tags):
    server = boot(client)
    response = client.put(f"/v2.1/servers/{server}/tags", {"tags": tags}, token="demo:demo",
                          version=V)
    assert response.status_int == 400


def test_before_2_26_and_another_project(client):
    server = boot(client)
    assert client.get(f"/v2.1/servers/{server}/tags", token="demo:demo",
                      version="2.25").status_int == 404
    assert client.get(f"/v2.1/servers/{server}/tags", token="alt:alt",
                      version=V).status_int == 404


def test_create_with_tags_from_2_52(client):
    server = client.post("/v2.1/servers", body(tags=["a", "b"]), token="demo:demo",
                         version="2.52").json["server"]["id"]
    assert client.get(f"/v2.1/servers/{server}/tags", token="demo:demo",
                      version=V).json == {"tags": ["a", "b"]}
    old = client.post("/v2.1/servers", body(tags=["a"], networks=[]), token="demo:demo",
                      version="2.51")
    assert old.status_int == 400
    bad = client.post("/v2.1/servers", body(tags=["a/b"]), token="demo:demo", version="2.52")
    assert bad.status_int == 400


def test_a_list_reads_every_servers_tags_in_one_query(client):
    first, second = boot(client), boot(client)
    client.put(f"/v2.1/servers/{first}/tags", {"tags": ["a"]}, token="demo:demo", version=V)
    db = client.app.compute_api.db
    before = db.transactions
    servers = client.get("/v2.1/servers/detail", token="demo:demo", version=V).json["servers"]
    assert {s["id"]: s["tags"] for s in servers} == {first: ["a"], second: []}
    listed_twice = db.transactions - before
    before = db.transactions
    client.get("/v2.1/servers/detail", token="demo:demo", version="2.25")
    assert listed_twice - (db.transactions - before) == 1  # the one tag query


@pytest.mark.parametrize("query,expected", [
    ("tags=a,b", {"ab"}), ("tags=a", {"ab", "a"}), ("tags-any=b,c", {"ab", "c"}),
    ("not-tags=a,b", {"a", "c", "none"}), ("not-tags-any=a,c", {"none"}),
    ("tags=a&not-tags-any=b", {"a"}),
])
def test_list_filters_by_tags_from_2_26(client, query, expected):
    made = {}
    for name, tags in (("ab", ["a", "b"]), ("a", ["a"]), ("c", ["c"]), ("none", [])):
        made[boot(client)] = name
        client.put(f"/v2.1/servers/{list(made)[-1]}/tags", {"tags": tags},
                   token="demo:demo", version=V)
    for collection in ("servers", "servers/detail"):
        listed = client.get(f"/v2.1/{collection}?{query}", token="demo:demo",
                            version=V).json["servers"]
        assert {made[s["id"]] for s in listed} == expected
    # before 2.26 the filters are ignored
    old = client.get(f"/v2.1/servers?{query}", token="demo:demo", version="2.25")
    assert len(old.json["servers"]) == 4
