"""Runway and dunning on real PostgreSQL with the built-in simulated provider (instant changes):
alerts once per crossing and re-armed by a top-up, suspension only after the grace period and
never during a hold, servers powered off at the provider and refused power actions with the
amount to add, deletion still possible, resume_if_paid powering them on again, termination off by
default, the overview's figures and tenancy. The clock is moved by passing `now`; the wallet
invariant (balance == sum(ledger)) is checked after every test."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlmodel import col, select

from skypanel.backend.config import get_settings
from skypanel.backend.db import session_scope
from skypanel.backend.models import ActivityLog, DunningState, EmailMessage, Server, ServerCharge
from skypanel.backend.models.base import utcnow
from skypanel.backend.models.simulated import SimulatedInstance
from skypanel.backend.services import (
    billing, catalog, dunning, platform_settings, plans, provider_accounts, server_sync, servers, wallet,
)
from skypanel.backend.services.context import Actor
from skypanel.backend.services.errors import Conflict, NotFound

from .factories import PASSWORD, add_member, make_user, personal_org

ROOT = "Dunning-Root-Secret-77"


@pytest.fixture()
def instant_provider(monkeypatch):
    monkeypatch.setattr(get_settings(), "simulated_delay_scale", 0.0)


@pytest.fixture(autouse=True)
def _ledger_invariant(request):
    yield
    if "db" in request.fixturenames or "world" in request.fixturenames:
        with session_scope() as s:
            assert wallet.invariant_violations(s) == []


def _post(org, amount: str, kind: str = "topup") -> None:
    with session_scope() as s:
        wallet._post(s, org, Decimal(amount), kind, actor=Actor.system(), description="test", allow_overdraft=True)


@pytest.fixture()
async def world(db, instant_provider):
    _, admin = make_user("root@skypanel.example.com", "Rita Root", admin=True)
    account = provider_accounts.add_account(admin, kind="simulated", name="Simulated", token="")
    provider_accounts.update_account(admin, account["id"], allowed_regions=[{"id": "sim-nyc", "label": "New York"}])
    await catalog.refresh(account["id"])
    # Plan at 7.30/month -> 0.01/hour: runway arithmetic stays readable.
    plan = plans.create_plan(admin, provider_account_id=account["id"], provider_plan_id="sim-1c-1g", name="Starter",
                             category="standard", markup="2.30", backup_price="0", regions=["sim-nyc"])["id"]
    owner_id, owner = make_user("owner@aurora.example.com", "Olive Owner", org_name="Aurora")
    org = personal_org(owner_id)
    _post(org, "10")
    made = []
    for label in ("web-1", "web-2"):
        created = await servers.create_server(owner, str(org), plan_id=plan, region="sim-nyc", image="debian-12",
                                              label=label, root_password=ROOT, delay_scale=0)
        made.append(created["id"])
    await server_sync.sync_all(force=True)
    return {"admin": admin, "owner": owner, "owner_id": owner_id, "org": org, "servers": made, "plan": plan}


def _balance(org) -> Decimal:
    return Decimal(wallet.get_wallet(Actor.system(), org)["balance"])


def _emails(template: str | None = None) -> list[EmailMessage]:
    with session_scope() as s:
        stmt = select(EmailMessage).order_by(col(EmailMessage.created_at))
        if template:
            stmt = stmt.where(EmailMessage.template == template)
        return list(s.exec(stmt).all())


def _subjects() -> list[str]:
    return [m.subject for m in _emails()]


def _set_balance(org, target: str) -> None:
    """Move the wallet to `target` with one ledger row (as billing or a top-up would)."""
    delta = Decimal(target) - _balance(org)
    if delta:
        _post(org, str(delta), "charge" if delta < 0 else "topup")


def _server_rows(ids) -> list[Server]:
    with session_scope() as s:
        return [s.get(Server, uuid.UUID(i)) for i in ids]


def _provider_status(server: Server) -> str:
    with session_scope() as s:
        return s.get(SimulatedInstance, int(server.provider_instance_id)).status


# ---- pure arithmetic --------------------------------------------------------------------

def test_runway_words_and_amounts():
    assert dunning.runway_words(Decimal("10"), Decimal("0")) == "no servers are running"
    assert dunning.runway_words(Decimal("-1"), Decimal("0.02")) == "is used up"
    # 7.64 / 0.1 = 76.4 h = 3 days 4 hours 24 minutes
    assert dunning.runway_words(Decimal("7.64"), Decimal("0.1")) == "lasts about 3 days 4 hours"
    assert dunning.runway_words(Decimal("4.80"), Decimal("0.1")) == "lasts about 2 days"
    assert dunning.runway_words(Decimal("0.25"), Decimal("0.1")) == "lasts about 2 hours 30 minutes"
    assert dunning.runway_words(Decimal("0.1"), Decimal("0.1")) == "lasts about 1 hour"
    assert dunning.runway_words(Decimal("0.0075"), Decimal("0.01")) == "lasts about 45 minutes"
    assert dunning.runway_hours(Decimal("7.64"), Decimal("0.1")) == Decimal("76.4")
    assert dunning.amount_to_add(Decimal("-12.3901")) == Decimal("12.40")
    assert dunning.amount_to_add(Decimal("-12.40")) == Decimal("12.40")
    assert dunning.amount_to_add(Decimal("0")) == Decimal(0)


def test_forecast_caps_each_server_at_its_monthly_price():
    hours_left = 100
    spent = {"a": Decimal("2.00"), "b": Decimal("7.00"), "gone": Decimal("1.2345")}
    rates = {"a": (Decimal("0.0100"), Decimal("7.30")), "b": (Decimal("0.0100"), Decimal("7.30")),
             "new": (Decimal("0.0500"), Decimal("36.50"))}
    # a: 2 + 1 = 3; b: 7 + 1 capped at 7.30; new: 0 + 5 = 5; gone: what it spent
    assert dunning.forecast(spent, rates, hours_left) == Decimal("16.5345")
    assert dunning.forecast({"x": Decimal("9")}, {"x": (Decimal("0.01"), Decimal("7.30"))}, 10) == Decimal("9")
    # Hours left: Nov 2026 has 30 days; at 2026-11-30 22:15 one whole hour (23:00) remains.
    assert dunning.hours_left_in_month(datetime(2026, 11, 30, 22, 15, tzinfo=timezone.utc)) == 1
    assert dunning.hours_left_in_month(datetime(2026, 11, 1, 0, 0, tzinfo=timezone.utc)) == 719


def test_alerts_due_sends_the_most_urgent_new_crossing_only():
    burn = Decimal("0.02")
    fired, send = dunning.alerts_due(Decimal("1.40"), burn, [])  # 70 h
    assert (fired, send) == (["72h"], "72h")
    assert dunning.alerts_due(Decimal("1.30"), burn, fired) == (["72h"], None)
    fired, send = dunning.alerts_due(Decimal("-0.5"), burn, fired)  # straight past 24 h and 1 h
    assert (fired, send) == (["72h", "24h", "1h", "negative"], "negative")
    assert dunning.alerts_due(Decimal("50"), burn, fired + ["suspended"]) == (["suspended"], None)


# ---- alerts -----------------------------------------------------------------------------

async def test_each_runway_alert_is_sent_once_per_crossing_and_re_armed_by_a_top_up(world):
    org = world["org"]
    burn = Decimal("0.02")  # two servers at 0.01/h
    with session_scope() as s:
        assert billing.hourly_burn(s, org) == burn
    await dunning.run()
    assert _emails() == []  # 10 - 0.02 = 9.98 lasts ~499 h

    _set_balance(org, "1.40")  # 70 h
    await dunning.run()
    await dunning.run()
    low = _emails("runway_low")
    assert len(low) == 1 and "lasts about 2 days 22 hours" in low[0].subject
    assert low[0].to_email == "owner@aurora.example.com" and "/billing" in low[0].text_body

    _set_balance(org, "0.40")  # 20 h
    await dunning.run()
    _set_balance(org, "0.01")  # 30 min
    await dunning.run()
    await dunning.run()
    subjects = _subjects()
    assert len(subjects) == 3
    assert "lasts about 20 hours" in subjects[1] and "lasts about 30 minutes" in subjects[2]

    _set_balance(org, "20")  # top-up: every crossing re-arms
    await dunning.run()
    with session_scope() as s:
        assert s.get(DunningState, org).fired == []
    _set_balance(org, "1.00")  # 50 h: the 72 h alert again
    await dunning.run()
    assert len(_emails("runway_low")) == 4
    with session_scope() as s:
        kinds = [a.action for a in s.exec(select(ActivityLog).where(ActivityLog.action.startswith("billing.alert_"))
                                          .order_by(col(ActivityLog.created_at))).all()]
    assert kinds == ["billing.alert_72h", "billing.alert_24h", "billing.alert_1h", "billing.alert_72h"]


async def test_negative_balance_alert_once_with_the_amount_and_the_deadline(world):
    org = world["org"]
    _set_balance(org, "-3.105")
    await dunning.run()
    await dunning.run()
    neg = _emails("balance_negative")
    assert len(neg) == 1 and len(_emails()) == 1  # the most urgent crossing only, not 72h/24h/1h too
    assert "-$3.105" in neg[0].text_body.replace("-$3.1050", "-$3.105") and "$3.11" in neg[0].text_body
    info = dunning.banner(world["owner"], org)
    assert info["level"] == "red" and "Add at least $3.11" in info["message"]


# ---- suspension -------------------------------------------------------------------------

async def test_suspension_only_after_the_grace_period_then_resume_on_top_up(world):
    org, ids = world["org"], world["servers"]
    _set_balance(org, "-12.3901")
    now = utcnow()
    await dunning.run(now=now + timedelta(hours=23))
    assert not any(r.suspended_at for r in _server_rows(ids))
    assert all(r.status == "running" for r in _server_rows(ids))

    counts = await dunning.run(now=now + timedelta(hours=24, minutes=5))
    assert counts["suspended"] == 1
    rows = _server_rows(ids)
    assert all(r.suspended_at and r.resume_power_on for r in rows)
    assert all(_provider_status(r) == "offline" for r in rows)  # powered off at the provider
    assert len(_emails("servers_suspended")) == 1 and "$12.40" in _emails("servers_suspended")[0].text_body
    await server_sync.sync_all(force=True)
    assert all(r.status == "offline" for r in _server_rows(ids))

    # Power actions are refused with the amount to add; the page shows the suspension.
    for call in (lambda: servers.power(world["owner"], str(org), ids[0], "boot"),
                 lambda: servers.rebuild(world["owner"], str(org), ids[0], image="debian-12", root_password=ROOT),
                 lambda: servers.resize(world["owner"], str(org), ids[0], plan_id=world["plan"])):
        with pytest.raises(Conflict, match=r"Add \$12\.40 to resume your servers"):
            await call()
    detail = servers.get_server(world["owner"], str(org), ids[0])
    assert detail["suspended"] and "Add $12.40" in detail["suspended_message"]
    assert "suspended" in dunning.banner(world["owner"], org)["message"]

    # Not enough: still suspended.
    _post(org, "12.00")
    assert await dunning.resume_if_paid(org) is False
    # Enough: resumed and powered on at once.
    _post(org, "0.40")
    assert _balance(org) >= 0
    assert await dunning.resume_if_paid(org) is True
    rows = _server_rows(ids)
    assert not any(r.suspended_at for r in rows)
    assert all(_provider_status(r) == "running" for r in rows)
    assert dunning.banner(world["owner"], org) is None or dunning.banner(world["owner"], org)["level"] == "amber"
    await server_sync.sync_all(force=True)
    await dunning.run()
    assert not any(r.resume_power_on for r in _server_rows(ids))
    await servers.power(world["owner"], str(org), ids[0], "shutdown")  # power actions work again
    with session_scope() as s:
        actions = {a.action for a in s.exec(select(ActivityLog).where(ActivityLog.organization_id == org)).all()}
    assert {"billing.suspended", "vps.suspended", "vps.billing_shutdown", "billing.resumed", "vps.unsuspended",
            "vps.billing_boot"} <= actions


async def test_a_server_that_was_off_stays_off_after_resume_and_deletion_works_while_suspended(world):
    org, ids = world["org"], world["servers"]
    await servers.power(world["owner"], str(org), ids[1], "shutdown")
    await server_sync.sync_all(force=True)
    _set_balance(org, "-1")
    await dunning.run(now=utcnow() + timedelta(hours=25))
    a, b = _server_rows(ids)
    assert a.suspended_at and a.resume_power_on and b.suspended_at and not b.resume_power_on

    await servers.delete_server(world["owner"], str(org), ids[0], confirm_label="web-1", password=PASSWORD)
    assert _server_rows(ids)[0].deleted_at is not None

    _post(org, "5")
    await dunning.run()  # the job resumes too
    await server_sync.sync_all(force=True)
    assert _server_rows(ids)[1].status == "offline" and _server_rows(ids)[1].suspended_at is None


async def test_no_suspension_during_a_hold_and_a_hold_resumes_a_suspended_organization(world):
    org, ids, admin = world["org"], world["servers"], world["admin"]
    _set_balance(org, "-2")
    until = (utcnow() + timedelta(days=3)).date().isoformat()
    await dunning.place_hold(admin, org, until=until, reason="Customer is wiring funds")
    rows = dunning.admin_list(admin)
    assert [(r["name"], r["status"]) for r in rows] == [("Aurora", "hold")]
    await dunning.run(now=utcnow() + timedelta(hours=30))
    assert not any(r.suspended_at for r in _server_rows(ids))
    dunning.lift_hold(admin, org)
    await dunning.run(now=utcnow() + timedelta(hours=30))
    assert all(r.suspended_at for r in _server_rows(ids))
    assert dunning.admin_list(admin)[0]["status"] == "suspended"

    result = await dunning.place_hold(admin, org, until=until, reason="Goodwill")
    assert result["resumed"] and not any(r.suspended_at for r in _server_rows(ids))
    with session_scope() as s:
        actions = [a.action for a in s.exec(select(ActivityLog).where(ActivityLog.action.startswith("billing.hold"))).all()]
    assert sorted(actions) == ["billing.hold_lifted", "billing.hold_placed", "billing.hold_placed"]
    with pytest.raises(Exception):
        await dunning.place_hold(world["owner"], org, until=until, reason="not an admin")


async def test_termination_is_off_by_default_and_deletes_when_set(world):
    org, ids, admin = world["org"], world["servers"], world["admin"]
    _set_balance(org, "-1")
    t0 = utcnow()
    await dunning.run(now=t0 + timedelta(hours=25))
    await dunning.run(now=t0 + timedelta(days=400))
    assert all(r.deleted_at is None for r in _server_rows(ids))

    platform_settings.set_value(admin, "termination_after_days", 7)
    await dunning.run(now=t0 + timedelta(days=5))
    assert all(r.deleted_at is None for r in _server_rows(ids))
    await dunning.run(now=t0 + timedelta(days=9))
    rows = _server_rows(ids)
    assert all(r.deleted_at is not None and r.status == "deleted" for r in rows)
    with session_scope() as s:
        assert all(s.get(SimulatedInstance, int(r.provider_instance_id)).deleted_at is not None for r in rows)
        assert s.exec(select(ActivityLog).where(ActivityLog.action == "vps.terminated")).all()


# ---- overview ---------------------------------------------------------------------------

async def test_overview_figures_and_tenancy(world):
    org, owner = world["org"], world["owner"]
    data = dunning.overview(owner, org)
    assert data["burn"] == "0.0200" and data["balance"] == "9.9800"
    assert data["runway_words"] == "lasts about 20 days 19 hours"  # 499 h
    assert data["month_to_date"] == "0.0200"  # the two first hours
    assert len(data["chart"]) == 30 and data["chart"][-1]["amount"] == "0.0200"
    assert sorted(r["label"] for r in data["per_server"]) == ["web-1", "web-2"]
    left = dunning.hours_left_in_month(utcnow())
    assert Decimal(data["forecast"]) == min(Decimal("0.01") + Decimal("0.01") * left, Decimal("7.30")) * 2

    outsider_id, outsider = make_user("mallory@else.example.com", "Mallory")
    with pytest.raises(NotFound):
        dunning.overview(outsider, org)
    assert dunning.banner(outsider, org) is None
    viewer_id, viewer = make_user("vera@aurora.example.com", "Vera")
    add_member(org, viewer_id, "vps_manager")
    from skypanel.backend.services.errors import PermissionDenied
    with pytest.raises(PermissionDenied):
        dunning.overview(viewer, org)


async def test_no_servers_means_no_runway_alerts(db):
    owner_id, owner = make_user("solo@example.com", "Solo")
    org = personal_org(owner_id)
    _post(org, "1")
    await dunning.run()
    assert _emails() == []
    assert dunning.overview(owner, org)["runway_words"] == "no servers are running"


# ---- through the page states (reflex_client) -------------------------------------------

async def test_billing_page_and_banner_through_the_states(world):
    from skypanel.backend.services import auth
    from skypanel.state.admin_suspensions import AdminSuspensionsState
    from skypanel.state.billing import BillingState
    from skypanel.state.session import SessionState

    from .reflex_client import Client, register_pages
    register_pages()
    org = world["org"]
    token = auth.login(email="owner@aurora.example.com", password=PASSWORD, ip="10.1.0.1",
                       user_agent="pytest-state-client")["session_token"]
    tab = Client(token, ip="10.1.0.1")
    await tab.open("/billing", "/billing")
    await tab.call(SessionState, "require_login")
    await tab.call(BillingState, "load")
    page = await tab.root.get_state(BillingState)
    assert page.burn == "$0.02/h" and page.runway == "lasts about 20 days 19 hours"
    assert len(page.chart) == 30 and len(page.per_server) == 2 and page.suspension_text == ""
    assert (await tab.root.get_state(SessionState)).billing_alert == ""

    _set_balance(org, "-1")
    await dunning.run(now=utcnow() + timedelta(hours=25))
    await tab.call(SessionState, "require_login")
    shell = await tab.root.get_state(SessionState)
    assert shell.billing_alert_level == "red" and "Add $1.00 to resume your servers" in shell.billing_alert
    await tab.call(BillingState, "load")
    page = await tab.root.get_state(BillingState)
    assert "Add $1.00 to resume your servers" in page.suspension_text
    assert {r["state"] for r in page.per_server} == {"Suspended"}

    # Another organization's owner sees only their own (empty) billing, never Aurora's.
    make_user("mallory@else.example.com", "Mallory", org_name="Else")
    bad = auth.login(email="mallory@else.example.com", password=PASSWORD, ip="10.1.0.2",
                     user_agent="pytest-state-client")["session_token"]
    other = Client(bad, ip="10.1.0.2")
    await other.open("/billing", "/billing")
    await other.call(SessionState, "require_login")
    sent = await other.call(BillingState, "load")
    assert "web-1" not in sent and "Aurora" not in sent and "-$1.00" not in sent
    sent = await other.call(AdminSuspensionsState, "load")
    assert "Aurora" not in sent

    admin_token = auth.login(email="root@skypanel.example.com", password=PASSWORD, ip="10.1.0.3",
                             user_agent="pytest-state-client")["session_token"]
    adm = Client(admin_token, ip="10.1.0.3")
    await adm.open("/admin/suspensions", "/admin/suspensions")
    await adm.call(SessionState, "require_admin")
    await adm.call(AdminSuspensionsState, "load")
    rows = (await adm.root.get_state(AdminSuspensionsState)).rows
    assert [(r["name"], r["status_label"]) for r in rows] == [("Aurora", "Suspended")]
    await adm.call(AdminSuspensionsState, "open_hold", org_id=str(org), name="Aurora")
    until = (utcnow() + timedelta(days=2)).date().isoformat()
    await adm.call(AdminSuspensionsState, "place_hold", form_data={"until": until, "reason": "Paying by wire"})
    rows = (await adm.root.get_state(AdminSuspensionsState)).rows
    assert rows[0]["status_label"] == "On hold" and not any(r.suspended_at for r in _server_rows(world["servers"]))
