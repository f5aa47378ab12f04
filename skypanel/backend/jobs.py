"""The scheduler and its jobs. Runs in every app worker; each job takes a PostgreSQL
advisory lock first, so across processes exactly one runs it at a time.

Jobs: pruning throttle counters and expired sign-in artefacts and issuing monthly statements
(sync, one transaction); keeping servers in step with the providers and dunning (runway alerts,
suspension, resumption; async: provider calls, no transaction held across them); hourly billing
at minute 0 (services/billing.py, which takes its own advisory lock).
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from typing import Any
from collections.abc import Awaitable, Callable
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import text

from skypanel.backend.db import get_engine, session_scope
from skypanel.backend.models.base import utcnow
from skypanel.backend.services import throttle

log = logging.getLogger("skypanel.jobs")


def _lock_key(name: str) -> int:
    return zlib.crc32(f"skypanel.job.{name}".encode())


def run_locked(name: str, job: Callable[..., int]) -> int | None:
    """Run `job(session)` in one transaction if no other process holds its lock; None if skipped."""
    with session_scope() as s:
        got = s.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _lock_key(name)}).scalar_one()
        if not got:
            return None
        return job(s)


async def run_locked_async(name: str, job: Callable[[], Awaitable[Any]]) -> Any:
    """Run the coroutine `job()` while holding the job's session-level advisory lock on a dedicated
    connection (released however the job ends); None if another process holds it."""
    key = _lock_key(name)
    with get_engine().connect() as conn:
        got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar_one()
        conn.commit()
        if not got:
            return None
        try:
            return await job()
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            conn.commit()


def purge_expired_auth(session) -> int:
    """Delete sign-in artefacts nobody can use any more (kept a day for support questions)."""
    cutoff = utcnow() - timedelta(days=1)
    total = 0
    for table, column in (("pending_logins", "expires_at"), ("password_reset_tokens", "expires_at"),
                          ("user_sessions", "expires_at")):
        total += session.execute(text(f"DELETE FROM {table} WHERE {column} < :c"), {"c": cutoff}).rowcount or 0
    total += session.execute(
        text("DELETE FROM user_sessions WHERE revoked_at IS NOT NULL AND revoked_at < :c"), {"c": cutoff}
    ).rowcount or 0
    return total


JOBS: dict[str, tuple[Callable, dict]] = {
    "prune_throttles": (lambda s: throttle.prune(s), {"trigger": "interval", "minutes": 30}),
    "purge_expired_auth": (purge_expired_auth, {"trigger": "interval", "hours": 6}),
    # Monthly statements: the 1st does the work (after the 00:00 billing run); later days catch up.
    "invoice_statements": (lambda s: _statements(s), {"trigger": "cron", "hour": 0, "minute": 20}),
}


def _statements(session) -> int:
    from skypanel.backend.services import invoices
    return invoices.statements_job(session)


async def _sync_servers() -> Any:
    from skypanel.backend.services import server_sync
    return await server_sync.sync_all()


async def _refresh_catalogs() -> int:
    """Re-read every active provider account's regions, plans and images (prices change)."""
    from sqlmodel import select

    from skypanel.backend.models import ProviderAccount
    from skypanel.backend.services import catalog
    from skypanel.backend.services.errors import ServiceError

    with session_scope() as s:
        ids = s.exec(select(ProviderAccount.id).where(ProviderAccount.is_active)).all()
    done = 0
    for account_id in ids:
        try:
            await catalog.refresh(account_id)
            done += 1
        except ServiceError as exc:
            log.warning("catalog refresh of %s failed: %s", account_id, exc.message)
    return done


async def _dunning() -> Any:
    """Runway alerts, suspensions, resumptions and terminations (services/dunning.py)."""
    from skypanel.backend.services import dunning
    return await dunning.run()


def _billing_hourly() -> Any:
    """The hourly billing run; it takes its own advisory lock (skipped while another process runs it)."""
    from skypanel.backend.services import billing
    return billing.run_hourly(trigger="schedule")


#: Jobs that manage their own locking (run in a thread; cron triggers).
SELF_LOCKED_JOBS: dict[str, tuple[Callable[[], Any], dict]] = {
    "billing_hourly": (_billing_hourly, {"trigger": "cron", "minute": 0}),
}


ASYNC_JOBS: dict[str, tuple[Callable[[], Awaitable[Any]], dict]] = {
    "sync_servers": (_sync_servers, {"trigger": "interval", "seconds": 5}),
    "refresh_catalogs": (_refresh_catalogs, {"trigger": "interval", "hours": 6}),
    "dunning": (_dunning, {"trigger": "interval", "minutes": 3}),
}


async def scheduler_loop() -> None:
    """Lifespan task: start APScheduler with every job; sync jobs run in a thread (sync DB work)."""
    scheduler = AsyncIOScheduler(timezone="UTC")
    for name, (ajob, trigger) in ASYNC_JOBS.items():
        async def _run_async(name=name, ajob=ajob):
            try:
                await run_locked_async(name, ajob)
            except Exception:  # a failed run is logged and retried at the next tick
                log.exception("job %s failed", name)
        scheduler.add_job(_run_async, id=name, coalesce=True, max_instances=1, **trigger)
    for name, (job, trigger) in JOBS.items():
        async def _run(name=name, job=job):
            try:
                await asyncio.to_thread(run_locked, name, job)
            except Exception:  # a failed run is logged and retried at the next tick
                log.exception("job %s failed", name)
        scheduler.add_job(_run, id=name, coalesce=True, max_instances=1, **trigger)
    for name, (sjob, trigger) in SELF_LOCKED_JOBS.items():
        async def _run_self(name=name, sjob=sjob):
            try:
                await asyncio.to_thread(sjob)
            except Exception:  # a failed run is logged (and kept in billing_runs); the next hour catches up
                log.exception("job %s failed", name)
        scheduler.add_job(_run_self, id=name, coalesce=True, max_instances=1, misfire_grace_time=3000, **trigger)
    scheduler.start()
    try:
        await asyncio.Event().wait()
    finally:
        scheduler.shutdown(wait=False)
