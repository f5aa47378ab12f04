"""/ssh-keys through the real Reflex handlers (tests/integration/reflex_client.py): what each role
sees and may do, inline field errors, and that a hand-made call changes nothing it should not."""

from __future__ import annotations

import itertools
import uuid

import pytest
from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import func
from sqlmodel import select

from skypanel.backend.db import session_scope
from skypanel.backend.models import ActivityLog, SshKey, User
from skypanel.backend.services import auth, ssh_keys
from skypanel.state.activity import ActivityState
from skypanel.state.session import BAD_REQUEST, SessionState
from skypanel.state.ssh_keys import SshKeysState

from .factories import PASSWORD, add_member, make_user, personal_org
from .reflex_client import Client, register_pages

_ips = itertools.count(1)


@pytest.fixture(scope="module", autouse=True)
def _pages_registered():
    register_pages()


def new_key(comment: str = "") -> str:
    line = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        ser.Encoding.OpenSSH, ser.PublicFormat.OpenSSH).decode()
    return f"{line} {comment}".strip()


def footprint() -> tuple:
    with session_scope() as s:
        keys = sorted((str(k.id), k.name, k.public_key) for k in s.exec(select(SshKey)))
        return keys, s.exec(select(func.count()).select_from(ActivityLog)).one()


async def tab_for(email: str) -> Client:
    n = next(_ips)
    ip = f"10.66.{n // 250}.{n % 250 + 1}"
    token = auth.login(email=email, password=PASSWORD, ip=ip, user_agent="pytest-state-client")["session_token"]
    client = Client(token, ip=ip)
    await client.open("/ssh-keys", "/ssh-keys")
    await client.call(SessionState, "require_login")
    await client.call(SshKeysState, "load")
    return client


@pytest.fixture()
def world(db) -> dict:
    owner_id, owner = make_user("olive@keys.example.com", "Olive Owner", org_name="Keyholders")
    org = personal_org(owner_id)
    key = ssh_keys.add_key(owner, str(org), name="Olive laptop", public_key=new_key("olive@laptop"))
    for role in ("member", "viewer", "vps_manager"):
        uid, _ = make_user(f"{role}@keys.example.com", role.title())
        add_member(org, uid, role)
        with session_scope() as s:  # the shared organization is their active one
            s.get(User, uid).active_organization_id = org
    bob_id, bob = make_user("bob@bravo.example.com", "Bob Bravo", org_name="Bravo Works")
    bob_key = ssh_keys.add_key(bob, str(personal_org(bob_id)), name="Bob desktop", public_key=new_key())
    return {"org": str(org), "key": key, "bob_key": bob_key}


async def test_owner_adds_renames_and_deletes(world):
    tab = await tab_for("olive@keys.example.com")
    state = await tab.root.get_state(SshKeysState)
    assert not state.loading and not state.denied and state.can_manage
    assert state.org_name == "Keyholders"
    assert [r["name"] for r in state.rows] == ["Olive laptop"]
    row = state.rows[0]
    assert row["fingerprint"] == world["key"]["fingerprint"] and row["type_label"] == "Ed25519"
    assert row["added_by"] == "Olive Owner" and row["added"]

    await tab.call(SshKeysState, "set_add_open", value=True)
    assert state.add_open
    line = new_key("work@desktop")
    sent = await tab.call(SshKeysState, "add", form_data={"name": "", "public_key": line})
    assert not state.add_open and not state.adding
    assert [r["name"] for r in state.rows] == ["Olive laptop", "work@desktop"]
    fingerprint = ssh_keys.parse_public_key(line).fingerprint
    assert "Added SSH key work@desktop." in sent and fingerprint in sent

    new_id = state.rows[1]["id"]
    await tab.call(SshKeysState, "open_rename", key_id=new_id)
    assert state.rename_open and state.rename_current == "work@desktop"
    sent = await tab.call(SshKeysState, "rename", form_data={"name": "Work desktop"})
    assert not state.rename_open and "Renamed to Work desktop" in sent
    assert [r["name"] for r in state.rows] == ["Olive laptop", "Work desktop"]

    sent = await tab.call(SshKeysState, "delete", key_id=new_id)
    assert "Deleted Work desktop" in sent and state.busy_id == ""
    assert [r["name"] for r in state.rows] == ["Olive laptop"]

    # The activity page's "SSH keys" area lists exactly these changes.
    await tab.open("/activity", "/activity")
    await tab.call(ActivityState, "load")
    await tab.call(ActivityState, "set_area", value="ssh_key")
    log = await tab.root.get_state(ActivityState)
    assert [r["action"] for r in log.rows] == ["ssh_key.deleted", "ssh_key.renamed", "ssh_key.added", "ssh_key.added"]
    assert log.rows[0]["summary"] == f"Deleted SSH key Work desktop ({fingerprint})"


async def test_add_errors_show_under_their_field_and_change_nothing(world):
    tab = await tab_for("olive@keys.example.com")
    state = await tab.root.get_state(SshKeysState)
    await tab.call(SshKeysState, "set_add_open", value=True)
    before = footprint()
    private = ed25519.Ed25519PrivateKey.generate().private_bytes(
        ser.Encoding.PEM, ser.PrivateFormat.OpenSSH, ser.NoEncryption()).decode()

    await tab.call(SshKeysState, "add", form_data={"name": "Oops", "public_key": private})
    assert state.add_text_error.startswith("This looks like a private key — paste the .pub file")
    assert state.add_open and state.add_name_error == "" and not state.adding

    await tab.call(SshKeysState, "add", form_data={"name": "", "public_key": new_key()})
    assert state.add_name_error.startswith("Enter a name") and state.add_text_error == ""

    await tab.call(SshKeysState, "add", form_data={"name": "y" * 65, "public_key": new_key()})
    assert "at most 64" in state.add_name_error

    existing = world["key"]["public_key"]
    await tab.call(SshKeysState, "add", form_data={"name": "Again", "public_key": existing})
    assert state.add_text_error == "This key is already added as Olive laptop."

    await tab.call(SshKeysState, "add", form_data={"name": "Big", "public_key": "ssh-ed25519 " + "A" * 500_000})
    assert "too long" in state.add_text_error

    sent = await tab.call(SshKeysState, "add", form_data="ssh-ed25519 AAAA")
    assert BAD_REQUEST in sent
    sent = await tab.call(SshKeysState, "add", form_data={"name": ["x"], "public_key": new_key()})
    assert BAD_REQUEST in sent
    assert footprint() == before

    await tab.call(SshKeysState, "set_add_open", value=False)
    assert state.add_text_error == state.add_name_error == state.add_error == ""


async def test_member_sees_read_only_and_cannot_change_anything(world):
    tab = await tab_for("member@keys.example.com")
    state = await tab.root.get_state(SshKeysState)
    assert not state.denied and not state.can_manage
    assert [r["name"] for r in state.rows] == ["Olive laptop"]
    before = footprint()
    await tab.call(SshKeysState, "set_add_open", value=True)
    assert not state.add_open  # the dialog does not open without ssh_keys_manage
    sent = await tab.call(SshKeysState, "add", form_data={"name": "Sneaky", "public_key": new_key()})
    assert "permission" in sent.lower()
    await tab.call(SshKeysState, "open_rename", key_id=world["key"]["id"])
    assert not state.rename_open
    sent = await tab.call(SshKeysState, "delete", key_id=world["key"]["id"])
    assert "permission" in sent.lower()
    assert footprint() == before
    assert [r["name"] for r in state.rows] == ["Olive laptop"] and not state.denied


async def test_vps_manager_manages(world):
    tab = await tab_for("vps_manager@keys.example.com")
    state = await tab.root.get_state(SshKeysState)
    assert state.can_manage
    await tab.call(SshKeysState, "add", form_data={"name": "Ops", "public_key": new_key()})
    assert [r["name"] for r in state.rows] == ["Olive laptop", "Ops"]
    assert state.rows[1]["added_by"] == "Vps_Manager"


async def test_viewer_gets_the_no_access_panel_and_no_keys(world):
    tab = await tab_for("viewer@keys.example.com")
    state = await tab.root.get_state(SshKeysState)
    assert state.denied and state.rows == [] and not state.can_manage
    assert world["key"]["fingerprint"] not in tab.everything_sent()
    sent = await tab.call(SshKeysState, "delete", key_id=world["key"]["id"])
    assert world["key"]["fingerprint"] not in sent
    with session_scope() as s:
        assert s.get(SshKey, uuid.UUID(world["key"]["id"])) is not None


async def test_another_organizations_key_ids_do_nothing(world):
    """Olive's tab given Bob's key id (his organization's): not found, nothing of Bob's sent or changed."""
    tab = await tab_for("olive@keys.example.com")
    state = await tab.root.get_state(SshKeysState)
    before = footprint()
    sent = await tab.call(SshKeysState, "delete", key_id=world["bob_key"]["id"])
    assert "SSH key not found." in sent
    state.rename_id = world["bob_key"]["id"]  # as if the browser had smuggled it in
    sent += await tab.call(SshKeysState, "rename", form_data={"name": "Hijacked"})
    assert "SSH key not found." in sent
    await tab.call(SshKeysState, "open_rename", key_id=world["bob_key"]["id"])
    assert footprint() == before
    assert "Bob desktop" not in tab.everything_sent()
    assert world["bob_key"]["fingerprint"] not in tab.everything_sent()


async def test_handlers_refuse_arguments_a_page_never_sends(world):
    tab = await tab_for("olive@keys.example.com")
    before = footprint()
    for handler, payload in (("delete", {"key_id": 42}), ("delete", {"key_id": None}),
                             ("open_rename", {"key_id": ["x"]}), ("rename", {"form_data": None})):
        sent = await tab.call(SshKeysState, handler, **payload)
        assert "not valid" in sent or "not found" in sent.lower(), (handler, payload)
    assert footprint() == before


async def test_signed_out_tab_is_sent_to_login(world):
    tab = await tab_for("olive@keys.example.com")
    auth.logout(tab.session_token)
    sent = await tab.call(SshKeysState, "add", form_data={"name": "Late", "public_key": new_key()})
    assert "/login" in sent
    sent = await tab.call(SshKeysState, "load")
    assert "/login" in sent
