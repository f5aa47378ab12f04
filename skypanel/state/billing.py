"""/billing: the active organization's wallet overview (balance, burn rate, runway, month-to-date
spend and forecast, 30-day chart, spend per server; from services/dunning.py) and its ledger
(paged, filtered, CSV export).

The organization is re-derived from the signed-in user on every event (never taken from the
browser), and the wallet service checks `billing_view` itself.
"""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import reflex as rx

from skypanel.backend.services import dunning, wallet
from skypanel.backend.services.errors import PermissionDenied, ServiceError
from skypanel.state.formatting import format_datetime, format_money, is_negative
from skypanel.state.paging import ALL, DateRangeMixin
from skypanel.state.session import SessionState, active_org, user_zone

# Badge colour per ledger kind: money in is green, money out is red, manual changes stand out.
KIND_COLORS = {
    "topup": "green",
    "credit": "green",
    "refund": "teal",
    "charge": "red",
    "adjustment": "amber",
    "reversal": "gray",
}


def ledger_view_rows(rows: list[dict], currency: str, zone: ZoneInfo) -> list[dict[str, str]]:
    """Service ledger rows -> display strings (also used by the admin organization page)."""
    return [
        {
            "id": str(r["id"]),
            "date": format_datetime(r["created_at"], zone),
            "kind": str(r["kind"]),
            "kind_label": wallet.KIND_LABELS.get(str(r["kind"]), str(r["kind"]).capitalize()),
            "kind_color": KIND_COLORS.get(str(r["kind"]), "gray"),
            "description": r.get("description") or "",
            "reference": r.get("reference") or "",
            "amount": format_money(r["amount"], currency, signed=True),
            "direction": "out" if is_negative(r["amount"]) else "in",
            "balance_after": format_money(r["balance_after"], currency),
            "by": r.get("actor_name") or "System",
        }
        for r in rows
    ]


class BillingState(DateRangeMixin, SessionState):
    """View data for /billing. Only display strings; the wallet service decides who may see what."""

    exporting: bool = False
    denied: bool = False
    org_name: str = ""
    balance: str = "$0.00"
    balance_negative: bool = False
    currency: str = "USD"
    balance_updated: str = ""
    entries: list[dict[str, str]] = []
    kind: str = ALL
    # overview (display strings; the chart's amounts are numbers for the plot only, labels are exact)
    burn: str = ""
    runway: str = ""
    runway_hours: str = ""
    month_to_date: str = ""
    forecast: str = ""
    month_label: str = ""
    chart: list[dict] = []
    per_server: list[dict[str, str]] = []
    suspended: bool = False
    suspension_text: str = ""

    @rx.var
    def filtered(self) -> bool:
        return self.kind != ALL or bool(self.date_from) or bool(self.date_to)

    # ---- server-side helpers ----
    def _filters(self, zone: ZoneInfo) -> dict:
        since, until = self._date_range(zone)
        kind = self.kind if self.kind in wallet.KINDS else ""
        return {"kind": kind, "since": since, "until": until}

    def _fetch(self, *, with_wallet: bool = False) -> None:
        """Reload the balance (optionally) and the current ledger page. Raises ServiceError."""
        actor = self._require_actor()
        org = active_org(actor)
        zone = user_zone(actor)
        filters = self._filters(zone)
        self.org_name = org["name"]
        if with_wallet:
            info = wallet.get_wallet(actor, org["id"])
            self.currency = info.get("currency") or "USD"
            self.balance = format_money(info["balance"], self.currency)
            self.balance_negative = is_negative(info["balance"])
            self.balance_updated = format_datetime(info.get("updated_at"), zone)
        if with_wallet:
            self._fetch_overview(actor, org["id"], zone)
        rows = self._fetch_page(
            lambda limit, offset: wallet.list_ledger(actor, org["id"], limit=limit, offset=offset, **filters)
        )
        self.entries = ledger_view_rows(rows, self.currency, zone)
        if with_wallet and self.total == 0 and self.kind == ALL and not (self.date_from or self.date_to):
            self.balance_updated = ""  # a new wallet: its timestamp is not a "last change"
        self.denied = False

    def _fetch_overview(self, actor, org_id: str, zone: ZoneInfo) -> None:
        data = dunning.overview(actor, org_id)
        self.burn = data["burn_display"]
        self.runway = data["runway_words"]
        self.runway_hours = data["runway_hours"] or ""
        self.month_to_date = data["month_to_date_display"]
        self.forecast = data["forecast_display"]
        self.month_label = data["month_label"]
        self.chart = [{"day": p["label"], "amount": float(p["amount"]), "label": p["amount_display"]}
                      for p in data["chart"]]
        self.per_server = [
            {"id": r["id"], "label": r["label"], "hours": str(r["hours"]), "amount": r["amount_display"],
             "hourly": r["hourly_display"] + "/h" if r["hourly_display"] else "",
             "state": "Deleted" if r["deleted"] else ("Suspended" if r["suspended"] else ""),
             "href": "" if r["deleted"] else f"/vps/{r['id']}"}
            for r in data["per_server"]
        ]
        self.suspended = bool(data["suspended"])
        if data["suspended"]:
            self.suspension_text = (f"Your servers are suspended since {format_datetime(data['suspended_at'], zone)}. "
                                    f"Add {data['amount_to_add_display']} to resume your servers.")
        elif data["suspend_at"]:
            self.suspension_text = (f"The balance is below zero. Add at least {data['amount_to_add_display']} before "
                                    f"{format_datetime(data['suspend_at'], zone)} or your servers will be suspended.")
        else:
            self.suspension_text = ""

    def _fail(self, exc: ServiceError):
        """A role without billing_view gets the page's "no access" panel instead of the ledger."""
        if isinstance(exc, PermissionDenied):
            self.denied = True
            self.entries = []
            self.total = 0
            return None
        return super()._fail(exc)

    # ---- events ----
    @rx.event
    def load(self):
        """on_load: balance and first page of the ledger, filters reset."""
        self.kind = ALL
        self.date_from = self.date_to = ""
        yield from self._load_first_page(with_wallet=True)

    @rx.event
    def set_kind_filter(self, value: str):
        self.kind = value if isinstance(value, str) and (value == ALL or value in wallet.KINDS) else ALL
        yield from self._refilter()

    @rx.event
    def clear_filters(self):
        self.kind = ALL
        self.date_from = self.date_to = ""
        yield from self._refilter()

    @rx.event
    def export_csv(self):
        """Download the filtered ledger as CSV (all pages), built by the wallet service."""
        self.exporting = True
        yield
        try:
            actor = self._require_actor()
            org = active_org(actor)
            filters = self._filters(user_zone(actor))
            csv_text = wallet.ledger_csv(actor, org["id"], **filters)
        except ServiceError as exc:
            yield self._fail(exc)
            return
        finally:
            self.exporting = False
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d")
        slug = org.get("slug") or "organization"
        yield rx.download(data=csv_text, filename=f"ledger-{slug}-{stamp}.csv", mime_type="text/csv")
        yield rx.toast.success("Ledger exported.")
