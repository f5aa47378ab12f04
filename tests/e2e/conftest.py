"""End-to-end harness: one throwaway database, one production build, headless Chromium.

The app runs exactly as a deployment does (`python -m skypanel serve --no-seed`, one port, the
production frontend). Server, database and browser are package-scoped: built once per test run
and stopped when the last e2e test is done, so the rest of the suite gets the CPU back. The test
process shares the server's database and keys, so tests can also call the services directly
(create users, read the dev outbox) and see what the browser sees.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine

from skypanel.backend import db as dbmod
from skypanel.backend.config import PROJECT_ROOT, get_settings
from skypanel.backend.testdb import temporary_database

CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PORTS = range(3401, 3500)
READY_TIMEOUT = float(os.environ.get("E2E_READY_TIMEOUT", "600"))
RESULTS_DIR = PROJECT_ROOT / "test-results"
SERVER_LOG = RESULTS_DIR / "e2e-server.log"
UI_TIMEOUT_MS = 20_000  # a Reflex page hydrates over its WebSocket; give it time on a busy 2-core CI box


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    if os.environ.get("E2E_PORT"):
        return int(os.environ["E2E_PORT"])
    for port in random.sample(list(PORTS), len(PORTS)):  # random: parallel runs rarely collide
        if _port_is_free(port):
            return port
    raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1} for the e2e server")


def _free_ssh_port() -> int:
    """A port free on the loopback network for the simulated servers' SSH listeners."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _log_tail(path: Path, lines: int = 80) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


def _wait_until_ok(url: str, proc: subprocess.Popen, deadline: float) -> str | None:
    """Poll url until it answers 200; return None when ready, else why not."""
    last = "no answer yet"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return f"the server exited with code {proc.returncode}"
        try:
            resp = httpx.get(url, timeout=5)
            if resp.status_code == 200:
                return None
            last = f"HTTP {resp.status_code}"
        except httpx.HTTPError as exc:
            last = type(exc).__name__
        time.sleep(1)
    return f"{url} not ready after {READY_TIMEOUT:.0f}s ({last})"


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):  # gone (or the id was reused by someone else's)
        return False
    return True


def _stop(proc: subprocess.Popen) -> None:
    """Stop the server and its Reflex workers (their own process group, started by us).

    Workers can outlive the supervisor after SIGTERM, so whatever is left of the group is killed.
    """
    pgid = proc.pid
    if _group_alive(pgid):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    while _group_alive(pgid) and time.monotonic() < deadline:
        proc.poll()
        time.sleep(0.25)
    if _group_alive(pgid):
        os.killpg(pgid, signal.SIGKILL)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


# ---------------------------------------------------------------- database and keys


@pytest.fixture(scope="package")
def e2e_database_url() -> Iterator[str]:
    """A migrated database of its own (TEST_DATABASE_URL's server, or the embedded PostgreSQL)."""
    with temporary_database(prefix="skypanel_e2e") as url:
        yield url


@pytest.fixture(scope="package")
def e2e_engine(e2e_database_url):
    engine = create_engine(e2e_database_url, pool_size=5, max_overflow=5)
    yield engine
    engine.dispose()


@pytest.fixture(autouse=True)
def _services_use_e2e_database(e2e_engine):
    """Service calls made by a test (users, outbox) go to the database the server uses."""
    previous = dbmod._engine
    dbmod.set_engine(e2e_engine)
    yield
    dbmod.set_engine(previous)


def _shared_secrets() -> dict[str, str]:
    """The keys the test process uses, handed to the server too (tokens and TOTP secrets must match)."""
    settings = get_settings()
    os.environ.setdefault("SECRET_KEY", settings.secret_key)
    os.environ.setdefault("ENCRYPTION_KEY", settings.encryption_key)
    return {
        "DATA_DIR": str(settings.data_dir),
        "SECRET_KEY": settings.secret_key,
        "ENCRYPTION_KEY": settings.encryption_key,
    }


# ---------------------------------------------------------------- the served app


@pytest.fixture(scope="package")
def app_url(e2e_database_url) -> Iterator[str]:
    """Serve the production build on a free port; yield its base URL."""
    port = _free_port()
    url = f"http://localhost:{port}"
    RESULTS_DIR.mkdir(exist_ok=True)
    tools_bin = PROJECT_ROOT / "tools" / "node_modules" / ".bin"
    env = {
        **os.environ,
        **_shared_secrets(),
        "DATABASE_URL": e2e_database_url,
        "PUBLIC_URL": url,
        "API_URL": url,
        "DEPLOY_URL": url,
        "CORS_ALLOWED_ORIGINS": url,
        "SKYPANEL_ENV": "test",
        "BCRYPT_ROUNDS": "4",
        "REFLEX_USE_SYSTEM_BUN": "1",
        "REFLEX_CHECK_LATEST_VERSION": "false",
        "REFLEX_TELEMETRY_ENABLED": "false",
        "PYTHONUNBUFFERED": "1",
        # Simulated servers: a port of their own (several apps on one machine share 127.42.x.y) and
        # quicker state changes, so a flow waits seconds, not a minute.
        "SIMULATED_SSH_PORT": str(_free_ssh_port()),
        "SIMULATED_DELAY_SCALE": os.environ.get("E2E_SIMULATED_DELAY_SCALE", "0.25"),
        "PATH": f"{tools_bin}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    for var in ("PYTEST_CURRENT_TEST", "PYTEST_ADDOPTS", "RESEND_API_KEY", "SMTP_HOST"):
        env.pop(var, None)  # the server is a deployment, not a test process; email stays in the outbox
    with open(SERVER_LOG, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "skypanel", "serve", "--port", str(port), "--no-seed"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: teardown stops the Reflex workers too
        )
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        problem = _wait_until_ok(f"{url}/api/health", proc, deadline) or _wait_until_ok(f"{url}/", proc, deadline)
        if problem:
            print(f"\n---- e2e server log ({SERVER_LOG}) ----\n{_log_tail(SERVER_LOG)}\n----", file=sys.stderr)
            pytest.fail(f"SkyPanel did not come up: {problem}", pytrace=False)
        yield url
    finally:
        _stop(proc)


# ---------------------------------------------------------------- Chromium


@pytest.fixture(scope="package")
def browser(app_url):
    """One headless Chromium (Debian's build) for the e2e package; contexts isolate the users."""
    from playwright.sync_api import expect, sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make test does, as root)", pytrace=False)
    expect.set_options(timeout=UI_TIMEOUT_MS)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Remember each phase's outcome on the item, so fixtures know whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def _failed(request) -> bool:
    return any(getattr(request.node, f"rep_{when}", None) and getattr(request.node, f"rep_{when}").failed
               for when in ("setup", "call"))


@pytest.fixture()
def new_context(browser, app_url, request) -> Iterator[Callable[..., object]]:
    """Factory of independent browser contexts (separate cookies: separate people).

    On failure every open page is screenshotted into test-results/.
    """
    contexts = []

    def make(**options):
        options.setdefault("base_url", app_url)
        options.setdefault("viewport", {"width": 1280, "height": 900})
        context = browser.new_context(**options)
        context.set_default_timeout(UI_TIMEOUT_MS)
        contexts.append(context)
        return context

    yield make

    if _failed(request):
        RESULTS_DIR.mkdir(exist_ok=True)
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in request.node.name)
        for ci, context in enumerate(contexts):
            for pi, page in enumerate(context.pages):
                path = RESULTS_DIR / f"{safe}-ctx{ci}-page{pi}.png"
                try:
                    page.screenshot(path=str(path), full_page=True)
                    print(f"screenshot: {path} ({page.url})", file=sys.stderr)
                except Exception as exc:  # a crashed page must not hide the real failure
                    print(f"screenshot of {page.url} failed: {exc}", file=sys.stderr)
        print(f"---- e2e server log, last lines ({SERVER_LOG}) ----\n{_log_tail(SERVER_LOG, 40)}", file=sys.stderr)
    for context in contexts:
        try:
            context.close()
        except Exception:
            pass


@pytest.fixture()
def page(new_context):
    """A page in a fresh context, for tests that need one person only."""
    return new_context().new_page()
