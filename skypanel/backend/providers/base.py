"""Provider-neutral types and the Provider protocol.

Why: the panel talks to several VPS providers (Linode, DigitalOcean, ...). Everything above the
provider layer works only with these frozen, plain dataclasses (Decimal for money, normalised
status strings), so the UI, billing and jobs never depend on one provider's JSON shapes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal, Protocol, runtime_checkable

#: The only status values an Instance may carry, whatever the provider calls them.
INSTANCE_STATUSES = (
    "provisioning",
    "booting",
    "running",
    "stopping",
    "offline",
    "rebooting",
    "rebuilding",
    "resizing",
    "deleting",
    "unknown",
)

ActionStatus = Literal["in-progress", "completed", "errored"]


@dataclass(frozen=True)
class Region:
    id: str
    label: str
    country: str
    available: bool


@dataclass(frozen=True)
class Plan:
    id: str
    label: str
    vcpus: int
    memory_mb: int
    disk_gb: int
    transfer_gb: int
    price_monthly: Decimal
    price_hourly: Decimal
    regions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Image:
    id: str
    label: str
    distribution: str
    version: str


@dataclass(frozen=True)
class Instance:
    provider_id: str
    label: str
    status: str  # one of INSTANCE_STATUSES
    region: str
    plan: str
    image: str
    ipv4: tuple[str, ...]
    ipv6: str
    vcpus: int
    memory_mb: int
    disk_gb: int
    created_at: datetime | None
    tags: tuple[str, ...] = ()
    ssh_port: int = 22  # the simulated provider serves SSH on a high port of a loopback address


@dataclass(frozen=True)
class Action:
    id: str
    status: str  # ActionStatus
    kind: str


@dataclass(frozen=True)
class Backup:
    id: str
    label: str
    status: str
    created_at: datetime | None


@dataclass(frozen=True)
class UsagePoint:
    at: datetime
    cpu_percent: float | None
    net_in_bps: float | None
    net_out_bps: float | None
    disk_io: float | None


@dataclass(frozen=True)
class Transfer:
    used_gb: Decimal
    quota_gb: Decimal


@dataclass(frozen=True)
class SSHKey:
    id: str
    label: str
    public_key: str


@dataclass(frozen=True)
class Capabilities:
    backups: bool
    restore: bool
    rebuild: bool
    resize: bool
    reverse_dns: bool
    usage: bool
    transfer: bool
    root_password_reset: bool


class ProviderError(Exception):
    """A provider call failed.

    `message` is the provider's own explanation (safe to show the user; never contains the API
    token), `status` the HTTP status (None for network errors/timeouts), `retryable` whether
    trying again later may succeed (429, 5xx, network), so jobs can decide to retry.
    """

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False):
        super().__init__(message)
        self.message = message
        self.status = status
        self.retryable = retryable

    def __repr__(self) -> str:
        return f"ProviderError({self.message!r}, status={self.status!r}, retryable={self.retryable!r})"


def not_supported(provider: str) -> ProviderError:
    """The error a provider raises for an operation it cannot do (its capability flag is False)."""
    return ProviderError(f"Not supported by {provider}", status=None, retryable=False)


@runtime_checkable
class Provider(Protocol):
    """What every provider client implements. All methods are async and hit the network."""

    capabilities: Capabilities

    async def list_regions(self) -> list[Region]: ...
    async def list_plans(self) -> list[Plan]: ...
    async def list_images(self) -> list[Image]: ...

    async def create_instance(
        self,
        *,
        label: str,
        region: str,
        plan: str,
        image: str,
        root_password: str,
        ssh_keys: list[str],
        backups: bool,
        tags: list[str],
    ) -> Instance: ...

    async def get_instance(self, provider_id: str) -> Instance: ...
    async def list_instances(self, tag: str | None = None) -> list[Instance]: ...

    async def boot(self, provider_id: str) -> Action | None: ...
    async def shutdown(self, provider_id: str) -> Action | None: ...
    async def reboot(self, provider_id: str) -> Action | None: ...
    async def rebuild(self, provider_id: str, *, image: str, root_password: str) -> Action | None: ...
    async def resize(self, provider_id: str, *, plan: str) -> Action | None: ...
    async def delete_instance(self, provider_id: str) -> None: ...
    async def reset_root_password(self, provider_id: str, *, root_password: str) -> Action | None: ...

    async def enable_backups(self, provider_id: str) -> None: ...
    async def disable_backups(self, provider_id: str) -> None: ...
    async def list_backups(self, provider_id: str) -> list[Backup]: ...
    async def restore_backup(self, provider_id: str, backup_id: str) -> Action | None: ...

    async def set_reverse_dns(self, provider_id: str, *, ip: str, hostname: str) -> None: ...
    async def usage(self, provider_id: str, *, hours: int) -> list[UsagePoint]: ...
    async def transfer(self, provider_id: str) -> Transfer: ...

    async def list_ssh_keys(self) -> list[SSHKey]: ...
    async def create_ssh_key(self, *, label: str, public_key: str) -> SSHKey: ...
    async def delete_ssh_key(self, key_id: str) -> None: ...

    async def get_action(self, action_id: str) -> Action: ...
