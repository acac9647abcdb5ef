"""tools/conformance.py's pieces that need no tempest: the accounts become the cloud's
users, the tempest.conf template fills, the CI list is well formed."""

from __future__ import annotations

import importlib.util
import pathlib
import re
import string
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("conformance", ROOT / "tools" / "conformance.py")
conformance = importlib.util.module_from_spec(_spec)
sys.modules["conformance"] = conformance
_spec.loader.exec_module(conformance)


def test_every_account_is_a_user_of_the_cloud_with_its_role():
    from nova_sim.api.identity.store import IdentityStore

    accounts = conformance.accounts()
    users = conformance.identity_users(accounts)
    store = IdentityStore(users, "nova-sim", 3600)
    for account in accounts:
        user = store.authenticate_password(store.find_user(account["username"]),
                                           account["password"])
        token = store.issue(user, store.find_project(account["project_name"]), ["password"])
        roles = store.role_names(token)
        wanted = account.get("roles") or ["admin"]
        assert set(wanted) <= set(roles), (account, roles)
    # Two workers lock two admin accounts and a member, reader and manager per project.
    assert sum("admin" in (a.get("types") or []) for a in accounts) >= 2


def test_the_template_fills_every_value():
    text = string.Template(conformance.TEMPEST_DIR.joinpath(
        "tempest.conf.template").read_text()).substitute(
        root="http://127.0.0.1:1", accounts_file="a.yaml", lock_path="/l",
        image_ref="i", max_microversion="2.100", public_network_id="n")
    assert "$" not in text
    assert "uri_v3 = http://127.0.0.1:1/identity/v3" in text
    assert "public_network_id = n" in text


def test_the_ci_list_is_regular_expressions_of_compute_tests():
    lines = [line for line in conformance.CI_TESTS.read_text().splitlines()
             if line and not line.startswith("#")]
    assert len(lines) > 100
    for line in lines:
        re.compile(line)
        assert line.startswith(r"tempest\.api\.compute\.")
