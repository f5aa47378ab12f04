"""Contract tests: DigitalOceanProvider against the DigitalOcean stand-in over a loopback socket.

Every request the client sends and every response the stand-in returns is validated against the
official DigitalOcean OpenAPI document (tests/contract/openapi.py, wired in as httpx event
hooks); an undocumented operation or a non-conforming body fails the test. Retry waits go
through an injected sleep so the tests assert the exact delays without really waiting.
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal

import httpx
import pytest

from skypanel.backend.providers.base import Action, Provider, ProviderError
from skypanel.backend.providers.digitalocean import DigitalOceanProvider
from skypanel.backend.providers.standins.digitalocean_api import IMAGES, REGIONS, SIZES, StandInState, create_app
from tests.contract.openapi import ContractViolation, SpecValidator
from tests.contract.server import serve

TOKEN = "dop_v1_" + "5ecret" * 8
PUBKEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHkVdJ5pXmFZ0v4kq8Lq2r3m4n5o6p7q8r9s0t1u2v3w user@host"


# -- spec quirk (local until the shared normaliser has it) --------------------------------------


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def validator_spec():
    return SpecValidator("digitalocean")  # parses the 3 MB document once for the module


@pytest.fixture()
def validator(validator_spec):
    validator_spec.seen.clear()
    validator_spec.violations.clear()
    yield validator_spec
    assert validator_spec.violations == []


@pytest.fixture()
def state():
    return StandInState(token=TOKEN, provision_seconds=0.3, action_seconds=0.2)


@pytest.fixture()
def server(state):
    """Base URL of the stand-in, served by granian on a real 127.0.0.1 socket."""
    with serve(create_app(state)) as url:
        yield url


class Sleeps:
    """Injected retry sleep: records the requested waits and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture()
def sleeps():
    return Sleeps()


def make_provider(server, validator, sleeps, *, token: str = TOKEN, **kwargs) -> DigitalOceanProvider:
    return DigitalOceanProvider(
        base_url=server,
        token_provider=lambda: token,
        sleep=sleeps,
        rand=lambda: 0.5,
        event_hooks=validator.hooks(),
        poll_interval=0.05,
        **kwargs,
    )


@pytest.fixture()
async def do(server, validator, sleeps):
    provider = make_provider(server, validator, sleeps)
    yield provider
    await provider.aclose()


async def new_running(do: DigitalOceanProvider, label: str = "web-1", **overrides):
    args = dict(label=label, region="fra1", plan="s-1vcpu-1gb", image="ubuntu-24-04-x64",
                root_password="S3cure!pass 'quoted'", ssh_keys=[], backups=False, tags=["org-7"])
    args.update(overrides)
    created = await do.create_instance(**args)
    return await do.wait_for_status(created.provider_id, "running", timeout=10)


def calls(state: StandInState, method: str, path: str) -> int:
    return sum(1 for m, p in state.requests if m == method and p == path)


# -- catalogue and pagination -------------------------------------------------------------------


async def test_implements_protocol(do):
    assert isinstance(do, Provider)
    assert do.capabilities.reverse_dns is False  # DO has no PTR API for droplets
    assert do.capabilities.usage is True and do.capabilities.transfer is False
    assert do.capabilities.backups and do.capabilities.restore and do.capabilities.resize


async def test_catalogue_follows_pages_to_the_end(do, state, validator):
    state.max_per_page = 3  # DO caps per_page; a small cap forces several pages

    regions = await do.list_regions()
    plans = await do.list_plans()
    images = await do.list_images()

    assert [r.id for r in regions] == [slug for slug, _ in REGIONS]
    assert calls(state, "GET", "/v2/regions") == 3  # 8 regions at 3 a page
    assert {r.id: r.country for r in regions}["fra1"] == "DE"
    assert [p.id for p in plans] == [s[0] for s in SIZES]
    basic = next(p for p in plans if p.id == "s-1vcpu-1gb")
    assert basic.price_monthly == Decimal("6.00") and isinstance(basic.price_monthly, Decimal)
    assert basic.price_hourly == Decimal("0.00893")
    assert (basic.vcpus, basic.memory_mb, basic.disk_gb, basic.transfer_gb) == (1, 1024, 25, 1000)
    assert "fra1" in basic.regions
    assert len(images) == len(IMAGES) and images[0].id == "ubuntu-24-04-x64"
    assert images[0].distribution == "Ubuntu"
    assert ("GET", "/v2/images", 200) in validator.seen


# -- droplet lifecycle --------------------------------------------------------------------------


async def test_create_answers_202_then_polls_to_running(do, state, validator):
    created = await do.create_instance(
        label="web-1", region="fra1", plan="s-1vcpu-1gb", image="ubuntu-24-04-x64",
        root_password="S3cure!pass", ssh_keys=[], backups=True, tags=["org-7"],
    )
    assert created.status == "provisioning"
    assert ("POST", "/v2/droplets", 202) in validator.seen
    droplet = state.droplets[int(created.provider_id)]
    assert droplet.tags == ["skypanel", "org-7"]
    assert droplet.backups is True
    # The chosen root password travels as cloud-init user data (DO's create has no password field).
    assert "chpasswd" in droplet.user_data and '"S3cure!pass"' in droplet.user_data

    running = await do.wait_for_status(created.provider_id, "running", timeout=10)
    assert running.ipv4 and running.ipv4[0].startswith("203.0.113.")
    assert running.ipv6.startswith("2001:db8::")
    assert (running.plan, running.region, running.image) == ("s-1vcpu-1gb", "fra1", "ubuntu-24-04-x64")
    assert (running.vcpus, running.memory_mb, running.disk_gb) == (1, 1024, 25)
    assert running.created_at is not None and running.created_at.tzinfo is not None


async def test_list_instances_by_tag_across_pages(do, state):
    state.max_per_page = 2
    for n in range(3):
        await do.create_instance(label=f"web-{n}", region="nyc3", plan="s-1vcpu-1gb",
                                 image="debian-12-x64", root_password="pw-12345678", ssh_keys=[],
                                 backups=False, tags=[f"org-{n % 2}"])
    ours = await do.list_instances(tag="skypanel")
    assert sorted(i.label for i in ours) == ["web-0", "web-1", "web-2"]
    assert calls(state, "GET", "/v2/droplets") == 2
    org0 = await do.list_instances(tag="org-0")
    assert sorted(i.label for i in org0) == ["web-0", "web-2"]
    assert len(await do.list_instances()) == 3


async def test_power_actions_are_polled_via_actions_endpoint(do, state, validator):
    inst = await new_running(do)
    pid = inst.provider_id

    action = await do.shutdown(pid)
    assert isinstance(action, Action) and action.status == "in-progress" and action.kind == "shutdown"
    done = await do.wait_for_action(action, timeout=10)
    assert done.status == "completed"
    assert any(m == "GET" and p == f"/v2/actions/{action.id}" for m, p, _ in validator.seen)
    assert (await do.get_instance(pid)).status == "offline"

    resized = await do.wait_for_action(await do.resize(pid, plan="s-2vcpu-4gb"), timeout=10)
    assert resized.kind == "resize"
    after = await do.get_instance(pid)
    assert (after.plan, after.vcpus, after.memory_mb) == ("s-2vcpu-4gb", 2, 4096)

    await do.wait_for_action(await do.boot(pid), timeout=10)
    assert (await do.get_instance(pid)).status == "running"

    reboot = await do.reboot(pid)
    assert (await do.get_action(reboot.id)).status == "in-progress"
    await do.wait_for_action(reboot, timeout=10)

    await do.wait_for_action(await do.rebuild(pid, image="debian-12-x64", root_password="x"), timeout=10)
    assert (await do.get_instance(pid)).image == "debian-12-x64"


async def test_resize_of_running_droplet_refused_with_do_message(do):
    inst = await new_running(do)
    with pytest.raises(ProviderError) as err:
        await do.resize(inst.provider_id, plan="s-2vcpu-4gb")
    assert err.value.status == 422 and err.value.retryable is False
    assert err.value.message == "Droplet is currently on. Please power it off to run this event."


async def test_backups_enable_list_restore(do):
    inst = await new_running(do)
    await do.enable_backups(inst.provider_id)
    backups = []
    for _ in range(100):
        backups = await do.list_backups(inst.provider_id)
        if backups:
            break
        await asyncio.sleep(0.05)
    assert len(backups) == 1 and backups[0].created_at is not None
    restore = await do.restore_backup(inst.provider_id, backups[0].id)
    assert (await do.wait_for_action(restore, timeout=10)).kind == "restore"
    await do.disable_backups(inst.provider_id)


async def test_delete_then_not_found_with_do_message(do, state):
    inst = await new_running(do)
    await do.delete_instance(inst.provider_id)
    assert int(inst.provider_id) not in state.droplets
    with pytest.raises(ProviderError) as err:
        await do.get_instance(inst.provider_id)
    assert err.value.status == 404
    assert err.value.message == "The resource you were accessing could not be found."
    await do.delete_instance(inst.provider_id)  # already gone: done, so cleanup can be retried


async def test_ssh_keys_create_list_delete(do):
    key = await do.create_ssh_key(label="laptop", public_key=PUBKEY)
    assert key.label == "laptop" and key.public_key == PUBKEY
    assert [k.id for k in await do.list_ssh_keys()] == [key.id]
    with pytest.raises(ProviderError) as err:
        await do.create_ssh_key(label="again", public_key=PUBKEY)
    assert err.value.status == 422 and "already in use" in err.value.message
    await do.delete_ssh_key(key.id)
    assert await do.list_ssh_keys() == []


async def test_non_numeric_id_is_not_found_without_a_call(do, state):
    with pytest.raises(ProviderError) as err:
        await do.get_instance("../account")
    assert err.value.status == 404
    assert not any(p.startswith("/v2/droplets/") for _, p in state.requests)


async def test_bad_label_refused_before_calling_do(do, state):
    with pytest.raises(ProviderError) as err:
        await do.create_instance(label="bad label!", region="fra1", plan="s-1vcpu-1gb",
                                 image="ubuntu-24-04-x64", root_password="pw", ssh_keys=[],
                                 backups=False, tags=[])
    assert "letters, digits" in err.value.message
    assert calls(state, "POST", "/v2/droplets") == 0


async def test_unknown_size_is_do_message(do):
    with pytest.raises(ProviderError) as err:
        await do.create_instance(label="web-1", region="fra1", plan="no-such-size",
                                 image="ubuntu-24-04-x64", root_password="pw", ssh_keys=[],
                                 backups=False, tags=[])
    assert err.value.status == 422
    assert err.value.message == "You specified an invalid size for Droplet creation."


async def test_unsupported_operations_raise_and_flags_are_false(do, state):
    inst = await new_running(do)
    for flag, call in [
        ("reverse_dns", do.set_reverse_dns(inst.provider_id, ip=inst.ipv4[0], hostname="a.example.com")),
        ("transfer", do.transfer(inst.provider_id)),
        ("root_password_reset", do.reset_root_password(inst.provider_id, root_password="pw")),
    ]:
        assert getattr(do.capabilities, flag) is False
        with pytest.raises(ProviderError, match="Not supported by DigitalOcean"):
            await call


async def test_usage_from_monitoring_metrics(do, validator):
    inst = await new_running(do)
    points = await do.usage(inst.provider_id, hours=24)
    assert 250 <= len(points) <= 300  # 5-minute steps over a day
    assert [p.at for p in points] == sorted(p.at for p in points)
    cpu = [p.cpu_percent for p in points if p.cpu_percent is not None]
    assert len(cpu) == len(points) - 1  # the first sample has no previous one to rate against
    assert all(4.0 <= c <= 66.0 for c in cpu)  # the stand-in's synthetic load stays in 5..65 %
    assert all(p.net_in_bps and p.net_out_bps and p.net_out_bps > p.net_in_bps for p in points)
    assert all(p.disk_io is None for p in points)  # DO has no disk I/O metric
    assert ("GET", "/v2/monitoring/metrics/droplet/bandwidth", 200) in validator.seen


async def test_undocumented_operation_fails_the_contract(do, validator):
    with pytest.raises(ContractViolation):
        await do.api.request("GET", "/v2/droplets/1/not-a-documented-thing")
    validator.violations.clear()  # expected here; every other test asserts none


# -- resilience ---------------------------------------------------------------------------------


async def test_429_waits_for_retry_after_then_succeeds(do, state, sleeps, validator):
    state.inject(status=429, headers={"retry-after": "7"}, message="API Rate limit exceeded.")
    regions = await do.list_regions()
    assert len(regions) == len(REGIONS)
    assert sleeps.waits == [7.0]
    assert calls(state, "GET", "/v2/regions") == 2
    assert ("GET", "/v2/regions", 429) in validator.seen


async def test_429_without_retry_after_waits_for_ratelimit_reset(server, state, validator, sleeps):
    state.inject(status=429, headers={"retry-after": "", "ratelimit-reset": "1000012"})
    provider = make_provider(server, validator, sleeps, clock=lambda: 1_000_000.0)
    try:
        assert len(await provider.list_plans()) == len(SIZES)
    finally:
        await provider.aclose()
    assert sleeps.waits == [12.0]  # ratelimit-reset (epoch) minus now


async def test_5xx_retried_with_backoff_then_succeeds(do, state, sleeps):
    state.inject(status=500, count=2)
    assert len(await do.list_plans()) == len(SIZES)
    # full jitter with rand=0.5: 0.5 * min(8, 0.5 * 2**attempt)
    assert sleeps.waits == [0.25, 0.5]
    assert calls(state, "GET", "/v2/sizes") == 3


async def test_5xx_forever_gives_up_retryable(do, state, sleeps):
    state.inject(status=503, count=50, message="Service is temporarily unavailable.")
    with pytest.raises(ProviderError) as err:
        await do.list_regions()
    assert err.value.retryable is True and err.value.status == 503
    assert err.value.message == "Service is temporarily unavailable."
    assert calls(state, "GET", "/v2/regions") == 5
    assert len(sleeps.waits) == 4


async def test_slow_response_times_out_and_is_retried(server, state, validator, sleeps):
    state.inject(delay=1.0)
    provider = make_provider(server, validator, sleeps, timeout=httpx.Timeout(0.3))
    try:
        images = await provider.list_images()
    finally:
        await provider.aclose()
    assert len(images) == len(IMAGES)
    assert calls(state, "GET", "/v2/images") == 2
    assert sleeps.waits == [0.25]


async def test_wrong_token_is_do_message_and_token_never_leaks(server, state, validator, sleeps, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = "dop_v1_" + "wrongtoken" * 6
    provider = make_provider(server, validator, sleeps, token=wrong)
    try:
        with pytest.raises(ProviderError) as err:
            await provider.list_regions()
        state.inject(status=500, count=50)
        with pytest.raises(ProviderError) as err5xx:
            await provider.list_regions()
    finally:
        await provider.aclose()
    assert err.value.status == 401 and err.value.retryable is False
    assert err.value.message == "Unable to authenticate you"
    for exc in (err.value, err5xx.value):
        text = " ".join([str(exc), repr(exc), exc.message, str(exc.args)])
        assert wrong not in text and "wrongtoken" not in text
    assert "wrongtoken" not in caplog.text
    assert TOKEN not in caplog.text


async def test_customer_public_keys_go_through_cloud_init_not_the_do_account(do, state):
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGk5 alice@laptop"
    created = await do.create_instance(
        label="web-2", region="fra1", plan="s-1vcpu-1gb", image="ubuntu-24-04-x64",
        root_password="S3cure!pass", ssh_keys=[key], backups=False, tags=[],
    )
    droplet = state.droplets[int(created.provider_id)]
    assert droplet.ssh_keys == []
    assert "ssh_authorized_keys:" in droplet.user_data and f'"{key}"' in droplet.user_data
    assert "chpasswd" in droplet.user_data
