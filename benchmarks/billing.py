"""Benchmark: one hourly billing run over 100,000 running servers in 10,000 organizations.

    .venv/bin/python benchmarks/billing.py [--orgs 10000] [--servers-per-org 10]

Builds a throwaway database (embedded PostgreSQL, or TEST_DATABASE_URL's server) and seeds it in
bulk SQL: one provider account, 10 plans with price history, the organizations with funded
wallets (ledger top-ups), and the servers, each created in the previous hour with its first hour
charged (as servers.create does). Then runs `billing.run_hourly` once (every server owes the
current hour) and again right away, and prints:
- the run's duration, hours billed, organizations debited and amount;
- peak memory of this process (RSS high-water mark, getrusage);
- the immediate second run's duration and hours billed (must be 0);
- the invariant check (balance == sum(ledger) for every wallet; one charge per server-hour).
Targets (issue 4): run <= 10 s, peak memory < 300 MB, second run < 1 s and bills nothing.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SKYPANEL_ENV", "test")
os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="skypanel-bench-"))

from sqlalchemy import create_engine, text  # noqa: E402

from skypanel.backend import db as dbmod  # noqa: E402
from skypanel.backend.testdb import temporary_database  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def seed(engine, orgs: int, per_org: int, fresh: bool = False) -> None:
    """Everything in a few set-based statements (the database does the work, not Python)."""
    from skypanel.backend.models.base import utcnow
    from skypanel.backend.services import pricing

    first_hour = pricing.hour_start(utcnow()) - __import__("datetime").timedelta(hours=1)
    with engine.begin() as conn:
        conn.execute(text("""
            INSERT INTO provider_accounts (id, kind, name, token_enc, token_last4, is_active, display_order,
                                           allowed_regions, created_at, updated_at, last_test_message)
            VALUES (gen_random_uuid(), 'simulated', 'Bench cloud', '', '', true, 0, '[]', now(), now(), '')
        """))
        conn.execute(text("""
            INSERT INTO plans (id, provider_account_id, provider_plan_id, name, category, vcpus, memory_mb, disk_gb,
                               transfer_gb, base_price, markup, backup_price, regions, is_active, display_order,
                               created_at, updated_at)
            SELECT gen_random_uuid(), (SELECT id FROM provider_accounts), 'size-' || i, 'Plan ' || i, 'standard',
                   i, 1024 * i, 25 * i, 1000, 5 * i, 1.5 * i, i, '["r1"]', true, i, now(), now()
            FROM generate_series(1, 10) i
        """))
        conn.execute(text("""
            INSERT INTO plan_prices (plan_id, base_price, markup, backup_price, effective_from, created_at)
            SELECT id, base_price * 0.9, markup, backup_price, now() - interval '90 days', now() FROM plans
            UNION ALL
            SELECT id, base_price, markup, backup_price, now() - interval '10 days', now() FROM plans
        """))
        conn.execute(text("""
            CREATE TEMP TABLE bench_orgs ON COMMIT DROP AS
            SELECT gen_random_uuid() AS id, i FROM generate_series(1, :orgs) i
        """), {"orgs": orgs})
        conn.execute(text("""
            INSERT INTO organizations (id, name, slug, is_personal, created_at, updated_at)
            SELECT id, 'Org ' || i, 'bench-org-' || i, false, now(), now() FROM bench_orgs
        """))
        conn.execute(text("""
            INSERT INTO wallets (id, organization_id, currency, balance, overdraft_limit, created_at, updated_at)
            SELECT gen_random_uuid(), id, 'USD', 500, 0, now(), now() FROM bench_orgs
        """))
        conn.execute(text("""
            INSERT INTO ledger_entries (wallet_id, organization_id, amount, balance_after, kind, reference,
                                        description, created_at)
            SELECT w.id, w.organization_id, 500, 500, 'topup', 'bench', 'Bench funds', now() FROM wallets w
        """))
        conn.execute(text("""
            INSERT INTO servers (id, organization_id, provider_account_id, provider_kind, provider_instance_id, plan_id,
                                 provider_plan_id, label, status, region, image, image_label, ipv4, ipv6, ssh_port,
                                 vcpus, memory_mb, disk_gb, transfer_gb, backups_enabled, ssh_key_ids, host_key, notes,
                                 pending_action, pending_action_id, last_error, created_at, updated_at)
            SELECT gen_random_uuid(), o.id, p.provider_account_id, 'simulated', 'bench-' || o.i || '-' || j, p.id,
                   p.provider_plan_id, 'srv-' || j, 'running', 'r1', 'debian-12', 'Debian 12', '[]', '', 22,
                   p.vcpus, p.memory_mb, p.disk_gb, p.transfer_gb, (j % 3 = 0), '[]', '', '', '', '', '',
                   :first_hour, :first_hour
            FROM bench_orgs o CROSS JOIN generate_series(1, :per_org) j
            JOIN (SELECT *, row_number() OVER (ORDER BY display_order) AS n FROM plans) p ON p.n = 1 + (j % 10)
        """), {"per_org": per_org, "first_hour": first_hour})
        # The first hour, charged at creation (the ledger debit of it folded into the seeded top-up).
        conn.execute(text("""
            INSERT INTO server_charges (server_id, organization_id, hour_start, amount, plan_amount, backup_amount,
                                        created_at)
            SELECT s.id, s.organization_id, :first_hour, 0.01, 0.01, 0, now() FROM servers s
        """), {"first_hour": first_hour})
        if not fresh:  # steady state: the engine has seen every server before (its cursor row exists)
            conn.execute(text("""
                INSERT INTO server_billing_state (server_id, billed_through, month_start, month_amount, updated_at)
                SELECT server_id, hour_start, date_trunc('month', hour_start, 'UTC'), amount, now() FROM server_charges
            """))
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orgs", type=int, default=10_000)
    parser.add_argument("--servers-per-org", type=int, default=10)
    parser.add_argument("--steps", action="store_true", help="log each batch's step timings")
    parser.add_argument("--fresh", action="store_true",
                        help="servers the engine has never seen (no cursor rows yet): the run looks up each one's "
                             "first charge, as on the first run after deploying this engine")
    args = parser.parse_args()
    if args.steps:
        import logging
        logging.basicConfig(level=logging.WARNING, format="  %(message)s")
        logging.getLogger("skypanel.billing").setLevel(logging.DEBUG)

    with temporary_database("skypanel_bench") as url:
        engine = create_engine(url, pool_size=5)
        dbmod.set_engine(engine)
        from skypanel.backend.services import billing, wallet
        from skypanel.backend.db import session_scope

        t0 = time.perf_counter()
        seed(engine, args.orgs, args.servers_per_org, fresh=args.fresh)
        total = args.orgs * args.servers_per_org
        print(f"setup: {total:,} running servers in {args.orgs:,} organizations "
              f"({time.perf_counter() - t0:.1f} s, bulk SQL; "
              f"{'never billed by the engine' if args.fresh else 'each billed up to the previous hour'})")
        rss_before = peak_rss_mb()

        first = billing.run_hourly(trigger="cli")
        second = billing.run_hourly(trigger="cli")
        rss_peak = peak_rss_mb()

        with session_scope() as s:
            violations = wallet.invariant_violations(s)
            dupes = s.execute(text("SELECT count(*) FROM (SELECT 1 FROM server_charges GROUP BY server_id, hour_start "
                                   "HAVING count(*) > 1) d")).scalar_one()
            debits = s.execute(text("SELECT count(*), count(DISTINCT organization_id) FROM ledger_entries "
                                    "WHERE kind = 'charge'")).one()
            unlinked = s.execute(text("SELECT count(*) FROM server_charges WHERE hour_start = "
                                      "(SELECT max(hour_start) FROM server_charges) AND ledger_entry_id IS NULL")
                                 ).scalar_one()
        ok = lambda cond: "OK" if cond else "MISSED"  # noqa: E731
        print(f"first run:   {first.duration_s:6.2f} s   status {first.status}, {first.hours_billed:,} hours billed, "
              f"{first.organizations:,} organizations debited {wallet.format_money(first.amount)} in "
              f"{first.batches_done} batches   target <= 10 s: {ok(first.duration_s <= 10)}")
        print(f"second run:  {second.duration_s:6.2f} s   {second.hours_billed} hours billed   "
              f"target < 1 s and 0 hours: {ok(second.duration_s < 1 and second.hours_billed == 0)}")
        print(f"peak memory: {rss_peak:6.1f} MB RSS high-water (after seeding {rss_before:.1f} MB)   "
              f"target < 300 MB: {ok(rss_peak < 300)}")
        print(f"invariants:  {len(violations)} wallets with balance != sum(ledger), {dupes} duplicate "
              f"(server, hour) charges, {debits[0]:,} charge debits for {debits[1]:,} organizations, "
              f"{unlinked} billed hours without their ledger entry   "
              f"{ok(not violations and not dupes and debits[0] == debits[1] == args.orgs and not unlinked)}")
        engine.dispose()
        dbmod.set_engine(None)


if __name__ == "__main__":
    main()
