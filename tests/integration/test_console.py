"""The browser SSH console through its real WebSocket route (served over HTTP on loopback) against a
real OpenSSH sshd and the simulated provider's SSH servers, on real PostgreSQL: the terminal works
(echo, resize, full-screen programs), tickets are single-use and bound, only vps_manage members of
the server's organization get in, limits, idle timeout, host key pinning, closing on sign-out,
permission loss, suspension and deletion, and bad input from the browser."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text, update
from sqlmodel import col, select

from skypanel.backend.api import console as console_api
from skypanel.backend.api.routes import build_api
from skypanel.backend.config import get_settings
from skypanel.backend.db import session_scope
from skypanel.backend.models import ActivityLog, ConsoleSession, ConsoleTicket, Membership, Server, User
from skypanel.backend.models.base import utcnow
from skypanel.backend.models.servers import root_password_aad
from skypanel.backend.security import encrypt
from skypanel.backend.services import auth, console, platform_settings
from skypanel.backend.services.context import Actor
from skypanel.backend.services.errors import AuthRequired, NotFound, PermissionDenied
from tests.contract.server import serve
from tests.contract.sshd import local_sshd, skip_reason
from tests.contract.ws_client import WSClient
from tests.integration.factories import add_member, make_user, personal_org, role_id

PROMPT_MARK = b"__READY__"


@pytest.fixture(scope="module")
def sshd():
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    with local_sshd() as pair:
        yield pair


@pytest.fixture(scope="module")
def app_url(engine):
    with serve(build_api(), ready_path="/api/health") as url:
        yield url


@pytest.fixture()
def fast(monkeypatch, sshd):
    monkeypatch.setattr(console_api, "WATCH_INTERVAL", 0.3)
    monkeypatch.setattr(console, "SSH_USERNAME", sshd[0].username)


def _signed_in(user_id: uuid.UUID) -> tuple[str, Actor]:
    """A browser session of the user: (the cookie's token, the actor a page handler would carry)."""
    with session_scope() as s:
        user = s.get(User, user_id)
        token, row = auth._create_session(s, user, ip="127.0.0.1", user_agent="pytest")
        return token, Actor(user_id=user.id, is_platform_admin=user.is_platform_admin, ip="127.0.0.1",
                            user_agent="pytest", session_id=row.id)


def _server(org_id: uuid.UUID, host: str, port: int, password: str, *, label: str = "web-1",
            status: str = "running") -> uuid.UUID:
    with session_scope() as s:
        server = Server(organization_id=org_id, provider_kind="simulated", provider_plan_id="sim-1c-1g", label=label,
                        status=status, region="sim-nyc", image="debian-12", ipv4=[host], ssh_port=port)
        s.add(server)
        s.flush()
        server.root_password_enc = encrypt(password, aad=root_password_aad(server.id))
        return server.id


@pytest.fixture()
def world(db, sshd, fast):
    info, _ = sshd
    owner_id, _ = make_user("owner@example.com", "Owner")
    org = personal_org(owner_id)
    token, actor = _signed_in(owner_id)
    sid = _server(org, info.host, info.port, info.password)
    yield {"owner_id": owner_id, "org": org, "token": token, "actor": actor, "server": sid}
    _wait_all_ended()


def _wait_all_ended(timeout: float = 10.0) -> None:
    """Sessions the test left open end (the route notices the browser gone) before the next test
    truncates the tables under them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_scope() as s:
            if s.exec(select(ConsoleSession).where(col(ConsoleSession.ended_at).is_(None))).first() is None:
                return
        time.sleep(0.05)


def _origin() -> str:
    return get_settings().allowed_origins[0]


async def _open(app_url: str, w: dict, *, actor=None, token=None, server=None, origin: str | None = "default",
                cols: int = 80, rows: int = 24, ticket: str | None = None, cookie: bool = True) -> WSClient:
    actor, token, server = actor or w["actor"], token or w["token"], server or w["server"]
    if ticket is None:
        minted = await asyncio.to_thread(console.mint_ticket, actor, w["org"], str(server), token)
        assert minted["expires_in"] == 30 and minted["path"] == f"/ws/console/{server}"
        ticket = minted["ticket"]
    url = app_url.replace("http://", "ws://") + f"/ws/console/{server}?ticket={ticket}&cols={cols}&rows={rows}"
    return await WSClient.connect(url, origin=_origin() if origin == "default" else origin,
                                  cookie=f"sp_session={token}" if cookie else None)


async def _connected(ws: WSClient) -> None:
    """Wait for the connected status, then for a shell that answers."""
    first = await ws.recv()
    assert first == '{"type": "status", "state": "connecting"}'
    _, controls = await _run(ws, "true")
    assert {"type": "status", "state": "connected"} in controls


async def _run(ws: WSClient, command: str, timeout: float = 10.0) -> tuple[bytes, list[dict]]:
    """Type a command and read its output up to a marker printed after it."""
    await ws.send_bytes(f"{command}; echo __REA''DY__\n".encode())  # the echoed line differs from the output
    return await ws.read_until(PROMPT_MARK + b"\r\n", timeout)


def _activity(action: str) -> list[ActivityLog]:
    with session_scope() as s:
        return list(s.exec(select(ActivityLog).where(ActivityLog.action == action)
                           .order_by(col(ActivityLog.created_at))).all())


def _server_row(sid: uuid.UUID) -> Server:
    with session_scope() as s:
        row = s.get(Server, sid)
        s.expunge(row)
        return row


async def _closed_with(ws: WSClient, code: int, timeout: float = 10.0) -> str:
    got, reason, controls, _ = await ws.until_closed(timeout)
    closed = [c for c in controls if c.get("type") == "closed"]
    assert got == code, (got, reason, controls)
    assert closed and closed[-1]["reason"], controls
    return closed[-1]["reason"]


# ---- the terminal works ------------------------------------------------------------------------

async def test_echo_resize_and_full_screen_programs_then_exit(app_url, world, sshd):
    ws = await _open(app_url, world, cols=100, rows=30)
    await _connected(ws)
    out, _ = await _run(ws, "echo hello-$((6*7)); echo $TERM")
    assert b"hello-42\r\n" in out and b"xterm-256color\r\n" in out
    assert b"30 100\r\n" in (await _run(ws, "stty size"))[0]

    await ws.send_json({"type": "resize", "cols": 132, "rows": 43})
    assert b"43 132\r\n" in (await _run(ws, "stty size"))[0]
    assert b"\r132\r\n" in (await _run(ws, "tput cols"))[0]
    assert b"256" in (await _run(ws, "tput colors"))[0]
    await ws.send_json({"type": "ping"})  # keep-alive: ignored, no error
    out, controls = await _run(ws, "printf '\\033[?1049h\\033[2J\\033[Hfull\\033[?1049l'")  # alternate screen
    assert b"\x1b[?1049h" in out and not [c for c in controls if c["type"] == "error"]

    await ws.send_bytes(b"exit\n")
    reason = await _closed_with(ws, 1000)
    assert "ended" in reason

    # the first connection pinned the host key; start and end are in the activity log
    assert _server_row(world["server"]).host_key == sshd[0].host_public_key()
    assert len(_activity("console.host_key_pinned")) == 1
    started, ended = _activity("console.session_started"), _activity("console.session_ended")
    assert len(started) == 1 and len(ended) == 1
    assert started[0].user_id == world["owner_id"] and ended[0].user_id == world["owner_id"]
    assert ended[0].organization_id == world["org"] and ended[0].entity_id == str(world["server"])
    assert ended[0].details["duration_seconds"] >= 0 and "ended" in ended[0].details["reason"]
    assert ended[0].details["bytes_in"] > 0 and ended[0].details["bytes_out"] > 0
    assert "Console of web-1 closed after" in ended[0].summary
    with session_scope() as s:
        row = s.exec(select(ConsoleSession)).one()
        assert row.ended_at is not None and row.close_reason == reason


async def test_top_vim_and_less_work_and_follow_a_resize_while_running(app_url, world, sshd):
    """Real full-screen programs on the sshd host: each takes the alternate screen, draws at the
    terminal's size, redraws when the browser resizes it mid-run, and quits cleanly."""
    ws = await _open(app_url, world, cols=100, rows=30)
    await _connected(ws)
    vim = "vim" if (await _run(ws, "command -v vim >/dev/null && echo has-vim"))[0].count(b"has-vim\r\n") else "vi"

    # less: pages a long input at 30 rows, then shows more lines after growing to 45 rows.
    await ws.send_bytes(b"seq 1 500 | less\n")
    out, _ = await ws.read_until(b"29\r\n", 10)
    assert b"\x1b[?1049h" in out or b"\x1b[?47h" in out or b"\x1b[H" in out  # full-screen mode
    await ws.send_json({"type": "resize", "cols": 120, "rows": 45})
    out, _ = await ws.read_until(b"44", 10)  # redrawn with 44 lines of text (and the prompt line)
    await ws.send_bytes(b"q")
    assert b"45 120\r\n" in (await _run(ws, "stty size"))[0]

    # top: two screens of its header and process list at this size, then it ends by itself.
    # (nothing is typed while it runs: top takes every key as a command)
    await ws.send_bytes(b"top -d 0.5 -n 2; echo top-$((1-1))done | tr -d 0\n")
    out, _ = await ws.read_until(b"top-done", 15)
    assert b"PID" in out and b"load average" in out

    # vim: write a file with an insert, save and quit, read it back.
    name = f"/tmp/console-vim-{uuid.uuid4().hex[:8]}.txt"
    await ws.send_bytes(f"{vim} -u NONE -N {name}\n".encode())
    await ws.read_until(b"~", 10)  # the editor has drawn its empty buffer
    await asyncio.sleep(0.3)
    await ws.send_bytes(b"ihello from vim\x1b")
    await asyncio.sleep(1.2)  # a lone Esc: vim waits up to 'timeoutlen' (1 s) for a key sequence
    await ws.send_bytes(b":wq\r")
    await ws.read_until(b"written", 10)
    await asyncio.sleep(0.3)  # vim hands the terminal back to the shell
    out, _ = await _run(ws, f"cat {name}; rm -f {name}")
    assert b"hello from vim\r\n" in out
    await ws.send_bytes(b"exit\n")
    await _closed_with(ws, 1000)


async def test_the_browser_closing_ends_the_session_and_logs_it(app_url, world):
    ws = await _open(app_url, world)
    await _connected(ws)
    await ws.close()
    for _ in range(100):
        if _activity("console.session_ended"):
            break
        await asyncio.sleep(0.05)
    ended = _activity("console.session_ended")
    assert len(ended) == 1 and ended[0].details["reason"] == "The browser closed the console."


# ---- tickets ----------------------------------------------------------------------------------

async def test_a_ticket_works_once_only_in_time_for_its_server_and_browser_session(app_url, world, sshd):
    minted = console.mint_ticket(world["actor"], world["org"], str(world["server"]), world["token"])
    ws = await _open(app_url, world, ticket=minted["ticket"])
    await _connected(ws)
    again = await _open(app_url, world, ticket=minted["ticket"])
    assert "expired or was already used" in await _closed_with(again, 4001)
    await ws.close()

    # expired
    minted = console.mint_ticket(world["actor"], world["org"], str(world["server"]), world["token"])
    with session_scope() as s:
        s.execute(update(ConsoleTicket).values(expires_at=utcnow() - timedelta(seconds=1)))
    await _closed_with(await _open(app_url, world, ticket=minted["ticket"]), 4001)

    # for another server (of the same organization)
    other = _server(world["org"], sshd[0].host, sshd[0].port, sshd[0].password, label="web-2")
    minted = console.mint_ticket(world["actor"], world["org"], str(other), world["token"])
    await _closed_with(await _open(app_url, world, ticket=minted["ticket"]), 4001)

    # presented by another browser session of the same user
    other_token, _ = _signed_in(world["owner_id"])
    minted = console.mint_ticket(world["actor"], world["org"], str(world["server"]), world["token"])
    await _closed_with(await _open(app_url, world, ticket=minted["ticket"], token=other_token), 4001)

    # garbage and missing tickets
    for bad in ("nope", "x" * 500, ""):
        await _closed_with(await _open(app_url, world, ticket=bad), 4001)

    # tickets are stored hashed only
    with session_scope() as s:
        hashes = s.exec(select(ConsoleTicket.token_hash)).all()
    assert minted["ticket"] not in hashes and all(len(h) == 64 for h in hashes)

    # minting needs the caller's own live browser session
    with pytest.raises(AuthRequired):
        console.mint_ticket(world["actor"], world["org"], str(world["server"]), other_token)
    with pytest.raises(AuthRequired):
        console.mint_ticket(world["actor"], world["org"], str(world["server"]), "")


async def test_a_wrong_or_missing_origin_is_refused_before_the_ticket_is_used(app_url, world):
    minted = console.mint_ticket(world["actor"], world["org"], str(world["server"]), world["token"])
    for origin in ("https://evil.example", None, "null", _origin() + ".evil.example"):
        ws = await _open(app_url, world, ticket=minted["ticket"], origin=origin)
        assert await _closed_with(ws, 4003) == console_api.ORIGIN_REFUSED
    ws = await _open(app_url, world, ticket=minted["ticket"])  # still unused
    await _connected(ws)
    await ws.close()
    assert console_api.origin_allowed("http://127.0.0.1:8000", "127.0.0.1:8000")  # same origin
    assert not console_api.origin_allowed("http://127.0.0.1:8001", "127.0.0.1:8000")


# ---- who may open it -----------------------------------------------------------------------------

async def test_viewers_and_other_organizations_cannot_open_it(app_url, world):
    viewer_id, _ = make_user("viewer@example.com", "Viewer")
    add_member(world["org"], viewer_id, "viewer")
    viewer_token, viewer = _signed_in(viewer_id)
    stranger_id, _ = make_user("stranger@example.com", "Stranger")
    stranger_token, stranger = _signed_in(stranger_id)
    sid = str(world["server"])

    assert console.console_status(world["actor"], world["org"], sid) == {"available": True, "reason": ""}
    assert console.console_status(viewer, world["org"], sid)["available"] is False
    with pytest.raises(PermissionDenied):
        console.mint_ticket(viewer, world["org"], sid, viewer_token)
    for org in (world["org"], personal_org(stranger_id)):
        assert console.console_status(stranger, org, sid)["available"] is False
        with pytest.raises(NotFound):
            console.mint_ticket(stranger, org, sid, stranger_token)

    # a member with vps_manage who is demoted to viewer after minting cannot redeem the ticket
    ops_id, _ = make_user("ops@example.com", "Ops")
    add_member(world["org"], ops_id, "vps_manager")
    ops_token, ops = _signed_in(ops_id)
    minted = console.mint_ticket(ops, world["org"], sid, ops_token)
    with session_scope() as s:
        s.execute(update(Membership).where(Membership.user_id == ops_id)
                  .values(role_id=role_id(world["org"], "viewer")))
    ws = await _open(app_url, world, ticket=minted["ticket"], token=ops_token)
    assert "permission" in await _closed_with(ws, 4003)


async def test_the_page_is_told_why_the_console_is_unavailable(world):
    sid, actor, org = world["server"], world["actor"], world["org"]
    with session_scope() as s:
        s.execute(update(Server).where(col(Server.id) == sid).values(status="offline"))
    assert console.console_status(actor, org, str(sid)) == {"available": False, "reason": "The server is not running."}
    with session_scope() as s:
        s.execute(update(Server).where(col(Server.id) == sid).values(status="running", root_password_enc=None))
    assert console.console_status(actor, org, str(sid))["reason"] == console.NO_PASSWORD
    with session_scope() as s:
        s.execute(update(Server).where(col(Server.id) == sid).values(
            root_password_enc=encrypt("x", aad=root_password_aad(sid)), suspended_at=utcnow()))
    assert "suspended" in console.console_status(actor, org, str(sid))["reason"]
    assert console.console_status(actor, org, "not-a-uuid") == {"available": False, "reason": "Server not found."}


# ---- limits and idle -------------------------------------------------------------------------------

async def test_sessions_per_user_and_per_server_are_limited(app_url, world):
    admin = make_user("admin@example.com", admin=True)[1]
    platform_settings.set_value(admin, "console_sessions_per_user", 1)
    first = await _open(app_url, world)
    await _connected(first)
    second = await _open(app_url, world)
    assert "already have 1 console session open" in await _closed_with(second, 4009)

    platform_settings.set_value(admin, "console_sessions_per_user", 5)
    platform_settings.set_value(admin, "console_sessions_per_server", 2)
    ops_id, _ = make_user("ops@example.com", "Ops")
    add_member(world["org"], ops_id, "vps_manager")
    ops_token, ops = _signed_in(ops_id)
    second = await _open(app_url, world, actor=ops, token=ops_token)
    await _connected(second)
    third = await _open(app_url, world, actor=ops, token=ops_token)
    assert "This server already has 2 console sessions open" in await _closed_with(third, 4009)

    await first.close()  # a closed session frees its place
    for _ in range(100):
        with session_scope() as s:
            if s.exec(select(ConsoleSession).where(col(ConsoleSession.ended_at).is_not(None))).first():
                break
        await asyncio.sleep(0.05)
    third = await _open(app_url, world, actor=ops, token=ops_token)
    await _connected(third)
    await second.close()
    await third.close()


async def test_an_idle_console_closes_and_typing_keeps_it_open(app_url, world, monkeypatch):
    monkeypatch.setattr(console, "MINUTE", 1.5)  # "1 minute" of idle = 1.5 s here
    admin = make_user("admin@example.com", admin=True)[1]
    platform_settings.set_value(admin, "console_idle_minutes", 1)
    ws = await _open(app_url, world)
    await _connected(ws)
    for _ in range(3):  # typing every second keeps it open past the timeout
        await asyncio.sleep(0.9)
        await _run(ws, "true")
    reason = await _closed_with(ws, 4008, timeout=5)
    assert "without typing" in reason
    assert _activity("console.session_ended")[0].details["code"] == 4008


# ---- host keys ------------------------------------------------------------------------------------

async def test_a_changed_host_key_is_refused_with_a_warning_and_an_activity_row(app_url, world, sshd):
    info, proc = sshd
    ws = await _open(app_url, world)
    await _connected(ws)
    await ws.close()
    pinned = _server_row(world["server"]).host_key
    assert pinned == info.host_public_key()

    info.regenerate_host_key()
    proc.stop()
    proc.start()
    try:
        ws = await _open(app_url, world)
        reason = await _closed_with(ws, 4010)
        assert "host key of web-1 has changed" in reason
        assert _server_row(world["server"]).host_key == pinned  # never overwritten
        changed = _activity("console.host_key_changed")
        assert len(changed) == 1 and changed[0].organization_id == world["org"]
        assert changed[0].details["offered"] == info.host_public_key()
        # the panel's rebuild clears the pin (a fresh system); the next connection pins the new key
        with session_scope() as s:
            s.execute(update(Server).where(col(Server.id) == world["server"]).values(host_key=""))
        ws = await _open(app_url, world)
        await _connected(ws)
        await ws.close()
        assert _server_row(world["server"]).host_key == info.host_public_key()
    finally:
        with session_scope() as s:  # later tests connect to the same sshd with a fresh pin anyway
            s.execute(update(Server).values(host_key=""))


# ---- closing at once --------------------------------------------------------------------------------

async def test_signing_out_closes_the_open_console(app_url, world):
    ws = await _open(app_url, world)
    await _connected(ws)
    auth.logout(world["token"])
    assert await _closed_with(ws, 4003, timeout=5) == console.SIGNED_OUT
    assert _activity("console.session_ended")[0].details["reason"] == console.SIGNED_OUT


async def test_suspension_deletion_and_losing_the_permission_close_it(app_url, world):
    sid = world["server"]
    ws = await _open(app_url, world)
    await _connected(ws)
    with session_scope() as s:
        s.execute(update(Server).where(col(Server.id) == sid).values(suspended_at=utcnow()))
    assert "suspended" in await _closed_with(ws, 4003, timeout=5)

    with session_scope() as s:
        s.execute(update(Server).where(col(Server.id) == sid).values(suspended_at=None))
    ws = await _open(app_url, world)
    await _connected(ws)
    with session_scope() as s:
        s.execute(update(Server).where(col(Server.id) == sid).values(status="deleted", deleted_at=utcnow()))
    assert await _closed_with(ws, 4004, timeout=5) == "Server not found."

    other = _server(world["org"], "127.0.0.1", _server_row(sid).ssh_port, sshd_password(), label="web-2")
    ops_id, _ = make_user("ops@example.com", "Ops")
    add_member(world["org"], ops_id, "vps_manager")
    ops_token, ops = _signed_in(ops_id)
    ws = await _open(app_url, world, actor=ops, token=ops_token, server=other)
    await _connected(ws)
    with session_scope() as s:
        s.execute(update(Membership).where(Membership.user_id == ops_id)
                  .values(role_id=role_id(world["org"], "viewer")))
    assert "permission" in await _closed_with(ws, 4003, timeout=5)
    assert len(_activity("console.session_ended")) == 3


def sshd_password() -> str:
    from tests.contract.sshd import PASSWORD
    return PASSWORD


# ---- bad input ------------------------------------------------------------------------------------

async def test_bad_frames_are_ignored_or_closed_cleanly(app_url, world):
    ws = await _open(app_url, world, cols=90, rows=20)
    await _connected(ws)
    for frame in ("{not json", "[1, 2]", '"resize"', '{"type": "launch"}', '{"cols": 10}',
                  '{"type": "resize", "cols": 0, "rows": 10}', '{"type": "resize", "cols": 1001, "rows": 10}',
                  '{"type": "resize", "cols": 80, "rows": 501}', '{"type": "resize", "cols": "80", "rows": 24}',
                  '{"type": "resize", "cols": true, "rows": 24}', '{"type": "resize", "cols": 80.5, "rows": 24}',
                  '{"type": "resize"}', "\u0000\ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace")):
        await ws.send_text(frame)
    out, controls = await _run(ws, "stty size")
    errors = [c for c in controls if c["type"] == "error"]
    assert len(errors) == 13 and all(c["message"].startswith("Ignored") for c in errors)
    assert b"20 90\r\n" in out  # no invalid resize was applied
    await ws.send_bytes(b"")  # an empty frame is nothing
    assert b"20 90\r\n" in (await _run(ws, "stty size"))[0]

    await ws.send_bytes(b"x" * (console_api.MAX_BINARY + 1))
    assert "too large" in await _closed_with(ws, 1009)

    ws = await _open(app_url, world)
    await _connected(ws)
    await ws.send_text('{"type": "resize", "cols": 80, "rows": 24, "pad": "' + "x" * 10_000 + '"}')
    assert "too large" in await _closed_with(ws, 1009)


async def test_bad_sizes_in_the_url_fall_back_to_80x24(app_url, world):
    minted = console.mint_ticket(world["actor"], world["org"], str(world["server"]), world["token"])
    url = (app_url.replace("http://", "ws://") + f"/ws/console/{world['server']}?ticket={minted['ticket']}"
           "&cols=-5&rows=99999999999")
    ws = await WSClient.connect(url, origin=_origin(), cookie=f"sp_session={world['token']}")
    await _connected(ws)
    assert b"24 80\r\n" in (await _run(ws, "stty size"))[0]
    await ws.close()


async def test_an_unreachable_server_is_reported(app_url, world):
    with session_scope() as s:
        s.execute(update(Server).where(col(Server.id) == world["server"]).values(ssh_port=1))
    ws = await _open(app_url, world)
    assert "Could not connect" in await _closed_with(ws, 1011)
    assert _activity("console.session_ended")[0].details["code"] == 1011


async def test_a_slow_browser_loses_nothing(app_url, world):
    """The browser stops reading while 8 MB of output is produced: the shell is held back (not
    buffered without bound), and everything arrives once the browser reads again."""
    ws = await _open(app_url, world)
    await _connected(ws)
    await ws.send_bytes(b"head -c 6000000 /dev/zero | base64 -w 100; echo __END__\n")
    await asyncio.sleep(1.5)
    out, _ = await ws.read_until(b"__END__\r\n", timeout=30)
    assert out.count(b"A" * 100 + b"\r\n") == 80_000
    await ws.close()


# ---- the simulated provider's SSH servers ---------------------------------------------------------

async def test_the_simulated_providers_server_end_to_end(app_url, db, monkeypatch):
    from skypanel.backend.providers.simulated import SimulatedProvider
    from skypanel.backend.providers.simulated_ssh import SimulatedSSH
    from skypanel.backend.services import provider_accounts as pa
    from tests.integration.test_simulated_ssh import _free_port

    monkeypatch.setattr(get_settings(), "simulated_ssh_port", _free_port())
    monkeypatch.setattr(console_api, "WATCH_INTERVAL", 0.3)
    _, admin = make_user("ssh-admin@example.com", admin=True)
    sim = SimulatedProvider(uuid.UUID(pa.add_account(admin, kind="simulated", name="Sim", token="")["id"]),
                            delay_scale=0)
    inst = await sim.create_instance(label="web-1", region="sim-nyc", plan="sim-1c-1g", image="debian-12",
                                     root_password="Sim-Root-Pass-42", ssh_keys=[], backups=False, tags=[])
    manager = SimulatedSSH()
    await manager.reconcile()
    try:
        owner_id, _ = make_user("owner@example.com", "Owner")
        org = personal_org(owner_id)
        token, actor = _signed_in(owner_id)
        sid = _server(org, inst.ipv4[0], inst.ssh_port, "Sim-Root-Pass-42")
        w = {"org": org, "token": token, "actor": actor, "server": sid}
        ws = await _open(app_url, w, cols=100, rows=30)
        assert await ws.recv() == '{"type": "status", "state": "connecting"}'
        out, controls = await ws.read_until(b"root@web-1:~# ")
        assert {"type": "status", "state": "connected"} in controls and b"NOT a real machine" in out
        await ws.send_bytes(b"echo hello-sim\r")
        assert b"hello-sim\r\n" in (await ws.read_until(b"root@web-1:~# "))[0]
        await ws.send_json({"type": "resize", "cols": 120, "rows": 40})
        await ws.send_bytes(b"stty size\r")
        assert b"40 120\r\n" in (await ws.read_until(b"root@web-1:~# "))[0]
        await ws.send_bytes(b"exit\r")
        await _closed_with(ws, 1000)
        assert _server_row(sid).host_key.startswith("ssh-ed25519 ")
    finally:
        await manager.close()
