"""Servers (VPS) of an organization: create, list, view, run, change and delete.

The only code that calls a provider about an organization's server. Every function checks the
actor's permission in the server's organization first (another organization's server is "not
found"), never holds a database transaction across a provider call, and writes an activity row
for every change.

Creating is the one place money and a provider meet, so it runs in three steps:
1. one transaction checks everything (permission, plan, region, image, wallet runway) and writes
   the row in state `creating`, tagged so the provider's instance can always be traced back;
2. the provider call, outside any transaction;
3. one transaction records the provider's id and charges the first hour through the ledger.
If the provider refuses, nothing is charged and the row ends `failed`. If step 3 fails, the
instance is deleted at the provider again; if even that fails, the reconciliation job finds it by
its tag (see `services/server_sync.py`). No charge without a server, no server without a record.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
import string
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, col, func, select

from skypanel.backend.db import session_scope
from skypanel.backend.models import (
    Organization, Plan, ProviderAccount, Server, ServerCharge, User, Wallet,
)
from skypanel.backend.models.base import utcnow
from skypanel.backend.models.servers import OWNER_TAG, root_password_aad, server_tag
from skypanel.backend.providers.base import Capabilities, Provider, ProviderError
from skypanel.backend.security import decrypt, encrypt
from skypanel.backend.services import activity, auth, platform_settings, pricing, rbac, ssh_keys
from skypanel.backend.services.admin import require_platform_admin
from skypanel.backend.services.context import Actor
from skypanel.backend.services.errors import (
    Conflict, InsufficientFunds, NotFound, ServiceError, ValidationError,
)
from skypanel.backend.services.provider_accounts import KIND_LABELS, client_for
from skypanel.backend.services.text import has_disallowed_chars, like_pattern
from skypanel.backend.services.wallet import _post, format_money

SERVER_NOT_FOUND = "Server not found."
PAGE_MAX = 100
OFFSET_MAX = 1_000_000_000
NOTES_MAX = 10_000
LABEL_MIN, LABEL_MAX = 3, 50
ROOT_PASSWORD_MIN, ROOT_PASSWORD_MAX = 12, 128
# A label works as a hostname at every provider: letters, digits, dots and dashes, starting with a
# letter and ending with a letter or digit, no doubled punctuation (Linode refuses "--", "..").
_LABEL_RE = re.compile(r"[A-Za-z](?:[A-Za-z0-9]|[.-](?=[A-Za-z0-9]))*", re.ASCII)
_HOSTNAME_RE = re.compile(r"(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}",
                          re.ASCII)

#: Statuses in which a server is "live" (counts for tenancy checks, billing, sync).
GONE = ("failed", "deleted")
TRANSITIONAL = ("creating", "provisioning", "booting", "stopping", "rebooting", "rebuilding", "resizing",
                "deleting")
STATUS_LABELS = {
    "creating": "Creating", "provisioning": "Provisioning", "booting": "Booting", "running": "Running",
    "stopping": "Stopping", "offline": "Off", "rebooting": "Rebooting", "rebuilding": "Rebuilding",
    "resizing": "Resizing", "deleting": "Deleting", "unknown": "Unknown", "failed": "Failed",
    "deleted": "Deleted",
}
#: action -> (statuses it may start from, status shown while it runs, verb for messages)
POWER = {
    "boot": (("offline",), "booting", "Power on"),
    "shutdown": (("running",), "stopping", "Shut down"),
    "reboot": (("running",), "rebooting", "Reboot"),
}


# ---- validation ------------------------------------------------------------------------

def clean_label(value: Any) -> str:
    if not isinstance(value, str):
        raise ValidationError("Enter a label.", field="label")
    value = value.strip()
    if not value:
        raise ValidationError("Enter a label.", field="label")
    if not LABEL_MIN <= len(value) <= LABEL_MAX:
        raise ValidationError(f"The label must be {LABEL_MIN} to {LABEL_MAX} characters.", field="label")
    if not _LABEL_RE.fullmatch(value):
        raise ValidationError("Use letters, digits, dots and dashes; start with a letter, end with a letter or "
                              "digit, and no two dots or dashes in a row (e.g. web-1).", field="label")
    return value


def clean_root_password(value: Any) -> str:
    """12-128 printable ASCII characters from at least three of: lower, upper, digits, symbols (what
    Linode demands, and what a cloud-init chpasswd line can carry)."""
    if not isinstance(value, str) or not value:
        raise ValidationError("Enter a root password.", field="root_password")
    if not ROOT_PASSWORD_MIN <= len(value) <= ROOT_PASSWORD_MAX:
        raise ValidationError(f"The root password must be {ROOT_PASSWORD_MIN} to {ROOT_PASSWORD_MAX} characters.",
                              field="root_password")
    if any(not 33 <= ord(ch) <= 126 for ch in value):
        raise ValidationError("Use printable characters without spaces in the root password.",
                              field="root_password")
    classes = sum(any(ch in group for ch in value) for group in
                  (string.ascii_lowercase, string.ascii_uppercase, string.digits, string.punctuation))
    if classes < 3:
        raise ValidationError("Mix at least three of: lower-case letters, upper-case letters, digits, symbols.",
                              field="root_password")
    try:
        auth.validate_password_strength(value)
    except ValidationError:
        raise ValidationError("This root password is too common or too easy to guess.",
                              field="root_password") from None
    return value


def generate_root_password(length: int = 24) -> str:
    """A strong password the wizard offers (letters, digits and a few shell-safe symbols)."""
    alphabet = string.ascii_letters + string.digits + "-_.+=@%"
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        try:
            return clean_root_password(candidate)
        except ValidationError:
            continue


def _flag(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError("Choose on or off.", field=field)
    return value


def _choice(value: Any, field: str, message: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 120 or has_disallowed_chars(value):
        raise ValidationError(message, field=field)
    return value.strip()


def _plan_uuid(value: Any) -> uuid.UUID:
    """A plan id chosen in a form: a bad one is a form error, not "not found"."""
    try:
        return rbac.parse_uuid(value)
    except NotFound:
        raise ValidationError("Choose a plan.", field="plan_id") from None


def _page(limit: Any, offset: Any) -> tuple[int, int]:
    if isinstance(limit, bool) or isinstance(offset, bool):
        raise ValidationError("Invalid page.", field="page")
    try:
        limit, offset = int(limit), int(offset)
    except (TypeError, ValueError, OverflowError):
        raise ValidationError("Invalid page.", field="page") from None
    return max(1, min(limit, PAGE_MAX)), max(0, min(offset, OFFSET_MAX))


def _search(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > 100 or has_disallowed_chars(value):
        raise ValidationError("Search must be plain text of at most 100 characters.", field="search")
    return value.strip()


# ---- loading ----------------------------------------------------------------------------

def _server_in(session: Session, org_id: uuid.UUID, server_id: Any, *, lock: bool = False,
               live: bool = True) -> Server:
    sid = rbac.parse_uuid(server_id, SERVER_NOT_FOUND)
    stmt = select(Server).where(Server.id == sid, Server.organization_id == org_id)
    if live:
        stmt = stmt.where(col(Server.deleted_at).is_(None))
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    server = session.exec(stmt).first()
    if server is None:
        raise NotFound(SERVER_NOT_FOUND)
    return server


def _authorize(session: Session, actor: Actor, org_id: Any, server_id: Any, permission: str, *,
               lock: bool = False) -> tuple[Server, frozenset[str]]:
    perms = rbac.require(session, actor, org_id, permission)
    server = _server_in(session, rbac.parse_uuid(org_id), server_id, lock=lock)
    return server, perms


def _account(session: Session, account_id: uuid.UUID) -> ProviderAccount:
    account = session.get(ProviderAccount, account_id)
    if account is None:
        raise ValidationError("This server's provider is no longer connected. Contact support.")
    return account


def _client(session: Session, server: Server, **client_options: Any) -> Provider:
    account = _account(session, server.provider_account_id)
    session.expunge(account)
    return client_for(account, **client_options)


def _capabilities(kind: str) -> Capabilities:
    """What the server's provider can do, as its client class declares it (one source of truth)."""
    from skypanel.backend.providers.digitalocean import DigitalOceanProvider
    from skypanel.backend.providers.linode import LinodeProvider
    from skypanel.backend.providers.simulated import SimulatedProvider
    return {"linode": LinodeProvider, "digitalocean": DigitalOceanProvider,
            "simulated": SimulatedProvider}[kind].capabilities


def _region_label(session: Session, account_id: uuid.UUID, region: str) -> str:
    account = session.get(ProviderAccount, account_id)
    for r in (account.allowed_regions if account else []) or []:
        if r.get("id") == region:
            return r.get("label") or region
    return region


def _provider_message(exc: ProviderError, kind: str) -> str:
    who = KIND_LABELS.get(kind, "The provider")
    if exc.status is None and exc.retryable:
        return f"{who} did not answer in time. Nothing was changed; try again in a minute."
    return f"{who} refused: {exc.message}"


def _month_start(now: datetime) -> datetime:
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _cost_this_month(session: Session, server_ids: list[uuid.UUID]) -> dict[uuid.UUID, Decimal]:
    if not server_ids:
        return {}
    rows = session.exec(
        select(ServerCharge.server_id, func.sum(ServerCharge.amount))
        .where(col(ServerCharge.server_id).in_(server_ids), ServerCharge.hour_start >= _month_start(utcnow()))
        .group_by(ServerCharge.server_id)
    ).all()
    return {sid: amount for sid, amount in rows}


def _summary(server: Server, plan: Plan | None, region_label: str) -> dict[str, Any]:
    price = pricing.current(plan) if plan else None
    return {
        "id": str(server.id),
        "label": server.label,
        "status": server.status,
        "status_label": STATUS_LABELS.get(server.status, server.status.title()),
        "busy": server.status in TRANSITIONAL,
        "ipv4": list(server.ipv4 or []),
        "primary_ip": (server.ipv4 or [""])[0],
        "region": server.region,
        "region_label": region_label,
        "plan_name": plan.name if plan else "",
        "provider_kind": server.provider_kind,
        "simulated": server.provider_kind == "simulated",
        "monthly": str(price.monthly_total(server.backups_enabled)) if price else "0",
        "hourly": str(price.hourly_total(server.backups_enabled)) if price else "0",
        "created_at": server.created_at.isoformat(),
        "suspended": server.suspended_at is not None,
    }


# ---- reading ---------------------------------------------------------------------------

def list_servers(actor: Actor, org_id: Any, *, search: Any = "", status: Any = "", limit: Any = 25,
                 offset: Any = 0) -> tuple[list[dict[str, Any]], int]:
    """One page of the organization's servers (newest first) and the total, with search on label
    and IP and an optional status filter. One query per page, whatever the page size."""
    search, limit_offset = _search(search), _page(limit, offset)
    if status not in ("", None) and status not in STATUS_LABELS:
        raise ValidationError("Unknown status.", field="status")
    with session_scope() as s:
        rbac.require(s, actor, org_id, "vps_view")
        oid = rbac.parse_uuid(org_id)
        stmt = select(Server).where(Server.organization_id == oid, col(Server.deleted_at).is_(None))
        if status:
            stmt = stmt.where(Server.status == status)
        if search:
            like = like_pattern(search)
            stmt = stmt.where(col(Server.label).ilike(like) | text("servers.ipv4::text ILIKE :ip").bindparams(ip=like))
        total = s.exec(select(func.count()).select_from(stmt.subquery())).one()
        rows = s.exec(stmt.order_by(col(Server.created_at).desc(), col(Server.id))
                      .limit(limit_offset[0]).offset(limit_offset[1])).all()
        plans = {p.id: p for p in s.exec(select(Plan).where(col(Plan.id).in_({r.plan_id for r in rows}))).all()} \
            if rows else {}
        labels: dict[tuple[uuid.UUID, str], str] = {}
        for r in rows:
            key = (r.provider_account_id, r.region)
            if key not in labels:
                labels[key] = _region_label(s, *key)
        return [_summary(r, plans.get(r.plan_id), labels[(r.provider_account_id, r.region)])
                for r in rows], int(total)


def get_server(actor: Actor, org_id: Any, server_id: Any) -> dict[str, Any]:
    """Everything the detail page shows (never the root password), plus what the actor may do."""
    with session_scope() as s:
        server, perms = _authorize(s, actor, org_id, server_id, "vps_view")
        plan = s.get(Plan, server.plan_id)
        data = _summary(server, plan, _region_label(s, server.provider_account_id, server.region))
        caps = _capabilities(server.provider_kind)
        price = pricing.current(plan) if plan else None
        data.update({
            "image": server.image,
            "image_label": server.image_label or server.image,
            "ipv6": server.ipv6,
            "ssh_port": server.ssh_port,
            "vcpus": server.vcpus, "memory_mb": server.memory_mb, "disk_gb": server.disk_gb,
            "transfer_gb": server.transfer_gb,
            "plan_id": str(server.plan_id),
            "backups_enabled": server.backups_enabled,
            "backup_monthly": str(price.backup) if price else "0",
            "cost_this_month": str(_cost_this_month(s, [server.id]).get(server.id, Decimal(0))),
            "notes": server.notes if "notes_view" in perms else "",
            "pending_action": server.pending_action,
            "last_error": server.last_error,
            "has_root_password": server.root_password_enc is not None,
            "provider_label": KIND_LABELS.get(server.provider_kind, server.provider_kind),
            "capabilities": {k: getattr(caps, k) for k in Capabilities.__dataclass_fields__},
            "can_manage": "vps_manage" in perms,
            "can_delete": "vps_delete" in perms,
            "can_notes": "notes_manage" in perms,
            "can_view_notes": "notes_view" in perms,
            "synced_at": server.synced_at.isoformat() if server.synced_at else "",
            "suspended_message": _suspended_message(s, server),
        })
        return data


def _suspended_message(session: Session, server: Server) -> str:
    if server.suspended_at is None:
        return ""
    from skypanel.backend.services import dunning
    return dunning.suspension_message(session, server.organization_id)


def statuses(actor: Actor, org_id: Any, server_ids: Any) -> dict[str, dict[str, Any]]:
    """Current status of the given servers (for live badges): a cheap read of our rows, which the
    sync job keeps current, so polling pages never calls a provider."""
    if not isinstance(server_ids, list) or len(server_ids) > PAGE_MAX:
        raise ValidationError("Invalid request.")
    ids = []
    for raw in server_ids:
        try:
            ids.append(rbac.parse_uuid(raw))
        except NotFound:
            continue
    with session_scope() as s:
        rbac.require(s, actor, org_id, "vps_view")
        rows = s.exec(select(Server).where(Server.organization_id == rbac.parse_uuid(org_id),
                                           col(Server.id).in_(ids))).all() if ids else []
        return {str(r.id): {"status": r.status, "status_label": STATUS_LABELS.get(r.status, r.status),
                            "busy": r.status in TRANSITIONAL, "ipv4": list(r.ipv4 or []),
                            "primary_ip": (r.ipv4 or [""])[0], "pending_action": r.pending_action,
                            "last_error": r.last_error, "deleted": r.deleted_at is not None}
                for r in rows}


def server_activity(actor: Actor, org_id: Any, server_id: Any, *, limit: int = 50,
                    offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    with session_scope() as s:
        server, _ = _authorize(s, actor, org_id, server_id, "vps_view")
        from skypanel.backend.models import ActivityLog
        stmt = select(ActivityLog, User.email, User.name).join(User, User.id == ActivityLog.user_id, isouter=True) \
            .where(ActivityLog.organization_id == server.organization_id, ActivityLog.entity_id == str(server.id))
        total = s.exec(select(func.count()).select_from(stmt.subquery())).one()
        limit, offset = _page(limit, offset)
        rows = s.exec(stmt.order_by(col(ActivityLog.created_at).desc()).limit(limit).offset(offset)).all()
        return [{"id": str(a.id), "action": a.action, "summary": a.summary, "user_name": name or "system",
                 "user_email": email or "", "created_at": a.created_at.isoformat()}
                for a, email, name in rows], int(total)


# ---- creating --------------------------------------------------------------------------

def _offered_plan(session: Session, plan_id: Any, region: str) -> tuple[Plan, ProviderAccount]:
    plan = session.get(Plan, _plan_uuid(plan_id))
    if plan is None or not plan.is_active:
        raise ValidationError("That plan is not available. Choose another.", field="plan_id")
    account = session.get(ProviderAccount, plan.provider_account_id)
    if account is None or not account.is_active:
        raise ValidationError("That plan is not available. Choose another.", field="plan_id")
    from skypanel.backend.services import catalog
    offered = {r["id"] for r in catalog.regions_offered(account, catalog.get_catalog(account.id))}
    if region not in (plan.regions or []) or region not in offered:
        raise ValidationError("That plan is not offered in this region. Choose another region or plan.",
                              field="region")
    return plan, account


def _check_image(account_id: uuid.UUID, image: str) -> str:
    """The image's display label; the image must be in the provider's catalog."""
    from skypanel.backend.services import catalog
    data = catalog.get_catalog(account_id) or {}
    for img in data.get("images") or []:
        if img.get("id") == image:
            return img.get("label") or image
    raise ValidationError("That image is not available. Choose another.", field="image")


def _runway_needed(price: pricing.Price, backups: bool) -> tuple[Decimal, int]:
    hours = int(platform_settings.get("vps_min_runway_hours"))
    return (price.hourly_total(backups) * hours).quantize(pricing.PLACES), hours


def quote(actor: Actor, org_id: Any, *, plan_id: Any, region: Any, backups: Any) -> dict[str, Any]:
    """What the review step shows: hourly and monthly totals, the balance and whether it suffices."""
    region = _choice(region, "region", "Choose a region.")
    backups = _flag(backups, "backups")
    with session_scope() as s:
        rbac.require(s, actor, org_id, "vps_create")
        plan, _ = _offered_plan(s, plan_id, region)
        price = pricing.current(plan)
        wallet = s.exec(select(Wallet).where(Wallet.organization_id == rbac.parse_uuid(org_id))).one()
        needed, hours = _runway_needed(price, backups)
        return {"hourly": str(price.hourly_total(backups)), "monthly": str(price.monthly_total(backups)),
                "backup_hourly": str(price.backup_hourly if backups else Decimal(0)),
                "balance": str(wallet.balance), "needed": str(needed), "runway_hours": hours,
                "enough": wallet.balance >= needed}


def _provider_label(kind: str, label: str, server_id: uuid.UUID) -> str:
    """Linode labels are unique per Linode account, which every customer shares: a short suffix
    keeps two customers' "web-1" apart. Other providers take the label as the hostname."""
    return f"{label}-{server_id.hex[:6]}" if kind == "linode" else label


async def create_server(actor: Actor, org_id: Any, *, plan_id: Any, region: Any, image: Any, label: Any,
                        root_password: Any, ssh_key_ids: Any = (), backups: Any = False,
                        **client_options: Any) -> dict[str, Any]:
    """Order a server; returns its summary. See the module docstring for the three steps."""
    label, password = clean_label(label), clean_root_password(root_password)
    region = _choice(region, "region", "Choose a region.")
    image = _choice(image, "image", "Choose an image.")
    backups = _flag(backups, "backups")
    key_ids = list(ssh_key_ids) if isinstance(ssh_key_ids, (list, tuple)) else ssh_key_ids

    # 1. check and record
    with session_scope() as s:
        rbac.require(s, actor, org_id, "vps_create")
        oid = rbac.parse_uuid(org_id)
        org = s.get(Organization, oid, with_for_update=True)  # one create at a time per organization
        if org is None or org.deleted_at is not None:
            raise NotFound("Organization not found.")
        plan, account = _offered_plan(s, plan_id, region)
        image_label = _check_image(account.id, image)
        keys = ssh_keys.keys_for_create(s, oid, key_ids)
        if s.exec(select(Server.id).where(Server.organization_id == oid, col(Server.deleted_at).is_(None),
                                          func.lower(Server.label) == label.lower())).first():
            raise ValidationError("Another server in this organization has this label.", field="label")
        price = pricing.current(plan)
        wallet = s.exec(select(Wallet).where(Wallet.organization_id == oid)).one()
        needed, hours = _runway_needed(price, backups)
        if wallet.balance < needed:
            raise InsufficientFunds(
                f"Creating this server needs at least {format_money(needed)} in the wallet ({hours} hours of "
                f"the server); the balance is {format_money(wallet.balance)}. Add funds on the Billing page.",
                field="plan_id")
        server = Server(id=uuid.uuid4(), organization_id=oid, provider_account_id=account.id,
                        provider_kind=account.kind, plan_id=plan.id, provider_plan_id=plan.provider_plan_id,
                        label=label, status="creating", region=region, image=image, image_label=image_label,
                        vcpus=plan.vcpus, memory_mb=plan.memory_mb, disk_gb=plan.disk_gb,
                        transfer_gb=plan.transfer_gb, backups_enabled=backups,
                        ssh_key_ids=[str(k.id) for k in keys], created_by=actor.user_id)
        server.root_password_enc = encrypt(password, aad=root_password_aad(server.id))
        s.add(server)
        activity.record(s, actor, "vps.create_requested", organization_id=oid, entity_type="server",
                        entity_id=server.id, summary=f"Ordered server {label} ({plan.name}, {region})",
                        details={"plan": plan.name, "region": region, "image": image, "backups": backups,
                                 "ssh_keys": [k.name for k in keys]})
        public_keys = [k.public_key for k in keys]
        kind, server_id, plan_provider_id = account.kind, server.id, plan.provider_plan_id
        s.expunge(account)

    # 2. the provider call, outside any transaction
    client = client_for(account, **client_options)
    try:
        try:
            created = await client.create_instance(
                label=_provider_label(kind, label, server_id), region=region, plan=plan_provider_id, image=image,
                root_password=password, ssh_keys=public_keys, backups=backups,
                tags=[OWNER_TAG, server_tag(server_id)])
        except ProviderError as exc:
            message = _provider_message(exc, kind)
            if exc.retryable:  # it may exist after all: find it by its tag and remove it
                await _delete_by_tag(client, server_id)
            _mark_failed(actor, server_id, message)
            raise ValidationError(message + (" Nothing was charged." if "Nothing" not in message else "")) from None

        # 3. record and charge the first hour
        try:
            summary = _record_created(actor, server_id, created)
        except Exception as exc:
            try:
                await client.delete_instance(created.provider_id)
            except ProviderError:
                pass  # the reconciliation job finds it by its tag and reports it
            _mark_failed(actor, server_id, "The server could not be recorded; it was removed again.")
            if isinstance(exc, ServiceError):
                raise
            raise ServiceError("The server could not be recorded, so it was removed again and nothing was "
                               "charged. Please try again.") from exc
        return summary
    finally:
        await client.aclose()


async def _delete_by_tag(client: Provider, server_id: uuid.UUID) -> None:
    try:
        for inst in await client.list_instances(tag=server_tag(server_id)):
            await client.delete_instance(inst.provider_id)
    except ProviderError:
        pass  # still unknown: reconciliation will find it


def _mark_failed(actor: Actor, server_id: uuid.UUID, message: str) -> None:
    with session_scope() as s:
        server = s.get(Server, server_id, with_for_update=True)
        if server is None:
            return
        server.status, server.last_error = "failed", message[:300]
        server.deleted_at = server.updated_at = utcnow()
        server.root_password_enc = None
        activity.record(s, actor, "vps.create_failed", organization_id=server.organization_id,
                        entity_type="server", entity_id=server.id,
                        summary=f"Server {server.label} was not created: {message}"[:300])


def _charge_first_hour(s: Session, actor: Actor, server: Server, plan: Plan, now: datetime) -> Decimal:
    hour = pricing.hour_start(now)
    price = pricing.current(plan)  # what the customer was quoted; later hours use the price in force
    plan_amount = price.hourly
    backup_amount = price.backup_hourly if server.backups_enabled else Decimal(0)
    amount = plan_amount + backup_amount
    charge = ServerCharge(server_id=server.id, organization_id=server.organization_id, hour_start=hour,
                          amount=amount, plan_amount=plan_amount, backup_amount=backup_amount)
    s.add(charge)
    s.flush()  # the unique (server, hour) constraint speaks here, before money moves
    if amount > 0:
        entry = _post(s, server.organization_id, -amount, "charge", actor=actor, reference=f"server:{server.id}",
                      description=f"Server {server.label}: first hour ({hour:%Y-%m-%d %H:00} UTC)",
                      allow_overdraft=True)
        charge.ledger_entry_id = entry.id
    return amount


def _record_created(actor: Actor, server_id: uuid.UUID, created) -> dict[str, Any]:
    with session_scope() as s:
        server = s.get(Server, server_id, with_for_update=True)
        if server is None or server.deleted_at is not None:
            raise ServiceError("The server was removed while it was being created.")
        plan = s.get(Plan, server.plan_id)
        now = utcnow()
        server.provider_instance_id = created.provider_id
        _apply_instance(server, created)
        server.updated_at = now
        amount = _charge_first_hour(s, actor, server, plan, now)
        activity.record(s, actor, "vps.created", organization_id=server.organization_id, entity_type="server",
                        entity_id=server.id,
                        summary=f"Created server {server.label}; first hour charged {format_money(amount)}",
                        details={"provider_id": created.provider_id, "amount": str(amount)})
        s.flush()
        return _summary(server, plan, _region_label(s, server.provider_account_id, server.region))


def _apply_instance(server: Server, inst) -> None:
    """Copy what the provider says about the instance onto our row."""
    server.status = inst.status if inst.status else server.status
    server.ipv4 = list(inst.ipv4)
    server.ipv6 = inst.ipv6 or ""
    server.ssh_port = inst.ssh_port
    if inst.vcpus:
        server.vcpus, server.memory_mb, server.disk_gb = inst.vcpus, inst.memory_mb, inst.disk_gb
    if inst.plan:
        server.provider_plan_id = inst.plan
    server.synced_at = utcnow()


# ---- running ---------------------------------------------------------------------------

#: `permission` marker for the billing system (dunning) acting on any server; never reachable from a page.
SYSTEM = "__system__"


def _load(session: Session, actor: Actor, org_id: Any, server_id: Any, permission: str | None, *,
          lock: bool = False) -> Server:
    """The server for an organization member holding `permission`, or (permission None) for a
    platform admin doing support work on any organization's server, or (SYSTEM) for the billing job."""
    if permission == SYSTEM:
        server = session.get(Server, rbac.parse_uuid(server_id, SERVER_NOT_FOUND), with_for_update=lock)
        if server is None or server.deleted_at is not None:
            raise NotFound(SERVER_NOT_FOUND)
        return server
    if permission is not None:
        return _authorize(session, actor, org_id, server_id, permission, lock=lock)[0]
    require_platform_admin(session, actor)
    server = session.get(Server, rbac.parse_uuid(server_id, SERVER_NOT_FOUND), with_for_update=lock)
    if server is None or server.deleted_at is not None:
        raise NotFound(SERVER_NOT_FOUND)
    return server


async def _act(actor: Actor, org_id: Any, server_id: Any, permission: str | None, *,
               allowed: tuple[str, ...] | None, busy_status: str | None, action: str, summary: str, call,
               details: dict | None = None, update=None) -> dict[str, Any]:
    """The shape of every change at the provider: check, call (no transaction open), record."""
    with session_scope() as s:
        server = _load(s, actor, org_id, server_id, permission)
        if permission != SYSTEM:
            _refuse_if_suspended(s, server)
        if server.provider_instance_id is None or server.status == "creating":
            raise Conflict("The server is still being created. Try again when it is running.")
        if allowed is not None and server.status not in allowed:
            raise Conflict(f"Not possible while the server is {STATUS_LABELS.get(server.status, server.status).lower()}.")
        client = _client(s, server)
        pid, kind, sid = server.provider_instance_id, server.provider_kind, server.id
    try:
        result = await call(client, pid)
    except ProviderError as exc:
        raise ValidationError(_provider_message(exc, kind)) from None
    finally:
        await client.aclose()
    with session_scope() as s:
        server = s.get(Server, sid, with_for_update=True)
        if busy_status:
            server.status = busy_status
            server.pending_action = action
            server.pending_action_id = (getattr(result, "id", "") or "") if result is not None else ""
        server.last_error = ""
        server.updated_at = utcnow()
        if update is not None:
            update(s, server, result)
        activity.record(s, actor, f"vps.{action}", organization_id=server.organization_id, entity_type="server",
                        entity_id=server.id, summary=f"{summary} {server.label}"[:300], details=details or {})
        plan = s.get(Plan, server.plan_id)
        return _summary(server, plan, _region_label(s, server.provider_account_id, server.region))


async def power(actor: Actor, org_id: Any, server_id: Any, action: Any) -> dict[str, Any]:
    """boot | shutdown | reboot."""
    if action not in POWER:
        raise ValidationError("Unknown power action.", field="action")
    allowed, busy, verb = POWER[action]
    return await _act(actor, org_id, server_id, "vps_manage", allowed=allowed, busy_status=busy, action=action,
                      summary=verb, call=lambda c, pid: getattr(c, action)(pid))


async def system_power(server_id: Any, action: str, *, clear_resume: bool = False) -> dict[str, Any]:
    """Power a server on or off for billing (suspension / resumption): the same provider path as a
    member's action, with the system as actor and no suspension check."""
    if action not in POWER:
        raise ValueError(f"unknown power action {action!r}")
    allowed, busy, verb = POWER[action]

    def update(_s: Session, server: Server, _result) -> None:
        if clear_resume:
            server.resume_power_on = False

    return await _act(Actor.system(), None, server_id, SYSTEM, allowed=allowed, busy_status=busy,
                      action=f"billing_{action}", summary=f"Billing: {verb}", call=lambda c, pid: getattr(c, action)(pid),
                      update=update)


def _refuse_if_suspended(session: Session, server: Server) -> None:
    """Suspended for an unpaid balance (services/dunning.py): no changes but deletion."""
    if server.suspended_at is not None:
        raise Conflict(_suspended_message(session, server))


def _require_capability(session: Session, actor: Actor, org_id: Any, server_id: Any, cap: str, what: str) -> Server:
    server, _ = _authorize(session, actor, org_id, server_id, "vps_manage")
    _refuse_if_suspended(session, server)
    if not getattr(_capabilities(server.provider_kind), cap):
        raise ValidationError(f"{KIND_LABELS.get(server.provider_kind, 'This provider')} does not support {what}.")
    return server


async def rebuild(actor: Actor, org_id: Any, server_id: Any, *, image: Any, root_password: Any = "") -> dict[str, Any]:
    """Reinstall from an image (erases the disk). The new root password is stored for the console
    where the provider applies it; DigitalOcean cannot set one on rebuild, so the stored one is
    dropped there (the console then asks for SSH keys)."""
    image = _choice(image, "image", "Choose an image.")
    with session_scope() as s:
        server = _require_capability(s, actor, org_id, server_id, "rebuild", "rebuilding")
        image_label = _check_image(server.provider_account_id, image)
        takes_password = server.provider_kind != "digitalocean"
    password = clean_root_password(root_password) if takes_password else ""

    def update(s: Session, server: Server, _result) -> None:
        server.image, server.image_label = image, image_label
        server.host_key = ""  # a fresh system has a fresh host key
        server.root_password_enc = encrypt(password, aad=root_password_aad(server.id)) if password else None

    return await _act(actor, org_id, server_id, "vps_manage", allowed=("running", "offline"),
                      busy_status="rebuilding", action="rebuild", summary="Rebuilt",
                      call=lambda c, pid: c.rebuild(pid, image=image, root_password=password),
                      details={"image": image}, update=update)


def resize_quote(actor: Actor, org_id: Any, server_id: Any, *, plan_id: Any) -> dict[str, Any]:
    """Old and new prices and the difference, shown before the user confirms a resize."""
    with session_scope() as s:
        server, _ = _authorize(s, actor, org_id, server_id, "vps_manage")
        new_plan, _ = _resize_target(s, server, plan_id)
        old = pricing.current(s.get(Plan, server.plan_id))
        new = pricing.current(new_plan)
        b = server.backups_enabled
        return {"old_monthly": str(old.monthly_total(b)), "new_monthly": str(new.monthly_total(b)),
                "old_hourly": str(old.hourly_total(b)), "new_hourly": str(new.hourly_total(b)),
                "difference_monthly": str(new.monthly_total(b) - old.monthly_total(b)),
                "difference_hourly": str(new.hourly_total(b) - old.hourly_total(b)),
                "plan_name": new_plan.name}


def resize_options(actor: Actor, org_id: Any, server_id: Any) -> list[dict[str, Any]]:
    """Plans this server can move to: same provider account, active, offered in its region."""
    with session_scope() as s:
        server, _ = _authorize(s, actor, org_id, server_id, "vps_manage")
        plans = s.exec(select(Plan).where(Plan.provider_account_id == server.provider_account_id,
                                          col(Plan.is_active).is_(True), Plan.id != server.plan_id)
                       .order_by(col(Plan.display_order), col(Plan.base_price))).all()
        out = []
        for p in plans:
            if server.region not in (p.regions or []):
                continue
            price = pricing.current(p)
            out.append({"id": str(p.id), "name": p.name, "vcpus": p.vcpus, "memory_mb": p.memory_mb,
                        "disk_gb": p.disk_gb, "monthly": str(price.monthly_total(server.backups_enabled)),
                        "hourly": str(price.hourly_total(server.backups_enabled)),
                        "smaller_disk": p.disk_gb < server.disk_gb})
        return out


def _resize_target(s: Session, server: Server, plan_id: Any) -> tuple[Plan, None]:
    plan = s.get(Plan, _plan_uuid(plan_id))
    if (plan is None or not plan.is_active or plan.provider_account_id != server.provider_account_id
            or server.region not in (plan.regions or [])):
        raise ValidationError("That plan is not available for this server.", field="plan_id")
    if plan.id == server.plan_id:
        raise ValidationError("The server already has this plan.", field="plan_id")
    return plan, None


async def resize(actor: Actor, org_id: Any, server_id: Any, *, plan_id: Any) -> dict[str, Any]:
    """Move to another plan. The new price applies from the next billing hour."""
    with session_scope() as s:
        server = _require_capability(s, actor, org_id, server_id, "resize", "resizing")
        plan, _ = _resize_target(s, server, plan_id)
        target_id, target_provider_plan, target_name = plan.id, plan.provider_plan_id, plan.name
        specs = (plan.vcpus, plan.memory_mb, plan.disk_gb, plan.transfer_gb)

    def update(s: Session, server: Server, _result) -> None:
        server.plan_id, server.provider_plan_id = target_id, target_provider_plan
        server.vcpus, server.memory_mb, server.disk_gb, server.transfer_gb = specs

    return await _act(actor, org_id, server_id, "vps_manage", allowed=("running", "offline"),
                      busy_status="resizing", action="resize", summary=f"Resized to {target_name}:",
                      call=lambda c, pid: c.resize(pid, plan=target_provider_plan),
                      details={"plan": target_name}, update=update)


async def reset_root_password(actor: Actor, org_id: Any, server_id: Any, *, root_password: Any) -> dict[str, Any]:
    password = clean_root_password(root_password)
    with session_scope() as s:
        _require_capability(s, actor, org_id, server_id, "root_password_reset", "resetting the root password")

    def update(s: Session, server: Server, _result) -> None:
        server.root_password_enc = encrypt(password, aad=root_password_aad(server.id))

    return await _act(actor, org_id, server_id, "vps_manage", allowed=None, busy_status=None,
                      action="root_password_reset", summary="Reset the root password of",
                      call=lambda c, pid: c.reset_root_password(pid, root_password=password), update=update)


async def set_backups(actor: Actor, org_id: Any, server_id: Any, *, enabled: Any) -> dict[str, Any]:
    """Turn provider backups on or off; the backup upcharge is billed from the next hour while on."""
    enabled = _flag(enabled, "enabled")
    with session_scope() as s:
        _require_capability(s, actor, org_id, server_id, "backups", "backups")

    def update(s: Session, server: Server, _result) -> None:
        server.backups_enabled = enabled

    return await _act(actor, org_id, server_id, "vps_manage", allowed=None, busy_status=None,
                      action="backups_enabled" if enabled else "backups_disabled",
                      summary="Enabled backups of" if enabled else "Disabled backups of",
                      call=lambda c, pid: c.enable_backups(pid) if enabled else c.disable_backups(pid), update=update)


async def list_backups(actor: Actor, org_id: Any, server_id: Any) -> list[dict[str, Any]]:
    with session_scope() as s:
        server, _ = _authorize(s, actor, org_id, server_id, "vps_view")
        if not server.backups_enabled or server.provider_instance_id is None:
            return []
        client, pid, kind = _client(s, server), server.provider_instance_id, server.provider_kind
    try:
        backups = await client.list_backups(pid)
    except ProviderError as exc:
        raise ValidationError(_provider_message(exc, kind)) from None
    finally:
        await client.aclose()
    return [{"id": b.id, "label": b.label, "status": b.status,
             "created_at": b.created_at.isoformat() if b.created_at else ""} for b in backups]


async def restore_backup(actor: Actor, org_id: Any, server_id: Any, *, backup_id: Any) -> dict[str, Any]:
    backup_id = _choice(backup_id, "backup_id", "Choose a backup.")
    with session_scope() as s:
        _require_capability(s, actor, org_id, server_id, "restore", "restoring backups")
    return await _act(actor, org_id, server_id, "vps_manage", allowed=("running", "offline"),
                      busy_status="rebuilding", action="backup_restored", summary="Restored a backup onto",
                      call=lambda c, pid: c.restore_backup(pid, backup_id), details={"backup_id": backup_id})


def clean_hostname(value: Any) -> str:
    if not isinstance(value, str) or not _HOSTNAME_RE.fullmatch(value.strip().rstrip(".")):
        raise ValidationError("Enter a host name such as mail.example.com.", field="hostname")
    return value.strip().rstrip(".").lower()


async def set_reverse_dns(actor: Actor, org_id: Any, server_id: Any, *, ip: Any, hostname: Any) -> dict[str, Any]:
    """Point an address of the server back at a host name (the provider checks the forward record)."""
    host = clean_hostname(hostname)
    with session_scope() as s:
        server = _require_capability(s, actor, org_id, server_id, "reverse_dns", "reverse DNS")
        try:
            addr = str(ipaddress.ip_address(ip.strip())) if isinstance(ip, str) else None
        except ValueError:
            addr = None
        if addr is None or addr not in [*(server.ipv4 or []), (server.ipv6 or "").split("/")[0]]:
            raise ValidationError("Choose one of this server's addresses.", field="ip")
    return await _act(actor, org_id, server_id, "vps_manage", allowed=None, busy_status=None,
                      action="reverse_dns", summary=f"Set reverse DNS of {addr} to {host} on",
                      call=lambda c, pid: c.set_reverse_dns(pid, ip=addr, hostname=host),
                      details={"ip": addr, "hostname": host})


USAGE_PERIODS = {"24h": 24, "7d": 24 * 7}


async def usage(actor: Actor, org_id: Any, server_id: Any, *, period: Any = "24h") -> dict[str, Any]:
    """CPU, network and disk series for the graphs, plus this month's transfer when available."""
    if period not in USAGE_PERIODS:
        raise ValidationError("Choose 24 hours or 7 days.", field="period")
    with session_scope() as s:
        server, _ = _authorize(s, actor, org_id, server_id, "vps_view")
        if server.provider_instance_id is None:
            return {"points": [], "transfer": None}
        caps = _capabilities(server.provider_kind)
        client, pid, kind = _client(s, server), server.provider_instance_id, server.provider_kind
    try:
        points = await client.usage(pid, hours=USAGE_PERIODS[period]) if caps.usage else []
        transfer = await client.transfer(pid) if caps.transfer else None
    except ProviderError as exc:
        raise ValidationError(_provider_message(exc, kind)) from None
    finally:
        await client.aclose()
    return {
        "points": [{"at": p.at.isoformat(), "cpu": p.cpu_percent, "net_in": p.net_in_bps, "net_out": p.net_out_bps,
                    "disk_io": p.disk_io} for p in points],
        "transfer": {"used_gb": str(transfer.used_gb), "quota_gb": str(transfer.quota_gb)} if transfer else None,
    }


def update_notes(actor: Actor, org_id: Any, server_id: Any, *, notes: Any) -> None:
    if not isinstance(notes, str) or len(notes) > NOTES_MAX or has_disallowed_chars(notes, allow="\t\n\r"):
        raise ValidationError(f"Notes must be plain text of at most {NOTES_MAX:,} characters.", field="notes")
    with session_scope() as s:
        rbac.require(s, actor, org_id, "notes_manage")
        server = _server_in(s, rbac.parse_uuid(org_id), server_id, lock=True)
        if server.notes == notes:
            return
        server.notes, server.updated_at = notes, utcnow()
        activity.record(s, actor, "vps.notes_updated", organization_id=server.organization_id,
                        entity_type="server", entity_id=server.id, summary=f"Updated the notes of {server.label}")


def rebuild_images(actor: Actor, org_id: Any, server_id: Any) -> list[dict[str, Any]]:
    """Images the server can be rebuilt from: its provider account's cached catalog (what `rebuild`
    accepts), for members allowed to manage it."""
    from skypanel.backend.services import catalog
    with session_scope() as s:
        server, _ = _authorize(s, actor, org_id, server_id, "vps_manage")
        account_id = server.provider_account_id
    data = (catalog.get_catalog(account_id) if account_id is not None else None) or {}
    return [{"id": str(img["id"]), "label": str(img.get("label") or img["id"]),
             "distribution": str(img.get("distribution") or ""), "version": str(img.get("version") or "")}
            for img in data.get("images") or [] if img.get("id")]


# ---- deleting --------------------------------------------------------------------------

async def delete_server(actor: Actor, org_id: Any, server_id: Any, *, confirm_label: Any, password: Any,
                        code: Any = "") -> None:
    """Destroy the server at the provider, then mark it deleted. Needs `vps_delete`, the label typed
    again and the user's password (and a 2FA code when 2FA is on). The started hour stays charged."""
    with session_scope() as s:
        server, _ = _authorize(s, actor, org_id, server_id, "vps_delete")
        if not isinstance(confirm_label, str) or confirm_label.strip() != server.label:
            raise ValidationError("Type the server's label exactly to confirm.", field="confirm_label")
        user = s.get(User, actor.user_id)
        error = auth.reauthenticate(s, user, actor, password=password,
                                    code=code if user.totp_enabled else auth.NO_CODE)
    if error is not None:
        raise error
    await _destroy(actor, server_id, action="vps.deleted")


async def _destroy(actor: Actor, server_id: Any, *, action: str) -> None:
    with session_scope() as s:
        server = s.get(Server, rbac.parse_uuid(server_id, SERVER_NOT_FOUND))
        if server is None or server.deleted_at is not None:
            raise NotFound(SERVER_NOT_FOUND)
        client = _client(s, server)
        pid, kind, sid = server.provider_instance_id, server.provider_kind, server.id
    try:
        if pid is not None:
            await client.delete_instance(pid)
    except ProviderError as exc:
        if exc.status != 404:  # already gone at the provider: finish our side
            raise ValidationError(_provider_message(exc, kind)) from None
    finally:
        await client.aclose()
    with session_scope() as s:
        server = s.get(Server, sid, with_for_update=True)
        if server.deleted_at is not None:
            return
        server.status, server.deleted_at, server.updated_at = "deleted", utcnow(), utcnow()
        server.root_password_enc, server.pending_action, server.pending_action_id = None, "", ""
        activity.record(s, actor, action, organization_id=server.organization_id, entity_type="server",
                        entity_id=server.id, summary=f"Deleted server {server.label}")


def live_server_count(session: Session, org_id: uuid.UUID) -> int:
    """Servers not yet deleted (an organization with any cannot be deleted)."""
    return int(session.exec(select(func.count()).select_from(Server).where(
        Server.organization_id == org_id, col(Server.deleted_at).is_(None))).one())


# ---- platform admin --------------------------------------------------------------------

def admin_list_servers(actor: Actor, *, search: Any = "", status: Any = "", provider_account_id: Any = "",
                       limit: Any = 50, offset: Any = 0) -> tuple[list[dict[str, Any]], int]:
    """Every live server across organizations, with the organization and provider account."""
    search, (limit, offset) = _search(search), _page(limit, offset)
    if status not in ("", None) and status not in STATUS_LABELS:
        raise ValidationError("Unknown status.", field="status")
    with session_scope() as s:
        require_platform_admin(s, actor)
        stmt = select(Server, Organization.name, ProviderAccount.name) \
            .join(Organization, Organization.id == Server.organization_id) \
            .join(ProviderAccount, ProviderAccount.id == Server.provider_account_id, isouter=True) \
            .where(col(Server.deleted_at).is_(None))
        if status:
            stmt = stmt.where(Server.status == status)
        if provider_account_id:
            stmt = stmt.where(Server.provider_account_id == rbac.parse_uuid(provider_account_id, "Unknown provider."))
        if search:
            like = like_pattern(search)
            stmt = stmt.where(col(Server.label).ilike(like) | col(Organization.name).ilike(like)
                              | text("servers.ipv4::text ILIKE :ip").bindparams(ip=like))
        total = s.exec(select(func.count()).select_from(stmt.subquery())).one()
        rows = s.exec(stmt.order_by(col(Server.created_at).desc()).limit(limit).offset(offset)).all()
        plans = {p.id: p for p in s.exec(select(Plan).where(col(Plan.id).in_({r[0].plan_id for r in rows}))).all()} \
            if rows else {}
        items = []
        for server, org_name, account_name in rows:
            item = _summary(server, plans.get(server.plan_id), server.region)
            item.update({"organization_id": str(server.organization_id), "organization_name": org_name,
                         "provider_account": account_name or "", "provider_instance_id": server.provider_instance_id or ""})
            items.append(item)
        return items, int(total)


async def admin_power(actor: Actor, server_id: Any, action: Any) -> dict[str, Any]:
    """A platform admin powers any server on/off or reboots it (support work); logged as admin."""
    if action not in POWER:
        raise ValidationError("Unknown power action.", field="action")
    allowed, busy, verb = POWER[action]
    return await _act(actor, None, server_id, None, allowed=allowed, busy_status=busy, action=f"admin_{action}",
                      summary=f"Admin: {verb}", call=lambda c, pid: getattr(c, action)(pid))


async def admin_delete(actor: Actor, server_id: Any, *, confirm_label: Any) -> None:
    with session_scope() as s:
        require_platform_admin(s, actor)
        server = s.get(Server, rbac.parse_uuid(server_id, SERVER_NOT_FOUND))
        if server is None or server.deleted_at is not None:
            raise NotFound(SERVER_NOT_FOUND)
        if not isinstance(confirm_label, str) or confirm_label.strip() != server.label:
            raise ValidationError("Type the server's label exactly to confirm.", field="confirm_label")
    await _destroy(actor, server_id, action="vps.admin_deleted")


def root_password_for_console(session: Session, server: Server) -> str | None:
    """Decrypt the stored root password for a console connection (never returned to browsers)."""
    if server.root_password_enc is None:
        return None
    return decrypt(server.root_password_enc, aad=root_password_aad(server.id))
