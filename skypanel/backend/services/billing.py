"""The hourly billing engine: every started hour of every server charged exactly once.

How a run works:
- One runner at a time across processes: a session-level PostgreSQL advisory lock on the run's own
  connection (released when the run ends or its process dies); a second runner skips.
- Each server has a cursor (`server_billing_state`: last hour charged, month-to-date amount). A
  server the engine has not seen yet starts after its newest charge (the first hour, charged at
  creation). Due hours run from the cursor up to the current hour, or up to the hour the server
  was deleted in, so a run after downtime catches up every missed hour.
- Organizations are billed in batches (about BATCH_SERVERS servers each). A batch is one
  transaction of set-based SQL: its due hours with the price in force for each hour (plan +
  markup, plus the backup rate when backups are on), capped per calendar month (UTC) at the
  monthly price; one ledger debit per organization (`wallet._post_bulk`, overdraft allowed); one
  charge row per (server, hour) pointing at that debit (the unique constraint refuses a second);
  the cursors; and the run's figures. A crash leaves whole batches done or not done; the next run
  picks up whatever is still due.

Hours past the monthly cap get a charge row of 0 (the hour is accounted for, nothing is owed); the
hour that reaches the cap is charged only the remainder.
"""

from __future__ import annotations

import logging
import time
import traceback
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

from skypanel.backend.db import get_engine
from skypanel.backend.models.base import utcnow
from skypanel.backend.services import pricing, rbac, wallet
from skypanel.backend.services.admin import require_platform_admin
from skypanel.backend.services.context import Actor

log = logging.getLogger("skypanel.billing")

LOCK_KEY = zlib.crc32(b"skypanel.job.billing")
BATCH_SERVERS = 20_000  # servers per batch (whole organizations; one large one may exceed it)
ERROR_MAX = 4000

# Price periods: every plan_prices row from its effective_from to the next one; before a plan's
# first row (or when it has none) the plan's current price.
_PRICE_PERIODS = """
    SELECT plan_id, effective_from,
           COALESCE(lead(effective_from) OVER (PARTITION BY plan_id ORDER BY effective_from),
                    'infinity'::timestamptz) AS effective_to,
           base_price + markup AS monthly, backup_price AS backup
    FROM plan_prices
    UNION ALL
    SELECT p.id, '-infinity'::timestamptz,
           COALESCE((SELECT min(effective_from) FROM plan_prices pp WHERE pp.plan_id = p.id), 'infinity'::timestamptz),
           p.base_price + p.markup, p.backup_price
    FROM plans p
"""

# Billable servers with hours due: from the hour after their cursor up to the current hour, or up
# to the hour they were deleted in. A server the engine has not seen yet (no state row) starts
# after its newest charge (the first hour, charged at creation), with the month-to-date amount of
# that hour's month; the MATERIALIZED CTEs keep those look-ups to one per new server.
_CURSORS = """
    WITH srv AS MATERIALIZED (
        SELECT s.id AS server_id, s.organization_id, s.plan_id, s.backups_enabled,
               LEAST(CAST(:now_hour AS timestamptz), date_trunc('hour', s.deleted_at, 'UTC')) AS last_hour,
               st.server_id IS NOT NULL AS has_state, st.billed_through, st.month_start, st.month_amount
        FROM servers s LEFT JOIN server_billing_state st ON st.server_id = s.id
        WHERE s.status NOT IN ('creating', 'failed') AND s.plan_id IS NOT NULL {org_filter}
          AND (st.server_id IS NULL
               OR st.billed_through < LEAST(CAST(:now_hour AS timestamptz), date_trunc('hour', s.deleted_at, 'UTC')))
    ),
    fresh AS MATERIALIZED (  -- one index scan per new server: its newest charge and that month's total
        SELECT srv.server_id, f.cursor, f.month_amount
        FROM srv CROSS JOIN LATERAL (
            SELECT max(x.hour_start) AS cursor,
                   COALESCE(sum(x.amount) FILTER (WHERE x.hour_start >= date_trunc('month', x.newest, 'UTC')), 0)
                       AS month_amount
            FROM (SELECT c.hour_start, c.amount, max(c.hour_start) OVER () AS newest
                  FROM server_charges c WHERE c.server_id = srv.server_id) x
        ) f
        WHERE NOT srv.has_state
    )
    SELECT srv.server_id, srv.organization_id, srv.plan_id, srv.backups_enabled, srv.last_hour, srv.has_state,
           COALESCE(srv.billed_through, fresh.cursor) AS cursor,
           CASE WHEN srv.has_state THEN srv.month_start ELSE date_trunc('month', fresh.cursor, 'UTC') END AS st_month,
           CASE WHEN srv.has_state THEN srv.month_amount ELSE fresh.month_amount END AS st_amount
    FROM srv LEFT JOIN fresh ON fresh.server_id = srv.server_id
    WHERE COALESCE(srv.billed_through, fresh.cursor) < srv.last_hour
"""

_DUE = f"""
    WITH pp AS ({_PRICE_PERIODS}),
    hours AS (
        SELECT d.server_id, d.organization_id, d.plan_id, d.backups_enabled, d.st_month, d.st_amount,
               h.h AS hour_start, date_trunc('month', h.h, 'UTC') AS month_start
        FROM _bill_srv d
        CROSS JOIN LATERAL generate_series(d.cursor + interval '1 hour', d.last_hour, interval '1 hour') AS h(h)
    ),
    priced AS (
        SELECT hours.*, round(pp.monthly / {pricing.HOURS_PER_MONTH}, 4) AS plan_hourly,
               CASE WHEN hours.backups_enabled THEN round(pp.backup / {pricing.HOURS_PER_MONTH}, 4) ELSE 0 END
                   AS backup_hourly,
               pp.monthly + CASE WHEN hours.backups_enabled THEN pp.backup ELSE 0 END AS cap
        FROM hours JOIN pp ON pp.plan_id = hours.plan_id
             AND hours.hour_start >= pp.effective_from AND hours.hour_start < pp.effective_to
    ),
    charged AS (
        SELECT priced.*,
               GREATEST(0, LEAST(plan_hourly + backup_hourly,
                   cap - CASE WHEN month_start = st_month THEN st_amount ELSE 0 END
                       - COALESCE(sum(plan_hourly + backup_hourly) OVER (
                             PARTITION BY server_id, month_start ORDER BY hour_start
                             ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0))) AS amount
        FROM priced
    )
    SELECT server_id, organization_id, hour_start, month_start, amount,
           LEAST(plan_hourly, amount) AS plan_amount, amount - LEAST(plan_hourly, amount) AS backup_amount
    FROM charged
"""


@dataclass
class RunResult:
    """What a run did (skipped: another runner held the lock)."""

    skipped: bool = False
    run_id: int | None = None
    status: str = ""
    billed_until: datetime | None = None
    servers: int = 0
    hours_billed: int = 0
    organizations: int = 0
    amount: Decimal = Decimal(0)
    batches_done: int = 0
    batches_failed: int = 0
    duration_s: float = 0.0
    errors: list[str] = field(default_factory=list)


def _plan_batches(session: Session, now_hour: datetime, batch_servers: int) -> int:
    """Snapshot every server with hours due (`_bill_plan`) and number the batches (`_bill_orgs`:
    whole organizations, about `batch_servers` servers each). Valid for the whole run: only the
    engine moves cursors, and it holds the lock. Returns the number of batches."""
    session.execute(text(f"CREATE TEMP TABLE _bill_plan AS {_CURSORS.format(org_filter='')}"),
                    {"now_hour": now_hour})
    session.execute(text("""
        CREATE TEMP TABLE _bill_orgs AS
        SELECT organization_id,
               CAST(sum(n) OVER (ORDER BY organization_id) - n AS bigint) / CAST(:size AS bigint) AS batch
        FROM (SELECT organization_id, count(*) AS n FROM _bill_plan GROUP BY organization_id) per_org
    """), {"size": max(1, int(batch_servers))})
    session.execute(text("ANALYZE _bill_plan"))
    session.execute(text("ANALYZE _bill_orgs"))
    return int(session.execute(text("SELECT COALESCE(max(batch) + 1, 0) FROM _bill_orgs")).scalar_one())


class _Steps:
    """Per-step timings of a batch, logged at debug level (what the benchmark tunes against)."""

    def __init__(self) -> None:
        self.t = time.perf_counter()
        self.parts: list[str] = []

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        self.parts.append(f"{name} {1000 * (now - self.t):.0f} ms")
        self.t = now


def _bill_batch(session: Session, run_id: int, batch: int) -> dict[str, Any]:
    """Bill every due hour of these organizations' servers (the caller commits or rolls back)."""
    step = _Steps()
    session.execute(text("SET LOCAL jit = off"))  # compiling these plans costs more than running them
    session.execute(text("""
        CREATE TEMP TABLE _bill_srv ON COMMIT DROP AS
        SELECT p.* FROM _bill_plan p JOIN _bill_orgs o ON o.organization_id = p.organization_id WHERE o.batch = :batch
    """), {"batch": batch})
    session.execute(text("ANALYZE _bill_srv"))
    step("cursors")
    session.execute(text(f"CREATE TEMP TABLE _bill_due ON COMMIT DROP AS {_DUE}"))
    step("due")
    session.execute(text("""
        CREATE TEMP TABLE _bill_debits ON COMMIT DROP AS
        SELECT organization_id, -sum(amount) AS amount, count(*) AS hours,
               'Hourly billing: ' || count(*) || ' server-hour' || CASE WHEN count(*) = 1 THEN '' ELSE 's' END
                   || ' up to ' || to_char(max(hour_start) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:00') || ' UTC'
                   AS description,
               'Hourly billing: ' || count(*) || ' server-hours, $' || to_char(sum(amount), 'FM999,999,999,990.0099') || '.'
                   AS summary,
               NULL::bigint AS entry_id
        FROM _bill_due GROUP BY organization_id HAVING sum(amount) > 0
    """))
    debits = wallet._post_bulk(session, "_bill_debits", "charge", reference=f"billing-run:{run_id}")
    step("ledger")
    hours = session.execute(text("""
        INSERT INTO server_charges (server_id, organization_id, hour_start, amount, plan_amount, backup_amount,
                                    ledger_entry_id, created_at)
        SELECT d.server_id, d.organization_id, d.hour_start, d.amount, d.plan_amount, d.backup_amount,
               b.entry_id, now()
        FROM _bill_due d LEFT JOIN _bill_debits b ON b.organization_id = d.organization_id
        ORDER BY d.server_id, d.hour_start  -- index and foreign-key look-ups in key order
    """)).rowcount or 0
    step("charges")
    session.execute(text("""
        CREATE TEMP TABLE _bill_cursors ON COMMIT DROP AS
        SELECT s.server_id, s.has_state, s.last_hour AS billed_through, date_trunc('month', s.last_hour, 'UTC') AS month_start,
               CASE WHEN s.st_month = date_trunc('month', s.last_hour, 'UTC') THEN s.st_amount ELSE 0 END
                   + COALESCE(m.amount, 0) AS month_amount
        FROM _bill_srv s
        LEFT JOIN (SELECT server_id, month_start, sum(amount) AS amount FROM _bill_due
                   GROUP BY server_id, month_start) m
               ON m.server_id = s.server_id AND m.month_start = date_trunc('month', s.last_hour, 'UTC')
    """))
    session.execute(text("""
        UPDATE server_billing_state st SET billed_through = c.billed_through, month_start = c.month_start,
               month_amount = c.month_amount, updated_at = now()
        FROM _bill_cursors c WHERE c.has_state AND st.server_id = c.server_id
    """))
    session.execute(text("""
        INSERT INTO server_billing_state (server_id, billed_through, month_start, month_amount, updated_at)
        SELECT server_id, billed_through, month_start, month_amount, now() FROM _bill_cursors WHERE NOT has_state
    """))
    step("cursors saved")
    servers, amount = session.execute(text(
        "SELECT (SELECT count(*) FROM _bill_srv), COALESCE((SELECT -sum(amount) FROM _bill_debits), 0)"
    )).one()
    session.execute(text("""
        UPDATE billing_runs SET batches_done = batches_done + 1, servers = servers + :servers,
               hours_billed = hours_billed + :hours, organizations = organizations + :orgs, amount = amount + :amount
        WHERE id = :id
    """), {"servers": servers, "hours": hours, "orgs": debits, "amount": amount, "id": run_id})
    step("run figures")
    log.debug("billing batch: %s", ", ".join(step.parts))
    return {"servers": int(servers), "hours": int(hours), "organizations": int(debits), "amount": Decimal(amount),
            "steps": step}


def run_hourly(*, now: datetime | None = None, trigger: str = "schedule",
               batch_servers: int = BATCH_SERVERS) -> RunResult:
    """Bill every due server-hour up to the hour containing `now` (default: the current time).

    Returns RunResult(skipped=True) when another process is running billing. A failing batch is
    rolled back, recorded in the run's error and the run goes on with the next batch; its hours
    stay due for the next run.
    """
    now = now or utcnow()
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now_hour = pricing.hour_start(now.astimezone(timezone.utc))
    result = RunResult(billed_until=now_hour)
    started = time.perf_counter()
    with get_engine().connect() as conn:
        if not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}).scalar_one():
            conn.rollback()
            result.skipped = True
            return result
        conn.commit()
        try:
            with Session(bind=conn) as session:
                session.execute(text("""
                    UPDATE billing_runs SET status = 'interrupted', finished_at = now(),
                           error = CASE WHEN error = '' THEN 'The run stopped before it finished (its process ended).'
                                        ELSE error END
                    WHERE status = 'running'
                """))
                run_id = session.execute(text("""
                    INSERT INTO billing_runs (trigger, status, billed_until, started_at, batches_done, batches_failed,
                                              servers, hours_billed, organizations, amount, error)
                    VALUES (:trigger, 'running', :until, clock_timestamp(), 0, 0, 0, 0, 0, 0, '') RETURNING id
                """), {"trigger": trigger[:20], "until": now_hour}).scalar_one()
                session.commit()
                result.run_id = run_id
                planned = time.perf_counter()
                session.execute(text("SET LOCAL jit = off"))
                batches = _plan_batches(session, now_hour, batch_servers)
                session.commit()
                log.debug("billing run %s: %d batches planned in %.0f ms", run_id, batches,
                          1000 * (time.perf_counter() - planned))
                for batch in range(batches):
                    try:
                        figures = _bill_batch(session, run_id, batch)
                        session.commit()
                        figures["steps"]("commit")
                        log.debug("billing batch committed: %s", ", ".join(figures["steps"].parts))
                    except Exception as exc:  # this batch is rolled back whole; the others go on
                        session.rollback()
                        log.exception("billing batch %d of run %s failed", batch, run_id)
                        result.batches_failed += 1
                        result.errors.append(_describe(exc))
                        continue
                    result.batches_done += 1
                    result.servers += figures["servers"]
                    result.hours_billed += figures["hours"]
                    result.organizations += figures["organizations"]
                    result.amount += figures["amount"]
                result.status = "failed" if result.batches_failed else "ok"
                result.duration_s = time.perf_counter() - started
                session.execute(text("""
                    UPDATE billing_runs SET status = :status, finished_at = clock_timestamp(), duration_ms = :ms,
                           batches_failed = :failed, error = :error
                    WHERE id = :id
                """), {"status": result.status, "ms": int(result.duration_s * 1000), "failed": result.batches_failed,
                       "error": "\n".join(result.errors)[:ERROR_MAX], "id": run_id})
                session.commit()
        except Exception as exc:
            conn.rollback()
            result.status = "failed"
            result.errors.append(_describe(exc))
            if result.run_id is not None:
                conn.execute(text("""
                    UPDATE billing_runs SET status = 'failed', finished_at = clock_timestamp(), duration_ms = :ms,
                           error = :error WHERE id = :id
                """), {"ms": int((time.perf_counter() - started) * 1000), "error": "\n".join(result.errors)[:ERROR_MAX],
                       "id": result.run_id})
                conn.commit()
            raise
        finally:
            conn.rollback()
            conn.execute(text("DROP TABLE IF EXISTS _bill_plan, _bill_orgs"))  # the connection goes back to the pool
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
            conn.commit()
    result.duration_s = time.perf_counter() - started
    return result


def _describe(exc: BaseException) -> str:
    line = traceback.format_exception_only(type(exc), exc)[-1].strip()
    return line.splitlines()[0][:500]


@dataclass(frozen=True)
class ServerRate:
    """What a live server costs per hour now, and its monthly cap (plan + backups)."""

    server_id: uuid.UUID
    organization_id: uuid.UUID
    hourly: Decimal
    monthly_cap: Decimal


def current_rates(session: Session, org_ids: list[uuid.UUID] | None = None) -> list[ServerRate]:
    """Every live server's hourly rate now, as the engine will bill it: the price in force for this
    hour (plus backups when on); a server that has reached its monthly cap costs nothing until the
    month ends. All organizations, or those in `org_ids`. The one place burn rates come from."""
    now_hour = pricing.hour_start(utcnow())
    org_filter = "AND s.organization_id = ANY(:orgs)" if org_ids is not None else ""
    rows = session.execute(text(f"""
        WITH pp AS ({_PRICE_PERIODS})
        SELECT s.id, s.organization_id,
               CASE WHEN st.month_start = date_trunc('month', CAST(:now_hour AS timestamptz), 'UTC')
                         AND st.month_amount >= pp.monthly + CASE WHEN s.backups_enabled THEN pp.backup ELSE 0 END
                    THEN 0
                    ELSE round(pp.monthly / {pricing.HOURS_PER_MONTH}, 4)
                         + CASE WHEN s.backups_enabled THEN round(pp.backup / {pricing.HOURS_PER_MONTH}, 4) ELSE 0 END
               END AS hourly,
               pp.monthly + CASE WHEN s.backups_enabled THEN pp.backup ELSE 0 END AS cap
        FROM servers s
        JOIN pp ON pp.plan_id = s.plan_id AND pp.effective_from <= :now_hour AND pp.effective_to > :now_hour
        LEFT JOIN server_billing_state st ON st.server_id = s.id
        WHERE s.deleted_at IS NULL AND s.status NOT IN ('creating', 'failed') {org_filter}
    """), {"now_hour": now_hour, "orgs": list(org_ids or [])}).all()
    return [ServerRate(r[0], r[1], Decimal(r[2]).quantize(wallet.PLACES), Decimal(r[3]).quantize(wallet.PLACES))
            for r in rows]


def burn_rates(session: Session, org_ids: list[uuid.UUID] | None = None) -> dict[uuid.UUID, Decimal]:
    """{organization: what its live servers cost per hour now} (see current_rates)."""
    out: dict[uuid.UUID, Decimal] = {}
    for rate in current_rates(session, org_ids):
        out[rate.organization_id] = out.get(rate.organization_id, Decimal(0)) + rate.hourly
    return out


def hourly_burn(session: Session, org_id: Any) -> Decimal:
    """What the organization's live servers cost per hour now (see current_rates)."""
    oid = rbac.parse_uuid(org_id)
    return burn_rates(session, [oid]).get(oid, Decimal(0)).quantize(wallet.PLACES)


# ---- admin health panel ----------------------------------------------------------------

def _run_dict(row) -> dict[str, Any]:
    return {
        "id": int(row.id),
        "trigger": row.trigger,
        "status": row.status,
        "billed_until": row.billed_until.astimezone(timezone.utc).strftime("%Y-%m-%d %H:00 UTC"),
        "started_at": row.started_at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "duration": "" if row.duration_ms is None else f"{row.duration_ms / 1000:.2f} s",
        "servers": int(row.servers),
        "hours_billed": int(row.hours_billed),
        "organizations": int(row.organizations),
        "amount": wallet.format_money(row.amount),
        "batches": f"{row.batches_done} done" + (f", {row.batches_failed} failed" if row.batches_failed else ""),
        "error": row.error or "",
    }


def admin_health(actor: Actor, *, limit: int = 20) -> dict[str, Any]:
    """Recent runs, newest first, and the figures of the last one (platform admins only)."""
    from skypanel.backend.db import session_scope

    with session_scope() as s:
        require_platform_admin(s, actor)
        rows = s.execute(text("""
            SELECT id, trigger, status, billed_until, started_at, duration_ms, servers, hours_billed, organizations,
                   amount, batches_done, batches_failed, error
            FROM billing_runs ORDER BY id DESC LIMIT :n
        """), {"n": max(1, min(int(limit), 100))}).all()
        failed_24h = s.execute(text("""
            SELECT count(*) FROM billing_runs WHERE status IN ('failed', 'interrupted')
            AND started_at > now() - interval '24 hours'
        """)).scalar_one()
    runs = [_run_dict(r) for r in rows]
    return {"runs": runs, "last": runs[0] if runs else None, "failed_24h": int(failed_24h)}


def admin_run_now(actor: Actor) -> RunResult:
    """Start a run by hand (platform admins only); skipped when one is already running."""
    from skypanel.backend.db import session_scope
    from skypanel.backend.services import activity

    with session_scope() as s:
        require_platform_admin(s, actor)
    result = run_hourly(trigger="admin")
    if not result.skipped:
        with session_scope() as s:
            activity.record(s, actor, "billing.run", entity_type="billing_run", entity_id=result.run_id or "",
                            summary=f"Ran hourly billing by hand: {result.hours_billed} server-hours, "
                                    f"{wallet.format_money(result.amount)}")
    return result
