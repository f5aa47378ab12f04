"""/admin/payments: PayPal payments with their refunds, refund dialog, organizations flagged by reversals."""

from __future__ import annotations

import reflex as rx

from skypanel.backend.services import topups
from skypanel.backend.services.errors import ServiceError
from skypanel.state.formatting import format_datetime
from skypanel.state.session import SessionState, user_zone

STATUS_COLORS = {"completed": "green", "pending": "amber", "created": "gray", "cancelled": "gray", "denied": "red",
                 "failed": "red", "refunded": "teal", "partially_refunded": "teal", "reversed": "red"}


class AdminPaymentsState(SessionState):
    loading: bool = True
    payments: list[dict] = []
    refunds: list[dict] = []
    flags: list[dict] = []
    total: int = 0
    refund_open: bool = False
    refund_payment_id: str = ""
    refund_label: str = ""
    refund_amount: str = ""
    refund_reason: str = ""
    refund_error: str = ""
    refunding: bool = False

    def _reload(self) -> None:
        actor = self._require_actor()
        zone = user_zone(actor)
        rows, self.total = topups.admin_payments(actor, limit=100)
        self.payments = [{
            "id": r["id"], "organization": r["organization"], "amount": r["amount_display"], "status": r["status"],
            "status_label": r["status"].replace("_", " "), "status_color": STATUS_COLORS.get(r["status"], "gray"),
            "reference": r["reference"], "capture_id": r["capture_id"] or "—", "refunded": r["refunded_display"],
            "refundable": r["refundable"], "can_refund": r["refundable"] not in ("0", "0.0000"),
            "created": format_datetime(r["created_at"], zone),
        } for r in rows]
        self.refunds = [{
            "id": f["id"], "organization": r["organization"], "reference": r["reference"], "amount": f["amount_display"],
            "status": f["status"], "status_color": {"completed": "green", "pending": "amber"}.get(f["status"], "red"),
            "reason": f["reason"], "failure": f["failure"], "source": f["source"],
            "created": format_datetime(f["created_at"], zone), "retry": f["status"] == "pending",
        } for r in rows for f in r["refunds"]]
        self.flags = [{**f, "created": format_datetime(f["created_at"], zone)} for f in topups.admin_flags(actor)]

    @rx.event
    def load(self):
        self.loading = True
        yield
        try:
            self._reload()
        except ServiceError as exc:
            yield self._fail(exc)
        finally:
            self.loading = False

    @rx.event
    def open_refund(self, payment_id: str):
        row = next((p for p in self.payments if p["id"] == payment_id), None)
        if row is None:
            return
        self.refund_payment_id = row["id"]
        self.refund_label = f"{row['reference']} · {row['organization']} · {row['amount']}"
        self.refund_amount = str(row["refundable"]).rstrip("0").rstrip(".")
        self.refund_reason = ""
        self.refund_error = ""
        self.refund_open = True

    @rx.event
    def set_refund_open(self, value: bool):
        self.refund_open = bool(value) if isinstance(value, bool) else False

    @rx.event
    def set_refund_amount(self, value: str):
        self.refund_amount = value[:20] if isinstance(value, str) else ""

    @rx.event
    def set_refund_reason(self, value: str):
        self.refund_reason = value[:300] if isinstance(value, str) else ""

    @rx.event
    async def submit_refund(self, form: dict | None = None):
        if self.refunding:
            return
        self.refunding, self.refund_error = True, ""
        yield
        try:
            actor = self._require_actor()
            result = await topups.refund_payment(actor, self.refund_payment_id, self.refund_amount, self.refund_reason)
        except ServiceError as exc:
            self.refunding = False
            if exc.code == "invalid":
                self.refund_error = exc.message
                return
            yield self._fail(exc)
            return
        self.refunding = False
        if result["status"] == "failed":
            self.refund_error = f"PayPal refused the refund; the wallet was not debited. {result['failure']}"
            return
        self.refund_open = False
        self._reload()
        yield rx.toast.success(f"Refund of {result['amount_display']} {result['status']}.")

    @rx.event
    async def retry(self, refund_id: str):
        try:
            actor = self._require_actor()
            result = await topups.retry_refund(actor, refund_id)
            self._reload()
        except ServiceError as exc:
            yield self._fail(exc)
            return
        yield rx.toast.info(f"Refund is {result['status']}.")

    @rx.event
    def resolve(self, flag_id: str):
        try:
            topups.resolve_flag(self._require_actor(), flag_id)
            self._reload()
        except ServiceError as exc:
            return self._fail(exc)
        return rx.toast.success("Flag resolved.")
