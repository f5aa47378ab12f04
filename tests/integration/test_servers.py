"""Servers: create / run / delete through the real Linode client over HTTP against the Linode
stand-in, on real PostgreSQL. Money rules (first hour charged once, nothing charged when the
provider refuses, no orphans when our write fails), tenancy, permissions and the sync job."""

from __future__ import annotations

import asyncio
import time
import uuid
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import select

from skypanel.backend.db import session_scope
from skypanel.backend.models import (
    ActivityLog, LedgerEntry, OrphanServer, Plan, PlanPrice, ProviderAccount, Server, ServerCharge, Wallet,
)
from skypanel.backend.models.base import utcnow
from skypanel.backend.providers.standins.linode_api import LinodeStandIn
from skypanel.backend.services import catalog, orgs, pricing, provider_accounts, server_sync, servers, wallet
from skypanel.backend.services.errors import (
    Conflict, InsufficientFunds, NotFound, PermissionDenied, ServiceError, ValidationError,
)
from tests.contract.server import serve
from tests.integration.factories import PASSWORD, add_member, make_user, personal_org

TOKEN = "lin-tok-servers-0123456789"
ROOT = "Corr3ct-Horse-Battery"
FAST = {"max_attempts": 1, "timeout": httpx.Timeout(connect=2, read=1.0, write=2, pool=2)}


@pytest.fixture(scope="module")
def standin():
    # Each transitional status lasts half a second: long enough for the sync (polled every 0.1 s)
    # to see an action under way even on a busy machine (Linode has no action ids to poll).
    state = LinodeStandIn(tokens={TOKEN}, step=0.5)
    with serve(state.app(), ready_path="/v4/regions") as url:
        state.url = url
        yield state


@pytest.fixture()
async def world(db, standin):
    standin._faults.clear()
    standin.linodes.clear()
    admin = make_user("admin@example.com", admin=True)[1]
    owner_id, owner = make_user("owner@example.com", "Owner")
    org = personal_org(owner_id)
    account = provider_accounts.add_account(admin, kind="linode", name="Linode", token=TOKEN,
                                            base_url=standin.url + "/v4")
    provider_accounts.update_account(admin, account["id"], allowed_regions=[
        {"id": "us-east", "label": "New York"}, {"id": "eu-west", "label": "London"}])
    await catalog.refresh(account["id"])
    with session_scope() as s:
        plans = []
        for pid, name, base, markup in (("g6-nanode-1", "Starter", "5", "2.30"),
                                        ("g6-standard-1", "Basic", "12", "3"),
                                        ("g6-standard-2", "Plus", "24", "6")):
            plan = Plan(provider_account_id=uuid.UUID(account["id"]), provider_plan_id=pid, name=name,
                        vcpus=1, memory_mb=1024, disk_gb=25, transfer_gb=1000, base_price=Decimal(base),
                        markup=Decimal(markup), backup_price=Decimal("2"), regions=["us-east", "eu-west"])
            s.add(plan)
            s.flush()
            s.add(PlanPrice(plan_id=plan.id, base_price=plan.base_price, markup=plan.markup,
                            backup_price=plan.backup_price, effective_from=pricing.hour_start(utcnow())))
            plans.append(str(plan.id))
        wallet._post(s, org, Decimal("100"), "topup", actor=None, description="test funds")
    return {"admin": admin, "owner": owner, "owner_id": owner_id, "org": org, "account": account["id"],
            "plans": plans}


def _order(w, **kw):
    args = dict(plan_id=w["plans"][0], region="us-east", image="linode/debian12", label="web-1",
                root_password=ROOT, ssh_key_ids=[], backups=False)
    args.update(kw)
    return args


def _ledger(org) -> list[LedgerEntry]:
    with session_scope() as s:
        return list(s.exec(select(LedgerEntry).where(LedgerEntry.organization_id == org)
                           .order_by(LedgerEntry.id)).all())


def _balance(org) -> Decimal:
    with session_scope() as s:
        return s.exec(select(Wallet.balance).where(Wallet.organization_id == org)).one()


async def _create(w, **kw) -> dict:
    return await servers.create_server(w["owner"], w["org"], **_order(w, **kw), **FAST)


# ---- create ------------------------------------------------------------------------------

async def test_create_charges_the_first_hour_once_and_records_the_provider_id(world, standin):
    w = world
    created = await _create(w)
    assert created["status"] == "provisioning" and created["label"] == "web-1"
    hourly = pricing.hourly(Decimal("7.30"))
    assert hourly == Decimal("0.0100")
    with session_scope() as s:
        row = s.get(Server, uuid.UUID(created["id"]))
        assert row.provider_instance_id and int(row.provider_instance_id) in standin.linodes
        assert row.root_password_enc and ROOT not in row.root_password_enc
        charges = s.exec(select(ServerCharge).where(ServerCharge.server_id == row.id)).all()
        assert [c.amount for c in charges] == [hourly]
        assert charges[0].hour_start == pricing.hour_start(row.created_at)
    # The provider got our tags and a label unique within the shared Linode account.
    rec = standin.linodes[int(row.provider_instance_id)]
    assert "skypanel" in rec.tags and f"skypanel-{row.id.hex}" in rec.tags
    assert rec.label.startswith("web-1-")
    ledger = _ledger(w["org"])
    assert [e.amount for e in ledger] == [Decimal("100"), -hourly]
    assert ledger[-1].kind == "charge"
    assert _balance(w["org"]) == Decimal("100") - hourly
    assert ROOT not in repr(created)


async def test_backups_add_their_hourly_rate_to_the_first_hour(world):
    created = await _create(world, backups=True)
    with session_scope() as s:
        charge = s.exec(select(ServerCharge).where(ServerCharge.server_id == uuid.UUID(created["id"]))).one()
    assert charge.plan_amount == Decimal("0.0100") and charge.backup_amount == pricing.hourly(Decimal("2"))
    assert charge.amount == charge.plan_amount + charge.backup_amount


async def test_a_balance_below_24_hours_of_the_server_refuses_and_calls_nobody(world, standin):
    w = world
    with session_scope() as s:
        wallet._post(s, w["org"], Decimal("-99.80"), "adjustment", actor=None, description="drain")
    calls = len(standin.requests)
    with pytest.raises(InsufficientFunds, match=r"at least \$0\.24 .*24 hours"):
        await _create(w)
    assert len(standin.requests) == calls  # the provider was never asked
    with session_scope() as s:
        assert s.exec(select(Server)).all() == []


async def test_a_provider_refusal_charges_nothing_and_says_why(world, standin):
    w = world
    standin.fail_next(400)
    with pytest.raises(ValidationError, match="Linode refused.*Nothing was charged"):
        await _create(w)
    assert [e.amount for e in _ledger(w["org"])] == [Decimal("100")]
    with session_scope() as s:
        row = s.exec(select(Server)).one()
        assert (row.status, row.deleted_at is not None, row.root_password_enc) == ("failed", True, None)
        assert s.exec(select(ServerCharge)).all() == []
    assert standin.linodes == {}
    # The failed row does not block the label and is not listed.
    assert servers.list_servers(w["owner"], w["org"])[1] == 0
    await _create(w)


async def test_our_write_failing_after_the_provider_created_deletes_it_again(world, standin):
    """A real failure in step 3: a trigger makes PostgreSQL refuse recording the provider's id."""
    w = world
    with session_scope() as s:
        s.execute(text("""
            CREATE OR REPLACE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN IF NEW.provider_instance_id IS NOT NULL AND NEW.label = 'explode-1' THEN
              RAISE EXCEPTION 'disk full'; END IF; RETURN NEW; END $$;
            CREATE TRIGGER boom BEFORE UPDATE ON servers FOR EACH ROW EXECUTE FUNCTION boom();"""))
    try:
        with pytest.raises(ServiceError, match="removed again"):
            await _create(w, label="explode-1")
    finally:
        with session_scope() as s:
            s.execute(text("DROP TRIGGER boom ON servers; DROP FUNCTION boom();"))
    assert standin.linodes == {}  # no orphan left at the provider
    assert [e.amount for e in _ledger(w["org"])] == [Decimal("100")]
    with session_scope() as s:
        assert s.exec(select(Server.status)).all() == ["failed"]


async def test_a_provider_timing_out_mid_create_leaves_no_charge_and_the_orphan_is_found(world, standin):
    w = world
    standin.delay_next(1.6)  # longer than the client's read timeout; the stand-in creates it anyway
    with pytest.raises(ValidationError, match="did not answer in time"):
        await _create(w)
    assert [e.amount for e in _ledger(w["org"])] == [Decimal("100")]
    deadline = time.monotonic() + 5
    while not standin.linodes and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert len(standin.linodes) == 1  # the provider did create it after we gave up
    totals = await server_sync.sync_all(force=True)
    assert totals["orphans"] == 1
    orphans = server_sync.list_orphans(w["admin"])
    assert [o["provider_instance_id"] for o in orphans] == [str(next(iter(standin.linodes)))]
    with pytest.raises(PermissionDenied):
        server_sync.list_orphans(w["owner"])
    await server_sync.delete_orphan(w["admin"], orphans[0]["id"])
    assert standin.linodes == {} and server_sync.list_orphans(w["admin"]) == []


@pytest.mark.parametrize("field,value,message", [
    ("label", "", "Enter a label"),
    ("label", "ab", "3 to 50"),
    ("label", "1web", "start with a letter"),
    ("label", "web--1", "no two dots or dashes"),
    ("label", "web 1", "Use letters"),
    ("label", "web-1\x00", "Use letters"),
    ("label", ["web"], "Enter a label"),
    ("root_password", "short", "12 to 128"),
    ("root_password", "alllowercaseletters", "three of"),
    ("root_password", "Has spaces 123", "without spaces"),
    ("root_password", "Password1234", "too common"),
    ("root_password", None, "Enter a root password"),
    ("region", "mars-1", "not offered in this region"),
    ("region", "", "Choose a region"),
    ("image", "linode/windows95", "image is not available"),
    ("plan_id", "not-a-uuid", "Choose a plan"),
    ("plan_id", str(uuid.uuid4()), "not available"),
    ("backups", "yes", "on or off"),
    ("ssh_key_ids", [str(uuid.uuid4())], "SSH keys from this organization"),
])
async def test_bad_orders_change_nothing(world, standin, field, value, message):
    w = world
    with pytest.raises(ValidationError, match=message):
        await _create(w, **{field: value})
    assert standin.linodes == {}
    with session_scope() as s:
        assert s.exec(select(Server)).all() == []
    assert [e.amount for e in _ledger(w["org"])] == [Decimal("100")]


async def test_labels_are_unique_in_an_organization_and_plans_must_be_offered(world):
    w = world
    await _create(w)
    with pytest.raises(ValidationError, match="Another server"):
        await _create(w, label="WEB-1")
    with session_scope() as s:
        s.get(Plan, uuid.UUID(w["plans"][1])).is_active = False
    with pytest.raises(ValidationError, match="not available"):
        await _create(w, label="web-2", plan_id=w["plans"][1])
    provider_accounts.update_account(w["admin"], w["account"], is_active=False)
    with pytest.raises(ValidationError, match="not available"):
        await _create(w, label="web-3")


# ---- permissions and tenancy ------------------------------------------------------------

async def test_roles_decide_who_creates_runs_and_deletes(world):
    w = world
    viewer = make_user("viewer@example.com")[1]
    add_member(w["org"], viewer.user_id, "viewer")
    member = make_user("member@example.com")[1]
    add_member(w["org"], member.user_id, "member")
    with pytest.raises(PermissionDenied):
        await servers.create_server(viewer, w["org"], **_order(w), **FAST)
    created = await servers.create_server(member, w["org"], **_order(w), **FAST)
    assert servers.get_server(viewer, w["org"], created["id"])["can_manage"] is False
    with pytest.raises(PermissionDenied):
        await servers.power(viewer, w["org"], created["id"], "reboot")
    with pytest.raises(PermissionDenied):  # member has vps_manage but not vps_delete
        await servers.delete_server(member, w["org"], created["id"], confirm_label="web-1",
                                    password=PASSWORD)


async def test_another_organizations_server_is_not_found_everywhere(world):
    w = world
    created = await _create(w)
    other = make_user("mallory@example.com")[1]
    mallory_org = personal_org(other.user_id)
    sid = created["id"]
    calls = [
        lambda o: servers.get_server(other, o, sid),
        lambda o: servers.server_activity(other, o, sid),
        lambda o: servers.update_notes(other, o, sid, notes="mine"),
        lambda o: servers.resize_options(other, o, sid),
        lambda o: servers.resize_quote(other, o, sid, plan_id=w["plans"][1]),
    ]
    async_calls = [
        lambda o: servers.power(other, o, sid, "shutdown"),
        lambda o: servers.resize(other, o, sid, plan_id=w["plans"][1]),
        lambda o: servers.rebuild(other, o, sid, image="linode/debian12", root_password=ROOT),
        lambda o: servers.reset_root_password(other, o, sid, root_password=ROOT),
        lambda o: servers.set_backups(other, o, sid, enabled=True),
        lambda o: servers.list_backups(other, o, sid),
        lambda o: servers.usage(other, o, sid),
        lambda o: servers.set_reverse_dns(other, o, sid, ip="203.0.113.1", hostname="a.example.com"),
        lambda o: servers.delete_server(other, o, sid, confirm_label="web-1", password="x"),
    ]
    for org in (w["org"], mallory_org):  # A's org id (not a member) and B's own org with A's server id
        for call in calls:
            with pytest.raises(NotFound):
                call(org)
        for call in async_calls:
            with pytest.raises(NotFound):
                await call(org)
    assert servers.list_servers(other, mallory_org)[1] == 0
    assert servers.statuses(other, mallory_org, [sid]) == {}
    row = servers.get_server(w["owner"], w["org"], sid)
    assert row["status"] in ("provisioning", "booting", "running") and row["notes"] == ""


# ---- running ----------------------------------------------------------------------------

async def _running(w, sid: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        await server_sync.sync_all(force=True)
        row = servers.get_server(w["owner"], w["org"], sid)
        if row["status"] == "running" and not row["pending_action"]:
            return row
        assert time.monotonic() < deadline, row["status"]
        await asyncio.sleep(0.1)


async def test_sync_moves_a_new_server_to_running_with_its_ip(world):
    w = world
    created = await _create(w)
    row = await _running(w, created["id"])
    assert row["primary_ip"].startswith("203.0.113.")
    assert servers.statuses(w["owner"], w["org"], [created["id"]])[created["id"]]["status"] == "running"


async def test_power_actions_follow_the_provider_and_refuse_impossible_ones(world):
    w = world
    sid = (await _create(w))["id"]
    with pytest.raises(Conflict, match="provisioning"):
        await servers.power(w["owner"], w["org"], sid, "boot")
    await _running(w, sid)
    assert (await servers.power(w["owner"], w["org"], sid, "reboot"))["status"] == "rebooting"
    await _running(w, sid)
    assert (await servers.power(w["owner"], w["org"], sid, "shutdown"))["status"] == "stopping"
    with pytest.raises(ValidationError):
        await servers.power(w["owner"], w["org"], sid, "explode")
    with session_scope() as s:
        actions = s.exec(select(ActivityLog.action).where(ActivityLog.entity_id == sid)).all()
    assert {"vps.create_requested", "vps.created", "vps.reboot", "vps.shutdown"} <= set(actions)


async def test_resize_shows_the_price_difference_and_changes_the_plan(world):
    w = world
    sid = (await _create(w))["id"]
    await _running(w, sid)
    quote = servers.resize_quote(w["owner"], w["org"], sid, plan_id=w["plans"][2])
    assert (quote["old_monthly"], quote["new_monthly"], quote["difference_monthly"]) == ("7.3000", "30.0000",
                                                                                         "22.7000")
    assert [o["name"] for o in servers.resize_options(w["owner"], w["org"], sid)] == ["Basic", "Plus"]
    row = await servers.resize(w["owner"], w["org"], sid, plan_id=w["plans"][2])
    assert row["status"] == "resizing" and row["plan_name"] == "Plus"
    with pytest.raises(ValidationError, match="already has"):
        servers.resize_quote(w["owner"], w["org"], sid, plan_id=w["plans"][2])


async def test_notes_need_notes_permissions(world):
    w = world
    sid = (await _create(w))["id"]
    servers.update_notes(w["owner"], w["org"], sid, notes="db primary\nhandle with care")
    assert servers.get_server(w["owner"], w["org"], sid)["notes"] == "db primary\nhandle with care"
    billing = make_user("billing@example.com")[1]
    add_member(w["org"], billing.user_id, "billing_manager")
    with pytest.raises(PermissionDenied):
        servers.get_server(billing, w["org"], sid)
    vpsman = make_user("vpsman@example.com")[1]
    add_member(w["org"], vpsman.user_id, "vps_manager")
    with pytest.raises(PermissionDenied):
        servers.update_notes(vpsman, w["org"], sid, notes="x")
    with pytest.raises(ValidationError):
        servers.update_notes(w["owner"], w["org"], sid, notes="x" * 10_001)


# ---- deleting ---------------------------------------------------------------------------

async def test_delete_needs_the_label_and_the_password_then_stops_at_the_provider(world, standin):
    w = world
    sid = (await _create(w))["id"]
    with pytest.raises(ValidationError, match="label"):
        await servers.delete_server(w["owner"], w["org"], sid, confirm_label="web-2", password="x")
    with pytest.raises(ValidationError, match="password"):
        await servers.delete_server(w["owner"], w["org"], sid, confirm_label="web-1", password="wrong")
    assert len(standin.linodes) == 1
    await servers.delete_server(w["owner"], w["org"], sid, confirm_label="web-1", password=PASSWORD)
    assert standin.linodes == {}
    with pytest.raises(NotFound):
        servers.get_server(w["owner"], w["org"], sid)
    with session_scope() as s:
        row = s.get(Server, uuid.UUID(sid))
        assert row.status == "deleted" and row.root_password_enc is None
    # The organization can now be deleted once its balance is zero; before, it had a server.


async def test_an_organization_with_servers_cannot_be_deleted(world):
    w = world
    await _create(w)
    with session_scope() as s:
        bal = s.exec(select(Wallet.balance).where(Wallet.organization_id == w["org"])).one()
        wallet._post(s, w["org"], -bal, "adjustment", actor=None, description="zero")
    name = orgs.get_organization(w["owner"], str(w["org"]))["name"]
    with pytest.raises(Conflict, match="1 server"):
        orgs.delete_organization(w["owner"], str(w["org"]), confirm_name=name)


async def test_a_provider_account_in_use_cannot_be_deleted(world):
    w = world
    with pytest.raises(Conflict, match="0 server.*3 plan"):
        provider_accounts.delete_account(w["admin"], w["account"])


async def test_a_server_deleted_outside_the_panel_is_marked_deleted_by_sync(world, standin):
    w = world
    sid = (await _create(w))["id"]
    standin.linodes.clear()
    with session_scope() as s:
        s.get(Server, uuid.UUID(sid)).created_at = utcnow().replace(year=2025)
    totals = await server_sync.sync_all(force=True)
    assert totals["gone"] == 1
    with pytest.raises(NotFound):
        servers.get_server(w["owner"], w["org"], sid)


# ---- listing ----------------------------------------------------------------------------

async def test_list_pages_and_searches_by_label_and_ip(world):
    w = world
    for i in range(3):
        await _create(w, label=f"app-{i}")
    items, total = servers.list_servers(w["owner"], w["org"], limit=2)
    assert total == 3 and len(items) == 2
    assert items[0]["label"] == "app-2" and items[0]["region_label"] == "New York"
    assert items[0]["monthly"] == "7.3000"
    assert servers.list_servers(w["owner"], w["org"], search="APP-1")[1] == 1
    ip = servers.list_servers(w["owner"], w["org"])[0][0]["primary_ip"]
    assert servers.list_servers(w["owner"], w["org"], search=ip)[1] == 1
    for bad in ({"search": "x" * 101}, {"status": "melted"}, {"limit": "lots"}):
        with pytest.raises(ValidationError):
            servers.list_servers(w["owner"], w["org"], **bad)


async def test_admin_sees_every_organizations_servers_and_customers_cannot(world):
    w = world
    await _create(w)
    items, total = servers.admin_list_servers(w["admin"])
    assert total == 1 and items[0]["organization_name"]
    with pytest.raises(PermissionDenied):
        servers.admin_list_servers(w["owner"])


async def test_delete_with_two_factor_on_needs_a_valid_code(world, standin):
    import pyotp

    from skypanel.backend.services import auth

    w = world
    sid = (await _create(w))["id"]
    secret = auth.begin_totp_setup(w["owner"])["secret"]
    recovery = auth.enable_totp(w["owner"], code=pyotp.TOTP(secret).at(utcnow().timestamp() - 30))
    for code in ("", "000000", None):
        with pytest.raises(ValidationError):
            await servers.delete_server(w["owner"], w["org"], sid, confirm_label="web-1", password=PASSWORD, code=code)
    assert len(standin.linodes) == 1  # nothing happened at the provider
    await servers.delete_server(w["owner"], w["org"], sid, confirm_label="web-1", password=PASSWORD,
                                code=recovery[0])
    assert standin.linodes == {}
