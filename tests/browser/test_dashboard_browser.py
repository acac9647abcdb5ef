"""The dashboard in a real browser: boot a server through the API of a running cloud and
watch it on every page (see conftest.py for the browser and the cloud)."""

from __future__ import annotations

import os

import pytest

from nova_sim.image import CIRROS_IMAGE_ID

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

pytestmark = pytest.mark.browser

TIMEOUT = 60  # seconds a page may take to show what it must (the machine may be busy)


_QUERY = """
return [...document.querySelectorAll(arguments[0])].map(node => {
    const found = {text: node.textContent};
    for (const name of node.getAttributeNames()) found[name] = node.getAttribute(name);
    return found;
});
"""


def query(driver, css: str) -> list[dict]:
    """The elements matching ``css``, read at one instant (the pages redraw live): each
    its attributes and ``text``."""
    return driver.execute_script(_QUERY, css)


def wait(driver, css: str, check=None, timeout: float = TIMEOUT) -> list[dict]:
    """``query(css)`` once it finds some (and ``check(found)`` holds)."""
    from selenium.webdriver.support.ui import WebDriverWait

    def found(driver):
        elements = query(driver, css)
        if elements and (check is None or check(elements)):
            return elements
        return False

    return WebDriverWait(driver, timeout).until(found, f"no {css} on {driver.current_url}")


def reload_until(driver, url: str, css: str, attempts: int = 12):
    """Load ``url`` until it shows ``css`` (a page that reads the span store once:
    spans are written when they end)."""
    from selenium.common.exceptions import TimeoutException

    for attempt in range(attempts):
        driver.get(url)
        try:
            return wait(driver, css, timeout=TIMEOUT / attempts if attempt < attempts - 1
                        else TIMEOUT)
        except TimeoutException:
            continue
    raise AssertionError(f"no {css} on {url}")


@pytest.fixture(scope="module")
def booted(browser, running_cloud):
    """The overview open in the browser, then a server booted through the API:
    (request id, server id)."""
    browser.get(running_cloud.dashboard + "overview")
    wait(browser, "#services tr[data-service]", lambda rows: len(rows) == 4)
    headers, body = running_cloud.request("POST", "/servers", {"server": {
        "name": "web-e2e", "imageRef": CIRROS_IMAGE_ID, "flavorRef": "1",
        "networks": "none"}})
    return headers["x-openstack-request-id"], body["server"]["id"]


def test_overview_shows_the_server_reach_active_without_a_reload(browser, booted, screenshot):
    _request_id, server_id = booted
    marker = browser.execute_script("window.notReloaded = true; return window.notReloaded")
    assert marker is True
    wait(browser, f'tr[data-uuid="{server_id}"] td.vm-state',
         lambda cells: cells[0]["text"] == "active")
    assert browser.execute_script("return window.notReloaded") is True  # live, not reloaded
    services = wait(browser, "#services tr[data-service]")
    assert {row["data-service"].split("@")[0] for row in services} == {
        "nova-conductor", "nova-scheduler", "nova-compute"}
    assert len(query(browser, "#services td.up")) == len(services) == 4
    # the usage bars are drawn to scale: one vCPU of 16 used on the server's host
    filled = browser.execute_script(
        "return [...document.querySelectorAll('#hosts .usage')].map(u => [u.dataset.fraction,"
        " u.querySelector('.bar > span').getBoundingClientRect().width"
        " / u.querySelector('.bar').getBoundingClientRect().width])")
    assert any(fraction == "0.063" and 0.05 < width < 0.08 for fraction, width in filled)
    screenshot("overview")


def test_messages_draws_the_boots_rpc_on_the_sequence_diagram(browser, running_cloud, booted,
                                                             screenshot):
    request_id, _server_id = booted
    browser.get(running_cloud.dashboard + "messages")
    arrows = wait(browser, f'#sequence g.msg[data-request-id="{request_id}"]',
                  lambda found: {"schedule_and_build_instances", "build_and_run_instance",
                                 "select_destinations"} <= {a["data-method"] for a in found})
    kinds = {(a["data-method"], a["data-kind"]) for a in arrows}
    assert ("select_destinations", "call") in kinds and ("select_destinations", "reply") in kinds
    assert ("build_and_run_instance", "cast") in kinds
    lanes = [t["text"] for t in query(browser, "#lanes text.lane-label")]
    assert lanes[:3] == ["nova-api", "nova-conductor", "nova-scheduler"]
    assert {"nova-compute@compute1", "nova-compute@compute2"} <= set(lanes)
    screenshot("messages")
    # paused: new messages wait (counted), then show on resume
    pause = browser.find_element("css selector", "#pause")
    pause.click()
    assert pause.text == "Resume"
    headers, _body = running_cloud.request("POST", "/servers", {"server": {
        "name": "web-e2e-2", "imageRef": CIRROS_IMAGE_ID, "flavorRef": "1",
        "networks": "none"}})
    second = headers["x-openstack-request-id"]
    wait(browser, "#count", lambda found: "paused (" in found[0]["text"]
         and not found[0]["text"].startswith("paused (0 "))
    assert not query(browser, f'g.msg[data-request-id="{second}"]')
    pause.click()
    wait(browser, f'#sequence g.msg[data-request-id="{second}"]')
    # filtered by a request id: only its messages
    box = browser.find_element("css selector", "#filter")
    box.send_keys(request_id + "\n")
    wait(browser, "#sequence g.msg", lambda found: all(
        a["data-request-id"] == request_id for a in found))


def test_greenthreads_lists_what_each_greenthread_waits_on(browser, running_cloud, booted,
                                                         screenshot):
    browser.get(running_cloud.dashboard + "greenthreads")
    rows = wait(browser, "#threads tr[data-state]")
    assert {row["data-state"] for row in rows} <= {"running", "ready", "sleeping", "blocked"}
    assert any("socket" in row["text"] for row in rows)  # the listeners' accept loops
    [pools] = query(browser, "#pools")
    assert "nova-compute@compute1: RPC executor" in pools["text"]
    [scheduled] = query(browser, "#scheduled")
    assert "periodic" in scheduled["text"]
    screenshot("greenthreads")


def test_requests_shows_the_boots_waterfall(browser, running_cloud, booted, screenshot):
    request_id, _server_id = booted
    url = running_cloud.dashboard + "requests#" + request_id
    reload_until(browser, url, '#waterfall g.span[data-name="rpc.server build_and_run_instance"]')
    spans = query(browser, "#waterfall g.span")
    names = {g["data-name"] for g in spans}
    assert {"wsgi.request", "api.create", "rpc.cast schedule_and_build_instances",
            "rpc.server schedule_and_build_instances", "rpc.call select_destinations",
            "rpc.cast build_and_run_instance"} <= names
    services = {g["data-service"].split("@")[0] for g in spans}
    assert {"nova-api", "nova-conductor", "nova-scheduler", "nova-compute"} <= services
    arrows = query(browser, "#waterfall path.rpc-arrow")
    by_id = {g["data-span-id"]: g["data-name"] for g in spans}
    assert ("rpc.cast build_and_run_instance", "rpc.server build_and_run_instance") in {
        (by_id.get(a["data-from"]), by_id.get(a["data-to"])) for a in arrows}
    assert query(browser, "#request-id")[0]["text"] == request_id
    wait(browser, "#request",
         lambda found: "compute__do_build_and_run_instance" in found[0]["text"])
    screenshot("requests")


def test_simulation_page_of_a_finished_run_opens_from_the_disk(browser, tmp_path, screenshot):
    from nova_sim.cmd.main import main

    task = os.path.join(ROOT, "etc", "nova-sim", "tasks", "boot-and-delete.yaml")
    assert main(["simulate", task, "--out", str(tmp_path), "--no-progress"]) == 0
    browser.get((tmp_path / "dashboard" / "simulation.html").as_uri())
    [title] = wait(browser, "#sim-title")
    assert title["text"] == "Boot and delete servers"
    wait(browser, ".workload .plot svg", lambda found: len(found) == 4)
    heights = browser.execute_script("return [...document.querySelectorAll('.plot svg')]"
                                      ".map(svg => svg.getBoundingClientRect().height)")
    assert all(height > 50 for height in heights)
    assert "nova.boot_server" in query(browser, ".workload pre")[0]["text"]
    screenshot("simulation")


def test_the_live_simulation_page_says_how_to_make_one(browser, running_cloud):
    browser.get(running_cloud.dashboard + "simulation")
    [section] = wait(browser, "main section")
    assert "nova-sim simulate TASK --out DIR" in section["text"]
