"""/billing/invoices (documents + billing profile) and /billing/invoices/[invoice_id] (one document).

The organization is re-derived from the signed-in user on every event; the invoices service checks
billing_view / billing_manage itself. `can_edit` only decides whether the profile form renders
editable. The PDF is served by /api/invoices/{id}.pdf (session cookie + billing_view).
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from skypanel.backend.services import invoices
from skypanel.backend.services.countries import COUNTRIES
from skypanel.backend.services.errors import NotFound, PermissionDenied, ServiceError, ValidationError
from skypanel.state.formatting import format_date, format_datetime, format_money, is_negative
from skypanel.state.paging import PagingMixin
from skypanel.state.session import BAD_REQUEST, SessionState, active_org, form_values, user_zone

PROFILE_KEYS = tuple(key for key, *_ in invoices.PROFILE_FIELDS)
NO_COUNTRY = "none"  # a Radix select item cannot have an empty value
KIND_COLORS = {"receipt": "green", "statement": "blue"}


def pdf_href(invoice_id: Any) -> Any:
    """The download URL on the backend (same origin in production's single-port mode)."""
    return rx.config.get_config().api_url.rstrip("/") + "/api/invoices/" + invoice_id + ".pdf"


def invoice_view_rows(rows: list[dict[str, Any]], zone) -> list[dict[str, str]]:
    return [
        {
            "id": str(r["id"]),
            "number": str(r["number"]),
            "title": str(r["title"]),
            "kind_color": KIND_COLORS.get(str(r["kind"]), "gray"),
            "issued": format_date(r["issued_at"], zone),
            "issued_exact": format_datetime(r["issued_at"], zone),
            "period": str(r["period_label"]) or "—",
            "when": " · ".join(x for x in (str(r["period_label"]), format_date(r["issued_at"], zone)) if x),
            "total": format_money(r["total"], r["currency"]),
            "total_label": "Closing balance" if r["kind"] == "statement" else "Paid",
        }
        for r in rows
    ]


class InvoicesState(PagingMixin, SessionState):
    """View data for /billing/invoices: display strings only."""

    denied: bool = False
    org_name: str = ""
    rows: list[dict[str, str]] = []
    can_edit: bool = False
    profile: dict[str, str] = {}
    profile_set: bool = False
    country: str = NO_COUNTRY
    saving: bool = False
    profile_error: str = ""
    field_errors: dict[str, str] = {}

    def _fetch(self) -> None:
        actor = self._require_actor()
        org = active_org(actor)
        self.org_name = str(org["name"])
        try:
            rows = self._fetch_page(lambda limit, offset: invoices.list_invoices(actor, org["id"], limit=limit,
                                                                                 offset=offset))
            profile = invoices.get_profile(actor, org["id"])
        except PermissionDenied:
            self.denied = True
            self.rows, self.profile, self.can_edit = [], {}, False
            return
        self.denied = False
        self.rows = invoice_view_rows(rows, user_zone(actor))
        self.can_edit = bool(profile["can_edit"])
        self.profile_set = bool(profile["is_set"])
        self.profile = {k: str(profile.get(k) or "") for k in (*PROFILE_KEYS, "country_name")}
        self.country = self.profile["country"] or NO_COUNTRY

    @rx.event
    def load(self):
        self.profile_error = ""
        self.field_errors = {}
        self.saving = False
        yield from self._load_first_page()

    @rx.event
    def set_country(self, value: str):
        self.country = value if isinstance(value, str) and value in COUNTRIES else NO_COUNTRY
        self.field_errors = {k: v for k, v in self.field_errors.items() if k != "country"}

    @rx.event
    def save_profile(self, form_data: dict):
        values = form_values(form_data, *[k for k in PROFILE_KEYS if k != "country"])
        if values is None:
            return rx.toast.error(BAD_REQUEST)
        submitted = dict(zip([k for k in PROFILE_KEYS if k != "country"], values))
        submitted["country"] = "" if self.country == NO_COUNTRY else self.country
        self.saving = True
        self.profile_error = ""
        self.field_errors = {}
        yield
        try:
            actor = self._require_actor()
            org = active_org(actor)
            saved = invoices.update_profile(actor, org["id"], submitted)
        except ValidationError as exc:
            if exc.field in PROFILE_KEYS:
                self.field_errors = {exc.field: exc.message}
            else:
                self.profile_error = exc.message
            return
        except ServiceError as exc:
            yield self._fail(exc)
            return
        finally:
            self.saving = False
        self.profile = {k: str(saved.get(k) or "") for k in (*PROFILE_KEYS, "country_name")}
        self.profile_set = True
        yield rx.toast.success("Billing profile saved. New invoices and statements will use it.")


class InvoiceViewState(SessionState):
    """View data for /billing/invoices/[invoice_id]: the document's frozen snapshot as display strings."""

    doc_loading: bool = True
    missing: str = ""  # "not_found" | "denied" | ""
    doc: dict[str, str] = {}
    summary: list[dict[str, str]] = []
    usage: list[dict[str, str]] = []
    moves: list[dict[str, str]] = []
    lines: list[dict[str, str]] = []
    bill_to: list[str] = []

    def _show(self, found: dict[str, Any], zone) -> None:
        data = found["data"]
        cur = found["currency"]
        bill = data.get("bill_to") or {}
        platform = data.get("platform") or {}
        self.doc = {
            "id": found["id"], "number": found["number"], "title": data.get("title", ""), "kind": found["kind"],
            "issued": format_datetime(data.get("issued_at"), zone), "period": (data.get("period") or {}).get("label", ""),
            "platform": platform.get("name") or "SkyPanel", "logo": ("/" + platform["logo"]) if platform.get("logo") else "",
            "total": format_money(found["total"], cur),
            "paid_at": format_datetime(data.get("paid_at"), zone) if data.get("paid_at") else "",
            "balance_after": format_money(data.get("balance_after", "0"), cur),
            "usage_total": format_money(data.get("usage_total", "0"), cur),
            "usage_hours": str(data.get("usage_hours", 0)),
            "has_profile": "yes" if bill.get("legal_name") else "",
        }
        address = [bill.get("legal_name") or bill.get("organization")]
        if bill.get("legal_name") and bill.get("organization") != bill.get("legal_name"):
            address.append(bill.get("organization"))
        address += [bill.get("address_line1"), bill.get("address_line2"),
                    " ".join(x for x in (bill.get("postal_code"), bill.get("city")) if x), bill.get("country_name")]
        if bill.get("tax_id"):
            address.append("Tax ID: " + bill["tax_id"])
        self.bill_to = [str(a) for a in address if a]
        rows = data.get("summary") or []
        self.summary = [{"label": s["label"], "amount": format_money(s["amount"], cur),
                         "strong": "yes" if i in (0, len(rows) - 1) else "",
                         "negative": "yes" if is_negative(s["amount"]) else ""} for i, s in enumerate(rows)]
        self.usage = [{"server": u["server"], "plan": u["plan"], "hours": str(u["hours"]),
                       "amount": format_money(u["amount"], cur)} for u in data.get("usage") or []]
        self.moves = [{"date": format_date(m["date"], zone), "label": m["label"],
                       "description": m.get("description") or m.get("reference") or "",
                       "amount": format_money(m["amount"], cur, signed=True)} for m in data.get("activity") or []]
        self.lines = [{"description": ln.get("description", ""), "reference": ln.get("reference", ""),
                       "amount": format_money(ln["amount"], cur)} for ln in data.get("lines") or []]

    @rx.event
    def load(self):
        self.doc_loading = True
        self.missing = ""
        yield
        try:
            actor = self._require_actor()
            found = invoices.get_invoice(actor, str(self.router.page.params.get("invoice_id", "") or ""))
            self._show(found, user_zone(actor))
        except NotFound:
            self.missing, self.doc = "not_found", {}
        except PermissionDenied:
            self.missing, self.doc = "denied", {}
        except ServiceError as exc:
            yield self._fail(exc)
        finally:
            self.doc_loading = False
