"""Platform admin pages: overview, users, organizations (and one organization's wallet), outbox, settings.

`on_load=SessionState.require_admin` keeps non-admins off the pages, but that is only the
door: every handler here calls services that re-check the admin flag in the database, so a
browser calling these events directly gets "This area is for platform administrators."
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import reflex as rx

from skypanel.backend.services import admin, platform_settings, wallet
from skypanel.backend.services.errors import AuthRequired, PermissionDenied, ServiceError
from skypanel.state.billing import ledger_view_rows
from skypanel.state.formatting import format_date, format_datetime, format_money, is_negative, relative_time, role_label
from skypanel.state.paging import PagingMixin, SearchMixin
from skypanel.state.session import SessionState, user_zone

RECENT_LEDGER = 15

STATUS_COLORS = {"sent": "green", "stored": "blue", "queued": "amber", "failed": "red"}


class _AdminBase(SessionState):
    """Admin pages: a refused admin check (PermissionDenied) also sends the browser back to the portal."""

    def _fail(self, exc: ServiceError):
        if isinstance(exc, PermissionDenied):
            return [rx.toast.error(exc.message), rx.redirect("/dashboard")]
        return super()._fail(exc)


# ---- overview ----------------------------------------------------------------------------


class AdminOverviewState(_AdminBase):
    loading: bool = True
    users: int = 0
    organizations: int = 0
    emails: int = 0

    @rx.event
    def load(self):
        self.loading = True
        yield
        try:
            actor = self._require_actor()
            self.users = admin.list_users(actor, limit=1)[1]
            self.organizations = admin.list_organizations(actor, limit=1)[1]
            self.emails = admin.list_outbox(actor, limit=1)[1]
        except ServiceError as exc:
            yield self._fail(exc)
        finally:
            self.loading = False


# ---- users ------------------------------------------------------------------------------


class AdminUsersState(SearchMixin, _AdminBase):
    rows: list[dict[str, Any]] = []

    # The confirmation dialog for a pending change (what, to whom) — decided again on the server.
    confirm_open: bool = False
    confirm_title: str = ""
    confirm_text: str = ""
    confirm_label: str = ""
    confirm_danger: bool = False
    acting: bool = False
    _pending: tuple[str, str, bool] | None = None  # (action, user_id, value); backend only

    def _fetch(self) -> None:
        actor = self._require_actor()
        zone = user_zone(actor)
        search = self.search.strip()
        rows = self._fetch_page(lambda limit, offset: admin.list_users(actor, search=search, limit=limit, offset=offset))
        self.rows = [
            {
                "id": r["id"],
                "name": r["name"],
                "email": r["email"],
                "initial": (r["name"][:1] or "?").upper(),
                "is_active": bool(r["is_active"]),
                "is_platform_admin": bool(r["is_platform_admin"]),
                "totp_enabled": bool(r.get("totp_enabled")),
                "organizations": int(r.get("organizations") or 0),
                "created": format_date(r["created_at"], zone),
                "is_me": bool(r.get("is_me")),
            }
            for r in rows
        ]

    def _find(self, user_id: Any) -> dict[str, Any] | None:
        return next((r for r in self.rows if r["id"] == str(user_id)), None)

    @rx.event
    def load(self):
        self.search = ""
        self.confirm_open = False
        yield from self._load_first_page()

    @rx.event
    def ask_active(self, user_id: str):
        """Open the confirmation for enabling/disabling an account (the new value comes from our rows)."""
        row = self._find(user_id)
        if row is None:
            return rx.toast.error("User not found.")
        enable = not row["is_active"]
        self._pending = ("active", row["id"], enable)
        self.confirm_title = f"{'Enable' if enable else 'Disable'} {row['name']}?"
        self.confirm_text = (
            f"{row['email']} will be able to sign in again."
            if enable
            else f"{row['email']} will be signed out everywhere and cannot sign in until enabled again."
        )
        self.confirm_label = "Enable account" if enable else "Disable account"
        self.confirm_danger = not enable
        self.confirm_open = True
        return None

    @rx.event
    def ask_admin(self, user_id: str):
        """Open the confirmation for granting/removing platform admin."""
        row = self._find(user_id)
        if row is None:
            return rx.toast.error("User not found.")
        grant = not row["is_platform_admin"]
        self._pending = ("admin", row["id"], grant)
        self.confirm_title = f"{'Make' if grant else 'Remove'} {row['name']} {'a platform admin' if grant else 'as platform admin'}?"
        self.confirm_text = (
            f"{row['email']} will see every user, organization, wallet and email on this platform, "
            "and can change them."
            if grant
            else f"{row['email']} will lose access to the admin area at once."
        )
        self.confirm_label = "Make admin" if grant else "Remove admin"
        self.confirm_danger = not grant
        self.confirm_open = True
        return None

    @rx.event
    def set_confirm_open(self, value: bool):
        self.confirm_open = bool(value)
        if not value:
            self._pending = None

    @rx.event
    def confirm(self):
        pending = self._pending
        if pending is None:
            self.confirm_open = False
            return
        action, user_id, value = pending
        self.acting = True
        yield
        try:
            actor = self._require_actor()
            if action == "active":
                admin.set_user_active(actor, user_id, value)
                message = "Account enabled." if value else "Account disabled and signed out."
            else:
                admin.set_platform_admin(actor, user_id, value)
                message = "Platform admin granted." if value else "Platform admin removed."
            self._fetch()
        except ServiceError as exc:
            yield self._fail(exc)
            return
        finally:
            self.acting = False
            self.confirm_open = False
            self._pending = None
        yield rx.toast.success(message)


# ---- organizations ---------------------------------------------------------------------


class AdminOrgsState(SearchMixin, _AdminBase):
    rows: list[dict[str, Any]] = []

    def _fetch(self) -> None:
        actor = self._require_actor()
        zone = user_zone(actor)
        search = self.search.strip()
        rows = self._fetch_page(
            lambda limit, offset: admin.list_organizations(actor, search=search, limit=limit, offset=offset)
        )
        self.rows = [
            {
                "id": r["id"],
                "name": r["name"],
                "slug": r["slug"],
                "members": int(r.get("members") or 0),
                "balance": r.get("balance_display") or format_money(r.get("balance", "0")),
                "negative": is_negative(r.get("balance", "0")),
                "personal": bool(r.get("is_personal")),
                "deleted": bool(r.get("deleted")),
                "created": format_date(r["created_at"], zone),
            }
            for r in rows
        ]

    @rx.event
    def load(self):
        self.search = ""
        yield from self._load_first_page()


class AdminOrgDetailState(_AdminBase):
    """/admin/organizations/[org_id]: members, wallet, recent ledger and the adjustment form."""

    loading: bool = True
    not_found: bool = False
    org_id_value: str = ""
    name: str = ""
    slug: str = ""
    personal: bool = False
    deleted_at: str = ""
    created: str = ""
    members: list[dict[str, str]] = []
    has_wallet: bool = False
    balance: str = "$0.00"
    balance_negative: bool = False
    currency: str = "USD"
    overdraft: str = ""
    balance_updated: str = ""
    ledger: list[dict[str, str]] = []
    ledger_total: int = 0

    # adjustment form
    amount: str = ""
    reason: str = ""
    amount_error: str = ""
    reason_error: str = ""
    adjusting: bool = False

    def _route_org_id(self) -> str:
        """The id in the URL; only a lookup key, the services validate it and check admin."""
        path = str(self.router.url.path or "").rstrip("/")
        return path.rsplit("/", 1)[-1] if path.startswith("/admin/organizations/") else ""

    def _fetch(self) -> None:
        actor = self._require_actor()
        zone = user_zone(actor)
        org_id = self._route_org_id()
        detail = admin.organization_detail(actor, org_id)
        self.org_id_value = detail["id"]
        self.name = detail["name"]
        self.slug = detail["slug"]
        self.personal = bool(detail.get("is_personal"))
        self.deleted_at = format_datetime(detail.get("deleted_at"), zone)
        self.created = format_datetime(detail["created_at"], zone)
        self.members = [
            {
                "name": m["name"],
                "email": m["email"],
                "initial": (m["name"][:1] or "?").upper(),
                "role": role_label(m["role"]),
                "joined": format_date(m["joined_at"], zone),
            }
            for m in detail.get("members", [])
        ]
        w = detail.get("wallet")
        self.has_wallet = w is not None
        if w is not None:
            self.currency = w.get("currency") or "USD"
            self.balance = w.get("balance_display") or format_money(w["balance"], self.currency)
            self.balance_negative = is_negative(w["balance"])
            self.overdraft = format_money(w.get("overdraft_limit", "0"), self.currency)
            self.balance_updated = format_datetime(w.get("updated_at"), zone)
            rows, total = wallet.list_ledger(actor, detail["id"], limit=RECENT_LEDGER)
            self.ledger = ledger_view_rows(rows, self.currency, zone)
            self.ledger_total = int(total)
        else:
            self.ledger, self.ledger_total = [], 0
        self.not_found = False

    @rx.event
    def load(self):
        self.loading = True
        self.not_found = False
        self.name = self.deleted_at = ""
        self.personal = False
        self.amount = self.reason = self.amount_error = self.reason_error = ""
        yield
        try:
            self._fetch()
        except (AuthRequired, PermissionDenied) as exc:
            yield self._fail(exc)
        except ServiceError:  # anything else: the id in the URL names no organization
            self.not_found = True
            self.name = ""
        finally:
            self.loading = False

    @rx.event
    def set_amount(self, value: str):
        self.amount = str(value or "")[:32]
        self.amount_error = ""

    @rx.event
    def set_reason(self, value: str):
        self.reason = str(value or "")[:300]
        self.reason_error = ""

    @rx.event
    def adjust(self, form: dict | None = None):
        """Post the adjustment (wallet.admin_adjust re-checks admin, validates amount and reason)."""
        if isinstance(form, dict):
            self.amount = str(form.get("amount", self.amount) or "")[:32]
            self.reason = str(form.get("reason", self.reason) or "")[:300]
        self.amount_error = self.reason_error = ""
        if not self.reason.strip():
            self.reason_error = "A reason is required: it is shown in the organization's ledger."
        if not self.amount.strip():
            self.amount_error = "Enter an amount such as 25.00 or -10.50."
        if self.amount_error or self.reason_error:
            return
        self.adjusting = True
        yield
        try:
            actor = self._require_actor()
            result = wallet.admin_adjust(actor, self._route_org_id(), amount=self.amount.strip(), reason=self.reason)
            self._fetch()
        except ServiceError as exc:
            if exc.field == "amount":
                self.amount_error = exc.message  # shown under the field, no toast needed
            elif exc.field == "reason":
                self.reason_error = exc.message
            else:
                yield self._fail(exc)
            return
        finally:
            self.adjusting = False
        self.amount = self.reason = ""
        yield rx.toast.success(
            f"Adjustment of {format_money(result['amount'], self.currency, signed=True)} posted. "
            f"New balance {result.get('balance_display') or format_money(result['balance'], self.currency)}."
        )


# ---- outbox ----------------------------------------------------------------------------


class AdminOutboxState(PagingMixin, _AdminBase):
    rows: list[dict[str, str]] = []

    # the message open in the dialog
    viewer_open: bool = False
    viewer_loading: bool = False
    message: dict[str, str] = {}

    def _fetch(self) -> None:
        actor = self._require_actor()
        zone = user_zone(actor)
        now = datetime.now(timezone.utc)
        rows = self._fetch_page(lambda limit, offset: admin.list_outbox(actor, limit=limit, offset=offset))
        self.rows = [
            {
                "id": r["id"],
                "to": r["to"],
                "subject": r["subject"],
                "template": r["template"].replace("_", " "),
                "status": r["status"],
                "status_color": STATUS_COLORS.get(r["status"], "gray"),
                "created": relative_time(r["created_at"], now=now),
                "created_exact": format_datetime(r["created_at"], zone, with_seconds=True),
            }
            for r in rows
        ]

    @rx.event
    def load(self):
        self.viewer_open = False
        yield from self._load_first_page()

    @rx.event
    def open_message(self, message_id: str):
        self.viewer_open = True
        self.viewer_loading = True
        self.message = {}
        yield
        try:
            actor = self._require_actor()
            m = admin.get_outbox_message(actor, str(message_id))
            zone = user_zone(actor)
            self.message = {
                "id": m["id"],
                "to": m["to"],
                "subject": m["subject"],
                "template": m["template"],
                "status": m["status"],
                "status_color": STATUS_COLORS.get(m["status"], "gray"),
                "delivery": f"via {m.get('transport') or 'outbox'}"
                + (f" · {m['attempts']} attempt{'s' if m['attempts'] != 1 else ''}" if m.get("attempts") else ""),
                "last_error": m.get("last_error") or "",
                "created": format_datetime(m["created_at"], zone, with_seconds=True),
                "sent": format_datetime(m.get("sent_at"), zone, with_seconds=True),
                # links open in a new tab, outside the sandboxed preview frame
                "html": '<base target="_blank">' + m["html_body"],
                "text": m["text_body"],
            }
        except ServiceError as exc:
            self.viewer_open = False
            yield self._fail(exc)
        finally:
            self.viewer_loading = False

    @rx.event
    def set_viewer_open(self, value: bool):
        self.viewer_open = bool(value)
        if not value:
            self.message = {}


# ---- platform settings -----------------------------------------------------------------


class AdminSettingsState(_AdminBase):
    loading: bool = True
    saving: bool = False
    registration_enabled: bool = True
    platform_name: str = ""
    support_email: str = ""
    runway_hours: str = ""  # the balance a new server needs, in hours of it (typed as text)
    invoice_logo: str = ""  # a file name in assets/ printed on invoices ("" = none)
    errors: dict[str, str] = {}

    def _fetch(self) -> None:
        actor = self._require_actor()
        values = platform_settings.all_settings(actor)
        self.registration_enabled = bool(values.get("registration_enabled", True))
        self.platform_name = str(values.get("platform_name", ""))
        self.support_email = str(values.get("support_email", ""))
        self.runway_hours = str(values.get("vps_min_runway_hours", 24))
        self.invoice_logo = str(values.get("invoice_logo", ""))

    @rx.event
    def load(self):
        self.loading = True
        self.errors = {}
        yield
        try:
            self._fetch()
        except ServiceError as exc:
            yield self._fail(exc)
        finally:
            self.loading = False

    @rx.event
    def set_registration_enabled(self, value: bool):
        self.registration_enabled = bool(value)

    @rx.event
    def set_platform_name(self, value: str):
        self.platform_name = str(value or "")[:200]
        self.errors = {k: v for k, v in self.errors.items() if k != "platform_name"}

    @rx.event
    def set_support_email(self, value: str):
        self.support_email = str(value or "")[:300]
        self.errors = {k: v for k, v in self.errors.items() if k != "support_email"}

    @rx.event
    def set_runway_hours(self, value: str):
        self.runway_hours = str(value or "")[:10]
        self.errors = {k: v for k, v in self.errors.items() if k != "vps_min_runway_hours"}

    @rx.event
    def set_invoice_logo(self, value: str):
        self.invoice_logo = str(value or "")[:200]
        self.errors = {k: v for k, v in self.errors.items() if k != "invoice_logo"}

    @rx.event
    def save(self, form: dict | None = None):
        """Store each setting (the service validates and records who changed what)."""
        if isinstance(form, dict):
            self.platform_name = str(form.get("platform_name", self.platform_name) or "")[:200]
            self.support_email = str(form.get("support_email", self.support_email) or "")[:300]
            self.runway_hours = str(form.get("vps_min_runway_hours", self.runway_hours) or "")[:10]
            self.invoice_logo = str(form.get("invoice_logo", self.invoice_logo) or "")[:200]
        self.saving = True
        self.errors = {}
        yield
        errors: dict[str, str] = {}
        try:
            actor = self._require_actor()
            wanted = {
                "registration_enabled": bool(self.registration_enabled),
                "platform_name": self.platform_name,
                "support_email": self.support_email,
                # whole hours; anything else goes to the service as text and is refused with its message
                "vps_min_runway_hours": int(self.runway_hours.strip()) if self.runway_hours.strip().isdigit()
                else self.runway_hours,
                "invoice_logo": self.invoice_logo,
            }
            for key, value in wanted.items():
                try:
                    platform_settings.set_value(actor, key, value)
                except (AuthRequired, PermissionDenied):
                    raise
                except ServiceError as exc:
                    errors[key] = exc.message
            self._fetch()
            # keep what the admin typed for the fields that were refused
            if "platform_name" in errors:
                self.platform_name = wanted["platform_name"]
            if "support_email" in errors:
                self.support_email = wanted["support_email"]
            if "vps_min_runway_hours" in errors:
                self.runway_hours = str(wanted["vps_min_runway_hours"])
            if "invoice_logo" in errors:
                self.invoice_logo = str(wanted["invoice_logo"])
        except ServiceError as exc:
            yield self._fail(exc)
            return
        finally:
            self.saving = False
        self.errors = errors
        if errors:
            yield rx.toast.error("Some settings were not saved: " + " ".join(errors.values()))
        else:
            yield rx.toast.success("Platform settings saved.")
