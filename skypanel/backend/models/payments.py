"""PayPal top-ups, their refunds, received webhook events and organizations flagged for admins.

A payment is credited at most once: `paypal_capture_id` is UNIQUE and `ledger_entry_id` is set in
the same transaction as the ledger credit (services/topups.py).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey
from sqlmodel import Field, SQLModel

from .base import MONEY, money, ts, uuid_pk

PAYMENT_STATUSES = ("created", "pending", "completed", "denied", "cancelled", "failed", "refunded",
                    "partially_refunded", "reversed")
REFUND_STATUSES = ("pending", "completed", "failed")


class Payment(SQLModel, table=True):
    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount > 0", name="ck_payments_amount_positive"),
        CheckConstraint("refunded_amount >= 0 AND refunded_amount <= amount", name="ck_payments_refunded_range"),
    )

    id: uuid.UUID = uuid_pk()
    organization_id: uuid.UUID = Field(foreign_key="organizations.id", index=True, ondelete="RESTRICT")
    created_by: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    provider: str = Field(default="paypal", max_length=20)
    amount: Decimal = money(None)
    currency: str = Field(default="USD", max_length=3)
    status: str = Field(default="created", max_length=20, index=True)
    reference: str = Field(max_length=64, unique=True)  # our own id, sent as invoice_id
    paypal_order_id: str = Field(max_length=64, unique=True)
    paypal_capture_id: str | None = Field(default=None, max_length=64, unique=True)
    capture_request_id: str = Field(max_length=64)  # PayPal-Request-Id of the capture call
    captured_amount: Decimal | None = Field(default=None, sa_type=MONEY, nullable=True)
    refunded_amount: Decimal = money()
    ledger_entry_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, ForeignKey("ledger_entries.id", ondelete="RESTRICT"),
                                       unique=True, nullable=True))
    failure: str = Field(default="", max_length=300)
    created_at: datetime = ts()
    updated_at: datetime = ts()
    credited_at: datetime | None = ts(default_now=False)
    reversed_at: datetime | None = ts(default_now=False)


class PaymentRefund(SQLModel, table=True):
    __tablename__ = "payment_refunds"
    __table_args__ = (CheckConstraint("amount > 0", name="ck_payment_refunds_amount_positive"),)

    id: uuid.UUID = uuid_pk()
    payment_id: uuid.UUID = Field(foreign_key="payments.id", index=True, ondelete="RESTRICT")
    organization_id: uuid.UUID = Field(foreign_key="organizations.id", index=True, ondelete="RESTRICT")
    amount: Decimal = money(None)
    status: str = Field(default="pending", max_length=20)
    request_id: str = Field(max_length=64, unique=True)  # PayPal-Request-Id of the refund call
    paypal_refund_id: str | None = Field(default=None, max_length=64, unique=True)
    reason: str = Field(default="", max_length=300)
    source: str = Field(default="admin", max_length=20)  # admin | paypal (refunded outside SkyPanel)
    actor_user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    ledger_entry_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, ForeignKey("ledger_entries.id", ondelete="RESTRICT"), nullable=True))
    failure: str = Field(default="", max_length=300)
    created_at: datetime = ts()
    updated_at: datetime = ts()


class PayPalWebhookEvent(SQLModel, table=True):
    """Every verified event id we processed: a replay finds its id here and changes nothing."""

    __tablename__ = "paypal_webhook_events"

    event_id: str = Field(primary_key=True, max_length=64)
    event_type: str = Field(max_length=80)
    resource_id: str = Field(default="", max_length=64)
    outcome: str = Field(default="", max_length=200)
    received_at: datetime = ts()


class PaymentFlag(SQLModel, table=True):
    """An organization an admin should look at (a reversed payment / chargeback)."""

    __tablename__ = "payment_flags"

    id: uuid.UUID = uuid_pk()
    organization_id: uuid.UUID = Field(foreign_key="organizations.id", index=True, ondelete="CASCADE")
    payment_id: uuid.UUID | None = Field(default=None, foreign_key="payments.id", ondelete="SET NULL")
    reason: str = Field(max_length=300)
    created_at: datetime = ts()
    resolved_at: datetime | None = ts(default_now=False)
