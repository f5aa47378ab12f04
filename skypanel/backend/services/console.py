"""The browser SSH console: who may open it, single-use tickets, live sessions and their limits.

A page (state) asks `console_status` what to show, then `mint_ticket` for the terminal. The
WebSocket route (api/console.py) redeems the ticket once with `open_session`, which re-checks
everything (browser session, `vps_manage`, server running and not suspended, limits) and hands back
the connection details with the root password decrypted for that one connection. While the
session is open the route calls `check_session` every few seconds, so signing out, losing the
permission, suspension or deletion closes it within seconds, in every app process.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, text, update
from sqlmodel import Session, col, select

from skypanel.backend import security
from skypanel.backend.db import session_scope
from skypanel.backend.models import ConsoleSession, ConsoleTicket, Server, User, UserSession
from skypanel.backend.models.base import utcnow
from skypanel.backend.models.servers import root_password_aad
from skypanel.backend.services import activity, dunning, platform_settings, rbac
from skypanel.backend.services.context import Actor
from skypanel.backend.services.errors import AuthRequired, Conflict, NotFound, ServiceError

TICKET_TTL = 30  # seconds a ticket may wait to be redeemed
TICKET_MAX_LENGTH = 100
SSH_USERNAME = "root"  # who the console logs in as (the stored password is root's)
MINUTE = 60.0  # seconds in an idle-timeout minute (tests shrink it)
LIVE_WINDOW = timedelta(seconds=30)  # an open session's row counts while refreshed this recently

SERVER_NOT_FOUND = "Server not found."
NOT_RUNNING = "The server is not running."
NO_PASSWORD = "No root password is stored for this server; reset it on the Root password tab."
NO_ADDRESS = "The server has no IPv4 address yet."
TICKET_INVALID = "This console link has expired or was already used. Reconnect to open a new one."
SIGNED_OUT = "You have been signed out. Sign in again to use the console."

# WebSocket close codes (the contract between the route and the browser's terminal).
NORMAL, TICKET, FORBIDDEN, GONE, IDLE, LIMIT, HOST_KEY, TOO_BIG, SSH_FAILED = (
    1000, 4001, 4003, 4004, 4008, 4009, 4010, 1009, 1011)


class ConsoleRefused(Exception):
    """Why a console cannot open or must close: a WebSocket close code and the text the user sees."""

    def __init__(self, code: int, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class Connection:
    """What the route needs to open one SSH session (the password only lives here, in memory)."""

    console_session_id: uuid.UUID
    user_id: uuid.UUID
    organization_id: uuid.UUID
    server_id: uuid.UUID
    label: str
    host: str
    port: int
    username: str
    password: str = ""
    host_key: str = ""
    idle_seconds: float = 1800.0
    started_at: datetime | None = None

    def __repr__(self) -> str:  # never print the password
        return f"Connection({self.label!r}, {self.host}:{self.port}, session={self.console_session_id})"


# ---- checks shared by the page, the ticket and the route -------------------------------------

def _server(session: Session, org_id: uuid.UUID, server_id: Any) -> Server:
    sid = rbac.parse_uuid(server_id, SERVER_NOT_FOUND)
    server = session.exec(select(Server).where(Server.id == sid, Server.organization_id == org_id,
                                               col(Server.deleted_at).is_(None))).first()
    if server is None:
        raise NotFound(SERVER_NOT_FOUND)
    return server


def _usable(session: Session, actor: Actor, org_id: Any, server_id: Any) -> Server:
    """The server if the actor may open its console now; else the ServiceError to show."""
    rbac.require(session, actor, org_id, "vps_manage")
    server = _server(session, rbac.parse_uuid(org_id), server_id)
    if server.suspended_at is not None:
        raise Conflict(dunning.suspension_message(session, server.organization_id))
    if server.status != "running":
        raise Conflict(NOT_RUNNING)
    if not server.root_password_enc:
        raise Conflict(NO_PASSWORD)
    if not server.ipv4:
        raise Conflict(NO_ADDRESS)
    return server


def console_status(actor: Actor, org_id: Any, server_id: Any) -> dict[str, Any]:
    """What the console page shows before connecting: {"available": bool, "reason": str}."""
    try:
        with session_scope() as s:
            _usable(s, actor, org_id, server_id)
    except ServiceError as err:
        return {"available": False, "reason": err.message}
    return {"available": True, "reason": ""}


def _live_user_session(session: Session, actor: Actor, token: Any) -> UserSession:
    """The browser session behind `token`, which must be the actor's own and still valid."""
    if not isinstance(token, str) or not token or len(token) > 200 or actor is None or actor.session_id is None:
        raise AuthRequired()
    row = session.exec(select(UserSession).where(UserSession.token_hash == security.hash_token(token))).first()
    if (row is None or row.id != actor.session_id or row.user_id != actor.user_id or row.revoked_at is not None
            or row.expires_at <= utcnow()):
        raise AuthRequired()
    return row


def mint_ticket(actor: Actor, org_id: Any, server_id: Any, session_token: str) -> dict[str, Any]:
    """A single-use ticket (30 s) for this user, browser session and server, after every check.

    Raises ServiceError subclasses with the message to show."""
    with session_scope() as s:
        user_session = _live_user_session(s, actor, session_token)
        server = _usable(s, actor, org_id, server_id)
        ticket = security.new_token(32)
        now = utcnow()
        s.add(ConsoleTicket(token_hash=security.hash_token(ticket), user_id=actor.user_id,
                            user_session_id=user_session.id, organization_id=server.organization_id,
                            server_id=server.id, created_at=now, expires_at=now + timedelta(seconds=TICKET_TTL)))
        # old tickets are useless: keep the table small
        s.execute(text("DELETE FROM console_tickets WHERE expires_at < :cut"), {"cut": now - timedelta(hours=1)})
        return {"ticket": ticket, "expires_in": TICKET_TTL, "path": f"/ws/console/{server.id}"}


# ---- the WebSocket route's side ----------------------------------------------------------------

def _actor(user: User, user_session: UserSession, ip: str) -> Actor:
    return Actor(user_id=user.id, is_platform_admin=user.is_platform_admin, ip=ip or user_session.ip,
                 user_agent=user_session.user_agent, session_id=user_session.id,
                 impersonator_id=user_session.impersonator_id)


def _refusal(err: ServiceError) -> ConsoleRefused:
    if isinstance(err, AuthRequired):
        return ConsoleRefused(FORBIDDEN, SIGNED_OUT)
    if isinstance(err, NotFound):
        return ConsoleRefused(GONE, SERVER_NOT_FOUND)
    if err.message in (NOT_RUNNING, NO_PASSWORD, NO_ADDRESS):
        return ConsoleRefused(GONE, err.message)
    return ConsoleRefused(FORBIDDEN, err.message)  # permission, suspension


def _check(session: Session, user_session_id: uuid.UUID | None, org_id: uuid.UUID, server_id: uuid.UUID,
           ip: str) -> tuple[Actor, Server]:
    """Re-check the browser session, the user, the permission and the server (route and watcher)."""
    user_session = session.get(UserSession, user_session_id) if user_session_id else None
    user = session.get(User, user_session.user_id) if user_session else None
    if (user_session is None or user is None or not user.is_active or user_session.revoked_at is not None
            or user_session.expires_at <= utcnow()):
        raise ConsoleRefused(FORBIDDEN, SIGNED_OUT)
    actor = _actor(user, user_session, ip)
    try:
        return actor, _usable(session, actor, org_id, server_id)
    except ServiceError as err:
        raise _refusal(err) from None


def _limits() -> tuple[int, int, float]:
    return (int(platform_settings.get("console_sessions_per_user")),
            int(platform_settings.get("console_sessions_per_server")),
            float(platform_settings.get("console_idle_minutes")) * MINUTE)


def _open_count(session: Session, column, value: uuid.UUID, now: datetime) -> int:
    return int(session.exec(select(func.count()).select_from(ConsoleSession).where(
        column == value, col(ConsoleSession.ended_at).is_(None),
        ConsoleSession.last_seen_at > now - LIVE_WINDOW)).one())


def open_session(ticket: Any, server_id: Any, session_token: str | None, ip: str) -> Connection:
    """Redeem a ticket (once, even if what follows refuses) and open a console session.

    `session_token` is the browser's `sp_session` cookie when it sent one: it must be the session the
    ticket was minted for. Raises ConsoleRefused with the close code and the text to show."""
    if not isinstance(ticket, str) or not ticket or len(ticket) > TICKET_MAX_LENGTH:
        raise ConsoleRefused(TICKET, TICKET_INVALID)
    try:
        sid = rbac.parse_uuid(server_id, SERVER_NOT_FOUND)
    except NotFound:
        raise ConsoleRefused(TICKET, TICKET_INVALID) from None
    per_user, per_server, idle_seconds = _limits()
    # Step 1, its own transaction: burn the ticket whatever happens next.
    with session_scope() as s:
        now = utcnow()
        row = s.exec(select(ConsoleTicket).where(ConsoleTicket.token_hash == security.hash_token(ticket))
                     .with_for_update()).first()
        if row is None or row.used_at is not None:
            raise ConsoleRefused(TICKET, TICKET_INVALID)
        row.used_at = now
        if row.expires_at <= now or row.server_id != sid:
            s.commit()
            raise ConsoleRefused(TICKET, TICKET_INVALID)
        if session_token:
            bound = s.get(UserSession, row.user_session_id)
            if bound is None or security.hash_token(session_token[:200]) != bound.token_hash:
                s.commit()
                raise ConsoleRefused(TICKET, TICKET_INVALID)
        user_session_id, org_id = row.user_session_id, row.organization_id
    # Step 2: everything again, the limits, and the session row, under per-user/per-server locks.
    with session_scope() as s:
        actor, server = _check(s, user_session_id, org_id, sid, ip)
        s.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"console-user:{actor.user_id}"})
        s.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"console-server:{server.id}"})
        now = utcnow()
        if _open_count(s, ConsoleSession.user_id, actor.user_id, now) >= per_user:
            raise ConsoleRefused(LIMIT, f"You already have {per_user} console session{'s' if per_user != 1 else ''} "
                                        "open. Close one and try again.")
        if _open_count(s, ConsoleSession.server_id, server.id, now) >= per_server:
            raise ConsoleRefused(LIMIT, f"This server already has {per_server} console "
                                        f"session{'s' if per_server != 1 else ''} open. Close one and try again.")
        cs = ConsoleSession(user_id=actor.user_id, user_session_id=user_session_id, organization_id=org_id,
                            server_id=server.id, ip=(ip or "")[:64], started_at=now, last_seen_at=now)
        s.add(cs)
        s.flush()
        activity.record(s, actor, "console.session_started", organization_id=org_id, entity_type="server",
                        entity_id=server.id, summary=f"Opened the console of {server.label}",
                        details={"console_session_id": str(cs.id)})
        password = security.decrypt(server.root_password_enc, aad=root_password_aad(server.id))
        return Connection(console_session_id=cs.id, user_id=actor.user_id, organization_id=org_id,
                          server_id=server.id, label=server.label, host=server.ipv4[0], port=server.ssh_port,
                          username=SSH_USERNAME, password=password, host_key=server.host_key or "",
                          idle_seconds=idle_seconds, started_at=now)


def check_session(console_session_id: uuid.UUID, ip: str = "") -> None:
    """Called every few seconds while a console is open: marks it alive, or raises ConsoleRefused
    when the user signed out, lost `vps_manage`, or the server stopped, was suspended or deleted."""
    with session_scope() as s:
        cs = s.get(ConsoleSession, console_session_id)
        if cs is None or cs.ended_at is not None:
            raise ConsoleRefused(FORBIDDEN, "This console session was closed.")
        cs.last_seen_at = utcnow()
        _check(s, cs.user_session_id, cs.organization_id, cs.server_id, ip or cs.ip)


def pin_host_key(conn: Connection, host_key: str) -> None:
    """Store the server's SSH host key seen on its first console connection (never overwrites)."""
    with session_scope() as s:
        done = s.execute(update(Server).where(col(Server.id) == conn.server_id, Server.host_key == "")
                         .values(host_key=host_key[:1000])).rowcount
        if done:
            activity.record(s, None, "console.host_key_pinned", organization_id=conn.organization_id,
                            user_id=conn.user_id, entity_type="server", entity_id=conn.server_id,
                            summary=f"Pinned the SSH host key of {conn.label} on the first console connection",
                            details={"host_key": host_key[:200]})


def host_key_changed(conn: Connection, offered: str) -> str:
    """Record a refused connection whose host key differs from the pinned one; the text to show."""
    with session_scope() as s:
        activity.record(s, None, "console.host_key_changed", organization_id=conn.organization_id,
                        user_id=conn.user_id, entity_type="server", entity_id=conn.server_id,
                        summary=f"Refused the console of {conn.label}: its SSH host key has changed",
                        details={"pinned": conn.host_key[:200], "offered": offered[:200]})
    return (f"WARNING: the SSH host key of {conn.label} has changed since the first connection. Someone may be "
            "intercepting the connection, or the server was reinstalled outside the panel. The console refused "
            "to connect. Contact support if you did not expect this.")


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return (f"{hours}h {minutes}m" if hours else f"{minutes}m {secs}s" if minutes else f"{secs}s")


def end_session(conn: Connection, reason: str, code: int, *, bytes_in: int = 0, bytes_out: int = 0) -> None:
    """Close the session's row and write its end to the activity log (duration, reason)."""
    with session_scope() as s:
        cs = s.get(ConsoleSession, conn.console_session_id)
        if cs is None or cs.ended_at is not None:
            return
        now = utcnow()
        cs.ended_at, cs.close_reason = now, reason[:200]
        cs.bytes_in, cs.bytes_out = bytes_in, bytes_out
        seconds = (now - cs.started_at).total_seconds()
        activity.record(s, None, "console.session_ended", organization_id=conn.organization_id,
                        user_id=conn.user_id, entity_type="server", entity_id=conn.server_id,
                        summary=f"Console of {conn.label} closed after {_duration(seconds)}: {reason}"[:300],
                        details={"console_session_id": str(cs.id), "duration_seconds": round(seconds, 1),
                                 "reason": reason[:200], "code": code, "bytes_in": bytes_in, "bytes_out": bytes_out,
                                 "ip": cs.ip})


__all__ = ["ConsoleRefused", "Connection", "check_session", "console_status", "end_session", "host_key_changed",
           "mint_ticket", "open_session", "pin_host_key"]
