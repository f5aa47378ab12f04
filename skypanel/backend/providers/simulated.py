"""The built-in simulated provider: a cloud kept in our own database.

Why: a fresh clone (and every test) needs a provider without a cloud account. This one behaves
like Linode where it matters to the panel: the same protocol, the same status names, validation
errors with a message for the user, transitional states that take realistic time, and servers you
can actually SSH into (see simulated_ssh.py: each running instance gets a listener on its own
loopback address 127.42.x.y, port SIMULATED_SSH_PORT).

How time works: an action sets the first transitional status with `status_until` and
`next_status`; every read advances rows whose time has come (and saves them), so no background
loop is needed. A second stage (e.g. provisioning -> booting) ends when the action does: the
action row's `completes_at` is the end of the whole chain, fixed when the action started, so any
reader -- whatever its own `delay_scale` -- sees the same timeline.

Rules the simulated cloud enforces (documented for customers and tests):
- label: 3-64 characters, letters, digits, "-", "_" and "."; starts with a letter, ends with a
  letter or digit, no two punctuation characters in a row (Linode's rules). Labels need not be
  unique (Linode requires that per account; the panel's labels are per organization).
- root password: 8-128 printable ASCII characters without spaces.
- tags: at most 25, each 3-50 characters of printable text.
- resize: only to a different plan with at least as much disk (Linode cannot shrink disks); the
  server returns to the power state it had.
- actions on a server in a transitional state are refused ("busy"); boot of a running server,
  shutdown of an offline one and reboot of an offline one are refused with a clear message.
- backups: when enabled, one automatic backup a day (the first a day after enabling), the last
  7 kept; disabling deletes them (as Linode does). Restores rebuild from the backup's image.
- usage and transfer figures are computed from the instance id and time (deterministic, zero
  while the server was off) -- an honest stand-in: there is no real machine to measure.
SSH keys registered at the "provider" (account level) are kept in one platform_settings row per
account (`simulated.ssh_keys.<account id>`), a JSON list: nothing else reads it.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import ipaddress
import math
import re
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import asyncssh
from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import Session, col, select

from skypanel.backend.config import get_settings
from skypanel.backend.db import session_scope
from skypanel.backend.models.base import utcnow
from skypanel.backend.models.platform import PlatformSetting
from skypanel.backend.models.providers import ProviderAccount
from skypanel.backend.models.simulated import SimulatedAction, SimulatedInstance
from skypanel.backend.security import decrypt, encrypt
from skypanel.backend.services.pricing import hourly

from .base import (
    Action,
    Backup,
    Capabilities,
    Image,
    Instance,
    Plan,
    ProviderError,
    Region,
    SSHKey,
    Transfer,
    UsagePoint,
)

PROVIDER_NAME = "Simulated"

# ---- catalogue ---------------------------------------------------------------------------

REGIONS = (
    Region("sim-nyc", "Simulated New York", "US", True),
    Region("sim-fra", "Simulated Frankfurt", "DE", True),
    Region("sim-lon", "Simulated London", "GB", True),
    Region("sim-sgp", "Simulated Singapore", "SG", True),
)
_ALL_REGIONS = tuple(r.id for r in REGIONS)


def _plan(pid: str, label: str, vcpus: int, memory_gb: int, disk_gb: int, transfer_tb: int, monthly: str,
          regions: tuple[str, ...] = _ALL_REGIONS) -> Plan:
    price = Decimal(monthly)
    return Plan(pid, label, vcpus, memory_gb * 1024, disk_gb, transfer_tb * 1000, price, hourly(price), regions)


# Specs and prices of Linode's Nanode and shared-CPU plans; the largest is not sold in Singapore so
# "plan not offered in this region" can happen, as it does at real providers.
PLANS = (
    _plan("sim-1c-1g", "Simulated 1 GB", 1, 1, 25, 1, "5.00"),
    _plan("sim-1c-2g", "Simulated 2 GB", 1, 2, 50, 2, "12.00"),
    _plan("sim-2c-4g", "Simulated 4 GB", 2, 4, 80, 4, "24.00"),
    _plan("sim-4c-8g", "Simulated 8 GB", 4, 8, 160, 5, "48.00"),
    _plan("sim-6c-16g", "Simulated 16 GB", 6, 16, 320, 8, "96.00"),
    _plan("sim-8c-32g", "Simulated 32 GB", 8, 32, 640, 16, "192.00", ("sim-nyc", "sim-fra", "sim-lon")),
)

IMAGES = (
    Image("debian-12", "Debian 12", "Debian", "12"),
    Image("ubuntu-24.04", "Ubuntu 24.04 LTS", "Ubuntu", "24.04"),
    Image("ubuntu-22.04", "Ubuntu 22.04 LTS", "Ubuntu", "22.04"),
    Image("almalinux-9", "AlmaLinux 9", "AlmaLinux", "9"),
    Image("alpine-3.20", "Alpine 3.20", "Alpine", "3.20"),
)

_REGION_IDS = {r.id: r for r in REGIONS}
_PLAN_IDS = {p.id: p for p in PLANS}
_IMAGE_IDS = {i.id: i for i in IMAGES}

# ---- timing ------------------------------------------------------------------------------

#: Seconds each transitional status lasts at delay_scale 1.0.
SECONDS = {"provisioning": 8, "booting": 6, "rebooting": 6, "stopping": 4, "rebuilding": 10, "resizing": 12}
TRANSITIONAL = tuple(SECONDS)
#: A second stage and what it becomes (every two-stage chain ends by booting).
FOLLOW = {"booting": "running"}
BACKUPS_KEPT = 7
USAGE_STEP = 300  # seconds between usage points, like Linode's 5-minute stats
USAGE_MAX_HOURS = 31 * 24

# ---- validation rules ----------------------------------------------------------------------

LABEL_RE = re.compile(r"[A-Za-z](?:[A-Za-z0-9]|[._-](?=[A-Za-z0-9]))*", re.ASCII)
LABEL_MIN, LABEL_MAX = 3, 64
PASSWORD_MIN, PASSWORD_MAX = 8, 128
TAG_MIN, TAG_MAX, TAGS_MAX = 3, 50, 25
KEYS_MAX = 25
KEY_LABEL_MAX = 64
HOSTNAME_RE = re.compile(r"(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}",
                         re.ASCII)
IP_BASE = int(ipaddress.IPv4Address("127.42.0.0"))


def _err(message: str, status: int = 400) -> ProviderError:
    return ProviderError(message, status=status, retryable=False)


def _not_found() -> ProviderError:
    return _err("Server not found at the simulated provider (it may have been deleted).", 404)


def _printable(value: str) -> bool:
    return all(32 <= ord(ch) < 127 or ord(ch) > 159 for ch in value)


def clean_label(value: Any) -> str:
    if not isinstance(value, str) or not LABEL_MIN <= len(value) <= LABEL_MAX or not LABEL_RE.fullmatch(value):
        raise _err(f"Label must be {LABEL_MIN}-{LABEL_MAX} characters: letters, digits, '-', '_' or '.', starting "
                   "with a letter, ending with a letter or digit, without two punctuation characters in a row.")
    return value


def _clean_password(value: Any) -> str:
    if not isinstance(value, str) or not PASSWORD_MIN <= len(value) <= PASSWORD_MAX \
            or any(not 33 <= ord(ch) <= 126 for ch in value):
        raise _err(f"Root password must be {PASSWORD_MIN}-{PASSWORD_MAX} printable characters without spaces.")
    return value


def _clean_public_key(value: Any) -> str:
    """An OpenSSH public key line, normalised to "type base64 [comment]"."""
    if not isinstance(value, str) or not value.strip() or len(value) > 16_000:
        raise _err("SSH key is not a valid OpenSSH public key.")
    try:
        key = asyncssh.import_public_key(value.strip())
    except (asyncssh.KeyImportError, ValueError, TypeError):
        raise _err("SSH key is not a valid OpenSSH public key.") from None
    return key.export_public_key("openssh").decode().strip()  # keeps the comment, if any


def _clean_tags(value: Any) -> list[str]:
    if not isinstance(value, (list, tuple)) or len(value) > TAGS_MAX:
        raise _err(f"Tags must be a list of at most {TAGS_MAX} tags.")
    out: list[str] = []
    for tag in value:
        if not isinstance(tag, str) or not TAG_MIN <= len(tag) <= TAG_MAX or not _printable(tag):
            raise _err(f"Each tag must be {TAG_MIN}-{TAG_MAX} characters of printable text.")
        if tag not in out:
            out.append(tag)
    return out


def _plan_for(plan: Any) -> Plan:
    if not isinstance(plan, str) or plan not in _PLAN_IDS:
        raise _err(f"Unknown plan {plan!r}.")
    return _PLAN_IDS[plan]


def _image_for(image: Any) -> Image:
    if not isinstance(image, str) or image not in _IMAGE_IDS:
        raise _err(f"Unknown image {image!r}.")
    return _IMAGE_IDS[image]


def _int_id(value: Any, error: Callable[[], ProviderError]) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise error() from None
    if not 0 < number < 2**63:
        raise error()
    return number


def ip_for(instance_id: int) -> str:
    """A unique loopback address per instance: 127.42.0.1, 127.42.0.2, ... (host part never 0 or
    255, never 127.0.0.1), so every server's SSH endpoint can bind the same port."""
    k = instance_id - 1
    host = 1 + k % 254
    k //= 254
    return str(ipaddress.IPv4Address(IP_BASE + ((k % (256 * 213)) << 8) + host))


def root_aad(instance_id: int) -> bytes:
    return b"simulated-root:" + instance_id.to_bytes(8, "big")


def host_key_aad(instance_id: int) -> bytes:
    return b"simulated-hostkey:" + instance_id.to_bytes(8, "big")


def _unit(seed: str) -> float:
    """A deterministic number in [0, 1) from a seed."""
    return int.from_bytes(hashlib.blake2b(seed.encode(), digest_size=8).digest(), "big") / 2**64


# ---- lazy state machine (shared by the provider and the SSH listeners) ------------------------

def _advance(s: Session, inst: SimulatedInstance, now: datetime) -> bool:
    """Move a row through every transition whose time has passed; True if it changed."""
    changed = False
    while inst.next_status and inst.status_until is not None and inst.status_until <= now:
        new = inst.next_status
        if new in FOLLOW:
            chain_end = s.exec(select(func.max(SimulatedAction.completes_at))
                               .where(SimulatedAction.instance_id == inst.id)).one()
            inst.status, inst.next_status = new, FOLLOW[new]
            inst.status_until = max(chain_end or inst.status_until, inst.status_until)
        else:
            inst.status, inst.next_status, inst.status_until = new, "", None
        changed = True
    return changed


def _advance_due(s: Session, now: datetime, account_id: uuid.UUID | None = None) -> None:
    """Advance (and lock, in id order, so concurrent readers do not deadlock) every due row."""
    stmt = select(SimulatedInstance).where(
        SimulatedInstance.next_status != "", col(SimulatedInstance.status_until) <= now,
        col(SimulatedInstance.deleted_at).is_(None))
    if account_id is not None:
        stmt = stmt.where(SimulatedInstance.provider_account_id == account_id)
    for inst in s.exec(stmt.order_by(col(SimulatedInstance.id)).with_for_update()).all():
        _advance(s, inst, now)
    s.flush()


def ssh_endpoints() -> dict[int, tuple[str, int]]:
    """{instance id: (ipv4, ssh port)} of every running simulated instance (all accounts)."""
    with session_scope() as s:
        _advance_due(s, utcnow())
        rows = s.exec(select(SimulatedInstance.id, SimulatedInstance.ipv4, SimulatedInstance.ssh_port).where(
            SimulatedInstance.status == "running", col(SimulatedInstance.deleted_at).is_(None))).all()
        return {iid: (ipv4[0], port) for iid, ipv4, port in rows if ipv4}


def ssh_host_key(instance_id: int) -> str | None:
    """The instance's OpenSSH private host key (decrypted), None if it is gone."""
    with session_scope() as s:
        inst = s.get(SimulatedInstance, instance_id)
        if inst is None or inst.deleted_at is not None or not inst.host_key_enc:
            return None
        return decrypt(inst.host_key_enc, aad=host_key_aad(inst.id))


def ssh_login(instance_id: int) -> dict[str, Any] | None:
    """What the SSH server needs to authenticate root and run the demo shell, read fresh for each
    connection (a password reset applies at once); None unless the instance is running."""
    now = utcnow()
    with session_scope() as s:
        inst = s.get(SimulatedInstance, instance_id, with_for_update=True)
        if inst is None or inst.deleted_at is not None:
            return None
        _advance(s, inst, now)
        if inst.status != "running":
            return None
        booted = s.exec(select(func.max(SimulatedAction.completes_at)).where(
            SimulatedAction.instance_id == inst.id,
            col(SimulatedAction.kind).not_in(("shutdown", "password_reset")))).one()
        return {
            "password": decrypt(inst.root_password_enc, aad=root_aad(inst.id)) if inst.root_password_enc else "",
            "public_keys": list(inst.ssh_public_keys or []),
            "label": inst.label,
            "image": inst.image,
            "vcpus": inst.vcpus,
            "memory_mb": inst.memory_mb,
            "booted_at": booted or inst.created_at,
        }


# ---- the provider ------------------------------------------------------------------------------

class SimulatedProvider:
    """Provider protocol over the simulated_* tables of one provider account."""

    name = PROVIDER_NAME
    capabilities = Capabilities(backups=True, restore=True, rebuild=True, resize=True, reverse_dns=True,
                                usage=True, transfer=True, root_password_reset=True)

    def __init__(self, account_id: uuid.UUID, *, delay_scale: float | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        """`delay_scale` multiplies every delay (default SIMULATED_DELAY_SCALE; 0 = instant);
        `clock` replaces "now" (tests of daily backups and usage series)."""
        self.account_id = account_id if isinstance(account_id, uuid.UUID) else uuid.UUID(str(account_id))
        scale = get_settings().simulated_delay_scale if delay_scale is None else delay_scale
        if not isinstance(scale, (int, float)) or isinstance(scale, bool) or not 0 <= scale <= 1000:
            raise ValueError("delay_scale must be a number from 0 to 1000")
        self.delay_scale = float(scale)
        self._clock = clock or utcnow

    async def aclose(self) -> None:
        """Nothing to close: no connection is held between calls."""

    async def __aenter__(self) -> SimulatedProvider:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Database work runs in a thread so the event loop (UI, SSH listeners) never blocks."""
        return await asyncio.to_thread(fn, *args, **kwargs)

    # -- catalogue -----------------------------------------------------------------------------

    async def list_regions(self) -> list[Region]:
        return list(REGIONS)

    async def list_plans(self) -> list[Plan]:
        return list(PLANS)

    async def list_images(self) -> list[Image]:
        return list(IMAGES)

    # -- helpers -------------------------------------------------------------------------------

    def _instance(self, inst: SimulatedInstance) -> Instance:
        return Instance(
            provider_id=str(inst.id), label=inst.label, status=inst.status, region=inst.region, plan=inst.plan,
            image=inst.image, ipv4=tuple(inst.ipv4 or ()), ipv6=inst.ipv6, vcpus=inst.vcpus,
            memory_mb=inst.memory_mb, disk_gb=inst.disk_gb, created_at=inst.created_at,
            tags=tuple(inst.tags or ()), ssh_port=inst.ssh_port,
        )

    def _load(self, s: Session, provider_id: Any, now: datetime) -> SimulatedInstance:
        """The account's live instance, locked and advanced to `now`; 404 otherwise."""
        iid = _int_id(provider_id, _not_found)
        inst = s.exec(select(SimulatedInstance).where(
            SimulatedInstance.id == iid, SimulatedInstance.provider_account_id == self.account_id,
            col(SimulatedInstance.deleted_at).is_(None)).with_for_update()).first()
        if inst is None:
            raise _not_found()
        _advance(s, inst, now)
        return inst

    @staticmethod
    def _idle(inst: SimulatedInstance) -> None:
        if inst.status in TRANSITIONAL:
            raise _err(f"The server is busy ({inst.status}); try again when that has finished.")

    def _start(self, s: Session, inst: SimulatedInstance, kind: str, stages: tuple[str, ...], final: str,
               now: datetime) -> Action:
        """Enter the first stage now; the action completes when the last stage ends."""
        ends, t = [], now
        for stage in stages:
            t += timedelta(seconds=SECONDS[stage] * self.delay_scale)
            ends.append(t)
        inst.status, inst.status_until = stages[0], ends[0]
        inst.next_status = stages[1] if len(stages) > 1 else final
        action = SimulatedAction(instance_id=inst.id, kind=kind, completes_at=t, created_at=now)
        s.add(action)
        s.flush()
        _advance(s, inst, now)  # delay_scale 0: already done
        return Action(id=str(action.id), status="completed" if t <= now else "in-progress", kind=kind)

    def _actions(self, s: Session, inst: SimulatedInstance) -> list[SimulatedAction]:
        return list(s.exec(select(SimulatedAction).where(SimulatedAction.instance_id == inst.id)
                           .order_by(col(SimulatedAction.created_at), col(SimulatedAction.id))).all())

    # -- instances -----------------------------------------------------------------------------

    async def create_instance(self, *, label: str, region: str, plan: str, image: str, root_password: str,
                              ssh_keys: list[str], backups: bool, tags: list[str]) -> Instance:
        label = clean_label(label)
        if not isinstance(region, str) or region not in _REGION_IDS:
            raise _err(f"Unknown region {region!r}.")
        if not _REGION_IDS[region].available:
            raise _err(f"Region {region} is not accepting new servers.")
        chosen = _plan_for(plan)
        if region not in chosen.regions:
            raise _err(f"Plan {chosen.id} is not offered in region {region}.")
        img = _image_for(image)
        password = _clean_password(root_password)
        if not isinstance(ssh_keys, (list, tuple)) or len(ssh_keys) > KEYS_MAX:
            raise _err(f"Give at most {KEYS_MAX} SSH keys.")
        keys = [_clean_public_key(k) for k in ssh_keys]
        if not isinstance(backups, bool):
            raise _err("backups must be true or false.")
        tag_list = _clean_tags(tags)
        host_key = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()
        return await self._run(self._create, label, region, chosen, img, password, keys, backups, tag_list, host_key)

    def _create(self, label: str, region: str, plan: Plan, image: Image, password: str, keys: list[str],
                backups: bool, tags: list[str], host_key: str) -> Instance:
        now = self._clock()
        with session_scope() as s:
            if s.get(ProviderAccount, self.account_id) is None:
                raise _err("This simulated provider account no longer exists.", 401)
            inst = SimulatedInstance(
                provider_account_id=self.account_id, label=label, region=region, plan=plan.id, image=image.id,
                status="provisioning", ssh_port=get_settings().simulated_ssh_port, vcpus=plan.vcpus,
                memory_mb=plan.memory_mb, disk_gb=plan.disk_gb, tags=tags, ssh_public_keys=keys,
                created_at=now,
            )
            s.add(inst)
            s.flush()
            inst.ipv4 = [ip_for(inst.id)]
            inst.root_password_enc = encrypt(password, aad=root_aad(inst.id))
            inst.host_key_enc = encrypt(host_key, aad=host_key_aad(inst.id))
            if backups:
                self._enable_backups(inst, now)
            self._start(s, inst, "create", ("provisioning", "booting"), "running", now)
            return self._instance(inst)

    async def get_instance(self, provider_id: str) -> Instance:
        def work() -> Instance:
            with session_scope() as s:
                return self._instance(self._load(s, provider_id, self._clock()))
        return await self._run(work)

    async def list_instances(self, tag: str | None = None) -> list[Instance]:
        if tag is not None and not isinstance(tag, str):
            raise _err("The tag filter must be text.")

        def work() -> list[Instance]:
            with session_scope() as s:
                _advance_due(s, self._clock(), self.account_id)
                stmt = select(SimulatedInstance).where(SimulatedInstance.provider_account_id == self.account_id,
                                                       col(SimulatedInstance.deleted_at).is_(None))
                if tag is not None:
                    stmt = stmt.where(col(SimulatedInstance.tags).contains([tag]))
                return [self._instance(i) for i in s.exec(stmt.order_by(col(SimulatedInstance.id))).all()]
        return await self._run(work)

    async def _act(self, provider_id: str, fn: Callable[[Session, SimulatedInstance, datetime], Any]) -> Any:
        def work() -> Any:
            now = self._clock()
            with session_scope() as s:
                return fn(s, self._load(s, provider_id, now), now)
        return await self._run(work)

    async def boot(self, provider_id: str) -> Action | None:
        def fn(s: Session, inst: SimulatedInstance, now: datetime) -> Action:
            self._idle(inst)
            if inst.status == "running":
                raise _err("The server is already running.")
            return self._start(s, inst, "boot", ("booting",), "running", now)
        return await self._act(provider_id, fn)

    async def shutdown(self, provider_id: str) -> Action | None:
        def fn(s: Session, inst: SimulatedInstance, now: datetime) -> Action:
            self._idle(inst)
            if inst.status == "offline":
                raise _err("The server is already shut down.")
            return self._start(s, inst, "shutdown", ("stopping",), "offline", now)
        return await self._act(provider_id, fn)

    async def reboot(self, provider_id: str) -> Action | None:
        def fn(s: Session, inst: SimulatedInstance, now: datetime) -> Action:
            self._idle(inst)
            if inst.status == "offline":
                raise _err("The server is shut down; boot it instead of rebooting.")
            return self._start(s, inst, "reboot", ("rebooting",), "running", now)
        return await self._act(provider_id, fn)

    async def rebuild(self, provider_id: str, *, image: str, root_password: str) -> Action | None:
        img, password = _image_for(image), _clean_password(root_password)

        def fn(s: Session, inst: SimulatedInstance, now: datetime) -> Action:
            self._idle(inst)
            inst.image = img.id
            inst.root_password_enc = encrypt(password, aad=root_aad(inst.id))
            return self._start(s, inst, "rebuild", ("rebuilding", "booting"), "running", now)
        return await self._act(provider_id, fn)

    async def resize(self, provider_id: str, *, plan: str) -> Action | None:
        target = _plan_for(plan)

        def fn(s: Session, inst: SimulatedInstance, now: datetime) -> Action:
            self._idle(inst)
            if target.id == inst.plan:
                raise _err("The server already has this plan.")
            if target.disk_gb < inst.disk_gb:
                raise _err(f"Cannot resize to {target.label}: its disk ({target.disk_gb} GB) is smaller than the "
                           f"server's ({inst.disk_gb} GB).")
            if inst.region not in target.regions:
                raise _err(f"Plan {target.id} is not offered in region {inst.region}.")
            inst.plan, inst.vcpus, inst.memory_mb, inst.disk_gb = (
                target.id, target.vcpus, target.memory_mb, target.disk_gb)
            if inst.status == "running":
                return self._start(s, inst, "resize", ("resizing", "booting"), "running", now)
            return self._start(s, inst, "resize", ("resizing",), "offline", now)
        return await self._act(provider_id, fn)

    async def delete_instance(self, provider_id: str) -> None:
        def fn(s: Session, inst: SimulatedInstance, now: datetime) -> None:
            inst.status, inst.next_status, inst.status_until, inst.deleted_at = "deleting", "", None, now
        await self._act(provider_id, fn)

    async def reset_root_password(self, provider_id: str, *, root_password: str) -> Action | None:
        """Takes effect at once (new SSH logins use it); allowed in any state."""
        password = _clean_password(root_password)

        def fn(s: Session, inst: SimulatedInstance, now: datetime) -> Action:
            inst.root_password_enc = encrypt(password, aad=root_aad(inst.id))
            action = SimulatedAction(instance_id=inst.id, kind="password_reset", completes_at=now, created_at=now)
            s.add(action)
            s.flush()
            return Action(id=str(action.id), status="completed", kind="password_reset")
        return await self._act(provider_id, fn)

    # -- backups -------------------------------------------------------------------------------

    @staticmethod
    def _enable_backups(inst: SimulatedInstance, now: datetime) -> None:
        inst.backups_enabled = True
        inst.backups = [{"type": "schedule", "next_at": (now + timedelta(days=1)).isoformat()}]
        flag_modified(inst, "backups")

    @staticmethod
    def _materialize(inst: SimulatedInstance, now: datetime) -> bool:
        """Add the daily automatic backups due by `now` (keeping the last BACKUPS_KEPT)."""
        if not inst.backups_enabled:
            return False
        items = copy.deepcopy(list(inst.backups or []))
        schedule = next((b for b in items if b.get("type") == "schedule"), None)
        if schedule is None:
            schedule = {"type": "schedule", "next_at": now.isoformat()}
            items.append(schedule)
        next_at = datetime.fromisoformat(schedule["next_at"])
        if next_at > now:
            return False
        due = (now - next_at) // timedelta(days=1) + 1
        next_at += timedelta(days=max(0, due - BACKUPS_KEPT))  # older ones would be pruned anyway
        while next_at <= now:
            items.append({"type": "auto", "id": str(int(next_at.timestamp())), "image": inst.image,
                          "label": f"Automatic backup {next_at:%Y-%m-%d %H:%M} UTC",
                          "created_at": next_at.isoformat()})
            next_at += timedelta(days=1)
        autos = [b for b in items if b.get("type") == "auto"][-BACKUPS_KEPT:]
        schedule["next_at"] = next_at.isoformat()
        inst.backups = [b for b in items if b.get("type") != "auto"] + autos
        flag_modified(inst, "backups")
        return True

    async def enable_backups(self, provider_id: str) -> None:
        def fn(s: Session, inst: SimulatedInstance, now: datetime) -> None:
            if not inst.backups_enabled:
                self._enable_backups(inst, now)
        await self._act(provider_id, fn)

    async def disable_backups(self, provider_id: str) -> None:
        """Like Linode: cancelling backups deletes the existing ones."""
        def fn(s: Session, inst: SimulatedInstance, now: datetime) -> None:
            inst.backups_enabled, inst.backups = False, []
            flag_modified(inst, "backups")
        await self._act(provider_id, fn)

    async def list_backups(self, provider_id: str) -> list[Backup]:
        def fn(s: Session, inst: SimulatedInstance, now: datetime) -> list[Backup]:
            self._materialize(inst, now)
            autos = [b for b in inst.backups or [] if b.get("type") == "auto"]
            return [Backup(id=b["id"], label=b["label"], status="completed",
                           created_at=datetime.fromisoformat(b["created_at"])) for b in reversed(autos)]
        return await self._act(provider_id, fn)

    async def restore_backup(self, provider_id: str, backup_id: str) -> Action | None:
        def fn(s: Session, inst: SimulatedInstance, now: datetime) -> Action:
            self._materialize(inst, now)
            backup = next((b for b in inst.backups or [] if b.get("type") == "auto" and b["id"] == str(backup_id)),
                          None)
            if backup is None:
                raise _err("Backup not found.", 404)
            self._idle(inst)
            inst.image = backup["image"]
            return self._start(s, inst, "restore", ("rebuilding", "booting"), "running", now)
        return await self._act(provider_id, fn)

    # -- networking, metrics -------------------------------------------------------------------

    async def set_reverse_dns(self, provider_id: str, *, ip: str, hostname: str) -> None:
        """An empty hostname removes the record."""
        if not isinstance(hostname, str) or (hostname and not HOSTNAME_RE.fullmatch(hostname)):
            raise _err("Reverse DNS must be a fully qualified host name such as host.example.com.")

        def fn(s: Session, inst: SimulatedInstance, now: datetime) -> None:
            if not isinstance(ip, str) or ip not in [*(inst.ipv4 or []), *([inst.ipv6] if inst.ipv6 else [])]:
                raise _err("This IP address does not belong to the server.", 404)
            records = dict(inst.reverse_dns or {})
            if hostname:
                records[ip] = hostname.lower()
            else:
                records.pop(ip, None)
            inst.reverse_dns = records
            flag_modified(inst, "reverse_dns")
        await self._act(provider_id, fn)

    async def reverse_dns(self, provider_id: str) -> dict[str, str]:
        """{ip: hostname} as stored (not part of the protocol; for tests and the admin view)."""
        return await self._act(provider_id, lambda s, inst, now: dict(inst.reverse_dns or {}))

    @staticmethod
    def _up_intervals(inst: SimulatedInstance, actions: list[SimulatedAction],
                      now: datetime) -> list[tuple[datetime, datetime]]:
        """When the server was running, reconstructed from its actions (none happen concurrently)."""
        out: list[tuple[datetime, datetime]] = []
        up_since: datetime | None = None
        for a in actions:
            if a.kind == "password_reset":
                continue
            if a.kind == "shutdown":
                if up_since is not None:
                    out.append((up_since, a.completes_at))
                up_since = None
                continue
            was_up = up_since is not None or a.kind != "resize"
            if up_since is not None:
                out.append((up_since, a.created_at))
            up_since = a.completes_at if was_up else None
        if up_since is not None:
            out.append((up_since, now))
        return [(a, min(b, now)) for a, b in out if a < now and a < b]

    async def usage(self, provider_id: str, *, hours: int) -> list[UsagePoint]:
        """5-minute points for the last `hours` (1-744): CPU %, network in/out (bit/s), disk I/O
        (blocks/s), derived from the instance id and the time of day; zero while off."""
        if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= USAGE_MAX_HOURS:
            raise _err(f"Usage covers 1 to {USAGE_MAX_HOURS} hours.")

        def fn(s: Session, inst: SimulatedInstance, now: datetime) -> list[UsagePoint]:
            intervals = self._up_intervals(inst, self._actions(s, inst), now)
            first = max(now - timedelta(hours=hours), inst.created_at)
            step = int(first.timestamp()) // USAGE_STEP + 1
            last = int(now.timestamp()) // USAGE_STEP
            points = []
            for n in range(step, last + 1):
                at = datetime.fromtimestamp(n * USAGE_STEP, tz=timezone.utc)
                if any(a <= at < b for a, b in intervals):
                    points.append(_sample(inst.id, n, at))
                else:
                    points.append(UsagePoint(at=at, cpu_percent=0.0, net_in_bps=0.0, net_out_bps=0.0, disk_io=0.0))
            return points
        return await self._act(provider_id, fn)

    async def transfer(self, provider_id: str) -> Transfer:
        """This month's transfer: grows with the hours the server ran; quota from its plan."""
        def fn(s: Session, inst: SimulatedInstance, now: datetime) -> Transfer:
            month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
            seconds = sum(max(0.0, (b - max(a, month)).total_seconds())
                          for a, b in self._up_intervals(inst, self._actions(s, inst), now))
            rate = 0.02 + 0.3 * _unit(f"{inst.id}:transfer")  # GB per running hour
            used = (Decimal(str(seconds / 3600 * rate))).quantize(Decimal("0.001"))
            return Transfer(used_gb=used, quota_gb=Decimal(_PLAN_IDS[inst.plan].transfer_gb
                                                           if inst.plan in _PLAN_IDS else 0))
        return await self._act(provider_id, fn)

    # -- ssh keys (account level) --------------------------------------------------------------

    @property
    def _keys_setting(self) -> str:
        return f"simulated.ssh_keys.{self.account_id}"

    def _keys_row(self, s: Session) -> PlatformSetting:
        s.execute(insert(PlatformSetting).values(key=self._keys_setting, value={"next_id": 1, "keys": []},
                                                 updated_at=utcnow()).on_conflict_do_nothing(index_elements=["key"]))
        return s.get(PlatformSetting, self._keys_setting, with_for_update=True)

    async def list_ssh_keys(self) -> list[SSHKey]:
        def work() -> list[SSHKey]:
            with session_scope() as s:
                row = s.get(PlatformSetting, self._keys_setting)
                keys = (row.value or {}).get("keys", []) if row else []
                return [SSHKey(id=k["id"], label=k["label"], public_key=k["public_key"]) for k in keys]
        return await self._run(work)

    async def create_ssh_key(self, *, label: str, public_key: str) -> SSHKey:
        if not isinstance(label, str) or not label.strip() or len(label.strip()) > KEY_LABEL_MAX \
                or not _printable(label):
            raise _err(f"SSH key label must be 1-{KEY_LABEL_MAX} characters of printable text.")
        key_line = _clean_public_key(public_key)

        def work() -> SSHKey:
            with session_scope() as s:
                row = self._keys_row(s)
                value = copy.deepcopy(row.value)
                data = key_line.split()[1]
                if any(k["public_key"].split()[1] == data for k in value["keys"]):
                    raise _err("This SSH key is already registered.")
                key = {"id": str(value["next_id"]), "label": label.strip(), "public_key": key_line}
                value["next_id"] += 1
                value["keys"].append(key)
                row.value, row.updated_at = value, utcnow()
                flag_modified(row, "value")
                return SSHKey(id=key["id"], label=key["label"], public_key=key["public_key"])
        return await self._run(work)

    async def delete_ssh_key(self, key_id: str) -> None:
        def work() -> None:
            with session_scope() as s:
                row = self._keys_row(s)
                value = copy.deepcopy(row.value)
                keys = [k for k in value["keys"] if k["id"] != str(key_id)]
                if len(keys) == len(value["keys"]):
                    raise _err("SSH key not found.", 404)
                value["keys"] = keys
                row.value, row.updated_at = value, utcnow()
                flag_modified(row, "value")
        await self._run(work)

    # -- actions -------------------------------------------------------------------------------

    async def get_action(self, action_id: str) -> Action:
        aid = _int_id(action_id, lambda: _err("Action not found.", 404))

        def work() -> Action:
            with session_scope() as s:
                row = s.exec(select(SimulatedAction).join(
                    SimulatedInstance, col(SimulatedInstance.id) == col(SimulatedAction.instance_id)).where(
                    SimulatedAction.id == aid, SimulatedInstance.provider_account_id == self.account_id)).first()
                if row is None:
                    raise _err("Action not found.", 404)
                done = row.completes_at <= self._clock()
                return Action(id=str(row.id), status="completed" if done else "in-progress", kind=row.kind)
        return await self._run(work)


def _sample(instance_id: int, n: int, at: datetime) -> UsagePoint:
    """One plausible usage point: a per-server baseline, a daily rhythm peaking mid-afternoon and
    per-point noise, all from hashes so the same server and time always give the same figures."""
    base = 3 + 30 * _unit(f"{instance_id}:cpu")
    hour = at.hour + at.minute / 60
    daily = 0.5 + 0.5 * math.sin((hour - 9) / 24 * 2 * math.pi)
    noise = _unit(f"{instance_id}:{n}")
    cpu = min(100.0, round(base * (0.5 + daily) + 12 * noise ** 3, 2))
    net_in = round((2e4 + 4e5 * _unit(f"{instance_id}:net")) * (0.3 + daily) * (0.6 + 0.8 * noise), 1)
    net_out = round(net_in * (0.2 + 0.6 * _unit(f"{instance_id}:ratio")), 1)
    disk = round((4 + 90 * _unit(f"{instance_id}:disk")) * (0.4 + daily) * (0.5 + noise), 1)
    return UsagePoint(at=at, cpu_percent=cpu, net_in_bps=net_in, net_out_bps=net_out, disk_io=disk)


__all__ = ["IMAGES", "PLANS", "REGIONS", "SimulatedProvider", "ip_for", "ssh_endpoints", "ssh_host_key",
           "ssh_login"]
