"""Add funds with PayPal: the dialog on /billing and the return page that captures the payment.

The organization comes from the signed-in user on every event; services/topups.py checks
billing_manage and validates the amount (the browser's value is only a string we pass on).
"""

from __future__ import annotations

import json

import reflex as rx

from skypanel.backend.services import topups
from skypanel.backend.services.errors import ServiceError
from skypanel.backend.services.wallet import format_money
from skypanel.state.session import SessionState, active_org

PRESETS = ("10", "25", "50", "100")


class TopupState(SessionState):
    dialog_open: bool = False
    amount: str = "25"
    error: str = ""
    submitting: bool = False
    min_display: str = ""
    max_display: str = ""

    @rx.event
    def open_dialog(self):
        low, high = topups.limits()
        self.min_display, self.max_display = format_money(low), format_money(high)
        self.amount = "25" if low <= 25 <= high else str(low)
        self.error = ""
        self.submitting = False
        self.dialog_open = True

    @rx.event
    def set_open(self, value: bool):
        self.dialog_open = bool(value) if isinstance(value, bool) else False

    @rx.event
    def pick(self, value: str):
        self.amount = value if value in PRESETS else self.amount
        self.error = ""

    @rx.event
    def set_amount(self, value: str):
        self.amount = value[:20] if isinstance(value, str) else ""
        self.error = ""

    @rx.event
    async def submit(self, form: dict | None = None):
        """Create the PayPal order, then send the browser to PayPal's approve page."""
        if self.submitting:
            return
        self.submitting = True
        self.error = ""
        yield
        try:
            actor = self._require_actor()
            org = active_org(actor)
            started = await topups.start_topup(actor, org["id"], self.amount)
        except ServiceError as exc:
            self.submitting = False
            if exc.code in ("invalid", "unavailable"):
                self.error = exc.message
                return
            yield self._fail(exc)
            return
        # stays "submitting" (spinner) while the browser leaves for PayPal
        yield rx.call_script(f"window.location.assign({json.dumps(started['approve_url'])})")


class TopupReturnState(SessionState):
    """/billing/topup/return?token=ORDER[&cancelled=1]: capture on arrival (safe to reload)."""

    phase: str = "working"  # working | completed | pending | cancelled | failed | unconfirmed
    amount_display: str = ""
    balance_display: str = ""
    message: str = ""

    @rx.event
    async def complete(self):
        params = self.router.url.query_parameters
        token = params.get("token", "")
        cancelled = params.get("cancelled", "") == "1"
        self.phase, self.message = "working", ""
        yield
        try:
            actor = self._require_actor()
            org = active_org(actor)
            result = await topups.complete_topup(actor, org["id"], token, cancelled=cancelled)
        except ServiceError as exc:
            self.phase = "failed"
            self.message = exc.message
            yield self._fail(exc)
            return
        self.amount_display = result["amount_display"]
        self.balance_display = result["balance_display"]
        self.phase = result["status"] if result["status"] in (
            "completed", "pending", "cancelled", "unconfirmed") else "failed"
        if result["status"] in ("refunded", "partially_refunded", "reversed"):
            self.phase = "completed"
        self.message = result.get("failure") or ""
        if self.phase == "completed":
            yield rx.toast.success(f"{self.amount_display} added to your wallet.")
