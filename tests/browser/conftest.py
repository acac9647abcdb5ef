"""Browser end-to-end tests of the dashboard: Selenium driving headless Chromium from
Debian's packages (``chromium``, ``chromium-driver``), never a browser a tool downloads.

The set-up installs the two packages with apt-get when they are missing (as root); when
Chromium or Selenium still cannot be had, the tests fail (they are not skipped): CI runs
them (``make test-browser``). ``NOVA_SIM_DASHBOARD_SCREENSHOTS=DIR`` also saves a
screenshot of each page into DIR (``tools/dashboard_screenshots.py`` makes the ones in
docs/).

The cloud is ``nova-sim run`` in a process of its own (the test's own thread blocks in
Selenium's HTTP calls, which would stall a hub it shared), on free ports, with its state
(span files) in a temporary directory.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.request

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGES = ("chromium", "chromium-driver")
SCREENSHOTS = os.environ.get("NOVA_SIM_DASHBOARD_SCREENSHOTS")


def _binaries() -> tuple[str | None, str | None]:
    return shutil.which("chromium"), shutil.which("chromedriver")


def ensure_chromium() -> tuple[str, str]:
    """Paths of Debian's chromium and chromedriver, installed with apt-get if missing;
    ``pytest.fail`` when they cannot be had."""
    browser, driver = _binaries()
    if browser and driver:
        return browser, driver
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.fail("chromium and chromium-driver are missing and cannot be installed "
                    "here (apt-get as root): apt-get install -y " + " ".join(PACKAGES))
    environment = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (["apt-get", "install", "-y", *PACKAGES],
                    ["apt-get", "update"], ["apt-get", "install", "-y", *PACKAGES]):
        subprocess.run(command, env=environment, capture_output=True, timeout=900,
                       check=False)
        browser, driver = _binaries()
        if browser and driver:
            return browser, driver
    pytest.fail("apt-get could not install " + " ".join(PACKAGES))


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    """A headless Chromium driven by Selenium (window 1280 x 900)."""
    chromium, chromedriver = ensure_chromium()
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail("selenium is not installed: pip install -e '.[browser]' "
                    "(make test-browser does)")
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never download anything
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1280,900",
                     f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver),
                              options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


class RunningCloud:
    """``nova-sim run`` in a process of its own: its compute API and dashboard URLs."""

    def __init__(self, home: str):
        environment = dict(os.environ, HOME=home, PYTHONUNBUFFERED="1",
                           XDG_STATE_HOME=os.path.join(home, "state"))
        environment.pop("OS_CLIENT_CONFIG_FILE", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "nova_sim.cmd.main", "run", "--computes", "2",
             "--port", "0", "--dashboard-port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT,
            env=environment)
        self.api = self.dashboard = ""
        banner = []
        for line in self.process.stdout:
            banner.append(line)
            found = re.search(r"compute API\s+(http://\S+/v2\.1)", line)
            if found:
                self.api = found[1]
            found = re.search(r"dashboard\s+(http://\S+/) ", line)
            if found:
                self.dashboard = found[1]
            if line.startswith("Stop with"):
                break
        if not (self.api and self.dashboard):
            self.stop()
            pytest.fail("nova-sim run did not start its API and dashboard:\n"
                        + "".join(banner))

    def request(self, method: str, path: str, body: dict | None = None) -> tuple:
        """``(headers, JSON body)`` of an admin's request to the compute API."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.api + path, data=data, method=method,
            headers={"X-Auth-Token": "admin:admin", "Content-Type": "application/json",
                     "Accept": "application/json",
                     "OpenStack-API-Version": "compute 2.37"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            raw = answer.read()
            return answer.headers, json.loads(raw) if raw else {}

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="module")
def running_cloud(tmp_path_factory):
    cloud = RunningCloud(str(tmp_path_factory.mktemp("home")))
    try:
        yield cloud
    finally:
        cloud.stop()


@pytest.fixture(autouse=True)
def no_console_errors(request):
    """Each test ends with no error in the browser's console (a script error, a
    resource the Content-Security-Policy refused, a 404...)."""
    yield
    if "browser" in request.fixturenames:
        driver = request.getfixturevalue("browser")
        errors = [entry["message"] for entry in driver.get_log("browser")
                  if entry["level"] == "SEVERE"]
        assert errors == []


@pytest.fixture
def screenshot(browser):
    """``screenshot(name)``: save the page as DIR/dashboard-NAME.png when screenshots
    are asked for (``NOVA_SIM_DASHBOARD_SCREENSHOTS=DIR``)."""

    def save(name: str) -> None:
        if SCREENSHOTS:
            os.makedirs(SCREENSHOTS, exist_ok=True)
            browser.save_screenshot(os.path.join(SCREENSHOTS, f"dashboard-{name}.png"))

    return save
