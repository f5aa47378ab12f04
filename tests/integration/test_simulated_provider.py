"""The built-in simulated provider: every Provider method against the real database, its state
machine (driven by an injected clock, plus one run with real short sleeps), its validation errors
and how it keeps secrets."""

from __future__ import annotations

import asyncio
import ipaddress
import time
import uuid
from datetime import timedelta
from decimal import Decimal

import asyncssh
import pytest
from sqlalchemy import text

from skypanel.backend.config import get_settings
from skypanel.backend.db import get_engine, session_scope
from skypanel.backend.models.base import utcnow
from skypanel.backend.models.simulated import SimulatedInstance
from skypanel.backend.providers import simulated
from skypanel.backend.providers.base import Provider, ProviderError
from skypanel.backend.providers.simulated import SimulatedProvider, host_key_aad, root_aad
from skypanel.backend.security import decrypt
from skypanel.backend.services import pricing
from skypanel.backend.services import provider_accounts as pa

from .factories import make_user

PASSWORD = "Sim-Root-Pass-42"


class Clock:
    """A hand-driven "now" for the provider, so transitions are tested without waiting."""

    def __init__(self) -> None:
        self.now = utcnow().replace(microsecond=0)

    def __call__(self):
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture()
def account(db):
    _, admin = make_user("sim-admin@example.com", admin=True)
    return uuid.UUID(pa.add_account(admin, kind="simulated", name="Simulated", token="")["id"])


@pytest.fixture()
def clock():
    return Clock()


@pytest.fixture()
def sim(account, clock):
    return SimulatedProvider(account, delay_scale=1.0, clock=clock)


async def _create(p: SimulatedProvider, label: str = "web-1", **kw):
    args = dict(label=label, region="sim-nyc", plan="sim-1c-2g", image="debian-12", root_password=PASSWORD,
                ssh_keys=[], backups=False, tags=["skypanel"]) | kw
    return await p.create_instance(**args)


async def _status(p: SimulatedProvider, pid: str) -> str:
    return (await p.get_instance(pid)).status


async def _running(p: SimulatedProvider, clock: Clock, **kw):
    inst = await _create(p, **kw)
    clock.tick(14)
    assert await _status(p, inst.provider_id) == "running"
    return inst


def _row(pid: str) -> SimulatedInstance:
    with session_scope() as s:
        return s.get(SimulatedInstance, int(pid))


# ---- catalogue -----------------------------------------------------------------------------------

async def test_catalog_regions_plans_images(sim):
    assert isinstance(sim, Provider) and all(vars(sim.capabilities).values())
    regions = await sim.list_regions()
    assert [r.id for r in regions] == ["sim-nyc", "sim-fra", "sim-lon", "sim-sgp"]
    assert all(r.label.startswith("Simulated ") and r.available for r in regions)
    plans = await sim.list_plans()
    assert len(plans) == 6 and plans[0].id == "sim-1c-1g" and plans[0].price_monthly == Decimal("5.00")
    for p in plans:
        assert p.price_hourly == pricing.hourly(p.price_monthly)
        assert set(p.regions) <= {r.id for r in regions}
    assert "sim-sgp" not in {p.id: p for p in plans}["sim-8c-32g"].regions
    assert [i.id for i in await sim.list_images()][:2] == ["debian-12", "ubuntu-24.04"]


# ---- the state machine -----------------------------------------------------------------------------

async def test_create_goes_provisioning_booting_running(sim, clock):
    inst = await _create(sim, tags=["skypanel", "skypanel-abc"])
    assert inst.status == "provisioning" and inst.label == "web-1" and inst.region == "sim-nyc"
    assert (inst.vcpus, inst.memory_mb, inst.disk_gb) == (1, 2048, 50)
    assert inst.ipv4 == ("127.42.0.1",) and inst.ssh_port == get_settings().simulated_ssh_port
    assert inst.tags == ("skypanel", "skypanel-abc") and inst.created_at == clock.now
    clock.tick(7.9)
    assert await _status(sim, inst.provider_id) == "provisioning"
    clock.tick(0.1)
    assert await _status(sim, inst.provider_id) == "booting"
    assert _row(inst.provider_id).status == "booting"  # the lazily computed state is persisted
    clock.tick(5.9)
    assert await _status(sim, inst.provider_id) == "booting"
    clock.tick(0.1)
    assert await _status(sim, inst.provider_id) == "running"
    row = _row(inst.provider_id)
    assert (row.status, row.next_status, row.status_until) == ("running", "", None)


async def test_a_long_pause_skips_straight_to_the_end(sim, clock):
    inst = await _create(sim)
    clock.tick(3600)
    assert [i.status for i in await sim.list_instances()] == ["running"]
    assert await _status(sim, inst.provider_id) == "running"


async def test_real_short_sleeps_with_a_small_delay_scale(account):
    fast = SimulatedProvider(account, delay_scale=0.1)  # provisioning 0.8 s, booting 0.6 s, stopping 0.4 s
    started = time.monotonic()
    inst = await _create(fast)
    seen = [inst.status]
    while seen[-1] != "running" and time.monotonic() - started < 10:
        await asyncio.sleep(0.05)
        status = await _status(fast, inst.provider_id)
        if status != seen[-1]:
            seen.append(status)
    assert seen == ["provisioning", "booting", "running"]
    assert time.monotonic() - started >= 1.4
    action = await fast.shutdown(inst.provider_id)
    assert action.status == "in-progress" and (await fast.get_action(action.id)).status == "in-progress"
    await asyncio.sleep(0.5)
    assert (await fast.get_action(action.id)).status == "completed"
    assert await _status(fast, inst.provider_id) == "offline"


async def test_delay_scale_defaults_from_settings(account, monkeypatch):
    monkeypatch.setattr(get_settings(), "simulated_delay_scale", 0.0)
    instant = SimulatedProvider(account)
    assert instant.delay_scale == 0.0
    assert (await _create(instant)).status == "running"  # scale 0: every transition is immediate
    with pytest.raises(ValueError):
        SimulatedProvider(account, delay_scale=-1)


async def test_power_actions_and_their_refusals(sim, clock):
    pid = (await _running(sim, clock)).provider_id
    with pytest.raises(ProviderError, match="already running") as err:
        await sim.boot(pid)
    assert err.value.status == 400 and not err.value.retryable

    action = await sim.shutdown(pid)
    assert (action.kind, action.status) == ("shutdown", "in-progress")
    assert await _status(sim, pid) == "stopping"
    with pytest.raises(ProviderError, match=r"busy \(stopping\)"):
        await sim.boot(pid)
    clock.tick(4)
    assert await _status(sim, pid) == "offline" and (await sim.get_action(action.id)).status == "completed"
    with pytest.raises(ProviderError, match="already shut down"):
        await sim.shutdown(pid)
    with pytest.raises(ProviderError, match="boot it instead"):
        await sim.reboot(pid)

    action = await sim.boot(pid)
    assert action.kind == "boot" and await _status(sim, pid) == "booting"
    clock.tick(6)
    assert await _status(sim, pid) == "running"

    action = await sim.reboot(pid)
    assert action.kind == "reboot" and await _status(sim, pid) == "rebooting"
    assert (await sim.get_action(action.id)).status == "in-progress"
    clock.tick(6)
    assert await _status(sim, pid) == "running" and (await sim.get_action(action.id)).status == "completed"


async def test_rebuild_sets_a_new_image_and_password(sim, clock):
    pid = (await _running(sim, clock)).provider_id
    with pytest.raises(ProviderError, match="Unknown image"):
        await sim.rebuild(pid, image="windows-11", root_password="Another-Pass-77")
    action = await sim.rebuild(pid, image="ubuntu-24.04", root_password="Another-Pass-77")
    assert action.kind == "rebuild"
    inst = await sim.get_instance(pid)
    assert (inst.status, inst.image) == ("rebuilding", "ubuntu-24.04")
    row = _row(pid)
    assert decrypt(row.root_password_enc, aad=root_aad(row.id)) == "Another-Pass-77"
    clock.tick(10)
    assert await _status(sim, pid) == "booting"
    clock.tick(6)
    assert await _status(sim, pid) == "running"


async def test_resize_rules_and_transitions(sim, clock):
    pid = (await _running(sim, clock, plan="sim-1c-2g")).provider_id
    with pytest.raises(ProviderError, match="smaller than the server's"):
        await sim.resize(pid, plan="sim-1c-1g")
    with pytest.raises(ProviderError, match="already has this plan"):
        await sim.resize(pid, plan="sim-1c-2g")
    with pytest.raises(ProviderError, match="Unknown plan"):
        await sim.resize(pid, plan="g6-nanode-1")
    action = await sim.resize(pid, plan="sim-2c-4g")
    inst = await sim.get_instance(pid)
    assert action.kind == "resize" and inst.status == "resizing"
    assert (inst.plan, inst.vcpus, inst.memory_mb, inst.disk_gb) == ("sim-2c-4g", 2, 4096, 80)
    clock.tick(12)
    assert await _status(sim, pid) == "booting"
    clock.tick(6)
    assert await _status(sim, pid) == "running"

    # an offline server is resized and stays offline (its previous power state)
    await sim.shutdown(pid)
    clock.tick(4)
    await sim.resize(pid, plan="sim-4c-8g")
    assert await _status(sim, pid) == "resizing"
    clock.tick(12)
    assert await _status(sim, pid) == "offline"

    sgp = (await _running(sim, clock, label="sgp-1", region="sim-sgp")).provider_id
    with pytest.raises(ProviderError, match="not offered in region sim-sgp"):
        await sim.resize(sgp, plan="sim-8c-32g")


async def test_delete_then_everything_is_not_found(sim, clock):
    keep = await _running(sim, clock, label="keep-me")
    pid = (await _running(sim, clock)).provider_id
    await sim.delete_instance(pid)
    assert [i.provider_id for i in await sim.list_instances()] == [keep.provider_id]
    assert _row(pid).deleted_at is not None
    calls = [sim.get_instance(pid), sim.boot(pid), sim.shutdown(pid), sim.reboot(pid), sim.delete_instance(pid),
             sim.rebuild(pid, image="debian-12", root_password=PASSWORD), sim.resize(pid, plan="sim-2c-4g"),
             sim.reset_root_password(pid, root_password=PASSWORD), sim.enable_backups(pid), sim.list_backups(pid),
             sim.usage(pid, hours=1), sim.transfer(pid), sim.set_reverse_dns(pid, ip="127.42.0.2", hostname="")]
    for call in calls:
        with pytest.raises(ProviderError) as err:
            await call
        assert err.value.status == 404 and "not found" in err.value.message.lower()
    for bad in ("nope", "", "-1", "99999999999999999999"):
        with pytest.raises(ProviderError) as err:
            await sim.get_instance(bad)
        assert err.value.status == 404


async def test_another_account_cannot_see_or_touch_the_instance(sim, clock, db):
    pid = (await _running(sim, clock)).provider_id
    _, admin = make_user("other-admin@example.com", admin=True)
    other = SimulatedProvider(uuid.UUID(pa.add_account(admin, kind="simulated", name="Other", token="")["id"]),
                              delay_scale=0)
    assert await other.list_instances() == []
    with pytest.raises(ProviderError) as err:
        await other.reboot(pid)
    assert err.value.status == 404
    action = await sim.reboot(pid)
    with pytest.raises(ProviderError) as err:
        await other.get_action(action.id)
    assert err.value.status == 404
    with pytest.raises(ProviderError):
        await sim.get_action("abc")


async def test_reset_root_password_is_stored_encrypted_never_plaintext(sim, clock):
    inst = await _running(sim, clock)
    action = await sim.reset_root_password(inst.provider_id, root_password="Fresh-Secret-991")
    assert (action.kind, action.status) == ("password_reset", "completed")
    assert (await sim.get_action(action.id)).status == "completed"
    row = _row(inst.provider_id)
    assert decrypt(row.root_password_enc, aad=root_aad(row.id)) == "Fresh-Secret-991"
    with pytest.raises(Exception):  # bound to its row
        decrypt(row.root_password_enc, aad=root_aad(row.id + 1))
    host_key = asyncssh.import_private_key(decrypt(row.host_key_enc, aad=host_key_aad(row.id)))
    assert host_key.get_algorithm() == "ssh-ed25519"
    with get_engine().connect() as c:
        raw = c.execute(text("SELECT string_agg(r::text, E'\\n') FROM simulated_instances r")).scalar()
    assert "Fresh-Secret-991" not in raw and PASSWORD not in raw and "OPENSSH PRIVATE KEY" not in raw
    with pytest.raises(ProviderError, match="Root password"):
        await sim.reset_root_password(inst.provider_id, root_password="short")


async def test_backups_daily_autos_restore_and_disable(sim, clock):
    pid = (await _running(sim, clock)).provider_id
    assert await sim.list_backups(pid) == []
    await sim.enable_backups(pid)
    await sim.enable_backups(pid)  # idempotent
    assert await sim.list_backups(pid) == []  # the first one is taken a day after enabling
    clock.tick(86400)
    first = await sim.list_backups(pid)
    assert len(first) == 1 and first[0].status == "completed" and first[0].created_at == clock.now
    assert first[0].label.startswith("Automatic backup")
    clock.tick(86400 * 2 + 60)
    assert len(await sim.list_backups(pid)) == 3
    clock.tick(86400 * 30)
    backups = await sim.list_backups(pid)
    assert len(backups) == simulated.BACKUPS_KEPT
    assert [b.created_at for b in backups] == sorted((b.created_at for b in backups), reverse=True)

    await sim.rebuild(pid, image="alpine-3.20", root_password=PASSWORD)
    clock.tick(16)
    with pytest.raises(ProviderError) as err:
        await sim.restore_backup(pid, "12345")
    assert err.value.status == 404
    action = await sim.restore_backup(pid, backups[-1].id)  # taken while it ran debian-12
    inst = await sim.get_instance(pid)
    assert action.kind == "restore" and (inst.status, inst.image) == ("rebuilding", "debian-12")
    with pytest.raises(ProviderError, match="busy"):
        await sim.restore_backup(pid, backups[0].id)
    clock.tick(16)
    assert await _status(sim, pid) == "running"

    await sim.disable_backups(pid)
    assert await sim.list_backups(pid) == []  # cancelling deletes them, as at Linode
    clock.tick(86400 * 3)
    assert await sim.list_backups(pid) == []


async def test_create_with_backups_enabled(sim, clock):
    pid = (await _create(sim, backups=True)).provider_id
    assert _row(pid).backups_enabled is True
    clock.tick(86400)
    assert len(await sim.list_backups(pid)) == 1


async def test_reverse_dns_per_ip(sim, clock):
    inst = await _running(sim, clock)
    ip = inst.ipv4[0]
    await sim.set_reverse_dns(inst.provider_id, ip=ip, hostname="Web-1.Example.com")
    assert await sim.reverse_dns(inst.provider_id) == {ip: "web-1.example.com"}
    for bad in ("not a host", "-bad.example.com", "x" * 300, "localhost"):
        with pytest.raises(ProviderError, match="fully qualified"):
            await sim.set_reverse_dns(inst.provider_id, ip=ip, hostname=bad)
    with pytest.raises(ProviderError, match="does not belong") as err:
        await sim.set_reverse_dns(inst.provider_id, ip="127.0.0.1", hostname="a.example.com")
    assert err.value.status == 404
    await sim.set_reverse_dns(inst.provider_id, ip=ip, hostname="")
    assert await sim.reverse_dns(inst.provider_id) == {}


async def test_usage_is_deterministic_five_minute_points_zero_while_off(sim, clock):
    pid = (await _create(sim)).provider_id
    clock.tick(3 * 3600)
    with pytest.raises(ProviderError, match="1 to 744 hours"):
        await sim.usage(pid, hours=0)
    with pytest.raises(ProviderError):
        await sim.usage(pid, hours=10_000)
    points = await sim.usage(pid, hours=2)
    assert len(points) in (24, 25)
    assert all((b.at - a.at) == timedelta(minutes=5) for a, b in zip(points, points[1:]))
    assert all(p.at.timestamp() % 300 == 0 and clock.now - timedelta(hours=2) < p.at <= clock.now for p in points)
    assert all(0 < p.cpu_percent <= 100 and p.net_in_bps > 0 and p.net_out_bps > 0 and p.disk_io > 0 for p in points)
    assert await sim.usage(pid, hours=2) == points  # same server, same time: same figures
    assert len({p.cpu_percent for p in points}) > 5  # not a flat line

    # nothing before the server existed
    assert len(await sim.usage(pid, hours=24)) == len(await sim.usage(pid, hours=4))

    await sim.shutdown(pid)
    clock.tick(3600)
    recent = await sim.usage(pid, hours=1)
    assert recent and all(p.cpu_percent == 0 and p.net_in_bps == 0 and p.disk_io == 0 for p in recent)
    await sim.boot(pid)
    clock.tick(3600)
    after = await sim.usage(pid, hours=2)
    assert after[0].cpu_percent == 0 and after[-1].cpu_percent > 0  # off, then running again


async def test_transfer_grows_with_running_time_and_quota_comes_from_the_plan(sim, clock):
    pid = (await _create(sim, plan="sim-1c-1g")).provider_id
    first = await sim.transfer(pid)
    assert first.quota_gb == Decimal(1000) and first.used_gb == 0
    clock.tick(1800)
    later = await sim.transfer(pid)
    assert later.used_gb > 0 or clock.now.day == 1  # a month boundary resets the count
    clock.tick(600)
    assert (await sim.transfer(pid)).used_gb >= later.used_gb
    await sim.shutdown(pid)
    clock.tick(4)
    stopped = await sim.transfer(pid)
    clock.tick(3600)
    assert (await sim.transfer(pid)).used_gb == stopped.used_gb  # no traffic while off


async def test_ssh_keys_at_account_level(sim, account):
    key = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
    created = await sim.create_ssh_key(label=" laptop ", public_key=key + "\n")
    assert (created.label, created.public_key) == ("laptop", key)
    assert await sim.list_ssh_keys() == [created]
    with pytest.raises(ProviderError, match="already registered"):
        await sim.create_ssh_key(label="again", public_key=key)
    for bad in ("ssh-rsa AAAAnotbase64", "", "hello", None):
        with pytest.raises(ProviderError, match="not a valid OpenSSH public key"):
            await sim.create_ssh_key(label="bad", public_key=bad)
    with pytest.raises(ProviderError, match="label"):
        await sim.create_ssh_key(label="", public_key=key)
    second = await sim.create_ssh_key(label="desk", public_key=asyncssh.generate_private_key(
        "ssh-ed25519").export_public_key().decode())
    assert second.id != created.id
    other = SimulatedProvider(uuid.uuid4(), delay_scale=0)  # another account's list is its own
    assert await other.list_ssh_keys() == []
    await sim.delete_ssh_key(created.id)
    assert [k.id for k in await sim.list_ssh_keys()] == [second.id]
    with pytest.raises(ProviderError) as err:
        await sim.delete_ssh_key(created.id)
    assert err.value.status == 404


@pytest.mark.parametrize("label", ["ab", "x" * 65, "1web", "-web", "web-", "web--1", "web._1", "we b",
                                   "web\x00", "wéb-1", 42, None])
async def test_bad_labels_are_refused(sim, label):
    with pytest.raises(ProviderError, match="Label must be") as err:
        await _create(sim, label=label)
    assert err.value.status == 400


@pytest.mark.parametrize("label", ["web", "web-1", "db_main.eu", "A" + "b" * 63])
async def test_good_labels_are_accepted(sim, label):
    assert (await _create(sim, label=label)).label == label


@pytest.mark.parametrize("kwargs, message", [
    (dict(region="us-east"), "Unknown region"),
    (dict(region=None), "Unknown region"),
    (dict(plan="g6-nanode-1"), "Unknown plan"),
    (dict(image="windows-11"), "Unknown image"),
    (dict(region="sim-sgp", plan="sim-8c-32g"), "not offered in region sim-sgp"),
    (dict(root_password="short"), "Root password"),
    (dict(root_password="has a space in it"), "Root password"),
    (dict(ssh_keys=["not a key"]), "not a valid OpenSSH public key"),
    (dict(ssh_keys="ssh-ed25519 AAAA"), "SSH keys"),
    (dict(tags=["ok-tag", "x"]), "tag"),
    (dict(tags="skypanel"), "Tags"),
    (dict(backups="yes"), "backups"),
])
async def test_bad_create_input_is_refused_and_nothing_is_stored(sim, kwargs, message):
    with pytest.raises(ProviderError, match=message):
        await _create(sim, **kwargs)
    assert await sim.list_instances() == []


async def test_create_for_a_deleted_account_is_refused(db):
    with pytest.raises(ProviderError, match="no longer exists"):
        await _create(SimulatedProvider(uuid.uuid4(), delay_scale=0))


async def test_tags_filter_and_ssh_public_keys_are_stored(sim, clock):
    key = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
    a = await _create(sim, label="a-1", tags=["skypanel", "skypanel-aaa"], ssh_keys=[key])
    b = await _create(sim, label="b-1", tags=["skypanel", "skypanel-bbb"])
    await _create(sim, label="c-1", tags=["other"])
    assert [i.label for i in await sim.list_instances(tag="skypanel")] == ["a-1", "b-1"]
    assert [i.provider_id for i in await sim.list_instances(tag="skypanel-bbb")] == [b.provider_id]
    assert await sim.list_instances(tag="skypanel-a") == []  # whole tags only
    assert len(await sim.list_instances()) == 3
    assert _row(a.provider_id).ssh_public_keys == [key]


async def test_every_instance_gets_its_own_loopback_address(sim):
    ips = [(await _create(sim, label=f"node-{n}")).ipv4[0] for n in range(6)]
    assert len(set(ips)) == 6 and "127.0.0.1" not in ips
    assert all(ipaddress.IPv4Address(ip) in ipaddress.IPv4Network("127.0.0.0/8") for ip in ips)
    assert simulated.ip_for(254) != simulated.ip_for(255) and simulated.ip_for(255) == "127.42.1.1"
    assert all(simulated.ip_for(n).split(".")[3] not in ("0", "255") for n in range(1, 2000))


async def test_ssh_endpoints_list_only_running_instances(sim, clock, monkeypatch):
    fast = SimulatedProvider(sim.account_id, delay_scale=0)
    up = await _create(fast, label="up-1")
    down = await _create(fast, label="down-1")
    await fast.shutdown(down.provider_id)
    await _create(sim, label="slow-1")  # still provisioning (real clock, scale 1)
    assert simulated.ssh_endpoints() == {int(up.provider_id): (up.ipv4[0], up.ssh_port)}
    login = simulated.ssh_login(int(up.provider_id))
    assert login["password"] == PASSWORD and login["label"] == "up-1" and login["image"] == "debian-12"
    assert simulated.ssh_login(int(down.provider_id)) is None
