"""/vps/[server_id]: one server — status, power, usage, backups, networking, rebuild, resize,
root password, notes, activity and deletion.

Every handler calls `servers.*` with the organization found on load and the id from the URL; the
service checks the permission again each time (another organization's server is "not found").
What the page offers follows `can_manage` / `can_delete` / capabilities from `get_server`, which
is presentation only.

Passwords never enter this state. A typed root password or account password travels in the
submitted form to the handler and on to the service. A generated root password is written by a
one-off script straight into the form's input (so the person can see and copy it once) and is
sent back with the form like a typed one; the input is emptied after it was used.

Provider calls (power, rebuild, resize, backups, reverse DNS, usage, delete) run as background
events. The status badge is kept current by `poll`, a background loop started on load that reads
`servers.statuses` (our rows, kept current by the sync job: no provider call) every 3 s while the
server is changing and every 15 s otherwise, and ends when the tab leaves this page or disconnects.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, Awaitable, Callable

import reflex as rx

from skypanel.backend.services import auth, orgs, servers
from skypanel.backend.services.context import Actor
from skypanel.backend.services.errors import AuthRequired, NotFound, ServiceError
from skypanel.state.activity import activity_view_rows
from skypanel.state.formatting import format_datetime, format_money, relative_time, server_status_color
from skypanel.state.session import BAD_REQUEST, SessionState, active_org, form_values, user_zone

NOT_FOUND = servers.SERVER_NOT_FOUND
TABS = ("overview", "console", "usage", "backups", "networking", "rebuild", "resize", "password", "notes", "activity",
        "delete")
ACTIVITY_PAGE_SIZE = 20
USAGE_MAX_POINTS = 288  # a chart needs no more; longer series are averaged into buckets
POLL_STEP = 3  # seconds between checks of "is this tab still here"
POLL_FAST = 3  # while the server is changing
POLL_SLOW = 15  # otherwise
POLL_MAX_SECONDS = 6 * 3600  # a forgotten tab stops polling eventually

# The password inputs a generated password is written into (ids in the page).
PASSWORD_INPUTS = {"rebuild": "rebuild-root-password", "reset": "reset-root-password"}

PENDING_TEXT = {
    "boot": "Powering on…", "shutdown": "Shutting down…", "reboot": "Rebooting…", "rebuild": "Rebuilding…",
    "resize": "Resizing…", "backup_restored": "Restoring a backup…",
}
POWER_DONE = {"boot": "Powering on {label}…", "shutdown": "Shutting down {label}…", "reboot": "Rebooting {label}…"}


# ---- formatting (pure) -------------------------------------------------------------------

def size_label(mb_or_gb: int, unit: str) -> str:
    """1024 MB -> "1 GB", 512 MB -> "512 MB", 2000 GB -> "2 TB"."""
    value = int(mb_or_gb or 0)
    if unit == "MB":
        if value >= 1024 and value % 1024 == 0:
            return f"{value // 1024:,} GB"
        return f"{value:,} MB" if value < 1024 else f"{value / 1024:.1f} GB"
    if value >= 1000:
        return f"{value / 1000:g} TB"
    return f"{value:,} GB"


def pending_text(pending_action: str, status: str, status_label: str) -> str:
    """What the header says while the server is changing ("Rebooting…"); "" when it is not."""
    if status not in servers.TRANSITIONAL:
        return ""
    return PENDING_TEXT.get(pending_action) or f"{status_label}…"


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return Decimal(0)


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def _bucket(points: list[dict[str, Any]], limit: int = USAGE_MAX_POINTS) -> list[dict[str, Any]]:
    """At most `limit` points: consecutive points averaged (a week of 5-minute samples -> ~35 min)."""
    if len(points) <= limit:
        return points
    size = math.ceil(len(points) / limit)
    out = []
    for i in range(0, len(points), size):
        chunk = points[i:i + size]
        out.append({"at": chunk[0]["at"], **{k: _mean([p[k] for p in chunk]) for k in ("cpu", "net_in", "net_out",
                                                                                     "disk_io")}})
    return out


def _rate_unit(peak: float) -> tuple[str, float]:
    for unit, size in (("Gbit/s", 1e9), ("Mbit/s", 1e6), ("kbit/s", 1e3)):
        if peak >= size:
            return unit, size
    return "bit/s", 1.0


def usage_view(data: dict[str, Any], period: str, zone) -> dict[str, Any]:
    """servers.usage -> chart rows (numbers rounded, times in the user's zone) and labels."""
    points = []
    for p in data.get("points") or []:
        try:
            at = datetime.fromisoformat(str(p.get("at")))
        except ValueError:
            continue
        points.append({"at": at if at.tzinfo else at.replace(tzinfo=timezone.utc),
                       "cpu": _number(p.get("cpu")), "net_in": _number(p.get("net_in")),
                       "net_out": _number(p.get("net_out")), "disk_io": _number(p.get("disk_io"))})
    points.sort(key=lambda p: p["at"])
    points = _bucket(points)
    peak = max([v for p in points for v in (p["net_in"], p["net_out"]) if v is not None] or [0.0])
    unit, size = _rate_unit(peak)
    fmt = "%H:%M" if period == "24h" else "%a %H:%M"

    def r(v: float | None, scale: float = 1.0) -> float | None:
        return None if v is None else round(v / scale, 2)

    rows = [{"t": p["at"].astimezone(zone).strftime(fmt), "cpu": r(p["cpu"]), "net_in": r(p["net_in"], size),
             "net_out": r(p["net_out"], size), "disk": r(p["disk_io"])} for p in points]
    transfer = data.get("transfer") or None
    view = {
        "rows": rows,
        "net_unit": unit,
        "has_cpu": any(row["cpu"] is not None for row in rows),
        "has_net": any(row["net_in"] is not None or row["net_out"] is not None for row in rows),
        "has_disk": any(row["disk"] is not None for row in rows),
        "has_transfer": False, "transfer_text": "", "transfer_pct": 0, "transfer_left": "", "transfer_used": "",
        "transfer_quota": "", "transfer_resets": "",
    }
    if transfer:
        used, quota = _decimal(transfer.get("used_gb")), _decimal(transfer.get("quota_gb"))
        pct = int(min(100, max(0, (used / quota * 100) if quota > 0 else 0)))
        now = datetime.now(timezone.utc)
        reset = (now.replace(day=28) + timedelta(days=4)).replace(day=1)
        view.update({
            "has_transfer": True,
            "transfer_used": _gb(used),
            "transfer_quota": _gb(quota),
            "transfer_resets": f"on {reset:%b} {reset.day}",
            "transfer_text": f"{_gb(used)} of {_gb(quota)} used this month",
            "transfer_pct": pct,
            "transfer_left": f"{_gb(max(quota - used, Decimal(0)))} left" if quota > 0 else "",
        })
    return view


def _gb(value: Decimal) -> str:
    if value >= 1000:
        return f"{value / 1000:,.2f}".rstrip("0").rstrip(".") + " TB"
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{text} GB"


def _js_set_input(input_id: str, value: str) -> str:
    """A script that writes `value` into the input `input_id` (values as JSON: no injection)."""
    return (f"(() => {{ const el = document.getElementById({json.dumps(input_id)}); "
            f"if (el) {{ el.value = {json.dumps(value)}; }} }})()")


def js_copy_input(input_id: str) -> str:
    """A script (run in the browser on click) copying what an input holds: the value never comes here."""
    return (f"(() => {{ const el = document.getElementById({json.dumps(input_id)}); "
            f"if (el && el.value) {{ navigator.clipboard.writeText(el.value); }} }})()")


class ServerDetailState(SessionState):
    """View model for /vps/[server_id]."""

    # "loading" | "ready" | "missing"
    status: str = "loading"
    detail_id: str = ""
    tab: str = "overview"
    org_name: str = ""
    other_org: bool = False  # the server belongs to one of my organizations that is not the active one
    totp_enabled: bool = False

    # header
    label: str = ""
    srv_status: str = ""
    status_label: str = ""
    busy: bool = False
    pending_action: str = ""
    last_error: str = ""
    suspended_message: str = ""  # suspended for an unpaid balance: what to add (services/dunning.py)
    primary_ip: str = ""
    simulated: bool = False
    provider_kind: str = ""
    provider_label: str = ""

    # overview
    ipv4: list[str] = []
    ipv6: str = ""
    region_label: str = ""
    region: str = ""
    image_label: str = ""
    image_id: str = ""
    plan_name: str = ""
    vcpus: int = 0
    memory_text: str = ""
    disk_text: str = ""
    transfer_text: str = ""
    monthly: str = ""
    hourly: str = ""
    cost_this_month: str = ""
    created: str = ""
    created_ago: str = ""
    synced_ago: str = ""
    ssh_port: int = 22
    backups_enabled: bool = False
    backup_monthly: str = ""
    has_backup_price: bool = False

    # what the actor may do (the service decides again on every call)
    can_manage: bool = False
    can_delete: bool = False
    can_notes: bool = False
    can_view_notes: bool = False
    cap_backups: bool = False
    cap_restore: bool = False
    cap_rebuild: bool = False
    cap_resize: bool = False
    cap_reverse_dns: bool = False
    cap_usage: bool = False
    cap_transfer: bool = False
    cap_root_password_reset: bool = False

    # the change running from this tab ("reboot", "rebuild", "resize", "backups", "restore:<id>", ...)
    action_busy: str = ""

    # usage
    usage_period: str = "24h"
    usage_loading: bool = False
    usage_loaded: bool = False
    usage_error: str = ""
    usage_rows: list[dict[str, Any]] = []
    usage_net_unit: str = "bit/s"
    usage_has_cpu: bool = False
    usage_has_net: bool = False
    usage_has_disk: bool = False
    usage_has_transfer: bool = False
    usage_transfer_text: str = ""
    usage_transfer_used: str = ""
    usage_transfer_quota: str = ""
    usage_transfer_resets: str = ""
    usage_transfer_left: str = ""
    usage_transfer_pct: int = 0

    # backups
    backups: list[dict[str, str]] = []
    backups_loading: bool = False
    backups_loaded: bool = False
    backups_error: str = ""

    # networking
    rdns_open: bool = False
    rdns_ip: str = ""
    rdns_error: str = ""

    # rebuild
    images: list[dict[str, str]] = []
    rebuild_image: str = ""
    rebuild_confirm: str = ""
    show_rebuild_pw: bool = False

    # resize
    resize_plans: list[dict[str, str]] = []
    resize_loaded: bool = False
    resize_open: bool = False
    resize_plan_id: str = ""
    quote: dict[str, str] = {}

    # root password reset
    show_reset_pw: bool = False
    reset_error: str = ""

    # notes
    notes: str = ""
    notes_version: int = 0  # remounts the text area after a load or save

    # activity
    activity_rows: list[dict[str, str]] = []
    activity_page: int = 1
    activity_total: int = 0

    # delete
    delete_open: bool = False
    delete_confirm: str = ""
    delete_error: str = ""

    # server side only
    _org_id: str = ""
    _poll_generation: int = 0

    # ---- derived ----
    @rx.var
    def status_color(self) -> str:
        return server_status_color(self.srv_status)

    @rx.var
    def pending_text(self) -> str:
        return pending_text(self.pending_action, self.srv_status, self.status_label)

    @rx.var
    def can_boot(self) -> bool:
        return self.can_manage and self.srv_status == "offline"

    @rx.var
    def can_stop(self) -> bool:
        return self.can_manage and self.srv_status == "running"

    @rx.var
    def show_rebuild(self) -> bool:
        return self.can_manage and self.cap_rebuild

    @rx.var
    def show_resize(self) -> bool:
        return self.can_manage and self.cap_resize

    @rx.var
    def show_password_tab(self) -> bool:
        return self.can_manage and self.cap_root_password_reset

    @rx.var
    def is_digitalocean(self) -> bool:
        return self.provider_kind == "digitalocean"

    @rx.var
    def rebuild_ready(self) -> bool:
        return bool(self.rebuild_image) and bool(self.label) and self.rebuild_confirm.strip() == self.label

    @rx.var
    def delete_ready(self) -> bool:
        return bool(self.label) and self.delete_confirm.strip() == self.label

    @rx.var
    def activity_pages(self) -> int:
        return max(1, math.ceil(self.activity_total / ACTIVITY_PAGE_SIZE))

    @rx.var
    def ip_rows(self) -> list[dict[str, str]]:
        rows = [{"ip": ip, "version": "IPv4", "primary": "yes" if i == 0 else ""} for i, ip in enumerate(self.ipv4)]
        if self.ipv6:
            rows.append({"ip": self.ipv6.split("/")[0], "version": "IPv6", "primary": ""})
        return rows

    # ---- loading ----
    def _route_server_id(self) -> str:
        """The [server_id] route arg: Reflex adds it to the root state as a var of that name."""
        value = getattr(self, "server_id", "")
        return value if isinstance(value, str) else ""

    def _reset_view(self) -> None:
        self.status = "loading"
        self.tab = "overview"
        self.action_busy = ""
        self.label = self.srv_status = self.status_label = self.primary_ip = ""
        self.other_org = False
        self.usage_loaded = self.usage_loading = False
        self.usage_rows, self.usage_error, self.usage_period = [], "", "24h"
        self.backups, self.backups_loaded, self.backups_loading, self.backups_error = [], False, False, ""
        self.images, self.rebuild_image, self.rebuild_confirm = [], "", ""
        self.resize_plans, self.resize_loaded, self.resize_open = [], False, False
        self.resize_plan_id, self.quote = "", {}
        self.rdns_open, self.rdns_ip, self.rdns_error = False, "", ""
        self.show_rebuild_pw = self.show_reset_pw = False
        self.reset_error = ""
        self.notes = ""
        self.activity_rows, self.activity_page, self.activity_total = [], 1, 0
        self.delete_open, self.delete_confirm, self.delete_error = False, "", ""

    @rx.event
    def load(self):
        """on_load: find the server among my organizations (the active one first), then start polling."""
        self._reset_view()
        self._org_id = ""
        self.detail_id = self._route_server_id()
        try:
            actor = self._require_actor()
            self._open(actor)
        except NotFound:
            self.status = "missing"
            return None
        except ServiceError as exc:
            if not isinstance(exc, AuthRequired):
                self.status = "missing"
            return self._fail(exc)
        # A link may open a tab (the console's "Set a root password" -> ?tab=password).
        wanted = self.router.url.query_parameters.get("tab", "")
        if wanted in TABS and wanted != "overview":
            return [ServerDetailState.poll, ServerDetailState.set_tab(wanted)]
        return ServerDetailState.poll

    def _open(self, actor: Actor) -> None:
        active = active_org(actor)
        candidates = [active] + [o for o in orgs.list_my_organizations(actor) if o["id"] != active["id"]]
        for org in candidates:
            try:
                data = servers.get_server(actor, org["id"], self.detail_id)
            except NotFound:
                continue
            self._org_id = str(org["id"])
            self.org_name = org["name"]
            self.other_org = org["id"] != active["id"]
            self.totp_enabled = bool(auth.get_me(actor).get("totp_enabled"))
            self._apply(data, actor)
            self.status = "ready"
            return
        raise NotFound(NOT_FOUND)

    def _load_server(self, actor: Actor) -> None:
        self._apply(servers.get_server(actor, self._org_id, self.detail_id), actor)

    def _apply(self, d: dict[str, Any], actor: Actor) -> None:
        zone = user_zone(actor)
        self.label = d["label"]
        self._apply_status(d)
        self.suspended_message = str(d.get("suspended_message") or "")
        self.simulated = bool(d.get("simulated"))
        self.provider_kind = str(d.get("provider_kind") or "")
        self.provider_label = str(d.get("provider_label") or "")
        self.ipv6 = str(d.get("ipv6") or "")
        self.region = str(d.get("region") or "")
        self.region_label = str(d.get("region_label") or self.region)
        self.image_label = str(d.get("image_label") or d.get("image") or "")
        self.image_id = str(d.get("image") or "")
        self.plan_name = str(d.get("plan_name") or "")
        self.vcpus = int(d.get("vcpus") or 0)
        self.memory_text = size_label(d.get("memory_mb") or 0, "MB")
        self.disk_text = size_label(d.get("disk_gb") or 0, "GB")
        self.transfer_text = size_label(d.get("transfer_gb") or 0, "GB") if d.get("transfer_gb") else "—"
        self.monthly = format_money(d.get("monthly") or "0")
        self.hourly = format_money(d.get("hourly") or "0")
        self.cost_this_month = format_money(d.get("cost_this_month") or "0")
        self.created = format_datetime(d.get("created_at"), zone)
        self.created_ago = relative_time(d.get("created_at"))
        self.synced_ago = relative_time(d.get("synced_at")) if d.get("synced_at") else ""
        self.ssh_port = int(d.get("ssh_port") or 22)
        self.backups_enabled = bool(d.get("backups_enabled"))
        self.backup_monthly = format_money(d.get("backup_monthly") or "0")
        self.has_backup_price = _decimal(d.get("backup_monthly")) > 0
        self.can_manage = bool(d.get("can_manage"))
        self.can_delete = bool(d.get("can_delete"))
        self.can_notes = bool(d.get("can_notes"))
        self.can_view_notes = bool(d.get("can_view_notes"))
        caps = d.get("capabilities") or {}
        for name in ("backups", "restore", "rebuild", "resize", "reverse_dns", "usage", "transfer",
                     "root_password_reset"):
            setattr(self, f"cap_{name}", bool(caps.get(name)))
        if self.notes != (d.get("notes") or ""):
            self.notes = str(d.get("notes") or "")
            self.notes_version += 1

    def _apply_status(self, d: dict[str, Any]) -> None:
        self.srv_status = str(d.get("status") or "")
        self.status_label = str(d.get("status_label") or self.srv_status.title())
        self.busy = bool(d.get("busy"))
        self.pending_action = str(d.get("pending_action") or "")
        self.last_error = str(d.get("last_error") or "")
        self.ipv4 = [str(ip) for ip in d.get("ipv4") or []]
        self.primary_ip = str(d.get("primary_ip") or "")

    def _fail(self, exc: ServiceError):
        """As SessionState's; and if the server is gone for me meanwhile, show the not-found view."""
        if isinstance(exc, NotFound) and self.status == "ready":
            try:
                servers.get_server(self._require_actor(), self._org_id, self.detail_id)
            except ServiceError:
                self.status = "missing"
                return rx.toast.error(NOT_FOUND)
        return super()._fail(exc)

    def _ready_actor(self) -> Actor:
        """The signed-in actor, on a page showing a server (else NotFound, nothing called)."""
        actor = self._require_actor()
        if self.status != "ready" or not self._org_id:
            raise NotFound(NOT_FOUND)
        return actor

    # ---- live status ----
    def _polling_here(self) -> bool:
        """Still on this server's page (a navigation elsewhere changes the tab's router data)."""
        path = self.router.url.path or ""
        return (self.status == "ready" and bool(self.detail_id) and self._route_server_id() == self.detail_id
                and path.rstrip("/").endswith("/" + self.detail_id) and path.startswith("/vps/"))

    def _client_connected(self) -> bool:
        try:
            from skypanel.skypanel import app
            namespace = app.event_namespace
        except Exception:  # noqa: BLE001 - no running app (tests): nothing to ask
            return True
        if namespace is None:
            return True
        return self.router.session.client_token in namespace.token_to_sid

    def _poll_tick(self) -> str:
        """One status read. Returns a message to show when a change finished ("" otherwise)."""
        actor = self._require_actor()
        try:
            row = servers.statuses(actor, self._org_id, [self.detail_id]).get(self.detail_id)
        except NotFound:  # no longer a member (or the organization is gone)
            row = None
        if row is None or row.get("deleted"):
            self.status = "missing"
            return ""
        was_busy = self.busy
        self._apply_status(row)
        if was_busy and not self.busy:
            self._load_server(actor)  # specs, image, plan may have changed
            if self.last_error:
                return ""
            return f"{self.label} is {self.status_label.lower()}."
        return ""

    @rx.event(background=True)
    async def poll(self):
        """Keep the status badge live while this tab shows this server (see the module docstring)."""
        async with self:
            if not self._polling_here():
                return
            self._poll_generation += 1
            generation = self._poll_generation
        started = time.monotonic()
        waited = 0
        while time.monotonic() - started < POLL_MAX_SECONDS:
            await asyncio.sleep(POLL_STEP)
            waited += POLL_STEP
            message = ""
            async with self:
                if (self._poll_generation != generation or not self._polling_here()
                        or not self._client_connected()):
                    return
                if waited < (POLL_FAST if self.busy else POLL_SLOW):
                    continue
                waited = 0
                try:
                    message = self._poll_tick()
                except AuthRequired:
                    return
                except ServiceError:
                    self.status = "missing"
                    return
            if message:
                yield rx.toast.info(message)

    # ---- tabs ----
    @rx.event
    def set_tab(self, value: str):
        if not isinstance(value, str) or value not in TABS:
            return None
        self.tab = value
        self.show_rebuild_pw = self.show_reset_pw = False
        if value == "usage" and not self.usage_loaded:
            return ServerDetailState.load_usage
        if value == "backups" and self.backups_enabled and not self.backups_loaded:
            return ServerDetailState.load_backups
        if value == "rebuild":
            return ServerDetailState.load_images
        if value == "resize":
            return ServerDetailState.load_resize
        if value == "activity":
            return ServerDetailState.load_activity
        return None

    # ---- a provider call from this tab, in the background ----
    async def _run(self, key: str, call: Callable[[Actor, str, str], Awaitable[Any]],
                   done: Callable[[Any], Any] | None = None):
        """Run `call(actor, org_id, server_id)` with `action_busy = key` (spinners), then reload the
        server and return `done(result)` (events) — or the failure's answer. One change at a time."""
        async with self:
            try:
                actor = self._ready_actor()
            except ServiceError as exc:
                return self._fail(exc)
            if self.action_busy:
                return rx.toast.info("Another change to this server is still being sent. Try again in a moment.")
            self.action_busy = key
            org_id, server_id = self._org_id, self.detail_id
        try:
            result = await call(actor, org_id, server_id)
        except ServiceError as exc:
            async with self:
                self.action_busy = ""
                return self._fail(exc)
        except BaseException:
            async with self:
                self.action_busy = ""
            raise
        async with self:
            self.action_busy = ""
            try:
                self._load_server(actor)
            except ServiceError as exc:
                return self._fail(exc)
            return done(result) if done is not None else None

    # ---- power ----
    @rx.event(background=True)
    async def power(self, action: str):
        if not isinstance(action, str) or action not in servers.POWER:
            return rx.toast.error(BAD_REQUEST)

        def done(_result):
            return rx.toast.success(POWER_DONE[action].format(label=self.label))

        return await self._run(action, lambda actor, org, sid: servers.power(actor, org, sid, action), done)

    # ---- usage ----
    @rx.event
    def set_usage_period(self, value: str | list[str]):
        if not isinstance(value, str) or value not in servers.USAGE_PERIODS or value == self.usage_period:
            return None
        self.usage_period = value
        return ServerDetailState.load_usage

    @rx.event(background=True)
    async def load_usage(self):
        async with self:
            try:
                actor = self._ready_actor()
            except ServiceError as exc:
                return self._fail(exc)
            if self.usage_loading:
                return None
            self.usage_loading = True
            self.usage_error = ""
            org_id, server_id, period = self._org_id, self.detail_id, self.usage_period
        try:
            data = await servers.usage(actor, org_id, server_id, period=period)
        except ServiceError as exc:
            async with self:
                self.usage_loading = False
                if isinstance(exc, NotFound):
                    return self._fail(exc)
                self.usage_error = exc.message
                self.usage_rows = []
                self.usage_loaded = True
                return None
        async with self:
            self.usage_loading = False
            if self.usage_period != period:  # the toggle moved on meanwhile: that load wins
                return None
            view = usage_view(data, period, user_zone(actor))
            self.usage_rows = view["rows"]
            self.usage_net_unit = view["net_unit"]
            self.usage_has_cpu, self.usage_has_net, self.usage_has_disk = (
                view["has_cpu"], view["has_net"], view["has_disk"])
            self.usage_has_transfer = view["has_transfer"]
            self.usage_transfer_text = view["transfer_text"]
            self.usage_transfer_used = view["transfer_used"]
            self.usage_transfer_quota = view["transfer_quota"]
            self.usage_transfer_resets = view["transfer_resets"]
            self.usage_transfer_left = view["transfer_left"]
            self.usage_transfer_pct = view["transfer_pct"]
            self.usage_loaded = True
        return None

    # ---- backups ----
    @rx.event(background=True)
    async def load_backups(self):
        async with self:
            try:
                actor = self._ready_actor()
            except ServiceError as exc:
                return self._fail(exc)
            if self.backups_loading:
                return None
            self.backups_loading = True
            self.backups_error = ""
            org_id, server_id = self._org_id, self.detail_id
        try:
            rows = await servers.list_backups(actor, org_id, server_id)
        except ServiceError as exc:
            async with self:
                self.backups_loading = False
                if isinstance(exc, NotFound):
                    return self._fail(exc)
                self.backups_error = exc.message
                self.backups = []
                self.backups_loaded = True
                return None
        async with self:
            zone = user_zone(actor)
            self.backups = [{"id": str(b["id"]), "label": str(b.get("label") or "Backup"),
                             "status": str(b.get("status") or "").replace("_", " "),
                             "created": format_datetime(b.get("created_at"), zone) or "—",
                             "created_ago": relative_time(b.get("created_at"))} for b in rows]
            self.backups_loading = False
            self.backups_loaded = True
        return None

    @rx.event(background=True)
    async def set_backups(self, enabled: bool):
        if not isinstance(enabled, bool):
            return rx.toast.error(BAD_REQUEST)

        def done(_result):
            self.backups, self.backups_loaded = [], False
            if enabled:
                return [rx.toast.success(f"Backups are on for {self.label}. The first one is taken within a day."),
                        ServerDetailState.load_backups]
            return rx.toast.success(f"Backups are off for {self.label}.")

        return await self._run("backups", lambda actor, org, sid: servers.set_backups(actor, org, sid, enabled=enabled),
                               done)

    @rx.event(background=True)
    async def restore_backup(self, backup_id: str):
        if not isinstance(backup_id, str) or not backup_id or len(backup_id) > 120:
            return rx.toast.error(BAD_REQUEST)

        def done(_result):
            return rx.toast.success(f"Restoring the backup onto {self.label}…")

        return await self._run("restore:" + backup_id,
                               lambda actor, org, sid: servers.restore_backup(actor, org, sid, backup_id=backup_id),
                               done)

    # ---- networking: reverse DNS ----
    @rx.event
    def open_rdns(self, ip: str):
        if not isinstance(ip, str) or ip not in [r["ip"] for r in self.ip_rows]:
            return rx.toast.error(BAD_REQUEST)
        self.rdns_ip, self.rdns_error, self.rdns_open = ip, "", True
        return None

    @rx.event
    def set_rdns_open(self, value: bool):
        self.rdns_open = bool(value)
        if not self.rdns_open:
            self.rdns_error = ""

    @rx.event(background=True)
    async def save_rdns(self, form_data: dict):
        values = form_values(form_data, "hostname")
        if values is None:
            return rx.toast.error(BAD_REQUEST)
        hostname = values[0]
        async with self:
            ip = self.rdns_ip
            self.rdns_error = ""

        async def call(actor, org, sid):
            try:
                return await servers.set_reverse_dns(actor, org, sid, ip=ip, hostname=hostname)
            except ServiceError as exc:
                if not isinstance(exc, (NotFound, AuthRequired)):
                    async with self:
                        self.rdns_error = exc.message
                raise

        def done(_result):
            self.rdns_open = False
            return rx.toast.success(f"Reverse DNS of {ip} now points to {hostname.strip().rstrip('.').lower()}.")

        result = await self._run("rdns", call, done)
        async with self:
            if self.rdns_error:  # shown in the dialog; no toast on top
                return None
        return result

    # ---- generated passwords: shown once in the form's input, never kept in state ----
    @rx.event
    def generate_password(self, target: str):
        if not isinstance(target, str) or target not in PASSWORD_INPUTS:
            return rx.toast.error(BAD_REQUEST)
        try:
            self._ready_actor()
        except ServiceError as exc:
            return self._fail(exc)
        if not self.can_manage:
            return None
        if target == "rebuild":
            self.show_rebuild_pw = True
        else:
            self.show_reset_pw = True
        return [rx.call_script(_js_set_input(PASSWORD_INPUTS[target], servers.generate_root_password())),
                rx.toast.info("A strong password was generated. Copy it now: it is not shown again.")]

    @rx.event
    def toggle_show_password(self, target: str):
        if target == "rebuild":
            self.show_rebuild_pw = not self.show_rebuild_pw
        elif target == "reset":
            self.show_reset_pw = not self.show_reset_pw

    # ---- rebuild ----
    @rx.event
    def load_images(self):
        try:
            actor = self._ready_actor()
            self.images = [{"id": i["id"], "label": i["label"]} for i in
                           servers.rebuild_images(actor, self._org_id, self.detail_id)]
        except ServiceError as exc:
            self.images = []
            return self._fail(exc)
        ids = [i["id"] for i in self.images]
        if self.rebuild_image not in ids:  # offer the current image: a rebuild is often a reinstall
            self.rebuild_image = self.image_id if self.image_id in ids else ""
        return None

    @rx.event
    def set_rebuild_image(self, value: str):
        if isinstance(value, str) and value in [i["id"] for i in self.images]:
            self.rebuild_image = value

    @rx.event
    def set_rebuild_confirm(self, value: str):
        if isinstance(value, str):
            self.rebuild_confirm = value[:100]

    @rx.event(background=True)
    async def rebuild(self, form_data: dict):
        values = form_values(form_data, "root_password")
        if values is None:
            return rx.toast.error(BAD_REQUEST)
        async with self:
            if self.rebuild_confirm.strip() != self.label or not self.label:
                return rx.toast.error("Type the server's label exactly to confirm the rebuild.")
            image = self.rebuild_image
            image_label = next((i["label"] for i in self.images if i["id"] == image), image)
            digitalocean = self.provider_kind == "digitalocean"
        if not image:
            return rx.toast.error("Choose an image.")
        # DigitalOcean cannot set a root password on rebuild (the service drops it): pass a throwaway one.
        password = servers.generate_root_password() if digitalocean else values[0]

        def done(_result):
            self.rebuild_confirm = ""
            self.show_rebuild_pw = False
            return [rx.call_script(_js_set_input(PASSWORD_INPUTS["rebuild"], "")),
                    rx.toast.success(f"Rebuilding {self.label} from {image_label}…")]

        return await self._run(
            "rebuild",
            lambda actor, org, sid: servers.rebuild(actor, org, sid, image=image, root_password=password),
            done)

    # ---- resize ----
    @rx.event
    def load_resize(self):
        try:
            actor = self._ready_actor()
            options = servers.resize_options(actor, self._org_id, self.detail_id)
        except ServiceError as exc:
            self.resize_plans = []
            return self._fail(exc)
        self.resize_plans = [{
            "id": p["id"], "name": p["name"], "vcpus": str(p["vcpus"]),
            "memory": size_label(p["memory_mb"], "MB"), "disk": size_label(p["disk_gb"], "GB"),
            "monthly": format_money(p["monthly"]), "hourly": format_money(p["hourly"]),
            "smaller_disk": "yes" if p.get("smaller_disk") else "",
        } for p in options]
        self.resize_loaded = True
        return None

    @rx.event
    def choose_plan(self, plan_id: str):
        if not isinstance(plan_id, str) or plan_id not in [p["id"] for p in self.resize_plans]:
            return rx.toast.error(BAD_REQUEST)
        try:
            actor = self._ready_actor()
            q = servers.resize_quote(actor, self._org_id, self.detail_id, plan_id=plan_id)
        except ServiceError as exc:
            return self._fail(exc)
        diff_m, diff_h = _decimal(q["difference_monthly"]), _decimal(q["difference_hourly"])
        self.quote = {
            "plan_name": q["plan_name"],
            "old_monthly": format_money(q["old_monthly"]), "new_monthly": format_money(q["new_monthly"]),
            "old_hourly": format_money(q["old_hourly"]), "new_hourly": format_money(q["new_hourly"]),
            "diff_monthly": format_money(diff_m, signed=True), "diff_hourly": format_money(diff_h, signed=True),
            "direction": "up" if diff_m > 0 else ("down" if diff_m < 0 else "same"),
        }
        self.resize_plan_id = plan_id
        self.resize_open = True
        return None

    @rx.event
    def set_resize_open(self, value: bool):
        self.resize_open = bool(value)
        if not self.resize_open:
            self.resize_plan_id = ""

    @rx.event(background=True)
    async def confirm_resize(self):
        async with self:
            plan_id = self.resize_plan_id
            name = self.quote.get("plan_name", "")
        if not plan_id:
            return rx.toast.error(BAD_REQUEST)

        def done(_result):
            self.resize_open = False
            self.resize_plan_id = ""
            self.resize_loaded = False
            return [rx.toast.success(f"Resizing {self.label} to {name}…"), ServerDetailState.load_resize]

        return await self._run("resize", lambda actor, org, sid: servers.resize(actor, org, sid, plan_id=plan_id),
                               done)

    # ---- root password ----
    @rx.event(background=True)
    async def reset_password(self, form_data: dict):
        values = form_values(form_data, "root_password")
        if values is None:
            return rx.toast.error(BAD_REQUEST)
        password = values[0]
        async with self:
            self.reset_error = ""

        async def call(actor, org, sid):
            try:
                return await servers.reset_root_password(actor, org, sid, root_password=password)
            except ServiceError as exc:
                if not isinstance(exc, (NotFound, AuthRequired)):
                    async with self:
                        self.reset_error = exc.message
                raise

        def done(_result):
            self.show_reset_pw = False
            return [rx.call_script(_js_set_input(PASSWORD_INPUTS["reset"], "")),
                    rx.toast.success(f"The root password of {self.label} was reset.")]

        result = await self._run("password", call, done)
        async with self:
            if self.reset_error:
                return None
        return result

    # ---- notes ----
    @rx.event
    def save_notes(self, form_data: dict):
        values = form_values(form_data, "notes")
        if values is None:
            return rx.toast.error(BAD_REQUEST)
        try:
            actor = self._ready_actor()
            servers.update_notes(actor, self._org_id, self.detail_id, notes=values[0])
            self._load_server(actor)
        except ServiceError as exc:
            return self._fail(exc)
        return rx.toast.success("Notes saved.")

    # ---- activity ----
    def _fetch_activity(self, actor: Actor) -> None:
        rows, total = servers.server_activity(actor, self._org_id, self.detail_id, limit=ACTIVITY_PAGE_SIZE,
                                              offset=(self.activity_page - 1) * ACTIVITY_PAGE_SIZE)
        if not rows and total and self.activity_page > 1:
            self.activity_page = max(1, math.ceil(total / ACTIVITY_PAGE_SIZE))
            rows, total = servers.server_activity(actor, self._org_id, self.detail_id, limit=ACTIVITY_PAGE_SIZE,
                                                  offset=(self.activity_page - 1) * ACTIVITY_PAGE_SIZE)
        self.activity_rows = activity_view_rows(rows, user_zone(actor), datetime.now(timezone.utc))
        self.activity_total = int(total)

    @rx.event
    def load_activity(self):
        try:
            self._fetch_activity(self._ready_actor())
        except ServiceError as exc:
            self.activity_rows = []
            return self._fail(exc)
        return None

    @rx.event
    def activity_next(self):
        if self.activity_page < self.activity_pages:
            self.activity_page += 1
            return ServerDetailState.load_activity
        return None

    @rx.event
    def activity_prev(self):
        if self.activity_page > 1:
            self.activity_page -= 1
            return ServerDetailState.load_activity
        return None

    # ---- delete ----
    @rx.event
    def set_delete_open(self, value: bool):
        self.delete_open = bool(value)
        if not self.delete_open:
            self.delete_confirm = self.delete_error = ""

    @rx.event
    def set_delete_confirm(self, value: str):
        if isinstance(value, str):
            self.delete_confirm = value[:100]

    @rx.event(background=True)
    async def delete_server(self, form_data: dict):
        values = form_values(form_data, "password", "code")
        if values is None:
            return rx.toast.error(BAD_REQUEST)
        password, code = values
        async with self:
            confirm = self.delete_confirm
            label = self.label
            self.delete_error = ""

        async def call(actor, org, sid):
            try:
                await servers.delete_server(actor, org, sid, confirm_label=confirm, password=password, code=code)
            except ServiceError as exc:
                if not isinstance(exc, (NotFound, AuthRequired)):
                    async with self:
                        self.delete_error = exc.message
                raise

        async with self:
            try:
                actor = self._ready_actor()
            except ServiceError as exc:
                return self._fail(exc)
            if self.action_busy:
                return rx.toast.info("Another change to this server is still being sent. Try again in a moment.")
            self.action_busy = "delete"
            org_id, server_id = self._org_id, self.detail_id
        try:
            await call(actor, org_id, server_id)
        except ServiceError as exc:
            async with self:
                self.action_busy = ""
                if self.delete_error:
                    return None
                return self._fail(exc)
        except BaseException:
            async with self:
                self.action_busy = ""
            raise
        async with self:
            self.action_busy = ""
            self.delete_open = False
            self.status = "missing"
            self._poll_generation += 1
        return [rx.toast.success(f"Deleted {label}."), rx.redirect("/vps")]
