"""Admin provider accounts: encrypted tokens, admin-only access, validation, and "test connection"
against the Linode and DigitalOcean stand-ins served on a real loopback socket.
"""

from __future__ import annotations

import json
import socket
import uuid

import pytest
from sqlalchemy import text
from sqlmodel import select

from skypanel.backend.db import get_engine, session_scope
from skypanel.backend.models import ActivityLog, ProviderAccount, User
from skypanel.backend.models.providers import token_aad
from skypanel.backend.providers.digitalocean import DigitalOceanProvider
from skypanel.backend.providers.linode import LinodeProvider
from skypanel.backend.providers.standins import digitalocean_api, linode_api
from skypanel.backend.security import decrypt
from skypanel.backend.services import provider_accounts as pa
from skypanel.backend.services.context import Actor
from skypanel.backend.services.errors import NotFound, PermissionDenied, ValidationError
from tests.contract.server import serve

from .factories import make_user
from .test_bad_input import assert_clear_message, changed, snapshot

LINODE_TOKEN = "lin-tok-" + "a1b2c3d4" * 4 + "WXYZ"
DO_TOKEN = "dop_v1_" + "9f8e7d6c" * 8


async def _no_sleep(seconds: float) -> None:
    return None


@pytest.fixture(scope="module")
def linode_url():
    state = linode_api.LinodeStandIn(tokens={LINODE_TOKEN})
    with serve(state.app(), ready_path="/v4/regions") as url:
        yield url + "/v4"


@pytest.fixture(scope="module")
def do_url():
    state = digitalocean_api.StandInState(token=DO_TOKEN)
    with serve(digitalocean_api.create_app(state)) as url:
        yield url


@pytest.fixture()
def staff(db):
    _, admin = make_user("root@example.com", "Rita Root", admin=True)
    _, customer = make_user("cust@example.com", "Carl Customer")
    return admin, customer


def _row(account_id) -> ProviderAccount:
    with session_scope() as s:
        return s.get(ProviderAccount, uuid.UUID(str(account_id)))


def _raw_rows() -> str:
    """Every provider_accounts and activity_logs row as text, as an attacker reading the database sees it."""
    with get_engine().connect() as c:
        a = c.execute(text("SELECT coalesce(string_agg(r::text, E'\\n'), '') FROM provider_accounts r")).scalar()
        b = c.execute(text("SELECT coalesce(string_agg(r::text, E'\\n'), '') FROM activity_logs r")).scalar()
    return a + "\n" + b


def _actions() -> list[str]:
    with session_scope() as s:
        return [a.action for a in s.exec(select(ActivityLog).where(
            ActivityLog.entity_type == "provider_account").order_by(ActivityLog.created_at)).all()]


# ---- storage and listing ---------------------------------------------------------------

def test_token_is_stored_encrypted_listed_only_as_last4(staff):
    admin, _ = staff
    acc = pa.add_account(admin, kind="linode", name="Linode main", token=f"  {LINODE_TOKEN}\n")
    assert acc["token_last4"] == "WXYZ" and "token" not in acc and "token_enc" not in acc
    assert acc["is_active"] is True and acc["base_url"] == "" and acc["allowed_regions"] == []
    assert acc["effective_base_url"] == "https://api.linode.com/v4"

    row = _row(acc["id"])
    assert LINODE_TOKEN not in row.token_enc and row.token_last4 == "WXYZ"
    assert decrypt(row.token_enc, aad=token_aad(row.id)) == LINODE_TOKEN  # stripped, decrypts back
    with pytest.raises(Exception):  # bound to its row: the blob does not decrypt for another id
        decrypt(row.token_enc, aad=token_aad(uuid.uuid4()))
    assert LINODE_TOKEN not in _raw_rows()

    pa.add_account(admin, kind="digitalocean", name="DO", token=DO_TOKEN, base_url="https://do.example.test/")
    listed = pa.list_accounts(admin)
    assert [a["name"] for a in listed] == ["Linode main", "DO"]  # display order: new ones go last
    assert [a["token_last4"] for a in listed] == ["WXYZ", DO_TOKEN[-4:]]
    assert listed[1]["base_url"] == "https://do.example.test"
    dumped = json.dumps(listed)
    assert LINODE_TOKEN not in dumped and DO_TOKEN not in dumped and "token_enc" not in dumped
    assert DO_TOKEN not in _raw_rows()
    assert _actions() == ["admin.provider_added", "admin.provider_added"]


def test_update_rotate_and_delete_are_audited_without_the_token(staff):
    admin, _ = staff
    acc = pa.add_account(admin, kind="digitalocean", name="DO", token=DO_TOKEN)
    updated = pa.update_account(admin, acc["id"], name="DigitalOcean EU", is_active=False, display_order=7,
                                allowed_regions=[{"id": "ams3", "label": "Amsterdam"}, {"id": "fra1", "label": ""}])
    assert (updated["name"], updated["is_active"], updated["display_order"]) == ("DigitalOcean EU", False, 7)
    assert updated["allowed_regions"] == [{"id": "ams3", "label": "Amsterdam"}, {"id": "fra1", "label": "fra1"}]
    assert pa.list_accounts(admin)[0]["allowed_regions"] == updated["allowed_regions"]

    before = snapshot()  # an update that changes nothing writes nothing
    pa.update_account(admin, acc["id"], name="DigitalOcean EU", is_active=False)
    assert changed(before, snapshot()) == set()

    new_token = "dop_v1_" + "0" * 60 + "NEW4"
    rotated = pa.rotate_token(admin, acc["id"], token=new_token)
    assert rotated["token_last4"] == "NEW4"
    row = _row(acc["id"])
    assert decrypt(row.token_enc, aad=token_aad(row.id)) == new_token

    pa.delete_account(admin, acc["id"])
    assert pa.list_accounts(admin) == [] and _row(acc["id"]) is None
    with pytest.raises(NotFound):
        pa.delete_account(admin, acc["id"])
    assert _actions() == ["admin.provider_added", "admin.provider_updated", "admin.provider_token_rotated",
                          "admin.provider_deleted"]
    raw = _raw_rows()
    assert DO_TOKEN not in raw and new_token not in raw


def test_non_admins_are_refused_and_nothing_changes(staff):
    admin, customer = staff
    acc = pa.add_account(admin, kind="linode", name="Linode", token=LINODE_TOKEN)
    # a stale session that still claims admin after the flag was removed in the database
    with session_scope() as s:
        demoted = User(email="was-admin@example.com", name="Was Admin", password_hash="x", is_platform_admin=False)
        s.add(demoted)
        s.flush()
        demoted_id = demoted.id
    stale = Actor(user_id=demoted_id, is_platform_admin=True)

    before = snapshot()
    for actor in (customer, stale, None):
        with pytest.raises(PermissionDenied):
            pa.list_accounts(actor)
        with pytest.raises(PermissionDenied):
            pa.add_account(actor, kind="linode", name="Mine", token=LINODE_TOKEN)
        with pytest.raises(PermissionDenied):
            pa.update_account(actor, acc["id"], is_active=False)
        with pytest.raises(PermissionDenied):
            pa.rotate_token(actor, acc["id"], token="another-token-1234")
        with pytest.raises(PermissionDenied):
            pa.delete_account(actor, acc["id"])
    assert changed(before, snapshot()) == set()


async def test_non_admin_cannot_test_connection(staff, linode_url):
    admin, customer = staff
    acc = pa.add_account(admin, kind="linode", name="Linode", token=LINODE_TOKEN, base_url=linode_url)
    before = snapshot()
    with pytest.raises(PermissionDenied):
        await pa.test_connection(customer, acc["id"])
    assert changed(before, snapshot()) == set()


# ---- test connection against the stand-ins ---------------------------------------------

@pytest.mark.parametrize("kind, token", [("linode", LINODE_TOKEN), ("digitalocean", DO_TOKEN)])
async def test_connection_ok_then_wrong_token_fails_and_both_are_recorded(staff, linode_url, do_url, kind, token):
    admin, _ = staff
    url = linode_url if kind == "linode" else do_url
    acc = pa.add_account(admin, kind=kind, name=f"{kind} account", token=token, base_url=url)

    result = await pa.test_connection(admin, acc["id"], sleep=_no_sleep)
    cls = LinodeProvider if kind == "linode" else DigitalOceanProvider
    async with cls(base_url=url, token_provider=lambda: token) as direct:
        expected = len(await direct.list_regions())
    assert result == {"ok": True, "message": result["message"], "regions": expected} and expected > 0
    assert str(expected) in result["message"]
    listed = pa.list_accounts(admin)[0]
    assert listed["last_test_ok"] is True and listed["last_tested_at"] and listed["last_test_message"] == result["message"]

    pa.rotate_token(admin, acc["id"], token="wrong-token-" + "x" * 20)
    assert pa.list_accounts(admin)[0]["last_test_ok"] is None  # a new token has not been tested
    bad = await pa.test_connection(admin, acc["id"], sleep=_no_sleep)
    assert bad["ok"] is False and bad["regions"] == 0
    assert bad["message"] and "wrong-token" not in bad["message"]
    assert bad["message"] == ("Invalid Token" if kind == "linode" else "Unable to authenticate you")  # provider's own
    listed = pa.list_accounts(admin)[0]
    assert listed["last_test_ok"] is False and listed["last_test_message"] == bad["message"]

    # the client decrypts at call time: rotating back to the right token works at once
    pa.rotate_token(admin, acc["id"], token=token)
    assert (await pa.test_connection(admin, acc["id"], sleep=_no_sleep))["ok"] is True

    tested = [a for a in _actions() if a == "admin.provider_tested"]
    assert len(tested) == 3
    raw = _raw_rows()
    assert token not in raw and "wrong-token-" + "x" * 20 not in raw


async def test_connection_to_nothing_listening_is_a_clear_failure(staff):
    admin, _ = staff
    with socket.socket() as sock:  # a port that was free a moment ago: connection refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    acc = pa.add_account(admin, kind="digitalocean", name="Nowhere", token=DO_TOKEN,
                         base_url=f"http://127.0.0.1:{port}")
    result = await pa.test_connection(admin, acc["id"], sleep=_no_sleep)
    assert result["ok"] is False and "Could not reach DigitalOcean" in result["message"]
    assert pa.list_accounts(admin)[0]["last_test_ok"] is False


# ---- bad input -------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, field", [
    pytest.param(dict(kind="vultr"), "kind", id="unknown_kind"),
    pytest.param(dict(kind=None), "kind", id="kind_none"),
    pytest.param(dict(name=""), "name", id="empty_name"),
    pytest.param(dict(name="   "), "name", id="blank_name"),
    pytest.param(dict(name="n" * 61), "name", id="long_name"),
    pytest.param(dict(name="bad\x00name"), "name", id="nul_name"),
    pytest.param(dict(name=["x"]), "name", id="name_list"),
    pytest.param(dict(token="short"), "token", id="short_token"),
    pytest.param(dict(token="t" * 201), "token", id="long_token"),
    pytest.param(dict(token="has a space in it"), "token", id="token_space"),
    pytest.param(dict(token="tökén-with-unicode"), "token", id="token_unicode"),
    pytest.param(dict(token=12345678901), "token", id="token_int"),
    pytest.param(dict(base_url="ftp://api.example.com"), "base_url", id="ftp_url"),
    pytest.param(dict(base_url="javascript:alert(1)"), "base_url", id="js_url"),
    pytest.param(dict(base_url="https://"), "base_url", id="no_host"),
    pytest.param(dict(base_url="https://user:pw@api.example.com"), "base_url", id="credentials"),
    pytest.param(dict(base_url="https://api.example.com:99999"), "base_url", id="bad_port"),
    pytest.param(dict(base_url="https://api.example.com/?q=1"), "base_url", id="query"),
    pytest.param(dict(name="Taken"), "name", id="duplicate_name"),
    pytest.param(dict(name="TAKEN"), "name", id="duplicate_name_case"),
])
def test_bad_add_input_changes_nothing(staff, kwargs, field):
    admin, _ = staff
    pa.add_account(admin, kind="linode", name="Taken", token=LINODE_TOKEN)
    args = dict(kind="linode", name="New one", token=LINODE_TOKEN, base_url="") | kwargs
    before = snapshot()
    with pytest.raises(ValidationError) as err:
        pa.add_account(admin, **args)
    assert_clear_message(err.value)
    assert err.value.field == field
    assert changed(before, snapshot()) == set()


@pytest.mark.parametrize("kwargs, field", [
    pytest.param(dict(name=""), "name", id="empty_name"),
    pytest.param(dict(name="Other"), "name", id="duplicate_name"),
    pytest.param(dict(is_active="yes"), "is_active", id="active_str"),
    pytest.param(dict(display_order=-1), "display_order", id="negative_order"),
    pytest.param(dict(display_order="3"), "display_order", id="order_str"),
    pytest.param(dict(display_order=True), "display_order", id="order_bool"),
    pytest.param(dict(allowed_regions="us-east"), "allowed_regions", id="regions_str"),
    pytest.param(dict(allowed_regions=[{"id": 5, "label": "Five"}]), "allowed_regions", id="region_id_int"),
    pytest.param(dict(allowed_regions=[{"label": "No id"}]), "allowed_regions", id="region_no_id"),
    pytest.param(dict(allowed_regions=["us-east"]), "allowed_regions", id="region_plain_str"),
    pytest.param(dict(allowed_regions=[{"id": "a b", "label": "x"}]), "allowed_regions", id="region_space"),
    pytest.param(dict(allowed_regions=[{"id": "us-east", "label": 3}]), "allowed_regions", id="label_int"),
    pytest.param(dict(allowed_regions=[{"id": "us-east", "label": "L" * 61}]), "allowed_regions",
                 id="label_long"),
    pytest.param(dict(allowed_regions=[{"id": "us-east"}, {"id": "us-east"}]), "allowed_regions",
                 id="region_twice"),
])
def test_bad_update_input_changes_nothing(staff, kwargs, field):
    admin, _ = staff
    acc = pa.add_account(admin, kind="linode", name="Mine", token=LINODE_TOKEN)
    pa.add_account(admin, kind="linode", name="Other", token=LINODE_TOKEN)
    before = snapshot()
    with pytest.raises(ValidationError) as err:
        pa.update_account(admin, acc["id"], **kwargs)
    assert_clear_message(err.value)
    assert err.value.field == field
    with pytest.raises(ValidationError):
        pa.rotate_token(admin, acc["id"], token="bad token")
    assert changed(before, snapshot()) == set()


@pytest.mark.parametrize("account_id", ["", "nope", str(uuid.uuid4()), 42, None])
async def test_unknown_account_is_not_found(staff, account_id):
    admin, _ = staff
    before = snapshot()
    with pytest.raises(NotFound):
        pa.update_account(admin, account_id, is_active=False)
    with pytest.raises(NotFound):
        pa.rotate_token(admin, account_id, token=LINODE_TOKEN)
    with pytest.raises(NotFound):
        pa.delete_account(admin, account_id)
    with pytest.raises(NotFound):
        await pa.test_connection(admin, account_id)
    assert changed(before, snapshot()) == set()


def test_simultaneous_adds_of_one_name_give_one_account_and_a_clear_message(db):
    import threading

    from skypanel.backend.services.errors import ValidationError as _VE
    from tests.integration.factories import make_user as _make_user

    _, admin_actor = _make_user("race-admin@example.com", admin=True)
    results: list[object] = []
    barrier = threading.Barrier(4)

    def add(i: int) -> None:
        barrier.wait()
        try:
            results.append(pa.add_account(admin_actor, kind="linode", name="Race",
                                                          token=f"token-value-{i:04d}"))
        except _VE as exc:
            results.append(exc)

    threads = [threading.Thread(target=add, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4  # no thread died on a raw database error
    assert sum(isinstance(r, dict) for r in results) == 1
    assert all(isinstance(r, dict) or "already has this name" in str(r) for r in results)


# ---- the built-in simulated provider ---------------------------------------------------

async def test_simulated_account_needs_no_token_and_connects(staff):
    from skypanel.backend.providers.simulated import SimulatedProvider

    admin, _ = staff
    acc = pa.add_account(admin, kind="simulated", name="Built-in", token="")
    assert (acc["kind"], acc["kind_label"], acc["token_last4"]) == ("simulated", "Simulated", "")
    assert acc["base_url"] == "" and acc["effective_base_url"] == ""
    row = _row(acc["id"])
    assert decrypt(row.token_enc, aad=token_aad(row.id)) == ""  # same row shape as the others
    client = pa.client_for(row, max_attempts=2, sleep=_no_sleep)  # HTTP options are ignored, not an error
    assert isinstance(client, SimulatedProvider) and client.account_id == row.id
    await client.aclose()

    result = await pa.test_connection(admin, acc["id"])
    assert result == {"ok": True, "message": "Connected to Simulated: 4 region(s) available.", "regions": 4}
    assert pa.list_accounts(admin)[0]["last_test_ok"] is True

    before = snapshot()
    with pytest.raises(ValidationError) as err:
        pa.rotate_token(admin, acc["id"], token=LINODE_TOKEN)
    assert err.value.field == "token" and "no API token" in err.value.message
    assert changed(before, snapshot()) == set()

    none_token = pa.add_account(admin, kind="simulated", name="Built-in 2", token=None, base_url=None)
    assert none_token["token_last4"] == ""
    pa.delete_account(admin, acc["id"])
    assert [a["name"] for a in pa.list_accounts(admin)] == ["Built-in 2"]


@pytest.mark.parametrize("kwargs, field", [
    pytest.param(dict(token=LINODE_TOKEN), "token", id="token_given"),
    pytest.param(dict(base_url="https://api.linode.com/v4"), "base_url", id="base_url_given"),
    pytest.param(dict(token=["x"]), "token", id="token_list"),
    pytest.param(dict(name=""), "name", id="empty_name"),
])
def test_bad_simulated_add_input_changes_nothing(staff, kwargs, field):
    admin, _ = staff
    before = snapshot()
    with pytest.raises(ValidationError) as err:
        pa.add_account(admin, **(dict(kind="simulated", name="Sim", token="") | kwargs))
    assert_clear_message(err.value)
    assert err.value.field == field
    assert changed(before, snapshot()) == set()


async def test_admin_page_adds_a_simulated_provider_without_a_token_field(staff):
    from skypanel.backend.services import auth
    from skypanel.state.admin_providers import AdminProvidersState

    from .factories import PASSWORD
    from .reflex_client import Client, register_pages

    register_pages()
    token = auth.login(email="root@example.com", password=PASSWORD, ip="127.0.0.9",
                       user_agent="pytest")["session_token"]
    tab = Client(token, ip="127.0.0.9")
    await tab.open("/admin/providers", "/admin/providers")
    await tab.call(AdminProvidersState, "load")
    await tab.call(AdminProvidersState, "set_add_kind", value="simulated")
    # the simulated form has no token or URL fields: whatever else arrives is not used
    await tab.call(AdminProvidersState, "add", form_data={"name": "Simulated cloud", "token": "left-over-1234",
                                                          "base_url": "http://example.com"})
    state = await tab.root.get_state(AdminProvidersState)
    assert state.add_error == "" and state.add_open is False
    [row] = state.rows
    assert (row["kind"], row["kind_label"], row["simulated"], row["token"]) == (
        "simulated", "Simulated", True, "No token")
    assert pa.list_accounts(staff[0])[0]["kind"] == "simulated"


@pytest.mark.parametrize("kind", ["linode", "digitalocean"])
async def test_a_wrong_token_is_refused_with_the_providers_message_and_nothing_is_saved(staff, linode_url, do_url,
                                                                                        kind):
    url = linode_url if kind == "linode" else do_url
    before = snapshot()
    with pytest.raises(ValidationError, match="did not accept this token: .*Nothing was saved") as err:
        await pa.connect_account(staff[0], kind=kind, name="Wrong", token="wrong-token-" + "y" * 20, base_url=url)
    assert err.value.field == "token" and "wrong-token" not in err.value.message
    assert changed(before, snapshot()) == set()


async def test_connect_checks_the_token_first_and_records_the_check(staff, linode_url):
    good = await pa.connect_account(staff[0], kind="linode", name="Good", token=LINODE_TOKEN, base_url=linode_url)
    assert good["last_test_ok"] is True and "region(s) available" in good["last_test_message"]
    before = snapshot()
    with pytest.raises(ValidationError, match="Nothing was saved"):
        await pa.replace_token(staff[0], good["id"], token="wrong-token-" + "z" * 20)
    assert changed(before, snapshot()) == set()  # the stored token is the good one still
    with pytest.raises(PermissionDenied):
        await pa.connect_account(staff[1], kind="linode", name="Nope", token=LINODE_TOKEN, base_url=linode_url)
