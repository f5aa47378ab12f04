"""Billing profiles, invoice documents (top-up receipts and monthly statements) and the yearly
number counter that keeps invoice numbers gap-free."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Column, Index, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from .base import money, ts, uuid_pk

INVOICE_KINDS = ("receipt", "statement")


class BillingProfile(SQLModel, table=True):
    """Who the organization's documents are addressed to (copied into each document at issue)."""

    __tablename__ = "billing_profiles"

    organization_id: uuid.UUID = Field(foreign_key="organizations.id", primary_key=True, ondelete="CASCADE")
    legal_name: str = Field(default="", max_length=120)
    address_line1: str = Field(default="", max_length=120)
    address_line2: str = Field(default="", max_length=120)
    city: str = Field(default="", max_length=80)
    postal_code: str = Field(default="", max_length=20)
    country: str = Field(default="", max_length=2)  # ISO 3166-1 alpha-2
    tax_id: str = Field(default="", max_length=40)
    updated_by: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    updated_at: datetime = ts()


class InvoiceCounter(SQLModel, table=True):
    """One row per year: the last number issued. Incremented (row locked) in the transaction that
    writes the document, so a rolled-back issue gives its number back and numbers never skip."""

    __tablename__ = "invoice_counters"

    year: int = Field(primary_key=True)
    last_number: int = 0


class Invoice(SQLModel, table=True):
    """An issued document. `data` is the frozen snapshot (lines, totals, billing profile, platform
    name) the HTML view and the PDF are drawn from; a trigger refuses UPDATE and DELETE."""

    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("year", "sequence", name="uq_invoices_year_sequence"),
        Index("ix_invoices_org_issued", "organization_id", "issued_at"),
        # One receipt per ledger entry, one statement per organization and month.
        Index("uq_invoices_receipt_entry", "ledger_entry_id", unique=True,
              postgresql_where=text("kind = 'receipt'")),
        Index("uq_invoices_statement_period", "organization_id", "period_start", unique=True,
              postgresql_where=text("kind = 'statement'")),
    )

    id: uuid.UUID = uuid_pk()
    organization_id: uuid.UUID = Field(foreign_key="organizations.id", ondelete="RESTRICT")
    kind: str = Field(max_length=20)  # receipt | statement
    number: str = Field(max_length=20, unique=True)  # INV-2026-000042
    year: int
    sequence: int
    currency: str = Field(default="USD", max_length=3)
    total: Decimal = money()  # receipt: amount paid; statement: closing balance
    period_start: datetime | None = ts(default_now=False)
    period_end: datetime | None = ts(default_now=False)
    ledger_entry_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    issued_at: datetime = ts()
