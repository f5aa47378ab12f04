"""The browser SSH console against a simulated server (its own SSH endpoint on 127.42.x.y):
the owner opens it full screen, types `echo hello-$RANDOM` and sees the shell's answer, resizes
the window and sees `stty size` follow, uses the Console tab, and is disconnected when signing out
in another tab; a viewer-role member and a member of another organization cannot open it; a
ticket used twice or redeemed too late is refused. Screenshots (light, dark, phone) go to test-results/."""

from __future__ import annotations

import asyncio
import re
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from skypanel.backend import db as dbmod
from skypanel.backend.config import PROJECT_ROOT
from skypanel.backend.db import session_scope
from skypanel.backend.services import catalog, plans, provider_accounts, servers, wallet
from skypanel.backend.services.context import Actor
from tests.integration.factories import PASSWORD, add_member, make_user, personal_org

from .helpers import sign_in, sign_out, unique_email

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

SHOTS = PROJECT_ROOT / "test-results"
WAIT = 60_000
STTY = re.compile(r"^\s*(\d+) (\d+)\s*$", re.M)


def _run(coro):
    # Playwright's sync API runs an event loop in this thread: async services get their own thread.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


@pytest.fixture(scope="module")
def running_server(e2e_engine):
    """A running simulated server with a stored root password; (server_id, owner email, org_id)."""
    previous = dbmod._engine
    dbmod.set_engine(e2e_engine)
    try:
        tag = unique_email("x")[2:8]
        admin = make_user(unique_email("ops"), "Ops", admin=True)[1]
        account = provider_accounts.add_account(admin, kind="simulated", name=f"Sim {tag}", token="")
        provider_accounts.update_account(admin, account["id"], allowed_regions=[
            {"id": "sim-fra", "label": f"Frankfurt {tag}"}])
        _run(catalog.refresh(account["id"]))
        plan = plans.create_plan(admin, provider_account_id=account["id"], provider_plan_id="sim-1c-1g",
                                 name=f"Tiny {tag}", category="standard", markup="2", backup_price="1",
                                 regions=["sim-fra"])
        email = unique_email("tess")
        user_id, owner = make_user(email, "Tess Terminal")
        org = personal_org(user_id)
        with session_scope() as s:
            wallet._post(s, org, Decimal("40"), "topup", actor=None, description="e2e funds")
        created = _run(servers.create_server(owner, org, plan_id=plan["id"], region="sim-fra", image="debian-12",
                                             label="shell-1", root_password="Correct-Horse-Battery-9"))
        server_id = created["id"]
        deadline = time.monotonic() + 120
        while servers.get_server(owner, org, server_id)["status"] != "running":
            assert time.monotonic() < deadline, "the simulated server did not reach running"
            time.sleep(1)
        yield server_id, email, org
    finally:
        dbmod.set_engine(previous)


def _screen(page: Page) -> str:
    """What the terminal shows (xterm's DOM renderer: one element per row)."""
    return page.get_by_test_id("terminal").locator(".xterm-rows").inner_text().replace("\u00a0", " ")


def _wait_for_screen(page: Page, pattern: re.Pattern[str], timeout: float = 20) -> re.Match[str]:
    deadline = time.monotonic() + timeout
    while True:
        text = _screen(page)
        found = pattern.search(text)
        if found:
            return found
        assert time.monotonic() < deadline, f"{pattern.pattern!r} not on the terminal:\n{text}"
        page.wait_for_timeout(200)


def _stty(page: Page, before: int) -> tuple[int, int]:
    """Type `stty size` and read the answer (the `before`+1-th one on the screen)."""
    page.keyboard.type("stty size")
    page.keyboard.press("Enter")
    deadline = time.monotonic() + 20
    while True:
        answers = STTY.findall(_screen(page))
        if len(answers) > before:
            rows, cols = answers[-1]
            return int(rows), int(cols)
        assert time.monotonic() < deadline, f"no stty answer:\n{_screen(page)}"
        page.wait_for_timeout(200)


def _connected(page: Page) -> None:
    expect(page.get_by_test_id("console-status")).to_contain_text("Connected", timeout=WAIT)


def test_owner_types_resizes_uses_the_tab_and_is_disconnected_on_sign_out(new_context, running_server):
    server_id, email, _ = running_server
    SHOTS.mkdir(exist_ok=True)
    context = new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    sign_in(page, email=email, password=PASSWORD)

    # Full screen: no sidebar, a thin bar with the way back, the label and the server's status.
    page.goto(f"/vps/{server_id}/console")
    _connected(page)
    expect(page.get_by_role("heading", name="shell-1")).to_be_visible()
    expect(page.get_by_test_id("server-status")).to_have_text("Running")
    expect(page.get_by_role("link", name="Back to the server")).to_be_visible()
    expect(page.get_by_role("navigation")).to_have_count(0)

    # Keystrokes go to the shell; its answer comes back ($RANDOM expanded there, not typed here).
    page.get_by_test_id("terminal").click()
    _wait_for_screen(page, re.compile(r"shell-1.*[#$]\s*$", re.M))  # the prompt
    page.keyboard.type("echo hello-$RANDOM")
    page.keyboard.press("Enter")
    _wait_for_screen(page, re.compile(r"^\s*hello-\d+\s*$", re.M))
    page.screenshot(path=str(SHOTS / "console-light.png"))

    # Paste with Ctrl+Shift+V (the browser's clipboard), copy a selection with Ctrl+Shift+C.
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.evaluate("navigator.clipboard.writeText(\"echo pasted-'ok'\")")
    page.keyboard.press("Control+Shift+V")
    _wait_for_screen(page, re.compile(r"# echo pasted-'ok'"))  # the clipboard is read asynchronously
    page.keyboard.press("Enter")
    _wait_for_screen(page, re.compile(r"^\s*pasted-ok\s*$", re.M))
    page.get_by_test_id("terminal").locator(".xterm-screen").dblclick(position={"x": 40, "y": 8})
    page.keyboard.press("Control+Shift+C")
    assert page.evaluate("navigator.clipboard.readText()") == "Welcome"

    # The terminal follows the window: `stty size` changes.
    rows, cols = _stty(page, 0)
    assert rows > 10 and cols > 60
    page.set_viewport_size({"width": 900, "height": 560})
    page.wait_for_timeout(500)  # ResizeObserver -> fit -> resize frame -> pty window change
    rows2, cols2 = _stty(page, 1)
    assert (rows2, cols2) != (rows, cols) and rows2 < rows and cols2 < cols, (rows, cols, rows2, cols2)

    # Dark mode.
    page.set_viewport_size({"width": 1280, "height": 800})
    page.get_by_role("button", name="Toggle dark mode").click()
    page.wait_for_timeout(300)
    page.screenshot(path=str(SHOTS / "console-dark.png"))

    # The Console tab of the server page (leaving the full-screen page closed that session).
    page.get_by_role("link", name="Back to the server").click()
    page.get_by_role("tab", name="Console").click()
    _connected(page)
    page.get_by_test_id("terminal").click()
    page.keyboard.type("whoami")
    page.keyboard.press("Enter")
    _wait_for_screen(page, re.compile(r"^\s*root\s*$", re.M))
    page.screenshot(path=str(SHOTS / "console-tab-dark.png"), full_page=True)

    # Reconnect mints a new ticket and opens a new session.
    page.get_by_role("button", name="Reconnect").click()
    _wait_for_screen(page, re.compile("reconnecting"))
    _connected(page)

    # Signing out in another tab closes the console within seconds.
    other = context.new_page()
    other.goto("/dashboard")
    sign_out(other)
    expect(page.get_by_test_id("console-status")).to_contain_text("Disconnected", timeout=15_000)
    expect(page.get_by_role("button", name="Reconnect")).to_be_visible()
    page.screenshot(path=str(SHOTS / "console-signed-out.png"))


def test_phone_layout(new_context, running_server):
    server_id, email, _ = running_server
    page = new_context(viewport={"width": 390, "height": 760}, is_mobile=True, has_touch=True).new_page()
    sign_in(page, email=email, password=PASSWORD)
    page.goto(f"/vps/{server_id}/console")
    _connected(page)
    _wait_for_screen(page, re.compile(r"shell-1.*[#$]\s*$", re.M))
    box = page.get_by_test_id("terminal").bounding_box()
    assert box and box["width"] > 350 and box["height"] > 500, box
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "console-phone.png"))


def test_viewer_and_another_organization_cannot_open_it(new_context, running_server):
    server_id, _, org = running_server
    viewer_email = unique_email("vic")
    viewer_id, _ = make_user(viewer_email, "Vic Viewer")
    add_member(org, viewer_id, "viewer")
    page = new_context().new_page()
    sign_in(page, email=viewer_email, password=PASSWORD)
    page.goto(f"/vps/{server_id}")
    expect(page.get_by_test_id("server-status")).to_have_text("Running", timeout=WAIT)
    expect(page.get_by_role("tab", name="Console")).to_have_count(0)
    page.goto(f"/vps/{server_id}/console")
    expect(page.get_by_text("You cannot open this console")).to_be_visible(timeout=WAIT)
    expect(page.get_by_test_id("terminal")).to_have_count(0)
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "console-viewer.png"))

    stranger_email = unique_email("sam")
    make_user(stranger_email, "Sam Stranger")
    page = new_context().new_page()
    sign_in(page, email=stranger_email, password=PASSWORD)
    page.goto(f"/vps/{server_id}/console")
    expect(page.get_by_text("Server not found")).to_be_visible(timeout=WAIT)
    expect(page.get_by_test_id("terminal")).to_have_count(0)


_OPEN_SOCKET = """async (path) => await new Promise((resolve) => {
  const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + path);
  ws.binaryType = 'arraybuffer';
  const texts = [];
  ws.onmessage = (e) => {
    if (typeof e.data !== 'string') return;
    texts.push(e.data);
    if (e.data.includes('"connected"')) ws.close(1000);
  };
  ws.onclose = (e) => resolve({code: e.code, reason: e.reason, texts});
})"""


def test_a_used_or_expired_ticket_is_refused_in_the_browser(new_context, running_server):
    """The page's own WebSocket, from Chromium: a ticket opens one console once; used again, or
    redeemed after its 30 seconds, the route refuses it (4001) and says why."""
    from sqlalchemy import text as sql

    from skypanel.backend.services import auth, console

    server_id, email, org = running_server
    context = new_context()
    page = context.new_page()
    sign_in(page, email=email, password=PASSWORD)
    token = next(c["value"] for c in context.cookies() if c["name"] == "sp_session")
    owner = auth.resolve_session(token)
    assert owner is not None

    minted = console.mint_ticket(owner, org, server_id, token)
    path = f"{minted['path']}?ticket={minted['ticket']}&cols=80&rows=24"
    first = page.evaluate(_OPEN_SOCKET, path)
    assert any('"connected"' in t for t in first["texts"]), first
    again = page.evaluate(_OPEN_SOCKET, path)
    assert again["code"] == 4001 and not any('"connected"' in t for t in again["texts"]), again

    late = console.mint_ticket(owner, org, server_id, token)
    with session_scope() as s:  # its 30 seconds are over
        s.execute(sql("UPDATE console_tickets SET expires_at = now() - interval '1 second' "
                      "WHERE server_id = :s AND used_at IS NULL"), {"s": server_id})
    expired = page.evaluate(_OPEN_SOCKET, f"{late['path']}?ticket={late['ticket']}&cols=80&rows=24")
    assert expired["code"] == 4001 and not any('"connected"' in t for t in expired["texts"]), expired
    closed = [t for t in expired["texts"] if '"closed"' in t]
    assert closed and "expired or was already used" in closed[-1], expired
