"""An organization's SSH public keys: listed on /ssh-keys, offered when creating a server.

Permissions: `ssh_keys_view` to list, `ssh_keys_manage` to add, rename and delete. Non-members
(and ids of another organization's keys) get NotFound.

The server-create wizard lists keys through `options`, which needs `vps_create` instead of
`ssh_keys_view`: choosing which keys go onto a server one is allowed to create is part of creating
it (a custom role may hold vps_create without ssh_keys_view). It returns only what the picker shows
(id, name, type, fingerprint): no key text, no who-added-it. `keys_for_create` is the internal
check the server service runs inside its own transaction, after its own permission check.

Keys are OpenSSH public keys (one line, `type base64 [comment]`): Ed25519, RSA of 2048 bits or
more, ECDSA P-256/384/521 and the FIDO (`sk-`) variants of Ed25519 and ECDSA P-256, which this
version of `cryptography` loads. Each is parsed with `cryptography`, its declared type must match
the type inside the key data, and it is stored re-serialised in canonical form (type, standard
base64, whitespace-normalised comment). The fingerprint is what `ssh-keygen -lf` prints:
"SHA256:" + unpadded base64 of the SHA-256 of the key blob. One organization holds a key once.
Deleting a key removes it from the organization only: servers that already have it keep it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
import uuid
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from skypanel.backend.db import advisory_xact_lock, session_scope
from skypanel.backend.models import SshKey, User
from skypanel.backend.models.base import utcnow
from skypanel.backend.services import activity, rbac
from skypanel.backend.services.context import Actor
from skypanel.backend.services.errors import NotFound, ValidationError
from skypanel.backend.services.text import has_disallowed_chars

KEY_NOT_FOUND = "SSH key not found."
NAME_MAX = 64
COMMENT_MAX = 200
#: The longest pasted text looked at. An RSA key of 16384 bits (OpenSSH's limit) is ~2.8 KB.
KEY_TEXT_MAX = 8192
RSA_MIN_BITS, RSA_MAX_BITS = 2048, 16384
#: Keys one organization may hold, and keys one server may be created with.
KEYS_PER_ORG_MAX = 200
KEYS_PER_SERVER_MAX = 20
CHOOSE_FROM_ORG = "Choose SSH keys from this organization."

#: Accepted key types -> the label people see (RSA adds its size).
KEY_TYPES: dict[str, str] = {
    "ssh-ed25519": "Ed25519",
    "ssh-rsa": "RSA",
    "ecdsa-sha2-nistp256": "ECDSA P-256",
    "ecdsa-sha2-nistp384": "ECDSA P-384",
    "ecdsa-sha2-nistp521": "ECDSA P-521",
    "sk-ssh-ed25519@openssh.com": "Ed25519-SK",
    "sk-ecdsa-sha2-nistp256@openssh.com": "ECDSA-SK P-256",
}
SK_TYPES = frozenset(t for t in KEY_TYPES if t.startswith("sk-"))

PRIVATE_KEY_MESSAGE = ("This looks like a private key — paste the .pub file (e.g. ~/.ssh/id_ed25519.pub) "
                       "instead, and keep the private key to yourself.")
NOT_A_KEY_MESSAGE = ("This is not an OpenSSH public key. Paste the one line from your .pub file, "
                     "e.g. \"ssh-ed25519 AAAAC3Nza... you@laptop\".")
DAMAGED_MESSAGE = ("The key data is damaged or incomplete — copy the whole line from the .pub file again.")

# PEM / OpenSSH / PuTTY private key files, and the body of an OpenSSH one pasted without its header
# (base64 of "openssh-key-v1").
_PRIVATE_RE = re.compile(r"-{4,5} ?BEGIN [A-Z0-9 ]*PRIVATE KEY ?-{4,5}|PuTTY-User-Key-File-|^\s*b3BlbnNzaC1rZXktdjE",
                         re.IGNORECASE)
_BASE64_RE = re.compile(r"[A-Za-z0-9+/]+={0,2}", re.ASCII)
_TYPE_TOKEN_RE = re.compile(r"(?:ssh|ecdsa|sk)-[A-Za-z0-9@.\-]+", re.ASCII)
_LOCK_SALT = 0x55_4B_45_59_00_00_00_00  # "SKEY": per-organization advisory lock, see _lock_org


# ---- parsing (pure: no database) ----------------------------------------------------------

@dataclass(frozen=True)
class ParsedKey:
    key_type: str
    blob: bytes
    comment: str
    bits: int  # RSA modulus size; the curve size for ECDSA; 256 for Ed25519

    @property
    def data(self) -> str:
        return base64.b64encode(self.blob).decode("ascii")

    @property
    def canonical(self) -> str:
        """`type base64 [comment]` with single spaces: what is stored and sent to providers."""
        return " ".join(p for p in (self.key_type, self.data, self.comment) if p)

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(self.blob)


def fingerprint_of(blob: bytes) -> str:
    """`ssh-keygen -lf`'s SHA256 fingerprint of a key blob."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii").rstrip("=")


def type_label(key_type: str, bits: int = 0) -> str:
    label = KEY_TYPES.get(key_type, key_type)
    return f"{label} {bits}" if key_type == "ssh-rsa" and bits else label


def _refuse(message: str) -> ValidationError:
    return ValidationError(message, field="public_key")


def _blob_type(blob: bytes) -> str | None:
    """The key type named at the start of the key data (an SSH `string`), or None if unreadable."""
    if len(blob) < 4:
        return None
    (length,) = struct.unpack(">I", blob[:4])
    if not 0 < length <= 64 or len(blob) < 4 + length:
        return None
    try:
        return blob[4:4 + length].decode("ascii")
    except UnicodeDecodeError:
        return None


def _unsupported_type_message(key_type: str) -> str:
    if key_type == "ssh-dss":
        return "DSA keys are no longer accepted by OpenSSH. Create an Ed25519 key with ssh-keygen -t ed25519."
    if "-cert-" in key_type:
        return "SSH certificates are not supported. Paste the plain public key (the .pub file without -cert)."
    if key_type.startswith("sk-"):
        return "This kind of security-key (sk-) SSH key is not supported. Use an Ed25519-SK or ECDSA-SK P-256 key."
    return "This key type is not supported. Use an Ed25519, RSA (2048 bits or more) or ECDSA key."


def parse_public_key(text: Any) -> ParsedKey:
    """Check a pasted OpenSSH public key and return it parsed; ValidationError (field "public_key")
    with a message saying what is wrong and what to paste instead."""
    if not isinstance(text, str):
        raise _refuse("Paste a public key.")
    if _PRIVATE_RE.search(text[:65536]):
        raise _refuse(PRIVATE_KEY_MESSAGE)
    if len(text) > KEY_TEXT_MAX:
        raise _refuse(f"That is too long for an SSH public key (at most {KEY_TEXT_MAX:,} characters). "
                      "Paste the one line from your .pub file.")
    upper = text.upper()
    if has_disallowed_chars(text, allow="\t\n\r"):
        raise _refuse("The key contains characters that are not allowed (control characters or broken text).")
    if "BEGIN SSH2 PUBLIC KEY" in upper:
        raise _refuse("This key is in the SSH2 (RFC 4716) format. Convert it with ssh-keygen -i -f key.pub "
                      "and paste the one-line result.")
    if "BEGIN PUBLIC KEY" in upper or "BEGIN RSA PUBLIC KEY" in upper:
        raise _refuse("This is a PEM public key. Convert it with ssh-keygen -i -m PKCS8 -f key.pem "
                      "and paste the one-line result.")
    lines = [line for line in text.replace("\r", "\n").split("\n") if line.strip()]
    if not lines:
        raise _refuse("Paste a public key.")
    if len(lines) > 1:
        if sum(1 for line in lines if _TYPE_TOKEN_RE.match(line.strip())) > 1:
            raise _refuse("Add one key at a time: this text holds more than one key.")
        raise _refuse("The key must be on one line. Copy it again without line breaks.")
    parts = lines[0].split()
    key_type = parts[0]
    if not _TYPE_TOKEN_RE.fullmatch(key_type):
        if any(p in KEY_TYPES for p in parts[1:]):
            raise _refuse("Remove the options in front of the key: it should start with its type, "
                          "e.g. ssh-ed25519.")
        raise _refuse(NOT_A_KEY_MESSAGE)
    if key_type not in KEY_TYPES:
        raise _refuse(_unsupported_type_message(key_type))
    if len(parts) < 2:
        raise _refuse("The key data is missing after the key type. Copy the whole line from the .pub file.")
    data, comment = parts[1], " ".join(parts[2:])
    if not _BASE64_RE.fullmatch(data):
        raise _refuse(DAMAGED_MESSAGE)
    try:
        blob = base64.b64decode(data + "=" * (-len(data) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise _refuse(DAMAGED_MESSAGE) from None
    inner = _blob_type(blob)
    if inner is None:
        raise _refuse(DAMAGED_MESSAGE)
    if inner != key_type:
        if inner in KEY_TYPES:
            raise _refuse(f"The line says {key_type} but the key data is a {inner} key. "
                          "Copy the line again without editing it.")
        raise _refuse(DAMAGED_MESSAGE)
    if len(comment) > COMMENT_MAX:
        raise _refuse(f"The key's comment must be at most {COMMENT_MAX} characters.")
    try:
        key = serialization.load_ssh_public_key(f"{key_type} {base64.b64encode(blob).decode()}".encode("ascii"))
    except UnsupportedAlgorithm:
        raise _refuse(_unsupported_type_message(key_type)) from None
    except (ValueError, TypeError):
        raise _refuse(DAMAGED_MESSAGE) from None
    if key_type not in SK_TYPES:
        # cryptography writes plain keys in the one standard encoding; a blob that differs from it
        # would have a fingerprint OpenSSH never shows for this key.
        again = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).split()
        if again[0].decode() != key_type or base64.b64decode(again[1]) != blob:
            raise _refuse(DAMAGED_MESSAGE)
    bits = int(getattr(key, "key_size", 0) or getattr(getattr(key, "curve", None), "key_size", 0) or 256)
    if isinstance(key, rsa.RSAPublicKey):
        if bits < RSA_MIN_BITS:
            raise _refuse(f"RSA keys must have at least {RSA_MIN_BITS} bits; this one has {bits}. "
                          "Create a new key with ssh-keygen -t ed25519.")
        if bits > RSA_MAX_BITS:
            raise _refuse(f"RSA keys may have at most {RSA_MAX_BITS} bits; this one has {bits}.")
    return ParsedKey(key_type=key_type, blob=blob, comment=comment, bits=bits)


def clean_name(value: Any, *, default: str = "") -> str:
    """1 to 64 characters of plain text, whitespace collapsed; `default` (the key comment) when empty."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError("Enter a name for the key.", field="name")
    if len(value) > NAME_MAX * 4:
        raise ValidationError(f"The name must be at most {NAME_MAX} characters.", field="name")
    if has_disallowed_chars(value, allow="\t\n\r"):
        raise ValidationError("The name contains characters that are not allowed.", field="name")
    value = " ".join(value.split())
    if not value:
        value = " ".join(default.split())[:NAME_MAX].rstrip()
    if not value:
        raise ValidationError("Enter a name for the key (this key has no comment to use as its name).",
                              field="name")
    if len(value) > NAME_MAX:
        raise ValidationError(f"The name must be at most {NAME_MAX} characters.", field="name")
    return value


# ---- helpers ---------------------------------------------------------------------------

def _bits_of(public_key: str) -> int:
    """RSA size of a stored key (for its label); 0 when not RSA or unreadable."""
    if not public_key.startswith("ssh-rsa "):
        return 0
    try:
        key = serialization.load_ssh_public_key(public_key.encode("ascii"))
    except (ValueError, UnsupportedAlgorithm, UnicodeEncodeError):
        return 0
    return int(getattr(key, "key_size", 0) or 0)


def _dict(k: SshKey, added_by: str = "") -> dict[str, Any]:
    return {
        "id": str(k.id),
        "name": k.name,
        "key_type": k.key_type,
        "type_label": type_label(k.key_type, _bits_of(k.public_key)),
        "fingerprint": k.fingerprint,
        "public_key": k.public_key,
        "created_at": k.created_at.isoformat(),
        "updated_at": k.updated_at.isoformat(),
        "created_by": str(k.created_by) if k.created_by else "",
        "created_by_name": added_by,
    }


def _get(session: Session, org_id: uuid.UUID, key_id: Any, *, for_update: bool = False) -> SshKey:
    kid = rbac.parse_uuid(key_id, KEY_NOT_FOUND)
    stmt = select(SshKey).where(SshKey.id == kid, SshKey.organization_id == org_id)
    if for_update:
        stmt = stmt.with_for_update()
    key = session.exec(stmt).first()
    if key is None:
        raise NotFound(KEY_NOT_FOUND)
    return key


def _lock_org(session: Session, org_id: uuid.UUID) -> None:
    """Two adds to one organization take turns, so the duplicate check sees the other's key."""
    advisory_xact_lock(session, int.from_bytes(org_id.bytes[:8], "big", signed=True) ^ _LOCK_SALT)


def _added_by(session: Session, user_id: uuid.UUID | None) -> str:
    if user_id is None:
        return ""
    user = session.get(User, user_id)
    return (user.name or user.email) if user else ""


# ---- service functions -----------------------------------------------------------------

def list_keys(actor: Actor, org_id: Any) -> list[dict[str, Any]]:
    """The organization's keys by name, with who added them."""
    with session_scope() as s:
        rbac.require(s, actor, org_id, "ssh_keys_view")
        oid = rbac.parse_uuid(org_id, rbac.ORG_NOT_FOUND)
        rows = s.exec(
            select(SshKey, User.name, User.email)
            .join(User, User.id == SshKey.created_by, isouter=True)
            .where(SshKey.organization_id == oid)
            .order_by(func.lower(SshKey.name), col(SshKey.created_at), col(SshKey.id))
        ).all()
        return [_dict(k, (name or email or "")) for k, name, email in rows]


def options(actor: Actor, org_id: Any) -> list[dict[str, str]]:
    """The keys the server-create wizard offers (needs vps_create; see the module docstring)."""
    with session_scope() as s:
        rbac.require(s, actor, org_id, "vps_create")
        oid = rbac.parse_uuid(org_id, rbac.ORG_NOT_FOUND)
        rows = s.exec(select(SshKey).where(SshKey.organization_id == oid)
                      .order_by(func.lower(SshKey.name), col(SshKey.created_at), col(SshKey.id))).all()
        return [{"id": str(k.id), "name": k.name, "fingerprint": k.fingerprint, "key_type": k.key_type,
                 "type_label": type_label(k.key_type, _bits_of(k.public_key))} for k in rows]


def add_key(actor: Actor, org_id: Any, *, name: Any, public_key: Any) -> dict[str, Any]:
    """Add a public key to the organization; the name defaults to the key's comment."""
    with session_scope() as s:
        rbac.require(s, actor, org_id, "ssh_keys_manage")
        oid = rbac.parse_uuid(org_id, rbac.ORG_NOT_FOUND)
        parsed = parse_public_key(public_key)
        clean = clean_name(name, default=parsed.comment)
        _lock_org(s, oid)
        existing = s.exec(select(SshKey.name).where(SshKey.organization_id == oid,
                                                    SshKey.fingerprint == parsed.fingerprint)).first()
        if existing is not None:
            raise ValidationError(f"This key is already added as {existing}.", field="public_key")
        count = s.exec(select(func.count()).select_from(SshKey).where(SshKey.organization_id == oid)).one()
        if count >= KEYS_PER_ORG_MAX:
            raise ValidationError(f"An organization can hold at most {KEYS_PER_ORG_MAX} SSH keys. "
                                  "Delete one you no longer use first.", field="public_key")
        key = SshKey(id=uuid.uuid4(), organization_id=oid, name=clean, key_type=parsed.key_type,
                     public_key=parsed.canonical, fingerprint=parsed.fingerprint, created_by=actor.user_id)
        s.add(key)
        try:
            s.flush()
        except IntegrityError:  # not reached with the lock held; a clear message all the same
            raise ValidationError("This key is already added to this organization.", field="public_key") from None
        activity.record(s, actor, "ssh_key.added", organization_id=oid, entity_type="ssh_key", entity_id=key.id,
                        summary=f"Added SSH key {clean} ({parsed.fingerprint})",
                        details={"name": clean, "key_type": parsed.key_type, "fingerprint": parsed.fingerprint})
        return _dict(key, _added_by(s, actor.user_id))


def rename_key(actor: Actor, org_id: Any, key_id: Any, *, name: Any) -> dict[str, Any]:
    """Give a key another name (1 to 64 characters)."""
    with session_scope() as s:
        rbac.require(s, actor, org_id, "ssh_keys_manage")
        oid = rbac.parse_uuid(org_id, rbac.ORG_NOT_FOUND)
        key = _get(s, oid, key_id, for_update=True)
        clean = clean_name(name)
        if clean != key.name:
            old = key.name
            key.name = clean
            key.updated_at = utcnow()
            s.add(key)
            activity.record(s, actor, "ssh_key.renamed", organization_id=oid, entity_type="ssh_key",
                            entity_id=key.id, summary=f"Renamed SSH key {old} to {clean}",
                            details={"from": old, "to": clean, "fingerprint": key.fingerprint})
        return _dict(key, _added_by(s, key.created_by))


def delete_key(actor: Actor, org_id: Any, key_id: Any) -> dict[str, str]:
    """Remove a key from the organization (servers that already have it keep it)."""
    with session_scope() as s:
        rbac.require(s, actor, org_id, "ssh_keys_manage")
        oid = rbac.parse_uuid(org_id, rbac.ORG_NOT_FOUND)
        key = _get(s, oid, key_id, for_update=True)
        gone = {"id": str(key.id), "name": key.name, "fingerprint": key.fingerprint}
        s.delete(key)
        activity.record(s, actor, "ssh_key.deleted", organization_id=oid, entity_type="ssh_key", entity_id=key.id,
                        summary=f"Deleted SSH key {key.name} ({key.fingerprint})",
                        details={"name": key.name, "fingerprint": key.fingerprint})
        return gone


def keys_for_create(session: Session, org_id: uuid.UUID, key_ids: Any) -> list[SshKey]:
    """The chosen keys of the organization, in the order given, for a server being created.

    Internal: the caller (services/servers.py) checked vps_create in its transaction. Anything but
    a list of at most 20 ids of this organization's keys is a ValidationError (field "ssh_key_ids").
    """
    if key_ids is None:
        key_ids = []
    if not isinstance(key_ids, (list, tuple)) or not all(isinstance(k, str) for k in key_ids):
        raise ValidationError(CHOOSE_FROM_ORG, field="ssh_key_ids")
    if len(key_ids) > KEYS_PER_SERVER_MAX:
        raise ValidationError(f"Choose at most {KEYS_PER_SERVER_MAX} SSH keys.", field="ssh_key_ids")
    wanted: list[uuid.UUID] = []
    for raw in key_ids:
        try:
            kid = rbac.parse_uuid(raw)
        except NotFound:
            raise ValidationError(CHOOSE_FROM_ORG, field="ssh_key_ids") from None
        if kid not in wanted:
            wanted.append(kid)
    if not wanted:
        return []
    found = {k.id: k for k in session.exec(
        select(SshKey).where(SshKey.organization_id == org_id, col(SshKey.id).in_(wanted))).all()}
    if len(found) != len(wanted):
        raise ValidationError(CHOOSE_FROM_ORG, field="ssh_key_ids")
    return [found[k] for k in wanted]
