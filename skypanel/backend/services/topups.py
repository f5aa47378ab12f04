"""Wallet top-ups with PayPal, their webhooks and admin refunds.

Exactly-once crediting: whoever learns first that a capture COMPLETED (the return page's capture
call, a re-read of the order after a timeout, or the webhook) locks the payment row and, in ONE
transaction, posts the ledger credit and stores the capture id (UNIQUE) and ledger entry id on
the payment. Everyone else then finds `credited_at` set and does nothing. A PENDING capture is
remembered and credited when PAYMENT.CAPTURE.COMPLETED arrives. Webhook event ids are stored in
the transaction that acts on them, so a replayed event changes nothing.

Refunds debit the wallet first (reserving the amount under the payment lock), then call PayPal
with a stable PayPal-Request-Id; a definite refusal gives the money back, an unknown outcome
(timeout) stays pending and can be retried with the same request id.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col, func, select

from skypanel.backend.config import get_settings
from skypanel.backend.db import session_scope
from skypanel.backend.integrations import paypal
from skypanel.backend.integrations.paypal import PayPalError
from skypanel.backend.models import Organization, Payment, PaymentFlag, PaymentRefund, PayPalWebhookEvent, Wallet
from skypanel.backend.models.base import utcnow
from skypanel.backend.services import activity, dunning, invoices, platform_settings, rbac
from skypanel.backend.services.admin import require_platform_admin
from skypanel.backend.services.context import Actor
from skypanel.backend.services.errors import Conflict, NotFound, ServiceError, ValidationError
from skypanel.backend.services.wallet import _lock_wallet, _post, format_money

log = logging.getLogger(__name__)

CURRENCY = "USD"
CENTS = Decimal("0.01")
RETURN_PATH = "/billing/topup/return"
PAYMENT_NOT_FOUND = "Payment not found."
_AMOUNT_RE = re.compile(r"[0-9]{1,9}(?:\.[0-9]{1,2})?", re.ASCII)
_ORDER_ID_RE = re.compile(r"[A-Za-z0-9-]{1,64}", re.ASCII)


class PaymentUnavailable(ServiceError):
    code = "unavailable"


# ---- amounts --------------------------------------------------------------------------------

def limits() -> tuple[Decimal, Decimal]:
    """(smallest, largest) top-up in USD from the platform settings."""
    low = Decimal(platform_settings.get("topup_min_amount"))
    high = Decimal(platform_settings.get("topup_max_amount"))
    return low, max(low, high)


def parse_amount(raw: Any, low: Decimal, high: Decimal, *, field: str = "amount") -> Decimal:
    """A positive USD amount typed by a person (at most 2 decimals) within [low, high]."""
    if isinstance(raw, bool) or not isinstance(raw, (str, int, Decimal)):
        raise ValidationError("Enter an amount such as 25 or 25.50.", field=field)
    textual = str(raw).strip().removeprefix("$").strip()
    if not _AMOUNT_RE.fullmatch(textual):
        raise ValidationError("Enter an amount such as 25 or 25.50.", field=field)
    try:
        amount = Decimal(textual).quantize(CENTS)
    except InvalidOperation:
        raise ValidationError("Enter an amount such as 25 or 25.50.", field=field) from None
    if amount < low:
        raise ValidationError(f"The smallest top-up is {format_money(low)}.", field=field)
    if amount > high:
        raise ValidationError(f"The largest top-up is {format_money(high)}.", field=field)
    return amount


def _money(value: Any) -> Decimal | None:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() and amount > 0 else None


# ---- after a credit commits -------------------------------------------------------------------

async def _after_credit(org_id: uuid.UUID, ledger_entry_id: int) -> None:
    """Runs once after each top-up credit has COMMITTED (never inside the crediting transaction).

    The single place for what follows a payment: an organization suspended for a negative balance
    gets its servers back at once (the dunning job would otherwise catch it within minutes). A
    failure here is logged and never undoes or repeats the credit.
    """
    log.info("top-up credited: organization %s, ledger entry %s", org_id, ledger_entry_id)
    await dunning.resume_if_paid(org_id)


async def _run_after_credit(credited: list[tuple[uuid.UUID, int]]) -> None:
    for org_id, entry_id in credited:
        try:
            await _after_credit(org_id, entry_id)
        except Exception:  # the money is in; a follow-up failure must not surface as a failed payment
            log.exception("after-credit step failed for organization %s", org_id)


# ---- starting a top-up -------------------------------------------------------------------------

def _public_url() -> str:
    return get_settings().public_url.rstrip("/")


async def start_topup(actor: Actor, org_id: Any, amount: Any) -> dict[str, Any]:
    """Create a PayPal order for `amount` and return {payment_id, order_id, approve_url} (billing_manage)."""
    with session_scope() as s:
        rbac.require(s, actor, org_id, "billing_manage")
        org = rbac.live_organization(s, org_id)
        if org is None:
            raise NotFound(rbac.ORG_NOT_FOUND)
        oid = org.id
    low, high = limits()
    value = parse_amount(amount, low, high)
    if not paypal.available():
        raise PaymentUnavailable("Payments are not set up on this platform yet. Please contact support.")
    payment_id = uuid.uuid4()
    reference = f"SP-{payment_id.hex[:20].upper()}"
    return_url = _public_url() + RETURN_PATH
    try:
        async with paypal.new_client() as pp:
            order = await pp.create_order(
                amount=value, currency=CURRENCY, custom_id=str(oid), invoice_id=reference,
                description=f"Wallet top-up for {platform_settings.get('platform_name')}",
                return_url=return_url, cancel_url=return_url + "?cancelled=1", request_id=str(payment_id),
                brand_name=str(platform_settings.get("platform_name")),
            )
    except PayPalError as exc:
        log.warning("PayPal create order failed: %s", exc)
        raise PaymentUnavailable("PayPal could not start the payment. Please try again in a moment.") from None
    approve = paypal.approve_link(order)
    if not order.get("id") or not approve:
        raise PaymentUnavailable("PayPal could not start the payment. Please try again in a moment.")
    with session_scope() as s:
        s.add(Payment(id=payment_id, organization_id=oid, created_by=actor.user_id, amount=value, currency=CURRENCY,
                      reference=reference, paypal_order_id=str(order["id"]), capture_request_id=str(uuid.uuid4())))
        s.flush()
        activity.record(s, actor, "payment.started", organization_id=oid, entity_type="payment",
                        entity_id=payment_id, summary=f"PayPal top-up of {format_money(value)} started.",
                        details={"amount": str(value), "order_id": str(order["id"]), "reference": reference})
    return {"payment_id": str(payment_id), "order_id": str(order["id"]), "approve_url": approve,
            "amount": str(value)}


# ---- applying what PayPal says about a capture -------------------------------------------------

def _lock_payment(s: Session, *, payment_id: Any = None, order_id: str | None = None,
                  capture_id: str | None = None) -> Payment | None:
    stmt = select(Payment)
    if payment_id is not None:
        stmt = stmt.where(Payment.id == payment_id)
    elif capture_id:
        stmt = stmt.where(Payment.paypal_capture_id == capture_id)
    elif order_id:
        stmt = stmt.where(Payment.paypal_order_id == order_id)
    else:
        return None
    return s.exec(stmt.with_for_update().execution_options(populate_existing=True)).first()


def _apply_capture(s: Session, payment: Payment, capture: dict[str, Any], actor: Actor | None,
                   credited: list[tuple[uuid.UUID, int]]) -> str:
    """Record what a capture object says, on a LOCKED payment row; credits at most once. Returns its status."""
    cap_id = str(capture.get("id") or "")
    status = str(capture.get("status") or "")
    amount = _money((capture.get("amount") or {}).get("value"))
    currency = (capture.get("amount") or {}).get("currency_code")
    now = utcnow()
    if payment.credited_at is not None:
        return payment.status
    if cap_id and payment.paypal_capture_id and payment.paypal_capture_id != cap_id:
        raise Conflict("That capture belongs to another payment.")
    if str(capture.get("custom_id") or payment.organization_id) != str(payment.organization_id) \
            or currency != payment.currency or amount is None:
        _flag(s, payment, "A PayPal capture did not match its payment (organization, currency or amount); "
                          "it was not credited.")
        payment.status, payment.failure, payment.updated_at = "failed", "Capture did not match the payment.", now
        s.add(payment)
        return payment.status
    if cap_id:
        payment.paypal_capture_id = cap_id
    if status == "COMPLETED":
        entry = _post(s, payment.organization_id, amount, "topup", actor=actor, reference=payment.reference,
                      description=f"PayPal top-up (capture {cap_id})")
        payment.status, payment.captured_amount = "completed", amount
        payment.ledger_entry_id, payment.credited_at, payment.updated_at = entry.id, now, now
        s.add(payment)
        activity.record(s, actor, "payment.credited", organization_id=payment.organization_id, entity_type="payment",
                        entity_id=payment.id, summary=f"PayPal top-up of {format_money(amount)} credited.",
                        details={"capture_id": cap_id, "ledger_entry_id": entry.id})
        s.flush()  # the UNIQUE capture id / ledger id are checked here, inside the transaction
        invoices.issue_receipt(s, payment.organization_id, int(entry.id))  # credited => receipted, atomically
        credited.append((payment.organization_id, int(entry.id)))
    elif status == "PENDING":
        payment.status, payment.captured_amount, payment.updated_at = "pending", amount, now
        s.add(payment)
    elif status in ("DECLINED", "FAILED"):
        payment.status, payment.failure, payment.updated_at = "denied", "PayPal declined the payment.", now
        s.add(payment)
    return payment.status


def _flag(s: Session, payment: Payment, reason: str) -> None:
    s.add(PaymentFlag(organization_id=payment.organization_id, payment_id=payment.id, reason=reason[:300]))
    activity.record(s, None, "payment.flagged", organization_id=payment.organization_id, entity_type="payment",
                    entity_id=payment.id, summary=reason[:300])


def _result(payment: Payment, balance: Decimal | None) -> dict[str, Any]:
    return {"payment_id": str(payment.id), "status": payment.status, "amount": str(payment.amount),
            "amount_display": format_money(payment.amount),
            "balance": None if balance is None else str(balance),
            "balance_display": "" if balance is None else format_money(balance),
            "failure": payment.failure}


def _balance(s: Session, org_id: uuid.UUID) -> Decimal | None:
    return s.exec(select(Wallet.balance).where(Wallet.organization_id == org_id)).first()


async def complete_topup(actor: Actor, org_id: Any, order_id: Any, *, cancelled: bool = False) -> dict[str, Any]:
    """The return page: capture the approved order and credit the wallet (idempotent; safe to reload)."""
    if not isinstance(order_id, str) or not _ORDER_ID_RE.fullmatch(order_id):
        raise NotFound(PAYMENT_NOT_FOUND)
    with session_scope() as s:
        rbac.require(s, actor, org_id, "billing_manage")
        payment = s.exec(select(Payment).where(Payment.paypal_order_id == order_id)).first()
        if payment is None or str(payment.organization_id) != str(rbac.parse_uuid(org_id)):
            raise NotFound(PAYMENT_NOT_FOUND)
        if payment.status != "created":
            return _result(payment, _balance(s, payment.organization_id))
        if cancelled:
            payment = _lock_payment(s, payment_id=payment.id)
            if payment.status == "created":
                payment.status, payment.updated_at = "cancelled", utcnow()
                s.add(payment)
                activity.record(s, actor, "payment.cancelled", organization_id=payment.organization_id,
                                entity_type="payment", entity_id=payment.id, summary="PayPal top-up cancelled.")
            return _result(payment, _balance(s, payment.organization_id))
        pid, request_id = payment.id, payment.capture_request_id
    return await _capture(pid, order_id, request_id, actor)


async def _capture(payment_id: uuid.UUID, order_id: str, request_id: str, actor: Actor | None) -> dict[str, Any]:
    capture: dict[str, Any] | None = None
    failure = ""
    final = False  # PayPal definitely refused (not "not approved yet", not "no answer")
    async with paypal.new_client() as pp:
        try:
            capture = paypal.order_capture(await pp.capture_order(order_id, request_id=request_id))
        except PayPalError as exc:
            if exc.retryable or exc.issue == "ORDER_ALREADY_CAPTURED":
                # The capture may have happened even though we got no answer: read the order.
                try:
                    capture = paypal.order_capture(await pp.get_order(order_id))
                except PayPalError as again:
                    log.warning("PayPal order %s unreadable after capture failure: %s", order_id, again)
            elif exc.issue == "ORDER_NOT_APPROVED":
                failure = "The payment was not approved at PayPal."
            else:
                final = True
                failure = "PayPal declined the payment." if exc.status == 422 else "PayPal refused the payment."
                log.warning("PayPal capture of %s refused: %s", order_id, exc)
    credited: list[tuple[uuid.UUID, int]] = []
    with session_scope() as s:
        payment = _lock_payment(s, payment_id=payment_id)
        if capture is not None:
            _apply_capture(s, payment, capture, actor, credited)
        elif final and payment.status == "created":
            payment.status, payment.failure, payment.updated_at = "failed", failure, utcnow()
            s.add(payment)
        result = _result(payment, _balance(s, payment.organization_id))
        if capture is None and payment.status == "created":
            result["status"] = "unconfirmed"  # we could not learn the outcome; the webhook will settle it
            result["failure"] = failure
    await _run_after_credit(credited)
    return result


# ---- webhooks -----------------------------------------------------------------------------------

def _capture_id_of(event: dict[str, Any]) -> str:
    resource = event.get("resource") or {}
    if event.get("resource_type") == "capture" or str(event.get("event_type", "")).endswith(("COMPLETED", "DENIED",
                                                                                                "PENDING")):
        return str(resource.get("id") or "")
    for link in resource.get("links") or []:
        href = str((link or {}).get("href") or "")
        if (link or {}).get("rel") == "up" and "/captures/" in href:
            return href.rstrip("/").rsplit("/", 1)[-1]
    return ""


async def handle_webhook(headers: dict[str, str], body: bytes) -> tuple[int, str]:
    """Verify one PayPal delivery with PayPal, then act on it once. Returns (HTTP status, note)."""
    try:
        event = json.loads(body)
    except ValueError:
        return 400, "invalid JSON"
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or not event["id"] \
            or len(event["id"]) > 64 or not isinstance(event.get("resource"), dict):
        return 400, "not a webhook event"
    try:
        async with paypal.new_client() as pp:
            verified = await pp.verify_webhook(headers, event)
    except PayPalError as exc:
        log.warning("PayPal webhook verification failed to run: %s", exc)
        return 503, "verification unavailable"  # PayPal retries the delivery later
    if not verified:
        log.warning("PayPal webhook %s refused: signature not verified", event["id"][:64])
        return 400, "signature not verified"
    credited: list[tuple[uuid.UUID, int]] = []
    event_type = str(event.get("event_type") or "")[:80]
    with session_scope() as s:
        new = s.execute(
            insert(PayPalWebhookEvent).values(event_id=event["id"], event_type=event_type,
                                              resource_id=str(event["resource"].get("id") or "")[:64],
                                              received_at=utcnow())
            .on_conflict_do_nothing(index_elements=["event_id"]).returning(PayPalWebhookEvent.event_id)
        ).first()
        if new is None:
            return 200, "replay ignored"
        outcome = _dispatch(s, event_type, event, credited)
        s.execute(text("UPDATE paypal_webhook_events SET outcome = :o WHERE event_id = :i"),
                  {"o": outcome[:200], "i": event["id"]})
    await _run_after_credit(credited)
    return 200, outcome


def _dispatch(s: Session, event_type: str, event: dict[str, Any], credited: list[tuple[uuid.UUID, int]]) -> str:
    resource = event["resource"]
    capture_id = _capture_id_of(event)
    order_id = str(((resource.get("supplementary_data") or {}).get("related_ids") or {}).get("order_id") or "")
    payment = _lock_payment(s, capture_id=capture_id) if capture_id else None
    if payment is None and order_id:
        payment = _lock_payment(s, order_id=order_id)
    if event_type not in ("PAYMENT.CAPTURE.COMPLETED", "PAYMENT.CAPTURE.DENIED", "PAYMENT.CAPTURE.PENDING",
                          "PAYMENT.CAPTURE.REFUNDED", "PAYMENT.CAPTURE.REVERSED"):
        return "event type not handled"
    if payment is None:
        return "no matching payment"
    if event_type in ("PAYMENT.CAPTURE.COMPLETED", "PAYMENT.CAPTURE.PENDING", "PAYMENT.CAPTURE.DENIED"):
        status = _apply_capture(s, payment, resource, None, credited)
        return f"payment {status}"
    if event_type == "PAYMENT.CAPTURE.REFUNDED":
        return _webhook_refund(s, payment, resource)
    return _webhook_reversal(s, payment, resource)


def _webhook_refund(s: Session, payment: Payment, resource: dict[str, Any]) -> str:
    refund_id = str(resource.get("id") or "")
    amount = _money((resource.get("amount") or {}).get("value"))
    row = s.exec(select(PaymentRefund).where(PaymentRefund.paypal_refund_id == refund_id)).first() if refund_id \
        else None
    if row is None and amount is not None:  # our own refund whose API answer we have not stored yet
        row = s.exec(select(PaymentRefund).where(
            PaymentRefund.payment_id == payment.id, PaymentRefund.status == "pending",
            col(PaymentRefund.paypal_refund_id).is_(None), PaymentRefund.amount == amount)
            .with_for_update()).first()
    if row is not None:
        if row.status == "pending":
            _finish_refund(s, payment, row, refund_id)
        return "refund confirmed"
    if amount is None or payment.credited_at is None:
        return "refund ignored"
    # Refunded outside SkyPanel (PayPal dashboard): take the money back from the wallet too.
    amount = min(amount, payment.amount - payment.refunded_amount)
    if amount <= 0:
        return "refund ignored"
    entry = _post(s, payment.organization_id, -amount, "refund", actor=None, reference=payment.reference,
                  description=f"Refund made at PayPal ({refund_id})", allow_overdraft=True)
    row = PaymentRefund(payment_id=payment.id, organization_id=payment.organization_id, amount=amount,
                        status="completed", request_id=f"external-{refund_id or uuid.uuid4()}"[:64],
                        paypal_refund_id=refund_id or None, reason="Refunded at PayPal", source="paypal",
                        ledger_entry_id=entry.id)
    s.add(row)
    payment.refunded_amount += amount
    payment.status = "refunded" if payment.refunded_amount >= payment.amount else "partially_refunded"
    payment.updated_at = utcnow()
    s.add(payment)
    return "external refund debited"


def _webhook_reversal(s: Session, payment: Payment, resource: dict[str, Any]) -> str:
    if payment.reversed_at is not None:
        return "already reversed"
    now = utcnow()
    remaining = payment.amount - payment.refunded_amount
    amount = min(_money((resource.get("amount") or {}).get("value")) or remaining, remaining)
    if payment.credited_at is not None and amount > 0:
        _post(s, payment.organization_id, -amount, "reversal", actor=None, reference=payment.reference,
              description="PayPal reversed the payment (chargeback)", allow_overdraft=True)
    payment.status, payment.reversed_at, payment.updated_at = "reversed", now, now
    s.add(payment)
    _flag(s, payment, f"PayPal reversed a top-up of {format_money(payment.amount)} (chargeback); "
                      f"{format_money(amount)} was taken back from the wallet.")
    return "reversal debited"


# ---- refunds (platform admins) ------------------------------------------------------------------

def _finish_refund(s: Session, payment: Payment, row: PaymentRefund, refund_id: str) -> None:
    row.status, row.paypal_refund_id, row.updated_at = "completed", refund_id or row.paypal_refund_id, utcnow()
    s.add(row)
    if payment.status not in ("reversed",):
        payment.status = "refunded" if payment.refunded_amount >= payment.amount else "partially_refunded"
    payment.updated_at = utcnow()
    s.add(payment)


async def refund_payment(actor: Actor, payment_id: Any, amount: Any, reason: Any) -> dict[str, Any]:
    """Refund all or part of a credited payment through PayPal, debiting the wallet (platform admins)."""
    if not isinstance(reason, str) or len(" ".join(reason.split())) < 3:
        raise ValidationError("Give a reason for the refund (at least 3 characters).", field="reason")
    why = " ".join(reason.split())[:300]
    with session_scope() as s:
        require_platform_admin(s, actor)
        payment = _lock_payment(s, payment_id=rbac.parse_uuid(payment_id, PAYMENT_NOT_FOUND))
        if payment is None:
            raise NotFound(PAYMENT_NOT_FOUND)
        if payment.credited_at is None or not payment.paypal_capture_id or payment.status == "reversed":
            raise ValidationError("Only a completed PayPal payment can be refunded.", field="amount")
        remaining = payment.amount - payment.refunded_amount
        if remaining <= 0:
            raise ValidationError("This payment has already been refunded in full.", field="amount")
        value = parse_amount(amount, CENTS, Decimal("1000000000"))
        if value > remaining:
            raise ValidationError(f"That is more than the unrefunded remainder of this payment "
                                  f"({format_money(remaining)}).", field="amount")
        wallet = _lock_wallet(s, payment.organization_id)
        if value > wallet.balance:
            raise ValidationError(f"That is more than the organization's wallet balance "
                                  f"({format_money(wallet.balance)}); the refund would leave it negative.",
                                  field="amount")
        row = PaymentRefund(payment_id=payment.id, organization_id=payment.organization_id, amount=value,
                            request_id=str(uuid.uuid4()), reason=why, actor_user_id=actor.user_id)
        entry = _post(s, payment.organization_id, -value, "refund", actor=actor, reference=payment.reference,
                      description=f"Refund to PayPal: {why}")
        row.ledger_entry_id = entry.id
        payment.refunded_amount += value
        payment.updated_at = utcnow()
        s.add_all([row, payment])
        s.flush()
        activity.record(s, actor, "payment.refund_started", organization_id=payment.organization_id,
                        entity_type="payment", entity_id=payment.id,
                        summary=f"Refund of {format_money(value)} to PayPal: {why}"[:300],
                        details={"refund_id": str(row.id), "amount": str(value)})
        refund_row_id = row.id
    return await _send_refund(actor, refund_row_id)


async def retry_refund(actor: Actor, refund_id: Any) -> dict[str, Any]:
    """Send a refund whose outcome was unknown again (same PayPal-Request-Id: never refunds twice)."""
    with session_scope() as s:
        require_platform_admin(s, actor)
        row = s.get(PaymentRefund, rbac.parse_uuid(refund_id, "Refund not found."))
        if row is None:
            raise NotFound("Refund not found.")
        if row.status != "pending":
            raise ValidationError(f"This refund is already {row.status}.", field="refund")
    return await _send_refund(actor, row.id)


async def _send_refund(actor: Actor, refund_row_id: uuid.UUID) -> dict[str, Any]:
    with session_scope() as s:
        row = s.get(PaymentRefund, refund_row_id)
        payment = s.get(Payment, row.payment_id)
        capture_id, amount, request_id, reference, currency = (payment.paypal_capture_id, row.amount, row.request_id,
                                                               payment.reference, payment.currency)
    answer: dict[str, Any] | None = None
    error: PayPalError | None = None
    try:
        async with paypal.new_client() as pp:
            answer = await pp.refund_capture(capture_id, amount=amount, currency=currency, request_id=request_id,
                                             invoice_id=f"{reference}-R{str(refund_row_id)[:6]}")
    except PayPalError as exc:
        error = exc
    with session_scope() as s:
        payment = _lock_payment(s, payment_id=row.payment_id)
        row = s.exec(select(PaymentRefund).where(PaymentRefund.id == refund_row_id).with_for_update()
                     .execution_options(populate_existing=True)).one()
        if row.status != "pending":
            return _refund_dict(row)
        if answer is not None and answer.get("status") in ("COMPLETED", "PENDING"):
            _finish_refund(s, payment, row, str(answer.get("id") or ""))
            if answer.get("status") == "PENDING":
                row.status = "pending"  # PayPal accepted it; the REFUNDED webhook completes it
            return _refund_dict(row)
        if error is not None and error.retryable:
            row.failure, row.updated_at = "No answer from PayPal yet; retry to confirm.", utcnow()
            s.add(row)
            return _refund_dict(row)
        # PayPal said no: give the reserved money back to the wallet.
        reason = str(error) if error else f"PayPal answered {answer.get('status') if answer else 'nothing'}"
        _post(s, payment.organization_id, row.amount, "credit", actor=actor, reference=payment.reference,
              description="Refund refused by PayPal; amount returned")
        payment.refunded_amount -= row.amount
        payment.updated_at = utcnow()
        row.status, row.failure, row.updated_at = "failed", reason[:300], utcnow()
        s.add_all([row, payment])
        activity.record(s, actor, "payment.refund_failed", organization_id=payment.organization_id,
                        entity_type="payment", entity_id=payment.id, summary=f"Refund refused by PayPal: {reason}"[:300])
        return _refund_dict(row)


def _refund_dict(row: PaymentRefund) -> dict[str, Any]:
    return {"id": str(row.id), "status": row.status, "amount": str(row.amount),
            "amount_display": format_money(row.amount), "paypal_refund_id": row.paypal_refund_id or "",
            "failure": row.failure, "reason": row.reason, "source": row.source,
            "created_at": row.created_at.isoformat()}


# ---- admin lists --------------------------------------------------------------------------------

def admin_payments(actor: Actor, *, limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Newest payments across organizations with their refunds (platform admins)."""
    limit, offset = max(1, min(int(limit), 200)), max(0, min(int(offset), 1_000_000))
    with session_scope() as s:
        require_platform_admin(s, actor)
        total = s.exec(select(func.count()).select_from(Payment)).one()
        rows = s.exec(select(Payment, Organization.name).join(Organization, Organization.id == Payment.organization_id)
                      .order_by(col(Payment.created_at).desc()).limit(limit).offset(offset)).all()
        ids = [p.id for p, _ in rows]
        refunds: dict[uuid.UUID, list[dict[str, Any]]] = {}
        if ids:
            for r in s.exec(select(PaymentRefund).where(col(PaymentRefund.payment_id).in_(ids))
                            .order_by(col(PaymentRefund.created_at))).all():
                refunds.setdefault(r.payment_id, []).append(_refund_dict(r))
        out = []
        for p, org_name in rows:
            out.append({
                "id": str(p.id), "organization_id": str(p.organization_id), "organization": org_name,
                "amount": str(p.amount), "amount_display": format_money(p.amount), "status": p.status,
                "reference": p.reference, "order_id": p.paypal_order_id, "capture_id": p.paypal_capture_id or "",
                "refunded_display": format_money(p.refunded_amount),
                "refundable": str(p.amount - p.refunded_amount) if p.credited_at and p.status != "reversed" else "0",
                "created_at": p.created_at.isoformat(), "refunds": refunds.get(p.id, []),
            })
        return out, int(total)


def admin_flags(actor: Actor) -> list[dict[str, Any]]:
    with session_scope() as s:
        require_platform_admin(s, actor)
        rows = s.exec(select(PaymentFlag, Organization.name).join(Organization,
                                                                  Organization.id == PaymentFlag.organization_id)
                      .where(col(PaymentFlag.resolved_at).is_(None)).order_by(col(PaymentFlag.created_at).desc())
                      .limit(100)).all()
        return [{"id": str(f.id), "organization_id": str(f.organization_id), "organization": name,
                 "reason": f.reason, "created_at": f.created_at.isoformat()} for f, name in rows]


def resolve_flag(actor: Actor, flag_id: Any) -> None:
    with session_scope() as s:
        require_platform_admin(s, actor)
        flag = s.get(PaymentFlag, rbac.parse_uuid(flag_id, "Flag not found."))
        if flag is None:
            raise NotFound("Flag not found.")
        if flag.resolved_at is None:
            flag.resolved_at = utcnow()
            s.add(flag)
            activity.record(s, actor, "payment.flag_resolved", organization_id=flag.organization_id,
                            entity_type="payment_flag", entity_id=flag.id, summary="Payment flag resolved.")


def flagged_org_ids(session: Session) -> set[uuid.UUID]:
    return set(session.exec(select(PaymentFlag.organization_id).where(col(PaymentFlag.resolved_at).is_(None))).all())


__all__ = ["RETURN_PATH", "PaymentUnavailable", "_after_credit", "admin_flags", "admin_payments", "complete_topup",
           "handle_webhook", "limits", "parse_amount", "refund_payment", "resolve_flag", "retry_refund", "start_topup"]
