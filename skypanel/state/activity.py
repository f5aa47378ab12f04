"""/activity: the active organization's audit trail, filtered by area, text and dates.

The organization comes from the signed-in user on the server; the orgs service checks
membership and permission, so a browser cannot ask for another organization's trail.
"""

from __future__ import annotations

from datetime import datetime, timezone

import reflex as rx

from skypanel.backend.services import orgs
from skypanel.backend.services.errors import PermissionDenied, ServiceError
from skypanel.state.formatting import format_datetime, relative_time
from skypanel.state.paging import ALL, DateRangeMixin, SearchMixin
from skypanel.state.session import SessionState, active_org, user_zone

# Area filter -> action prefix. Actions are "area.verb" (e.g. "auth.login", "org.member.role_changed").
AREAS: list[tuple[str, str]] = [
    ("auth", "Sign-in & security"),
    ("org", "Organization & members"),
    ("wallet", "Wallet & billing"),
    ("ssh_key", "SSH keys"),
]
AREA_VALUES = {value for value, _ in AREAS}

AREA_COLORS = {"auth": "blue", "org": "violet", "wallet": "green", "admin": "orange", "platform": "orange",
               "ssh_key": "teal"}


def activity_view_rows(rows: list[dict], zone, now: datetime) -> list[dict[str, str]]:
    """Service activity rows -> display strings."""
    out = []
    for r in rows:
        action = str(r.get("action", ""))
        area = action.split(".", 1)[0]
        name = r.get("user_name") or ""
        if not name or (name == "system" and not r.get("user_email")):
            name = "System"
        out.append(
            {
                "id": str(r.get("id", "")),
                "when": relative_time(r.get("created_at"), now=now),
                "when_exact": format_datetime(r.get("created_at"), zone, with_seconds=True),
                "who": name,
                "who_email": r.get("user_email") or "",
                "initial": (name[:1] or "?").upper(),
                "action": action,
                "area": area,
                "area_color": AREA_COLORS.get(area, "gray"),
                "summary": r.get("summary") or action,
                "ip": r.get("ip") or "",
                "impersonated": "yes" if r.get("impersonated") else "",
            }
        )
    return out


class ActivityState(SearchMixin, DateRangeMixin, SessionState):
    denied: bool = False
    org_name: str = ""
    rows: list[dict[str, str]] = []
    area: str = ALL

    @rx.var
    def filtered(self) -> bool:
        return self.area != ALL or bool(self.search) or bool(self.date_from) or bool(self.date_to)

    # ---- server-side helpers ----
    def _fetch(self) -> None:
        actor = self._require_actor()
        org = active_org(actor)
        zone = user_zone(actor)
        since, until = self._date_range(zone)
        self.org_name = org["name"]
        query = {
            "action_prefix": f"{self.area}." if self.area in AREA_VALUES else "",
            "search": self.search.strip(),
            "since": since,
            "until": until,
        }
        rows = self._fetch_page(
            lambda limit, offset: orgs.list_activity(actor, org["id"], limit=limit, offset=offset, **query)
        )
        self.rows = activity_view_rows(rows, zone, datetime.now(timezone.utc))
        self.denied = False

    def _fail(self, exc: ServiceError):
        """A role without the activity log gets the page's "no access" panel instead of rows."""
        if isinstance(exc, PermissionDenied):
            self.denied = True
            self.rows = []
            self.total = 0
            return None
        return super()._fail(exc)

    # ---- events ----
    @rx.event
    def load(self):
        self.area = ALL
        self.search = self.date_from = self.date_to = ""
        yield from self._load_first_page()

    @rx.event
    def set_area(self, value: str):
        self.area = value if isinstance(value, str) and value in AREA_VALUES else ALL
        yield from self._refilter()

    @rx.event
    def clear_filters(self):
        self.area = ALL
        self.search = self.date_from = self.date_to = ""
        yield from self._refilter()
