"""The console's state (skypanel/state/console.py) through the real Reflex event handlers
(tests/integration/reflex_client.py), with the real console service and the simulated provider.

- The owner: the page loads, says the console is available and mints a ticket for the component
  (`/ws/console/<id>`); Reconnect mints a new one. The root password is never sent.
- Clear panels: a server that is shut down, and one without a stored root password.
- A viewer-role member sees why they cannot open it and gets no ticket; a member of another
  organization gets "not found" and no ticket; a signed-out tab is sent to sign in.
- The component's status reports are view data only and hand-made ones are ignored.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from skypanel.backend.config import get_settings
from skypanel.backend.db import session_scope
from skypanel.backend.models import Server
from skypanel.backend.services import auth, catalog, plans, provider_accounts, server_sync, servers, wallet
from skypanel.backend.services.context import Actor
from skypanel.state.console import ConsoleState

from .factories import PASSWORD, add_member, make_user, personal_org
from .reflex_client import Client, register_pages

ROUTE = "/vps/[server_id]/console"
ROOT = "Console-Root-Secret-5521"


@pytest.fixture(scope="module", autouse=True)
def _pages_registered():
    register_pages()


@pytest.fixture()
def instant_provider(monkeypatch):
    monkeypatch.setattr(get_settings(), "simulated_delay_scale", 0.0)


def _login(email: str, ip: str) -> str:
    return auth.login(email=email, password=PASSWORD, ip=ip, user_agent="pytest-state-client")["session_token"]


@pytest.fixture()
async def world(db, instant_provider):
    _admin_id, admin = make_user("root@skypanel.example.com", "Rita Root", admin=True)
    account = provider_accounts.add_account(admin, kind="simulated", name="Simulated", token="")
    provider_accounts.update_account(admin, account["id"], allowed_regions=[{"id": "sim-nyc", "label": "New York"}])
    await catalog.refresh(account["id"])
    plan_id = plans.create_plan(admin, provider_account_id=account["id"], provider_plan_id="sim-1c-1g",
                                name="Starter", category="standard", markup="3", backup_price="2",
                                regions=["sim-nyc"])["id"]
    owner_id, owner = make_user("olga@oak.example.com", "Olga Oak", org_name="Oak")
    org = personal_org(owner_id)
    with session_scope() as s:
        wallet._post(s, org, Decimal("50"), "topup", actor=Actor.system(), description="funds")
    created = await servers.create_server(owner, str(org), plan_id=plan_id, region="sim-nyc", image="debian-12",
                                          label="oak-shell", root_password=ROOT, delay_scale=0)
    await server_sync.sync_all(force=True)
    return {"org": str(org), "owner": owner, "server": created["id"]}


async def _client(email: str, ip: str, server_id: str) -> Client:
    c = Client(_login(email, ip), ip=ip)
    await c.open(ROUTE, f"/vps/{server_id}/console", {"server_id": server_id})
    return c


async def test_the_owner_gets_a_ticket_and_a_new_one_on_reconnect(world):
    c = await _client("olga@oak.example.com", "10.70.0.1", world["server"])
    sent = await c.call(ConsoleState, "load")
    page = await c.root.get_state(ConsoleState)
    assert page.view == "ready" and page.available and page.blocker == "" and page.label == "oak-shell"
    assert page.srv_status == "running" and page.primary_ip
    assert "connect" in sent  # load goes on to connect
    await c.call(ConsoleState, "connect")
    first = page.ticket
    assert first and page.ws_path == f"/ws/console/{world['server']}" and not page.minting
    assert page.console_href == f"/vps/{world['server']}/console"
    await c.call(ConsoleState, "status_changed", state="connecting", reason="")
    assert page.ticket == "" and page.connect_label == "Reconnect"  # taken by the component: not kept
    await c.call(ConsoleState, "status_changed", state="connected", reason="")
    assert page.conn_state == "connected"
    await c.call(ConsoleState, "status_changed", state="closed", reason="The session ended.")
    assert page.conn_state == "closed" and page.conn_reason == "The session ended."
    await c.call(ConsoleState, "connect")
    assert page.ticket and page.ticket != first
    assert ROOT not in c.everything_sent()


async def test_hand_made_status_reports_are_ignored(world):
    c = await _client("olga@oak.example.com", "10.70.0.1", world["server"])
    await c.call(ConsoleState, "load")
    page = await c.root.get_state(ConsoleState)
    for state, reason in (("owned", ""), (7, ""), ("closed", {"x": 1})):
        await c.call(ConsoleState, "status_changed", state=state, reason=reason)
        assert page.conn_state == "idle"
    await c.call(ConsoleState, "status_changed", state="closed", reason="x" * 5000)
    assert len(page.conn_reason) == 300


async def test_a_stopped_server_and_one_without_a_password_say_what_to_do(world):
    await servers.power(world["owner"], world["org"], world["server"], "shutdown")
    await server_sync.sync_all(force=True)
    c = await _client("olga@oak.example.com", "10.70.0.1", world["server"])
    await c.call(ConsoleState, "load")
    page = await c.root.get_state(ConsoleState)
    assert page.view == "ready" and not page.available and page.blocker == "stopped"
    assert "not running" in page.reason.lower()
    sent = await c.call(ConsoleState, "connect")
    assert "not running" in sent.lower() and page.ticket == ""

    await servers.power(world["owner"], world["org"], world["server"], "boot")
    await server_sync.sync_all(force=True)
    with session_scope() as s:
        s.get(Server, uuid.UUID(world["server"])).root_password_enc = None
    await c.call(ConsoleState, "check_again")
    await c.call(ConsoleState, "load")
    assert page.blocker == "credentials" and page.can_reset_password and "root password" in page.reason.lower()
    assert page.ticket == ""


async def test_a_viewer_a_stranger_and_a_signed_out_tab_get_no_ticket(world):
    viewer_id, _ = make_user("vera@oak.example.com", "Vera Viewer")
    add_member(uuid.UUID(world["org"]), viewer_id, "viewer")
    c = await _client("vera@oak.example.com", "10.70.0.2", world["server"])
    await c.call(ConsoleState, "load")
    page = await c.root.get_state(ConsoleState)
    assert page.view == "ready" and not page.available and page.blocker == "permission"
    sent = await c.call(ConsoleState, "connect")
    assert page.ticket == "" and "permission" in sent.lower()
    assert ROOT not in c.everything_sent()

    make_user("sven@spruce.example.com", "Sven Spruce", org_name="Spruce")
    c = await _client("sven@spruce.example.com", "10.70.0.3", world["server"])
    await c.call(ConsoleState, "load")
    page = await c.root.get_state(ConsoleState)
    assert page.view == "missing" and page.label == ""
    sent = await c.call(ConsoleState, "connect")
    assert page.ticket == "" and "oak-shell" not in c.everything_sent()

    c = await _client("olga@oak.example.com", "10.70.0.4", world["server"])
    await c.call(ConsoleState, "load")
    auth.logout(c.session_token)
    sent = await c.call(ConsoleState, "connect")
    page = await c.root.get_state(ConsoleState)
    assert "/login" in sent and page.ticket == ""
