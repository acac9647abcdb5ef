"""Make the dashboard's screenshots in docs/ (docs/dashboard-PAGE.png, shown in
docs/dashboard.md): run the browser tests with ``NOVA_SIM_DASHBOARD_SCREENSHOTS=docs``,
so that each page is shot at the moment its test has checked what it shows.

Usage (from the repository root; needs what ``make test-browser`` needs)::

    .venv/bin/python tools/dashboard_screenshots.py
"""

from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main() -> int:
    environment = dict(os.environ, NOVA_SIM_DASHBOARD_SCREENSHOTS=os.path.join(ROOT, "docs"))
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-m", "browser",
                           "tests/browser"], cwd=ROOT, env=environment, check=False)
    if done.returncode == 0:
        shots = sorted(name for name in os.listdir(os.path.join(ROOT, "docs"))
                       if name.startswith("dashboard-") and name.endswith(".png"))
        print("screenshots: " + ", ".join(f"docs/{name}" for name in shots))
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
