"""Cloud servers: retail plans and their price history, the provider catalog cache, servers (VPS
instances), organization SSH keys, per-hour server charges and orphans found at providers."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Column, Index, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from .base import money, ts, uuid_pk

#: Hours in a billing month: hourly price = monthly price / 730 (how Linode and DigitalOcean bill).
HOURS_PER_MONTH = 730

#: Plan categories; admins give each a white-label name (platform setting `plan_category_names`).
PLAN_CATEGORIES = ("standard", "cpu", "memory", "storage", "gpu")

#: Server states stored on our rows: the provider-neutral INSTANCE_STATUSES plus our own
#: `creating` (row written, provider not answered yet), `failed` (provider refused; nothing charged)
#: and `deleted` (soft delete: charges and activity keep pointing at the row).
SERVER_OWN_STATUSES = ("creating", "failed", "deleted")


def json_list():
    return Field(default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]"))


class Plan(SQLModel, table=True):
    """A retail plan: one provider plan (type/size) resold under our name and price."""

    __tablename__ = "plans"
    __table_args__ = (
        CheckConstraint("base_price >= 0 AND markup >= 0 AND backup_price >= 0", name="ck_plans_prices"),
    )

    id: uuid.UUID = uuid_pk()
    provider_account_id: uuid.UUID = Field(foreign_key="provider_accounts.id", index=True, ondelete="RESTRICT")
    provider_plan_id: str = Field(max_length=64)
    name: str = Field(max_length=60)
    category: str = Field(default="standard", max_length=20)  # one of PLAN_CATEGORIES
    vcpus: int = 0
    memory_mb: int = 0
    disk_gb: int = 0
    transfer_gb: int = 0
    # Current prices per month (the row in plan_prices with the latest effective_from mirrors them).
    base_price: Decimal = money()  # what the provider charges us
    markup: Decimal = money()
    backup_price: Decimal = money()  # backup upcharge per month
    regions: list[str] = json_list()  # provider region ids where the plan is offered
    is_active: bool = True
    display_order: int = 0
    created_at: datetime = ts()
    updated_at: datetime = ts()


class PlanPrice(SQLModel, table=True):
    """Price history. A change takes effect at the next whole hour, so an hour already started is
    billed at the price it started with ("price changes apply to new billing hours only")."""

    __tablename__ = "plan_prices"
    __table_args__ = (UniqueConstraint("plan_id", "effective_from"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    plan_id: uuid.UUID = Field(foreign_key="plans.id", index=True, ondelete="CASCADE")
    base_price: Decimal = money()
    markup: Decimal = money()
    backup_price: Decimal = money()
    effective_from: datetime = ts()
    created_by: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = ts()


class ProviderCatalog(SQLModel, table=True):
    """The last regions / plans / images read from a provider account (lists of plain dicts), so
    page views never wait on the provider. Refreshed by the sync job and by admins."""

    __tablename__ = "provider_catalogs"

    provider_account_id: uuid.UUID = Field(foreign_key="provider_accounts.id", primary_key=True, ondelete="CASCADE")
    regions: list[dict[str, Any]] = json_list()
    plans: list[dict[str, Any]] = json_list()
    images: list[dict[str, Any]] = json_list()
    refreshed_at: datetime = ts()


class Server(SQLModel, table=True):
    """A VPS an organization runs at a provider (the customer calls it a server)."""

    __tablename__ = "servers"
    __table_args__ = (
        UniqueConstraint("provider_account_id", "provider_instance_id"),
        Index("ix_servers_org_created", "organization_id", "created_at"),
        Index("ix_servers_status", "status"),
    )

    id: uuid.UUID = uuid_pk()
    organization_id: uuid.UUID = Field(foreign_key="organizations.id", index=True, ondelete="RESTRICT")
    # Nullable so an account or plan can be deleted once only deleted servers point at it (the
    # services refuse while live servers use them); the row keeps provider_kind and its charges.
    provider_account_id: uuid.UUID | None = Field(default=None, foreign_key="provider_accounts.id",
                                                  ondelete="SET NULL")
    provider_kind: str = Field(max_length=20)  # linode | digitalocean | simulated (kept if the account goes)
    provider_instance_id: str | None = Field(default=None, max_length=64)  # None until the provider answers
    plan_id: uuid.UUID | None = Field(default=None, foreign_key="plans.id", ondelete="SET NULL")
    provider_plan_id: str = Field(max_length=64)  # the size now (changes on resize)
    label: str = Field(max_length=64)
    status: str = Field(default="creating", max_length=20)
    region: str = Field(max_length=64)
    image: str = Field(max_length=120)
    image_label: str = Field(default="", max_length=120)
    ipv4: list[str] = json_list()
    ipv6: str = Field(default="", max_length=64)
    ssh_port: int = 22
    vcpus: int = 0
    memory_mb: int = 0
    disk_gb: int = 0
    transfer_gb: int = 0
    backups_enabled: bool = False
    # security.encrypt(password, aad=root_password_aad(id)); for the console, never sent to browsers.
    root_password_enc: str | None = Field(default=None, max_length=400)
    ssh_key_ids: list[str] = json_list()  # the organization's keys installed at creation
    host_key: str = Field(default="", max_length=1000)  # pinned by the console on first connect
    notes: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    pending_action: str = Field(default="", max_length=30)  # reboot/resize/... in progress
    pending_action_id: str = Field(default="", max_length=64)  # provider action id to poll
    last_error: str = Field(default="", max_length=300)
    created_by: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = ts()
    updated_at: datetime = ts()
    synced_at: datetime | None = ts(default_now=False)
    deleted_at: datetime | None = ts(default_now=False)
    # Dunning (services/dunning.py): set while the organization is suspended for a negative balance;
    # power actions are refused meanwhile. resume_power_on = we powered it off, so we power it on again.
    suspended_at: datetime | None = ts(default_now=False)
    resume_power_on: bool = False


def root_password_aad(server_id: uuid.UUID) -> bytes:
    """Associated data binding an encrypted root password to its server row."""
    return b"server-root:" + server_id.bytes


def server_tag(server_id: uuid.UUID) -> str:
    """The tag that names our row on the provider's instance (finds orphans after a crash)."""
    return f"skypanel-{server_id.hex}"


#: Every instance we create carries this tag, so reconciliation can tell ours from others'.
OWNER_TAG = "skypanel"


class ServerCharge(SQLModel, table=True):
    """One charge per server per started hour, never two (unique constraint). The first hour is
    written at creation; the hourly billing engine writes the rest."""

    __tablename__ = "server_charges"
    __table_args__ = (
        UniqueConstraint("server_id", "hour_start"),
        Index("ix_server_charges_org_hour", "organization_id", "hour_start"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    server_id: uuid.UUID = Field(foreign_key="servers.id", ondelete="RESTRICT")
    organization_id: uuid.UUID = Field(foreign_key="organizations.id", ondelete="RESTRICT")
    hour_start: datetime = ts()
    amount: Decimal = money(None)  # positive: what the hour cost
    plan_amount: Decimal = money()
    backup_amount: Decimal = money()
    ledger_entry_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    created_at: datetime = ts()


class SshKey(SQLModel, table=True):
    """An organization's SSH public key (OpenSSH format), offered when creating servers."""

    __tablename__ = "ssh_keys"
    __table_args__ = (UniqueConstraint("organization_id", "fingerprint"),)

    id: uuid.UUID = uuid_pk()
    organization_id: uuid.UUID = Field(foreign_key="organizations.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=64)
    key_type: str = Field(max_length=40)  # ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256, ...
    public_key: str = Field(sa_column=Column(Text, nullable=False))
    fingerprint: str = Field(max_length=80)  # SHA256:base64 (as `ssh-keygen -lf` prints it)
    created_by: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = ts()
    updated_at: datetime = ts()


class OrphanServer(SQLModel, table=True):
    """An instance at a provider tagged as ours that no server row knows: reported to admins."""

    __tablename__ = "orphan_servers"
    __table_args__ = (UniqueConstraint("provider_account_id", "provider_instance_id"),)

    id: uuid.UUID = uuid_pk()
    provider_account_id: uuid.UUID = Field(foreign_key="provider_accounts.id", ondelete="CASCADE")
    provider_instance_id: str = Field(max_length=64)
    label: str = Field(default="", max_length=120)
    region: str = Field(default="", max_length=64)
    ipv4: list[str] = json_list()
    first_seen_at: datetime = ts()
    last_seen_at: datetime = ts()
    resolved_at: datetime | None = ts(default_now=False)
    resolution: str = Field(default="", max_length=30)  # deleted | gone
