"""Organization SSH keys (services/ssh_keys.py) against PostgreSQL: permissions per role (from
reference/role-matrix.md, copied here), tenancy, duplicates, activity, bad input changing nothing,
and `keys_for_create` used by the server-create flow."""

from __future__ import annotations

import threading
import uuid

import pytest
from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from sqlalchemy import func
from sqlmodel import select

from skypanel.backend.db import session_scope
from skypanel.backend.models import ActivityLog, Organization, SshKey
from skypanel.backend.models.base import utcnow
from skypanel.backend.services import orgs, ssh_keys
from skypanel.backend.services.errors import NotFound, PermissionDenied, ServiceError, ValidationError

from .factories import add_member, make_actor, make_user, personal_org

# From reference/role-matrix.md (on purpose not read from permissions.py).
CAN_VIEW = {"owner", "admin", "member", "vps_manager", "hosting_manager"}
CAN_MANAGE = {"owner", "admin", "vps_manager"}
CAN_CREATE_VPS = {"owner", "admin", "member", "vps_manager"}
ROLES = ["owner", "admin", "billing_manager", "member", "vps_manager", "hosting_manager", "support_agent", "viewer"]


def new_key(comment: str = "") -> str:
    line = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        ser.Encoding.OpenSSH, ser.PublicFormat.OpenSSH).decode()
    return f"{line} {comment}".strip()


def table_state(org_id) -> tuple:
    """The organization's keys and activity rows: what a refused call must leave as it was."""
    with session_scope() as s:
        keys = sorted((str(k.id), k.name, k.public_key, k.fingerprint, k.updated_at)
                      for k in s.exec(select(SshKey).where(SshKey.organization_id == org_id)))
        acts = s.exec(select(func.count()).select_from(ActivityLog)).one()
        total = s.exec(select(func.count()).select_from(SshKey)).one()
    return keys, acts, total


def actions(org_id) -> list[tuple[str, str, str]]:
    with session_scope() as s:
        rows = s.exec(select(ActivityLog).where(ActivityLog.organization_id == org_id,
                                                ActivityLog.action.startswith("ssh_key."))
                      .order_by(ActivityLog.created_at)).all()
        return [(a.action, a.entity_id, str(a.user_id)) for a in rows]


@pytest.fixture()
def org(db):
    """An organization whose owner holds one key, with a member of every predefined role."""
    owner_id, owner = make_user("owner@keys.test", "Olive Owner")
    org_id = personal_org(owner_id)
    actors = {"owner": owner}
    for role in ROLES[1:]:
        uid, _ = make_user(f"{role}@keys.test", role.replace("_", " ").title())
        add_member(org_id, uid, role)
        actors[role] = make_actor(uid)
    key = ssh_keys.add_key(owner, str(org_id), name="Olive laptop", public_key=new_key("olive@laptop"))
    return {"org_id": org_id, "actors": actors, "owner": owner, "owner_id": owner_id, "key": key}


# ---------------------------------------------------------------- adding and listing


def test_add_stores_the_canonical_key_with_its_fingerprint_and_lists_it(org):
    line = new_key("alice@laptop")
    typ, data, comment = line.split(" ", 2)
    added = ssh_keys.add_key(org["owner"], str(org["org_id"]), name="", public_key=f"  {typ}\t{data}   {comment} \n")
    assert added["name"] == "alice@laptop"  # the comment, as no name was given
    assert added["key_type"] == "ssh-ed25519" and added["type_label"] == "Ed25519"
    assert added["fingerprint"] == ssh_keys.parse_public_key(line).fingerprint
    assert added["public_key"] == line
    with session_scope() as s:
        row = s.get(SshKey, uuid.UUID(added["id"]))
        assert row.public_key == line and row.organization_id == org["org_id"]
        assert row.created_by == org["owner_id"]
    listed = ssh_keys.list_keys(org["owner"], str(org["org_id"]))
    assert [k["name"] for k in listed] == ["alice@laptop", "Olive laptop"]  # by name, case-insensitive
    mine = next(k for k in listed if k["id"] == added["id"])
    assert mine["created_by_name"] == "Olive Owner" and mine["created_at"]


def test_rsa_label_carries_its_size(org):
    line = rsa.generate_private_key(65537, 3072).public_key().public_bytes(
        ser.Encoding.OpenSSH, ser.PublicFormat.OpenSSH).decode()
    added = ssh_keys.add_key(org["owner"], str(org["org_id"]), name="Build box", public_key=line)
    assert added["type_label"] == "RSA 3072"


def test_a_name_is_needed_when_the_key_has_no_comment(org):
    before = table_state(org["org_id"])
    with pytest.raises(ValidationError) as info:
        ssh_keys.add_key(org["owner"], str(org["org_id"]), name="  ", public_key=new_key())
    assert info.value.field == "name"
    assert table_state(org["org_id"]) == before


def test_duplicates_are_refused_with_the_existing_name(org):
    line = new_key("dup@host")
    ssh_keys.add_key(org["owner"], str(org["org_id"]), name="First copy", public_key=line)
    before = table_state(org["org_id"])
    typ, data, _ = line.split(" ", 2)
    for again in (line, f"{typ} {data}", f"{typ} {data} another comment", f"{typ} {data.rstrip('=')}"):
        with pytest.raises(ValidationError) as info:
            ssh_keys.add_key(org["owner"], str(org["org_id"]), name="Second copy", public_key=again)
        assert info.value.message == "This key is already added as First copy."
        assert info.value.field == "public_key"
    assert table_state(org["org_id"]) == before


def test_the_same_key_may_be_in_two_organizations(org):
    line = new_key("shared@host")
    ssh_keys.add_key(org["owner"], str(org["org_id"]), name="Shared", public_key=line)
    other_id, other = make_user("other@keys.test", "Other Owner")
    added = ssh_keys.add_key(other, str(personal_org(other_id)), name="Shared too", public_key=line)
    assert added["fingerprint"] == ssh_keys.parse_public_key(line).fingerprint


def test_two_simultaneous_adds_of_one_key_store_it_once(org):
    line = new_key("race@host")
    results: list = []

    def add(name: str) -> None:
        try:
            results.append(ssh_keys.add_key(org["owner"], str(org["org_id"]), name=name, public_key=line)["name"])
        except ServiceError as exc:
            results.append(exc)

    threads = [threading.Thread(target=add, args=(f"Racer {i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sum(isinstance(r, str) for r in results) == 1
    errors = [r for r in results if not isinstance(r, str)]
    assert len(errors) == 3 and all(isinstance(e, ValidationError) and "already added as Racer" in e.message
                                    for e in errors)


def test_an_organization_holds_at_most_the_limit(org, monkeypatch):
    monkeypatch.setattr(ssh_keys, "KEYS_PER_ORG_MAX", 3)
    ssh_keys.add_key(org["owner"], str(org["org_id"]), name="Two", public_key=new_key())
    ssh_keys.add_key(org["owner"], str(org["org_id"]), name="Three", public_key=new_key())
    before = table_state(org["org_id"])
    with pytest.raises(ValidationError) as info:
        ssh_keys.add_key(org["owner"], str(org["org_id"]), name="Four", public_key=new_key())
    assert "at most 3" in info.value.message
    assert table_state(org["org_id"]) == before


# ---------------------------------------------------------------- rename and delete


def test_rename_and_delete_write_activity(org):
    oid, owner = str(org["org_id"]), org["owner"]
    key = ssh_keys.add_key(owner, oid, name="Temp", public_key=new_key())
    renamed = ssh_keys.rename_key(owner, oid, key["id"], name="  Deploy   key ")
    assert renamed["name"] == "Deploy key" and renamed["fingerprint"] == key["fingerprint"]
    ssh_keys.rename_key(owner, oid, key["id"], name="Deploy key")  # unchanged: nothing recorded
    gone = ssh_keys.delete_key(owner, oid, key["id"])
    assert gone == {"id": key["id"], "name": "Deploy key", "fingerprint": key["fingerprint"]}
    with session_scope() as s:
        assert s.get(SshKey, uuid.UUID(key["id"])) is None
    uid = str(org["owner_id"])
    assert actions(org["org_id"]) == [
        ("ssh_key.added", org["key"]["id"], uid),
        ("ssh_key.added", key["id"], uid),
        ("ssh_key.renamed", key["id"], uid),
        ("ssh_key.deleted", key["id"], uid),
    ]
    with session_scope() as s:
        summaries = s.exec(select(ActivityLog.summary).where(ActivityLog.action.startswith("ssh_key."))
                           .order_by(ActivityLog.created_at)).all()
    assert summaries[2] == "Renamed SSH key Temp to Deploy key"
    assert summaries[3] == f"Deleted SSH key Deploy key ({key['fingerprint']})"


@pytest.mark.parametrize("name", ["", "   ", "y" * 65, "nul\x00", "bell\x07", None, 42])
def test_bad_rename_changes_nothing(org, name):
    before = table_state(org["org_id"])
    with pytest.raises(ValidationError) as info:
        ssh_keys.rename_key(org["owner"], str(org["org_id"]), org["key"]["id"], name=name)
    assert info.value.field == "name"
    assert table_state(org["org_id"]) == before


MALFORMED = [
    "", "   ", "not a key", "ssh-ed25519", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA",  # truncated
    "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIBUk2Zy6cp0NPU4jTQpTU1Bf8p3fA9XAWVsq2Je5k6uL",  # wrong type prefix
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
    "ssh-ed25519 AAAA\x00", "ssh-ed25519 " + "A" * 100_000, None, 7, ["ssh-ed25519"],
]


@pytest.mark.parametrize("text", MALFORMED)
def test_malformed_keys_change_nothing(org, text):
    before = table_state(org["org_id"])
    with pytest.raises(ValidationError) as info:
        ssh_keys.add_key(org["owner"], str(org["org_id"]), name="Bad", public_key=text)
    assert info.value.field == "public_key"
    assert table_state(org["org_id"]) == before


def test_private_key_pasted_by_mistake(org):
    pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
        ser.Encoding.PEM, ser.PrivateFormat.OpenSSH, ser.NoEncryption()).decode()
    before = table_state(org["org_id"])
    with pytest.raises(ValidationError) as info:
        ssh_keys.add_key(org["owner"], str(org["org_id"]), name="Oops", public_key=pem)
    assert info.value.message.startswith("This looks like a private key — paste the .pub file")
    assert table_state(org["org_id"]) == before


# ---------------------------------------------------------------- permissions per role


@pytest.mark.parametrize("role", ROLES)
def test_permissions_follow_the_role_matrix(org, role):
    actor, oid = org["actors"][role], str(org["org_id"])
    key_id = org["key"]["id"]

    if role in CAN_VIEW:
        assert [k["id"] for k in ssh_keys.list_keys(actor, oid)] == [key_id]
    else:
        with pytest.raises(PermissionDenied):
            ssh_keys.list_keys(actor, oid)

    if role in CAN_CREATE_VPS:
        assert [k["id"] for k in ssh_keys.options(actor, oid)] == [key_id]
    else:
        with pytest.raises(PermissionDenied):
            ssh_keys.options(actor, oid)

    before = table_state(org["org_id"])
    if role in CAN_MANAGE:
        added = ssh_keys.add_key(actor, oid, name=f"{role} key", public_key=new_key())
        ssh_keys.rename_key(actor, oid, added["id"], name=f"{role} key renamed")
        ssh_keys.delete_key(actor, oid, added["id"])
        ssh_keys.rename_key(actor, oid, key_id, name="Renamed by " + role)
        assert [a for a, *_ in actions(org["org_id"])][-4:] == [
            "ssh_key.added", "ssh_key.renamed", "ssh_key.deleted", "ssh_key.renamed"]
    else:
        for call in (lambda: ssh_keys.add_key(actor, oid, name="Nope", public_key=new_key()),
                     lambda: ssh_keys.rename_key(actor, oid, key_id, name="Nope"),
                     lambda: ssh_keys.delete_key(actor, oid, key_id)):
            with pytest.raises(PermissionDenied):
                call()
        assert table_state(org["org_id"]) == before


def test_matrix_sets_match_the_documented_table():
    assert CAN_MANAGE <= CAN_VIEW
    assert "viewer" not in CAN_VIEW and "member" in CAN_VIEW - CAN_MANAGE


def test_options_need_vps_create_only_and_hold_no_key_text(org):
    """A custom role with vps_create but not ssh_keys_view can pick keys in the wizard, nothing more."""
    oid = str(org["org_id"])
    orgs.create_role(org["owner"], oid, name="Launcher", description="", permissions=["vps_view", "vps_create"])
    uid, _ = make_user("launcher@keys.test", "Launcher")
    add_member(org["org_id"], uid, "Launcher")
    launcher = make_actor(uid)
    opts = ssh_keys.options(launcher, oid)
    assert opts == [{"id": org["key"]["id"], "name": "Olive laptop", "fingerprint": org["key"]["fingerprint"],
                     "key_type": "ssh-ed25519", "type_label": "Ed25519"}]
    with pytest.raises(PermissionDenied):
        ssh_keys.list_keys(launcher, oid)


def test_platform_admin_acts_for_support_and_is_recorded(org):
    admin_id, admin = make_user("staff@keys.test", "Staff", admin=True)
    oid = str(org["org_id"])
    assert [k["id"] for k in ssh_keys.list_keys(admin, oid)] == [org["key"]["id"]]
    ssh_keys.rename_key(admin, oid, org["key"]["id"], name="Renamed by support")
    assert actions(org["org_id"])[-1] == ("ssh_key.renamed", org["key"]["id"], str(admin_id))


# ---------------------------------------------------------------- tenancy


def test_non_members_get_not_found_for_everything(org):
    _, stranger = make_user("stranger@elsewhere.test", "Stranger")
    oid, key_id = str(org["org_id"]), org["key"]["id"]
    before = table_state(org["org_id"])
    for call in (lambda: ssh_keys.list_keys(stranger, oid),
                 lambda: ssh_keys.options(stranger, oid),
                 lambda: ssh_keys.add_key(stranger, oid, name="Mine", public_key=new_key()),
                 lambda: ssh_keys.rename_key(stranger, oid, key_id, name="Mine"),
                 lambda: ssh_keys.delete_key(stranger, oid, key_id)):
        with pytest.raises(NotFound) as info:
            call()
        assert "permission" not in info.value.message.lower()
    assert table_state(org["org_id"]) == before


def test_another_organizations_key_id_is_not_found_in_my_organization(org):
    bob_id, bob = make_user("bob@bravo.test", "Bob Bravo")
    b = str(personal_org(bob_id))
    ssh_keys.add_key(bob, b, name="Bob's own", public_key=new_key())
    before = table_state(org["org_id"])
    for call in (lambda: ssh_keys.rename_key(bob, b, org["key"]["id"], name="Stolen"),
                 lambda: ssh_keys.delete_key(bob, b, org["key"]["id"])):
        with pytest.raises(NotFound) as info:
            call()
        assert info.value.message == ssh_keys.KEY_NOT_FOUND
    assert table_state(org["org_id"]) == before
    assert [k["name"] for k in ssh_keys.list_keys(bob, b)] == ["Bob's own"]
    # Even the owner of A cannot reach A's key through B's id, nor B's key through A's.
    with pytest.raises(NotFound):
        ssh_keys.delete_key(org["owner"], b, org["key"]["id"])


def test_deleted_organization_is_not_found(org):
    with session_scope() as s:
        s.get(Organization, org["org_id"]).deleted_at = utcnow()
    with pytest.raises(NotFound):
        ssh_keys.list_keys(org["owner"], str(org["org_id"]))
    with pytest.raises(NotFound):
        ssh_keys.add_key(org["owner"], str(org["org_id"]), name="Late", public_key=new_key())


@pytest.mark.parametrize("bad_id", ["", "nope", "'; DROP TABLE ssh_keys;--", "\x00", None, 42, str(uuid.uuid4())])
def test_garbage_key_ids_are_not_found(org, bad_id):
    before = table_state(org["org_id"])
    for call in (lambda: ssh_keys.rename_key(org["owner"], str(org["org_id"]), bad_id, name="X"),
                 lambda: ssh_keys.delete_key(org["owner"], str(org["org_id"]), bad_id)):
        with pytest.raises(NotFound):
            call()
    assert table_state(org["org_id"]) == before


# ---------------------------------------------------------------- keys_for_create


def test_keys_for_create_returns_the_chosen_keys_in_order(org):
    oid = org["org_id"]
    second = ssh_keys.add_key(org["owner"], str(oid), name="Second", public_key=new_key())
    with session_scope() as s:
        got = ssh_keys.keys_for_create(s, oid, [second["id"], org["key"]["id"], second["id"].upper()])
        assert [str(k.id) for k in got] == [second["id"], org["key"]["id"]]
        assert got[0].public_key == second["public_key"]
        assert ssh_keys.keys_for_create(s, oid, []) == [] == ssh_keys.keys_for_create(s, oid, ())


def test_keys_for_create_refuses_anything_else(org):
    bob_id, bob = make_user("bob@bravo.test", "Bob Bravo")
    bobs = ssh_keys.add_key(bob, str(personal_org(bob_id)), name="Bob's", public_key=new_key())
    mine = org["key"]["id"]
    bad = [
        [bobs["id"]], [mine, bobs["id"]], [str(uuid.uuid4())], ["not-an-id"], [""], [None], [42], [mine, 7],
        mine, {"id": mine}, 5, "x" * 10_000, [mine] + [str(uuid.uuid4()) for _ in range(20)],
    ]
    with session_scope() as s:
        for value in bad:
            with pytest.raises(ValidationError) as info:
                ssh_keys.keys_for_create(s, org["org_id"], value)
            assert info.value.field == "ssh_key_ids"
            assert info.value.message in (ssh_keys.CHOOSE_FROM_ORG, "Choose at most 20 SSH keys.")
