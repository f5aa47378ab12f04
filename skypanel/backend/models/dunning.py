"""Dunning: per-organization alert and suspension state (services/dunning.py)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from .base import ts


class DunningState(SQLModel, table=True):
    """One row per organization that ever needed one. `fired` holds the alerts sent and not yet
    re-armed ("72h", "24h", "1h", "negative", "suspended"): an alert is sent when its condition
    becomes true and it is not in `fired`, and leaves `fired` when the condition clears."""

    __tablename__ = "dunning_states"

    organization_id: uuid.UUID = Field(foreign_key="organizations.id", primary_key=True, ondelete="CASCADE")
    fired: list[str] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]"))
    negative_since: datetime | None = ts(default_now=False)
    suspended_at: datetime | None = ts(default_now=False, index=True)
    hold_until: datetime | None = ts(default_now=False)
    hold_reason: str = Field(default="", max_length=300)
    hold_by: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    updated_at: datetime = ts()
