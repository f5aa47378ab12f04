"""/vps/[server_id] through the real Reflex event handlers (tests/integration/reflex_client.py).

- A member of another organization, with the victim's server id in the URL, gets "not found"
  from every public handler of ServerDetailState, is sent nothing of the server, and changes
  nothing -- also when the page state is forced to point at it (the services decide, not the page).
- The owner's flow through the handlers, against the built-in simulated provider: power, rebuild,
  root password, backups, reverse DNS, resize with its quote, notes, usage, activity, delete.
  Typed passwords are never sent back; a generated one is sent once (into the input), never held
  in state.
- The live status loop stops when the tab leaves the page, and reports a finished change.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import func
from sqlmodel import select

from skypanel.backend.config import get_settings
from skypanel.backend.db import session_scope
from skypanel.backend.models import ActivityLog, LedgerEntry, Server, ServerCharge
from skypanel.backend.services import auth, catalog, orgs, plans, provider_accounts, server_sync, servers, wallet
from skypanel.backend.services.context import Actor
from skypanel.state.server_detail import TABS, ServerDetailState, usage_view
from skypanel.state.session import SessionState

from .factories import PASSWORD, add_member, make_user, personal_org
from .reflex_client import Client, register_pages

A_LABEL = "aurora-vault-7"
A_NOTES = "Aurora night shift: payroll database lives here"
A_ROOT = "Aurora-Root-Secret-4411"
TESS_ROOT = "Tess-Root-Secret-8812"
ROUTE = "/vps/[server_id]"
PERMISSION_WORDING = "permission"
GUESS = "bobs-guess"  # what Bob types where a label is asked for (he does not know the victim's)
# Every service the page calls with the server's id: the forced test checks each one was reached.
SERVICES = ("get_server", "statuses", "power", "usage", "list_backups", "set_backups", "restore_backup",
            "set_reverse_dns", "rebuild_images", "rebuild", "resize_options", "resize_quote", "resize",
            "reset_root_password", "update_notes", "server_activity", "delete_server")


@pytest.fixture(scope="module", autouse=True)
def _pages_registered():
    register_pages()


@pytest.fixture()
def instant_provider(monkeypatch):
    """The simulated provider finishes every change at once (its delays are for people)."""
    monkeypatch.setattr(get_settings(), "simulated_delay_scale", 0.0)


def _login(email: str, ip: str) -> str:
    return auth.login(email=email, password=PASSWORD, ip=ip, user_agent="pytest-state-client")["session_token"]


async def _provider(admin: Actor) -> tuple[str, dict[str, str]]:
    account = provider_accounts.add_account(admin, kind="simulated", name="Simulated", token="")
    provider_accounts.update_account(admin, account["id"], allowed_regions=[
        {"id": "sim-nyc", "label": "New York"}, {"id": "sim-fra", "label": "Frankfurt"}])
    await catalog.refresh(account["id"])
    ids = {}
    for pid, name in (("sim-1c-1g", "Starter"), ("sim-1c-2g", "Basic"), ("sim-2c-4g", "Plus")):
        ids[name] = plans.create_plan(admin, provider_account_id=account["id"], provider_plan_id=pid, name=name,
                                      category="standard", markup="3", backup_price="2",
                                      regions=["sim-nyc", "sim-fra"])["id"]
    return account["id"], ids


async def _server(actor: Actor, org: uuid.UUID, plan_id: str, label: str, root: str, **kw) -> dict:
    with session_scope() as s:
        wallet._post(s, org, Decimal("50"), "topup", actor=Actor.system(), description="funds")
    created = await servers.create_server(actor, str(org), plan_id=plan_id, region="sim-nyc", image="debian-12",
                                          label=label, root_password=root, delay_scale=0, **kw)
    await server_sync.sync_all(force=True)  # what the sync job does: our row follows the provider (running)
    return servers.get_server(actor, str(org), created["id"])


@pytest.fixture()
async def world(db, instant_provider):
    _admin_id, admin = make_user("root@skypanel.example.com", "Rita Root", admin=True)
    _account, plan_ids = await _provider(admin)

    alice_id, alice = make_user("alice@aurora.example.com", "Alice Aurora", org_name="Aurora Confidential")
    a = personal_org(alice_id)
    victim = await _server(alice, a, plan_ids["Basic"], A_LABEL, A_ROOT, backups=True)
    servers.update_notes(alice, str(a), victim["id"], notes=A_NOTES)

    bob_id, _ = make_user("bob@bravo.example.com", "Bob Bravo", org_name="Bravo Works")
    b = personal_org(bob_id)
    return {"a": str(a), "b": str(b), "victim": victim["id"], "victim_ip": victim["primary_ip"],
            "plans": plan_ids, "alice": alice, "bob_token": _login("bob@bravo.example.com", "10.66.0.2")}


def _markers(w) -> tuple[str, ...]:
    return (A_LABEL, A_NOTES, A_ROOT, w["victim_ip"], "Aurora Confidential")


def _leaks(w, text: str, *, typed: tuple[str, ...] = ()) -> list[str]:
    return [m for m in _markers(w) if m and m not in typed and m.lower() in text.lower()]


def _snapshot(w) -> dict:
    sid = uuid.UUID(w["victim"])
    with session_scope() as s:
        row = s.get(Server, sid)
        return {
            "server": (row.status, row.plan_id, row.image, row.notes, row.backups_enabled, row.root_password_enc,
                       row.deleted_at, row.pending_action, row.updated_at),
            "activity": s.exec(select(func.count()).select_from(ActivityLog)
                               .where(ActivityLog.organization_id == uuid.UUID(w["a"]))).one(),
            "ledger": s.exec(select(func.count()).select_from(LedgerEntry)
                             .where(LedgerEntry.organization_id == uuid.UUID(w["a"]))).one(),
            "charges": s.exec(select(func.count()).select_from(ServerCharge)
                              .where(ServerCharge.server_id == sid)).one(),
        }


def _own_handlers() -> set[str]:
    """The page's own handlers (`setvar`, which every state has, is refused: see the test below)."""
    return {name for name in ServerDetailState.event_handlers if name in vars(ServerDetailState)} - {"setvar"}


def _hostile_calls(w) -> list[tuple[str, dict]]:
    calls: list[tuple[str, dict]] = [("load", {}), ("poll", {})]
    calls += [("set_tab", {"value": t}) for t in TABS]
    calls += [
        ("power", {"action": "reboot"}), ("power", {"action": "shutdown"}), ("power", {"action": "boot"}),
        ("set_usage_period", {"value": "7d"}), ("load_usage", {}),
        ("load_backups", {}), ("set_backups", {"enabled": False}), ("set_backups", {"enabled": True}),
        ("restore_backup", {"backup_id": "sim-backup-1"}),
        ("open_rdns", {"ip": w["victim_ip"]}), ("set_rdns_open", {"value": True}),
        ("save_rdns", {"form_data": {"hostname": "owned.bravo.example.com"}}),
        ("generate_password", {"target": "rebuild"}), ("generate_password", {"target": "reset"}),
        ("toggle_show_password", {"target": "rebuild"}),
        ("load_images", {}), ("set_rebuild_image", {"value": "debian-12"}),
        ("set_rebuild_confirm", {"value": GUESS}),
        ("rebuild", {"form_data": {"root_password": "Bob-Owns-This-Box-1", "confirm_label": GUESS}}),
        ("load_resize", {}), ("choose_plan", {"plan_id": w["plans"]["Plus"]}), ("set_resize_open", {"value": True}),
        ("confirm_resize", {}),
        ("reset_password", {"form_data": {"root_password": "Bob-Owns-This-Box-1"}}),
        ("save_notes", {"form_data": {"notes": "Bob was here"}}),
        ("load_activity", {}), ("activity_next", {}), ("activity_prev", {}),
        ("set_delete_open", {"value": True}), ("set_delete_confirm", {"value": GUESS}),
        ("delete_server", {"form_data": {"password": PASSWORD, "code": "", "confirm_label": GUESS}}),
    ]
    return calls


def _assert_refused(w, sent: str, what: str) -> None:
    assert not _leaks(w, sent), f"{what} sent the victim's server to a stranger: {_leaks(w, sent)}"
    assert PERMISSION_WORDING not in sent.lower(), f"{what} said 'permission' (confirms the server exists)"


# ---------------------------------------------------------------- a stranger with the victim's id


async def test_a_stranger_gets_not_found_from_every_handler_and_nothing_changes(world):
    w = world
    before = _snapshot(w)
    bob = Client(w["bob_token"], ip="10.66.0.2")
    await bob.open(ROUTE, f"/vps/{w['victim']}", {"server_id": w["victim"]})
    await bob.call(SessionState, "require_login")
    sent = await bob.call(ServerDetailState, "load")
    page = await bob.root.get_state(ServerDetailState)
    assert page.status == "missing" and page.label == "" and page.ipv4 == []
    _assert_refused(w, sent, "load")

    calls = _hostile_calls(w)
    assert {name for name, _ in calls} >= _own_handlers(), (
        f"handlers not covered by this test: {_own_handlers() - {name for name, _ in calls}}")
    for name, payload in calls:
        sent = await bob.call(ServerDetailState, name, **payload)
        _assert_refused(w, sent, f"ServerDetailState.{name}")
        assert _snapshot(w) == before, f"ServerDetailState.{name} changed the victim's server"
    assert page.status == "missing"
    assert not _leaks(w, bob.everything_sent())


@pytest.mark.parametrize("org", ["own", "victims"])
async def test_forcing_the_page_onto_the_victims_server_still_finds_nothing(world, org, monkeypatch):
    """Defence in depth: even if the page state pointed at the victim's server (with Bob's own
    organization, or the victim's which he is not in), every service call answers "not found"."""
    w = world
    called: list[str] = []
    for name in SERVICES:
        original = getattr(servers, name)

        def spy(*args, _original=original, _name=name, **kwargs):
            called.append(_name)
            return _original(*args, **kwargs)
        monkeypatch.setattr(servers, name, spy)

    before = _snapshot(w)
    bob = Client(w["bob_token"], ip="10.66.0.2")
    await bob.open(ROUTE, f"/vps/{w['victim']}", {"server_id": w["victim"]})
    await bob.call(SessionState, "require_login")
    await bob.call(ServerDetailState, "load")
    page = await bob.root.get_state(ServerDetailState)

    def force() -> None:
        """The page as if it had loaded the victim's server (what a bug in `load` could leave)."""
        page.status, page.detail_id, page._org_id = "ready", w["victim"], w["b"] if org == "own" else w["a"]
        page.label = page.rebuild_confirm = page.delete_confirm = GUESS
        page.images, page.rebuild_image = [{"id": "debian-12", "label": "Debian 12"}], "debian-12"
        page.resize_plans = [{"id": w["plans"]["Plus"], "name": "Plus"}]
        page.resize_plan_id, page.rdns_ip, page.backups_enabled = w["plans"]["Plus"], "203.0.113.7", True
        page.ipv4, page.action_busy, page.usage_loading, page.backups_loading = ["203.0.113.7"], "", False, False

    for name, payload in _hostile_calls(w):
        if name in ("load", "poll"):  # load would reset the page; poll is the loop (its tick is checked below)
            continue
        force()
        sent = await bob.call(ServerDetailState, name, **payload)
        _assert_refused(w, sent, f"ServerDetailState.{name} (forced)")
        assert _snapshot(w) == before, f"ServerDetailState.{name} (forced) changed the victim's server"
    force()
    page.busy = True
    assert page._poll_tick() == ""
    assert set(called) >= set(SERVICES), f"services never reached: {set(SERVICES) - set(called)}"
    assert page.status == "missing" and page.srv_status == ""
    assert page.notes == "" and page.backups == [] and page.activity_rows == [] and page.usage_rows == []
    assert page.quote == {} and page.usage_transfer_used == ""
    assert not _leaks(w, bob.everything_sent())


async def test_the_browser_cannot_point_the_page_at_another_server(world):
    bob = Client(world["bob_token"], ip="10.66.0.2")
    await bob.open(ROUTE, f"/vps/{world['victim']}", {"server_id": world["victim"]})
    await bob.call(ServerDetailState, "load")
    for var in ("detail_id", "status", "_org_id"):
        with pytest.raises(AttributeError):
            await bob.call(ServerDetailState, "setvar", var_name=var, value=world["victim"])


# ---------------------------------------------------------------- the owner's flow


@pytest.fixture()
async def tess(world):
    tess_id, tess = make_user("tess@tango.example.com", "Tess Tango", org_name="Tango Labs")
    org = personal_org(tess_id)
    server = await _server(tess, org, world["plans"]["Basic"], "tango-web", TESS_ROOT)
    token = _login("tess@tango.example.com", "10.66.0.9")
    client = Client(token, ip="10.66.0.9")
    await client.open(ROUTE, f"/vps/{server['id']}", {"server_id": server["id"]})
    await client.call(SessionState, "require_login")
    sent = await client.call(ServerDetailState, "load")
    return {**world, "client": client, "server": server["id"], "org": str(org), "tess": tess, "tess_id": tess_id,
            "load_sent": sent}


def _row(server_id: str) -> Server:
    with session_scope() as s:
        return s.get(Server, uuid.UUID(server_id))


async def test_the_owner_sees_the_server_and_its_cost(tess):
    page = await tess["client"].root.get_state(ServerDetailState)
    assert page.status == "ready" and page.label == "tango-web"
    assert page.srv_status == "running" and page.status_label == "Running" and not page.busy
    assert page.simulated and page.provider_label == "Simulated"
    assert page.primary_ip and page.ipv4 == _row(tess["server"]).ipv4
    assert page.plan_name == "Basic" and page.region_label == "New York" and page.image_label == "Debian 12"
    assert page.vcpus == 1 and page.memory_text == "2 GB" and page.disk_text == "50 GB" and page.transfer_text == "2 TB"
    assert page.monthly == "$15.00" and page.cost_this_month.startswith("$0.02")
    assert page.can_manage and page.can_delete and page.can_notes and page.can_view_notes
    assert page.cap_rebuild and page.cap_resize and page.cap_root_password_reset and page.cap_reverse_dns
    assert page.other_org is False and page.totp_enabled is False
    assert TESS_ROOT not in tess["client"].everything_sent()


async def test_power_actions_and_the_live_status(tess):
    c = tess["client"]
    page = await c.root.get_state(ServerDetailState)
    assert page.can_stop and not page.can_boot
    sent = await c.call(ServerDetailState, "power", action="reboot")
    assert "Rebooting tango-web" in sent and page.action_busy == ""
    assert page.srv_status == "rebooting" and page.busy and page.pending_text == "Rebooting…"
    assert not page.can_stop  # no second power action offered while it changes
    await server_sync.sync_all(force=True)  # the provider finished; the sync job records it
    assert page._poll_tick() == "tango-web is running."
    assert page.srv_status == "running" and not page.busy and page.pending_text == ""

    sent = await c.call(ServerDetailState, "power", action="shutdown")
    assert "Shutting down tango-web" in sent and page.pending_text == "Shutting down…"
    sent = await c.call(ServerDetailState, "power", action="shutdown")  # the service refuses a second one
    assert "Not possible while the server is stopping" in sent
    await server_sync.sync_all(force=True)
    page._poll_tick()
    assert page.srv_status == "offline" and page.can_boot and not page.can_stop
    sent = await c.call(ServerDetailState, "power", action="boot")
    assert "Powering on tango-web" in sent
    sent = await c.call(ServerDetailState, "power", action="launch")
    assert "not valid" in sent
    with session_scope() as s:
        actions = s.exec(select(ActivityLog.action).where(ActivityLog.entity_id == tess["server"])).all()
    assert {"vps.reboot", "vps.shutdown", "vps.boot"} <= set(actions)


async def test_the_status_loop_stops_when_the_tab_leaves_the_page(tess):
    c = tess["client"]
    page = await c.root.get_state(ServerDetailState)
    assert page._polling_here()
    await c.open("/billing", "/billing")
    assert not page._polling_here()
    await c.call(ServerDetailState, "poll")  # returns at once instead of looping
    other = str(uuid.uuid4())
    await c.open(ROUTE, f"/vps/{other}", {"server_id": other})
    assert not page._polling_here()  # another server's page: this one's loop ends too


async def test_a_finished_change_is_reported_by_the_status_loop(tess):
    c = tess["client"]
    page = await c.root.get_state(ServerDetailState)
    with session_scope() as s:
        row = s.get(Server, uuid.UUID(tess["server"]))
        row.status, row.pending_action = "rebooting", "reboot"
    assert page._poll_tick() == ""
    assert page.busy and page.pending_text == "Rebooting…" and page.status_label == "Rebooting"
    with session_scope() as s:
        row = s.get(Server, uuid.UUID(tess["server"]))
        row.status, row.pending_action = "running", ""
    assert page._poll_tick() == "tango-web is running."
    assert not page.busy and page.pending_text == ""
    with session_scope() as s:
        s.get(Server, uuid.UUID(tess["server"])).deleted_at = s.get(Server, uuid.UUID(tess["server"])).created_at
    page._poll_tick()
    assert page.status == "missing"


async def test_rebuild_with_a_generated_password_never_keeps_it(tess):
    c = tess["client"]
    page = await c.root.get_state(ServerDetailState)
    await c.call(ServerDetailState, "set_tab", value="rebuild")
    await c.call(ServerDetailState, "load_images")
    assert {"id": "debian-12", "label": "Debian 12"} in page.images
    assert page.rebuild_image == "debian-12"  # the current image is offered first
    sent = await c.call(ServerDetailState, "generate_password", target="rebuild")
    scripts = [e for e in c.sent_events if e.name == "_call_script"]
    generated = json.loads(scripts[-1].payload["javascript_code"].split("el.value = ")[1].split(";")[0])
    assert len(generated) == 24 and generated in sent and page.show_rebuild_pw
    own = json.dumps(c.root.dict(), default=str)
    assert generated not in own, "the generated password was kept in state"
    mark = len(c.sent_deltas), len(c.sent_events)

    await c.call(ServerDetailState, "set_rebuild_image", value="ubuntu-24.04")
    await c.call(ServerDetailState, "set_rebuild_confirm", value="wrong-label")
    sent = await c.call(ServerDetailState, "rebuild", form_data={"root_password": generated})
    assert "Type the server's label" in sent
    await c.call(ServerDetailState, "set_rebuild_confirm", value="tango-web")
    assert page.rebuild_ready
    sent = await c.call(ServerDetailState, "rebuild", form_data={"root_password": generated})
    assert "Rebuilding tango-web from Ubuntu" in sent
    assert _row(tess["server"]).image == "ubuntu-24.04" and page.rebuild_confirm == ""
    later = json.dumps([{"n": e.name, "p": e.payload} for e in c.sent_events[mark[1]:]], default=str)
    later += json.dumps(c.sent_deltas[mark[0]:], default=str) + json.dumps(c.root.dict(), default=str)
    assert generated not in later, "the generated password was sent again"
    assert TESS_ROOT not in c.everything_sent()


async def test_root_password_reset_shows_the_provider_refusal_in_the_form(tess):
    c = tess["client"]
    page = await c.root.get_state(ServerDetailState)
    await c.call(ServerDetailState, "set_tab", value="password")
    await c.call(ServerDetailState, "reset_password", form_data={"root_password": "short"})
    assert "12 to 128" in page.reset_error
    typed = "Brand-New-Root-7731"
    sent = await c.call(ServerDetailState, "reset_password", form_data={"root_password": typed})
    assert page.reset_error == "" and "root password of tango-web was reset" in sent
    assert typed not in c.everything_sent(), "a typed password was sent back to the browser"
    assert servers.root_password_for_console(None, _row(tess["server"])) == typed


async def test_backups_rdns_notes_usage_and_activity(tess):
    c = tess["client"]
    page = await c.root.get_state(ServerDetailState)
    sent = await c.call(ServerDetailState, "set_backups", enabled=True)
    assert "Backups are on" in sent and page.backups_enabled and _row(tess["server"]).backups_enabled
    assert page.monthly == "$17.00"  # the backup upcharge shows in the price
    await c.call(ServerDetailState, "set_tab", value="backups")
    await c.call(ServerDetailState, "load_backups")
    assert page.backups_loaded and page.backups_error == "" and page.backups == []

    await c.call(ServerDetailState, "open_rdns", ip=page.primary_ip)
    await c.call(ServerDetailState, "save_rdns", form_data={"hostname": "not a host"})
    assert page.rdns_open and "host name" in page.rdns_error
    sent = await c.call(ServerDetailState, "save_rdns", form_data={"hostname": "Web.Tango.example.com."})
    assert not page.rdns_open and "now points to web.tango.example.com" in sent
    sent = await c.call(ServerDetailState, "open_rdns", ip="203.0.113.99")  # not one of its addresses
    assert "not valid" in sent

    sent = await c.call(ServerDetailState, "save_notes", form_data={"notes": "Line one\nLine two"})
    assert "Notes saved" in sent and page.notes == "Line one\nLine two"

    await c.call(ServerDetailState, "set_tab", value="usage")
    await c.call(ServerDetailState, "load_usage")
    assert page.usage_loaded and page.usage_error == "" and page.usage_has_transfer
    assert page.usage_transfer_quota == "2 TB" and page.usage_transfer_resets.startswith("on ")
    await c.call(ServerDetailState, "set_usage_period", value="7d")
    await c.call(ServerDetailState, "load_usage")
    assert page.usage_period == "7d" and len(page.usage_rows) <= 288
    sent = await c.call(ServerDetailState, "set_usage_period", value="30d")
    assert page.usage_period == "7d"

    await c.call(ServerDetailState, "set_tab", value="activity")
    await c.call(ServerDetailState, "load_activity")
    actions = [r["action"] for r in page.activity_rows]
    assert {"vps.backups_enabled", "vps.reverse_dns", "vps.notes_updated", "vps.created"} <= set(actions)
    assert page.activity_total == len(actions)


async def test_resize_shows_the_quote_then_changes_the_plan(tess):
    c = tess["client"]
    page = await c.root.get_state(ServerDetailState)
    await c.call(ServerDetailState, "set_tab", value="resize")
    await c.call(ServerDetailState, "load_resize")
    names = [p["name"] for p in page.resize_plans]
    assert names == ["Starter", "Plus"]
    plus = next(p for p in page.resize_plans if p["name"] == "Plus")
    await c.call(ServerDetailState, "choose_plan", plan_id=plus["id"])
    assert page.resize_open
    assert page.quote["old_monthly"] == "$15.00" and page.quote["new_monthly"] == "$27.00"
    assert page.quote["diff_monthly"] == "+$12.00" and page.quote["direction"] == "up"
    sent = await c.call(ServerDetailState, "confirm_resize")
    assert "Resizing tango-web to Plus" in sent and not page.resize_open
    assert page.plan_name == "Plus" and page.vcpus == 2
    await c.call(ServerDetailState, "load_resize")
    assert [p["name"] for p in page.resize_plans] == ["Starter", "Basic"]
    sent = await c.call(ServerDetailState, "choose_plan", plan_id=str(uuid.uuid4()))
    assert "not valid" in sent


async def test_delete_needs_the_label_and_password_then_leaves_the_page(tess):
    c = tess["client"]
    page = await c.root.get_state(ServerDetailState)
    await c.call(ServerDetailState, "set_tab", value="delete")
    await c.call(ServerDetailState, "set_delete_open", value=True)
    await c.call(ServerDetailState, "set_delete_confirm", value="tango-web")
    assert page.delete_ready
    sent = await c.call(ServerDetailState, "delete_server", form_data={"password": "wrong-password", "code": ""})
    assert page.delete_error == "Your current password is not correct." and page.delete_open
    assert _row(tess["server"]).deleted_at is None
    sent = await c.call(ServerDetailState, "delete_server", form_data={"password": PASSWORD, "code": ""})
    assert "Deleted tango-web" in sent and '"/vps"' in sent
    assert _row(tess["server"]).deleted_at is not None and page.status == "missing"
    assert PASSWORD not in c.everything_sent()


async def test_a_viewer_gets_no_actions_and_the_services_refuse_them(tess):
    vic_id, _ = make_user("vic@tango.example.com", "Vic Viewer")
    add_member(uuid.UUID(tess["org"]), vic_id, "viewer")
    vic = Client(_login("vic@tango.example.com", "10.66.0.11"), ip="10.66.0.11")
    await vic.open(ROUTE, f"/vps/{tess['server']}", {"server_id": tess["server"]})
    await vic.call(ServerDetailState, "load")
    page = await vic.root.get_state(ServerDetailState)
    assert page.status == "ready" and not page.can_manage and not page.can_delete and not page.can_notes
    assert page.can_view_notes and page.other_org  # his active organization is his own
    assert not page.can_stop and not page.show_rebuild and not page.show_resize and not page.show_password_tab
    before = _row(tess["server"]).updated_at
    for name, payload in (("power", {"action": "reboot"}), ("load_images", {}), ("load_resize", {}),
                          ("save_notes", {"form_data": {"notes": "viewer"}})):
        sent = await vic.call(ServerDetailState, name, **payload)
        assert "permission" in sent.lower(), f"{name} was not refused"
    assert _row(tess["server"]).updated_at == before
    assert page.images == [] and page.resize_plans == []


async def test_a_server_of_another_of_my_organizations_opens_with_a_note(tess):
    c = tess["client"]
    second = orgs.create_organization(tess["tess"], name="Second Venture")
    orgs.switch_active_organization(tess["tess"], second["id"])
    await c.call(SessionState, "require_login")
    await c.call(ServerDetailState, "load")
    page = await c.root.get_state(ServerDetailState)
    assert page.status == "ready" and page.other_org and page.org_name == "Tango Labs"


def test_usage_view_scales_rates_and_buckets_long_series():
    from zoneinfo import ZoneInfo
    points = [{"at": f"2026-01-01T{h:02d}:{m:02d}:00+00:00", "cpu": 50.0, "net_in": 2_500_000.0, "net_out": None,
               "disk_io": None} for h in range(24) for m in range(0, 60, 1)]
    view = usage_view({"points": points, "transfer": {"used_gb": "1.5", "quota_gb": "1000"}}, "24h", ZoneInfo("UTC"))
    assert len(view["rows"]) <= 288 and view["rows"][0]["t"] == "00:00"
    assert view["net_unit"] == "Mbit/s" and view["rows"][0]["net_in"] == 2.5
    assert view["has_cpu"] and view["has_net"] and not view["has_disk"]
    assert view["transfer_text"] == "1.5 GB of 1 TB used this month" and view["transfer_pct"] == 0
    empty = usage_view({"points": [], "transfer": None}, "7d", ZoneInfo("UTC"))
    assert empty["rows"] == [] and not empty["has_transfer"]
