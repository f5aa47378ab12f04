"""DESIGN.md, Secrets: "Secrets never enter Reflex state that is sent to the browser".

A user holds every kind of secret the system keeps (password and its bcrypt hash, a TOTP secret
and its encrypted blob, recovery codes and their hashes, several sessions, a pending 2FA sign-in,
a password reset link, invitations both ways) and the server holds SECRET_KEY and
ENCRYPTION_KEY. Then that user, and a platform admin, open every page and use the main
handlers through Reflex's own event processing (tests/integration/reflex_client.py), and all
that would travel to the browser (every delta, every event: redirects, toasts, downloads, and
the full state a reconnecting tab is hydrated with) is searched for each secret.

Allowed, and nothing else: the tab's own session token (its own cookie), the invitation token
on the invitation page and the reset token on the reset page (both are in the URL that tab
holds), the 2FA setup secret/QR and fresh recovery codes while their dialog shows them to the
user (then cleared), and reset/invitation links inside email bodies in the admin's dev outbox.

A structural test also checks every State class: no var sent to the browser is named like a
secret except a short, explained allow-list; and `_` vars really stay on the server.
"""

from __future__ import annotations

import inspect
import itertools
import json
import re
import uuid
from decimal import Decimal

import pyotp
import pytest
from reflex.state import State
from sqlalchemy import text
from sqlmodel import select

from skypanel.backend.config import get_settings
from skypanel.backend.db import session_scope
from skypanel.backend.models import EmailMessage, Plan, ProviderCatalog, Server
from skypanel.backend.models.servers import root_password_aad
from skypanel.backend.security import encrypt
from skypanel.backend.services import auth, invoices, orgs, plans, provider_accounts, wallet
from skypanel.backend.services.context import Actor
from skypanel.state.activity import ActivityState
from skypanel.state.admin_plans import AdminPlansState
from skypanel.state.admin_servers import AdminServersState
from skypanel.state.admin_providers import AdminProvidersState
from skypanel.state.admin import (
    AdminOrgDetailState,
    AdminOrgsState,
    AdminOutboxState,
    AdminOverviewState,
    AdminSettingsState,
    AdminUsersState,
)
from skypanel.state.auth_forms import ForgotPasswordState, LoginState, RegisterState, ResetPasswordState
from skypanel.state.billing import BillingState
from skypanel.state.dashboard import DashboardState
from skypanel.state.invitation import InvitationState
from skypanel.state.organization_detail import OrgDetailState
from skypanel.state.organizations import OrganizationsState
from skypanel.state.session import SessionState
from skypanel.state.server_detail import TABS as SERVER_TABS
from skypanel.state.server_detail import ServerDetailState
from skypanel.state.settings import SettingsState
from skypanel.state.ssh_keys import SshKeysState

from .factories import PASSWORD as FACTORY_PASSWORD
from .factories import make_user, personal_org, role_id
from .reflex_client import Client, decode_data_urls, register_pages

TESS = "tess@vault.example.com"
TESS_PASSWORD = "Tess keeps 7 secrets in here"
TESS_IP = "10.88.0.10"
ADA = "ada@skypanel.example.com"
ADA_IP = "10.88.0.20"
OLGA = "olga@northwind.example.com"
PAT = "pat@elsewhere.example.com"
PROVIDER_TOKEN = "lin-tok-vault-" + "9c8b7a6d" * 4 + "Kp2R"
UA = "pytest-state-client"  # the user agent Client sends: sessions made with it look like this tab
VAULT_ROOT_PASSWORD = "Vault-Root-Pass-4471"  # a server's root password, stored encrypted for the console
VAULT_PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ6n0Ymi3SRw5t4kGqXfgyX5KQPlHcQHHH2V7h3gGz2a tess@vault"

_ips = itertools.count(1)


def _next_ip() -> str:
    """A fresh address per sign-in/reset request, so the per-IP rate limits never interfere."""
    n = next(_ips)
    return f"10.89.{n // 250}.{n % 250 + 1}"


@pytest.fixture(scope="module", autouse=True)
def _pages_registered():
    register_pages()


# ---------------------------------------------------------------- finding secrets in what was sent


def _norm(value: str) -> str:
    """Case, spaces and dashes do not hide a secret ("ABCD EFGH", "abcd-efgh-jkmn")."""
    return re.sub(r"[\s\-]", "", value).lower()


def leaked(sent: str, secrets: dict[str, str], *, allow: tuple[str, ...] = ()) -> list[str]:
    """The labels of the secrets found in `sent` (whole, or a 20-character head or tail of long ones)."""
    hay = _norm(sent)
    allowed = set(allow)
    found = []
    for label, value in secrets.items():
        if not value or value in allowed:
            continue
        needles = {_norm(value)}
        if len(value) >= 40:  # a truncated "fingerprint" of a hash or token is still a leak
            needles |= {_norm(value[:20]), _norm(value[-20:])}
        if any(n and n in hay for n in needles):
            found.append(label)
    return found


def sent_text(client: Client) -> str:
    """Everything this tab was sent, plus the full state a reconnecting tab would be hydrated with,
    plus the content of any data: URL anywhere in it (downloads, images)."""
    whole = client.everything_sent()
    return whole + decode_data_urls(client.sent_deltas)


def stored_secrets() -> dict[str, str]:
    """Every value of every secret-bearing column in the database, whatever the table.

    Found by column name (hash, secret, token, *_enc, password), so a table added later
    (API key hashes, encrypted provider tokens, VPS root passwords) is covered without edits.
    """
    found: dict[str, str] = {}
    with session_scope() as s:
        columns = s.execute(text(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND data_type IN ('text', 'character varying') "
            "AND column_name ~ '(hash|secret|token|_enc$|password)' ORDER BY table_name, column_name"
        )).all()
        for table, column in columns:
            values = s.execute(text(f'SELECT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL '
                                    f'AND "{column}" <> \'\'')).scalars().all()
            for i, value in enumerate(values):
                found[f"{table}.{column}[{i}]"] = value
    return found


def _assert_no_secrets(sent: str, secrets: dict[str, str], *, allow: tuple[str, ...] = (), where: str) -> None:
    found = leaked(sent, secrets, allow=allow)
    assert not found, f"{where} sent secrets to the browser: {found}"


def _newest_email(to: str, template: str) -> EmailMessage:
    with session_scope() as s:
        return s.exec(select(EmailMessage).where(EmailMessage.to_email == to, EmailMessage.template == template)
                      .order_by(EmailMessage.created_at.desc())).first()


def _reset_token_from_email() -> str:
    body = _newest_email(TESS, "password_reset").text_body
    return re.search(r"/reset-password\?token=([A-Za-z0-9_\-]+)", body).group(1)


def _invitation_token_from_email(to: str) -> str:
    body = _newest_email(to, "invitation").text_body
    return re.search(r"/invitations/([A-Za-z0-9_\-]+)", body).group(1)


def _session_id(token: str) -> str:
    return str(auth.resolve_session(token).session_id)


def _next_totp(secret: str) -> str:
    """The code for the step after the last one accepted (the server takes now-1..now+1, never a reuse)."""
    with session_scope() as s:
        step = s.execute(text("SELECT totp_last_step FROM users WHERE email = :e"), {"e": TESS}).scalar()
    return pyotp.TOTP(secret).at((step + 1) * 30)


# ---------------------------------------------------------------- the vault


@pytest.fixture()
def vault(db) -> dict:
    """Tess with every kind of secret, Olga who invited her, Ada the platform admin."""
    # Sessions: the first one (from registering), a laptop, one revoked later, and this browser's.
    first = auth.register(name="Tess Vault", email=TESS, password=TESS_PASSWORD, accept_terms=True,
                          ip=_next_ip(), user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0")["session_token"]
    laptop = auth.login(email=TESS, password=TESS_PASSWORD, ip=_next_ip(),
                        user_agent="Mozilla/5.0 (Macintosh; Mac OS X 14_1) Chrome/120.0")["session_token"]
    old = auth.login(email=TESS, password=TESS_PASSWORD, ip=_next_ip(), user_agent="curl/8.4.0")["session_token"]
    browser = auth.login(email=TESS, password=TESS_PASSWORD, ip=TESS_IP, user_agent=UA)["session_token"]
    tess = auth.resolve_session(browser, ip=TESS_IP, user_agent=UA)
    auth.revoke_session(tess, _session_id(old))

    # Two-factor on: the TOTP secret (encrypted in users.totp_secret_enc) and 10 recovery codes.
    totp_secret = auth.begin_totp_setup(tess)["secret"]
    recovery_codes = auth.enable_totp(tess, code=pyotp.TOTP(totp_secret).now())
    assert len(recovery_codes) == 10
    # A sign-in waiting for its second factor, and a password reset link.
    pending = auth.login(email=TESS, password=TESS_PASSWORD, ip=_next_ip(), user_agent=UA)["pending_token"]
    auth.request_password_reset(email=TESS, ip=_next_ip())
    reset_token = _reset_token_from_email()

    # Tess's organization: money, a custom role, and an invitation she sent.
    tess_org = personal_org(tess.user_id)
    with session_scope() as s:
        topup = wallet._post(s, tess_org, Decimal("25.00"), "topup", actor=Actor.system(), reference="VAULT-TOPUP-1",
                             description="Vault top-up")
        receipt_id = str(invoices.issue_receipt(s, tess_org, topup.id).id)
    custom_role = orgs.create_role(tess, str(tess_org), name="Night shift", description="Watches the vault",
                                   permissions=["vps_view"])
    orgs.invite_member(tess, str(tess_org), email=PAT, role_id=str(role_id(tess_org, "viewer")))
    invitation_sent = _invitation_token_from_email(PAT)

    # Olga's organization invites Tess.
    olga_id, olga = make_user(OLGA, "Olga North", org_name="Northwind Partners")
    northwind = personal_org(olga_id)
    orgs.invite_member(olga, str(northwind), email=TESS, role_id=str(role_id(northwind, "member")))
    invitation_received = _invitation_token_from_email(TESS)

    ada_id, ada_actor = make_user(ADA, "Ada Admin", admin=True)
    # A provider account (its token encrypted at rest) and a plan resold from its catalog.
    provider = provider_accounts.add_account(ada_actor, kind="linode", name="Vault Linode", token=PROVIDER_TOKEN,
                                             base_url="http://127.0.0.1:9/v4")["id"]
    provider_accounts.update_account(ada_actor, provider, allowed_regions=[{"id": "us-east", "label": "New York"}])
    with session_scope() as s:
        s.add(ProviderCatalog(provider_account_id=uuid.UUID(provider), regions=[
            {"id": "us-east", "label": "Newark, NJ", "country": "us", "available": True}], plans=[
            {"id": "g6-standard-1", "label": "Linode 2GB", "vcpus": 1, "memory_mb": 2048, "disk_gb": 50,
             "transfer_gb": 2000, "price_monthly": "12", "price_hourly": "0.018", "regions": ["us-east"]}], images=[]))
    plans.create_plan(ada_actor, provider_account_id=provider, provider_plan_id="g6-standard-1", name="Vault 2",
                      category="standard", markup="3", backup_price="2", regions=["us-east"])
    vault_server = _vault_server(tess_org, provider)
    ada = auth.login(email=ADA, password=FACTORY_PASSWORD, ip=ADA_IP, user_agent=UA)["session_token"]

    settings = get_settings()
    secrets = {
        "Tess's password": TESS_PASSWORD,
        "TOTP secret": totp_secret,
        **{f"recovery code #{i + 1}": code for i, code in enumerate(recovery_codes)},
        "session token (first, from registering)": first,
        "session token (laptop)": laptop,
        "session token (revoked)": old,
        "session token (this browser)": browser,
        "session token (Ada)": ada,
        "pending 2FA sign-in token": pending,
        "password reset token": reset_token,
        "invitation token (sent by Tess)": invitation_sent,
        "invitation token (received by Tess)": invitation_received,
        "provider API token": PROVIDER_TOKEN,
        "VPS root password": VAULT_ROOT_PASSWORD,
        "SECRET_KEY": settings.secret_key,
        "ENCRYPTION_KEY": settings.encryption_key,
        "ENCRYPTION_KEY (hex)": settings.encryption_key_bytes().hex(),
    }
    stored = stored_secrets()
    # A provider token's last four characters are shown to admins by design (never the token).
    stored = {k: v for k, v in stored.items() if not k.startswith("provider_accounts.token_last4[")}
    # The sweep must have found what we know is there (a renamed column would otherwise hide).
    for column in ("users.password_hash", "users.totp_secret_enc", "user_sessions.token_hash",
                   "pending_logins.token_hash", "recovery_codes.code_hash", "password_reset_tokens.token_hash",
                   "invitations.token_hash", "provider_accounts.token_enc", "servers.root_password_enc"):
        assert any(k.startswith(column + "[") for k in stored), f"no {column} values found"
    assert sum(k.startswith("recovery_codes.code_hash[") for k in stored) == 10
    assert sum(k.startswith("user_sessions.token_hash[") for k in stored) == 5  # Tess's 4 + Ada's 1
    secrets.update(stored)
    return {
        "secrets": secrets, "tess": tess, "tess_id": tess.user_id, "browser": browser, "ada": ada,
        "ada_id": ada_id, "totp_secret": totp_secret, "recovery_codes": recovery_codes,
        "laptop_session": _session_id(laptop), "tess_org": str(tess_org), "northwind": str(northwind),
        "server": vault_server, "invoice": receipt_id, "custom_role": custom_role["id"], "reset_token": reset_token, "invitation_sent": invitation_sent,
        "invitation_received": invitation_received,
    }


def _vault_server(org_id: uuid.UUID, provider_account_id: str) -> str:
    """A running server of Tess's on the vault plan, written as the create flow leaves it (no provider
    is called on page load, so its provider need not answer)."""
    with session_scope() as s:
        plan = s.exec(select(Plan).where(Plan.name == "Vault 2")).one()
        server = Server(id=uuid.uuid4(), organization_id=org_id, provider_account_id=uuid.UUID(provider_account_id),
                        provider_kind="linode", provider_instance_id="4401", plan_id=plan.id,
                        provider_plan_id=plan.provider_plan_id, label="vault-web", status="running",
                        region="us-east", image="linode/debian12", image_label="Debian 12", ipv4=["203.0.113.44"],
                        vcpus=1, memory_mb=2048, disk_gb=50, transfer_gb=2000, notes="Vault notes")
        server.root_password_enc = encrypt(VAULT_ROOT_PASSWORD, aad=root_password_aad(server.id))
        s.add(server)
        return str(server.id)


def _tess(vault) -> Client:
    return Client(vault["browser"], ip=TESS_IP)


def _ada(vault) -> Client:
    return Client(vault["ada"], ip=ADA_IP)


# ---------------------------------------------------------------- every page's on_load


async def test_every_page_on_load_sends_no_secrets(vault):
    """Each route the app registers, with its on_load handlers as registered (a new page is covered
    automatically): portal, public and auth pages as Tess, admin pages as Ada."""
    from skypanel.skypanel import app

    route_args = {"org_id": vault["tess_org"], "token": vault["invitation_received"],
                  "server_id": vault["server"], "invoice_id": vault["invoice"]}
    assert app._load_events, "no on_load handlers registered"
    driven = set()
    for route, handlers in sorted(app._load_events.items()):
        admin_page = route == "admin" or route.startswith("admin/")
        client = _ada(vault) if admin_page else _tess(vault)
        params = {}
        path = "/" + ("" if route == "index" else route)
        for arg in re.findall(r"\[(\w+)\]", route):
            assert arg in route_args, f"route /{route}: give [{arg}] a real value in route_args"
            params[arg] = route_args[arg]
            path = path.replace(f"[{arg}]", route_args[arg])
        await client.open("/" + route, path, params)
        for handler in handlers:
            await client.call(handler.state, handler.fn.__name__)
            driven.add(f"{handler.state.__name__}.{handler.fn.__name__}")
        # The invitation page's URL holds the invitation token: that tab may be sent it back.
        allow = (vault["ada"] if admin_page else vault["browser"],)
        if "token" in params:
            allow += (params["token"],)
        _assert_no_secrets(sent_text(client), vault["secrets"], allow=allow, where=f"on_load of /{route}")

    for expected in ("SessionState.require_login", "SessionState.require_admin", "SessionState.load_optional",
                     "DashboardState.load", "SettingsState.load", "OrganizationsState.load", "OrgDetailState.load",
                     "InvitationState.load", "BillingState.load", "ActivityState.load", "AdminOutboxState.load",
                     "SshKeysState.load", "AdminPlansState.load", "AdminProvidersState.load",
                     "AdminServersState.load",
                     "ServersState.load", "ServerCreateState.load", "ServerDetailState.load",
                     "AdminUsersState.load", "AdminOrgDetailState.load", "LoginState.load"):
        assert expected in driven, f"{expected} is no longer an on_load handler: update this test"


# ---------------------------------------------------------------- the portal, handler by handler


async def test_portal_pages_and_their_read_handlers_send_no_secrets(vault):
    secrets, me = vault["secrets"], (vault["browser"],)
    tab = _tess(vault)

    await tab.open("/", "/")
    await tab.call(SessionState, "load_optional")
    assert (await tab.root.get_state(SessionState)).user_email == TESS  # the harness really is signed in
    for route, state_cls in (("/login", LoginState), ("/register", RegisterState),
                             ("/forgot-password", ForgotPasswordState), ("/reset-password", ResetPasswordState)):
        await tab.open(route, route)
        await tab.call(state_cls, "load")

    await tab.open("/dashboard", "/dashboard")
    await tab.call(SessionState, "require_login")
    await tab.call(DashboardState, "load")
    assert (await tab.root.get_state(DashboardState)).totp_enabled is True

    # Settings: profile, password, sessions and two-factor are one page with one loader.
    await tab.open("/settings", "/settings")
    await tab.call(SessionState, "require_login")
    await tab.call(SettingsState, "load")
    settings = await tab.root.get_state(SettingsState)
    assert settings.totp_enabled and settings.recovery_codes_left == 10
    assert len(settings.sessions) == 3  # first, laptop, this browser (the revoked one is gone)
    assert settings.totp_secret == "" and settings.totp_qr == "" and settings.recovery_codes == []
    sent = await tab.call(SettingsState, "download_codes")  # codes were shown once, at setup: none to give now
    assert not [e for e in tab.sent_events if e.name == "_download"]
    _assert_no_secrets(sent, secrets, allow=me, where="SettingsState.download_codes")
    await tab.call(SettingsState, "revoke_session", session_id=vault["laptop_session"])
    assert len((await tab.root.get_state(SettingsState)).sessions) == 2

    await tab.open("/organizations", "/organizations")
    await tab.call(SessionState, "require_login")
    await tab.call(OrganizationsState, "load")
    assert [i["organization_name"] for i in (await tab.root.get_state(OrganizationsState)).my_invitations] == [
        "Northwind Partners"]

    org = vault["tess_org"]
    await tab.open("/organizations/[org_id]", f"/organizations/{org}", {"org_id": org})
    await tab.call(SessionState, "require_login")
    await tab.call(OrgDetailState, "load")
    for tab_name in ("members", "invitations", "roles", "settings"):
        await tab.call(OrgDetailState, "set_tab", value=tab_name)
    await tab.call(OrgDetailState, "open_edit_role", role_id=vault["custom_role"])
    detail = await tab.root.get_state(OrgDetailState)
    assert detail.status == "ready" and [i["email"] for i in detail.invitations] == [PAT]
    assert detail.role_name == "Night shift"

    await tab.open("/billing", "/billing")
    await tab.call(SessionState, "require_login")
    await tab.call(BillingState, "load")
    await tab.call(BillingState, "export_csv")
    assert [e for e in tab.sent_events if e.name == "_download"], "export_csv sent no file"

    # A server's page, every tab and what it loads without asking the provider: its root password
    # (stored encrypted for the console) never travels; a generated new one is not a stored secret.
    server = vault["server"]
    await tab.open("/vps/[server_id]", f"/vps/{server}", {"server_id": server})
    await tab.call(SessionState, "require_login")
    await tab.call(ServerDetailState, "load")
    for tab_name in SERVER_TABS:
        await tab.call(ServerDetailState, "set_tab", value=tab_name)
    for handler in ("load_images", "load_resize", "load_activity"):
        await tab.call(ServerDetailState, handler)
    await tab.call(ServerDetailState, "generate_password", target="reset")
    detail = await tab.root.get_state(ServerDetailState)
    assert detail.status == "ready" and detail.label == "vault-web" and detail.notes == "Vault notes"

    # SSH keys: public keys are meant to be shown; nothing else may ride along.
    await tab.open("/ssh-keys", "/ssh-keys")
    await tab.call(SessionState, "require_login")
    await tab.call(SshKeysState, "load")
    await tab.call(SshKeysState, "set_add_open", value=True)
    await tab.call(SshKeysState, "add", form_data={"name": "Vault laptop", "public_key": VAULT_PUBLIC_KEY})
    keys_state = await tab.root.get_state(SshKeysState)
    assert [r["name"] for r in keys_state.rows] == ["Vault laptop"]
    await tab.call(SshKeysState, "open_rename", key_id=keys_state.rows[0]["id"])
    await tab.call(SshKeysState, "rename", form_data={"name": "Vault desktop"})
    # The wrong thing pasted: refused, and the message does not echo it back.
    await tab.call(SshKeysState, "add", form_data={"name": "Oops", "public_key": TESS_PASSWORD})
    assert keys_state.add_text_error and TESS_PASSWORD not in keys_state.add_text_error

    await tab.open("/activity", "/activity")
    await tab.call(SessionState, "require_login")
    await tab.call(ActivityState, "load")
    for area in ("auth", "org", "wallet"):
        await tab.call(ActivityState, "set_area", value=area)
    await tab.call(ActivityState, "clear_filters")
    assert (await tab.root.get_state(ActivityState)).total > 0

    _assert_no_secrets(sent_text(tab), secrets, allow=me, where="the portal")

    # The invitation page, in its own tab: its URL holds the invitation token, so only there may it appear.
    invite_tab = _tess(vault)
    token = vault["invitation_received"]
    await invite_tab.open("/invitations/[token]", f"/invitations/{token}", {"token": token})
    await invite_tab.call(InvitationState, "load")
    invitation = await invite_tab.root.get_state(InvitationState)
    assert invitation.inv_view == "pending" and invitation.inv_org_name == "Northwind Partners"
    assert invitation.email_matches
    _assert_no_secrets(sent_text(invite_tab), secrets, allow=me + (token,), where="the invitation page")
    # ...and the page does not copy it into its own view data (it stays the route argument).
    own = str((await invite_tab.root.get_state(InvitationState)).dict()[InvitationState.get_full_name()])
    assert _norm(token) not in _norm(own)


# ---------------------------------------------------------------- the admin area


async def test_admin_pages_and_outbox_send_no_secrets(vault):
    secrets, me = vault["secrets"], (vault["ada"],)
    tab = _ada(vault)

    await tab.open("/admin", "/admin")
    await tab.call(SessionState, "require_admin")
    await tab.call(AdminOverviewState, "load")
    assert (await tab.root.get_state(AdminOverviewState)).users == 3

    await tab.open("/admin/users", "/admin/users")
    await tab.call(SessionState, "require_admin")
    await tab.call(AdminUsersState, "load")
    await tab.call(AdminUsersState, "set_search", value="tess")
    users = await tab.root.get_state(AdminUsersState)
    assert [r["email"] for r in users.rows] == [TESS] and users.rows[0]["totp_enabled"] is True
    await tab.call(AdminUsersState, "ask_active", user_id=str(vault["tess_id"]))
    await tab.call(AdminUsersState, "set_confirm_open", value=False)
    await tab.call(AdminUsersState, "ask_admin", user_id=str(vault["tess_id"]))
    await tab.call(AdminUsersState, "set_confirm_open", value=False)

    await tab.open("/admin/organizations", "/admin/organizations")
    await tab.call(SessionState, "require_admin")
    await tab.call(AdminOrgsState, "load")
    for org in (vault["tess_org"], vault["northwind"]):
        await tab.open("/admin/organizations/[org_id]", f"/admin/organizations/{org}", {"org_id": org})
        await tab.call(SessionState, "require_admin")
        await tab.call(AdminOrgDetailState, "load")
        assert (await tab.root.get_state(AdminOrgDetailState)).members

    await tab.open("/admin/settings", "/admin/settings")
    await tab.call(SessionState, "require_admin")
    await tab.call(AdminSettingsState, "load")

    # Providers and plans: the token is stored encrypted and never shown, only its last four characters.
    await tab.open("/admin/providers", "/admin/providers")
    await tab.call(SessionState, "require_admin")
    await tab.call(AdminProvidersState, "load")
    await tab.open("/admin/plans", "/admin/plans")
    await tab.call(SessionState, "require_admin")
    await tab.call(AdminPlansState, "load")
    plan_rows = (await tab.root.get_state(AdminPlansState)).rows
    assert [r["name"] for r in plan_rows] == ["Vault 2"]
    await tab.call(AdminPlansState, "open_new")
    await tab.call(AdminPlansState, "set_f_plan", value="g6-standard-1")
    await tab.call(AdminPlansState, "open_edit", plan_id=plan_rows[0]["id"])
    await tab.call(AdminPlansState, "open_names")
    assert (await tab.root.get_state(AdminPlansState)).catalog_plans

    # All servers: Tess's server (its root password is stored encrypted) is listed, never its password.
    await tab.open("/admin/servers", "/admin/servers")
    await tab.call(SessionState, "require_admin")
    await tab.call(AdminServersState, "load")
    assert len((await tab.root.get_state(AdminServersState)).rows) >= 1
    await tab.call(AdminServersState, "set_search", value="a")

    # Support access: the admin opens Tess's organization page in the portal (members, invitations, roles).
    org = vault["tess_org"]
    await tab.open("/organizations/[org_id]", f"/organizations/{org}", {"org_id": org})
    await tab.call(SessionState, "require_login")
    await tab.call(OrgDetailState, "load")
    for tab_name in ("members", "invitations", "roles"):
        await tab.call(OrgDetailState, "set_tab", value=tab_name)
    assert (await tab.root.get_state(OrgDetailState)).status == "ready"

    # Ada's own settings page: her sessions, not Tess's.
    await tab.open("/settings", "/settings")
    await tab.call(SessionState, "require_login")
    await tab.call(SettingsState, "load")

    await tab.open("/admin/outbox", "/admin/outbox")
    await tab.call(SessionState, "require_admin")
    await tab.call(AdminOutboxState, "load")
    _assert_no_secrets(sent_text(tab), secrets, allow=me, where="the admin area (before opening any email)")

    # The outbox list, every page of it.
    outbox = await tab.root.get_state(AdminOutboxState)
    message_ids = [r["id"] for r in outbox.rows]
    while outbox.page < outbox.page_total:
        await tab.call(AdminOutboxState, "next_page")
        message_ids += [r["id"] for r in outbox.rows]
    assert len(message_ids) == outbox.total > 0
    # Each email opened. In development the dev outbox is how links are followed, so the bodies of
    # the reset and invitation emails legitimately carry those links (and their tokens) to the admin.
    # Nothing else may appear: no password or hash, TOTP secret or blob, recovery code, session or
    # pending token, hash of any token, or key.
    by_design_in_email_bodies = (vault["reset_token"], vault["invitation_sent"], vault["invitation_received"])
    bodies = ""
    for message_id in message_ids:
        sent = await tab.call(AdminOutboxState, "open_message", message_id=message_id)
        bodies += sent
        _assert_no_secrets(sent, secrets, allow=me + by_design_in_email_bodies, where=f"outbox message {message_id}")
        await tab.call(AdminOutboxState, "set_viewer_open", value=False)
    assert vault["reset_token"] in bodies, "the reset email was not shown: the outbox check saw no bodies"

    _assert_no_secrets(sent_text(tab), secrets, allow=me + by_design_in_email_bodies, where="the admin area")


# ---------------------------------------------------------------- sign-in and password reset forms


async def test_two_step_sign_in_keeps_the_pending_token_on_the_server(vault):
    tab = Client("", ip=_next_ip())
    await tab.open("/login", "/login?next=/settings", {"next": "/settings"})
    await tab.call(LoginState, "load")
    await tab.call(LoginState, "submit_password", form={"email": TESS, "password": TESS_PASSWORD})
    login = await tab.root.get_state(LoginState)
    assert login.step == "code"
    pending = login._pending_token  # noqa: SLF001 - the backend-only var the rule asks for
    assert pending
    secrets = {**vault["secrets"], **stored_secrets(), "pending 2FA sign-in token (this tab)": pending}
    _assert_no_secrets(sent_text(tab), secrets, where="LoginState.submit_password")

    await tab.call(LoginState, "submit_code", form={"code": _next_totp(vault["totp_secret"])})
    new_session = (await tab.root.get_state(SessionState)).session_token
    assert new_session and login._pending_token == ""  # noqa: SLF001
    secrets = {**secrets, **stored_secrets()}
    # This tab's new session token is its own cookie: it must reach the browser.
    _assert_no_secrets(sent_text(tab), secrets, allow=(new_session,), where="LoginState.submit_code")


async def test_forgot_and_reset_password_keep_the_reset_token_on_the_server(vault):
    tab = Client("", ip=_next_ip())
    await tab.open("/forgot-password", "/forgot-password")
    await tab.call(ForgotPasswordState, "load")
    await tab.call(ForgotPasswordState, "submit", form={"email": TESS})
    assert (await tab.root.get_state(ForgotPasswordState)).sent
    new_reset = _reset_token_from_email()
    assert new_reset != vault["reset_token"]
    secrets = {**vault["secrets"], **stored_secrets(), "password reset token (new)": new_reset}
    _assert_no_secrets(sent_text(tab), secrets, where="ForgotPasswordState.submit")

    # The reset page: the link's token is in this tab's URL (allowed there), kept in `_reset_token`.
    reset_tab = Client("", ip=_next_ip())
    await reset_tab.open("/reset-password", f"/reset-password?token={new_reset}", {"token": new_reset})
    await reset_tab.call(ResetPasswordState, "load")
    reset = await reset_tab.root.get_state(ResetPasswordState)
    assert reset.has_token
    own = str(reset.dict()[ResetPasswordState.get_full_name()])
    assert _norm(new_reset) not in _norm(own), "the reset token was copied into view data"
    new_password = "A brand new vault passphrase 9"
    await reset_tab.call(ResetPasswordState, "submit", form={"password": new_password, "confirm": new_password})
    assert reset.done
    secrets = {**secrets, **stored_secrets(), "Tess's new password": new_password}
    _assert_no_secrets(sent_text(reset_tab), secrets, allow=(new_reset,), where="the reset password page")


# ---------------------------------------------------------------- 2FA setup: shown once, then gone


def _since(client: Client, mark: tuple[int, int]) -> str:
    """What the tab was sent after `mark` (= len(sent_deltas), len(sent_events)), downloads decoded."""
    events = [{"name": e.name, "payload": e.payload} for e in client.sent_events[mark[1]:]]
    deltas = client.sent_deltas[mark[0]:]
    return str(events) + str(deltas) + decode_data_urls(events) + decode_data_urls(deltas)


def _mark(client: Client) -> tuple[int, int]:
    return len(client.sent_deltas), len(client.sent_events)


async def test_two_factor_setup_secrets_are_shown_once_then_cleared(db):
    token = auth.register(name="Sam Setup", email="sam@setup.example.com", password=TESS_PASSWORD,
                          accept_terms=True, ip=_next_ip(), user_agent=UA)["session_token"]
    tab = Client(token, ip=TESS_IP)
    await tab.open("/settings", "/settings")
    await tab.call(SessionState, "require_login")
    await tab.call(SettingsState, "load")
    settings = await tab.root.get_state(SettingsState)
    start = _mark(tab)

    # Abandoned setup: closing the dialog forgets the secret and QR.
    await tab.call(SettingsState, "begin_totp_setup")
    assert settings.totp_secret and settings.totp_qr.startswith("data:image/")
    abandoned = {"abandoned setup secret": settings.totp_secret}
    # QR images share their first and last characters (same SVG header), so they are compared whole.
    qr_codes = [settings.totp_qr]
    await tab.call(SettingsState, "set_totp_setup_open", value=False)
    assert settings.totp_secret == "" and settings.totp_qr == ""
    after_abandon = _mark(tab)

    # Setup: the secret is shown (and our check does see it: the positive control) ...
    sent = await tab.call(SettingsState, "begin_totp_setup")
    secret = settings.totp_secret
    assert secret not in abandoned.values()
    assert secret in sent, "the setup secret never reached the tab: the check is blind"
    setup = {"TOTP secret": secret}
    qr_codes.append(settings.totp_qr)
    pending_blob = stored_secrets()
    assert any(k.startswith("users.totp_pending_secret_enc[") for k in pending_blob)
    _assert_no_secrets(sent, pending_blob, allow=(token,), where="begin_totp_setup (the encrypted pending secret)")

    # ... enabling clears it and shows the 10 recovery codes once ...
    sent = await tab.call(SettingsState, "enable_totp", form_data={"code": pyotp.TOTP(secret).now()})
    assert settings.totp_enabled and not settings.totp_setup_open
    assert settings.totp_secret == "" and settings.totp_qr == ""
    codes = list(settings.recovery_codes)
    assert len(codes) == 10 and settings.codes_open and all(_norm(c) in _norm(sent) for c in codes)
    after_enable = _mark(tab)
    await tab.call(SettingsState, "download_codes")  # while shown: the user's own download
    # ... and closing the codes dialog clears them.
    await tab.call(SettingsState, "set_codes_open", value=False)
    assert settings.recovery_codes == [] and settings.recovery_codes_text == ""
    first_codes = {f"recovery code #{i + 1}": c for i, c in enumerate(codes)}
    after_codes = _mark(tab)

    # Regenerated codes: shown once, then cleared the same way.
    await tab.call(SettingsState, "set_regenerate_open", value=True)
    await tab.call(SettingsState, "regenerate_codes", form_data={"password": TESS_PASSWORD, "code": codes[0]})
    new_codes = list(settings.recovery_codes)
    assert len(new_codes) == 10 and not set(new_codes) & set(codes)
    await tab.call(SettingsState, "set_codes_open", value=False)
    assert settings.recovery_codes == [] and settings.recovery_codes_text == ""
    regenerated = {f"regenerated recovery code #{i + 1}": c for i, c in enumerate(new_codes)}
    after_regenerated = _mark(tab)

    # Afterwards: reloading the page and another page.
    await tab.call(SettingsState, "load")
    await tab.open("/dashboard", "/dashboard")
    await tab.call(SessionState, "require_login")
    await tab.call(DashboardState, "load")

    # Each one-time secret is sent while its dialog shows it, never again after it was cleared.
    _assert_no_secrets(_since(tab, after_abandon), abandoned, where="after the abandoned setup was closed")
    _assert_no_secrets(_since(tab, after_enable), setup, where="after 2FA was enabled")
    _assert_no_secrets(_since(tab, after_codes), first_codes, where="after the recovery codes dialog closed")
    _assert_no_secrets(_since(tab, after_regenerated), regenerated, where="after the new codes dialog closed")
    # Nor in the state a tab reconnecting now would be hydrated with.
    one_time = {**abandoned, **setup, **first_codes, **regenerated}
    hydrate = json.dumps(tab.root.dict(), default=str)
    _assert_no_secrets(hydrate, one_time, where="the state a reconnecting tab is hydrated with")
    assert not any(qr in _since(tab, after_enable) or qr in hydrate for qr in qr_codes), "a setup QR was re-sent"
    # The 2FA traffic never carried the encrypted secret, any hash, the password or the keys.
    settings_keys = {"SECRET_KEY": get_settings().secret_key, "ENCRYPTION_KEY": get_settings().encryption_key}
    _assert_no_secrets(_since(tab, start), {**pending_blob, **stored_secrets(), **settings_keys,
                                            "password": TESS_PASSWORD},
                       allow=(token,), where="the 2FA setup dialogs")


# ---------------------------------------------------------------- structure: what can reach the browser

SECRET_LIKE = re.compile(r"pass(word|wd)|secret|hash|token|key|credential|cipher|otp|recovery|qr(_|$)", re.I)

# Vars sent to the browser whose names look like secrets, each with why it is fine. Keep it short.
ALLOWED_PUBLIC_VARS = {
    # Reflex turns every [route arg] into a root-state var; this is /invitations/[token], i.e. the
    # URL the tab already holds. The page does not copy it into its own view data (tested above).
    ("State", "token"): "route argument of /invitations/[token]",
    # The browser's own session cookie (rx.Cookie): it has to reach the browser to be stored there.
    ("SessionState", "session_token"): "the browser's own cookie",
    # A validation message under the password field, never the password.
    ("RegisterState", "password_error"): "error text",
    # One-time display during 2FA setup / after (re)generating codes, to the user themselves, and
    # cleared when the dialog closes (test_two_factor_setup_secrets_are_shown_once_then_cleared).
    ("SettingsState", "totp_secret"): "one-time: setup secret for manual entry",
    ("SettingsState", "totp_qr"): "one-time: setup QR code",
    ("SettingsState", "recovery_codes"): "one-time: fresh recovery codes",
    ("SettingsState", "recovery_codes_text"): "one-time: the same codes, for copying",
    # A validation message under the create wizard's root password field, never the password.
    ("ServerCreateState", "password_error"): "error text",
}


def _all_states(cls=State):
    yield cls
    for sub in sorted(cls.get_substates(), key=lambda c: c.get_full_name()):
        yield from _all_states(sub)


def test_no_var_sent_to_the_browser_is_named_like_a_secret():
    from skypanel.skypanel import app  # noqa: F401 - registers every page and state

    register_pages()
    states = list(_all_states())
    assert {SessionState, SettingsState, LoginState, AdminOutboxState} <= set(states)
    offenders = []
    for cls in states:
        public = {**cls.base_vars, **{k: v for k, v in cls.computed_vars.items() if not v._backend}}
        for name, var in public.items():
            if name.startswith("_") or not SECRET_LIKE.search(name):
                continue
            if (cls.__name__, name) in ALLOWED_PUBLIC_VARS:
                continue
            if var._var_type in (bool, int, float):  # a flag or a count cannot carry a secret
                continue
            offenders.append(f"{cls.__name__}.{name}: {var._var_type}")
    assert not offenders, (
        "vars sent to the browser are named like secrets (make them backend-only `_` vars, "
        f"or add them to ALLOWED_PUBLIC_VARS with the reason): {offenders}"
    )


async def test_backend_only_vars_never_reach_the_browser():
    """The mechanism the rule relies on: `_` vars are in neither the delta nor the hydrated state."""
    register_pages()
    root = State(_reflex_internal_init=True)
    canaries = {}
    for cls in (LoginState, ResetPasswordState):
        state = await root.get_state(cls)
        backend = [n for n in inspect.get_annotations(cls) if n.startswith("_") and not n.startswith("__")]
        assert backend, f"{cls.__name__} has no backend-only var to hold its token"
        for name in backend:
            value = f"canary-{uuid.uuid4().hex}"
            setattr(state, name, value)
            canaries[f"{cls.__name__}.{name}"] = value
        state.error = "something changed"  # a public var changes too, so there is a delta to send
    delta = root.get_delta()
    assert delta, "no delta produced"
    assert not leaked(str(delta) + str(root.dict()), canaries)
