"""The hourly billing engine on real PostgreSQL: exactly once (two runners, a failing batch, a killed
worker process), monthly cap, price changes, catch-up, deleted servers, backups, one debit per
organization per run, and balance == sum(ledger) after every test."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlmodel import select

from skypanel.backend.config import PROJECT_ROOT
from skypanel.backend.db import get_engine, session_scope
from skypanel.backend.models import LedgerEntry, Plan, PlanPrice, ProviderAccount, Server, ServerCharge, Wallet
from skypanel.backend.models.base import utcnow
from skypanel.backend.services import billing, pricing, wallet
from skypanel.backend.services.errors import PermissionDenied
from skypanel.backend.services.servers import _charge_first_hour
from tests.integration.factories import make_user, personal_org

H0 = datetime(2026, 3, 10, 8, 0, tzinfo=timezone.utc)  # the hour test servers are created in


@pytest.fixture(autouse=True)
def _ledger_holds(db):
    yield
    with session_scope() as s:
        assert wallet.invariant_violations(s) == []


def _account() -> uuid.UUID:
    with session_scope() as s:
        acc = ProviderAccount(kind="simulated", name=f"Sim {uuid.uuid4().hex[:6]}", token_enc="x")
        s.add(acc)
        s.flush()
        return acc.id


def _plan(account_id, monthly="7.30", backup="1.46", *, since=H0 - timedelta(days=60)) -> uuid.UUID:
    """A plan of `monthly` a month (base + markup) with a price row in force since `since`."""
    base = Decimal(monthly) - Decimal("1")
    with session_scope() as s:
        plan = Plan(provider_account_id=account_id, provider_plan_id=f"p-{uuid.uuid4().hex[:6]}", name="Plan",
                    base_price=base, markup=Decimal("1"), backup_price=Decimal(backup))
        s.add(plan)
        s.flush()
        s.add(PlanPrice(plan_id=plan.id, base_price=base, markup=Decimal("1"), backup_price=Decimal(backup),
                        effective_from=since))
        return plan.id


def _org(email: str, funds: str = "100") -> tuple[uuid.UUID, object]:
    user_id, actor = make_user(email, email.split("@")[0].title())
    org = personal_org(user_id)
    with session_scope() as s:
        wallet._post(s, org, Decimal(funds), "topup", actor=None, description="test funds")
    return org, actor


def _server(org, actor, plan_id, *, created=H0, backups=False, label="web") -> uuid.UUID:
    """A running server created at `created`, its first hour charged as servers.create does."""
    with session_scope() as s:
        plan = s.get(Plan, plan_id)
        server = Server(organization_id=org, provider_account_id=plan.provider_account_id, provider_kind="simulated",
                        provider_instance_id=uuid.uuid4().hex[:12], plan_id=plan.id,
                        provider_plan_id=plan.provider_plan_id, label=label, status="running", region="r1",
                        image="debian", backups_enabled=backups, created_at=created)
        s.add(server)
        s.flush()
        _charge_first_hour(s, actor, server, plan, created)
        return server.id


def _charges(server_id) -> list[ServerCharge]:
    with session_scope() as s:
        return list(s.exec(select(ServerCharge).where(ServerCharge.server_id == server_id)
                           .order_by(ServerCharge.hour_start)).all())


def _charge_debits(org) -> list[LedgerEntry]:
    """Ledger debits written by billing runs (not the first hours charged at creation)."""
    with session_scope() as s:
        return list(s.exec(select(LedgerEntry).where(LedgerEntry.organization_id == org, LedgerEntry.kind == "charge",
                                                     LedgerEntry.reference.startswith("billing-run:"))
                           .order_by(LedgerEntry.id)).all())


def _balance(org) -> Decimal:
    with session_scope() as s:
        return s.exec(select(Wallet.balance).where(Wallet.organization_id == org)).one()


@pytest.fixture()
def plan(db):
    return _plan(_account())


def test_catch_up_after_five_missed_hours_then_a_second_run_bills_nothing(plan):
    org, actor = _org("ann@example.com")
    sid = _server(org, actor, plan)
    assert _balance(org) == Decimal("99.99")  # the first hour, at creation

    result = billing.run_hourly(now=H0 + timedelta(hours=5, minutes=7), trigger="test")
    assert not result.skipped and result.status == "ok"
    assert (result.hours_billed, result.servers, result.organizations) == (5, 1, 1)
    assert result.amount == Decimal("0.05")
    rows = _charges(sid)
    assert [r.hour_start for r in rows] == [H0 + timedelta(hours=i) for i in range(6)]
    assert all(r.amount == Decimal("0.01") for r in rows)
    debits = _charge_debits(org)
    assert len(debits) == 1 and debits[0].amount == Decimal("-0.05")
    assert all(r.ledger_entry_id == debits[0].id for r in rows[1:])
    assert _balance(org) == Decimal("99.94")

    again = billing.run_hourly(now=H0 + timedelta(hours=5, minutes=30), trigger="test")
    assert (again.hours_billed, again.organizations, again.amount) == (0, 0, Decimal(0))
    assert len(_charges(sid)) == 6 and len(_charge_debits(org)) == 1
    with session_scope() as s:
        runs = s.execute(text("SELECT status, hours_billed, organizations, amount FROM billing_runs ORDER BY id")).all()
    assert [tuple(r) for r in runs] == [("ok", 5, 1, Decimal("0.05")), ("ok", 0, 0, Decimal(0))]


def test_one_debit_per_organization_per_run_and_balance_may_go_negative(plan):
    org_a, actor_a = _org("a@example.com", funds="0.05")
    org_b, actor_b = _org("b@example.com")
    servers_a = [_server(org_a, actor_a, plan, label=f"a{i}") for i in range(3)]
    _server(org_b, actor_b, plan, label="b0")

    result = billing.run_hourly(now=H0 + timedelta(hours=4), trigger="test")
    assert (result.hours_billed, result.organizations) == (16, 2)
    debits_a, debits_b = _charge_debits(org_a), _charge_debits(org_b)
    assert [d.amount for d in debits_a] == [Decimal("-0.12")] and [d.amount for d in debits_b] == [Decimal("-0.04")]
    assert _balance(org_a) == Decimal("0.05") - Decimal("0.03") - Decimal("0.12")  # below zero: the hours were used
    assert debits_a[0].balance_after == _balance(org_a)
    for sid in servers_a:
        assert [c.ledger_entry_id for c in _charges(sid)[1:]] == [debits_a[0].id] * 4


def test_monthly_cap_charges_the_remainder_then_hours_are_free(db):
    plan_id = _plan(_account(), monthly="10", backup="0")  # 10 / 730 = 0.0137 an hour (rounded up)
    org, actor = _org("cap@example.com")
    jan = datetime(2026, 1, 1, tzinfo=timezone.utc)
    sid = _server(org, actor, plan_id, created=jan)

    result = billing.run_hourly(now=datetime(2026, 1, 31, 23, 40, tzinfo=timezone.utc), trigger="test")
    assert result.hours_billed == 743  # 744 hours in January, the first charged at creation
    rows = _charges(sid)
    amounts = [r.amount for r in rows]
    assert amounts[:729] == [Decimal("0.0137")] * 729
    assert amounts[729] == Decimal("10") - 729 * Decimal("0.0137")  # the hour that reaches the cap: the rest
    assert amounts[730:] == [Decimal(0)] * 14  # past the cap: free
    assert sum(amounts) == Decimal("10")

    feb = billing.run_hourly(now=datetime(2026, 2, 1, 0, 5, tzinfo=timezone.utc), trigger="test")
    assert feb.hours_billed == 1 and feb.amount == Decimal("0.0137")  # a new month starts a new cap
    assert _balance(org) == Decimal("100") - Decimal("10") - Decimal("0.0137")


def test_price_change_mid_month_applies_from_the_hour_it_took_effect(plan):
    org, actor = _org("price@example.com")
    sid = _server(org, actor, plan)
    with session_scope() as s:  # doubled from H0+3h (an admin changed it during H0+2h)
        s.add(PlanPrice(plan_id=plan, base_price=Decimal("13.60"), markup=Decimal("1"), backup_price=Decimal("1.46"),
                        effective_from=H0 + timedelta(hours=3)))
    billing.run_hourly(now=H0 + timedelta(hours=5), trigger="test")
    assert [c.amount for c in _charges(sid)] == [Decimal("0.01")] * 3 + [Decimal("0.02")] * 3


def test_backups_add_their_hourly_rate(plan):
    org, actor = _org("backup@example.com")
    sid = _server(org, actor, plan, backups=True)
    billing.run_hourly(now=H0 + timedelta(hours=2), trigger="test")
    rows = _charges(sid)
    assert [(r.plan_amount, r.backup_amount, r.amount) for r in rows[1:]] == \
        [(Decimal("0.01"), Decimal("0.002"), Decimal("0.012"))] * 2


def test_a_server_deleted_mid_month_is_billed_up_to_the_hour_it_was_deleted_in(plan):
    org, actor = _org("gone@example.com")
    sid = _server(org, actor, plan)
    with session_scope() as s:
        server = s.get(Server, sid)
        server.status, server.deleted_at = "deleted", H0 + timedelta(hours=2, minutes=30)
    billing.run_hourly(now=H0 + timedelta(hours=6), trigger="test")
    assert [c.hour_start for c in _charges(sid)] == [H0, H0 + timedelta(hours=1), H0 + timedelta(hours=2)]
    later = billing.run_hourly(now=H0 + timedelta(hours=30), trigger="test")
    assert later.hours_billed == 0 and len(_charges(sid)) == 3


def test_a_server_still_creating_or_failed_is_not_billed(plan):
    org, _ = _org("new@example.com")
    with session_scope() as s:
        plan_row = s.get(Plan, plan)
        s.add(Server(organization_id=org, provider_account_id=plan_row.provider_account_id, provider_kind="simulated",
                     plan_id=plan, provider_plan_id="x", label="pending", status="creating", region="r1", image="d"))
    result = billing.run_hourly(now=H0 + timedelta(hours=3), trigger="test")
    assert result.hours_billed == 0 and _balance(org) == Decimal("100")


def test_two_runners_started_together_bill_each_hour_once(plan):
    orgs = []
    for i in range(6):
        org, actor = _org(f"twin{i}@example.com")
        for j in range(5):
            _server(org, actor, plan, label=f"s{j}")
        orgs.append(org)
    barrier = threading.Barrier(2)
    results: list = []

    def runner():
        barrier.wait()
        results.append(billing.run_hourly(now=H0 + timedelta(hours=3), trigger="test", batch_servers=5))

    threads = [threading.Thread(target=runner) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(r.hours_billed for r in results) == 6 * 5 * 3
    assert sorted(r.hours_billed for r in results)[0] == 0  # the other one skipped or found nothing due
    with session_scope() as s:
        dupes = s.execute(text("SELECT count(*) FROM (SELECT server_id, hour_start FROM server_charges "
                               "GROUP BY 1, 2 HAVING count(*) > 1) d")).scalar_one()
        total = s.execute(text("SELECT count(*) FROM server_charges")).scalar_one()
    assert dupes == 0 and total == 6 * 5 * 4
    for org in orgs:
        assert [d.amount for d in _charge_debits(org)] == [Decimal("-0.15")]


def test_the_lock_makes_a_second_runner_skip(plan):
    with get_engine().connect() as other:
        other.execute(text("SELECT pg_advisory_lock(:k)"), {"k": billing.LOCK_KEY})
        assert billing.run_hourly(now=H0 + timedelta(hours=1), trigger="test").skipped
        other.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": billing.LOCK_KEY})
        other.commit()
    assert not billing.run_hourly(now=H0 + timedelta(hours=1), trigger="test").skipped


def _orgs_sorted(n: int, plan) -> list[uuid.UUID]:
    """n organizations with one server each, in the order the engine batches them (by id)."""
    out = []
    for i in range(n):
        org, actor = _org(f"batch{i}@example.com")
        _server(org, actor, plan, label=f"b{i}")
        out.append(org)
    return sorted(out)


def test_a_failing_batch_is_rolled_back_whole_and_the_next_run_finishes_the_rest(plan):
    orgs = _orgs_sorted(4, plan)
    broken = orgs[1]
    with session_scope() as s:  # the wallet at the bottom of NUMERIC(14,4): any further debit overflows
        bal = s.exec(select(Wallet.balance).where(Wallet.organization_id == broken)).one()
        for step in (-bal, -wallet.MAX_BALANCE):
            wallet._post(s, broken, step, "adjustment", actor=None, allow_overdraft=True,
                         description="test: down to the floor")

    first = billing.run_hourly(now=H0 + timedelta(hours=2), trigger="test", batch_servers=1)
    assert first.status == "failed" and first.batches_done == 3 and first.batches_failed == 1
    assert "out of range" in first.errors[0] or "overflow" in first.errors[0]
    assert [len(_charge_debits(o)) for o in orgs] == [1, 0, 1, 1]
    with session_scope() as s:
        per_org = dict(s.execute(text("SELECT organization_id, count(*) FROM server_charges GROUP BY 1")).all())
        run = s.execute(text("SELECT status, hours_billed, organizations, error FROM billing_runs")).one()
    assert [per_org[o] for o in orgs] == [3, 1, 3, 3]  # the failed batch left nothing behind
    assert (run.status, run.hours_billed, run.organizations) == ("failed", 6, 3) and run.error

    with session_scope() as s:
        wallet._post(s, broken, wallet.MAX_BALANCE, "adjustment", actor=None, description="test: fixed")
    second = billing.run_hourly(now=H0 + timedelta(hours=2), trigger="test", batch_servers=1)
    assert second.status == "ok" and second.hours_billed == 2 and second.organizations == 1
    assert [len(_charge_debits(o)) for o in orgs] == [1, 1, 1, 1]


def _cli_env(database_url: str) -> dict:
    return {**os.environ, "DATABASE_URL": database_url}


def test_a_killed_worker_process_leaves_whole_batches_and_the_next_run_finishes(plan, database_url):
    now = utcnow()
    created = pricing.hour_start(now) - timedelta(hours=2)
    orgs = []
    for i in range(4):
        org, actor = _org(f"kill{i}@example.com")
        _server(org, actor, plan, created=created, label=f"k{i}")
        orgs.append(org)
    orgs.sort()
    until = now.isoformat()

    holder = get_engine().connect()
    holder.execute(text("SELECT 1 FROM wallets WHERE organization_id = :o FOR UPDATE"), {"o": orgs[2]})
    proc = subprocess.Popen([sys.executable, "-m", "skypanel", "billing", "run", "--until", until,
                             "--batch-servers", "1"], cwd=PROJECT_ROOT, env=_cli_env(database_url),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:  # two batches committed, the third waiting for the wallet we hold
            with session_scope() as s:
                done = s.execute(text("SELECT batches_done FROM billing_runs WHERE status = 'running'")).scalar()
                waiting = s.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                         "AND query LIKE '%FOR UPDATE OF w%'")).scalar_one()
            if done == 2 and waiting:
                break
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the run did not reach the third batch"
            time.sleep(0.1)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        holder.rollback()
        holder.close()

    assert [len(_charge_debits(o)) for o in orgs] == [1, 1, 0, 0]
    deadline = time.monotonic() + 30
    while True:  # the dead run's connection goes away and with it the lock
        result = billing.run_hourly(now=datetime.fromisoformat(until), trigger="test", batch_servers=1)
        if not result.skipped:
            break
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert result.status == "ok" and result.hours_billed == 4 and result.organizations == 2
    assert [len(_charge_debits(o)) for o in orgs] == [1, 1, 1, 1]
    with session_scope() as s:
        counts = s.execute(text("SELECT count(*), count(DISTINCT (server_id, hour_start)) FROM server_charges")).one()
        statuses = s.execute(text("SELECT status FROM billing_runs ORDER BY id")).scalars().all()
    assert counts[0] == counts[1] == 12
    assert statuses == ["interrupted", "ok"]


def test_cli_refuses_a_time_in_the_future(db, database_url):
    future = (utcnow() + timedelta(hours=3)).isoformat()
    out = subprocess.run([sys.executable, "-m", "skypanel", "billing", "run", "--until", future], cwd=PROJECT_ROOT,
                         env=_cli_env(database_url), capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "future" in out.stderr


def test_hourly_burn_sums_current_rates_of_live_servers(plan):
    org, actor = _org("burn@example.com")
    now_hour = pricing.hour_start(utcnow())
    _server(org, actor, plan, created=now_hour, label="one")
    _server(org, actor, plan, created=now_hour, backups=True, label="two")
    gone = _server(org, actor, plan, created=now_hour, label="gone")
    with session_scope() as s:
        server = s.get(Server, gone)
        server.status, server.deleted_at = "deleted", utcnow()
        assert billing.hourly_burn(s, org) == Decimal("0.022")


def test_health_panel_is_for_platform_admins_only(plan):
    _, admin = make_user("root@example.com", admin=True)
    _, customer = _org("cust@example.com")
    with pytest.raises(PermissionDenied):
        billing.admin_health(customer)
    with pytest.raises(PermissionDenied):
        billing.admin_run_now(customer)
    result = billing.admin_run_now(admin)
    assert not result.skipped and result.status == "ok"
    health = billing.admin_health(admin)
    assert health["last"]["trigger"] == "admin" and health["last"]["status"] == "ok"


async def test_admin_billing_page_state_runs_now_and_refuses_customers(plan):
    from skypanel.backend.services import auth
    from skypanel.state.admin_billing import AdminBillingState
    from skypanel.state.session import SessionState

    from .factories import PASSWORD
    from .reflex_client import Client, register_pages

    register_pages()
    make_user("root@billing-ui.test", "Rita Root", admin=True)
    org, actor = _org("cust@billing-ui.test")
    _server(org, actor, plan, created=pricing.hour_start(utcnow()) - timedelta(hours=2))
    tokens = {who: auth.login(email=email, password=PASSWORD, ip=ip, user_agent="pytest-state-client")["session_token"]
              for who, email, ip in (("admin", "root@billing-ui.test", "10.62.0.1"),
                                     ("customer", "cust@billing-ui.test", "10.62.0.2"))}

    customer = Client(tokens["customer"], ip="10.62.0.2")
    await customer.open("/admin/billing", "/admin/billing")
    await customer.call(SessionState, "require_admin")
    sent = await customer.call(AdminBillingState, "run_now")
    assert "platform administrators" in sent
    assert _charge_debits(org) == []  # nothing ran
    assert (await customer.root.get_state(AdminBillingState)).runs == []

    admin = Client(tokens["admin"], ip="10.62.0.1")
    await admin.open("/admin/billing", "/admin/billing")
    await admin.call(SessionState, "require_admin")
    await admin.call(AdminBillingState, "load")
    assert (await admin.root.get_state(AdminBillingState)).runs == []
    sent = await admin.call(AdminBillingState, "run_now")
    assert "Billing run finished: 2 server-hours" in sent
    st = await admin.root.get_state(AdminBillingState)
    assert not st.running and st.last["trigger"] == "admin" and st.last["hours_billed"] == 2
    assert [d.amount for d in _charge_debits(org)] == [Decimal("-0.02")]
