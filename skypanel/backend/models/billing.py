"""The hourly billing engine's own tables: one row per run (health) and each server's billing cursor."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Column, Index, Text
from sqlmodel import Field, SQLModel

from .base import money, ts


class BillingRun(SQLModel, table=True):
    """One run of the hourly billing engine; updated in the same transaction as each batch it commits,
    so its figures always match what was billed. `running` rows left by a dead process are marked
    `interrupted` by the next run."""

    __tablename__ = "billing_runs"
    __table_args__ = (Index("ix_billing_runs_started", "started_at"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    trigger: str = Field(default="schedule", max_length=20)  # schedule | cli | admin | test
    status: str = Field(default="running", max_length=20)  # running | ok | failed | interrupted
    billed_until: datetime = ts()  # the last hour due in this run (its start)
    started_at: datetime = ts()
    finished_at: datetime | None = ts(default_now=False)
    duration_ms: int | None = None
    batches_done: int = 0
    batches_failed: int = 0
    servers: int = 0
    hours_billed: int = 0
    organizations: int = 0
    amount: Decimal = money()
    error: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))


class ServerBillingState(SQLModel, table=True):
    """Where billing stands for a server: the last hour charged and the month-to-date total of the
    month that hour is in (for the monthly cap). Written only by the engine, in each batch."""

    __tablename__ = "server_billing_state"

    # No foreign key: derived data, written 100,000 rows at a time (servers are never hard-deleted).
    server_id: uuid.UUID = Field(primary_key=True)
    billed_through: datetime = ts()  # start of the last hour charged
    month_start: datetime = ts()  # the calendar month (UTC) billed_through falls in
    month_amount: Decimal = money()  # charged in that month so far
    updated_at: datetime = ts()
