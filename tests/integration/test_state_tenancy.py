"""Tenancy through the Reflex event handlers themselves: what a hostile browser can call.

Every public method of a State is reachable from any browser with any arguments, so here a
signed-in member of organization B drives the real handlers (through Reflex's own
`process_event`: payload conversion, generator handlers, the delta sent back) with
organization A's ids, given the ways a browser can give them (the URL of the page, handler
arguments, form values; `setvar` cannot overwrite the id a page loaded). Each call must send
back nothing of A and change nothing in A; org-scoped calls answer "not found", never "no
permission" (which would confirm that A exists).
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import func
from sqlmodel import select

from skypanel.backend.db import session_scope
from skypanel.backend.models import (
    ActivityLog,
    EmailMessage,
    Invitation,
    LedgerEntry,
    Membership,
    Organization,
    PlatformSetting,
    Role,
    SshKey,
    User,
    UserSession,
    Wallet,
)
from skypanel.backend.services import auth, orgs, ssh_keys, wallet
from skypanel.backend.services.context import Actor
from skypanel.state.activity import ActivityState
from skypanel.state.admin import (
    AdminOrgDetailState,
    AdminOrgsState,
    AdminOutboxState,
    AdminOverviewState,
    AdminSettingsState,
    AdminUsersState,
)
from skypanel.state.billing import BillingState
from skypanel.state.dashboard import DashboardState
from skypanel.state.organization_detail import OrgDetailState
from skypanel.state.organizations import OrganizationsState
from skypanel.state.session import SessionState
from skypanel.state.settings import SettingsState
from skypanel.state.ssh_keys import SshKeysState

from .factories import PASSWORD, add_member, make_user, membership_id, personal_org, role_id
from .reflex_client import Client, decode_data_urls, register_pages

# Strings that exist only in organization A: none may reach B's browser.
A_NAME = "Aurora Confidential Ltd"
A_MARKERS = (
    A_NAME,
    "alice@aurora.example.com",
    "victor@aurora.example.com",
    "pending@aurora.example.com",
    "A-LEDGER-SECRET-7731",
    "Aurora night shift",
    "Aurora deploy key",
    "aurora-ops@bastion",
)
# A real Ed25519 public key (any would do), with a comment that exists only in A.
A_PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGBpXWcPySJo4HG7IiBpK1gwaDCoPjCAcjP1D2ZhlLkb aurora-ops@bastion"
PERMISSION_WORDING = "permission"  # PermissionDenied's message: would confirm A exists


def _leaks(text: str, *, typed_by_b: tuple[str, ...] = ()) -> list[str]:
    """A's strings found in text (except ones B typed in himself, which his browser echoes back)."""
    return [m for m in A_MARKERS if m not in typed_by_b and m.lower() in text.lower()]


# ---------------------------------------------------------------- the world


def _snapshot(org_id: str, bob_id: uuid.UUID) -> dict:
    """Everything about A that B might try to change, plus Bob's own footprint in A."""
    a = uuid.UUID(org_id)
    with session_scope() as s:
        org = s.get(Organization, a)
        w = s.exec(select(Wallet).where(Wallet.organization_id == a)).one()
        return {
            "org": (org.name, org.slug, org.deleted_at),
            "memberships": sorted((str(m.id), str(m.user_id), str(m.role_id))
                                  for m in s.exec(select(Membership).where(Membership.organization_id == a))),
            "roles": sorted((str(r.id), r.name, r.description, tuple(sorted(r.permissions)))
                            for r in s.exec(select(Role).where(Role.organization_id == a))),
            "invitations": sorted((str(i.id), i.email, str(i.role_id), i.accepted_at, i.declined_at, i.cancelled_at,
                                   i.last_sent_at, i.expires_at)
                                  for i in s.exec(select(Invitation).where(Invitation.organization_id == a))),
            "wallet": (w.balance, w.overdraft_limit),
            "ledger": s.exec(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.organization_id == a)).one(),
            "activity": s.exec(select(func.count()).select_from(ActivityLog).where(ActivityLog.organization_id == a)).one(),
            "ssh_keys": sorted((str(k.id), k.name, k.public_key)
                               for k in s.exec(select(SshKey).where(SshKey.organization_id == a))),
            "emails": s.exec(select(func.count()).select_from(EmailMessage)).one(),
            "settings": sorted((p.key, json.dumps(p.value)) for p in s.exec(select(PlatformSetting))),
            "alice_sessions": sorted((str(x.id), x.revoked_at) for x in s.exec(
                select(UserSession).join(User, User.id == UserSession.user_id).where(User.email == "alice@aurora.example.com"))),
            "bob_in_a": s.exec(select(func.count()).select_from(Membership)
                               .where(Membership.organization_id == a, Membership.user_id == bob_id)).one(),
            "bob_admin": s.get(User, bob_id).is_platform_admin,
        }


@pytest.fixture(scope="module", autouse=True)
def _pages_registered():
    """As in the running app: every @rx.page registered, so route args like [org_id] are state vars."""
    register_pages()


def _login(email: str, ip: str) -> str:
    return auth.login(email=email, password=PASSWORD, ip=ip, user_agent="pytest-state-client")["session_token"]


@pytest.fixture()
def world(db) -> dict:
    """Organization A (owner Alice, member Victor, custom role, pending invitation, money, email)
    and organization B, whose owner Bob is signed in and attacks A."""
    alice_id, alice = make_user("alice@aurora.example.com", "Alice Aurora")
    a = personal_org(alice_id)
    orgs.rename_organization(alice, str(a), name=A_NAME)
    victor_id, _ = make_user("victor@aurora.example.com", "Victor Aurora")
    add_member(a, victor_id, "member")
    custom = orgs.create_role(alice, str(a), name="Aurora night shift", description="", permissions=["vps_view"])
    orgs.invite_member(alice, str(a), email="pending@aurora.example.com", role_id=str(role_id(a, "viewer")))
    with session_scope() as s:
        wallet._post(s, a, Decimal("50.00"), "topup", actor=Actor.system(), reference="A-LEDGER-SECRET-7731",
                     description="A-LEDGER-SECRET-7731 top-up")
        invitation_id = s.exec(select(Invitation.id).where(Invitation.organization_id == a)).one()
        a_email_id = s.exec(select(EmailMessage.id).where(EmailMessage.to_email == "pending@aurora.example.com")).first()
    a_key = ssh_keys.add_key(alice, str(a), name="Aurora deploy key", public_key=A_PUBLIC_KEY)

    bob_id, _ = make_user("bob@bravo.example.com", "Bob Bravo", org_name="Bravo Works")
    b = personal_org(bob_id)
    with session_scope() as s:
        wallet._post(s, b, Decimal("5.00"), "topup", actor=Actor.system(), reference="B-OWN-1",
                     description="Bravo's own top-up")

    alice_token = _login("alice@aurora.example.com", "10.77.0.1")
    bob_token = _login("bob@bravo.example.com", "10.77.0.2")
    with session_scope() as s:
        alice_session = s.exec(select(UserSession.id).where(UserSession.user_id == alice_id)).one()
    return {
        "a": str(a), "b": str(b), "bob_id": bob_id, "bob_token": bob_token, "alice_token": alice_token,
        "a_membership": str(membership_id(a, victor_id)), "a_owner_membership": str(membership_id(a, alice_id)),
        "a_viewer": str(role_id(a, "viewer")), "a_owner_role": str(role_id(a, "owner")), "a_custom": custom["id"],
        "a_invitation": str(invitation_id), "a_email": str(a_email_id) if a_email_id else str(uuid.uuid4()),
        "alice_session": str(alice_session), "b_viewer": str(role_id(b, "viewer")),
        "a_key": a_key["id"], "a_fingerprint": a_key["fingerprint"],
    }


@pytest.fixture()
async def bob(world) -> Client:
    client = Client(world["bob_token"], ip="10.77.0.2")
    await client.open("/dashboard", "/dashboard")
    return client


def _assert_refused(sent: str, *, what: str) -> None:
    assert not _leaks(sent), f"{what} sent organization A's data to B: {_leaks(sent)}"
    assert PERMISSION_WORDING not in sent.lower(), f"{what} told B it lacks permission (A's existence leaks)"


# ---------------------------------------------------------------- organization detail page


async def test_org_detail_page_with_a_id_in_url_shows_not_found(world, bob):
    before = _snapshot(world["a"], world["bob_id"])
    await bob.open("/organizations/[org_id]", f"/organizations/{world['a']}", {"org_id": world["a"]})
    sent = await bob.call(OrgDetailState, "load")
    detail = await bob.root.get_state(OrgDetailState)
    assert detail.status == "missing"
    assert detail.members == [] and detail.invitations == [] and detail.roles == []
    _assert_refused(sent, what="OrgDetailState.load")
    assert not _leaks(bob.everything_sent())
    assert _snapshot(world["a"], world["bob_id"]) == before


async def test_org_detail_actions_on_a_change_nothing(world, bob):
    """Every mutating handler of the detail page, with A's id in the URL and A's ids as arguments."""
    before = _snapshot(world["a"], world["bob_id"])
    await bob.open("/organizations/[org_id]", f"/organizations/{world['a']}", {"org_id": world["a"]})
    await bob.call(OrgDetailState, "load")
    assert (await bob.root.get_state(OrgDetailState)).detail_id == world["a"]

    calls = [
        ("change_role", {"membership_id": world["a_membership"], "role_id": world["a_viewer"]}),
        ("change_role", {"membership_id": world["a_owner_membership"], "role_id": world["a_viewer"]}),
        ("remove_member", {"membership_id": world["a_membership"]}),
        ("remove_member", {"membership_id": world["a_owner_membership"]}),
        ("invite", {"form_data": {"email": "mallory@bravo.example.com", "role_id": world["a_owner_role"]}}),
        ("resend_invitation", {"invitation_id": world["a_invitation"]}),
        ("cancel_invitation", {"invitation_id": world["a_invitation"]}),
        ("delete_role", {"role_id": world["a_custom"]}),
        ("leave", {}),
    ]
    for name, payload in calls:
        sent = await bob.call(OrgDetailState, name, **payload)
        _assert_refused(sent, what=f"OrgDetailState.{name}")
        assert _snapshot(world["a"], world["bob_id"]) == before, f"OrgDetailState.{name} changed organization A"

    # Forms that carry their values in state: set them as a browser can, then submit.
    await bob.call(OrgDetailState, "set_rename_value", value="Taken over by Bob")
    sent = await bob.call(OrgDetailState, "rename")
    _assert_refused(sent, what="OrgDetailState.rename")
    await bob.call(OrgDetailState, "set_delete_confirm", value=A_NAME)
    sent = await bob.call(OrgDetailState, "delete_organization")
    _assert_refused(sent, what="OrgDetailState.delete_organization")
    await bob.call(OrgDetailState, "open_new_role")
    await bob.call(OrgDetailState, "set_role_name", value="Bob's backdoor")
    sent = await bob.call(OrgDetailState, "save_role")
    _assert_refused(sent, what="OrgDetailState.save_role (create)")
    sent = await bob.call(OrgDetailState, "open_edit_role", role_id=world["a_custom"])
    _assert_refused(sent, what="OrgDetailState.open_edit_role")
    assert (await bob.root.get_state(OrgDetailState)).role_edit_id == ""

    assert _snapshot(world["a"], world["bob_id"]) == before
    assert not _leaks(bob.everything_sent(), typed_by_b=(A_NAME,))  # he typed the name to confirm deletion


async def test_browser_cannot_point_the_detail_state_at_a(world, bob):
    """The organization id comes from the URL on load; setvar cannot overwrite it (no auto setters)."""
    await bob.open("/organizations/[org_id]", f"/organizations/{world['b']}", {"org_id": world["b"]})
    await bob.call(OrgDetailState, "load")
    with pytest.raises(AttributeError):
        await bob.call(OrgDetailState, "setvar", var_name="detail_id", value=world["a"])
    assert (await bob.root.get_state(OrgDetailState)).detail_id == world["b"]


async def test_a_ids_inside_b_own_organization_page_are_not_found(world, bob):
    """On B's own page (where Bob is owner), A's membership/role/invitation ids still find nothing."""
    before = _snapshot(world["a"], world["bob_id"])
    await bob.open("/organizations/[org_id]", f"/organizations/{world['b']}", {"org_id": world["b"]})
    await bob.call(OrgDetailState, "load")
    for name, payload in [
        ("change_role", {"membership_id": world["a_membership"], "role_id": world["b_viewer"]}),
        ("change_role", {"membership_id": world["a_membership"], "role_id": world["a_viewer"]}),
        ("remove_member", {"membership_id": world["a_membership"]}),
        ("resend_invitation", {"invitation_id": world["a_invitation"]}),
        ("cancel_invitation", {"invitation_id": world["a_invitation"]}),
        ("delete_role", {"role_id": world["a_custom"]}),
        ("invite", {"form_data": {"email": "someone@bravo.example.com", "role_id": world["a_owner_role"]}}),
    ]:
        sent = await bob.call(OrgDetailState, name, **payload)
        _assert_refused(sent, what=f"OrgDetailState.{name} on B's page")
        assert _snapshot(world["a"], world["bob_id"]) == before, f"OrgDetailState.{name} changed organization A"
    assert not _leaks(bob.everything_sent())


# ---------------------------------------------------------------- switching, invitations, sessions


async def test_switching_to_a_is_refused_and_billing_activity_dashboard_stay_on_b(world, bob):
    before = _snapshot(world["a"], world["bob_id"])
    sent = await bob.call(SessionState, "switch_organization", org_id=world["a"])
    _assert_refused(sent, what="SessionState.switch_organization")
    sent = await bob.call(OrganizationsState, "switch_to", org_id=world["a"])
    _assert_refused(sent, what="OrganizationsState.switch_to")
    with session_scope() as s:
        assert str(s.get(User, world["bob_id"]).active_organization_id) == world["b"]

    await bob.open("/billing", "/billing")
    await bob.call(SessionState, "require_login")
    sent = await bob.call(BillingState, "load")
    billing = await bob.root.get_state(BillingState)
    assert billing.org_name == "Bravo Works"
    assert billing.balance == "$5.00"
    assert [e["reference"] for e in billing.entries] == ["B-OWN-1"]
    _assert_refused(sent, what="BillingState.load")
    for name, payload in [("set_kind_filter", {"value": "topup"}), ("next_page", {}),
                          ("clear_filters", {})]:
        _assert_refused(await bob.call(BillingState, name, **payload), what=f"BillingState.{name}")

    sent = await bob.call(BillingState, "export_csv")
    downloads = [e for e in bob.sent_events if e.name == "_download"]
    assert downloads, "export_csv sent no file"
    csv_text = decode_data_urls([{"payload": downloads[-1].payload}])
    assert "B-OWN-1" in csv_text
    _assert_refused(sent, what="BillingState.export_csv")

    await bob.open("/activity", "/activity")
    sent = await bob.call(ActivityState, "load")
    activity = await bob.root.get_state(ActivityState)
    assert activity.org_name == "Bravo Works"
    _assert_refused(sent, what="ActivityState.load")
    for name, payload in [("set_search", {"value": "Aurora"}), ("set_area", {"value": "org"}), ("refresh", {})]:
        _assert_refused(await bob.call(ActivityState, name, **payload), what=f"ActivityState.{name}")
    assert (await bob.root.get_state(ActivityState)).rows == []  # nothing of B's matches "Aurora"

    await bob.open("/dashboard", "/dashboard")
    sent = await bob.call(DashboardState, "load")
    assert (await bob.root.get_state(DashboardState)).org_name == "Bravo Works"
    _assert_refused(sent, what="DashboardState.load")

    assert _snapshot(world["a"], world["bob_id"]) == before
    assert not _leaks(bob.everything_sent())


async def test_a_invitation_and_alice_session_ids_do_nothing_for_b(world, bob):
    before = _snapshot(world["a"], world["bob_id"])
    await bob.open("/organizations", "/organizations")
    await bob.call(OrganizationsState, "load")
    for name in ("accept_invitation", "decline_invitation"):
        sent = await bob.call(OrganizationsState, name, invitation_id=world["a_invitation"])
        _assert_refused(sent, what=f"OrganizationsState.{name}")
        assert _snapshot(world["a"], world["bob_id"]) == before, f"OrganizationsState.{name} changed A"

    await bob.open("/settings", "/settings")
    await bob.call(SettingsState, "load")
    sent = await bob.call(SettingsState, "revoke_session", session_id=world["alice_session"])
    assert not _leaks(sent)
    assert auth.resolve_session(world["alice_token"]) is not None, "Bob revoked Alice's session"
    assert _snapshot(world["a"], world["bob_id"]) == before
    assert not _leaks(bob.everything_sent())


# ---------------------------------------------------------------- admin states as a non-admin


async def test_admin_states_refuse_a_non_admin(world, bob):
    before = _snapshot(world["a"], world["bob_id"])
    await bob.open("/admin", "/admin")
    sent = await bob.call(SessionState, "require_admin")
    assert '"/dashboard"' in sent, "require_admin let a non-admin stay on an admin page"

    for state_cls in (AdminOverviewState, AdminUsersState, AdminOrgsState, AdminOutboxState, AdminSettingsState):
        sent = await bob.call(state_cls, "load")
        assert not _leaks(sent), f"{state_cls.__name__}.load sent data to a non-admin: {_leaks(sent)}"
    assert (await bob.root.get_state(AdminUsersState)).rows == []
    assert (await bob.root.get_state(AdminOrgsState)).rows == []
    assert (await bob.root.get_state(AdminOutboxState)).rows == []

    sent = await bob.call(AdminOutboxState, "open_message", message_id=world["a_email"])
    assert not _leaks(sent) and (await bob.root.get_state(AdminOutboxState)).message == {}

    await bob.open("/admin/organizations/[org_id]", f"/admin/organizations/{world['a']}", {"org_id": world["a"]})
    sent = await bob.call(AdminOrgDetailState, "load")
    detail = await bob.root.get_state(AdminOrgDetailState)
    assert detail.name == "" and detail.members == [] and detail.ledger == []
    assert not _leaks(sent)
    sent = await bob.call(AdminOrgDetailState, "adjust", form={"amount": "1000.00", "reason": "Bob's bonus"})
    assert not _leaks(sent)

    sent = await bob.call(AdminSettingsState, "save", form={"platform_name": "Bob's panel", "support_email": ""})
    await bob.call(AdminSettingsState, "set_registration_enabled", value=False)
    sent += await bob.call(AdminSettingsState, "save")
    assert not _leaks(sent)

    assert _snapshot(world["a"], world["bob_id"]) == before  # wallet, settings and Bob's admin flag unchanged
    assert not _leaks(bob.everything_sent())


# ---------------------------------------------------------------- SSH keys


async def test_ssh_keys_page_stays_on_b_and_a_key_ids_do_nothing(world, bob):
    """/ssh-keys takes the organization from the session (B); A's key id as a handler argument, or
    smuggled into the rename dialog's id, is "not found" and changes nothing."""
    before = _snapshot(world["a"], world["bob_id"])
    await bob.open("/ssh-keys", "/ssh-keys")
    await bob.call(SessionState, "require_login")
    sent = await bob.call(SshKeysState, "load")
    keys = await bob.root.get_state(SshKeysState)
    assert keys.org_name == "Bravo Works" and keys.rows == [] and keys.can_manage
    _assert_refused(sent, what="SshKeysState.load")

    for name, payload in [("delete", {"key_id": world["a_key"]}), ("open_rename", {"key_id": world["a_key"]})]:
        sent = await bob.call(SshKeysState, name, **payload)
        _assert_refused(sent, what=f"SshKeysState.{name}")
        assert _snapshot(world["a"], world["bob_id"]) == before, f"SshKeysState.{name} changed organization A"
    assert keys.rename_id == ""
    keys.rename_id = world["a_key"]  # as if the browser had set it
    sent = await bob.call(SshKeysState, "rename", form_data={"name": "Taken over by Bob"})
    _assert_refused(sent, what="SshKeysState.rename")
    assert "SSH key not found." in sent
    # Adding A's key to B is allowed (a public key is public), and lands in B only.
    sent = await bob.call(SshKeysState, "add", form_data={"name": "Copied", "public_key": A_PUBLIC_KEY})
    assert [r["name"] for r in keys.rows] == ["Copied"]
    assert _snapshot(world["a"], world["bob_id"]) == before
    assert world["a_fingerprint"] in sent  # his own copy's fingerprint, computed from what he pasted
    assert not _leaks(bob.everything_sent(), typed_by_b=("aurora-ops@bastion",))
