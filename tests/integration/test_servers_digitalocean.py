"""Servers on DigitalOcean through the real client over HTTP against the DO stand-in: actions are
polled at /v2/actions/{id} by the sync job, keys and password travel as cloud-init, and the
capabilities DO lacks are refused before any call."""

from __future__ import annotations

import asyncio
import time
import uuid
from decimal import Decimal

import pytest
from sqlmodel import select

from skypanel.backend.db import session_scope
from skypanel.backend.models import Plan, PlanPrice, Server
from skypanel.backend.models.base import utcnow
from skypanel.backend.providers.standins.digitalocean_api import StandInState, create_app
from skypanel.backend.services import catalog, pricing, provider_accounts, server_sync, servers, ssh_keys, wallet
from skypanel.backend.services.errors import ValidationError
from tests.contract.server import serve
from tests.integration.factories import make_user, personal_org

TOKEN = "dop_v1_servers_0123456789abcdef"
ROOT = "Corr3ct-Horse-Battery"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@laptop"


@pytest.fixture()
def state():
    return StandInState(token=TOKEN, provision_seconds=0.3, action_seconds=0.3)


@pytest.fixture()
async def world(db, state):
    with serve(create_app(state)) as url:
        admin = make_user("admin@example.com", admin=True)[1]
        owner_id, owner = make_user("owner@example.com", "Owner")
        org = personal_org(owner_id)
        account = provider_accounts.add_account(admin, kind="digitalocean", name="DO", token=TOKEN, base_url=url)
        provider_accounts.update_account(admin, account["id"], allowed_regions=[{"id": "fra1", "label": "Frankfurt"}])
        await catalog.refresh(account["id"])
        with session_scope() as s:
            plans = []
            for size, name, base in (("s-1vcpu-1gb", "Small", "6"), ("s-1vcpu-2gb", "Medium", "12")):
                plan = Plan(provider_account_id=uuid.UUID(account["id"]), provider_plan_id=size, name=name,
                            vcpus=1, memory_mb=1024, disk_gb=25, base_price=Decimal(base), markup=Decimal("1"),
                            regions=["fra1"])
                s.add(plan)
                s.flush()
                s.add(PlanPrice(plan_id=plan.id, base_price=plan.base_price, markup=plan.markup,
                                effective_from=pricing.hour_start(utcnow())))
                plans.append(str(plan.id))
            wallet._post(s, org, Decimal("50"), "topup", actor=None)
        key = ssh_keys.add_key(owner, org, name="alice", public_key=KEY)
        yield {"owner": owner, "org": org, "plans": plans, "key": key["id"]}


async def _settled(w, sid: str, timeout: float = 6.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        await server_sync.sync_all(force=True)
        row = servers.get_server(w["owner"], w["org"], sid)
        if row["status"] in ("running", "offline") and not row["pending_action"]:
            return row
        assert time.monotonic() < deadline, (row["status"], row["pending_action"])
        await asyncio.sleep(0.1)


async def test_create_sends_keys_and_password_by_cloud_init_and_polls_actions(world, state):
    w = world
    created = await servers.create_server(w["owner"], w["org"], plan_id=w["plans"][0], region="fra1",
                                          image="debian-12-x64", label="db-1", root_password=ROOT,
                                          ssh_key_ids=[w["key"]], backups=False)
    assert created["status"] == "provisioning"
    droplet = next(iter(state.droplets.values()))
    assert droplet.name == "db-1"  # DO takes the label as the hostname, no suffix
    assert f'"{KEY}"' in droplet.user_data and '"Corr3ct-Horse-Battery"' in droplet.user_data
    row = await _settled(w, created["id"])
    assert row["status"] == "running" and row["primary_ip"]

    rebooting = await servers.power(w["owner"], w["org"], created["id"], "reboot")
    assert rebooting["status"] == "rebooting"
    with session_scope() as s:
        pending = s.get(Server, uuid.UUID(created["id"])).pending_action_id
    assert pending and int(pending) in state.actions  # DO's action id, polled by the sync job
    await server_sync.sync_all(force=True)
    assert servers.get_server(w["owner"], w["org"], created["id"])["status"] == "rebooting"  # still in progress
    row = await _settled(w, created["id"])
    assert row["status"] == "running"


async def test_capabilities_do_lacks_are_refused_before_any_call(world, state):
    w = world
    created = await servers.create_server(w["owner"], w["org"], plan_id=w["plans"][0], region="fra1",
                                          image="debian-12-x64", label="db-2", root_password=ROOT)
    await _settled(w, created["id"])
    detail = servers.get_server(w["owner"], w["org"], created["id"])
    assert detail["capabilities"]["reverse_dns"] is False and detail["capabilities"]["root_password_reset"] is False
    actions_before = len(state.actions)
    with pytest.raises(ValidationError, match="does not support reverse DNS"):
        await servers.set_reverse_dns(w["owner"], w["org"], created["id"], ip=detail["primary_ip"],
                                      hostname="db.example.com")
    with pytest.raises(ValidationError, match="does not support resetting the root password"):
        await servers.reset_root_password(w["owner"], w["org"], created["id"], root_password=ROOT)
    assert len(state.actions) == actions_before


async def test_a_rebuild_on_do_forgets_the_stored_password(world):
    w = world
    created = await servers.create_server(w["owner"], w["org"], plan_id=w["plans"][0], region="fra1",
                                          image="debian-12-x64", label="db-3", root_password=ROOT)
    await _settled(w, created["id"])
    assert servers.get_server(w["owner"], w["org"], created["id"])["has_root_password"] is True
    await servers.rebuild(w["owner"], w["org"], created["id"], image="ubuntu-24-04-x64",
                          root_password="An0ther-Strong-Pass")
    detail = servers.get_server(w["owner"], w["org"], created["id"])
    assert detail["status"] == "rebuilding" and detail["has_root_password"] is False
    assert detail["image"] == "ubuntu-24-04-x64"
    with session_scope() as s:
        assert s.exec(select(Server.root_password_enc).where(Server.id == uuid.UUID(created["id"]))).one() is None
