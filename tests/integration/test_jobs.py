"""Scheduled maintenance jobs: one runner at a time, and they delete only what is dead."""

from datetime import timedelta

from sqlalchemy import text

from skypanel.backend import jobs
from skypanel.backend.db import get_engine, session_scope
from skypanel.backend.models import UserSession
from skypanel.backend.models.base import utcnow
from tests.integration.factories import make_user


def test_job_is_skipped_while_another_process_holds_its_lock(db):
    with get_engine().connect() as other:
        other.execute(text("SELECT pg_advisory_lock(:k)"), {"k": jobs._lock_key("purge_expired_auth")})
        assert jobs.run_locked("purge_expired_auth", jobs.purge_expired_auth) is None
        other.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": jobs._lock_key("purge_expired_auth")})
    assert jobs.run_locked("purge_expired_auth", jobs.purge_expired_auth) == 0


def test_purge_removes_only_long_expired_sessions(db):
    user_id, _ = make_user("jobs@example.com")
    now = utcnow()
    with session_scope() as s:
        s.add(UserSession(user_id=user_id, token_hash="a" * 64, expires_at=now - timedelta(days=2)))
        s.add(UserSession(user_id=user_id, token_hash="b" * 64, expires_at=now + timedelta(days=2)))
        s.add(UserSession(user_id=user_id, token_hash="c" * 64, expires_at=now - timedelta(hours=1)))
    assert jobs.run_locked("purge_expired_auth", jobs.purge_expired_auth) == 1
    with session_scope() as s:
        left = sorted(r[0][0] for r in s.execute(text("SELECT token_hash FROM user_sessions")))
    assert left == ["b", "c"]


async def test_an_async_job_runs_once_while_its_lock_is_held_and_releases_it(db):
    import asyncio

    started, release = asyncio.Event(), asyncio.Event()

    async def slow():
        started.set()
        await release.wait()
        return "done"

    first = asyncio.create_task(jobs.run_locked_async("sync_servers", slow))
    await started.wait()
    assert await jobs.run_locked_async("sync_servers", slow) is None  # the second runner skips
    release.set()
    assert await first == "done"

    async def quick():
        return "again"

    assert await jobs.run_locked_async("sync_servers", quick) == "again"  # the lock was released


async def test_catalog_refresh_job_reads_every_active_account(db):
    from skypanel.backend.services import catalog, provider_accounts

    admin = make_user("admin@example.com", admin=True)[1]
    active = provider_accounts.add_account(admin, kind="simulated", name="Sim A", token="")
    off = provider_accounts.add_account(admin, kind="simulated", name="Sim B", token="")
    provider_accounts.update_account(admin, off["id"], is_active=False)
    assert await jobs._refresh_catalogs() == 1
    assert catalog.get_catalog(active["id"])["plans"] and catalog.get_catalog(off["id"]) is None
