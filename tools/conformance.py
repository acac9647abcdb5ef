r"""Run OpenStack's own compute tests against a `nova-sim run` and print the counts.

    python tools/conformance.py --suite ci       # the CI subset: must all pass
    python tools/conformance.py --suite full     # all of tempest.api.compute
    python tools/conformance.py --suite sdk      # openstacksdk's compute functional tests
    python tools/conformance.py --suite full --suite sdk
    python tools/conformance.py --regex 'tempest\.api\.compute\.admin\.test_hosts'

`make conformance` runs the CI subset and `make conformance-full` the other two; both
install tempest 47.0.0 (and openstacksdk 4.22.0 with pytest) into a virtualenv of their
own, `.venv-tempest`, never into the project's.

Each run starts one cloud: `nova-sim run --port 0` (any free port on 127.0.0.1) with
`[api] auth_strategy = keystone` and the users of etc/nova-sim/tempest/accounts.yaml as
`[identity] users`, in a workspace directory (`.tempest` by default) that also holds
the tempest workspace, the generated tempest.conf (from
etc/nova-sim/tempest/tempest.conf.template), clouds.yaml for the sdk tests, and the logs
(`cloud.log`, `tempest-<suite>.log`, `sdk.log`). The cloud is stopped by its process id
(SIGTERM, then SIGKILL after 30 s) whatever happens. The closing line is
`conformance: N passed, N failed, N skipped` (summed over the suites run); the exit
status is 1 when a test of the `ci` suite failed or none ran.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import string
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPEST_DIR = ROOT / "etc" / "nova-sim" / "tempest"
CI_TESTS = TEMPEST_DIR / "ci-tests.txt"
FULL_REGEX = r"^tempest\.api\.compute\."
SDK_TESTS = ["openstack.tests.functional.compute.v2",
             "openstack.tests.functional.cloud.test_compute"]
START_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0


def accounts(path: Path = TEMPEST_DIR / "accounts.yaml") -> list[dict]:
    """The pre-provisioned accounts of tempest (username, project_name, roles/types)."""
    import yaml

    return yaml.safe_load(path.read_text())


def identity_users(entries: list[dict]) -> list[str]:
    """``[identity] users`` entries (``user:project:role``) for tempest's accounts."""
    users = []
    for entry in entries:
        roles = list(entry.get("roles") or []) + (
            ["admin"] if "admin" in (entry.get("types") or []) else [])
        for role in roles or ["member"]:
            users.append(f"{entry['username']}:{entry['project_name']}:{role}")
    return users


class Cloud:
    """One `nova-sim run` child process on a free port, with its output in a log file."""

    def __init__(self, workspace: Path):
        self.workspace = workspace
        self.process: subprocess.Popen | None = None
        self.root = ""
        self._log = None

    def start(self) -> str:
        """Start the cloud; returns its root URL (``http://127.0.0.1:<port>``) once the
        identity service answers. Raises RuntimeError when it does not come up."""
        conf = self.workspace / "nova-sim.conf"
        users = ", ".join(identity_users(accounts()))
        conf.write_text(
            "[DEFAULT]\n"
            f"state_path = {self.workspace / 'state'}\n"
            "[api]\nauth_strategy = keystone\n"
            # The suites boot many servers per project, some in parallel.
            "[quota]\ninstances = 50\ncores = 100\nram = 256000\n"
            f"[identity]\nusers = {users}\n")
        self._log = open(self.workspace / "cloud.log", "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "nova_sim.cmd.main", "--config-file", str(conf), "run",
             "--port", "0"],
            stdout=subprocess.PIPE, stderr=self._log, text=True, cwd=ROOT,
            start_new_session=True, env=dict(os.environ, PYTHONUNBUFFERED="1"))
        found: list[str] = []
        ready = threading.Event()

        def read() -> None:  # the banner names the port; the rest goes to the log
            assert self.process is not None and self.process.stdout is not None
            for line in self.process.stdout:
                self._log.write(line)
                self._log.flush()
                match = re.search(r"compute API\s+(http://\S+)/v2\.1", line)
                if match and not found:
                    found.append(match.group(1))
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(START_TIMEOUT) or not found:
            raise RuntimeError(f"nova-sim did not start: see {self.workspace / 'cloud.log'}")
        self.root = found[0]
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                with urllib.request.urlopen(self.root + "/identity/v3", timeout=5) as answer:
                    if answer.status == 200:
                        return self.root
            except OSError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"nova-sim did not answer: see {self.workspace / 'cloud.log'}")
            time.sleep(0.5)

    def stop(self) -> None:
        """SIGTERM the cloud by its process id; SIGKILL it when it has not stopped in
        ``STOP_TIMEOUT`` seconds."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not None:
            self._log.close()


def write_tempest_workspace(venv: Path, workspace: Path, root: str) -> Path:
    """A tempest workspace (``tempest init``) with tempest.conf for the cloud at ``root``."""
    from nova_sim import image
    from nova_sim.api import microversion, network

    path = workspace / "tempest"
    if not (path / ".stestr.conf").exists():
        # registered in a workspace file of its own: ~/.tempest/workspace.yaml is left
        # alone, and another checkout's workspace of the same name does not clash
        subprocess.run([str(venv / "bin" / "tempest"), "init", "--workspace-path",
                        str(workspace / "workspace.yaml"), str(path)], check=True,
                       stdout=subprocess.DEVNULL)
    (path / "locks").mkdir(exist_ok=True)
    template = string.Template((TEMPEST_DIR / "tempest.conf.template").read_text())
    (path / "etc" / "tempest.conf").write_text(template.substitute(
        root=root, accounts_file=TEMPEST_DIR / "accounts.yaml", lock_path=path / "locks",
        image_ref=image.CIRROS_IMAGE_ID, max_microversion=str(microversion.MAX_VERSION),
        public_network_id=network.PUBLIC["id"]))
    return path


_TOTALS = {"passed": r"- Passed: (\d+)", "failed": r"- Failed: (\d+)",
           "skipped": r"- Skipped: (\d+)"}


def run_tempest(venv: Path, path: Path, suite: str, concurrency: int,
                log: Path, regex: str | None = None) -> dict[str, int]:
    """Run the ``ci`` list, the ``full`` tempest.api.compute or (suite ``regex``) the
    tests ``regex`` selects; the counts, and the ids of the failed tests under
    ``failures``."""
    selection = (["--include-list", str(CI_TESTS)] if suite == "ci"
                 else ["--regex", regex or FULL_REGEX])
    env = dict(os.environ, TEMPEST_CONFIG_DIR=str(path / "etc"))
    with open(log, "w") as handle:
        subprocess.run([str(venv / "bin" / "tempest"), "run", "--concurrency",
                        str(concurrency), *selection], cwd=path, env=env, stdout=handle,
                       stderr=subprocess.STDOUT)
    text = log.read_text()
    counts = {name: int(m.group(1)) if (m := re.search(pattern, text)) else 0
              for name, pattern in _TOTALS.items()}
    failing = subprocess.run([str(venv / "bin" / "stestr"), "failing", "--list"], cwd=path,
                             env=env, capture_output=True, text=True).stdout
    counts["failures"] = sorted({line.split("[")[0] for line in failing.split()
                                 if line.startswith("tempest.")})
    return counts


def write_sdk_clouds(workspace: Path, root: str) -> Path:
    """clouds.yaml with the clouds openstacksdk's functional tests ask for (nova-sim's
    identity has no system scope: ``devstack-system-admin`` is the admin project's
    admin; ``floating_ip_source: None`` keeps the sdk from giving every server it boots a
    floating IP, which the tests do not ask for)."""
    entries = []
    for cloud, user in (("devstack", "demo"), ("devstack-alt", "alt_demo"),
                        ("devstack-admin", "admin"), ("devstack-system-admin", "admin")):
        entries.append(
            f"  {cloud}:\n    auth_type: password\n    auth:\n"
            f"      auth_url: {root}/identity\n      username: {user}\n"
            f"      password: nova-sim\n      project_name: {user}\n"
            "      user_domain_name: Default\n      project_domain_name: Default\n"
            "    region_name: RegionOne\n    identity_api_version: '3'\n"
            # no automatic floating IPs
            "    floating_ip_source: None\n")
    path = workspace / "clouds.yaml"
    path.write_text("clouds:\n" + "".join(entries))
    return path


def run_sdk(venv: Path, workspace: Path, root: str, log: Path) -> dict[str, int]:
    """openstacksdk's compute functional tests under pytest; the counts."""
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=str(write_sdk_clouds(workspace, root)),
               OPENSTACKSDK_FUNC_TEST_TIMEOUT="120")
    with open(log, "w") as handle:
        subprocess.run([str(venv / "bin" / "python"), "-m", "pytest", "-q", "-p",
                        "no:cacheprovider", "-rfEs", "--pyargs", *SDK_TESTS], cwd=workspace,
                       env=env, stdout=handle, stderr=subprocess.STDOUT)
    lines = [line for line in log.read_text().splitlines() if " in " in line and (
        "passed" in line or "failed" in line or "skipped" in line)]
    last = lines[-1] if lines else ""
    counts = {}
    for name in ("passed", "failed", "skipped"):
        match = re.search(rf"(\d+) {name}", last)
        counts[name] = int(match.group(1)) if match else 0
    errors = re.search(r"(\d+) errors?", last)
    counts["failed"] += int(errors.group(1)) if errors else 0
    counts["failures"] = sorted({line.split(" ")[1] for line in log.read_text().splitlines()
                                 if line.startswith(("FAILED ", "ERROR "))})
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", action="append", choices=["ci", "full", "sdk"],
                        help="what to run (repeatable; default: ci)")
    parser.add_argument("--regex", help="run only the tempest tests this selects")
    parser.add_argument("--concurrency", type=int, default=2,
                        help="tempest workers (default 2)")
    parser.add_argument("--venv", default=str(ROOT / ".venv-tempest"),
                        help="the virtualenv with tempest (and openstacksdk, pytest)")
    parser.add_argument("--workspace", default=str(ROOT / ".tempest"),
                        help="where the cloud's state, the tempest workspace and logs go")
    args = parser.parse_args(argv)
    suites = args.suite or (["regex"] if args.regex else ["ci"])
    venv, workspace = Path(args.venv).resolve(), Path(args.workspace).resolve()
    if (workspace / "state").exists():
        shutil.rmtree(workspace / "state")
    workspace.mkdir(parents=True, exist_ok=True)
    cloud = Cloud(workspace)
    totals = {"passed": 0, "failed": 0, "skipped": 0}
    failed_ci = False
    try:
        root = cloud.start()
        print(f"conformance: nova-sim at {root} (logs in {workspace})", flush=True)
        for suite in suites:
            started = time.monotonic()
            log = workspace / (f"tempest-{suite}.log" if suite != "sdk" else "sdk.log")
            if suite == "sdk":
                counts = run_sdk(venv, workspace, root, log)
            else:
                path = write_tempest_workspace(venv, workspace, root)
                counts = run_tempest(venv, path, suite, args.concurrency, log, args.regex)
            for name in totals:
                totals[name] += counts[name]
            ran = counts["passed"] + counts["failed"] + counts["skipped"]
            print(f"{suite}: {ran} ran, {counts['passed']} passed, {counts['failed']} "
                  f"failed, {counts['skipped']} skipped in "
                  f"{time.monotonic() - started:.0f} s (log: {log})", flush=True)
            for test in counts["failures"]:
                print(f"  FAILED {test}")
            if suite == "ci" and (counts["failed"] or not counts["passed"]):
                failed_ci = True
    finally:
        cloud.stop()
    print(f"conformance: {totals['passed']} passed, {totals['failed']} failed, "
          f"{totals['skipped']} skipped")
    return 1 if failed_ci else 0


if __name__ == "__main__":
    sys.exit(main())
