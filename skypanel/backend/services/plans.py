"""Retail plans (admin area): a provider plan resold under our name, category and price.

Platform admins only, except `list_offered`, which the customer's create wizard reads (it needs
`vps_create` in the organization and never shows what a plan costs us: no base price, no markup).

Prices are per month, Decimal with at most 4 decimal places, from 0 to 100,000; floats are refused
(money is never float). Retail monthly = base (the provider's cost, prefilled from the catalog)
+ markup; hourly = monthly / 730 (`pricing`). A negative markup is refused: selling below cost by
a typo is a mistake no reseller wants, and the price must stay above zero (a free server would
bill zero-amount hours). Backups add their own monthly upcharge, billed hourly the same way.

Price history: creating a plan writes its first `PlanPrice` effective from the start of the
current hour; a price change writes one effective from the next whole hour, so an hour already
started is billed at the price it started with. Two changes in the same hour replace the pending
row (a change back to the price in force removes it). The plan row always holds the newest
prices, which is what new servers are quoted.

Regions: a plan is offered only in regions the provider sells it in (the catalog) that the admin
also allowed on the provider account. Deleting a plan that servers use (or used: their billing
history points at it) is refused; deactivating it stops new orders and leaves servers running.
"""

from __future__ import annotations

import re
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlmodel import Session, col, func, select

from skypanel.backend.db import advisory_xact_lock, session_scope
from skypanel.backend.models import Plan, PlanPrice, ProviderAccount, Server
from skypanel.backend.models.base import utcnow
from skypanel.backend.models.servers import PLAN_CATEGORIES
from skypanel.backend.services import activity, catalog, platform_settings, pricing, rbac
from skypanel.backend.services.admin import require_platform_admin
from skypanel.backend.services.context import Actor
from skypanel.backend.services.errors import Conflict, NotFound, ValidationError
from skypanel.backend.services.provider_accounts import ACCOUNT_NOT_FOUND, KIND_LABELS
from skypanel.backend.services.text import has_disallowed_chars

PLAN_NOT_FOUND = "Plan not found."
NAME_MAX = 60
PRICE_MAX = Decimal("100000")
DISPLAY_ORDER_MAX = 100_000
REGIONS_MAX = 200
_PRICE_RE = re.compile(r"[0-9]+(?:\.[0-9]+)?|\.[0-9]+", re.ASCII)
_NAME_LOCK = 0x5B_50_4C_4E  # advisory lock key: serialises plan-name checks across processes

PRICE_LABELS = {"base_price": "The base price", "markup": "The markup", "backup_price": "The backup price"}

_UNSET: Any = object()


# ---- validation ------------------------------------------------------------------------------

def _price(value: Any, field: str) -> Decimal:
    """A monthly amount typed by a person: digits with at most 4 decimals, 0 to 100,000."""
    label = PRICE_LABELS[field]
    example = f"{label} must be an amount such as 12.50."
    if isinstance(value, float):
        raise ValidationError(f"{label} must be sent as text such as \"12.50\", not as a floating-point number.",
                              field=field)
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise ValidationError(example, field=field)
    text = str(value).strip()
    if text.startswith("$"):
        text = text[1:].strip()
    if text.startswith("-"):
        if field == "markup":
            raise ValidationError("The markup cannot be negative: a plan must not sell below the provider's cost.",
                                  field=field)
        raise ValidationError(f"{label} cannot be negative.", field=field)
    if not _PRICE_RE.fullmatch(text):
        raise ValidationError(example, field=field)
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValidationError(example, field=field) from None
    if amount.as_tuple().exponent < -4:  # type: ignore[operator]
        raise ValidationError(f"{label} may have at most 4 decimal places.", field=field)
    if amount > PRICE_MAX:
        raise ValidationError(f"{label} cannot be more than $100,000 a month.", field=field)
    return amount.quantize(pricing.PLACES)


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("Enter the plan's name.", field="name")
    value = " ".join(value.split())
    if len(value) > NAME_MAX:
        raise ValidationError(f"The name must be at most {NAME_MAX} characters.", field="name")
    if has_disallowed_chars(value) or any(c in value for c in "<>"):
        raise ValidationError("The name must be plain text (no < or >).", field="name")
    return value


def _category(value: Any) -> str:
    if not isinstance(value, str) or value.strip().lower() not in PLAN_CATEGORIES:
        raise ValidationError("Choose a category.", field="category")
    return value.strip().lower()


def _flag(value: Any, field: str = "is_active") -> bool:
    if not isinstance(value, bool):
        raise ValidationError("Choose on or off.", field=field)
    return value


def _display_order(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= DISPLAY_ORDER_MAX:
        raise ValidationError(f"The display order must be a whole number from 0 to {DISPLAY_ORDER_MAX}.",
                              field="display_order")
    return value


def _region_ids(value: Any) -> list[str]:
    if not isinstance(value, (list, tuple)) or len(value) > REGIONS_MAX:
        raise ValidationError("Choose the regions where the plan is offered.", field="regions")
    out: list[str] = []
    for rid in value:
        if not isinstance(rid, str) or not rid.strip() or len(rid) > 64 or has_disallowed_chars(rid):
            raise ValidationError("Choose the regions where the plan is offered.", field="regions")
        rid = rid.strip()
        if rid not in out:
            out.append(rid)
    if not out:
        raise ValidationError("Choose at least one region where the plan is offered.", field="regions")
    return out


def _provider_plan_id(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 64 or has_disallowed_chars(value):
        raise ValidationError("Choose the provider's plan.", field="provider_plan_id")
    return value.strip()


def _check_regions(regions: list[str], account: ProviderAccount, catalog_plan: dict[str, Any] | None,
                   *, current: list[str] | None = None) -> list[str]:
    """Regions must be allowed on the account AND sold by the provider for this plan (the catalog).
    When the catalog no longer lists the plan, only regions the plan already has may be kept."""
    allowed = [r.get("id") for r in account.allowed_regions or []]
    sold = set(catalog_plan.get("regions") or []) if catalog_plan is not None else set(current or [])
    for rid in regions:
        if rid not in allowed:
            raise ValidationError(f"Region {rid} is not offered by {account.name}. Allow it on the Providers page "
                                  "first.", field="regions")
        if rid not in sold:
            raise ValidationError(f"The provider does not sell this plan in region {rid}.", field="regions")
    order = {rid: i for i, rid in enumerate(allowed)}
    return sorted(regions, key=lambda r: order.get(r, len(order)))


def _check_total(base: Decimal, markup: Decimal) -> None:
    if base + markup <= 0:
        raise ValidationError("The monthly price (base price + markup) must be more than $0.", field="markup")


def _unique_name(session: Session, account_id: uuid.UUID, name: str, *, exclude: uuid.UUID | None = None) -> None:
    """Retail names are unique per provider account, ignoring case (customers pick by name)."""
    advisory_xact_lock(session, _NAME_LOCK)
    stmt = select(Plan.id).where(Plan.provider_account_id == account_id, func.lower(Plan.name) == name.lower())
    if exclude is not None:
        stmt = stmt.where(Plan.id != exclude)
    if session.exec(stmt).first() is not None:
        raise ValidationError("Another plan of this provider already has this name.", field="name")


# ---- helpers ------------------------------------------------------------------------------------

def category_names() -> dict[str, str]:
    """The white-label display name of each category (platform setting `plan_category_names`)."""
    return dict(platform_settings.get("plan_category_names"))


def _category_names(session: Session) -> dict[str, str]:
    return dict(platform_settings._get(session, "plan_category_names"))


def _money(value: Decimal) -> str:
    return str(Decimal(value).quantize(pricing.PLACES))


def _price_dict(price: pricing.Price) -> dict[str, str]:
    return {"base_price": _money(price.base), "markup": _money(price.markup), "backup_price": _money(price.backup),
            "monthly": _money(price.monthly), "hourly": _money(price.hourly),
            "backup_hourly": _money(price.backup_hourly)}


def _get_plan(session: Session, plan_id: Any, *, for_update: bool = False) -> Plan:
    plan = session.get(Plan, rbac.parse_uuid(plan_id, PLAN_NOT_FOUND), with_for_update=for_update)
    if plan is None:
        raise NotFound(PLAN_NOT_FOUND)
    return plan


def _servers_using(session: Session, plan_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Servers not deleted, per plan."""
    if not plan_ids:
        return {}
    rows = session.exec(
        select(Server.plan_id, func.count()).where(col(Server.plan_id).in_(plan_ids), Server.status != "deleted",
                                                   col(Server.deleted_at).is_(None))
        .group_by(Server.plan_id)
    ).all()
    return {pid: int(n) for pid, n in rows}


def _pending(session: Session, plan_id: uuid.UUID, now) -> PlanPrice | None:
    """The price change waiting for the next hour, if any (at most one can exist)."""
    return session.exec(select(PlanPrice).where(PlanPrice.plan_id == plan_id, PlanPrice.effective_from > now)
                        .order_by(col(PlanPrice.effective_from).desc()).limit(1)).first()


def _plan_dict(session: Session, plan: Plan, account: ProviderAccount | None, cat: dict[str, Any] | None,
               names: dict[str, str], servers: int, now) -> dict[str, Any]:
    price = pricing.current(plan)
    catalog_plan = catalog.find_plan(cat, plan.provider_plan_id)
    labels = {r.get("id"): r.get("label") or r.get("id") for r in (account.allowed_regions if account else []) or []}
    pending = _pending(session, plan.id, now)
    in_force = pricing.in_force(session, plan.id, now)
    return {
        "id": str(plan.id),
        "provider_account_id": str(plan.provider_account_id),
        "provider_name": account.name if account else "",
        "provider_kind": account.kind if account else "",
        "provider_kind_label": KIND_LABELS.get(account.kind, account.kind) if account else "",
        "provider_active": bool(account.is_active) if account else False,
        "provider_plan_id": plan.provider_plan_id,
        "provider_plan_label": (catalog_plan or {}).get("label") or plan.provider_plan_id,
        "in_catalog": catalog_plan is not None,
        "catalog_price": (catalog_plan or {}).get("price_monthly") or "",
        "name": plan.name,
        "category": plan.category,
        "category_label": names.get(plan.category, plan.category),
        "vcpus": plan.vcpus, "memory_mb": plan.memory_mb, "disk_gb": plan.disk_gb, "transfer_gb": plan.transfer_gb,
        **_price_dict(price),
        "price_in_force": _price_dict(in_force) if in_force else None,
        "pending": ({**_price_dict(pricing.Price(pending.base_price, pending.markup, pending.backup_price)),
                     "effective_from": pending.effective_from.isoformat()} if pending else None),
        "regions": list(plan.regions or []),
        "region_labels": [{"id": r, "label": labels.get(r, r), "allowed": r in labels} for r in plan.regions or []],
        "is_active": plan.is_active,
        "display_order": plan.display_order,
        "servers": servers,
        "created_at": plan.created_at.isoformat(),
        "updated_at": plan.updated_at.isoformat(),
    }


def _one(session: Session, plan: Plan) -> dict[str, Any]:
    account = session.get(ProviderAccount, plan.provider_account_id)
    cat = catalog._load(session, plan.provider_account_id)
    return _plan_dict(session, plan, account, cat, _category_names(session),
                      _servers_using(session, [plan.id]).get(plan.id, 0), utcnow())


def _write_price(session: Session, actor: Actor, plan: Plan, price: pricing.Price, now) -> Any:
    """Schedule `price` from the next whole hour (replacing a change already pending for it);
    returns when it takes effect, or None when nothing needed writing."""
    effective = pricing.next_hour(now)
    pending = _pending(session, plan.id, now)
    in_force = pricing.in_force(session, plan.id, now)
    if in_force == price:  # back to the price in force: nothing to schedule
        if pending is not None:
            session.delete(pending)
        return None
    if pending is not None and pending.effective_from == effective:
        pending.base_price, pending.markup, pending.backup_price = price.base, price.markup, price.backup
        pending.created_by, pending.created_at = actor.user_id, now
    else:
        session.add(PlanPrice(plan_id=plan.id, base_price=price.base, markup=price.markup,
                              backup_price=price.backup, effective_from=effective, created_by=actor.user_id,
                              created_at=now))
    return effective


# ---- admin --------------------------------------------------------------------------------------

def list_plans(actor: Actor) -> list[dict[str, Any]]:
    """Every plan with its provider, specs, prices (base, markup, backup; monthly and hourly), the
    price in force this hour and any change pending for the next, regions and servers using it."""
    with session_scope() as s:
        require_platform_admin(s, actor)
        rows = s.exec(select(Plan, ProviderAccount).join(ProviderAccount,
                                                         ProviderAccount.id == Plan.provider_account_id)
                      .order_by(col(ProviderAccount.display_order), col(ProviderAccount.name),
                                col(Plan.display_order), col(Plan.base_price) + col(Plan.markup), col(Plan.name),
                                col(Plan.id))).all()
        names = _category_names(s)
        counts = _servers_using(s, [p.id for p, _ in rows])
        catalogs: dict[uuid.UUID, Any] = {}
        now = utcnow()
        out = []
        for plan, account in rows:
            if account.id not in catalogs:
                catalogs[account.id] = catalog._load(s, account.id)
            out.append(_plan_dict(s, plan, account, catalogs[account.id], names, counts.get(plan.id, 0), now))
        return out


def get_plan(actor: Actor, plan_id: Any) -> dict[str, Any]:
    with session_scope() as s:
        require_platform_admin(s, actor)
        return _one(s, _get_plan(s, plan_id))


def create_plan(actor: Actor, *, provider_account_id: Any, provider_plan_id: Any, name: Any, category: Any,
                markup: Any, backup_price: Any, regions: Any, is_active: Any = True,
                base_price: Any = None) -> dict[str, Any]:
    """Resell a provider plan. The base price defaults to the provider's monthly price in the
    catalog; specs are copied from the catalog, which must have been read (refresh it first)."""
    provider_plan_id = _provider_plan_id(provider_plan_id)
    name, category = _name(name), _category(category)
    base = None if base_price is None or (isinstance(base_price, str) and not base_price.strip()) \
        else _price(base_price, "base_price")
    markup, backup = _price(markup, "markup"), _price(backup_price, "backup_price")
    regions, is_active = _region_ids(regions), _flag(is_active)
    with session_scope() as s:
        require_platform_admin(s, actor)
        account = s.get(ProviderAccount, rbac.parse_uuid(provider_account_id, ACCOUNT_NOT_FOUND))
        if account is None:
            raise NotFound(ACCOUNT_NOT_FOUND)
        cat = catalog._load(s, account.id)
        if cat is None:
            raise ValidationError(f"The catalog of {account.name} has not been read yet. Refresh the catalog first.",
                                  field="provider_plan_id")
        catalog_plan = catalog.find_plan(cat, provider_plan_id)
        if catalog_plan is None:
            raise ValidationError(f"{account.name} does not list plan {provider_plan_id}. Refresh the catalog "
                                  "and choose again.", field="provider_plan_id")
        if base is None:
            base = _price(catalog_plan.get("price_monthly") or "0", "base_price")
        _check_total(base, markup)
        regions = _check_regions(regions, account, catalog_plan)
        _unique_name(s, account.id, name)
        last = s.exec(select(func.max(Plan.display_order)).where(Plan.provider_account_id == account.id)).one()
        now = utcnow()
        plan = Plan(id=uuid.uuid4(), provider_account_id=account.id, provider_plan_id=provider_plan_id, name=name,
                    category=category, vcpus=catalog_plan.get("vcpus") or 0,
                    memory_mb=catalog_plan.get("memory_mb") or 0, disk_gb=catalog_plan.get("disk_gb") or 0,
                    transfer_gb=catalog_plan.get("transfer_gb") or 0, base_price=base, markup=markup,
                    backup_price=backup, regions=regions, is_active=is_active,
                    display_order=0 if last is None else min(DISPLAY_ORDER_MAX, last + 1),
                    created_at=now, updated_at=now)
        s.add(plan)
        s.flush()
        s.add(PlanPrice(plan_id=plan.id, base_price=base, markup=markup, backup_price=backup,
                        effective_from=pricing.hour_start(now), created_by=actor.user_id, created_at=now))
        price = pricing.current(plan)
        activity.record(s, actor, "admin.plan_created", entity_type="plan", entity_id=plan.id,
                        summary=f"Created plan {name} ({account.name} {provider_plan_id}) at "
                                f"${_money(price.monthly)}/month",
                        details={"provider_account": account.name, "provider_plan_id": provider_plan_id,
                                 "name": name, "category": category, "regions": regions, "is_active": is_active,
                                 "after": _price_dict(price)})
        s.flush()
        return _one(s, plan)


def update_plan(actor: Actor, plan_id: Any, *, name: Any = _UNSET, category: Any = _UNSET,
                base_price: Any = _UNSET, markup: Any = _UNSET, backup_price: Any = _UNSET,
                regions: Any = _UNSET, is_active: Any = _UNSET, display_order: Any = _UNSET) -> dict[str, Any]:
    """Change a plan (arguments left out stay). A price change applies from the next whole hour;
    the plan row (what new servers are quoted) changes now."""
    changes: dict[str, Any] = {}
    if name is not _UNSET:
        changes["name"] = _name(name)
    if category is not _UNSET:
        changes["category"] = _category(category)
    for field, value in (("base_price", base_price), ("markup", markup), ("backup_price", backup_price)):
        if value is not _UNSET:
            changes[field] = _price(value, field)
    if regions is not _UNSET:
        changes["regions"] = _region_ids(regions)
    if is_active is not _UNSET:
        changes["is_active"] = _flag(is_active)
    if display_order is not _UNSET:
        changes["display_order"] = _display_order(display_order)
    with session_scope() as s:
        require_platform_admin(s, actor)
        plan = _get_plan(s, plan_id, for_update=True)
        account = s.get(ProviderAccount, plan.provider_account_id)
        if "regions" in changes:
            catalog_plan = catalog.find_plan(catalog._load(s, plan.provider_account_id), plan.provider_plan_id)
            changes["regions"] = _check_regions(changes["regions"], account, catalog_plan, current=plan.regions)
        if "name" in changes:
            _unique_name(s, plan.provider_account_id, changes["name"], exclude=plan.id)
        changed = {k: v for k, v in changes.items() if getattr(plan, k) != v}
        if not changed:
            return _one(s, plan)
        before_price = pricing.current(plan)
        before = {k: getattr(plan, k) for k in changed}
        for k, v in changed.items():
            setattr(plan, k, v)
        after_price = pricing.current(plan)
        _check_total(after_price.base, after_price.markup)
        now = utcnow()
        plan.updated_at = now
        details: dict[str, Any] = {"before": {k: (_money(v) if isinstance(v, Decimal) else v) for k, v in before.items()},
                                   "after": {k: (_money(v) if isinstance(v, Decimal) else v) for k, v in changed.items()}}
        summary = f"Updated plan {plan.name}: {', '.join(sorted(changed))}"
        if after_price != before_price:
            effective = _write_price(s, actor, plan, after_price, now)
            details["price_before"] = _price_dict(before_price)
            details["price_after"] = _price_dict(after_price)
            details["effective_from"] = effective.isoformat() if effective else ""
            summary = (f"Updated plan {plan.name}: ${_money(before_price.monthly)} -> "
                       f"${_money(after_price.monthly)}/month"
                       + (f" from {effective:%H:%M} UTC" if effective else "")
                       + (f"; {', '.join(sorted(k for k in changed if k not in PRICE_LABELS))}"
                          if set(changed) - set(PRICE_LABELS) else ""))
        activity.record(s, actor, "admin.plan_updated", entity_type="plan", entity_id=plan.id, summary=summary,
                        details=details)
        s.flush()
        return _one(s, plan)


def delete_plan(actor: Actor, plan_id: Any) -> None:
    """Remove a plan no server uses or used. Otherwise refused: deactivate it instead."""
    with session_scope() as s:
        require_platform_admin(s, actor)
        plan = _get_plan(s, plan_id, for_update=True)
        live = _servers_using(s, [plan.id]).get(plan.id, 0)
        if live:
            raise Conflict(f"{live} server(s) use {plan.name}, so it cannot be deleted. Deactivate it instead: "
                           "no new servers can be created with it and the existing ones keep running.")
        if s.exec(select(Server.id).where(Server.plan_id == plan.id).limit(1)).first() is not None:
            raise Conflict(f"Deleted servers' billing history refers to {plan.name}, so it cannot be deleted. "
                           "Deactivate it instead.")
        activity.record(s, actor, "admin.plan_deleted", entity_type="plan", entity_id=plan.id,
                        summary=f"Deleted plan {plan.name}",
                        details={"name": plan.name, "provider_plan_id": plan.provider_plan_id,
                                 "price": _price_dict(pricing.current(plan))})
        s.delete(plan)


def admin_category_names(actor: Actor) -> dict[str, str]:
    """The category names, for the admin page's editor (platform admins only)."""
    with session_scope() as s:
        require_platform_admin(s, actor)
        return _category_names(s)


def set_category_names(actor: Actor, names: Any) -> dict[str, str]:
    """Store the white-label category names (validated by the platform setting's cleaner)."""
    platform_settings.set_value(actor, "plan_category_names", names)
    return category_names()


# ---- customers ----------------------------------------------------------------------------------

def list_offered(actor: Actor, org_id: Any) -> list[dict[str, Any]]:
    """The plans a member with `vps_create` can order: active plans of active provider accounts,
    each with the regions where it can be ordered now (customer-facing labels). Only retail
    prices as strings: monthly, hourly, and the backup upcharge; never base price or markup."""
    with session_scope() as s:
        rbac.require(s, actor, org_id, "vps_create")
        rows = s.exec(select(Plan, ProviderAccount).join(ProviderAccount,
                                                         ProviderAccount.id == Plan.provider_account_id)
                      .where(col(Plan.is_active).is_(True), col(ProviderAccount.is_active).is_(True))
                      .order_by(col(ProviderAccount.display_order), col(ProviderAccount.name),
                                col(Plan.display_order), col(Plan.base_price) + col(Plan.markup), col(Plan.name),
                                col(Plan.id))).all()
        names = _category_names(s)
        offered_by_account: dict[uuid.UUID, list[dict[str, Any]]] = {}
        out = []
        for plan, account in rows:
            if account.id not in offered_by_account:
                offered_by_account[account.id] = catalog.regions_offered(account, catalog._load(s, account.id))
            regions = [{"id": r["id"], "label": r["label"], "country": r["country"]}
                       for r in offered_by_account[account.id] if r["id"] in (plan.regions or [])]
            if not regions:
                continue
            price = pricing.current(plan)
            out.append({
                "id": str(plan.id),
                "name": plan.name,
                "category": plan.category,
                "category_label": names.get(plan.category, plan.category),
                "provider_account_id": str(account.id),
                "provider_kind": account.kind,
                "provider_label": KIND_LABELS.get(account.kind, account.kind),
                "vcpus": plan.vcpus, "memory_mb": plan.memory_mb, "disk_gb": plan.disk_gb,
                "transfer_gb": plan.transfer_gb,
                "monthly": _money(price.monthly),
                "hourly": _money(price.hourly),
                "backup_monthly": _money(price.backup),
                "backup_hourly": _money(price.backup_hourly),
                "regions": regions,
            })
        return out


def images_offered(actor: Actor, org_id: Any, provider_account_id: Any) -> list[dict[str, str]]:
    """The images (operating systems) the create wizard offers for a provider account: those in
    the account's stored catalog (`servers.create_server` accepts exactly these). Needs
    `vps_create`; an account that is inactive or sells no active plan is "not found", like one
    that does not exist."""
    with session_scope() as s:
        rbac.require(s, actor, org_id, "vps_create")
        account = s.get(ProviderAccount, rbac.parse_uuid(provider_account_id, ACCOUNT_NOT_FOUND))
        if account is None or not account.is_active or s.exec(
                select(Plan.id).where(Plan.provider_account_id == account.id, col(Plan.is_active).is_(True))
                .limit(1)).first() is None:
            raise NotFound(ACCOUNT_NOT_FOUND)
        images = (catalog._load(s, account.id) or {}).get("images") or []
        return [{"id": i["id"], "label": i.get("label") or i["id"], "distribution": i.get("distribution") or "Other",
                 "version": i.get("version") or ""} for i in images if i.get("id")]
