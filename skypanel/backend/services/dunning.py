"""Runway and dunning: how long a balance lasts, alerts as it runs out, suspension and resumption.

- Figures (/billing overview): balance, burn rate per hour (the billing engine's
  `billing.current_rates`: what the next hours will really cost), runway, month-to-date spend and forecast from `server_charges`, a 30-day series and
  spend per server.
- Alerts (email + the portal banner) when the runway drops below 72 h, 24 h and 1 h, when the
  balance goes negative and on suspension. Each is sent once per crossing: `dunning_states.fired`
  remembers what was sent, and an alert re-arms when its condition clears (a top-up).
- Suspension: after the grace period (setting `suspension_grace_hours`) with a negative balance and
  no admin hold, the organization's servers are powered off at the provider (servers.system_power,
  no transaction held across the call) and marked `suspended_at`; power actions are refused with
  the amount to add. `resume_if_paid` lifts it when the balance is >= 0 and powers back on what we
  powered off. Optional termination after `termination_after_days` (0 = never) through the normal
  delete path.
- `run()` (the job, every few minutes) evaluates every organization that needs it. Times come in as
  `now` so tests move the clock instead of waiting; the negative-since time comes from the ledger.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col, func, select

from skypanel.backend.db import session_scope
from skypanel.backend.integrations import email as mail
from skypanel.backend.models import DunningState, Membership, Organization, Role, Server, ServerCharge, User, Wallet
from skypanel.backend.models.base import utcnow
from skypanel.backend.services import activity, billing, platform_settings, pricing, rbac
from skypanel.backend.services.admin import require_platform_admin
from skypanel.backend.services.context import Actor
from skypanel.backend.services.errors import NotFound, ServiceError, ValidationError
from skypanel.backend.services.wallet import format_money

log = logging.getLogger("skypanel.dunning")

#: Runway alerts, least to most urgent: (key, hours).
RUNWAY_THRESHOLDS: tuple[tuple[str, int], ...] = (("72h", 72), ("24h", 24), ("1h", 1))
#: Every alert, least to most urgent (when several become true at once only the most urgent is sent).
SEVERITY: tuple[str, ...] = ("72h", "24h", "1h", "negative", "suspended")
GONE = ("failed", "deleted")
#: Statuses that end up running: a server in one of them when suspended is powered on again on resume.
RUNNING_LIKE = ("running", "booting", "rebooting", "provisioning", "creating")
CENT = Decimal("0.01")
CHART_DAYS = 30
HOLD_MAX_DAYS = 366


# ---- pure arithmetic -------------------------------------------------------------------

def runway_hours(balance: Decimal, burn: Decimal) -> Decimal | None:
    """Hours the balance lasts at `burn` per hour; None when nothing burns, 0 when nothing is left."""
    if burn <= 0:
        return None
    if balance <= 0:
        return Decimal(0)
    return balance / burn


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def runway_words(balance: Decimal, burn: Decimal) -> str:
    """'lasts about 3 days 4 hours', 'lasts about 40 minutes', 'is used up', 'no servers are running'."""
    hours = runway_hours(balance, burn)
    if hours is None:
        return "no servers are running"
    if hours <= 0:
        return "is used up"
    minutes = int(hours * 60)  # floor: never promise more than there is
    days, rest = divmod(minutes, 24 * 60)
    whole_hours, mins = divmod(rest, 60)
    if days:
        return "lasts about " + _plural(days, "day") + (f" {_plural(whole_hours, 'hour')}" if whole_hours else "")
    if whole_hours:
        return "lasts about " + _plural(whole_hours, "hour") + (f" {_plural(mins, 'minute')}" if mins else "")
    return "lasts about " + _plural(mins, "minute") if mins else "lasts less than a minute"


def amount_to_add(balance: Decimal) -> Decimal:
    """What brings a negative balance back to zero, rounded up to the cent (0 when not negative)."""
    return Decimal(0) if balance >= 0 else (-balance).quantize(CENT, rounding=ROUND_CEILING)


def alerts_due(balance: Decimal, burn: Decimal, fired: list[str] | set[str]) -> tuple[list[str], str | None]:
    """(the new `fired` list, the alert to send now or None). Runway alerts need something burning;
    conditions that cleared re-arm (leave `fired`); 'suspended' is managed by suspend/resume."""
    active = {key for key, hours in RUNWAY_THRESHOLDS if burn > 0 and balance < burn * hours}
    if balance < 0:
        active.add("negative")
    previous = set(fired)
    newly = active - previous
    keep = active | (previous & {"suspended"})
    send = max(newly, key=SEVERITY.index) if newly else None
    return sorted(keep, key=SEVERITY.index), send


def month_bounds(now: datetime) -> tuple[datetime, datetime]:
    start = now.astimezone(timezone.utc).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end


def hours_left_in_month(now: datetime) -> int:
    """Whole billing hours after the current one until the month ends (the current hour is billed)."""
    _, end = month_bounds(now)
    return max(0, int((end - (pricing.hour_start(now.astimezone(timezone.utc)) + timedelta(hours=1)))
                      .total_seconds() // 3600))


def forecast(spent: dict[Any, Decimal], rates: dict[Any, tuple[Decimal, Decimal]], hours_left: int) -> Decimal:
    """This month's expected total: what each server has cost so far plus its hourly rate for the
    hours left, never more than its monthly price (the monthly cap), never less than already spent.
    `rates` = {server: (hourly, monthly cap)} for servers still running; others count what they spent."""
    total = Decimal(0)
    for sid in set(spent) | set(rates):
        done = spent.get(sid, Decimal(0))
        if sid in rates:
            hourly, cap = rates[sid]
            total += max(done, min(done + hourly * hours_left, cap))
        else:
            total += done
    return total.quantize(pricing.PLACES)


# ---- reading ---------------------------------------------------------------------------

_NEGATIVE_SINCE = text("""
    SELECT min(l.created_at) FROM ledger_entries l
    WHERE l.organization_id = :o
      AND l.id > COALESCE((SELECT max(l2.id) FROM ledger_entries l2
                           WHERE l2.organization_id = :o AND l2.balance_after >= 0), 0)
""")


def negative_since(session: Session, org_id: uuid.UUID, balance: Decimal) -> datetime | None:
    """When the balance last went below zero (from the ledger), or None when it is not negative."""
    if balance >= 0:
        return None
    return session.execute(_NEGATIVE_SINCE, {"o": org_id}).scalar_one_or_none()


def _balance(session: Session, org_id: uuid.UUID) -> tuple[Decimal, str]:
    row = session.exec(select(Wallet.balance, Wallet.currency).where(Wallet.organization_id == org_id)).first()
    if row is None:
        raise NotFound("Wallet not found.")
    return Decimal(row[0]), row[1]


def _grace(session: Session) -> timedelta:
    return timedelta(hours=int(platform_settings._get(session, "suspension_grace_hours")))


def _termination_days(session: Session) -> int:
    return int(platform_settings._get(session, "termination_after_days"))


def _state(session: Session, org_id: uuid.UUID, *, lock: bool = False, create: bool = False) -> DunningState | None:
    if create:
        session.execute(insert(DunningState).values(organization_id=org_id, fired=[], hold_reason="",
                                                    updated_at=utcnow())
                        .on_conflict_do_nothing(index_elements=["organization_id"]))
    stmt = select(DunningState).where(DunningState.organization_id == org_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return session.exec(stmt).first()


def _suspend_at(session: Session, since: datetime | None, state: DunningState | None) -> datetime | None:
    if since is None:
        return None
    due = since + _grace(session)
    if state is not None and state.hold_until is not None and state.hold_until > due:
        return state.hold_until
    return due


def _spend_by_server(session: Session, org_id: uuid.UUID, since: datetime) -> dict[uuid.UUID, tuple[Decimal, int]]:
    rows = session.exec(
        select(ServerCharge.server_id, func.sum(ServerCharge.amount), func.count())
        .where(ServerCharge.organization_id == org_id, ServerCharge.hour_start >= since)
        .group_by(ServerCharge.server_id)
    ).all()
    return {sid: (Decimal(amount), int(n)) for sid, amount, n in rows}


def _daily_spend(session: Session, org_id: uuid.UUID, now: datetime) -> list[dict[str, Any]]:
    today = now.astimezone(timezone.utc).date()
    first = today - timedelta(days=CHART_DAYS - 1)
    start = datetime.combine(first, datetime.min.time(), tzinfo=timezone.utc)
    rows = session.execute(text("""
        SELECT (hour_start AT TIME ZONE 'UTC')::date AS d, sum(amount)
        FROM server_charges WHERE organization_id = :o AND hour_start >= :s
        GROUP BY d
    """), {"o": org_id, "s": start}).all()
    by_day: dict[date, Decimal] = {d: Decimal(a) for d, a in rows}
    out = []
    for i in range(CHART_DAYS):
        d = first + timedelta(days=i)
        amount = by_day.get(d, Decimal(0)).quantize(pricing.PLACES)
        out.append({"date": d.isoformat(), "label": f"{d:%b} {d.day}", "amount": str(amount),
                    "amount_display": format_money(amount)})
    return out


def overview(actor: Actor, org_id: Any, *, now: datetime | None = None) -> dict[str, Any]:
    """Everything the /billing overview shows (billing_view). Amounts as strings (Decimal text)."""
    now = now or utcnow()
    with session_scope() as s:
        rbac.require(s, actor, org_id, "billing_view")
        oid = rbac.parse_uuid(org_id)
        balance, currency = _balance(s, oid)
        month_start, _ = month_bounds(now)
        spent = _spend_by_server(s, oid, month_start)
        live = billing.current_rates(s, [oid])
        burn = sum((r.hourly for r in live), Decimal(0))
        rates = {r.server_id: (r.hourly, r.monthly_cap) for r in live}
        mtd = sum((a for a, _n in spent.values()), Decimal(0)).quantize(pricing.PLACES)
        projected = forecast({k: v[0] for k, v in spent.items()}, rates, hours_left_in_month(now))
        ids = set(spent) | set(rates)
        servers = {r.id: r for r in s.exec(select(Server).where(col(Server.id).in_(ids))).all()} if ids else {}
        per_server = []
        for sid in ids:
            row = servers.get(sid)
            amount, hours = spent.get(sid, (Decimal(0), 0))
            per_server.append({
                "id": str(sid), "label": row.label if row else "?", "status": row.status if row else "",
                "deleted": bool(row and row.deleted_at is not None),
                "suspended": bool(row and row.suspended_at is not None),
                "hours": hours, "amount": str(amount.quantize(pricing.PLACES)), "amount_display": format_money(amount),
                "hourly": str(rates[sid][0]) if sid in rates else "0",
                "hourly_display": format_money(rates[sid][0]) if sid in rates else "",
            })
        per_server.sort(key=lambda r: (-Decimal(r["amount"]), r["label"]))
        state = _state(s, oid)
        since = negative_since(s, oid, balance)
        hours = runway_hours(balance, burn)
        return {
            "balance": str(balance), "balance_display": format_money(balance, currency), "currency": currency,
            "burn": str(burn), "burn_display": format_money(burn, currency) + "/h",
            "runway_hours": None if hours is None else str(hours.quantize(CENT, rounding=ROUND_HALF_UP)),
            "runway_words": runway_words(balance, burn),
            "month_to_date": str(mtd), "month_to_date_display": format_money(mtd, currency),
            "forecast": str(projected), "forecast_display": format_money(projected, currency),
            "month_label": f"{month_start:%B %Y}",
            "chart": _daily_spend(s, oid, now),
            "per_server": per_server,
            "suspended": bool(state and state.suspended_at),
            "suspended_at": state.suspended_at.isoformat() if state and state.suspended_at else "",
            "negative_since": since.isoformat() if since else "",
            "suspend_at": (_suspend_at(s, since, state).isoformat() if since and not (state and state.suspended_at)
                           else ""),
            "amount_to_add": str(amount_to_add(balance)),
            "amount_to_add_display": format_money(amount_to_add(balance), currency),
        }


def suspension_message(session: Session, org_id: uuid.UUID) -> str:
    """What a refused power action says (also for the console when it checks suspension)."""
    balance, currency = _balance(session, org_id)
    need = amount_to_add(balance)
    if need > 0:
        return (f"This server is suspended because the balance is {format_money(balance, currency)}. "
                f"Add {format_money(need, currency)} to resume your servers.")
    return "This server is suspended for an unpaid balance; it resumes within a few minutes of the top-up."


def banner(actor: Actor, org_id: Any) -> dict[str, Any] | None:
    """The portal shell's alert for the active organization, from live figures (a top-up clears it
    at once): {level: red|amber, message, link}. Members without billing_view only hear about a
    suspension (without amounts)."""
    try:
        with session_scope() as s:
            perms = rbac.require(s, actor, org_id, None)
            oid = rbac.parse_uuid(org_id)
            state = _state(s, oid)
            suspended = bool(state and state.suspended_at)
            if "billing_view" not in perms:
                if not suspended:
                    return None
                return {"level": "red", "link": False,
                        "message": "This organization's servers are suspended for an unpaid balance. "
                                   "Ask an owner or billing manager to add funds."}
            balance, currency = _balance(s, oid)
            need = format_money(amount_to_add(balance), currency)
            if suspended:
                return {"level": "red", "link": True,
                        "message": f"Your servers are suspended: the balance is {format_money(balance, currency)}. "
                                   f"Add {need} to resume your servers."}
            if balance < 0:
                since = negative_since(s, oid, balance)
                due = _suspend_at(s, since, state)
                when = f" by {due:%Y-%m-%d %H:%M} UTC" if due else ""
                return {"level": "red", "link": True,
                        "message": f"Your balance is {format_money(balance, currency)}. Add at least {need}{when} "
                                   "or your servers will be suspended."}
            burn = billing.hourly_burn(s, oid)
            if burn > 0 and balance < burn * RUNWAY_THRESHOLDS[0][1]:
                return {"level": "amber", "link": True,
                        "message": f"Your balance {runway_words(balance, burn)} at the current rate "
                                   f"({format_money(burn, currency)}/h). Add funds to keep your servers running."}
            return None
    except ServiceError:
        return None


# ---- alerts ----------------------------------------------------------------------------

def _recipients(session: Session, org_id: uuid.UUID) -> list[tuple[str, str]]:
    """Active members who may add funds (billing_manage), else those who may see billing."""
    for perm in ("billing_manage", "billing_view"):
        rows = session.exec(
            select(User.email, User.name).join(Membership, Membership.user_id == User.id)
            .join(Role, Role.id == Membership.role_id)
            .where(Membership.organization_id == org_id, col(User.is_active).is_(True),
                   text(f"'{perm}' = ANY(roles.permissions)"))
            .order_by(User.email)
        ).all()
        if rows:
            return [(e, n) for e, n in rows]
    return []


def _send(session: Session, org_id: uuid.UUID, kind: str, *, balance: Decimal, burn: Decimal, currency: str,
          suspend_at: datetime | None = None, servers: int = 0, terminate_at: datetime | None = None) -> int:
    org = session.get(Organization, org_id)
    grace_hours = int(_grace(session).total_seconds() // 3600)
    base = {"organization_name": org.name if org else "", "balance": format_money(balance, currency),
            "burn": format_money(burn, currency) + " per hour", "billing_url": "/billing",
            "grace_hours": grace_hours, "amount_to_add": format_money(amount_to_add(balance), currency)}
    if kind in ("72h", "24h", "1h"):
        template = "runway_low"
        base.update(runway=runway_words(balance, burn), threshold=f"below {kind.removesuffix('h')} hours")
    elif kind == "negative":
        template = "balance_negative"
        base.update(suspend_at=suspend_at)
    else:
        template = "servers_suspended"
        base.update(servers=str(servers), terminate_at=terminate_at)
    sent = 0
    for address, name in _recipients(session, org_id):
        mail.queue(session, to=address, template=template, context={**base, "name": name})
        sent += 1
    activity.record(session, Actor.system(), f"billing.alert_{kind}", organization_id=org_id,
                    entity_type="organization", entity_id=org_id,
                    summary=f"Billing alert ({kind}) sent to {sent} member(s); balance {base['balance']}",
                    details={"kind": kind, "balance": str(balance), "burn": str(burn)})
    return sent


# ---- the evaluation --------------------------------------------------------------------

@dataclass
class Decision:
    suspend: bool = False
    resume: bool = False
    terminate: bool = False
    alert: str | None = None


def _evaluate_alerts(org_id: uuid.UUID, now: datetime) -> Decision:
    """One transaction: update `fired`, queue the due alert, decide what the provider side needs."""
    with session_scope() as s:
        state = _state(s, org_id, lock=True, create=True)
        balance, currency = _balance(s, org_id)
        burn = billing.hourly_burn(s, org_id)
        since = negative_since(s, org_id, balance)
        fired, send = alerts_due(balance, burn, state.fired or [])
        if send is not None:
            _send(s, org_id, send, balance=balance, burn=burn, currency=currency,
                  suspend_at=_suspend_at(s, since, state))
        if fired != list(state.fired or []) or state.negative_since != since:
            state.fired, state.negative_since, state.updated_at = fired, since, now
        held = state.hold_until is not None and state.hold_until > now
        decision = Decision(alert=send)
        if state.suspended_at is None:
            decision.suspend = since is not None and since + _grace(s) <= now and not held
        else:
            decision.resume = balance >= 0
            days = _termination_days(s)
            decision.terminate = (not decision.resume and days > 0
                                  and state.suspended_at + timedelta(days=days) <= now)
        return decision


async def evaluate(org_id: Any, *, now: datetime | None = None) -> Decision:
    """Alerts, then suspension / resumption / termination, then power enforcement for one organization."""
    now = now or utcnow()
    oid = rbac.parse_uuid(org_id)
    decision = _evaluate_alerts(oid, now)
    if decision.suspend:
        await suspend(oid, now=now)
    elif decision.resume:
        await resume_if_paid(oid)
    elif decision.terminate:
        await _terminate(oid)
    await enforce_power(oid)
    return decision


async def suspend(org_id: uuid.UUID, *, now: datetime | None = None) -> bool:
    """Mark the organization and its live servers suspended (one transaction, with the alert), then
    power the servers off at the provider. False when it no longer applies (balance back, or held)."""
    now = now or utcnow()
    with session_scope() as s:
        state = _state(s, org_id, lock=True, create=True)
        balance, currency = _balance(s, org_id)
        held = state.hold_until is not None and state.hold_until > now
        if state.suspended_at is not None or balance >= 0 or held:
            return False
        rows = s.exec(select(Server).where(Server.organization_id == org_id, col(Server.deleted_at).is_(None),
                                           col(Server.status).not_in(GONE)).with_for_update()).all()
        for server in rows:
            server.suspended_at = now
            server.resume_power_on = server.status in RUNNING_LIKE
            server.updated_at = utcnow()
            activity.record(s, Actor.system(), "vps.suspended", organization_id=org_id, entity_type="server",
                            entity_id=server.id, summary=f"Suspended server {server.label} (unpaid balance)")
        state.suspended_at, state.updated_at = now, now
        state.fired = sorted(set(state.fired or []) | {"suspended", "negative"}, key=SEVERITY.index)
        days = _termination_days(s)
        _send(s, org_id, "suspended", balance=balance, burn=billing.hourly_burn(s, org_id), currency=currency,
              servers=len(rows), terminate_at=now + timedelta(days=days) if days else None)
        activity.record(s, Actor.system(), "billing.suspended", organization_id=org_id, entity_type="organization",
                        entity_id=org_id, summary=f"Suspended {len(rows)} server(s): balance "
                                                  f"{format_money(balance, currency)} past the grace period",
                        details={"balance": str(balance), "servers": len(rows)})
    await enforce_power(org_id)
    return True


def _unsuspend(s: Session, org_id: uuid.UUID, actor: Actor, why: str) -> int:
    state = _state(s, org_id, lock=True)
    if state is None or state.suspended_at is None:
        return -1
    rows = s.exec(select(Server).where(Server.organization_id == org_id, col(Server.suspended_at).is_not(None))
                  .with_for_update()).all()
    for server in rows:
        server.suspended_at, server.updated_at = None, utcnow()
        if server.deleted_at is None:
            activity.record(s, actor, "vps.unsuspended", organization_id=org_id, entity_type="server",
                            entity_id=server.id, summary=f"Resumed server {server.label}")
    state.suspended_at, state.updated_at = None, utcnow()
    state.fired = [k for k in (state.fired or []) if k != "suspended"]
    activity.record(s, actor, "billing.resumed", organization_id=org_id, entity_type="organization",
                    entity_id=org_id, summary=f"Resumed {len(rows)} server(s): {why}")
    return len(rows)


async def resume_if_paid(org_id: Any) -> bool:
    """Lift the organization's suspension when its balance is >= 0 and power on the servers we powered
    off. Safe to call after every top-up (does nothing otherwise). True when it resumed."""
    oid = rbac.parse_uuid(org_id)
    with session_scope() as s:
        state = _state(s, oid)
        if state is None or state.suspended_at is None:
            return False
        balance, currency = _balance(s, oid)
        if balance < 0:
            return False
        if _unsuspend(s, oid, Actor.system(), f"balance back at {format_money(balance, currency)}") < 0:
            return False
    await enforce_power(oid)
    return True


async def enforce_power(org_id: uuid.UUID) -> dict[str, int]:
    """Make the provider side match: suspended servers still running are shut down; resumed servers we
    powered off are booted (flag cleared once booted). Failures are logged and retried by the job."""
    from skypanel.backend.services import servers as servers_svc
    with session_scope() as s:
        rows = s.exec(select(Server.id, Server.status, Server.suspended_at, Server.resume_power_on)
                      .where(Server.organization_id == org_id, col(Server.deleted_at).is_(None),
                             col(Server.provider_instance_id).is_not(None),
                             (col(Server.suspended_at).is_not(None)) | (col(Server.resume_power_on).is_(True)))).all()
        to_off = [sid for sid, status, susp, _r in rows if susp is not None and status == "running"]
        to_on = [sid for sid, status, susp, resume in rows if susp is None and resume and status == "offline"]
        settled = [sid for sid, status, susp, resume in rows
                   if susp is None and resume and status not in ("offline", "stopping", "booting", *GONE)]
        if settled:  # already running again (or powered on by someone): nothing left to do for us
            for server in s.exec(select(Server).where(col(Server.id).in_(settled))).all():
                server.resume_power_on = False
    done = {"off": 0, "on": 0}
    for sid in to_off:
        try:
            await servers_svc.system_power(sid, "shutdown")
            done["off"] += 1
        except ServiceError as exc:
            log.warning("suspension: could not power off %s: %s", sid, exc.message)
    for sid in to_on:
        try:
            await servers_svc.system_power(sid, "boot", clear_resume=True)
            done["on"] += 1
        except ServiceError as exc:
            log.warning("resume: could not power on %s: %s", sid, exc.message)
    return done


async def _terminate(org_id: uuid.UUID) -> int:
    """Delete the suspended servers through the normal delete path (system actor)."""
    from skypanel.backend.services import servers as servers_svc
    with session_scope() as s:
        ids = s.exec(select(Server.id).where(Server.organization_id == org_id, col(Server.deleted_at).is_(None),
                                             col(Server.suspended_at).is_not(None))).all()
        if ids:
            activity.record(s, Actor.system(), "billing.terminated", organization_id=org_id,
                            entity_type="organization", entity_id=org_id,
                            summary=f"Deleting {len(ids)} server(s) suspended past the termination period")
    deleted = 0
    for sid in ids:
        try:
            await servers_svc._destroy(Actor.system(), sid, action="vps.terminated")
            deleted += 1
        except ServiceError as exc:
            log.warning("termination: could not delete %s: %s", sid, exc.message)
    return deleted


def _candidates(now: datetime) -> list[uuid.UUID]:
    """Organizations that need a look: low runway or negative, something fired, suspended, held or
    servers waiting to be powered on again. One pass over wallets, servers and states."""
    with session_scope() as s:
        burns = billing.burn_rates(s)
        wallets = s.exec(select(Wallet.organization_id, Wallet.balance).join(
            Organization, Organization.id == Wallet.organization_id).where(col(Organization.deleted_at).is_(None))).all()
        out = {oid for oid, balance in wallets
               if balance < 0 or (burns.get(oid, Decimal(0)) > 0 and balance < burns[oid] * RUNWAY_THRESHOLDS[0][1])}
        out |= set(s.exec(select(DunningState.organization_id).where(
            (func.jsonb_array_length(DunningState.fired) > 0) | col(DunningState.suspended_at).is_not(None))).all())
        out |= set(s.exec(select(Server.organization_id).where(col(Server.resume_power_on).is_(True),
                                                              col(Server.deleted_at).is_(None))).all())
    return sorted(out)


async def run(*, now: datetime | None = None) -> dict[str, int]:
    """The job: evaluate every organization that needs it. Returns counts for the log."""
    now = now or utcnow()
    counts = {"checked": 0, "alerts": 0, "suspended": 0, "resumed": 0, "terminated": 0, "errors": 0}
    for oid in _candidates(now):
        counts["checked"] += 1
        try:
            d = await evaluate(oid, now=now)
        except Exception:  # one organization's failure must not stop the others
            log.exception("dunning of %s failed", oid)
            counts["errors"] += 1
            continue
        counts["alerts"] += d.alert is not None
        counts["suspended"] += d.suspend
        counts["resumed"] += d.resume
        counts["terminated"] += d.terminate
    return counts


# ---- admin -----------------------------------------------------------------------------

_ADMIN_LIST = text("""
    SELECT o.id, o.name, w.balance, w.currency, ds.suspended_at, ds.hold_until, ds.hold_reason,
           (SELECT min(l.created_at) FROM ledger_entries l
             WHERE l.organization_id = o.id AND w.balance < 0
               AND l.id > COALESCE((SELECT max(l2.id) FROM ledger_entries l2
                                    WHERE l2.organization_id = o.id AND l2.balance_after >= 0), 0)) AS neg_since,
           (SELECT count(*) FROM servers sv WHERE sv.organization_id = o.id AND sv.deleted_at IS NULL
               AND sv.status NOT IN ('failed', 'deleted')) AS servers
    FROM organizations o
    JOIN wallets w ON w.organization_id = o.id
    LEFT JOIN dunning_states ds ON ds.organization_id = o.id
    WHERE o.deleted_at IS NULL AND (w.balance < 0 OR ds.suspended_at IS NOT NULL OR ds.hold_until > :now)
    ORDER BY ds.suspended_at IS NULL, w.balance, o.name
    LIMIT 500
""")


def admin_list(actor: Actor, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """Suspended organizations, those with a negative balance (about to be suspended) and those on hold."""
    now = now or utcnow()
    with session_scope() as s:
        require_platform_admin(s, actor)
        grace = _grace(s)
        out = []
        for oid, name, balance, currency, suspended_at, hold_until, hold_reason, since, n in \
                s.execute(_ADMIN_LIST, {"now": now}).all():
            held = hold_until is not None and hold_until > now
            due = since + grace if since else None
            if held and due and hold_until > due:
                due = hold_until
            if suspended_at:
                status = "suspended"
            elif held:
                status = "hold"
            else:
                status = "due"
            out.append({
                "organization_id": str(oid), "name": name, "balance": str(balance),
                "balance_display": format_money(balance, currency), "servers": int(n), "status": status,
                "suspended_at": suspended_at.isoformat() if suspended_at else "",
                "negative_since": since.isoformat() if since else "",
                "suspend_at": due.isoformat() if due and not suspended_at else "",
                "hold_until": hold_until.isoformat() if held else "",
                "hold_reason": hold_reason or "" if held else "",
                "amount_to_add_display": format_money(amount_to_add(Decimal(balance)), currency),
            })
        return out


def _hold_date(value: Any, now: datetime) -> datetime:
    if isinstance(value, datetime):
        until = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    else:
        raw = value.strip() if isinstance(value, str) else ""
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            raise ValidationError("Enter a date like 2026-12-31.", field="until") from None
        until = datetime.combine(day, datetime.max.time().replace(microsecond=0), tzinfo=timezone.utc)
    if until <= now:
        raise ValidationError("The hold must end in the future.", field="until")
    if until > now + timedelta(days=HOLD_MAX_DAYS):
        raise ValidationError(f"A hold can last at most {HOLD_MAX_DAYS} days.", field="until")
    return until


async def place_hold(actor: Actor, org_id: Any, *, until: Any, reason: Any) -> dict[str, Any]:
    """No suspension for this organization until the end of `until` (a date). A suspended
    organization is resumed at once (the hold says its servers may run)."""
    now = utcnow()
    if not isinstance(reason, str) or not 3 <= len(" ".join(reason.split())) <= 300:
        raise ValidationError("Give a reason of 3 to 300 characters.", field="reason")
    reason = " ".join(reason.split())
    resumed = False
    with session_scope() as s:
        require_platform_admin(s, actor)
        org = rbac.live_organization(s, org_id)
        if org is None:
            raise NotFound(rbac.ORG_NOT_FOUND)
        stop = _hold_date(until, now)
        state = _state(s, org.id, lock=True, create=True)
        state.hold_until, state.hold_reason, state.hold_by, state.updated_at = stop, reason, actor.user_id, now
        activity.record(s, actor, "billing.hold_placed", organization_id=org.id, entity_type="organization",
                        entity_id=org.id, summary=f"Billing hold until {stop:%Y-%m-%d}: {reason}"[:300],
                        details={"until": stop.isoformat(), "reason": reason})
        if state.suspended_at is not None:
            resumed = _unsuspend(s, org.id, actor, "billing hold placed by an administrator") >= 0
        oid = org.id
    if resumed:
        await enforce_power(oid)
    return {"hold_until": stop.isoformat(), "resumed": resumed}


def lift_hold(actor: Actor, org_id: Any) -> None:
    with session_scope() as s:
        require_platform_admin(s, actor)
        org = rbac.live_organization(s, org_id)
        if org is None:
            raise NotFound(rbac.ORG_NOT_FOUND)
        state = _state(s, org.id, lock=True)
        if state is None or state.hold_until is None:
            raise ValidationError("This organization has no billing hold.")
        state.hold_until, state.hold_reason, state.hold_by, state.updated_at = None, "", None, utcnow()
        activity.record(s, actor, "billing.hold_lifted", organization_id=org.id, entity_type="organization",
                        entity_id=org.id, summary="Billing hold lifted")
