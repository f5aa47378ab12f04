"""Keeps our server rows in step with the providers, and finds orphans.

One list call per provider account (instances tagged as ours), never one call per server per page
view: pages read our rows, this job writes them. Accounts with a server in a transitional state
are synced on every tick (a few seconds) so badges move quickly; the others once a minute.

The same list answers two more questions:
- servers we know that the provider no longer has (deleted outside the panel): marked deleted,
  so they stop being billed, with an activity row saying why;
- instances tagged as ours that no live row knows (a crash between the provider's answer and
  our commit, or a failed cleanup): recorded as orphans for admins (`/admin/servers`), who can
  delete them at the provider. An instance whose row is still `creating` is in flight, not an
  orphan.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import timedelta
from typing import Any

from sqlmodel import col, select

from skypanel.backend.db import session_scope
from skypanel.backend.models import OrphanServer, ProviderAccount, Server
from skypanel.backend.models.base import utcnow
from skypanel.backend.models.servers import OWNER_TAG
from skypanel.backend.providers.base import Instance, ProviderError
from skypanel.backend.services import activity, rbac
from skypanel.backend.services.admin import require_platform_admin
from skypanel.backend.services.context import Actor
from skypanel.backend.services.errors import NotFound, ValidationError
from skypanel.backend.services.provider_accounts import client_for
from skypanel.backend.services.servers import TRANSITIONAL, _apply_instance, _provider_message

log = logging.getLogger("skypanel.sync")

FULL_SYNC_SECONDS = 60
#: A row still `creating` this long after it was written is not in flight any more.
IN_FLIGHT = timedelta(minutes=15)
#: After we start an action, a provider may report the old state for a moment (Linode has no
#: action ids to poll): keep showing the action for this long unless the provider says otherwise.
ACTION_GRACE = timedelta(seconds=20)
#: Missing from the provider's list for this long after creation means deleted outside the panel.
MISSING_GRACE = timedelta(minutes=2)
ORPHAN_NOT_FOUND = "Orphan not found."

_last_full: dict[uuid.UUID, float] = {}


def _tag_server_id(inst: Instance) -> uuid.UUID | None:
    for tag in inst.tags:
        if tag.startswith("skypanel-") and len(tag) == 9 + 32:
            try:
                return uuid.UUID(hex=tag[9:])
            except ValueError:
                return None
    return None


def _accounts_due(force: bool) -> list[ProviderAccount]:
    now = time.monotonic()
    with session_scope() as s:
        accounts = s.exec(select(ProviderAccount)).all()
        busy = set(s.exec(select(Server.provider_account_id).where(
            col(Server.deleted_at).is_(None), col(Server.status).in_(TRANSITIONAL))).all())
        with_servers = set(s.exec(select(Server.provider_account_id).where(col(Server.deleted_at).is_(None))).all())
        due = []
        for a in accounts:
            full_due = now - _last_full.get(a.id, 0.0) >= FULL_SYNC_SECONDS
            if force or a.id in busy or (full_due and (a.id in with_servers or a.is_active)):
                s.expunge(a)
                due.append(a)
        return due


async def sync_all(*, force: bool = False, **client_options: Any) -> dict[str, int]:
    """One tick of the job: sync every account that is due. Returns counts for logs and tests."""
    totals = {"accounts": 0, "updated": 0, "gone": 0, "orphans": 0, "errors": 0}
    for account in await asyncio.to_thread(_accounts_due, force):
        try:
            counts = await sync_account(account, **client_options)
        except ProviderError as exc:
            log.warning("sync of provider account %s failed: %s", account.name, exc.message)
            totals["errors"] += 1
            continue
        totals["accounts"] += 1
        for k in ("updated", "gone", "orphans"):
            totals[k] += counts[k]
    return totals


async def sync_account(account: ProviderAccount, **client_options: Any) -> dict[str, int]:
    client = client_for(account, **client_options)
    try:
        instances = await client.list_instances(tag=OWNER_TAG)
        pending = await asyncio.to_thread(_pending_actions, account.id)
        actions = {}
        for sid, action_id in pending.items():
            try:
                actions[sid] = await client.get_action(action_id)
            except ProviderError:
                continue  # try again next tick
    finally:
        await client.aclose()
    _last_full[account.id] = time.monotonic()
    # Thousands of rows are merged in one transaction: in a worker thread, so the app's event loop
    # (every browser's events) never waits for it.
    return await asyncio.to_thread(_apply, account, instances, actions)


def _pending_actions(account_id: uuid.UUID) -> dict[uuid.UUID, str]:
    """Servers of the account waiting on a provider action id (DigitalOcean, simulated)."""
    with session_scope() as s:
        return {r.id: r.pending_action_id for r in s.exec(select(Server).where(
            Server.provider_account_id == account_id, col(Server.deleted_at).is_(None),
            col(Server.pending_action_id).not_in(("", OBSERVED)))).all()}


def _apply(account: ProviderAccount, instances: list[Instance], actions: dict) -> dict[str, int]:
    """Merge the provider's list into our rows: statuses, addresses, gone servers, orphans."""
    by_id = {inst.provider_id: inst for inst in instances}
    counts = {"updated": 0, "gone": 0, "orphans": 0}
    now = utcnow()
    with session_scope() as s:
        rows = s.exec(select(Server).where(Server.provider_account_id == account.id,
                                           col(Server.deleted_at).is_(None)).with_for_update()).all()
        known = {r.provider_instance_id for r in rows if r.provider_instance_id}
        in_flight = {r.id for r in rows if r.status == "creating" and now - r.created_at < IN_FLIGHT}
        for server in rows:
            if server.provider_instance_id is None:
                continue
            inst = by_id.get(server.provider_instance_id)
            if inst is None:
                if now - server.created_at >= MISSING_GRACE:
                    server.status, server.deleted_at, server.updated_at = "deleted", now, now
                    server.root_password_enc = None
                    activity.record(s, Actor.system(), "vps.gone_at_provider", organization_id=server.organization_id,
                                    entity_type="server", entity_id=server.id,
                                    summary=f"Server {server.label} no longer exists at the provider; "
                                            "marked deleted (billing stops)")
                    counts["gone"] += 1
                continue
            if _merge(server, inst, actions.get(server.id), now):
                counts["updated"] += 1
        counts["orphans"] = _record_orphans(s, account, instances, known, in_flight, now)
    return counts


#: pending_action_id for providers without action ids (Linode, simulated) once the provider has
#: shown the action under way: from then on its next settled status means the action is done.
OBSERVED = "observed"


def _merge(server: Server, inst: Instance, action, now) -> bool:
    """Apply the provider's view; keep our busy status while an action is still running."""
    before = (server.status, list(server.ipv4 or []), server.ipv6, server.provider_plan_id, server.pending_action)
    status = inst.status
    if server.pending_action:
        polled = server.pending_action_id not in ("", OBSERVED)
        if polled:  # DigitalOcean: the action says when it is done
            if action is None or action.status == "in-progress":
                status = server.status
            else:
                if action.status == "errored":
                    server.last_error = f"The provider reported that the {server.pending_action} failed."
                server.pending_action, server.pending_action_id = "", ""
        elif status in TRANSITIONAL:
            server.pending_action_id = OBSERVED
        elif server.pending_action_id == OBSERVED or now - server.updated_at >= ACTION_GRACE:
            server.pending_action, server.pending_action_id = "", ""
        else:
            status = server.status  # the provider has not started showing our action yet
    _apply_instance(server, inst)
    server.status = status
    after = (server.status, list(server.ipv4 or []), server.ipv6, server.provider_plan_id, server.pending_action)
    return before != after


def _record_orphans(s, account: ProviderAccount, instances: list[Instance], known: set[str],
                    in_flight: set[uuid.UUID], now) -> int:
    seen = set()
    found = 0
    for inst in instances:
        if inst.provider_id in known or _tag_server_id(inst) in in_flight:
            continue
        seen.add(inst.provider_id)
        row = s.exec(select(OrphanServer).where(OrphanServer.provider_account_id == account.id,
                                                OrphanServer.provider_instance_id == inst.provider_id)).first()
        if row is None:
            row = OrphanServer(provider_account_id=account.id, provider_instance_id=inst.provider_id,
                               label=inst.label[:120], region=inst.region[:64], ipv4=list(inst.ipv4))
            s.add(row)
            activity.record(s, Actor.system(), "admin.orphan_found", entity_type="orphan_server",
                            entity_id=inst.provider_id,
                            summary=f"Instance {inst.label} ({inst.provider_id}) at {account.name} is tagged as "
                                    "ours but belongs to no server",
                            details={"provider_account": account.name, "provider_id": inst.provider_id})
            found += 1
        elif row.resolved_at is not None:
            row.resolved_at, row.resolution = None, ""
        row.last_seen_at = now
    for row in s.exec(select(OrphanServer).where(OrphanServer.provider_account_id == account.id,
                                                 col(OrphanServer.resolved_at).is_(None))).all():
        if row.provider_instance_id not in seen:
            row.resolved_at, row.resolution = now, "gone"
    return found


# ---- admin ------------------------------------------------------------------------------

def list_orphans(actor: Actor) -> list[dict[str, Any]]:
    """Open orphans for the admin servers page."""
    with session_scope() as s:
        require_platform_admin(s, actor)
        rows = s.exec(select(OrphanServer, ProviderAccount.name).join(
            ProviderAccount, ProviderAccount.id == OrphanServer.provider_account_id)
            .where(col(OrphanServer.resolved_at).is_(None)).order_by(col(OrphanServer.first_seen_at))).all()
        return [{"id": str(o.id), "provider_account": name, "provider_instance_id": o.provider_instance_id,
                 "label": o.label, "region": o.region, "ipv4": list(o.ipv4 or []),
                 "first_seen_at": o.first_seen_at.isoformat(), "last_seen_at": o.last_seen_at.isoformat()}
                for o, name in rows]


async def delete_orphan(actor: Actor, orphan_id: Any, **client_options: Any) -> None:
    """Destroy an orphan at its provider (it is nobody's server, so nobody is billed for it)."""
    with session_scope() as s:
        require_platform_admin(s, actor)
        orphan = s.get(OrphanServer, rbac.parse_uuid(orphan_id, ORPHAN_NOT_FOUND))
        if orphan is None or orphan.resolved_at is not None:
            raise NotFound(ORPHAN_NOT_FOUND)
        account = s.get(ProviderAccount, orphan.provider_account_id)
        s.expunge(account)
        oid, pid = orphan.id, orphan.provider_instance_id
    client = client_for(account, **client_options)
    try:
        await client.delete_instance(pid)
    except ProviderError as exc:
        if exc.status != 404:
            raise ValidationError(_provider_message(exc, account.kind)) from None
    finally:
        await client.aclose()
    with session_scope() as s:
        orphan = s.get(OrphanServer, oid, with_for_update=True)
        orphan.resolved_at, orphan.resolution = utcnow(), "deleted"
        activity.record(s, actor, "admin.orphan_deleted", entity_type="orphan_server", entity_id=pid,
                        summary=f"Deleted orphan instance {orphan.label} ({pid}) at {account.name}")
