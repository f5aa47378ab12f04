"""A browser tab's server side, without the browser: drive the real Reflex event handlers.

`Client` builds the whole state tree (`State(_reflex_internal_init=True)`), carries a session
cookie and the router data a page load carries, and runs events through Reflex's own
`process_event` (payload conversion, generator handlers, the delta sent back), recording every
delta and every event (redirects, toasts, downloads) that would travel to the browser.

Used by the tests that check what a browser can do and what it is sent (tenancy, secrets).
"""

from __future__ import annotations

import base64
import json
import urllib.parse
import uuid
from typing import Any

from reflex.state import State
from reflex_base.event.context import EventContext
from reflex_base.event.processor.base_state_processor import process_event

from skypanel.state.session import SessionState

_pages_registered = False


def register_pages() -> None:
    """As in the running app: every @rx.page registered, so route args like [org_id] are state vars.

    Pages are added once per test session; Reflex's registration context is put into the calling
    test's context every time (an async test runs in its own copy, so what an earlier test set is
    not seen here). It stays set for the rest of the test.
    """
    global _pages_registered
    from skypanel.skypanel import app

    app.set_contexts()  # sets what is missing now; the returned reset handle is deliberately unused
    if not _pages_registered:
        app._apply_decorated_pages()
        _pages_registered = True


class Client:
    """One browser tab's server side: a full state tree, its session cookie and what it was sent."""

    def __init__(self, session_token: str, ip: str):
        self.ip = ip
        self.root = State(_reflex_internal_init=True)
        self.router_data: dict[str, Any] = {}
        self.token = uuid.uuid4().hex
        self.sent_events: list[Any] = []
        self.sent_deltas: list[Any] = []
        self.session_token = session_token
        self._log_start = 0

    async def open(self, route: str, path: str, params: dict[str, str] | None = None) -> None:
        """Navigate: the router data a page load carries (route pattern, real path, params)."""
        data = {
            "pathname": route,
            "asPath": path,
            "query": dict(params or {}),
            "headers": {"origin": "http://localhost:3000", "user-agent": "pytest-state-client"},
            "ip": self.ip,
            "token": self.token,
            "sid": "sid-" + self.token[:8],
        }
        self.router_data = self.root._update_router_vars(data, self.root.router_data or {})
        self.root.router_data = self.router_data
        (await self.root.get_state(SessionState)).session_token = self.session_token

    async def call(self, state_cls: type, handler: str, **payload: Any) -> str:
        """Run one event as the browser would send it; return everything sent back, as text."""
        start_events, start_deltas = len(self.sent_events), len(self.sent_deltas)

        async def emit_event(_token, *events):
            self.sent_events.extend(events)

        async def enqueue(_token, *events):
            self.sent_events.extend(events)

        async def emit_delta(_token, delta):
            self.sent_deltas.append(delta)

        ctx = EventContext(
            token=self.token,
            state_manager=None,  # the tree lives here; nothing asks the manager
            enqueue_impl=enqueue,
            emit_event_impl=emit_event,
            emit_delta_impl=emit_delta,
            router_data=self.router_data,
        )
        state = await self.root.get_state(state_cls)
        with ctx:
            await process_event(
                handler=state_cls.event_handlers[handler], payload=payload, state=state, root_state=self.root
            )
        return as_text(self.sent_events[start_events:], self.sent_deltas[start_deltas:])

    def everything_sent(self) -> str:
        return as_text(self.sent_events, self.sent_deltas) + json.dumps(self.root.dict(), default=str)


def decode_data_urls(value: Any) -> str:
    """Downloads travel as data: URLs (base64 or percent-encoded): read what is inside."""
    out = []
    text = json.dumps(value, default=str)
    for part in text.split('"'):
        if part.startswith("data:") and "," in part:
            meta, body = part[5:].split(",", 1)
            try:
                out.append(base64.b64decode(body).decode(errors="replace") if meta.endswith(";base64")
                           else urllib.parse.unquote(body))
            except ValueError:
                out.append(part)
    return "\n".join(out)


def as_text(events: list[Any], deltas: list[Any]) -> str:
    payloads = [{"name": e.name, "payload": e.payload} for e in events]
    return json.dumps(payloads, default=str) + json.dumps(deltas, default=str) + decode_data_urls(payloads)
