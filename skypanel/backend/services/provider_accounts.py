"""Provider accounts (admin area): the Linode / DigitalOcean tokens the platform resells through.

Platform admins only; every function re-checks the admin flag against the database and writes
an activity row for every change. The token is encrypted at rest (AES-256-GCM, bound to the row
id), never returned, never logged and never written to activity rows: admins see its last four
characters. Provider clients get a `token_provider` that decrypts at call time, so the plaintext
lives only for the duration of a request.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidTag
from sqlmodel import Session, col, func, select

from skypanel.backend.db import advisory_xact_lock, session_scope
from skypanel.backend.models import Plan, ProviderAccount, Server
from skypanel.backend.models.base import utcnow
from skypanel.backend.models.providers import PROVIDER_KINDS, token_aad
from skypanel.backend.providers.base import Provider, ProviderError
from skypanel.backend.providers.digitalocean import DigitalOceanProvider
from skypanel.backend.providers.linode import LinodeProvider
from skypanel.backend.providers.simulated import SimulatedProvider
from skypanel.backend.security import decrypt, encrypt
from skypanel.backend.services import activity, rbac
from skypanel.backend.services.admin import require_platform_admin
from skypanel.backend.services.context import Actor
from skypanel.backend.services.errors import Conflict, NotFound, ValidationError
from skypanel.backend.services.text import has_disallowed_chars

ACCOUNT_NOT_FOUND = "Provider account not found."
KIND_LABELS = {"linode": "Linode", "digitalocean": "DigitalOcean", "simulated": "Simulated"}
#: Kinds that talk to no external API: no token to store, no base URL, nothing to rotate.
BUILT_IN_KINDS = ("simulated",)
DEFAULT_BASE_URLS = {"linode": "https://api.linode.com/v4", "digitalocean": "https://api.digitalocean.com"}
NAME_MAX = 60
TOKEN_MIN, TOKEN_MAX = 10, 200
BASE_URL_MAX = 300
REGIONS_MAX = 200
REGION_ID_MAX = 64
REGION_LABEL_MAX = 60
DISPLAY_ORDER_MAX = 100_000
MESSAGE_MAX = 300
#: Attempts for an admin's "test connection": enough to ride out one 429/5xx, short enough to answer.
TEST_ATTEMPTS = 2


# ---- validation ------------------------------------------------------------------------

def _kind(value: Any) -> str:
    if not isinstance(value, str) or value.strip().lower() not in PROVIDER_KINDS:
        raise ValidationError("Choose Linode, DigitalOcean or Simulated.", field="kind")
    return value.strip().lower()


def _name(value: Any) -> str:
    if not isinstance(value, str):
        raise ValidationError("Enter a name.", field="name")
    value = " ".join(value.split())
    if not value:
        raise ValidationError("Enter a name.", field="name")
    if len(value) > NAME_MAX:
        raise ValidationError(f"The name must be at most {NAME_MAX} characters.", field="name")
    if has_disallowed_chars(value):
        raise ValidationError("The name contains characters that are not allowed.", field="name")
    return value


def _token(value: Any) -> str:
    if not isinstance(value, str):
        raise ValidationError("Enter the API token.", field="token")
    value = value.strip()
    if not value:
        raise ValidationError("Enter the API token.", field="token")
    if not TOKEN_MIN <= len(value) <= TOKEN_MAX:
        raise ValidationError(f"The API token must be {TOKEN_MIN} to {TOKEN_MAX} characters.", field="token")
    if any(not 33 <= ord(ch) <= 126 for ch in value):
        raise ValidationError("The API token may contain only printable ASCII characters, no spaces.",
                              field="token")
    return value


def _base_url(value: Any) -> str | None:
    """None (use the official API URL) for empty input, else a plain http(s) URL without a trailing slash."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError("Enter a valid API URL.", field="base_url")
    value = value.strip()
    if not value:
        return None
    message = "The API URL must be an http:// or https:// address, e.g. https://api.linode.com/v4."
    if len(value) > BASE_URL_MAX:
        raise ValidationError(f"The API URL must be at most {BASE_URL_MAX} characters.", field="base_url")
    if has_disallowed_chars(value) or any(ch.isspace() for ch in value):
        raise ValidationError(message, field="base_url")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises ValueError for a bad port)
    except ValueError:
        raise ValidationError(message, field="base_url") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValidationError(message, field="base_url")
    if parts.username is not None or parts.password is not None:
        raise ValidationError("The API URL must not contain a user name or password.", field="base_url")
    if parts.query or parts.fragment:
        raise ValidationError("The API URL must not contain a query or fragment.", field="base_url")
    return value.rstrip("/")


def _is_active(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValidationError("Choose on or off.", field="is_active")
    return value


def _display_order(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= DISPLAY_ORDER_MAX:
        raise ValidationError(f"The display order must be a whole number from 0 to {DISPLAY_ORDER_MAX}.",
                              field="display_order")
    return value


def _allowed_regions(value: Any) -> list[dict[str, str]]:
    """[{"id", "label"}]: ids are the provider's region ids (strings), labels what customers see."""
    if not isinstance(value, (list, tuple)):
        raise ValidationError("Allowed regions must be a list of regions.", field="allowed_regions")
    if len(value) > REGIONS_MAX:
        raise ValidationError(f"At most {REGIONS_MAX} regions can be allowed.", field="allowed_regions")
    out: list[dict[str, str]] = []
    seen: set[str] = set()
    for item in value:
        if not isinstance(item, dict):
            raise ValidationError("Each allowed region needs an id and a label.", field="allowed_regions")
        rid, label = item.get("id"), item.get("label", "")
        if not isinstance(rid, str):
            raise ValidationError("Region ids must be text, e.g. \"us-east\".", field="allowed_regions")
        rid = rid.strip()
        if not rid or len(rid) > REGION_ID_MAX or has_disallowed_chars(rid) or any(ch.isspace() for ch in rid):
            raise ValidationError(f"Region ids must be 1 to {REGION_ID_MAX} characters without spaces.",
                                  field="allowed_regions")
        if rid in seen:
            raise ValidationError(f"Region {rid} is listed twice.", field="allowed_regions")
        if label is None:
            label = ""
        if not isinstance(label, str):
            raise ValidationError(f"The label of region {rid} must be text.", field="allowed_regions")
        label = " ".join(label.split()) or rid
        if len(label) > REGION_LABEL_MAX or has_disallowed_chars(label):
            raise ValidationError(f"The label of region {rid} must be at most {REGION_LABEL_MAX} characters "
                                  "of plain text.", field="allowed_regions")
        seen.add(rid)
        out.append({"id": rid, "label": label})
    return out


_NAME_LOCK = 0x5B_50_41_4E  # advisory lock key: serialises name checks across processes


def _unique_name(session: Session, name: str, *, exclude: uuid.UUID | None = None) -> None:
    """Names are unique ignoring case; the transaction lock makes two simultaneous adds of the
    same name take turns, so the second gets this message instead of a database error."""
    advisory_xact_lock(session, _NAME_LOCK)
    stmt = select(ProviderAccount.id).where(func.lower(ProviderAccount.name) == name.lower())
    if exclude is not None:
        stmt = stmt.where(ProviderAccount.id != exclude)
    if session.exec(stmt).first() is not None:
        raise ValidationError("Another provider account already has this name.", field="name")


# ---- helpers ---------------------------------------------------------------------------

def _dict(a: ProviderAccount) -> dict[str, Any]:
    """The admin view of an account: never the token, only its last four characters."""
    return {
        "id": str(a.id),
        "kind": a.kind,
        "kind_label": KIND_LABELS.get(a.kind, a.kind),
        "name": a.name,
        "token_last4": a.token_last4,
        "base_url": a.base_url or "",
        "effective_base_url": a.base_url or DEFAULT_BASE_URLS.get(a.kind, ""),
        "is_active": a.is_active,
        "display_order": a.display_order,
        "allowed_regions": [dict(r) for r in a.allowed_regions or []],
        "created_at": a.created_at.isoformat(),
        "updated_at": a.updated_at.isoformat(),
        "last_tested_at": a.last_tested_at.isoformat() if a.last_tested_at else "",
        "last_test_ok": a.last_test_ok,
        "last_test_message": a.last_test_message,
    }


def _get(session: Session, account_id: Any, *, for_update: bool = False) -> ProviderAccount:
    account = session.get(ProviderAccount, rbac.parse_uuid(account_id, ACCOUNT_NOT_FOUND), with_for_update=for_update)
    if account is None:
        raise NotFound(ACCOUNT_NOT_FOUND)
    return account


def _set_token(account: ProviderAccount, token: str) -> None:
    account.token_enc = encrypt(token, aad=token_aad(account.id))
    account.token_last4 = token[-4:]


def client_for(account: ProviderAccount, **client_options: Any) -> Provider:
    """A provider client for the account. The token is decrypted per request, never held.

    Internal (no permission check): callers are services that already checked theirs. The caller
    closes the client (`await client.aclose()` or `async with`). `client_options` go to the
    HTTP client (e.g. `max_attempts`, `sleep` in tests).
    """
    if account.kind == "simulated":  # built in: no token, no HTTP (HTTP options do not apply)
        return SimulatedProvider(account.id, delay_scale=client_options.get("delay_scale"))
    token_enc, aad = account.token_enc, token_aad(account.id)

    def token_provider() -> str:
        return decrypt(token_enc, aad=aad)

    return _http_client(account.kind, account.base_url, token_provider, **client_options)


def _http_client(kind: str, base_url: str | None, token_provider, **client_options: Any) -> Provider:
    url = base_url or DEFAULT_BASE_URLS[kind]
    if kind == "linode":
        return LinodeProvider(base_url=url, token_provider=token_provider, **client_options)
    if kind == "digitalocean":
        return DigitalOceanProvider(base_url=url, token_provider=token_provider, **client_options)
    raise ValueError(f"unknown provider kind {kind!r}")


async def _verify_token(kind: str, token: str, base_url: str | None, **client_options: Any) -> int:
    """Ask the provider with the token before it is stored: a wrong token is refused with the
    provider's own message and nothing is saved. Returns the number of regions seen."""
    client = _http_client(kind, base_url, lambda: token, **{"max_attempts": TEST_ATTEMPTS, **client_options})
    try:
        return len(await client.list_regions())
    except ProviderError as exc:
        raise ValidationError(f"{KIND_LABELS[kind]} did not accept this token: {exc.message or 'refused'}. "
                              "Nothing was saved.", field="token") from None
    finally:
        await client.aclose()


# ---- service functions -----------------------------------------------------------------

def list_accounts(actor: Actor) -> list[dict[str, Any]]:
    """Every provider account in display order (tokens never included)."""
    with session_scope() as s:
        require_platform_admin(s, actor)
        rows = s.exec(select(ProviderAccount).order_by(
            col(ProviderAccount.display_order), col(ProviderAccount.name), col(ProviderAccount.id))).all()
        return [_dict(a) for a in rows]


def add_account(actor: Actor, *, kind: Any, name: Any, token: Any, base_url: Any = "") -> dict[str, Any]:
    """Connect a Linode or DigitalOcean account (or the built-in simulated provider, which takes no
    token and no URL: "" is stored encrypted so every row has the same shape). Starts active, with no
    regions offered yet."""
    kind, name = _kind(kind), _name(name)
    if kind in BUILT_IN_KINDS:
        if token not in (None, "") and not (isinstance(token, str) and not token.strip()):
            raise ValidationError("The simulated provider needs no API token.", field="token")
        if base_url not in (None, "") and not (isinstance(base_url, str) and not base_url.strip()):
            raise ValidationError("The simulated provider has no API URL.", field="base_url")
        token, url = "", None
    else:
        token, url = _token(token), _base_url(base_url)
    with session_scope() as s:
        require_platform_admin(s, actor)
        _unique_name(s, name)
        last = s.exec(select(func.max(ProviderAccount.display_order))).one()
        order = 0 if last is None else min(DISPLAY_ORDER_MAX, last + 1)  # new accounts go last
        account = ProviderAccount(id=uuid.uuid4(), kind=kind, name=name, token_enc="", base_url=url,
                                  display_order=order)
        _set_token(account, token)
        s.add(account)
        s.flush()
        activity.record(s, actor, "admin.provider_added", entity_type="provider_account", entity_id=account.id,
                        summary=f"Added {KIND_LABELS[kind]} provider account {name}",
                        details={"kind": kind, "name": name, "base_url": url or "", "token_last4": account.token_last4})
        return _dict(account)


_UNSET: Any = object()


def update_account(actor: Actor, account_id: Any, *, name: Any = _UNSET, is_active: Any = _UNSET,
                   display_order: Any = _UNSET, allowed_regions: Any = _UNSET) -> dict[str, Any]:
    """Change the name, active flag, display order or allowed regions (arguments left out stay)."""
    changes: dict[str, Any] = {}
    if name is not _UNSET:
        changes["name"] = _name(name)
    if is_active is not _UNSET:
        changes["is_active"] = _is_active(is_active)
    if display_order is not _UNSET:
        changes["display_order"] = _display_order(display_order)
    if allowed_regions is not _UNSET:
        changes["allowed_regions"] = _allowed_regions(allowed_regions)
    with session_scope() as s:
        require_platform_admin(s, actor)
        account = _get(s, account_id, for_update=True)
        if "name" in changes:
            _unique_name(s, changes["name"], exclude=account.id)
        changed = {k: v for k, v in changes.items() if getattr(account, k) != v}
        if not changed:
            return _dict(account)
        before = {k: getattr(account, k) for k in changed}
        for k, v in changed.items():
            setattr(account, k, v)
        account.updated_at = utcnow()
        activity.record(s, actor, "admin.provider_updated", entity_type="provider_account", entity_id=account.id,
                        summary=f"Updated provider account {account.name}: {', '.join(sorted(changed))}",
                        details={"before": before, "after": changed})
        return _dict(account)


def rotate_token(actor: Actor, account_id: Any, *, token: Any) -> dict[str, Any]:
    """Replace the account's API token (the old one is gone; the last test result is cleared)."""
    token = _token(token)
    with session_scope() as s:
        require_platform_admin(s, actor)
        account = _get(s, account_id, for_update=True)
        if account.kind in BUILT_IN_KINDS:
            raise ValidationError("The simulated provider has no API token to replace.", field="token")
        old_last4 = account.token_last4
        _set_token(account, token)
        account.updated_at = utcnow()
        account.last_tested_at, account.last_test_ok, account.last_test_message = None, None, ""
        activity.record(s, actor, "admin.provider_token_rotated", entity_type="provider_account",
                        entity_id=account.id, summary=f"Replaced the API token of provider account {account.name}",
                        details={"old_last4": old_last4, "new_last4": account.token_last4})
        return _dict(account)


def delete_account(actor: Actor, account_id: Any) -> None:
    """Remove a provider account and its stored token. Refused while plans or servers use it
    (deactivate it instead: customers then cannot order from it)."""
    with session_scope() as s:
        require_platform_admin(s, actor)
        account = _get(s, account_id, for_update=True)
        servers = s.exec(select(func.count()).select_from(Server).where(
            Server.provider_account_id == account.id, col(Server.deleted_at).is_(None))).one()
        plans = s.exec(select(func.count()).select_from(Plan).where(Plan.provider_account_id == account.id)).one()
        if servers or plans:
            raise Conflict(f"This account is used by {servers} server(s) and {plans} plan(s). Delete those first, "
                           "or switch the account off so customers cannot order from it.")
        activity.record(s, actor, "admin.provider_deleted", entity_type="provider_account", entity_id=account.id,
                        summary=f"Deleted {KIND_LABELS.get(account.kind, account.kind)} provider account "
                                f"{account.name}",
                        details={"kind": account.kind, "name": account.name, "token_last4": account.token_last4})
        s.delete(account)


async def connect_account(actor: Actor, *, kind: Any, name: Any, token: Any, base_url: Any = "",
                          **client_options: Any) -> dict[str, Any]:
    """What the admin page calls: check the token with the provider first (a wrong one saves
    nothing), then `add_account`, recording the successful check as the last test."""
    kind = _kind(kind)
    if kind not in BUILT_IN_KINDS:
        clean_token, url = _token(token), _base_url(base_url)
        _name(name)
        with session_scope() as s:
            require_platform_admin(s, actor)  # no provider call on behalf of a non-admin
        regions = await _verify_token(kind, clean_token, url, **client_options)
    added = add_account(actor, kind=kind, name=name, token=token, base_url=base_url)
    if kind in BUILT_IN_KINDS:
        return added
    with session_scope() as s:
        row = _get(s, added["id"], for_update=True)
        row.last_tested_at, row.last_test_ok = utcnow(), True
        row.last_test_message = f"Connected to {KIND_LABELS[kind]}: {regions} region(s) available."
        return _dict(row)


async def replace_token(actor: Actor, account_id: Any, *, token: Any, **client_options: Any) -> dict[str, Any]:
    """What the admin page calls to rotate a token: the new token is checked with the provider
    first; a wrong one leaves the stored token as it was."""
    clean_token = _token(token)
    with session_scope() as s:
        require_platform_admin(s, actor)
        account = _get(s, account_id)
        kind, url = account.kind, account.base_url
    if kind not in BUILT_IN_KINDS:
        await _verify_token(kind, clean_token, url, **client_options)
    return rotate_token(actor, account_id, token=token)


async def test_connection(actor: Actor, account_id: Any, **client_options: Any) -> dict[str, Any]:
    """Call the provider's region list with the stored token; record and return the outcome.

    Returns {"ok", "message", "regions"}: on failure the provider's own message (never the
    token). No database transaction is held open during the network call.
    """
    with session_scope() as s:
        require_platform_admin(s, actor)
        account = _get(s, account_id)
        s.expunge(account)
    options = {"max_attempts": TEST_ATTEMPTS, **client_options}
    count = 0
    try:
        client = client_for(account, **options)
        try:
            count = len(await client.list_regions())
        finally:
            await client.aclose()
        ok, message = True, f"Connected to {KIND_LABELS[account.kind]}: {count} region(s) available."
    except ProviderError as exc:
        ok, message = False, exc.message or "The provider refused the request."
    except InvalidTag:
        ok, message = False, "The stored token cannot be decrypted (was the encryption key changed?). Replace it."
    message = message[:MESSAGE_MAX]
    with session_scope() as s:
        require_platform_admin(s, actor)
        row = _get(s, account.id, for_update=True)
        row.last_tested_at, row.last_test_ok, row.last_test_message = utcnow(), ok, message
        activity.record(s, actor, "admin.provider_tested", entity_type="provider_account", entity_id=row.id,
                        summary=f"Tested provider account {row.name}: {'ok' if ok else 'failed'}",
                        details={"ok": ok, "message": message, "regions": count})
    return {"ok": ok, "message": message, "regions": count}
