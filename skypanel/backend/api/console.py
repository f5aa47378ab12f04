"""GET /ws/console/{server_id}?ticket=...&cols=N&rows=M: the browser's terminal bridged to the server's SSH.

Protocol (the xterm.js component speaks it): binary frames carry terminal bytes both ways; text
frames carry small JSON controls -- from the browser {"type": "resize", "cols", "rows"} and
{"type": "ping"}; to the browser {"type": "status", "state"}, {"type": "error", "message"} and
{"type": "closed", "reason"} just before the socket closes with one of services.console's codes.

Flow control: output is read from SSH as it comes, at most CHUNK bytes at a time, so bursts are
coalesced into one frame while the previous one is being sent. Nothing is read from SSH while a
frame waits for the browser, so a slow browser stalls the remote program through SSH's own window
instead of growing our memory: per session at most WINDOW bytes in asyncssh's stream buffer plus
WINDOW in the channel plus one CHUNK in flight (BUFFER_CAP). Input is written to SSH only as fast
as SSH takes it (drain), and frames larger than MAX_BINARY / MAX_TEXT close the socket (1009).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from typing import Any
from urllib.parse import urlsplit

import asyncssh
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketState

from skypanel.backend.config import get_settings
from skypanel.backend.services import console
from skypanel.backend.services.console import ConsoleRefused, Connection

log = logging.getLogger("skypanel.console")

SESSION_COOKIE = "sp_session"  # state.session.SESSION_COOKIE (not imported: that pulls in Reflex)
CHUNK = 256 * 1024  # most output bytes sent in one frame
WINDOW = 512 * 1024  # SSH channel window (and asyncssh's stream buffer limit)
BUFFER_CAP = 2 * WINDOW + CHUNK  # the most output held per session, whatever the browser does
MAX_BINARY = 64 * 1024  # one keystroke frame (a paste is sent in pieces by the browser)
MAX_TEXT = 4 * 1024  # one control frame
MAX_COLS, MAX_ROWS = 1000, 500
WATCH_INTERVAL = 2.0  # seconds between re-checks of session, permission and server
CONNECT_TIMEOUT = 15.0
BAD_FRAMES_MAX = 50  # malformed control frames tolerated before the socket is closed

ORIGIN_REFUSED = "This page is not allowed to open the console."


class _HostKeyChanged(Exception):
    pass


class _Client(asyncssh.SSHClient):
    """Trusts the pinned host key only, or (first connection) records the key offered."""

    def __init__(self, pinned: asyncssh.SSHKey | None, pin_broken: bool) -> None:
        self.pinned = pinned
        self.pin_broken = pin_broken
        self.offered: asyncssh.SSHKey | None = None
        self.mismatch = False

    def validate_host_public_key(self, host: str, addr: tuple[str, int], port: int, key: asyncssh.SSHKey) -> bool:
        self.offered = key
        if self.pinned is None and not self.pin_broken:
            return True
        self.mismatch = self.pinned is None or key.public_data != self.pinned.public_data
        return not self.mismatch


def _key_text(key: asyncssh.SSHKey) -> str:
    return key.export_public_key("openssh").decode().strip()


def origin_allowed(origin: str | None, host: str | None) -> bool:
    """The Origin is one of the configured origins (CORS_ALLOWED_ORIGINS, else PUBLIC_URL) or the
    origin this very host serves the app from (same origin)."""
    if not origin:
        return False
    origin = origin.strip().rstrip("/").lower()
    if origin in (o.lower() for o in get_settings().allowed_origins):
        return True
    parts = urlsplit(origin)
    return bool(host) and parts.scheme in ("http", "https") and parts.netloc == host.strip().lower() \
        and not parts.path


def _size(value: Any, limit: int) -> int | None:
    """A terminal dimension in 1..limit (an int, or digits from the query string); None when invalid."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        if not value.isdigit() or len(value) > 5:
            return None
        value = int(value)
    if not isinstance(value, int) or not 1 <= value <= limit:
        return None
    return value


def _reason_bytes(reason: str) -> str:
    """A close frame's reason must fit 123 bytes of UTF-8."""
    raw = reason.encode("utf-8")[:120]
    return raw.decode("utf-8", "ignore")


class Bridge:
    """One open console: a WebSocket and an SSH shell joined until either ends or a check fails."""

    def __init__(self, ws: WebSocket, conn: Connection, cols: int, rows: int, ip: str) -> None:
        self.ws, self.conn, self.cols, self.rows, self.ip = ws, conn, cols, rows, ip
        self.send_lock = asyncio.Lock()
        self.last_input = time.monotonic()
        self.bytes_in = self.bytes_out = 0
        self.bad_frames = 0
        self.browser_gone = False
        self.ssh: asyncssh.SSHClientConnection | None = None
        self.proc: asyncssh.SSHClientProcess | None = None

    async def send_json(self, payload: dict[str, Any]) -> None:
        async with self.send_lock:
            await self.ws.send_text(json.dumps(payload))

    async def connect(self) -> None:
        pinned, broken = None, False
        if self.conn.host_key:
            try:
                pinned = asyncssh.import_public_key(self.conn.host_key)
            except (asyncssh.KeyImportError, ValueError):
                broken = True
        client = _Client(pinned, broken)
        options: dict[str, Any] = {}
        if pinned is not None:  # negotiate the pinned key's algorithm, not another key of the host
            options["server_host_key_algs"] = [a.decode() for a in pinned.sig_algorithms]
        try:
            self.ssh, _ = await asyncio.wait_for(asyncssh.create_connection(
                lambda: client, self.conn.host, self.conn.port, username=self.conn.username,
                password=self.conn.password, known_hosts=([], [], []), client_keys=None, agent_path=None,
                preferred_auth="password,keyboard-interactive", connect_timeout=CONNECT_TIMEOUT,
                keepalive_interval=30, keepalive_count_max=3, **options), CONNECT_TIMEOUT + 5)
        except (asyncssh.HostKeyNotVerifiable, asyncssh.KeyExchangeFailed) as exc:
            if client.mismatch or (pinned is not None and isinstance(exc, asyncssh.KeyExchangeFailed)):
                offered = _key_text(client.offered) if client.offered is not None else ""
                raise _HostKeyChanged(offered) from None
            raise
        if not self.conn.host_key and client.offered is not None:
            await asyncio.to_thread(console.pin_host_key, self.conn, _key_text(client.offered))
        self.proc = await self.ssh.create_process(
            term_type="xterm-256color", term_size=(self.cols, self.rows), encoding=None,
            stderr=asyncssh.STDOUT, window=WINDOW)

    async def pump_out(self) -> tuple[int, str]:
        """SSH -> browser: whatever is there, up to CHUNK, one frame at a time (back-pressure)."""
        assert self.proc is not None
        read, send = self.proc.stdout.read, self.ws.send_bytes
        lock = self.send_lock
        while True:
            data = await read(CHUNK)
            if not data:
                return console.NORMAL, "The session ended (the shell exited)."
            self.bytes_out += len(data)
            async with lock:
                await send(data)

    async def pump_in(self) -> tuple[int, str]:
        """Browser -> SSH: keystrokes (binary) and control frames (JSON text)."""
        assert self.proc is not None
        stdin = self.proc.stdin
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                self.browser_gone = True
                return console.NORMAL, "The browser closed the console."
            data, text = message.get("bytes"), message.get("text")
            if data is not None:
                if len(data) > MAX_BINARY:
                    log.warning("console %s: binary frame of %d bytes refused (ip %s)",
                                self.conn.console_session_id, len(data), self.ip)
                    return console.TOO_BIG, f"A message from the browser was too large (over {MAX_BINARY // 1024} KiB)."
                if data:
                    self.last_input = time.monotonic()
                    self.bytes_in += len(data)
                    stdin.write(data)
                    await stdin.drain()
            elif text is not None:
                if len(text) > MAX_TEXT:
                    log.warning("console %s: text frame of %d characters refused (ip %s)",
                                self.conn.console_session_id, len(text), self.ip)
                    return console.TOO_BIG, "A control message from the browser was too large."
                problem = self.control(text)
                if problem:
                    self.bad_frames += 1
                    log.info("console %s: %s (ip %s)", self.conn.console_session_id, problem, self.ip)
                    if self.bad_frames > BAD_FRAMES_MAX:
                        return console.FORBIDDEN, "Too many invalid messages from the browser."
                    await self.send_json({"type": "error", "message": problem})

    def control(self, text: str) -> str:
        """Apply one control frame; the problem with it ("" when fine)."""
        try:
            message = json.loads(text)
        except ValueError:
            return "Ignored a control message that is not JSON."
        if not isinstance(message, dict):
            return "Ignored a control message that is not a JSON object."
        kind = message.get("type")
        if kind == "ping":
            return ""
        if kind == "resize":
            raw_cols, raw_rows = message.get("cols"), message.get("rows")
            cols = None if isinstance(raw_cols, str) else _size(raw_cols, MAX_COLS)
            rows = None if isinstance(raw_rows, str) else _size(raw_rows, MAX_ROWS)
            if cols is None or rows is None:
                return f"Ignored a resize to an invalid size (columns 1-{MAX_COLS}, rows 1-{MAX_ROWS})."
            if (cols, rows) != (self.cols, self.rows):
                self.cols, self.rows = cols, rows
                self.last_input = time.monotonic()
                self.proc.change_terminal_size(cols, rows)
            return ""
        return "Ignored a control message of an unknown type."

    async def watch(self) -> tuple[int, str]:
        """Idle timeout, and every WATCH_INTERVAL the session/permission/server re-check."""
        idle = self.conn.idle_seconds
        next_check = time.monotonic() + WATCH_INTERVAL
        while True:
            now = time.monotonic()
            idle_left = self.last_input + idle - now
            if idle_left <= 0:
                minutes = idle / 60
                span = f"{minutes:g} minute{'s' if minutes != 1 else ''}" if minutes >= 1 else f"{idle:g} seconds"
                return console.IDLE, f"Closed after {span} without typing."
            await asyncio.sleep(max(0.0, min(idle_left, next_check - now)) + 0.01)
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + WATCH_INTERVAL
                try:
                    await asyncio.to_thread(console.check_session, self.conn.console_session_id, self.ip)
                except ConsoleRefused as refused:
                    return refused.code, refused.reason
                except Exception:  # the database is restarting: keep the session, check again
                    log.exception("console %s: re-check failed", self.conn.console_session_id)

    async def run(self) -> tuple[int, str]:
        tasks = [asyncio.create_task(c) for c in (self.pump_out(), self.pump_in(), self.watch())]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        first = next(iter(done))
        exc = first.exception()
        if exc is None:
            return first.result()
        if isinstance(exc, (asyncssh.Error, ConnectionError, BrokenPipeError)):
            return console.SSH_FAILED, "The SSH connection to the server was lost."
        if _is_disconnect(exc):
            self.browser_gone = True
            return console.NORMAL, "The browser closed the console."
        log.error("console %s failed", self.conn.console_session_id, exc_info=exc)
        return console.SSH_FAILED, "The console failed unexpectedly."

    def close_ssh(self) -> None:
        if self.proc is not None:
            self.proc.close()
        if self.ssh is not None:
            self.ssh.close()


def _is_disconnect(exc: BaseException) -> bool:
    from starlette.websockets import WebSocketDisconnect
    return isinstance(exc, (WebSocketDisconnect, RuntimeError, OSError))


async def _finish(ws: WebSocket, code: int, reason: str, *, lock: asyncio.Lock | None = None) -> None:
    """Tell the browser why, then close with the code (quietly if it is already gone)."""
    try:
        if ws.application_state == WebSocketState.CONNECTED and ws.client_state == WebSocketState.CONNECTED:
            payload = json.dumps({"type": "closed", "reason": reason})
            if lock is not None:
                async with lock:
                    await ws.send_text(payload)
            else:
                await ws.send_text(payload)
            await ws.close(code, _reason_bytes(reason))
    except Exception:  # the browser left while we were closing
        log.debug("console close: browser already gone", exc_info=True)


async def console_ws(ws: WebSocket) -> None:
    ip = ws.client.host if ws.client else ""
    await ws.accept()
    server_id = ws.path_params.get("server_id", "")
    if not origin_allowed(ws.headers.get("origin"), ws.headers.get("host")):
        log.warning("console: refused Origin %r for server %s (ip %s)", ws.headers.get("origin", "")[:200],
                    str(server_id)[:64], ip)
        await _finish(ws, console.FORBIDDEN, ORIGIN_REFUSED)
        return
    params = ws.query_params
    cols = _size(params.get("cols", "80"), MAX_COLS) or 80
    rows = _size(params.get("rows", "24"), MAX_ROWS) or 24
    await ws.send_text(json.dumps({"type": "status", "state": "connecting"}))
    try:
        conn = await asyncio.to_thread(console.open_session, params.get("ticket", ""), server_id,
                                       ws.cookies.get(SESSION_COOKIE) or None, ip)
    except ConsoleRefused as refused:
        log.info("console: refused for server %s (ip %s): %s", str(server_id)[:64], ip, refused.reason)
        await _finish(ws, refused.code, refused.reason)
        return
    bridge = Bridge(ws, conn, cols, rows, ip)
    code, reason = console.SSH_FAILED, "The console failed unexpectedly."
    try:
        try:
            await bridge.connect()
        except _HostKeyChanged as changed:
            code, reason = console.HOST_KEY, await asyncio.to_thread(console.host_key_changed, conn, str(changed))
            log.warning("console %s: host key of server %s changed", conn.console_session_id, conn.server_id)
            return
        except asyncssh.PermissionDenied:
            code, reason = console.SSH_FAILED, ("The server refused the stored root password. If it was changed on "
                                                "the server, reset it on the Root password tab.")
            return
        except (OSError, asyncssh.Error, asyncio.TimeoutError) as exc:
            code, reason = console.SSH_FAILED, "Could not connect to the server over SSH. Try again in a minute."
            log.info("console %s: SSH connect to %s:%s failed: %r", conn.console_session_id, conn.host, conn.port, exc)
            return
        conn = bridge.conn = dataclasses.replace(conn, password="")  # needed for the login only
        await bridge.send_json({"type": "status", "state": "connected"})
        code, reason = await bridge.run()
    except Exception:
        log.exception("console %s failed", conn.console_session_id)
    finally:
        bridge.close_ssh()
        try:  # recorded before the browser hears of it: the activity log is never behind the screen
            await asyncio.to_thread(console.end_session, conn, reason, code, bytes_in=bridge.bytes_in,
                                    bytes_out=bridge.bytes_out)
        except Exception:
            log.exception("console %s: could not record its end", conn.console_session_id)
        if not bridge.browser_gone:
            await _finish(ws, code, reason, lock=bridge.send_lock)


ROUTES = [WebSocketRoute("/ws/console/{server_id}", console_ws)]
