"""A large ``max_count`` is written in steps that yield to the hub: another request
(``GET /``) is answered while the creation is still in progress, on the virtual clock."""

from __future__ import annotations

import time

import pytest

from nova_sim import green
from nova_sim.compute.api import CREATE_STEP

from .conftest import IMAGE, NEW_VERSION

pytestmark = [pytest.mark.slow, pytest.mark.reliability]  # writes 1,000 rows (about 7 s)


def test_get_root_is_served_between_creation_steps(client, compute, conf):
    conf.set_override("instances", -1, "quota")
    conf.set_override("cores", -1, "quota")
    conf.set_override("ram", -1, "quota")
    count = conf.api.max_servers_per_request
    assert count >= 4 * CREATE_STEP
    seen: list[int] = []
    answered: list[float] = []  # real time of each GET / answer (reported, not asserted)

    def create():
        body = {"server": {"name": "many", "imageRef": IMAGE, "flavorRef": "1",
                           "networks": "none", "max_count": count}}
        return client.post("/v2.1/servers", body, token="demo:demo", version=NEW_VERSION)

    def poll_root():
        while True:
            assert client.get("/").status_int == 200
            answered.append(time.perf_counter())
            seen.append(len(compute.db.instance_get_all_by_filters({})))
            green.sleep(0)

    with green.virtual_time():
        creating = green.spawn(create)
        poller = green.spawn(poll_root)
        response = creating.wait()
        green.kill(poller)
    assert response.status_int == 202, response.text
    in_progress = [n for n in seen if 0 < n < count]
    # GET / answered at least once per step while the rows were being written.
    assert len(in_progress) >= count // CREATE_STEP - 1, seen[:20]
    assert len(compute.db.instance_get_all_by_filters({})) == count
    gaps = sorted(b - a for a, b in zip(answered, answered[1:], strict=False))
    print(f"GET / answers: {len(answered)}; gap between answers: median "
          f"{gaps[len(gaps) // 2] * 1000:.1f} ms, second largest {gaps[-2] * 1000:.1f} ms, "
          f"largest {gaps[-1] * 1000:.1f} ms")
