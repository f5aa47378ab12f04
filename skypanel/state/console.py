"""The SSH console of one server: the Console tab of /vps/[server_id] and the full-screen page
/vps/[server_id]/console.

This state never sees a terminal byte. It finds the server among my organizations, asks
`console.console_status` whether a console can be opened (else says why and what to do next),
and mints a single-use, 30-second ticket with `console.mint_ticket` for the xterm component,
which opens the WebSocket itself. The ticket is the only secret-ish value here, and it is spent
on first use; the session token stays in the cookie var SessionState already holds.
"""

from __future__ import annotations

import inspect
from typing import Any

import reflex as rx

from skypanel.backend.services import console as console_service
from skypanel.backend.services import orgs, servers
from skypanel.backend.services.context import Actor
from skypanel.backend.services.errors import AuthRequired, NotFound, PermissionDenied, ServiceError
from skypanel.state.formatting import server_status_color
from skypanel.state.session import SessionState, active_org

NOT_FOUND = servers.SERVER_NOT_FOUND
CONN_STATES = ("idle", "connecting", "connected", "closed")
MAX_REASON = 300

# Why a console cannot be opened -> (icon, title). The service's reason is the description.
BLOCKERS = {
    "permission": ("lock", "You cannot open this console"),
    "suspended": ("octagon-pause", "This server is suspended"),
    "stopped": ("power-off", "The server is not running"),
    "credentials": ("key-round", "No root password is stored"),
    "other": ("terminal", "The console is not available"),
}


def blocker_kind(data: dict[str, Any], reason_error: bool = False) -> str:
    """Which panel explains an unavailable console, from what get_server says about the server."""
    if reason_error or not data.get("can_manage"):
        return "permission"
    if data.get("suspended") or data.get("suspended_message"):
        return "suspended"
    if data.get("status") != "running":
        return "stopped"
    if not data.get("has_root_password"):
        return "credentials"
    return "other"


class ConsoleState(SessionState):
    """View model for the console (tab and full-screen page)."""

    # "loading" | "ready" | "missing"
    view: str = "loading"
    console_server_id: str = ""
    label: str = ""
    srv_status: str = ""
    srv_status_label: str = ""
    srv_busy: bool = False
    primary_ip: str = ""
    ssh_port: int = 22

    available: bool = False
    blocker: str = ""  # "" when available, else a key of BLOCKERS
    reason: str = ""
    can_reset_password: bool = False

    # The connection the component holds. The ticket is single use and lives 30 s; it is dropped
    # as soon as the component reports it has taken it.
    ws_path: str = ""
    ticket: str = ""
    minting: bool = False
    conn_state: str = "idle"
    conn_reason: str = ""

    _org_id: str = ""

    # ---- derived ----
    @rx.var
    def srv_status_color(self) -> str:
        return server_status_color(self.srv_status)

    @rx.var
    def blocker_icon(self) -> str:
        return BLOCKERS.get(self.blocker, BLOCKERS["other"])[0]

    @rx.var
    def blocker_title(self) -> str:
        return BLOCKERS.get(self.blocker, BLOCKERS["other"])[1]

    @rx.var
    def connect_label(self) -> str:
        return "Connect" if self.conn_state == "idle" else "Reconnect"

    @rx.var
    def server_href(self) -> str:
        return f"/vps/{self.console_server_id}" if self.console_server_id else "/vps"

    @rx.var
    def console_href(self) -> str:
        return f"/vps/{self.console_server_id}/console" if self.console_server_id else "/vps"

    # ---- helpers ----
    def _route_server_id(self) -> str:
        value = getattr(self, "server_id", "")
        return value if isinstance(value, str) else ""

    def _reset_view(self) -> None:
        self.view = "loading"
        self.label = self.srv_status = self.srv_status_label = self.primary_ip = ""
        self.srv_busy = False
        self.available = False
        self.blocker = self.reason = ""
        self.can_reset_password = False
        self.ws_path = self.ticket = ""
        self.minting = False
        self.conn_state, self.conn_reason = "idle", ""
        self._org_id = ""

    def _find(self, actor: Actor) -> dict[str, Any]:
        """The server among my organizations (the active one first): (data), remembering the org."""
        active = active_org(actor)
        candidates = [active] + [o for o in orgs.list_my_organizations(actor) if o["id"] != active["id"]]
        for org in candidates:
            try:
                data = servers.get_server(actor, org["id"], self.console_server_id)
            except NotFound:
                continue
            self._org_id = str(org["id"])
            return data
        raise NotFound(NOT_FOUND)

    def _apply_server(self, data: dict[str, Any]) -> None:
        self.label = str(data.get("label") or "")
        self.srv_status = str(data.get("status") or "")
        self.srv_status_label = str(data.get("status_label") or self.srv_status.title())
        self.srv_busy = bool(data.get("busy"))
        self.primary_ip = str(data.get("primary_ip") or "")
        self.ssh_port = int(data.get("ssh_port") or 22)
        caps = data.get("capabilities") or {}
        self.can_reset_password = bool(data.get("can_manage")) and bool(caps.get("root_password_reset"))

    def _check(self, actor: Actor) -> bool:
        """Find the server, ask the service whether a console can open; True when it can."""
        data = self._find(actor)
        self._apply_server(data)
        try:
            status = console_service.console_status(actor, self._org_id, self.console_server_id)
            available, reason, refused = bool(status.get("available")), str(status.get("reason") or ""), False
        except PermissionDenied as exc:
            available, reason, refused = False, exc.message, True
        self.available = available
        self.reason = reason[:MAX_REASON]
        self.blocker = "" if available else blocker_kind(data, refused)
        self.view = "ready"
        return available

    # ---- events ----
    @rx.event
    def load(self):
        """on_load of the full-screen page and on_mount of the Console tab: check, then connect."""
        self._reset_view()
        self.console_server_id = self._route_server_id()
        try:
            actor = self._require_actor()
            available = self._check(actor)
        except NotFound:
            self.view = "missing"
            return None
        except ServiceError as exc:
            if not isinstance(exc, AuthRequired):
                self.view = "missing"
            return self._fail(exc)
        return ConsoleState.connect if available else None

    @rx.event
    async def connect(self):
        """Connect / Reconnect: a fresh single-use ticket; the component reconnects when it changes."""
        if self.minting:
            return
        try:
            actor = self._require_actor()
        except ServiceError as exc:
            yield self._fail(exc)
            return
        if self.view != "ready" or not self._org_id or self.console_server_id != self._route_server_id():
            yield rx.toast.error(NOT_FOUND)
            return
        self.minting = True
        yield
        try:
            result = console_service.mint_ticket(actor, self._org_id, self.console_server_id, self.session_token)
            if inspect.isawaitable(result):
                result = await result
            ticket, path = str(result.get("ticket") or ""), str(result.get("path") or "")
            if not ticket or not path.startswith("/ws/console/"):
                raise ServiceError("The console could not be opened. Try again.")
            self.ticket, self.ws_path = ticket, path
            self.conn_state, self.conn_reason = "connecting", ""
        except ServiceError as exc:
            self.minting = False
            if isinstance(exc, AuthRequired):
                yield self._fail(exc)
                return
            # Say why on the page too (stopped, suspended, no password, permission gone).
            try:
                self._check(actor)
            except NotFound:
                self.view = "missing"
            except ServiceError:
                pass
            yield rx.toast.error(exc.message)
            return
        self.minting = False

    @rx.event
    def status_changed(self, state: str, reason: str = ""):
        """The component's connection status (view only: nothing protected is read or changed)."""
        if not isinstance(state, str) or state not in CONN_STATES or not isinstance(reason, str):
            return
        self.conn_state = state
        self.conn_reason = reason[:MAX_REASON]
        if state == "connecting":
            self.ticket = ""  # the component has taken it (single use): nothing stale stays here

    @rx.event
    def check_again(self):
        """The "Check again" button of an unavailable console: a fresh look, and connect if it can."""
        return ConsoleState.load
