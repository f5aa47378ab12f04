"""The provider catalog: each provider account's regions, plans (sizes/types) and images, cached.

Page views (the admin plans page, the customer's create wizard) never wait on a provider: they
read the last catalog stored in `provider_catalogs`. `refresh` reads all three lists from the
provider and replaces the stored catalog in one short transaction; no transaction is held while
the provider answers. If the provider fails, the old catalog stays as it was and the caller gets
a ValidationError carrying the provider's message.

Regions offered to customers are chosen explicitly by an admin (the account's `allowed_regions`,
with customer-facing labels): an account with none chosen offers none, the same rule the admin
providers page states ("Leave empty to offer none"). A chosen region is offered only while the
provider still lists it as available (`regions_offered`).

Strings coming from a provider are cleaned before they are stored (control characters dropped,
lengths capped), so a misbehaving provider cannot put text in the database that PostgreSQL or the
browser would choke on. Money stays Decimal, stored as strings.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from cryptography.exceptions import InvalidTag
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session

from skypanel.backend.db import session_scope
from skypanel.backend.models import ProviderAccount, ProviderCatalog
from skypanel.backend.models.base import utcnow
from skypanel.backend.providers.base import ProviderError
from skypanel.backend.services import activity, rbac
from skypanel.backend.services.admin import require_platform_admin
from skypanel.backend.services.context import Actor
from skypanel.backend.services.errors import NotFound, ValidationError
from skypanel.backend.services.provider_accounts import ACCOUNT_NOT_FOUND, KIND_LABELS, client_for
from skypanel.backend.services.text import has_disallowed_chars

#: A catalog older than this is "stale": the admin page suggests refreshing it.
STALE_AFTER = timedelta(hours=24)
#: Attempts per call when an admin refreshes (rides out one 429/5xx, still answers quickly).
ADMIN_ATTEMPTS = 2
MESSAGE_MAX = 300
#: Caps on what one provider may put in the cache (a real catalog is far smaller).
LIST_MAX = 2000
TEXT_MAX = 120
PRICE_MAX = Decimal("1000000")


# ---- cleaning what the provider sent -------------------------------------------------------

def _text(value: Any, max_len: int = TEXT_MAX) -> str:
    text = "" if value is None else str(value)
    text = "".join(ch for ch in text if not has_disallowed_chars(ch))
    return " ".join(text.split())[:max_len]


def _int(value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return 0
    return max(0, min(number, 2**31 - 1))


def _money(value: Any) -> str:
    """A price as a plain decimal string ("12.0000" style is avoided: "12", "0.018")."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return "0"
    if not amount.is_finite() or amount < 0 or amount > PRICE_MAX:
        return "0"
    amount = amount.quantize(Decimal("0.00001"))
    text = format(amount.normalize(), "f")
    return text if text != "-0" else "0"


def _region(r: Any) -> dict[str, Any]:
    return {"id": _text(r.id, 64), "label": _text(r.label) or _text(r.id, 64), "country": _text(r.country, 8),
            "available": bool(r.available)}


def _plan(p: Any) -> dict[str, Any]:
    return {
        "id": _text(p.id, 64), "label": _text(p.label) or _text(p.id, 64),
        "vcpus": _int(p.vcpus), "memory_mb": _int(p.memory_mb), "disk_gb": _int(p.disk_gb),
        "transfer_gb": _int(p.transfer_gb),
        "price_monthly": _money(p.price_monthly), "price_hourly": _money(p.price_hourly),
        "regions": [_text(r, 64) for r in list(p.regions or ())[:LIST_MAX] if _text(r, 64)],
    }


def _image(i: Any) -> dict[str, Any]:
    return {"id": _text(i.id, 120), "label": _text(i.label) or _text(i.id, 120),
            "distribution": _text(i.distribution, 60), "version": _text(i.version, 60)}


def _dedupe(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Items with an id, each id once (first wins), at most LIST_MAX."""
    seen: set[str] = set()
    out = []
    for item in items:
        if item["id"] and item["id"] not in seen:
            seen.add(item["id"])
            out.append(item)
    return out[:LIST_MAX]


# ---- reading the stored catalog --------------------------------------------------------------

def catalog_dict(row: ProviderCatalog) -> dict[str, Any]:
    """The stored catalog as plain JSON-friendly data (copies: callers may change them)."""
    return {
        "regions": [dict(r) for r in row.regions or []],
        "plans": [{**p, "regions": list(p.get("regions") or [])} for p in row.plans or []],
        "images": [dict(i) for i in row.images or []],
        "refreshed_at": row.refreshed_at.isoformat(),
    }


def _load(session: Session, account_id: uuid.UUID) -> dict[str, Any] | None:
    row = session.get(ProviderCatalog, account_id)
    return catalog_dict(row) if row is not None else None


def get_catalog(account_id: Any) -> dict[str, Any] | None:
    """The last stored catalog of the account, or None if it was never read. Internal: no
    permission check (callers are services that checked theirs)."""
    try:
        aid = rbac.parse_uuid(account_id)
    except NotFound:
        return None
    with session_scope() as s:
        return _load(s, aid)


def find_plan(catalog: dict[str, Any] | None, provider_plan_id: str) -> dict[str, Any] | None:
    """The catalog's entry for a provider plan id, or None."""
    for p in (catalog or {}).get("plans") or []:
        if p.get("id") == provider_plan_id:
            return p
    return None


def regions_offered(account: ProviderAccount, catalog: dict[str, Any] | None | bool = False) -> list[dict[str, Any]]:
    """The regions customers may choose for this account: the admin's allowed regions (with the
    admin's customer-facing labels, in the admin's order) that the provider's catalog lists as
    available. None chosen means none offered; no catalog yet means none offered.

    Each item: {"id", "label" (customer-facing), "provider_label", "country"}. `catalog` may be
    passed when the caller already has it (False: read it here).
    """
    if catalog is False:
        catalog = get_catalog(account.id)
    known = {r.get("id"): r for r in (catalog or {}).get("regions") or [] if r.get("available")}
    out = []
    for allowed in account.allowed_regions or []:
        rid = allowed.get("id")
        if rid in known:
            out.append({"id": rid, "label": allowed.get("label") or rid,
                        "provider_label": known[rid].get("label") or rid, "country": known[rid].get("country") or ""})
    return out


def is_stale(catalog: dict[str, Any] | None, *, now: datetime | None = None) -> bool:
    """True when there is no catalog or it is older than STALE_AFTER."""
    if not catalog or not catalog.get("refreshed_at"):
        return True
    refreshed = datetime.fromisoformat(catalog["refreshed_at"])
    return (now or utcnow()) - refreshed > STALE_AFTER


# ---- refreshing ---------------------------------------------------------------------------------

def _provider_message(exc: ProviderError, kind: str) -> str:
    who = KIND_LABELS.get(kind, "The provider")
    if exc.status is None and exc.retryable:
        message = f"{who} did not answer in time. The previous catalog was kept; try again in a minute."
    else:
        reason = _text(exc.message, 200) or "no reason given"
        if reason[-1] not in ".!?":
            reason += "."
        message = f"{who} refused to list its catalog: {reason} The previous catalog was kept."
    return message[:MESSAGE_MAX]


async def refresh(account_id: Any, **client_options: Any) -> dict[str, Any]:
    """Read regions, plans and images from the provider and store them as the account's catalog.

    Internal (no permission check): the sync job and `admin_refresh` call it. Returns the new
    `catalog_dict`. On a provider failure raises ValidationError (the provider's message) and the
    stored catalog is left exactly as it was. No database transaction is open during the calls.
    """
    aid = rbac.parse_uuid(account_id, ACCOUNT_NOT_FOUND)
    with session_scope() as s:
        account = s.get(ProviderAccount, aid)
        if account is None:
            raise NotFound(ACCOUNT_NOT_FOUND)
        s.expunge(account)
    try:
        client = client_for(account, **client_options)
        try:
            # All three at once; every call is awaited to its end before the client closes.
            results = await asyncio.gather(client.list_regions(), client.list_plans(), client.list_images(),
                                           return_exceptions=True)
            for outcome in results:
                if isinstance(outcome, BaseException):
                    raise outcome
            regions, plans, images = results
        finally:
            await client.aclose()
    except ProviderError as exc:
        raise ValidationError(_provider_message(exc, account.kind)) from None
    except InvalidTag:
        raise ValidationError("The stored API token cannot be decrypted (was the encryption key changed?). "
                              "Replace the token, then refresh again.") from None
    values = {
        "regions": _dedupe([_region(r) for r in regions[:LIST_MAX]]),
        "plans": _dedupe([_plan(p) for p in plans[:LIST_MAX]]),
        "images": _dedupe([_image(i) for i in images[:LIST_MAX]]),
        "refreshed_at": utcnow(),
    }
    with session_scope() as s:
        if s.get(ProviderAccount, aid) is None:  # deleted while the provider answered
            raise NotFound(ACCOUNT_NOT_FOUND)
        s.execute(insert(ProviderCatalog).values(provider_account_id=aid, **values)
                  .on_conflict_do_update(index_elements=["provider_account_id"], set_=values))
    return {**{k: v for k, v in values.items() if k != "refreshed_at"},
            "refreshed_at": values["refreshed_at"].isoformat()}


async def admin_refresh(actor: Actor, account_id: Any, **client_options: Any) -> dict[str, Any]:
    """A platform admin refreshes an account's catalog now (activity row with the counts)."""
    with session_scope() as s:
        require_platform_admin(s, actor)
        account = s.get(ProviderAccount, rbac.parse_uuid(account_id, ACCOUNT_NOT_FOUND))
        if account is None:
            raise NotFound(ACCOUNT_NOT_FOUND)
        aid, name = account.id, account.name
    result = await refresh(aid, **{"max_attempts": ADMIN_ATTEMPTS, **client_options})
    counts = {k: len(result[k]) for k in ("regions", "plans", "images")}
    with session_scope() as s:
        require_platform_admin(s, actor)
        activity.record(s, actor, "admin.catalog_refreshed", entity_type="provider_account", entity_id=aid,
                        summary=f"Refreshed the catalog of {name}: {counts['regions']} regions, "
                                f"{counts['plans']} plans, {counts['images']} images",
                        details=counts)
    return result


def admin_catalog(actor: Actor, account_id: Any) -> dict[str, Any]:
    """What the admin plans page needs about one account: its stored catalog (None if never
    read), whether it is stale, and the regions offered to customers."""
    with session_scope() as s:
        require_platform_admin(s, actor)
        account = s.get(ProviderAccount, rbac.parse_uuid(account_id, ACCOUNT_NOT_FOUND))
        if account is None:
            raise NotFound(ACCOUNT_NOT_FOUND)
        catalog = _load(s, account.id)
        return {
            "account_id": str(account.id),
            "catalog": catalog,
            "stale": is_stale(catalog),
            "offered_regions": regions_offered(account, catalog),
        }
