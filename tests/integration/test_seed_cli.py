"""`python -m skypanel`: demo data once, platform admins from the command line, and migrations that
go down to nothing and back up again.

Seeding and create-admin run in-process through skypanel.cli against the test database; the
migration round trip runs the real command in a subprocess against its own temporary database
(the session's test database is shared with every other test, so it is never downgraded).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from decimal import Decimal

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlmodel import SQLModel, select

import skypanel.backend.models  # noqa: F401  (registers every table in SQLModel.metadata)
from skypanel import cli
from skypanel.backend.config import PROJECT_ROOT
from skypanel.backend.db import session_scope
from skypanel.backend.models import ActivityLog, LedgerEntry, User
from skypanel.backend.services import auth, orgs, plans, wallet
from skypanel.backend.services.errors import ValidationError
from skypanel.backend.testdb import temporary_database

from .factories import PASSWORD, make_actor, make_user
from .test_bad_input import changed, snapshot


def _login(email: str, password: str) -> dict:
    return auth.login(email=email, password=password, ip=f"10.7.0.{uuid.uuid4().int % 250 + 1}", user_agent="pytest")


def _user(email: str) -> User | None:
    with session_scope() as s:
        return s.exec(select(User).where(User.email == email)).first()


def _actions(action: str) -> list[ActivityLog]:
    with session_scope() as s:
        return list(s.exec(select(ActivityLog).where(ActivityLog.action == action)).all())


# ---- seed-demo -------------------------------------------------------------------------

def test_seed_demo_creates_admin_and_funded_customer_once(db):
    assert cli.seed_demo() is True

    admin_user, customer = _user(cli.DEMO_ADMIN[0]), _user(cli.DEMO_CUSTOMER[0])
    assert admin_user is not None and customer is not None
    assert (admin_user.name, customer.name) == (cli.DEMO_ADMIN[1], cli.DEMO_CUSTOMER[1])
    assert admin_user.is_platform_admin is True and customer.is_platform_admin is False

    actor = make_actor(customer.id)
    org_id = str(customer.active_organization_id)
    assert [o["name"] for o in orgs.list_my_organizations(actor)] == ["Demo Company"]
    assert wallet.get_wallet(actor, org_id)["balance"] == "250.0000"
    rows, total = wallet.list_ledger(actor, org_id)
    assert total == 1 and rows[0]["amount"] == "250.0000" and rows[0]["balance_after"] == "250.0000"
    with session_scope() as s:
        assert s.exec(select(LedgerEntry)).all()[0].amount == Decimal("250.0000")  # the only ledger row anywhere
        assert len(s.exec(select(LedgerEntry)).all()) == 1
        assert wallet.invariant_violations(s) == []
    assert len(_actions("platform.demo_seeded")) == 1

    # both sign in with the documented demo password; the admin lands with admin rights
    for email in (cli.DEMO_ADMIN[0], cli.DEMO_CUSTOMER[0]):
        token = _login(email, cli.DEMO_PASSWORD)["session_token"]
        assert auth.resolve_session(token).user_id == _user(email).id
    admin_actor = auth.resolve_session(_login(cli.DEMO_ADMIN[0], cli.DEMO_PASSWORD)["session_token"])
    assert admin_actor.is_platform_admin is True
    assert auth.get_me(admin_actor)["is_platform_admin"] is True

    # a simulated cloud is ready to sell from: the customer is offered the four demo plans
    offered = plans.list_offered(actor, org_id)
    assert sorted(p["name"] for p in offered) == ["Medium", "Micro", "Nano", "Small"]
    assert {p["provider_kind"] for p in offered} == {"simulated"}

    before = snapshot()
    assert cli.seed_demo() is False  # second run: nothing to do, nothing changed
    assert changed(before, snapshot()) == set()


def test_seed_demo_reuses_an_existing_admin_account(db):
    cli.create_admin(cli.DEMO_ADMIN[0], "Already Here", "sturdy-lantern-42")
    assert cli.seed_demo() is True
    with session_scope() as s:
        admins = s.exec(select(User).where(User.email == cli.DEMO_ADMIN[0])).all()
    assert len(admins) == 1 and admins[0].name == "Already Here"  # not replaced, not duplicated
    assert "session_token" in _login(cli.DEMO_ADMIN[0], "sturdy-lantern-42")
    assert wallet.get_wallet(make_actor(_user(cli.DEMO_CUSTOMER[0]).id),
                             str(_user(cli.DEMO_CUSTOMER[0]).active_organization_id))["balance"] == "250.0000"


# ---- create-admin ----------------------------------------------------------------------

def test_create_admin_promotes_an_existing_user_without_touching_their_password(db):
    uid, _ = make_user("casey@example.com", "Casey Customer")
    orgs_before = orgs.list_my_organizations(make_actor(uid))

    cli.create_admin("  Casey@Example.com ", "Ignored Name", "a-different-password-1")

    user = _user("casey@example.com")
    assert user.is_platform_admin is True and user.name == "Casey Customer"
    assert "session_token" in _login("casey@example.com", PASSWORD)  # password unchanged
    assert orgs.list_my_organizations(make_actor(uid)) == orgs_before  # no new organization
    promoted = _actions("admin.promoted")
    assert len(promoted) == 1 and promoted[0].entity_id == str(uid)


def test_create_admin_creates_a_new_admin_with_an_organization(db):
    cli.create_admin("new-admin@example.com", "Nora Admin", "sturdy-lantern-42")

    user = _user("new-admin@example.com")
    assert user is not None and user.is_platform_admin is True and user.name == "Nora Admin"
    actor = make_actor(user.id)
    assert [o["name"] for o in orgs.list_my_organizations(actor)] == ["Nora Admin's organization"]
    assert wallet.get_wallet(actor, str(user.active_organization_id))["balance"] == "0.0000"
    assert auth.resolve_session(_login("new-admin@example.com", "sturdy-lantern-42")["session_token"]).is_platform_admin
    assert len(_actions("admin.created")) == 1


def test_create_admin_without_a_password_generates_one_that_works(db, capsys):
    password = cli.create_admin("gen-admin@example.com", "Gen Admin", None)
    assert len(password) >= 12
    assert f"Generated password: {password}" in capsys.readouterr().out
    assert "session_token" in _login("gen-admin@example.com", password)


@pytest.mark.parametrize("email, password", [
    pytest.param("not-an-email", "sturdy-lantern-42", id="bad_email"),
    pytest.param("", "sturdy-lantern-42", id="empty_email"),
    pytest.param("weak@example.com", "password123", id="common_password"),
    pytest.param("short@example.com", "short", id="short_password"),
])
def test_create_admin_bad_input_changes_nothing(db, email, password):
    before = snapshot()
    with pytest.raises(ValidationError) as err:
        cli.create_admin(email, "Bad Input", password)
    assert err.value.message
    assert changed(before, snapshot()) == set()


# ---- db upgrade / downgrade (subprocess, separate database) ------------------------------

MODEL_TABLES = set(SQLModel.metadata.tables)


def _run(url: str, data_dir, *args: str) -> str:
    env = {**os.environ, "DATABASE_URL": url, "DATA_DIR": str(data_dir), "SKYPANEL_ENV": "test",
           "BCRYPT_ROUNDS": "4"}
    proc = subprocess.run([sys.executable, "-m", "skypanel", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"{args}: {proc.stdout}\n{proc.stderr}"
    return proc.stdout


def _schema(url: str) -> tuple[set[str], str | None, set[str]]:
    """(public tables, alembic version, public functions) of the database at `url`."""
    eng = create_engine(url)
    try:
        with eng.connect() as c:
            tables = set(c.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars())
            version = (c.execute(text("SELECT version_num FROM alembic_version")).scalar()
                       if "alembic_version" in tables else None)
            functions = set(c.execute(text(
                "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE n.nspname = 'public'")).scalars())
        return tables, version, functions
    finally:
        eng.dispose()


def test_db_upgrade_downgrade_base_upgrade_round_trip_then_seed(tmp_path):
    head = ScriptDirectory.from_config(Config(str(PROJECT_ROOT / "alembic.ini"))).get_current_head()
    with temporary_database(prefix="skypanel_cli") as url:
        assert "upgraded to head" in _run(url, tmp_path, "db", "upgrade")  # already at head: a no-op
        tables, version, functions = _schema(url)
        assert MODEL_TABLES <= tables and version == head
        assert {"ledger_append_only", "wallet_matches_ledger"} <= functions

        assert "downgraded to base" in _run(url, tmp_path, "db", "downgrade", "base")
        tables, version, functions = _schema(url)
        assert tables <= {"alembic_version"} and version is None  # nothing of ours is left behind
        assert functions == set()

        _run(url, tmp_path, "db", "upgrade")
        tables, version, functions = _schema(url)
        assert MODEL_TABLES <= tables and version == head
        assert {"ledger_append_only", "wallet_matches_ledger"} <= functions

        # the freshly rebuilt schema takes the demo data, once
        assert "demo data created" in _run(url, tmp_path, "seed-demo")
        assert "already present" in _run(url, tmp_path, "seed-demo")
        eng = create_engine(url)
        try:
            with eng.connect() as c:
                assert c.execute(text("SELECT count(*) FROM users")).scalar() == 2
                assert c.execute(text("SELECT balance FROM wallets w JOIN users u "
                                      "ON u.active_organization_id = w.organization_id "
                                      "WHERE u.email = :e"), {"e": cli.DEMO_CUSTOMER[0]}).scalar() == Decimal("250")
        finally:
            eng.dispose()
