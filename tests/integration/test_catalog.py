"""The provider catalog: refreshed from the Linode and DigitalOcean stand-ins over real loopback
HTTP (the real clients, through `provider_accounts.client_for`), stored in `provider_catalogs`,
kept as it was when the provider fails, and never read with a database transaction held open."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlmodel import select

from skypanel.backend.db import get_engine, session_scope
from skypanel.backend.models import ActivityLog, ProviderAccount, ProviderCatalog
from skypanel.backend.models.base import utcnow
from skypanel.backend.providers.standins import digitalocean_api, linode_api
from skypanel.backend.services import catalog
from skypanel.backend.services import provider_accounts as pa
from skypanel.backend.services.errors import NotFound, PermissionDenied, ValidationError
from tests.contract.server import serve

from .factories import make_user
from .test_bad_input import assert_clear_message

LINODE_TOKEN = "lin-tok-" + "c4t4l0g5" * 4 + "LNDE"
DO_TOKEN = "dop_v1_" + "c47a1065" * 8


async def _no_sleep(seconds: float) -> None:
    return None


@pytest.fixture(scope="module")
def linode_standin():
    state = linode_api.LinodeStandIn(tokens={LINODE_TOKEN})
    with serve(state.app(), ready_path="/v4/regions") as url:
        state.url = url + "/v4"
        yield state


@pytest.fixture(scope="module")
def do_standin():
    state = digitalocean_api.StandInState(token=DO_TOKEN)
    with serve(digitalocean_api.create_app(state)) as url:
        state.url = url
        yield state


@pytest.fixture()
def staff(db):
    _, admin = make_user("root@catalog.test", "Rita Root", admin=True)
    _, customer = make_user("cust@catalog.test", "Carl Customer")
    return admin, customer


@pytest.fixture()
def linode_account(staff, linode_standin):
    linode_standin._faults.clear()
    return pa.add_account(staff[0], kind="linode", name="Linode main", token=LINODE_TOKEN,
                          base_url=linode_standin.url)["id"]


@pytest.fixture()
def do_account(staff, do_standin):
    do_standin.faults.clear()
    return pa.add_account(staff[0], kind="digitalocean", name="DO main", token=DO_TOKEN,
                          base_url=do_standin.url)["id"]


def _stored(account_id) -> ProviderCatalog | None:
    with session_scope() as s:
        return s.get(ProviderCatalog, uuid.UUID(account_id))


def _activity(action: str) -> list[ActivityLog]:
    with session_scope() as s:
        return s.exec(select(ActivityLog).where(ActivityLog.action == action)).all()


# ---- refreshing from the stand-ins ---------------------------------------------------------------

async def test_linode_catalog_is_read_and_stored(staff, linode_account, linode_standin):
    admin, _ = staff
    assert catalog.get_catalog(linode_account) is None
    before = utcnow()
    result = await catalog.admin_refresh(admin, linode_account)

    assert [r["id"] for r in result["regions"]] == [r[0] for r in linode_api.REGIONS]
    assert result["regions"][0] == {"id": "us-east", "label": "Newark, NJ", "country": "us", "available": True}
    assert [p["id"] for p in result["plans"]] == [t[0] for t in linode_api.TYPES]
    nanode = catalog.find_plan(result, "g6-nanode-1")
    assert nanode == {"id": "g6-nanode-1", "label": "Nanode 1GB", "vcpus": 1, "memory_mb": 1024, "disk_gb": 25,
                      "transfer_gb": 1000, "price_monthly": "5", "price_hourly": "0.0075",
                      "regions": [r[0] for r in linode_api.REGIONS]}
    assert len(result["images"]) == len(linode_api.IMAGES)
    assert {"id": "linode/debian12", "label": "Debian 12", "distribution": "Debian", "version": "12"} in result["images"]

    stored = catalog.get_catalog(linode_account)
    assert stored == result  # what was returned is what is stored
    assert before <= _stored(linode_account).refreshed_at <= utcnow()
    assert ("GET", "/v4/linode/types") in linode_standin.requests and ("GET", "/v4/images") in linode_standin.requests

    [row] = _activity("admin.catalog_refreshed")
    assert row.user_id == admin.user_id and row.entity_id == linode_account
    assert row.details == {"regions": 6, "plans": 5, "images": 7}
    assert LINODE_TOKEN not in (row.summary + str(row.details))


async def test_digitalocean_catalog_is_read_and_stored(staff, do_account):
    result = await catalog.admin_refresh(staff[0], do_account)
    assert [r["id"] for r in result["regions"]] == [r[0] for r in digitalocean_api.REGIONS]
    assert [p["id"] for p in result["plans"]] == [s[0] for s in digitalocean_api.SIZES]
    small = catalog.find_plan(result, "s-1vcpu-1gb")
    assert (small["vcpus"], small["memory_mb"], small["disk_gb"], small["transfer_gb"]) == (1, 1024, 25, 1000)
    assert (small["price_monthly"], small["price_hourly"]) == ("6", "0.00893")
    assert isinstance(small["price_monthly"], str) and small["regions"]
    assert {i["id"] for i in result["images"]} >= {"ubuntu-24-04-x64", "debian-12-x64"}
    assert catalog.get_catalog(do_account) == result


async def test_a_second_refresh_replaces_the_catalog(staff, linode_account):
    first = await catalog.refresh(linode_account)
    with session_scope() as s:  # an old catalog with a plan the provider no longer sells
        row = s.get(ProviderCatalog, uuid.UUID(linode_account))
        row.plans = row.plans + [{"id": "g1-retired", "label": "Retired", "regions": []}]
        row.refreshed_at = utcnow() - timedelta(days=3)
    assert catalog.is_stale(catalog.get_catalog(linode_account))
    second = await catalog.refresh(linode_account)
    assert catalog.find_plan(second, "g1-retired") is None
    assert second["plans"] == first["plans"] and not catalog.is_stale(second)
    with session_scope() as s:
        assert s.exec(select(ProviderCatalog)).all().__len__() == 1


# ---- failures keep the old catalog ----------------------------------------------------------------

async def test_a_refused_token_keeps_the_old_catalog_with_the_providers_message(staff, linode_account):
    admin, _ = staff
    await catalog.admin_refresh(admin, linode_account)
    before = catalog.get_catalog(linode_account)
    pa.rotate_token(admin, linode_account, token="lin-tok-wrong-0000000000")
    with pytest.raises(ValidationError) as info:
        await catalog.admin_refresh(admin, linode_account)
    assert_clear_message(info.value)
    assert "Invalid Token" in info.value.message and "Linode" in info.value.message
    assert "previous catalog was kept" in info.value.message
    assert "lin-tok" not in info.value.message
    assert catalog.get_catalog(linode_account) == before
    assert len(_activity("admin.catalog_refreshed")) == 1  # only the successful one


async def test_server_errors_keep_the_old_catalog(staff, linode_account, linode_standin):
    await catalog.refresh(linode_account)
    before = catalog.get_catalog(linode_account)
    linode_standin.fail_next(503, times=10)
    with pytest.raises(ValidationError) as info:
        await catalog.refresh(linode_account, sleep=_no_sleep, max_attempts=2)
    linode_standin._faults.clear()
    assert_clear_message(info.value)
    assert catalog.get_catalog(linode_account) == before


async def test_a_failure_on_the_first_refresh_stores_nothing(staff, do_account, do_standin):
    do_standin.inject(status=401, count=5, message="Unable to authenticate you")
    with pytest.raises(ValidationError) as info:
        await catalog.admin_refresh(staff[0], do_account)
    do_standin.faults.clear()
    assert "Unable to authenticate you" in info.value.message and "DigitalOcean" in info.value.message
    assert catalog.get_catalog(do_account) is None


async def test_no_database_transaction_is_open_while_the_provider_answers(staff, linode_account, linode_standin):
    """The provider is slow: while refresh waits for it, no connection of ours sits in a transaction."""
    linode_standin.delay_next(0.8, times=3)
    task = asyncio.create_task(catalog.admin_refresh(staff[0], linode_account))
    await asyncio.sleep(0.4)
    assert not task.done()
    with get_engine().connect() as c:
        waiting = c.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'")).scalar()
    assert waiting == 0
    result = await task
    assert len(result["plans"]) == 5


async def test_an_account_deleted_while_the_provider_answers_is_not_found(staff, linode_account, linode_standin):
    linode_standin.delay_next(0.5, times=3)
    task = asyncio.create_task(catalog.refresh(linode_account))
    await asyncio.sleep(0.2)
    pa.delete_account(staff[0], linode_account)
    with pytest.raises(NotFound):
        await task
    with session_scope() as s:
        assert s.exec(select(ProviderCatalog)).all() == []


# ---- who may refresh ----------------------------------------------------------------------------

async def test_only_platform_admins_refresh_or_read_catalogs(staff, linode_account, linode_standin):
    _, customer = staff
    requests = len(linode_standin.requests)
    with pytest.raises(PermissionDenied):
        await catalog.admin_refresh(customer, linode_account)
    with pytest.raises(PermissionDenied):
        catalog.admin_catalog(customer, linode_account)
    assert len(linode_standin.requests) == requests  # refused before any provider call
    assert catalog.get_catalog(linode_account) is None


@pytest.mark.parametrize("bad", ["", "nope", "'; DROP TABLE users;--", None, 42, str(uuid.uuid4())])
async def test_garbage_account_ids_are_not_found(staff, bad):
    with pytest.raises(NotFound):
        await catalog.admin_refresh(staff[0], bad)
    with pytest.raises(NotFound):
        catalog.admin_catalog(staff[0], bad)
    assert catalog.get_catalog(bad) is None


# ---- regions offered to customers -----------------------------------------------------------------

async def test_regions_offered_are_the_allowed_ones_the_provider_lists_as_available(staff, linode_account):
    admin, _ = staff

    def offered():
        with session_scope() as s:
            return catalog.regions_offered(s.get(ProviderAccount, uuid.UUID(linode_account)))

    assert offered() == []  # no regions chosen: none offered (the admin must choose them)
    pa.update_account(admin, linode_account, allowed_regions=[
        {"id": "eu-west", "label": "London"}, {"id": "us-east", "label": "New York"}, {"id": "mars-1", "label": "Mars"}])
    assert offered() == []  # no catalog yet: nothing is known to exist
    await catalog.refresh(linode_account)
    assert offered() == [
        {"id": "eu-west", "label": "London", "provider_label": "London, UK", "country": "gb"},
        {"id": "us-east", "label": "New York", "provider_label": "Newark, NJ", "country": "us"},
    ]  # the admin's order and labels; the region the provider does not list is left out
    with session_scope() as s:  # the provider reports London unavailable
        row = s.get(ProviderCatalog, uuid.UUID(linode_account))
        row.regions = [{**r, "available": r["id"] != "eu-west"} for r in row.regions]
    assert [r["id"] for r in offered()] == ["us-east"]
    view = catalog.admin_catalog(admin, linode_account)
    assert [r["id"] for r in view["offered_regions"]] == ["us-east"]
    assert view["catalog"]["plans"] and view["stale"] is False
    pa.update_account(admin, linode_account, allowed_regions=[])
    assert offered() == []


# ---- what a provider sends is cleaned before it is stored ------------------------------------------

@dataclass
class _P:
    id: object
    label: object
    vcpus: object
    memory_mb: object
    disk_gb: object
    transfer_gb: object
    price_monthly: object
    price_hourly: object
    regions: tuple = ()


def test_provider_text_and_numbers_are_cleaned():
    dirty = _P("g6-\x00bad", "Evil\x07 <b>plan</b>\n" + "x" * 500, "3", None, -5, 2**40, "NaN", "-1",
               ("us-east", "", "\ud800"))
    cleaned = catalog._plan(dirty)
    assert cleaned["id"] == "g6-bad"
    assert "\x07" not in cleaned["label"] and len(cleaned["label"]) == catalog.TEXT_MAX
    assert (cleaned["vcpus"], cleaned["memory_mb"], cleaned["disk_gb"], cleaned["transfer_gb"]) == (3, 0, 0, 2**31 - 1)
    assert (cleaned["price_monthly"], cleaned["price_hourly"]) == ("0", "0")
    assert cleaned["regions"] == ["us-east"]
    assert catalog._money("12.00") == "12" and catalog._money("100") == "100" and catalog._money(0.0075) == "0.0075"
    assert catalog._dedupe([{"id": "a", "n": 1}, {"id": "a", "n": 2}, {"id": ""}]) == [{"id": "a", "n": 1}]


async def test_the_simulated_provider_catalog_needs_no_network(staff):
    from skypanel.backend.providers import simulated

    account = pa.add_account(staff[0], kind="simulated", name="Built-in", token="")["id"]
    result = await catalog.admin_refresh(staff[0], account)
    assert [r["id"] for r in result["regions"]] == [r.id for r in simulated.REGIONS]
    assert [p["id"] for p in result["plans"]] == [p.id for p in simulated.PLANS]
    big = catalog.find_plan(result, "sim-8c-32g")
    assert big["price_monthly"] == "192" and "sim-sgp" not in big["regions"]
    assert catalog.get_catalog(account) == result
