"""The ``name`` filter of ``GET /servers`` runs in linear time (RE2), so a hostile
pattern cannot freeze the hub; ordinary patterns still filter, page and sort."""

from __future__ import annotations

import time

from .conftest import assert_fault, boot

# 26 "a"s and "!" against (a+)+$ backtracks 2^26 times on Python's re (about 6 s); 40
# would take days. The bound below is generous for a shared machine, yet far below the
# backtracking time, so the test cannot pass on a backtracking engine.
HOSTILE_NAME = "a" * 40 + "!"
BOUND_S = 1.0


def test_redos_pattern_answers_promptly(client):
    boot(client, HOSTILE_NAME)
    for pattern in ("(a%2B)%2B%24", "%5E(a*)*%24", "(a|aa)%2B%24", "(.*a){20}%24"):
        started = time.perf_counter()
        response = client.get(f"/v2.1/servers?name={pattern}", token="demo:demo")
        elapsed = time.perf_counter() - started
        assert response.status_int == 200, response.text
        assert response.json["servers"] == []
        assert elapsed < BOUND_S, (pattern, elapsed)


def test_name_filter_still_matches_anywhere(client):
    web = boot(client, "web-1")
    boot(client, "db-1")
    found = client.get("/v2.1/servers?name=eb", token="demo:demo").json["servers"]
    assert [s["id"] for s in found] == [web]
    anchored = client.get("/v2.1/servers?name=%5Edb", token="demo:demo").json["servers"]
    assert [s["name"] for s in anchored] == ["db-1"]


def test_name_filter_pages_with_limit_and_marker(client):
    ids = [boot(client, f"web-{n}") for n in range(4)]
    boot(client, "other")
    first = client.get("/v2.1/servers?name=web&limit=2", token="demo:demo").json
    assert len(first["servers"]) == 2
    assert "servers_links" in first
    marker = first["servers"][-1]["id"]
    rest = client.get(f"/v2.1/servers?name=web&limit=2&marker={marker}",
                      token="demo:demo").json["servers"]
    assert {s["id"] for s in first["servers"] + rest} == set(ids)
    assert_fault(client.get("/v2.1/servers?name=web&marker=" + boot(client, "zzz"),
                            token="demo:demo"), 400)


def test_patterns_re2_lacks_are_400(client):
    for pattern in ("(a)%5C1", "(%3F%3Da)", "(", "a" * 256):
        message = assert_fault(client.get(f"/v2.1/servers?name={pattern}",
                                          token="demo:demo"), 400)
        assert "name filter" in message
