"""Retail plans: prices and hourly math, price history (changes apply from the next whole hour),
region rules, refused prices, admin-only access, what customers are offered (never our cost),
deleting plans in use, and white-label category names."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from sqlmodel import col, select

from skypanel.backend.db import session_scope
from skypanel.backend.models import ActivityLog, Plan, PlanPrice, ProviderCatalog, Server
from skypanel.backend.models.base import utcnow
from skypanel.backend.services import plans, platform_settings, pricing
from skypanel.backend.services import provider_accounts as pa
from skypanel.backend.services.errors import Conflict, NotFound, PermissionDenied, ValidationError

from .factories import add_member, make_user, personal_org
from .test_bad_input import changed, refused, snapshot

REGIONS = [
    {"id": "us-east", "label": "Newark, NJ", "country": "us", "available": True},
    {"id": "eu-west", "label": "London, UK", "country": "gb", "available": True},
    {"id": "ap-south", "label": "Singapore, SG", "country": "sg", "available": True},
]
CATALOG_PLANS = [
    {"id": "g6-standard-1", "label": "Linode 2GB", "vcpus": 1, "memory_mb": 2048, "disk_gb": 50, "transfer_gb": 2000,
     "price_monthly": "12", "price_hourly": "0.018", "regions": ["us-east", "eu-west", "ap-south"]},
    {"id": "g6-standard-2", "label": "Linode 4GB", "vcpus": 2, "memory_mb": 4096, "disk_gb": 80, "transfer_gb": 4000,
     "price_monthly": "24", "price_hourly": "0.036", "regions": ["us-east"]},  # sold in one region only
]
IMAGES = [{"id": "linode/debian12", "label": "Debian 12", "distribution": "Debian", "version": "12"}]


def seed_catalog(account_id: str, *, plans_=CATALOG_PLANS, regions=REGIONS) -> None:
    with session_scope() as s:
        s.merge(ProviderCatalog(provider_account_id=uuid.UUID(account_id), regions=regions, plans=plans_,
                                images=IMAGES, refreshed_at=utcnow()))


@pytest.fixture()
def w(db):
    admin_id, admin = make_user("root@plans.test", "Rita Root", admin=True)
    cust_id, customer = make_user("cust@plans.test", "Carl Customer")
    viewer_id, viewer = make_user("vic@plans.test", "Vic Viewer")
    org = personal_org(cust_id)
    add_member(org, viewer_id, "viewer")
    account = pa.add_account(admin, kind="linode", name="Linode main", token="lin-tok-" + "p1an5" * 6,
                             base_url="http://127.0.0.1:9/v4")["id"]
    pa.update_account(admin, account, allowed_regions=[{"id": "eu-west", "label": "London"},
                                                       {"id": "us-east", "label": "New York"}])
    seed_catalog(account)
    return {"admin": admin, "admin_id": admin_id, "customer": customer, "viewer": viewer, "org": str(org),
            "account": account}


def new_plan(w, **kw) -> dict:
    args = dict(provider_account_id=w["account"], provider_plan_id="g6-standard-1", name="Cloud 2", category="standard",
                markup="3", backup_price="2", regions=["us-east", "eu-west"])
    args.update(kw)
    return plans.create_plan(w["admin"], **args)


def price_rows(plan_id: str) -> list[tuple[datetime, Decimal, Decimal, Decimal]]:
    with session_scope() as s:
        rows = s.exec(select(PlanPrice).where(PlanPrice.plan_id == uuid.UUID(plan_id))
                      .order_by(col(PlanPrice.effective_from))).all()
        return [(r.effective_from, r.base_price, r.markup, r.backup_price) for r in rows]


def in_force(plan_id: str, at: datetime) -> pricing.Price | None:
    with session_scope() as s:
        return pricing.in_force(s, uuid.UUID(plan_id), at)


def activities(action: str) -> list[ActivityLog]:
    with session_scope() as s:
        return s.exec(select(ActivityLog).where(ActivityLog.action == action).order_by(ActivityLog.created_at)).all()


class Clock:
    """A settable `utcnow` for the plans service."""

    def __init__(self, monkeypatch, start: datetime):
        self.now = start
        monkeypatch.setattr(plans, "utcnow", lambda: self.now)


def add_server(w, plan_id: str, *, deleted: bool = False) -> uuid.UUID:
    """A server row using the plan, written directly (the servers service is not under test here)."""
    with session_scope() as s:
        plan = s.get(Plan, uuid.UUID(plan_id))
        server = Server(organization_id=uuid.UUID(w["org"]), provider_account_id=plan.provider_account_id,
                        provider_kind="linode", provider_instance_id=uuid.uuid4().hex[:12], plan_id=plan.id,
                        provider_plan_id=plan.provider_plan_id, label="web-1", status="deleted" if deleted else "running",
                        region="us-east", image="linode/debian12", deleted_at=utcnow() if deleted else None)
        s.add(server)
        s.flush()
        return server.id


# ---- creating, and the hourly math ------------------------------------------------------------

def test_a_new_plan_takes_specs_and_base_price_from_the_catalog(w):
    before = utcnow()
    plan = new_plan(w)
    assert (plan["vcpus"], plan["memory_mb"], plan["disk_gb"], plan["transfer_gb"]) == (1, 2048, 50, 2000)
    assert plan["base_price"] == "12.0000" and plan["markup"] == "3.0000" and plan["backup_price"] == "2.0000"
    assert plan["monthly"] == "15.0000"
    assert plan["hourly"] == "0.0205"  # 15 / 730 = 0.020547... -> 0.0205
    assert plan["backup_hourly"] == "0.0027"  # 2 / 730 = 0.00274 -> 0.0027
    assert plan["regions"] == ["eu-west", "us-east"]  # in the account's order, not the order ticked
    assert plan["region_labels"] == [{"id": "eu-west", "label": "London", "allowed": True},
                                     {"id": "us-east", "label": "New York", "allowed": True}]
    assert plan["provider_plan_label"] == "Linode 2GB" and plan["catalog_price"] == "12" and plan["in_catalog"]
    assert plan["provider_name"] == "Linode main" and plan["provider_kind_label"] == "Linode"
    assert plan["category_label"] == "Standard" and plan["is_active"] and plan["servers"] == 0
    assert plan["pending"] is None and plan["price_in_force"]["monthly"] == "15.0000"

    # The first price is in force from the start of the hour it was created in.
    [(effective, base, markup, backup)] = price_rows(plan["id"])
    assert effective == pricing.hour_start(before) or effective == pricing.hour_start(utcnow())
    assert (base, markup, backup) == (Decimal("12"), Decimal("3"), Decimal("2"))
    [row] = activities("admin.plan_created")
    assert row.user_id == w["admin_id"] and row.entity_id == plan["id"]
    assert row.details["after"]["monthly"] == "15.0000" and row.details["provider_plan_id"] == "g6-standard-1"


def test_the_admin_may_override_the_base_price(w):
    plan = new_plan(w, base_price="10.5", markup="0.25")
    assert plan["base_price"] == "10.5000" and plan["monthly"] == "10.7500" and plan["hourly"] == "0.0147"
    assert plan["catalog_price"] == "12"  # the provider's price stays visible next to ours


def test_price_math_matches_the_pricing_module():
    price = pricing.Price(Decimal("24"), Decimal("6"), Decimal("4.8"))
    assert price.monthly == Decimal("30.0000") and price.hourly == Decimal("0.0411")
    assert price.backup_hourly == Decimal("0.0066")
    assert price.hourly_total(True) == Decimal("0.0477") and price.hourly_total(False) == Decimal("0.0411")
    assert price.monthly_total(True) == Decimal("34.8000")
    # 730 billed hours never cost more than the monthly price plus half a hundredth of a cent per hour
    assert abs(price.hourly * 730 - price.monthly) <= Decimal("0.00005") * 730


# ---- price history: changes apply from the next whole hour ---------------------------------------

def test_a_price_change_applies_from_the_next_hour(w, monkeypatch):
    clock = Clock(monkeypatch, datetime(2026, 3, 2, 10, 30, tzinfo=timezone.utc))
    plan = new_plan(w)
    assert [r[0] for r in price_rows(plan["id"])] == [datetime(2026, 3, 2, 10, tzinfo=timezone.utc)]

    clock.now = datetime(2026, 3, 2, 10, 59, 59, tzinfo=timezone.utc)
    updated = plans.update_plan(w["admin"], plan["id"], markup="5")
    assert updated["monthly"] == "17.0000"  # what new servers are quoted, at once
    assert updated["pending"]["monthly"] == "17.0000"
    assert updated["pending"]["effective_from"] == "2026-03-02T11:00:00+00:00"
    assert updated["price_in_force"]["monthly"] == "15.0000"

    # The hour that already started keeps its price; the next hour has the new one.
    assert in_force(plan["id"], datetime(2026, 3, 2, 10, 59, 59, tzinfo=timezone.utc)).monthly == Decimal("15")
    assert in_force(plan["id"], datetime(2026, 3, 2, 11, 0, tzinfo=timezone.utc)).monthly == Decimal("17")
    assert in_force(plan["id"], datetime(2026, 3, 2, 9, 59, tzinfo=timezone.utc)) is None  # before the plan

    [row] = activities("admin.plan_updated")
    assert row.details["price_before"]["monthly"] == "15.0000" and row.details["price_after"]["monthly"] == "17.0000"
    assert row.details["before"] == {"markup": "3.0000"} and row.details["after"] == {"markup": "5.0000"}
    assert row.details["effective_from"] == "2026-03-02T11:00:00+00:00"
    assert "11:00 UTC" in row.summary


def test_two_changes_in_one_hour_replace_the_pending_price(w, monkeypatch):
    clock = Clock(monkeypatch, datetime(2026, 3, 2, 10, 5, tzinfo=timezone.utc))
    plan = new_plan(w)
    clock.now = datetime(2026, 3, 2, 10, 20, tzinfo=timezone.utc)
    plans.update_plan(w["admin"], plan["id"], markup="5")
    clock.now = datetime(2026, 3, 2, 10, 40, tzinfo=timezone.utc)
    plans.update_plan(w["admin"], plan["id"], markup="6", backup_price="3")
    rows = price_rows(plan["id"])
    assert [(r[0].hour, r[2], r[3]) for r in rows] == [(10, Decimal("3"), Decimal("2")), (11, Decimal("6"), Decimal("3"))]

    # Back to the price in force: nothing is pending any more.
    clock.now = datetime(2026, 3, 2, 10, 50, tzinfo=timezone.utc)
    back = plans.update_plan(w["admin"], plan["id"], markup="3", backup_price="2")
    assert back["pending"] is None and len(price_rows(plan["id"])) == 1
    assert in_force(plan["id"], datetime(2026, 3, 2, 11, 30, tzinfo=timezone.utc)).monthly == Decimal("15")
    assert len(activities("admin.plan_updated")) == 3  # every change is recorded, even one undone


def test_price_history_across_several_hours(w, monkeypatch):
    clock = Clock(monkeypatch, datetime(2026, 3, 2, 10, 5, tzinfo=timezone.utc))
    plan = new_plan(w)
    clock.now = datetime(2026, 3, 2, 10, 45, tzinfo=timezone.utc)
    plans.update_plan(w["admin"], plan["id"], base_price="13")  # from 11:00
    clock.now = datetime(2026, 3, 2, 11, 15, tzinfo=timezone.utc)
    listed = next(p for p in plans.list_plans(w["admin"]) if p["id"] == plan["id"])
    assert listed["pending"] is None and listed["price_in_force"]["monthly"] == "16.0000"
    plans.update_plan(w["admin"], plan["id"], base_price="14")  # from 12:00: the 11:00 row is history now
    assert [r[0].hour for r in price_rows(plan["id"])] == [10, 11, 12]
    at = lambda h, m=0: in_force(plan["id"], datetime(2026, 3, 2, h, m, tzinfo=timezone.utc)).monthly  # noqa: E731
    assert (at(10, 59), at(11), at(11, 59), at(12), at(23)) == (15, 16, 16, 17, 17)


def test_changes_without_a_new_price_write_no_price_row(w):
    plan = new_plan(w)
    plans.update_plan(w["admin"], plan["id"], name="Cloud Two", category="memory", is_active=False, display_order=7,
                      regions=["us-east"])
    got = plans.get_plan(w["admin"], plan["id"])
    assert (got["name"], got["category"], got["is_active"], got["display_order"], got["regions"]) == \
        ("Cloud Two", "memory", False, 7, ["us-east"])
    assert got["category_label"] == "High Memory"
    assert len(price_rows(plan["id"])) == 1
    [row] = activities("admin.plan_updated")
    assert row.details["before"] == {"name": "Cloud 2", "category": "standard", "is_active": True,
                                     "display_order": 0, "regions": ["eu-west", "us-east"]}
    assert "price_before" not in row.details
    before = snapshot()
    plans.update_plan(w["admin"], plan["id"], name="Cloud Two", markup="3.0000")  # same values: no change, no row
    assert changed(before, snapshot()) == set()


# ---- regions ------------------------------------------------------------------------------------

def test_regions_must_be_allowed_and_sold_by_the_provider(w):
    e = refused(lambda: new_plan(w, regions=["ap-south"]), error=ValidationError)  # sold, but not allowed
    assert e.field == "regions" and "Providers page" in e.message
    e = refused(lambda: new_plan(w, provider_plan_id="g6-standard-2", regions=["eu-west"]), error=ValidationError)
    assert "does not sell this plan in region eu-west" in e.message  # allowed, but not sold
    for bad in ([], "us-east", None, [None], [""], ["x" * 65], ["us\x00east"], [{"id": "us-east"}]):
        assert refused(lambda: new_plan(w, regions=bad), error=ValidationError).field == "regions"
    plan = new_plan(w, provider_plan_id="g6-standard-2", regions=["us-east", "us-east"], name="Cloud 4")
    assert plan["regions"] == ["us-east"]
    refused(lambda: plans.update_plan(w["admin"], plan["id"], regions=["eu-west"]), error=ValidationError)


def test_when_the_provider_drops_a_plan_only_current_regions_can_be_kept(w):
    plan = new_plan(w)
    seed_catalog(w["account"], plans_=CATALOG_PLANS[1:])  # the provider no longer lists g6-standard-1
    listed = plans.get_plan(w["admin"], plan["id"])
    assert listed["in_catalog"] is False and listed["catalog_price"] == ""
    assert plans.update_plan(w["admin"], plan["id"], regions=["us-east"])["regions"] == ["us-east"]
    refused(lambda: plans.update_plan(w["admin"], plan["id"], regions=["us-east", "eu-west"]), error=ValidationError)
    assert plans.update_plan(w["admin"], plan["id"], markup="4")["monthly"] == "16.0000"  # prices stay editable


def test_creating_needs_the_catalog_and_a_plan_from_it(w):
    e = refused(lambda: new_plan(w, provider_plan_id="g6-nonexistent"), error=ValidationError)
    assert "Refresh the catalog" in e.message and e.field == "provider_plan_id"
    other = pa.add_account(w["admin"], kind="digitalocean", name="DO main", token="dop_v1_" + "ab" * 32)["id"]
    e = refused(lambda: new_plan(w, provider_account_id=other), error=ValidationError)
    assert "Refresh the catalog first" in e.message
    refused(lambda: new_plan(w, provider_account_id=str(uuid.uuid4())), error=NotFound)
    refused(lambda: new_plan(w, provider_account_id="'; DROP TABLE plans;--"), error=NotFound)
    for bad in ("", None, 5, "x" * 65):
        refused(lambda: new_plan(w, provider_plan_id=bad), error=ValidationError)


# ---- prices people should not be able to set ------------------------------------------------------

BAD_PRICES = [
    pytest.param(-1, id="negative_int"), pytest.param("-0.01", id="negative_text"), pytest.param("-0", id="minus_zero"),
    pytest.param(1.5, id="float"), pytest.param(float("nan"), id="float_nan"), pytest.param(float("inf"), id="float_inf"),
    pytest.param("NaN", id="nan_text"), pytest.param(Decimal("NaN"), id="nan_decimal"),
    pytest.param("Infinity", id="infinity"), pytest.param(Decimal("Infinity"), id="infinity_decimal"),
    pytest.param("1e3", id="exponent"), pytest.param("100000.0001", id="just_over_max"),
    pytest.param("100001", id="over_max"), pytest.param(10**30, id="huge_int"), pytest.param("9" * 5000, id="huge_text"),
    pytest.param("12.34567", id="five_decimals"), pytest.param("0." + "0" * 500 + "1", id="tiny"),
    pytest.param("", id="empty"), pytest.param("  ", id="blank"), pytest.param("abc", id="letters"),
    pytest.param("12,50", id="decimal_comma"), pytest.param("1,000", id="thousands_comma"),
    pytest.param("12.5.0", id="two_points"), pytest.param("１２", id="fullwidth"), pytest.param("12\x00", id="nul"),
    pytest.param(None, id="none"), pytest.param(True, id="bool"), pytest.param([12], id="list"),
    pytest.param({"amount": 12}, id="dict"), pytest.param("'; DROP TABLE plans;--", id="sql"),
]


@pytest.mark.parametrize("field", ["markup", "backup_price", "base_price"])
@pytest.mark.parametrize("value", BAD_PRICES)
def test_bad_prices_are_refused_on_create_and_update(w, field, value):
    if field == "base_price" and value is None:
        pytest.skip("no base price means: take the provider's price")
    if field == "base_price" and isinstance(value, str) and not value.strip():
        pytest.skip("an empty base price means: take the provider's price")
    e = refused(lambda: new_plan(w, **{field: value}), error=ValidationError)
    assert e.field == field
    plan = new_plan(w, name="Target")
    e = refused(lambda: plans.update_plan(w["admin"], plan["id"], **{field: value}), error=ValidationError)
    assert e.field == field


def test_refusal_messages_say_what_is_wrong(w):
    assert "below the provider's cost" in refused(lambda: new_plan(w, markup="-2")).message
    assert "floating-point" in refused(lambda: new_plan(w, markup=2.5)).message
    assert "$100,000" in refused(lambda: new_plan(w, backup_price="250000")).message
    assert "4 decimal places" in refused(lambda: new_plan(w, markup="1.23456")).message
    assert "cannot be negative" in refused(lambda: new_plan(w, backup_price="-1")).message
    e = refused(lambda: new_plan(w, base_price="0", markup="0"), error=ValidationError)
    assert "more than $0" in e.message  # a free server would bill zero-amount hours


@pytest.mark.parametrize("value, stored", [
    ("100000", "100000.0000"), ("0", "0.0000"), ("12.5", "12.5000"), (" 7.25 ", "7.2500"), ("$9.99", "9.9900"),
    (".5", "0.5000"), (Decimal("3.1415"), "3.1415"), (7, "7.0000"), ("0012.3400", "12.3400"),
])
def test_unusual_but_valid_prices_are_stored_exactly(w, value, stored):
    plan = new_plan(w, backup_price=value)
    assert plan["backup_price"] == stored


def test_zero_markup_is_allowed_and_so_is_a_free_backup(w):
    plan = new_plan(w, markup="0", backup_price="0")
    assert plan["monthly"] == "12.0000" and plan["backup_hourly"] == "0.0000"


@pytest.mark.parametrize("kw", [
    {"name": ""}, {"name": "   "}, {"name": "x" * 61}, {"name": "a\x00b"}, {"name": "<b>Bold</b>"}, {"name": 5},
    {"category": "premium"}, {"category": ""}, {"category": None}, {"is_active": "yes"}, {"is_active": 1},
])
def test_other_bad_fields_are_refused(w, kw):
    refused(lambda: new_plan(w, **kw), error=ValidationError)


@pytest.mark.parametrize("value", [-1, 100_001, "3", 2.0, True, None])
def test_bad_display_order_is_refused(w, value):
    plan = new_plan(w)
    assert refused(lambda: plans.update_plan(w["admin"], plan["id"], display_order=value)).field == "display_order"


def test_names_are_unique_per_provider_account_ignoring_case(w):
    new_plan(w, name="Cloud 2")
    assert "already has this name" in refused(lambda: new_plan(w, name="  cloud   2 ")).message
    other = new_plan(w, name="Cloud 3")
    refused(lambda: plans.update_plan(w["admin"], other["id"], name="CLOUD 2"), error=ValidationError)
    plans.update_plan(w["admin"], other["id"], name="cloud 3")  # its own name in another case is fine


# ---- admins only ---------------------------------------------------------------------------------

def test_only_platform_admins_manage_plans(w):
    plan = new_plan(w)
    for actor in (w["customer"], w["viewer"], None):
        refused(lambda: plans.list_plans(actor), error=PermissionDenied)
        refused(lambda: plans.get_plan(actor, plan["id"]), error=PermissionDenied)
        refused(lambda: new_plan({**w, "admin": actor}, name="Sneaky"), error=PermissionDenied)
        refused(lambda: plans.update_plan(actor, plan["id"], markup="0"), error=PermissionDenied)
        refused(lambda: plans.delete_plan(actor, plan["id"]), error=PermissionDenied)
        refused(lambda: plans.set_category_names(actor, {"standard": "Basic"}), error=PermissionDenied)
    # A demoted admin's old actor is refused too: the flag is read from the database.
    with session_scope() as s:
        from skypanel.backend.models import User
        s.get(User, w["admin_id"]).is_platform_admin = False
    refused(lambda: plans.update_plan(w["admin"], plan["id"], markup="0"), error=PermissionDenied)


@pytest.mark.parametrize("bad", ["", "nope", "'; DROP TABLE plans;--", None, 42, str(uuid.uuid4())])
def test_garbage_plan_ids_are_not_found(w, bad):
    refused(lambda: plans.update_plan(w["admin"], bad, markup="1"), error=NotFound)
    refused(lambda: plans.delete_plan(w["admin"], bad), error=NotFound)
    refused(lambda: plans.get_plan(w["admin"], bad), error=NotFound)


# ---- what customers are offered ---------------------------------------------------------------------

OFFERED_KEYS = {"id", "name", "category", "category_label", "provider_account_id", "provider_kind", "provider_label",
                "vcpus", "memory_mb", "disk_gb", "transfer_gb", "monthly", "hourly", "backup_monthly",
                "backup_hourly", "regions"}


def test_customers_see_retail_prices_only(w):
    plan = new_plan(w, base_price="11.1111", markup="2.2222")
    [offered] = plans.list_offered(w["customer"], w["org"])
    assert set(offered) == OFFERED_KEYS
    assert offered["id"] == plan["id"] and offered["monthly"] == "13.3333" and offered["hourly"] == "0.0183"
    assert offered["backup_monthly"] == "2.0000" and offered["backup_hourly"] == "0.0027"
    assert offered["regions"] == [{"id": "eu-west", "label": "London", "country": "gb"},
                                  {"id": "us-east", "label": "New York", "country": "us"}]
    assert offered["provider_label"] == "Linode" and offered["category_label"] == "Standard"
    text = repr(offered)
    assert "11.1111" not in text and "2.2222" not in text and "base" not in text and "markup" not in text
    assert "Linode main" not in text  # the admin's internal account name stays internal


def test_inactive_plans_accounts_and_unoffered_regions_are_hidden(w):
    a = new_plan(w, name="Active")
    b = new_plan(w, name="Inactive", is_active=False)
    c = new_plan(w, name="Single region", provider_plan_id="g6-standard-2", regions=["us-east"])
    ids = lambda: [p["id"] for p in plans.list_offered(w["customer"], w["org"])]  # noqa: E731
    assert b["id"] not in ids() and set(ids()) == {a["id"], c["id"]}
    # The admin stops offering New York: the plan sold only there disappears, the other shows London only.
    pa.update_account(w["admin"], w["account"], allowed_regions=[{"id": "eu-west", "label": "London"}])
    assert ids() == [a["id"]]
    assert plans.list_offered(w["customer"], w["org"])[0]["regions"] == [
        {"id": "eu-west", "label": "London", "country": "gb"}]
    pa.update_account(w["admin"], w["account"], is_active=False)
    assert ids() == []
    pa.update_account(w["admin"], w["account"], is_active=True)
    plans.update_plan(w["admin"], a["id"], is_active=False)
    assert ids() == []


def test_offered_plans_need_vps_create_in_the_organization(w):
    new_plan(w)
    refused(lambda: plans.list_offered(w["viewer"], w["org"]), error=PermissionDenied)
    _, stranger = make_user("stranger@plans.test", "Sam Stranger")
    refused(lambda: plans.list_offered(stranger, w["org"]), error=NotFound)
    refused(lambda: plans.list_offered(w["customer"], "'; DROP TABLE plans;--"), error=NotFound)
    refused(lambda: plans.list_offered(None, w["org"]))


# ---- deleting ------------------------------------------------------------------------------------

def test_a_plan_in_use_cannot_be_deleted(w):
    plan = new_plan(w)
    server_id = add_server(w, plan["id"])
    assert plans.get_plan(w["admin"], plan["id"])["servers"] == 1
    e = refused(lambda: plans.delete_plan(w["admin"], plan["id"]), error=Conflict)
    assert "1 server(s) use Cloud 2" in e.message and "Deactivate it instead" in e.message
    # Once deleted, the server's billing history still points at the plan.
    with session_scope() as s:
        server = s.get(Server, server_id)
        server.status, server.deleted_at = "deleted", utcnow()
    assert plans.get_plan(w["admin"], plan["id"])["servers"] == 0
    e = refused(lambda: plans.delete_plan(w["admin"], plan["id"]), error=Conflict)
    assert "billing history" in e.message


def test_an_unused_plan_is_deleted_with_its_price_history(w):
    plan = new_plan(w)
    plans.update_plan(w["admin"], plan["id"], markup="9")
    plans.delete_plan(w["admin"], plan["id"])
    with session_scope() as s:
        assert s.get(Plan, uuid.UUID(plan["id"])) is None
        assert s.exec(select(PlanPrice)).all() == []
    [row] = activities("admin.plan_deleted")
    assert row.details["name"] == "Cloud 2" and row.details["price"]["monthly"] == "21.0000"


def test_the_list_counts_servers_per_plan(w):
    a, b = new_plan(w, name="A"), new_plan(w, name="B")
    add_server(w, a["id"])
    add_server(w, a["id"])
    add_server(w, b["id"], deleted=True)
    counts = {p["name"]: p["servers"] for p in plans.list_plans(w["admin"])}
    assert counts == {"A": 2, "B": 0}


# ---- category names ------------------------------------------------------------------------------

def test_category_names_are_white_labelled(w):
    assert plans.category_names() == {"standard": "Standard", "cpu": "Dedicated CPU", "memory": "High Memory",
                                      "storage": "Storage", "gpu": "GPU"}
    new_plan(w, category="cpu")
    names = plans.set_category_names(w["admin"], {"cpu": "  Turbo   Cores ", "gpu": "Accelerated"})
    assert names["cpu"] == "Turbo Cores" and names["standard"] == "Standard" and names["gpu"] == "Accelerated"
    assert plans.list_plans(w["admin"])[0]["category_label"] == "Turbo Cores"
    assert plans.list_offered(w["customer"], w["org"])[0]["category_label"] == "Turbo Cores"
    [row] = activities("platform.setting_changed")
    assert row.details["new"]["cpu"] == "Turbo Cores"


@pytest.mark.parametrize("value", [
    "Standard", ["Standard"], None, {"premium": "Premium"}, {"cpu": ""}, {"cpu": "   "}, {"cpu": "x" * 41},
    {"cpu": "<b>Fast</b>"}, {"cpu": "Fast\x00"}, {"cpu": 5}, {"cpu": "Standard"}, {"cpu": "standard"},
])
def test_bad_category_names_are_refused(w, value):
    refused(lambda: plans.set_category_names(w["admin"], value), error=ValidationError)
    assert platform_settings.get("plan_category_names")["cpu"] == "Dedicated CPU"


def test_the_default_category_names_cannot_be_changed_by_a_caller(w):
    plans.category_names()["standard"] = "Hacked"
    assert plans.category_names()["standard"] == "Standard"
    assert platform_settings.DEFAULTS["plan_category_names"]["standard"] == "Standard"


def test_list_plans_order_and_provider_grouping(w):
    other = pa.add_account(w["admin"], kind="digitalocean", name="DO main", token="dop_v1_" + "cd" * 32)["id"]
    pa.update_account(w["admin"], other, allowed_regions=[{"id": "us-east", "label": "NYC"}])
    seed_catalog(other)
    new_plan(w, name="Big", provider_plan_id="g6-standard-2", regions=["us-east"])
    new_plan(w, name="Small")
    new_plan(w, name="DO small", provider_account_id=other, regions=["us-east"])
    listed = plans.list_plans(w["admin"])
    assert [(p["provider_name"], p["name"]) for p in listed] == [
        ("Linode main", "Big"), ("Linode main", "Small"), ("DO main", "DO small")]  # account order, then plan order
    assert [p["display_order"] for p in listed] == [0, 1, 0]
    assert listed[2]["region_labels"] == [{"id": "us-east", "label": "NYC", "allowed": True}]
    pa.update_account(w["admin"], other, allowed_regions=[])
    assert plans.list_plans(w["admin"])[2]["region_labels"] == [{"id": "us-east", "label": "us-east", "allowed": False}]
