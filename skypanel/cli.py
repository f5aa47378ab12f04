"""`python -m skypanel ...`: database migrations, demo data, admins, and serving the app."""

from __future__ import annotations

import argparse
import getpass
import os
import secrets
import subprocess
import sys
import time

from skypanel.backend.config import PROJECT_ROOT, get_settings

DEMO_ADMIN = ("admin@example.com", "Platform Admin")
DEMO_CUSTOMER = ("demo@example.com", "Demo Customer")
DEMO_PASSWORD = "skypanel-demo-2026"


def _alembic_config():
    from alembic.config import Config

    return Config(str(PROJECT_ROOT / "alembic.ini"))


def db_upgrade(revision: str = "head") -> None:
    from alembic import command

    command.upgrade(_alembic_config(), revision)


def db_downgrade(revision: str = "-1") -> None:
    from alembic import command

    command.downgrade(_alembic_config(), revision)


def seed_demo() -> bool:
    """Create the demo admin and demo customer (with a funded wallet) once. Returns True if created."""
    from skypanel.backend.services import seed

    return seed.seed_demo(
        admin=DEMO_ADMIN, customer=DEMO_CUSTOMER, password=DEMO_PASSWORD
    )


def create_admin(email: str, name: str, password: str | None) -> str | None:
    """Promote the account with that email, or create it (asking for, or generating, a password)."""
    from skypanel.backend.services import seed

    if seed.user_exists(email):
        seed.create_admin(email=email, name=name, password="")
        return None
    if not password:
        if sys.stdin.isatty():
            password = getpass.getpass("Password for the new admin (at least 10 characters): ")
        else:
            password = secrets.token_urlsafe(12)
            print(f"Generated password: {password}")
    seed.create_admin(email=email, name=name, password=password)
    return password


def generate_statements(month: str | None) -> int:
    """`invoices generate`: statements for every organization for the month; prints the counts."""
    from skypanel.backend.services import invoices
    from skypanel.backend.services.errors import ValidationError

    try:
        result = invoices.generate_statements(month)
    except ValidationError as exc:
        print(exc.message, file=sys.stderr)
        return 2
    print(f"statements issued: {result['issued']}, skipped (already issued or nothing to report): "
          f"{result['skipped']}")
    return 0


def _print_banner(url: str, seeded_now: bool) -> None:
    line = "-" * 64
    print(line)
    print(f"  SkyPanel is running at {url}")
    if not get_settings().is_production:
        print(f"  Demo admin:    {DEMO_ADMIN[0]} / {DEMO_PASSWORD}")
        print(f"  Demo customer: {DEMO_CUSTOMER[0]} / {DEMO_PASSWORD}")
        print("  Emails are kept in the dev outbox: sign in as admin -> Admin -> Outbox")
    print(line, flush=True)


def _wait_for(url: str, proc: subprocess.Popen, timeout: float) -> bool:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return False


def serve(port: int, seed_data: bool) -> int:
    """Migrate, seed once, build the production frontend and serve app + API on one port."""
    from skypanel.backend.db import database_url

    settings = get_settings()
    env = dict(os.environ)
    # Resolve the database once (starting the embedded server if needed) and hand the
    # same URL to every Reflex worker so they all share it.
    env["DATABASE_URL"] = database_url()
    os.environ["DATABASE_URL"] = env["DATABASE_URL"]
    db_upgrade()
    seeded_now = seed_demo() if seed_data and not settings.is_production else False
    url = f"http://localhost:{port}"
    env.setdefault("PUBLIC_URL", url)
    env.setdefault("API_URL", env["PUBLIC_URL"])
    env.setdefault("DEPLOY_URL", env["PUBLIC_URL"])
    env.update({
        "REFLEX_CHECK_LATEST_VERSION": "false",
        "REFLEX_TELEMETRY_ENABLED": "false",
        "REFLEX_USE_SYSTEM_BUN": "1",
        "PATH": f"{PROJECT_ROOT / 'tools' / 'node_modules' / '.bin'}:{env.get('PATH', '')}",
    })
    cmd = [sys.executable, "-m", "reflex", "run", "--env", "prod", "--single-port", "--frontend-port", str(port)]
    print(f"Building the production frontend and starting on port {port} ...", flush=True)
    proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=env)
    try:
        if _wait_for(f"{url}/api/health", proc, timeout=900) and _wait_for(url + "/", proc, timeout=60):
            _print_banner(env["PUBLIC_URL"], seeded_now)
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        return proc.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m skypanel", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="database migrations")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    up = db_sub.add_parser("upgrade", help="apply migrations (default: to head)")
    up.add_argument("revision", nargs="?", default="head")
    down = db_sub.add_parser("downgrade", help="revert migrations (default: one step)")
    down.add_argument("revision", nargs="?", default="-1")

    sub.add_parser("seed-demo", help="create the demo admin and customer once")

    adm = sub.add_parser("create-admin", help="create a platform admin (or promote an existing user)")
    adm.add_argument("--email", required=True)
    adm.add_argument("--name", default="Administrator")
    adm.add_argument("--password", default=None, help="prompted for (or generated) when omitted")

    srv = sub.add_parser("serve", help="migrate, seed demo data once, build and serve on one port")
    srv.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")))
    srv.add_argument("--no-seed", action="store_true", help="do not create demo data")

    bil = sub.add_parser("billing", help="hourly billing")
    bil_sub = bil.add_subparsers(dest="billing_command", required=True)
    bil_run = bil_sub.add_parser("run", help="bill every due server-hour now (skipped if a run is in progress)")
    bil_run.add_argument("--until", default=None,
                         help="bill only up to this past time (ISO 8601, UTC if no offset), e.g. to replay an outage")
    bil_run.add_argument("--batch-servers", type=int, default=None, help=argparse.SUPPRESS)

    inv = sub.add_parser("invoices", help="invoices and statements")
    inv_sub = inv.add_subparsers(dest="invoices_command", required=True)
    gen = inv_sub.add_parser("generate", help="issue the monthly statements of a finished month (safe to re-run)")
    gen.add_argument("--month", default=None, help="YYYY-MM (default: last month)")

    args = parser.parse_args(argv)
    if args.command == "db":
        db_upgrade(args.revision) if args.db_command == "upgrade" else db_downgrade(args.revision)
        print(f"database {args.db_command}d to {args.revision}")
        return 0
    if args.command == "seed-demo":
        db_upgrade()
        created = seed_demo()
        print("demo data created" if created else "demo data already present")
        return 0
    if args.command == "create-admin":
        db_upgrade()
        create_admin(args.email, args.name, args.password)
        print(f"platform admin ready: {args.email}")
        return 0
    if args.command == "invoices":
        return generate_statements(args.month)
    if args.command == "serve":
        return serve(args.port, seed_data=not args.no_seed)
    if args.command == "billing":
        return billing_run(args.until, args.batch_servers)
    return 2


def billing_run(until: str | None, batch_servers: int | None) -> int:
    """`billing run`: one hourly billing run in this process; prints its figures."""
    from datetime import datetime, timezone

    from skypanel.backend.models.base import utcnow
    from skypanel.backend.services import billing

    now = None
    if until:
        try:
            now = datetime.fromisoformat(until)
        except ValueError:
            print("--until: use an ISO 8601 time such as 2026-11-22T14:00:00Z", file=sys.stderr)
            return 2
        now = now if now.tzinfo else now.replace(tzinfo=timezone.utc)
        if now > utcnow():
            print("--until cannot be in the future (hours not started yet are never billed)", file=sys.stderr)
            return 2
    kwargs = {"batch_servers": batch_servers} if batch_servers else {}
    result = billing.run_hourly(now=now, trigger="cli", **kwargs)
    if result.skipped:
        print("skipped: another billing run is in progress")
        return 0
    print(f"billing run {result.run_id}: {result.status}, up to {result.billed_until:%Y-%m-%d %H:00} UTC, "
          f"{result.hours_billed} server-hours on {result.servers} servers, {result.organizations} organizations "
          f"debited {result.amount}, {result.batches_done} batches in {result.duration_s:.2f} s")
    for error in result.errors:
        print(f"error: {error}", file=sys.stderr)
    return 1 if result.status == "failed" else 0

