"""Provider accounts: the Linode / DigitalOcean API tokens the platform resells through.

The token is stored only AES-256-GCM encrypted (`token_enc`, associated data
b"provider-token:" + the row id's bytes, so a blob copied onto another row does not decrypt);
admins see its last four characters, never the token again.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Column
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from .base import ts, uuid_pk

#: "simulated" is the built-in provider (providers/simulated.py): no token, no API URL.
PROVIDER_KINDS = ("linode", "digitalocean", "simulated")


def token_aad(account_id: uuid.UUID) -> bytes:
    """The associated data binding an encrypted token to its provider account row."""
    return b"provider-token:" + account_id.bytes


class ProviderAccount(SQLModel, table=True):
    __tablename__ = "provider_accounts"

    id: uuid.UUID = uuid_pk()
    kind: str = Field(max_length=20)  # one of PROVIDER_KINDS
    name: str = Field(max_length=60, unique=True)  # display name in the admin area
    token_enc: str = Field(max_length=400)  # security.encrypt(token, aad=token_aad(id))
    token_last4: str = Field(default="", max_length=4)
    base_url: str | None = Field(default=None, max_length=300)  # None: the provider's official API URL
    is_active: bool = True
    display_order: int = 0
    # [{"id": "us-east", "label": "New York"}]: regions offered to customers, with their labels
    allowed_regions: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]")
    )
    created_at: datetime = ts()
    updated_at: datetime = ts()
    last_tested_at: datetime | None = ts(default_now=False)
    last_test_ok: bool | None = None
    last_test_message: str = Field(default="", max_length=300)
