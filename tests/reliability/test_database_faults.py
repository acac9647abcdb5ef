"""Database faults: the SQLite file of a running cloud deleted, then the API restarted.

The API never creates the schema, so it refuses to start on the empty file that takes
the old one's place (one line naming `nova-sim db sync`, exit status 1) instead of
serving an empty cloud of its own beside the services that still hold the old file
(split brain: 0 servers shown, boots accepted that never finish)."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

from nova_sim.deploy import new_conf, open_database

pytestmark = [pytest.mark.slow, pytest.mark.reliability]

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("deleted", ["file", "file-wal-shm"])
def test_an_api_restarted_on_a_deleted_sqlite_file_refuses_to_start(tmp_path, deleted):
    """``file``: only the database file is deleted (its -wal and -shm files stay, and
    SQLite cannot read the new file: an I/O error); ``file-wal-shm``: all three (the new
    file is empty: no schema)."""
    db_path = tmp_path / "nova-sim.db"
    config = tmp_path / "nova-sim.conf"
    config.write_text(
        "[DEFAULT]\nosapi_compute_listen_port = 0\ntransport_url = memory://\n"
        "service_start_timeout = 60\n"
        f"[database]\nconnection = sqlite:///{db_path}\n")
    conf = new_conf()
    conf([f"--config-file={config}"], project="nova-sim", default_config_files=[])
    db = open_database(conf)  # the cloud's database, with one server on it
    db.instance_create({"display_name": "vm", "project_id": "demo", "user_id": "demo",
                        "vm_state": "active"})
    assert db.instance_count({"project_id": "demo"}) == 1
    for suffix in ("", "-wal", "-shm") if deleted == "file-wal-shm" else ("",):
        os.unlink(f"{db_path}{suffix}")  # deleted under the running cloud
    env = dict(os.environ, HOME=str(tmp_path), XDG_STATE_HOME=str(tmp_path / "state"))
    restarted = subprocess.run(
        [sys.executable, "-m", "nova_sim.cmd.main", "--config-file", str(config), "api"],
        capture_output=True, text=True, timeout=120, cwd=str(REPO), env=env)
    assert restarted.returncode == 1, restarted.stderr
    assert "nova-sim: cannot start nova-api: " in restarted.stderr
    if deleted == "file-wal-shm":
        assert "has no nova-sim schema: run `nova-sim db sync`" in restarted.stderr
    assert "listening on" not in restarted.stderr  # it never served
    assert db.instance_count({"project_id": "demo"}) == 1  # the old file is untouched
    db.close()
