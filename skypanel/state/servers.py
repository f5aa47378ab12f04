"""/vps: the active organization's servers, searchable and paged, with live status badges.

The organization comes from the signed-in user on the server (the shell's active organization,
refreshed with every fetch); every read goes
through `services.servers`, which checks `vps_view` in that organization, so a browser cannot ask
for another organization's servers. Whether the "Create server" button shows is decided here, from
the permissions the organization service returns (the wizard's handlers check `vps_create` again).

Live status: while the page is open a background task (`poll`) reads the statuses of the servers
on the current page every POLL_FAST seconds when one of them is changing state and every POLL_SLOW
seconds otherwise, and updates their badges and addresses in place. It re-checks the session on
every round and stops when the user leaves the page (the page's `on_unmount` calls `stop_polling`;
a later navigation or reload also changes the route the task checks), when the tab's websocket is
gone, or when a newer `poll` of the same tab started (only the newest one runs).
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime, timezone
from typing import Any

import reflex as rx

from skypanel.backend.services import servers
from skypanel.backend.services.errors import NotFound, PermissionDenied, ServiceError
from skypanel.state.formatting import format_datetime, format_money, relative_time, server_status_color
from skypanel.state.paging import ALL, SearchMixin
from skypanel.state.session import SessionState, user_zone

ROUTE = "/vps"
POLL_FAST = 3.0  # seconds between rounds while a server on the page is changing state
POLL_SLOW = 15.0  # seconds between rounds otherwise

# The statuses a live server can have, in the order the filter lists them (failed and deleted
# servers are not in the list at all).
STATUS_FILTERS: list[tuple[str, str]] = [
    (s, servers.STATUS_LABELS[s])
    for s in ("running", "offline", "provisioning", "booting", "rebooting", "stopping", "rebuilding", "resizing",
              "creating", "deleting", "unknown")
]
STATUS_VALUES = {value for value, _ in STATUS_FILTERS}

# The same palette as the server page (state/server_detail.py).
@dataclasses.dataclass
class ServerRow:
    """One row of the list (what the browser is sent about a server)."""

    id: str = ""
    href: str = ""
    label: str = ""
    simulated: bool = False
    status: str = ""
    status_label: str = ""
    status_color: str = "gray"
    busy: bool = False
    primary_ip: str = ""
    more_ips: str = ""
    plan_name: str = ""
    region_label: str = ""
    monthly: str = ""
    created: str = ""
    created_exact: str = ""


def _status_fields(status: str, label: str | None = None) -> dict[str, Any]:
    return {
        "status": status,
        "status_label": label or servers.STATUS_LABELS.get(status, status.title()),
        "status_color": server_status_color(status),
        "busy": status in servers.TRANSITIONAL,
    }


def _ip_fields(ipv4: list[str]) -> dict[str, str]:
    ips = [ip for ip in ipv4 if isinstance(ip, str) and ip]
    return {"primary_ip": ips[0] if ips else "", "more_ips": f"+{len(ips) - 1}" if len(ips) > 1 else ""}


def server_view_rows(items: list[dict[str, Any]], zone, now: datetime) -> list[ServerRow]:
    """Service server summaries -> what a row of the list shows."""
    return [
        ServerRow(
            id=item["id"],
            href=f"/vps/{item['id']}",
            label=item["label"],
            simulated=bool(item.get("simulated")),
            **_status_fields(item["status"], item.get("status_label")),
            **_ip_fields(list(item.get("ipv4") or [])),
            plan_name=item.get("plan_name") or "—",
            region_label=item.get("region_label") or item.get("region") or "—",
            monthly=format_money(item.get("monthly") or "0"),
            created=relative_time(item.get("created_at"), now=now),
            created_exact=format_datetime(item.get("created_at"), zone),
        )
        for item in items
    ]


def apply_statuses(rows: list[ServerRow], fresh: dict[str, dict[str, Any]]) -> list[ServerRow]:
    """The rows with the statuses and addresses `servers.statuses` returned (others unchanged)."""
    out = []
    for row in rows:
        now = fresh.get(row.id)
        if now is None:
            out.append(row)
            continue
        status = "deleted" if now.get("deleted") else str(now.get("status") or row.status)
        out.append(dataclasses.replace(
            row, **_status_fields(status, None if now.get("deleted") else now.get("status_label")),
            **_ip_fields(list(now.get("ipv4") or []))))
    return out


async def _tab_connected(token: str) -> bool:
    """False once this tab's websocket is gone (tab closed) on every app instance. True when it
    cannot be told (no running app)."""
    try:
        from skypanel.skypanel import app
    except Exception:  # noqa: BLE001 - no app: assume the tab is there
        return True
    namespace = app.event_namespace
    if namespace is None or not token:
        return True
    manager = getattr(namespace, "_token_manager", None)
    if manager is not None and hasattr(manager, "is_token_connected"):
        return await manager.is_token_connected(token)
    return token in namespace.token_to_sid


class ServersState(SearchMixin, SessionState):
    denied: bool = False
    can_create: bool = False
    org_name: str = ""
    rows: list[ServerRow] = []
    status_filter: str = ALL
    live: bool = False  # the status poller is running (the page says "Live")

    _org_id: str = ""
    _poll_generation: int = 0

    @rx.var
    def filtered(self) -> bool:
        return self.status_filter != ALL or bool(self.search)

    @rx.var
    def any_busy(self) -> bool:
        return any(r.busy for r in self.rows)

    # ---- server-side helpers ----
    def _fetch(self) -> None:
        actor = self._require_actor()
        # The shell (user, organizations, permissions) is refreshed here rather than by a separate
        # `require_login` event: one event, one delta, one render for the first page of rows.
        self._refresh_shell(actor)
        if not self.active_org_id:
            raise NotFound("You are not a member of any organization yet.")
        org = {"id": self.active_org_id, "name": self.active_org_name}
        self._org_id = str(org["id"])
        self.org_name = org["name"]
        self.can_create = "vps_create" in self.permissions
        status = self.status_filter if self.status_filter in STATUS_VALUES else ""
        items = self._fetch_page(lambda limit, offset: servers.list_servers(
            actor, org["id"], search=self.search.strip(), status=status, limit=limit, offset=offset))
        self.rows = server_view_rows(items, user_zone(actor), datetime.now(timezone.utc))
        self.denied = False

    def _fail(self, exc: ServiceError):
        """A role without vps_view gets the page's "no access" panel instead of rows."""
        if isinstance(exc, PermissionDenied):
            self.denied = True
            self.rows = []
            self.total = 0
            self.can_create = False
            return None
        return super()._fail(exc)

    async def _watching(self, generation: int) -> bool:
        """The poller of `generation` should go on: it is the newest, the tab still shows this page
        and its websocket is still connected."""
        return (generation == self._poll_generation and not self.denied
                and (self.router.url.path or "").rstrip("/") == ROUTE
                and await _tab_connected(self.router.session.client_token))

    # ---- events ----
    @rx.event
    def load(self):
        self.status_filter = ALL
        self.search = ""
        self.rows = []
        self._org_id = ""
        self.live = True  # sent with the first rows (one delta); the poller started below keeps it so
        yield from self._load_first_page()
        if self._org_id and not self.denied:
            yield ServersState.poll
        else:
            self.live = False

    @rx.event
    def set_status_filter(self, value: str):
        self.status_filter = value if isinstance(value, str) and value in STATUS_VALUES else ALL
        yield from self._refilter()

    @rx.event
    def clear_filters(self):
        self.status_filter = ALL
        self.search = ""
        yield from self._refilter()

    @rx.event
    def stop_polling(self):
        """The page unmounted (the user went elsewhere in the app): the running poller ends."""
        self._poll_generation += 1
        self.live = False

    @rx.event(background=True)
    async def poll(self):
        """Keep the badges and addresses on this page current until the user leaves (see the
        module docstring). Only the newest poller of a tab runs; older ones end at their next round."""
        async with self:
            self._poll_generation += 1
            generation = self._poll_generation
            self.live = True
        while True:
            async with self:
                if not await self._watching(generation):
                    return
                busy = any(r.busy for r in self.rows)
            await _sleep(POLL_FAST if busy else POLL_SLOW)
            async with self:
                if not await self._watching(generation):
                    return
                try:
                    actor = self._require_actor()  # the session, again, every round
                except ServiceError as exc:
                    self.live = False
                    return self._fail(exc)
                org_id, ids = self._org_id, [r.id for r in self.rows]
            if not ids:
                continue
            try:
                fresh = await asyncio.to_thread(servers.statuses, actor, org_id, ids)
            except ServiceError as exc:
                async with self:
                    if generation == self._poll_generation:
                        self.live = False
                        return self._fail(exc)
                return None
            async with self:
                if not await self._watching(generation):
                    return
                # Rows may have changed (another page, a search) while we read: apply by id.
                self.rows = apply_statuses(self.rows, fresh)


async def _sleep(seconds: float) -> None:
    """The pause between two rounds (a seam for tests)."""
    await asyncio.sleep(seconds)
