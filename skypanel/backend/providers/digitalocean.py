"""DigitalOcean (API v2) implementation of the Provider protocol.

Why this shape: DigitalOcean is asynchronous. Creating a droplet answers 202 with the droplet in
status `new` plus `links.actions`; the droplet turns `active` when it has booted. Power, rebuild,
resize, backup and restore calls each return an Action that is polled at `/v2/actions/{id}`
until `completed` or `errored`. The HTTP plumbing (bearer token fetched per call, timeouts,
retries with backoff honouring `retry-after` / `ratelimit-reset`, pagination through
`links.pages.next` / `meta.total`, DO's `{"id","message"}` errors) lives in `http.ApiClient`.

What DigitalOcean cannot do for a reseller, and therefore is switched off in `capabilities`:
- reverse DNS: the API has no PTR endpoint for droplets; DO derives the PTR from the droplet
  name only when that name is a domain managed in DO DNS.
- root password reset: the `password_reset` action makes DO e-mail a new password to the owner
  of the DO account (the reseller), not set one we choose, so it is useless to a customer.
- transfer: per-droplet monthly transfer is not exposed (DO pools bandwidth per account).

Usage graphs come from DO's monitoring metrics (`/v2/monitoring/metrics/droplet/cpu` and
`/bandwidth`); droplets are created with `monitoring: true` so the DO agent reports them. DO has
no disk I/O metric, so `UsagePoint.disk_io` is None.

The root password chosen in SkyPanel is applied at creation through cloud-init `user_data`
(`chpasswd`), because the create call has no password field. DO's rebuild action takes neither
a password nor user data, so `rebuild(root_password=...)` cannot set a new one; whether the
image's cloud-init re-applies the creation-time user data is not verified here, so callers must
not assume a new password took effect after a DigitalOcean rebuild.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

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
    not_supported,
)
from .http import ApiClient

PROVIDER_NAME = "DigitalOcean"

#: Droplet status -> SkyPanel's normalised status.
STATUS_MAP = {"new": "provisioning", "active": "running", "off": "offline", "archive": "offline"}

#: What a droplet is doing while an action of this kind is in progress. DO keeps the droplet's
#: own status (`active`/`off`) until the action completes, so callers polling an Action show
#: this status meanwhile.
ACTION_STATUS = {
    "create": "provisioning",
    "power_on": "booting",
    "shutdown": "stopping",
    "power_off": "stopping",
    "reboot": "rebooting",
    "power_cycle": "rebooting",
    "rebuild": "rebuilding",
    "restore": "rebuilding",
    "resize": "resizing",
}

#: Droplet names DO accepts (the `name` pattern of the create request in the API document).
NAME_RE = re.compile(r"^[a-zA-Z0-9]?[a-z0-9A-Z.\-]*[a-z0-9A-Z]$")

#: Region slug prefix -> ISO country code (DO's region objects carry no country).
COUNTRIES = {
    "nyc": "US", "sfo": "US", "atl": "US", "ric": "US", "ams": "NL", "fra": "DE", "lon": "GB",
    "sgp": "SG", "tor": "CA", "blr": "IN", "syd": "AU",
}

OUR_TAG = "skypanel"


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _action(data: dict[str, Any]) -> Action:
    return Action(id=str(data["id"]), status=str(data.get("status") or "in-progress"), kind=str(data.get("type") or ""))


def _instance(d: dict[str, Any]) -> Instance:
    networks = d.get("networks") or {}
    v4 = [n for n in networks.get("v4") or [] if n.get("ip_address")]
    v4.sort(key=lambda n: n.get("type") != "public")  # public addresses first
    v6 = [n["ip_address"] for n in networks.get("v6") or [] if n.get("ip_address")]
    image = d.get("image") or {}
    region = d.get("region") or {}
    return Instance(
        provider_id=str(d["id"]),
        label=str(d.get("name") or ""),
        status=STATUS_MAP.get(str(d.get("status")), "unknown"),
        region=str(region.get("slug") or ""),
        plan=str(d.get("size_slug") or (d.get("size") or {}).get("slug") or ""),
        image=str(image.get("slug") or image.get("id") or ""),
        ipv4=tuple(n["ip_address"] for n in v4),
        ipv6=v6[0] if v6 else "",
        vcpus=int(d.get("vcpus") or 0),
        memory_mb=int(d.get("memory") or 0),
        disk_gb=int(d.get("disk") or 0),
        created_at=_parse_time(d.get("created_at")),
        tags=tuple(d.get("tags") or ()),
    )


def _numeric_id(provider_id: str) -> int:
    """DO droplet and action ids are integers; anything else cannot exist (nor reach a URL)."""
    try:
        return int(str(provider_id))
    except ValueError:
        raise ProviderError("The resource you were accessing could not be found.", status=404) from None


def _image_ref(image: str) -> str | int:
    """DO takes an image slug or a numeric id (custom images / backups have only ids)."""
    return int(image) if image.isdigit() else image


def _is_public_key(key: str) -> bool:
    """An OpenSSH public key line (installed through cloud-init) rather than a DO key id/fingerprint."""
    return key.startswith(("ssh-", "ecdsa-", "sk-"))


def _key_ref(key: str) -> str | int:
    """Keys registered at DO are passed by numeric id or by fingerprint."""
    return int(key) if key.isdigit() else key


def root_password_user_data(root_password: str, authorized_keys: list[str] | tuple[str, ...] = ()) -> str:
    """cloud-config that sets root's password, allows password SSH logins and installs the
    customer's public keys for root.

    Keys go through cloud-init rather than DO's `ssh_keys` field, which takes only keys already
    registered in the reseller's DO account: customers' keys stay out of that account.
    JSON string quoting is valid YAML, so any character in the password or a key is safe.
    """
    lines = ["#cloud-config"]
    if root_password:
        lines += ["ssh_pwauth: true", "chpasswd:", "  expire: false", "  users:",
                  f"    - {{name: root, password: {json.dumps(root_password)}, type: text}}"]
    if authorized_keys:
        lines += ["users:", "  - name: root", "    ssh_authorized_keys:"]
        lines += [f"      - {json.dumps(key)}" for key in authorized_keys]
    return "\n".join(lines) + "\n"


def _series(body: dict[str, Any]) -> list[tuple[dict[str, str], list[tuple[int, float]]]]:
    """(labels, [(epoch, value), ...]) per series of a Prometheus-style matrix answer."""
    out = []
    for result in ((body.get("data") or {}).get("result") or []):
        points = []
        for pair in result.get("values") or []:
            try:
                points.append((int(pair[0]), float(pair[1])))
            except (TypeError, ValueError, IndexError):
                continue
        out.append((result.get("metric") or {}, points))
    return out


def cpu_percentages(series: list[tuple[dict[str, str], list[tuple[int, float]]]]) -> dict[int, float]:
    """Busy % at each sample from cumulative per-mode CPU seconds (first sample has no rate)."""
    totals: dict[int, float] = {}
    idle: dict[int, float] = {}
    for labels, points in series:
        for ts, value in points:
            totals[ts] = totals.get(ts, 0.0) + value
            if labels.get("mode") == "idle":
                idle[ts] = idle.get(ts, 0.0) + value
    stamps = sorted(totals)
    out: dict[int, float] = {}
    for prev, cur in zip(stamps, stamps[1:]):
        d_total = totals[cur] - totals[prev]
        if d_total <= 0:
            continue  # counter reset (reboot): skip this interval
        d_idle = idle.get(cur, 0.0) - idle.get(prev, 0.0)
        out[cur] = round(max(0.0, min(100.0, 100.0 * (1 - d_idle / d_total))), 2)
    return out


def _rate_bps(series: list[tuple[dict[str, str], list[tuple[int, float]]]]) -> dict[int, float]:
    out: dict[int, float] = {}
    for _labels, points in series:
        for ts, mbps in points:
            out[ts] = out.get(ts, 0.0) + mbps * 1_000_000
    return out


class DigitalOceanProvider:
    """Provider for DigitalOcean droplets. Extra keyword arguments go to `ApiClient`
    (e.g. `timeout`, `sleep`, `rand`, `event_hooks` for tests)."""

    name = "DigitalOcean"
    capabilities = Capabilities(
        backups=True,
        restore=True,
        rebuild=True,
        resize=True,
        reverse_dns=False,
        usage=True,
        transfer=False,
        root_password_reset=False,
    )

    def __init__(
        self,
        base_url: str = "https://api.digitalocean.com",
        token_provider: Callable[[], str] | None = None,
        *,
        poll_interval: float = 3.0,
        poll_sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        **client_kwargs: Any,
    ) -> None:
        if token_provider is None:
            raise ValueError("token_provider is required")
        self.api = ApiClient(base_url, token_provider, style="digitalocean", **client_kwargs)
        self.poll_interval = poll_interval
        self._poll_sleep = poll_sleep

    async def aclose(self) -> None:
        await self.api.aclose()

    async def __aenter__(self) -> DigitalOceanProvider:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- catalogue -----------------------------------------------------------------------------

    async def list_regions(self) -> list[Region]:
        items = await self.api.paginate("/v2/regions", items_key="regions")
        return [
            Region(
                id=r["slug"], label=r.get("name") or r["slug"],
                country=COUNTRIES.get(r["slug"][:3], ""), available=bool(r.get("available")),
            )
            for r in items
        ]

    async def list_plans(self) -> list[Plan]:
        items = await self.api.paginate("/v2/sizes", items_key="sizes")
        plans = []
        for s in items:
            if not s.get("available", True):
                continue
            memory = int(s["memory"])
            memory_label = f"{memory // 1024} GB" if memory >= 1024 else f"{memory} MB"
            plans.append(Plan(
                id=s["slug"],
                label=f"{s.get('description') or 'Droplet'} {s['vcpus']} vCPU / {memory_label}",
                vcpus=int(s["vcpus"]),
                memory_mb=memory,
                disk_gb=int(s["disk"]),
                transfer_gb=int(Decimal(str(s["transfer"])) * 1000),  # DO states transfer in TB
                price_monthly=Decimal(str(s["price_monthly"])),
                price_hourly=Decimal(str(s["price_hourly"])),
                regions=tuple(s.get("regions") or ()),
            ))
        return plans

    async def list_images(self) -> list[Image]:
        items = await self.api.paginate("/v2/images", items_key="images", params={"type": "distribution"})
        return [
            Image(
                id=str(i.get("slug") or i["id"]),
                label=f"{i.get('distribution') or ''} {i.get('name') or ''}".strip(),
                distribution=str(i.get("distribution") or ""),
                version=str(i.get("name") or ""),
            )
            for i in items
            if i.get("status", "available") == "available"
        ]

    # -- instances -----------------------------------------------------------------------------

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
    ) -> Instance:
        """Order a droplet (202; status `new`). Poll `get_instance` / `wait_for_status` for `running`."""
        if len(label) > 255 or not NAME_RE.match(label):
            raise ProviderError(
                "The label may contain only letters, digits, dots and dashes, and must start and "
                "end with a letter or digit.",
                status=None,
            )
        body: dict[str, Any] = {
            "name": label,
            "region": region,
            "size": plan,
            "image": _image_ref(image),
            "ssh_keys": [_key_ref(k) for k in ssh_keys if not _is_public_key(k)],
            "backups": bool(backups),
            "ipv6": True,
            "monitoring": True,
            "tags": list(dict.fromkeys([OUR_TAG, *tags])),
        }
        public_keys = [k for k in ssh_keys if _is_public_key(k)]
        if root_password or public_keys:
            body["user_data"] = root_password_user_data(root_password, public_keys)
        data = await self.api.json("POST", "/v2/droplets", json=body)
        return _instance(data["droplet"])

    async def get_instance(self, provider_id: str) -> Instance:
        data = await self.api.json("GET", f"/v2/droplets/{_numeric_id(provider_id)}")
        return _instance(data["droplet"])

    async def list_instances(self, tag: str | None = None) -> list[Instance]:
        params = {"tag_name": tag} if tag else None
        items = await self.api.paginate("/v2/droplets", items_key="droplets", params=params)
        return [_instance(d) for d in items]

    async def delete_instance(self, provider_id: str) -> None:
        """Destroy the droplet. Already gone (404) counts as done, so cleanup can be retried."""
        try:
            await self.api.request("DELETE", f"/v2/droplets/{_numeric_id(provider_id)}")
        except ProviderError as exc:
            if exc.status != 404:
                raise

    # -- actions -------------------------------------------------------------------------------

    async def _post_action(self, provider_id: str, kind: str, **extra: Any) -> Action:
        data = await self.api.json(
            "POST", f"/v2/droplets/{_numeric_id(provider_id)}/actions", json={"type": kind, **extra}
        )
        return _action(data["action"])

    async def boot(self, provider_id: str) -> Action:
        return await self._post_action(provider_id, "power_on")

    async def shutdown(self, provider_id: str) -> Action:
        """Graceful ACPI shutdown (DO's `shutdown`, not the hard `power_off`)."""
        return await self._post_action(provider_id, "shutdown")

    async def power_off(self, provider_id: str) -> Action:
        """Hard power off, for droplets that ignore the graceful shutdown."""
        return await self._post_action(provider_id, "power_off")

    async def reboot(self, provider_id: str) -> Action:
        return await self._post_action(provider_id, "reboot")

    async def rebuild(self, provider_id: str, *, image: str, root_password: str) -> Action:
        """Reinstall from `image`. `root_password` is NOT applied: DO's rebuild has no such field
        (see the module docstring)."""
        return await self._post_action(provider_id, "rebuild", image=_image_ref(image))

    async def resize(self, provider_id: str, *, plan: str) -> Action:
        """Permanent resize (CPU, RAM and disk). DO requires the droplet to be powered off and
        refuses smaller disks; its message says so."""
        return await self._post_action(provider_id, "resize", size=plan, disk=True)

    async def reset_root_password(self, provider_id: str, *, root_password: str) -> Action | None:
        raise not_supported(PROVIDER_NAME)

    async def enable_backups(self, provider_id: str) -> None:
        await self._post_action(provider_id, "enable_backups")

    async def disable_backups(self, provider_id: str) -> None:
        await self._post_action(provider_id, "disable_backups")

    async def list_backups(self, provider_id: str) -> list[Backup]:
        items = await self.api.paginate(f"/v2/droplets/{_numeric_id(provider_id)}/backups", items_key="backups")
        return [
            Backup(id=str(b["id"]), label=str(b.get("name") or ""), status="available",
                   created_at=_parse_time(b.get("created_at")))
            for b in items
        ]

    async def restore_backup(self, provider_id: str, backup_id: str) -> Action:
        return await self._post_action(provider_id, "restore", image=_numeric_id(backup_id))

    async def get_action(self, action_id: str) -> Action:
        data = await self.api.json("GET", f"/v2/actions/{_numeric_id(action_id)}")
        return _action(data["action"])

    # -- polling helpers (DO specific; the sync job and services use them) --------------------

    async def wait_for_action(self, action: Action | str, *, timeout: float = 900.0) -> Action:
        """Poll `/v2/actions/{id}` until the action is no longer in progress.

        Returns the final Action; raises ProviderError if it errored or did not finish in time.
        """
        action_id = action.id if isinstance(action, Action) else str(action)
        deadline = time.monotonic() + timeout
        while True:
            current = await self.get_action(action_id)
            if current.status == "completed":
                return current
            if current.status == "errored":
                raise ProviderError(f"DigitalOcean could not complete the {current.kind or 'action'}.",
                                    status=None, retryable=False)
            if time.monotonic() >= deadline:
                raise ProviderError("DigitalOcean is still working on it; check again later.",
                                    status=None, retryable=True)
            await self._poll_sleep(self.poll_interval)

    async def wait_for_status(self, provider_id: str, status: str = "running", *,
                              timeout: float = 900.0) -> Instance:
        """Poll the droplet until its normalised status is `status` (e.g. after create)."""
        deadline = time.monotonic() + timeout
        while True:
            instance = await self.get_instance(provider_id)
            if instance.status == status:
                return instance
            if time.monotonic() >= deadline:
                raise ProviderError(f"The server did not become {status} in time.", status=None, retryable=True)
            await self._poll_sleep(self.poll_interval)

    # -- unsupported by DigitalOcean -----------------------------------------------------------

    async def set_reverse_dns(self, provider_id: str, *, ip: str, hostname: str) -> None:
        raise not_supported(PROVIDER_NAME)

    async def usage(self, provider_id: str, *, hours: int) -> list[UsagePoint]:
        """CPU % and public network in/out (bits/s) for the last `hours`, oldest first.

        DO reports CPU as cumulative seconds per mode, so CPU % between two samples is
        100 * (1 - d(idle) / d(all modes)); bandwidth comes in Mbps.
        """
        end = int(time.time())
        window = {"host_id": str(_numeric_id(provider_id)), "start": str(end - int(hours) * 3600), "end": str(end)}
        path = "/v2/monitoring/metrics/droplet"
        cpu = await self.api.json("GET", f"{path}/cpu", params=window)
        net_in = await self.api.json("GET", f"{path}/bandwidth",
                                     params={**window, "interface": "public", "direction": "inbound"})
        net_out = await self.api.json("GET", f"{path}/bandwidth",
                                      params={**window, "interface": "public", "direction": "outbound"})
        cpu_pct = cpu_percentages(_series(cpu))
        inbound = _rate_bps(_series(net_in))
        outbound = _rate_bps(_series(net_out))
        stamps = sorted(set(cpu_pct) | set(inbound) | set(outbound))
        return [
            UsagePoint(at=datetime.fromtimestamp(ts, UTC), cpu_percent=cpu_pct.get(ts),
                       net_in_bps=inbound.get(ts), net_out_bps=outbound.get(ts), disk_io=None)
            for ts in stamps
        ]

    async def transfer(self, provider_id: str) -> Transfer:
        raise not_supported(PROVIDER_NAME)

    # -- SSH keys ------------------------------------------------------------------------------

    async def list_ssh_keys(self) -> list[SSHKey]:
        items = await self.api.paginate("/v2/account/keys", items_key="ssh_keys")
        return [SSHKey(id=str(k["id"]), label=str(k.get("name") or ""), public_key=k["public_key"]) for k in items]

    async def create_ssh_key(self, *, label: str, public_key: str) -> SSHKey:
        data = await self.api.json("POST", "/v2/account/keys", json={"name": label, "public_key": public_key})
        key = data["ssh_key"]
        return SSHKey(id=str(key["id"]), label=str(key.get("name") or ""), public_key=key["public_key"])

    async def delete_ssh_key(self, key_id: str) -> None:
        await self.api.request("DELETE", f"/v2/account/keys/{quote(str(key_id), safe=':')}")
