"""The simulated provider's own state: instances and actions kept in our database, standing in for
a cloud on a fresh machine (and in tests). Nothing else reads these tables: the rest of the
panel sees them only through the Provider protocol, exactly like Linode or DigitalOcean."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from .base import ts


def _json(default: str = "[]"):
    return Field(default_factory=list if default == "[]" else dict,
                 sa_column=Column(JSONB, nullable=False, server_default=default))


class SimulatedInstance(SQLModel, table=True):
    __tablename__ = "simulated_instances"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    provider_account_id: uuid.UUID = Field(foreign_key="provider_accounts.id", index=True, ondelete="CASCADE")
    label: str = Field(max_length=64)
    region: str = Field(max_length=64)
    plan: str = Field(max_length=64)
    image: str = Field(max_length=120)
    status: str = Field(max_length=20)  # provider-neutral INSTANCE_STATUSES
    next_status: str = Field(default="", max_length=20)  # what a transitional status becomes
    status_until: datetime | None = ts(default_now=False)  # when the transitional status ends
    ipv4: list[str] = _json()
    ipv6: str = Field(default="", max_length=64)
    ssh_port: int = 22
    vcpus: int = 0
    memory_mb: int = 0
    disk_gb: int = 0
    tags: list[str] = _json()
    root_password_enc: str | None = Field(default=None, max_length=400)
    ssh_public_keys: list[str] = _json()
    # The instance's own SSH host key (OpenSSH private key, encrypted): stable across restarts,
    # so the console's host-key pinning sees the same key every time.
    host_key_enc: str | None = Field(default=None, max_length=1000)
    backups_enabled: bool = False
    backups: list[dict[str, Any]] = _json()
    reverse_dns: dict[str, str] = _json("{}")
    created_at: datetime = ts()
    deleted_at: datetime | None = ts(default_now=False)


class SimulatedAction(SQLModel, table=True):
    __tablename__ = "simulated_actions"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    instance_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    kind: str = Field(max_length=30)
    completes_at: datetime = ts()
    created_at: datetime = ts()
