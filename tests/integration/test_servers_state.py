"""The /vps list and the /vps/create wizard through their real Reflex handlers (Reflex's own
`process_event`, see reflex_client.py), on real PostgreSQL with the built-in simulated provider.

- Tenancy: a member of another organization lists, searches, polls and creates only in their own
  organization; ids of another organization's servers sent to the poller find nothing.
- Permissions: a role without vps_create sees no "Create server" button, and the wizard refuses
  every step (decided on the server).
- Live status: the poller updates badges and addresses in place, polls fast while a server is
  changing state and slowly otherwise, re-checks the session every round, and ends when the user
  leaves the page.
- Secrets: a typed root password is never sent to the browser; a generated one is shown once and
  never again after "Create server"; the state a reconnecting tab is hydrated with holds neither.
- Create: success redirects to the server; errors go to the step that owns the field, not enough
  funds shows on the review step with the amount needed.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

import pytest
from sqlmodel import select

from skypanel.backend.db import session_scope
from skypanel.backend.models import Server, ServerCharge, Wallet
from skypanel.backend.services import auth, catalog, plans, provider_accounts, servers, wallet
from skypanel.backend.services.context import Actor
from skypanel.state import servers as servers_state_module
from skypanel.state.server_create import BACKUPS, DETAILS, IMAGE, LOCATION, PLAN, REVIEW, ServerCreateState
from skypanel.state.servers import POLL_FAST, POLL_SLOW, ServersState
from skypanel.state.session import SessionState

from .factories import PASSWORD, add_member, make_user, personal_org
from .reflex_client import Client, register_pages

TYPED = "Typed-Root-Passw0rd-4417"


@pytest.fixture(scope="module", autouse=True)
def _pages_registered():
    register_pages()


def _login(email: str, ip: str) -> str:
    return auth.login(email=email, password=PASSWORD, ip=ip, user_agent="pytest-state-client")["session_token"]


def _fund(org, amount: str) -> None:
    with session_scope() as s:
        wallet._post(s, org, Decimal(amount), "topup", actor=Actor.system(), reference="T", description="funds")


@pytest.fixture()
async def world(db):
    """A simulated provider with two locations and two plans; Alice's organization A with a server
    and money; Bob's organization B (empty, some money); Vera, a viewer in A."""
    _, admin = make_user("admin@sky.example.com", admin=True)
    account = provider_accounts.add_account(admin, kind="simulated", name="Demo cloud", token="")
    provider_accounts.update_account(admin, account["id"], allowed_regions=[
        {"id": "sim-nyc", "label": "New York"}, {"id": "sim-fra", "label": "Frankfurt"}])
    await catalog.refresh(account["id"])
    starter = plans.create_plan(admin, provider_account_id=account["id"], provider_plan_id="sim-1c-1g",
                                name="Starter", category="standard", markup="2.30", backup_price="1.46",
                                regions=["sim-nyc", "sim-fra"])
    big = plans.create_plan(admin, provider_account_id=account["id"], provider_plan_id="sim-2c-4g",
                            name="Business", category="cpu", markup="6", backup_price="6", regions=["sim-nyc"])

    alice_id, alice = make_user("alice@aurora.example.com", "Alice Aurora", org_name="Aurora Confidential")
    a = personal_org(alice_id)
    _fund(a, "100")
    a_server = await servers.create_server(alice, str(a), plan_id=starter["id"], region="sim-nyc",
                                           image="debian-12", label="aurora-secret-db",
                                           root_password="Alice-Root-Pw-9931x")
    bob_id, bob = make_user("bob@bravo.example.com", "Bob Bravo", org_name="Bravo Works")
    b = personal_org(bob_id)
    _fund(b, "50")
    vera_id, _ = make_user("vera@aurora.example.com", "Vera Viewer")
    add_member(a, vera_id, "viewer")
    from skypanel.backend.services import orgs
    orgs.switch_active_organization(Actor(user_id=vera_id, is_platform_admin=False, ip="127.0.0.1",
                                          user_agent="pytest"), str(a))
    return {"account": account["id"], "starter": starter["id"], "big": big["id"], "a": str(a), "b": str(b),
            "alice": alice, "bob": bob, "a_server": a_server,
            "alice_token": _login("alice@aurora.example.com", "10.61.0.1"),
            "bob_token": _login("bob@bravo.example.com", "10.61.0.2"),
            "vera_token": _login("vera@aurora.example.com", "10.61.0.3")}


def _sockets():
    """The running app's websocket registry (what tells the poller the tab is still open)."""
    from skypanel.skypanel import app

    return app.event_namespace._token_manager  # noqa: SLF001


async def _tab(token: str, route: str, ip: str) -> Client:
    """A signed-in tab on `route` whose websocket is connected."""
    tab = Client(token, ip=ip)
    await tab.open(route, route)
    await _sockets().link_token_to_sid(tab.token, "sid-" + tab.token)
    await tab.call(SessionState, "require_login")
    return tab


def _a_markers(world) -> list[str]:
    return ["aurora-secret-db", world["a_server"]["id"], *world["a_server"]["ipv4"]]


def _assert_no_a(sent: str, world, where: str, *, typed_by_b: tuple[str, ...] = ()) -> None:
    """None of A's server data in `sent`, except what B typed himself (his search box echoes it)."""
    found = [m for m in _a_markers(world) if m and m not in typed_by_b and m in sent]
    assert not found, f"{where} sent organization A's server to B: {found}"


# ---------------------------------------------------------------- the list


async def test_list_shows_the_own_organization_only_and_the_create_button_by_permission(world):
    alice = await _tab(world["alice_token"], "/vps", "10.61.0.1")
    await alice.call(ServersState, "load")
    page = await alice.root.get_state(ServersState)
    assert [r.label for r in page.rows] == ["aurora-secret-db"]
    row = page.rows[0]
    assert row.simulated and row.href == f"/vps/{world['a_server']['id']}" and row.plan_name == "Starter"
    assert row.region_label == "New York" and row.monthly == "$7.30"
    assert page.can_create and not page.denied
    assert any(e.name.endswith("servers_state.poll") for e in alice.sent_events), "the status poller never started"

    bob = await _tab(world["bob_token"], "/vps", "10.61.0.2")
    sent = await bob.call(ServersState, "load")
    for name, payload in [("set_search", {"value": "aurora"}), ("set_search", {"value": world["a_server"]["ipv4"][0]}),
                          ("set_status_filter", {"value": "provisioning"}), ("clear_filters", {}), ("refresh", {})]:
        sent += await bob.call(ServersState, name, **payload)
    page = await bob.root.get_state(ServersState)
    assert page.rows == [] and page.total == 0 and page.can_create
    _assert_no_a(sent + bob.everything_sent(), world, "ServersState", typed_by_b=(world["a_server"]["ipv4"][0],))

    vera = await _tab(world["vera_token"], "/vps", "10.61.0.3")
    await vera.call(ServersState, "load")
    page = await vera.root.get_state(ServersState)
    assert [r.label for r in page.rows] == ["aurora-secret-db"]  # viewers see servers ...
    assert page.can_create is False  # ... but get no "Create server" button


async def test_status_filter_and_search(world):
    alice = await _tab(world["alice_token"], "/vps", "10.61.0.1")
    await alice.call(ServersState, "load")
    page = await alice.root.get_state(ServersState)
    status = page.rows[0].status
    await alice.call(ServersState, "set_status_filter", value="offline" if status != "offline" else "running")
    assert page.rows == [] and page.filtered
    await alice.call(ServersState, "set_status_filter", value="no-such-status")  # hand-made: back to all
    assert page.status_filter == "all" and len(page.rows) == 1
    await alice.call(ServersState, "set_search", value="AURORA-secret")
    assert len(page.rows) == 1
    await alice.call(ServersState, "set_search", value="nothing-like-this")
    assert page.rows == []


class _Ticks:
    """Stands in for the poller's pause: records each interval and runs a step per round."""

    def __init__(self, steps):
        self.intervals: list[float] = []
        self.steps = list(steps)

    async def __call__(self, seconds: float) -> None:
        self.intervals.append(seconds)
        if self.steps:
            await self.steps.pop(0)()
        else:  # safety: a poller that does not stop fails the test instead of hanging
            raise AssertionError("the poller did not stop")


def _set_status(server_id: str, status: str, ipv4: list[str] | None = None) -> None:
    with session_scope() as s:
        row = s.get(Server, uuid.UUID(server_id))
        row.status = status
        if ipv4 is not None:
            row.ipv4 = ipv4


async def test_poller_updates_badges_fast_while_busy_and_stops_when_the_user_leaves(world, monkeypatch):
    sid = world["a_server"]["id"]
    _set_status(sid, "provisioning", [])
    alice = await _tab(world["alice_token"], "/vps", "10.61.0.1")
    await alice.call(ServersState, "load")
    page = await alice.root.get_state(ServersState)
    assert page.rows[0].busy and page.rows[0].status_label == "Provisioning" and page.rows[0].primary_ip == ""

    async def boots():
        _set_status(sid, "running", ["203.0.113.77", "203.0.113.78"])

    async def leaves():
        await alice.open("/dashboard", "/dashboard")

    ticks = _Ticks([boots, leaves])
    monkeypatch.setattr(servers_state_module, "_sleep", ticks)
    sent = await alice.call(ServersState, "poll")
    row = page.rows[0]
    assert (row.status, row.status_label, row.status_color, row.busy) == ("running", "Running", "green", False)
    assert (row.primary_ip, row.more_ips) == ("203.0.113.77", "+1")
    assert "203.0.113.77" in sent  # the badge and address travelled to the browser without a reload
    # Fast while a server was changing state, slow once none was; then the user left: it ended.
    assert ticks.intervals == [POLL_FAST, POLL_SLOW]


async def test_poller_stops_on_unmount_and_when_a_newer_one_starts(world, monkeypatch):
    _set_status(world["a_server"]["id"], "running")
    alice = await _tab(world["alice_token"], "/vps", "10.61.0.1")
    await alice.call(ServersState, "load")

    async def unmount():
        await alice.call(ServersState, "stop_polling")

    ticks = _Ticks([unmount])
    monkeypatch.setattr(servers_state_module, "_sleep", ticks)
    await alice.call(ServersState, "poll")
    assert ticks.intervals == [POLL_SLOW]
    assert (await alice.root.get_state(ServersState)).live is False

    # A second poll of the same tab (e.g. the page loaded again) supersedes the first.
    async def newer_poll_started():
        (await alice.root.get_state(ServersState))._poll_generation += 1

    ticks = _Ticks([newer_poll_started])
    monkeypatch.setattr(servers_state_module, "_sleep", ticks)
    await alice.call(ServersState, "poll")
    assert len(ticks.intervals) == 1


async def test_poller_stops_when_the_tab_is_closed(world, monkeypatch):
    _set_status(world["a_server"]["id"], "running")
    alice = await _tab(world["alice_token"], "/vps", "10.61.0.1")
    await alice.call(ServersState, "load")

    async def tab_closed():
        await _sockets().disconnect_token(alice.token, "sid-" + alice.token)

    ticks = _Ticks([tab_closed])
    monkeypatch.setattr(servers_state_module, "_sleep", ticks)
    await alice.call(ServersState, "poll")
    assert ticks.intervals == [POLL_SLOW]


async def test_poller_rechecks_the_session_every_round(world, monkeypatch):
    alice = await _tab(world["alice_token"], "/vps", "10.61.0.1")
    await alice.call(ServersState, "load")

    async def signed_out_elsewhere():
        auth.logout(world["alice_token"])

    monkeypatch.setattr(servers_state_module, "_sleep", _Ticks([signed_out_elsewhere]))
    sent = await alice.call(ServersState, "poll")
    assert "/login?next=/vps" in sent  # sent back to sign in; the loop ended (no AssertionError)


async def test_poller_of_another_organization_finds_nothing_of_a(world, monkeypatch):
    """Even with A's server ids in B's rows (the browser cannot put them there: defence in depth),
    the statuses B's poller reads are B's organization's only."""
    bob = await _tab(world["bob_token"], "/vps", "10.61.0.2")
    await bob.call(ServersState, "load")
    page = await bob.root.get_state(ServersState)
    planted = servers_state_module.ServerRow(id=world["a_server"]["id"], label="planted", status="provisioning",
                                             busy=True)
    page.rows = [planted]
    _set_status(world["a_server"]["id"], "running", ["198.51.100.9"])

    async def leaves():
        await bob.open("/dashboard", "/dashboard")

    monkeypatch.setattr(servers_state_module, "_sleep", _Ticks([lambda: _noop(), leaves]))
    sent = await bob.call(ServersState, "poll")
    assert page.rows == [planted]  # nothing came back for A's id
    assert "198.51.100.9" not in sent
    _assert_no_a(sent, world, "ServersState.poll", typed_by_b=(world["a_server"]["id"],))  # planted above
    with pytest.raises(AttributeError):  # and the browser cannot point the page at A
        await bob.call(ServersState, "setvar", var_name="_org_id", value=world["a"])


async def _noop() -> None:
    return None


# ---------------------------------------------------------------- the wizard


async def _walk_to_details(tab: Client, world) -> ServerCreateState:
    await tab.call(ServerCreateState, "load")
    wiz = await tab.root.get_state(ServerCreateState)
    assert not wiz.denied
    await tab.call(ServerCreateState, "choose_location", key=f"{world['account']}|sim-nyc")
    await tab.call(ServerCreateState, "next_step")
    assert wiz.step == PLAN
    assert [g.title for g in wiz.plan_options] == ["Standard", "Dedicated CPU"] or len(wiz.plan_options) == 2
    await tab.call(ServerCreateState, "choose_plan", plan_id=world["starter"])
    await tab.call(ServerCreateState, "next_step")
    assert wiz.step == IMAGE
    assert "Debian" in [g.title for g in wiz.image_options]
    await tab.call(ServerCreateState, "choose_image", image_id="debian-12")
    await tab.call(ServerCreateState, "next_step")
    assert wiz.step == DETAILS
    return wiz


async def test_wizard_offers_locations_plans_and_images_and_validates_each_step(world):
    tab = await _tab(world["bob_token"], "/vps/create", "10.61.0.2")
    await tab.call(ServerCreateState, "load")
    wiz = await tab.root.get_state(ServerCreateState)
    [group] = wiz.location_options
    assert group.simulated and group.title == "Simulated"
    assert [(loc.label, loc.country) for loc in group.locations] == [("New York", "US"), ("Frankfurt", "DE")]
    assert [loc.from_price for loc in group.locations] == ["$7.30", "$7.30"]  # the cheapest plan there

    await tab.call(ServerCreateState, "next_step")  # nothing chosen: stays, says why
    assert wiz.step == LOCATION and wiz.location_error
    await tab.call(ServerCreateState, "go_to", step=REVIEW)  # cannot jump ahead
    assert wiz.step == LOCATION

    await tab.call(ServerCreateState, "choose_location", key=f"{world['account']}|sim-fra")
    await tab.call(ServerCreateState, "next_step")
    assert [p.name for g in wiz.plan_options for p in g.plans] == ["Starter"]  # Business is New York only
    sent = await tab.call(ServerCreateState, "choose_plan", plan_id=world["big"])  # not offered here
    assert wiz.plan_id == "" and "not valid" in sent
    await tab.call(ServerCreateState, "choose_plan", plan_id=world["starter"])
    assert wiz.estimate_monthly == "$7.30" and wiz.backup_monthly == "$1.46"
    await tab.call(ServerCreateState, "next_step")
    sent = await tab.call(ServerCreateState, "choose_image", image_id="windows-2022")
    assert wiz.image_id == "" and "not valid" in sent
    await tab.call(ServerCreateState, "choose_image", image_id="ubuntu-24.04")
    await tab.call(ServerCreateState, "next_step")
    assert wiz.step == DETAILS

    await tab.call(ServerCreateState, "set_label", value="9-bad--label")
    assert "start with a letter" in wiz.label_error
    await tab.call(ServerCreateState, "next_step")
    assert wiz.step == DETAILS and wiz.password_error
    await tab.call(ServerCreateState, "set_label", value="web-1")
    assert wiz.label_error == ""
    await tab.call(ServerCreateState, "set_root_password", value="short")
    assert wiz.strength == 1 and "12 to 128" in wiz.strength_message
    await tab.call(ServerCreateState, "set_root_password", value="alllowercaseletters")
    assert wiz.strength == 1 and "three" in wiz.strength_message
    await tab.call(ServerCreateState, "set_root_password", value=TYPED)
    assert wiz.strength == 4
    await tab.call(ServerCreateState, "next_step")
    assert wiz.step == BACKUPS
    await tab.call(ServerCreateState, "set_backups", value=True)
    assert wiz.estimate_monthly == "$8.76"
    await tab.call(ServerCreateState, "next_step")
    assert wiz.step == REVIEW
    assert (wiz.monthly, wiz.balance, wiz.enough, wiz.runway_hours) == ("$8.76", "$50.00", True, 24)

    # Back to an earlier step through the indicator, and forward again to where the user was.
    await tab.call(ServerCreateState, "go_to", step=PLAN)
    assert wiz.step == PLAN
    await tab.call(ServerCreateState, "go_to", step=REVIEW)
    assert wiz.step == REVIEW
    # Changing the location to one without the plan sends the user back through the plan step.
    await tab.call(ServerCreateState, "go_to", step=LOCATION)
    await tab.call(ServerCreateState, "choose_location", key=f"{world['account']}|sim-nyc")
    assert wiz.plan_id == world["starter"]  # Starter is sold in New York too: kept
    for bad in ("x|y", 5, None):
        sent = await tab.call(ServerCreateState, "choose_location", key=bad)
        assert "not valid" in sent
    assert wiz.location == f"{world['account']}|sim-nyc"


async def test_a_member_without_vps_create_gets_no_wizard(world):
    tab = await _tab(world["vera_token"], "/vps/create", "10.61.0.3")
    sent = await tab.call(ServerCreateState, "load")
    wiz = await tab.root.get_state(ServerCreateState)
    assert wiz.denied and wiz.location_options == [] and wiz.org_name == "Aurora Confidential"
    for name, payload in [("choose_location", {"key": f"{world['account']}|sim-nyc"}),
                          ("choose_plan", {"plan_id": world["starter"]}), ("next_step", {}),
                          ("go_to", {"step": REVIEW}), ("create", {})]:
        sent += await tab.call(ServerCreateState, name, **payload)
    assert wiz.location == "" and wiz.plan_id == ""
    with session_scope() as s:
        assert len(s.exec(select(Server).where(Server.organization_id == uuid.UUID(world["a"]))).all()) == 1


async def test_bob_creates_only_in_his_own_organization(world):
    tab = await _tab(world["bob_token"], "/vps/create", "10.61.0.2")
    wiz = await _walk_to_details(tab, world)
    assert wiz._org_id == world["b"]
    with pytest.raises(AttributeError):
        await tab.call(ServerCreateState, "setvar", var_name="_org_id", value=world["a"])
    await tab.call(ServerCreateState, "set_label", value="bravo-1")
    await tab.call(ServerCreateState, "set_root_password", value=TYPED)
    for _ in range(2):
        await tab.call(ServerCreateState, "next_step")
    sent = await tab.call(ServerCreateState, "create")
    _assert_no_a(sent + tab.everything_sent(), world, "ServerCreateState")
    with session_scope() as s:
        rows = s.exec(select(Server).where(Server.label == "bravo-1")).all()
        assert [str(r.organization_id) for r in rows] == [world["b"]]
        assert len(s.exec(select(Server).where(Server.organization_id == uuid.UUID(world["a"]))).all()) == 1


def _secret_in(text: str, password: str) -> bool:
    return password in text or json.dumps(password)[1:-1] in text


async def test_typed_root_password_is_never_sent_to_the_browser(world):
    tab = await _tab(world["bob_token"], "/vps/create", "10.61.0.2")
    wiz = await _walk_to_details(tab, world)
    sent = await tab.call(ServerCreateState, "set_label", value="bravo-typed")
    sent += await tab.call(ServerCreateState, "set_root_password", value=TYPED)
    assert wiz._root_password == TYPED and wiz.password_set and wiz.strength == 4
    for _ in range(2):
        sent += await tab.call(ServerCreateState, "next_step")
    assert wiz.step == REVIEW
    sent += await tab.call(ServerCreateState, "create")
    redirects = [e for e in tab.sent_events if e.name == "_redirect"]
    with session_scope() as s:
        server = s.exec(select(Server).where(Server.label == "bravo-typed")).one()
        assert server.root_password_enc and servers.root_password_for_console(s, server) == TYPED
    assert redirects and redirects[-1].payload["path"] == f"/vps/{server.id}"
    assert wiz._root_password == "" and not wiz.password_set
    assert not _secret_in(sent + tab.everything_sent(), TYPED), "the typed root password reached the browser"


async def test_generated_password_is_shown_once_then_never_sent_again(world):
    tab = await _tab(world["bob_token"], "/vps/create", "10.61.0.2")
    wiz = await _walk_to_details(tab, world)
    await tab.call(ServerCreateState, "set_label", value="bravo-gen")
    sent = await tab.call(ServerCreateState, "generate_password")
    generated = wiz._root_password
    assert generated and wiz.password_generated and wiz.reveal and wiz.strength == 4
    servers.clean_root_password(generated)  # the same rules create_server applies
    # Shown once: written into the password field by one event (the positive control) ...
    [fill] = [e for e in tab.sent_events if e.name == "_set_value"]
    assert fill.payload["value"] == generated and _secret_in(sent, generated)
    # ... and never held in a var the browser is sent (not now, not on reconnect).
    assert not _secret_in(json.dumps(tab.sent_deltas, default=str), generated)
    assert not _secret_in(json.dumps(tab.root.dict(), default=str), generated)
    for _ in range(2):
        await tab.call(ServerCreateState, "next_step")
    assert wiz.step == REVIEW
    mark = (len(tab.sent_deltas), len(tab.sent_events))

    await tab.call(ServerCreateState, "create")
    after = json.dumps([{"name": e.name, "payload": e.payload} for e in tab.sent_events[mark[1]:]], default=str) \
        + json.dumps(tab.sent_deltas[mark[0]:], default=str)
    assert any(e.name == "_redirect" for e in tab.sent_events[mark[1]:]), "the server was not created"
    assert not _secret_in(after, generated), "the generated password was sent again after creation"
    assert not _secret_in(json.dumps(tab.root.dict(), default=str), generated)
    assert wiz._root_password == "" and not wiz.password_generated
    # And it is the server's root password (encrypted at rest, for the console).
    with session_scope() as s:
        server = s.exec(select(Server).where(Server.label == "bravo-gen")).one()
        assert servers.root_password_for_console(s, server) == generated
    # Reloading the wizard starts clean.
    await tab.call(ServerCreateState, "load")
    assert not wiz.password_generated and not wiz.password_set and wiz._root_password == ""


async def test_typing_an_own_password_replaces_the_generated_one(world):
    tab = await _tab(world["bob_token"], "/vps/create", "10.61.0.2")
    wiz = await _walk_to_details(tab, world)
    await tab.call(ServerCreateState, "generate_password")
    assert wiz.password_generated
    await tab.call(ServerCreateState, "set_root_password", value=TYPED)
    assert not wiz.password_generated and wiz._root_password == TYPED


async def test_not_enough_funds_shows_on_review_with_the_amount(world):
    tab = await _tab(world["bob_token"], "/vps/create", "10.61.0.2")
    with session_scope() as s:
        wallet._post(s, uuid.UUID(world["b"]), Decimal("-49.90"), "adjustment", actor=Actor.system(),
                     description="drain")
    wiz = await _walk_to_details(tab, world)
    await tab.call(ServerCreateState, "set_label", value="bravo-poor")
    await tab.call(ServerCreateState, "set_root_password", value=TYPED)
    for _ in range(2):
        await tab.call(ServerCreateState, "next_step")
    assert wiz.step == REVIEW and wiz.funds_short and not wiz.enough
    assert (wiz.balance, wiz.needed, wiz.short_by) == ("$0.10", "$0.24", "$0.14")
    # A hand-made "create" anyway: refused by the service, shown on the review step, nothing charged.
    sent = await tab.call(ServerCreateState, "create")
    assert wiz.step == REVIEW and "at least $0.24" in wiz.create_error and "at least $0.24" in sent
    assert not wiz.creating
    with session_scope() as s:
        assert s.exec(select(Server).where(Server.label == "bravo-poor")).first() is None
        assert s.exec(select(Wallet.balance).where(Wallet.organization_id == uuid.UUID(world["b"]))).one() \
            == Decimal("0.10")
        assert s.exec(select(ServerCharge).where(ServerCharge.organization_id == uuid.UUID(world["b"]))).all() == []
    # Funds added (in another tab): "Check again" clears the warning and the server can be created.
    _fund(uuid.UUID(world["b"]), "5")
    await tab.call(ServerCreateState, "refresh_quote")
    assert wiz.enough and not wiz.funds_short and wiz.balance == "$5.10"
    await tab.call(ServerCreateState, "create")
    with session_scope() as s:
        assert s.exec(select(Server).where(Server.label == "bravo-poor")).one().organization_id == uuid.UUID(world["b"])


async def test_a_field_error_from_create_returns_to_the_step_that_owns_it(world):
    """Another server of the organization already has the label (only the service can know): the
    wizard goes back to Details with the message under the label."""
    tab = await _tab(world["alice_token"], "/vps/create", "10.61.0.1")
    wiz = await _walk_to_details(tab, world)
    await tab.call(ServerCreateState, "set_label", value="aurora-secret-db")
    await tab.call(ServerCreateState, "set_root_password", value=TYPED)
    for _ in range(2):
        await tab.call(ServerCreateState, "next_step")
    assert wiz.step == REVIEW
    sent = await tab.call(ServerCreateState, "create")
    assert wiz.step == DETAILS and "has this label" in wiz.label_error and "has this label" in sent
    assert wiz.create_error == "" and not wiz.creating
    assert wiz._root_password == TYPED  # kept for the retry, and still never sent
    assert not _secret_in(tab.everything_sent(), TYPED)


# ---------------------------------------------------------------- plans.images_offered (the wizard's images)


def test_images_offered_needs_vps_create_and_an_account_that_sells(world):
    from skypanel.backend.services.errors import NotFound, PermissionDenied

    images = plans.images_offered(world["bob"], world["b"], world["account"])
    assert {"id": "debian-12", "label": "Debian 12", "distribution": "Debian", "version": "12"} in images
    vera = auth.resolve_session(world["vera_token"])
    with pytest.raises(PermissionDenied):  # a viewer of A: no vps_create
        plans.images_offered(vera, world["a"], world["account"])
    with pytest.raises(NotFound):  # not a member of A
        plans.images_offered(world["bob"], world["a"], world["account"])
    _, admin = make_user("admin2@sky.example.com", admin=True)
    provider_accounts.update_account(admin, world["account"], is_active=False)
    with pytest.raises(NotFound):  # an inactive account is offered nowhere
        plans.images_offered(world["bob"], world["b"], world["account"])


async def test_the_page_load_alone_fills_the_shell_and_sends_a_signed_out_tab_to_login(world):
    """/vps has no separate require_login on load: its own load event must do that job."""
    alice = Client(world["alice_token"], ip="10.61.0.1")
    await alice.open("/vps", "/vps")
    await alice.call(ServersState, "load")
    page = await alice.root.get_state(ServersState)
    assert page.signed_in and page.user_email == "alice@aurora.example.com" and page.active_org_name
    assert page.live and [r.label for r in page.rows] == ["aurora-secret-db"]

    stranger = Client("not-a-session", ip="10.61.0.9")
    await stranger.open("/vps", "/vps")
    sent = await stranger.call(ServersState, "load")
    page = await stranger.root.get_state(ServersState)
    assert "/login?next=/vps" in sent
    assert page.rows == [] and not page.signed_in and not page.live
    _assert_no_a(sent + stranger.everything_sent(), world, "ServersState (signed out)")
