"""Organizations, members, invitations and roles.

Every public function takes the acting user first, opens its own transaction and checks
membership and permission through `rbac.require` before reading or changing anything, so
a user of another organization always gets NotFound. Ids from the browser go through
`rbac.parse_uuid`; a deleted organization behaves as if it never existed.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, or_, select

from skypanel.backend import security
from skypanel.backend.config import get_settings
from skypanel.backend.db import advisory_xact_lock, session_scope
from skypanel.backend.models import Invitation, Membership, Organization, Role, Server, User, Wallet
from skypanel.backend.models.base import utcnow
from skypanel.backend.services import activity, rbac
from skypanel.backend.services.context import Actor
from skypanel.backend.services.errors import AuthRequired, Conflict, NotFound, PermissionDenied, ValidationError
from skypanel.backend.services.permissions import PERMISSIONS, PREDEFINED_ROLES, ROLE_DESCRIPTIONS, role_label
from skypanel.backend.services.text import has_disallowed_chars, slugify

NAME_MAX = 100
ROLE_NAME_MAX = 50
ROLE_DESCRIPTION_MAX = 200
EMAIL_MAX = 254
INVITATIONS_LISTED = 200
OFFSET_MAX = 1_000_000_000  # beyond any real page; keeps a forged offset inside PostgreSQL's bigint

MEMBER_NOT_FOUND = "Member not found."
ROLE_NOT_FOUND = "Role not found."
INVITATION_NOT_FOUND = "Invitation not found."
BAD_INVITATION_LINK = "This invitation link is not valid."
WRONG_INVITEE = "This invitation was sent to a different email address."

_LINE_BREAKS = "\n\r\t"
_SYSTEM_ORDER = {name: i for i, name in enumerate(PREDEFINED_ROLES)}


# --------------------------------------------------------------------------------------------
# input cleaning
# --------------------------------------------------------------------------------------------

def _has_control(value: str, *, allow_line_breaks: bool = False) -> bool:
    """Control characters (including NUL, which PostgreSQL refuses in text) and lone surrogates."""
    return has_disallowed_chars(value, allow=_LINE_BREAKS if allow_line_breaks else "")


def _clean_text(value: Any, *, field: str, label: str, max_len: int, required: bool = True,
                multiline: bool = False) -> str:
    """Stripped text within bounds; control characters (and NUL, which PostgreSQL refuses) rejected."""
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise ValidationError(f"{label} must be text.", field=field)
    value = value.strip()
    if required and not value:
        raise ValidationError(f"{label} is required.", field=field)
    if len(value) > max_len:
        raise ValidationError(f"{label} must be at most {max_len} characters.", field=field)
    if _has_control(value, allow_line_breaks=multiline):
        raise ValidationError(f"{label} contains characters that are not allowed.", field=field)
    return value


def _clean_org_name(value: Any) -> str:
    return _clean_text(value, field="name", label="Organization name", max_len=NAME_MAX)


def _clean_email(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("Enter an email address.", field="email")
    value = value.strip()
    if len(value) > EMAIL_MAX:
        raise ValidationError(f"Email addresses are at most {EMAIL_MAX} characters.", field="email")
    try:
        normalized = validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        raise ValidationError("Enter a valid email address.", field="email") from None
    return normalized.lower()


def _clean_permissions(value: Any) -> frozenset[str]:
    if isinstance(value, str) or not isinstance(value, (list, tuple, set, frozenset)):
        raise ValidationError("Choose the role's permissions from the list.", field="permissions")
    chosen = set()
    for p in value:
        if not isinstance(p, str) or p not in rbac.ALL_PERMISSIONS:
            shown = p if isinstance(p, str) and len(p) <= 40 else "?"
            raise ValidationError(f"Unknown permission: {shown}.", field="permissions")
        chosen.add(p)
    return frozenset(chosen)


def _ordered(perms: Iterable[str]) -> list[str]:
    """Permissions in the canonical order of permissions.PERMISSIONS."""
    have = set(perms)
    return [p for p in PERMISSIONS if p in have]


def _role_label(role: Role) -> str:
    """How a role is named in emails (custom names as written)."""
    return role_label(role.name) if role.is_system else role.name


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


# --------------------------------------------------------------------------------------------
# lookups inside a transaction
# --------------------------------------------------------------------------------------------

def _require_user(session: Session, actor: Actor | None) -> User:
    """The signed-in person behind the actor (the system actor has none)."""
    if actor is None or actor.user_id is None:
        raise AuthRequired()
    user = session.get(User, actor.user_id)
    if user is None or not user.is_active:
        raise AuthRequired()
    return user


def _org(session: Session, actor: Actor, org_id: Any, permission: str | None = None, *,
         lock: bool = False) -> tuple[Organization, frozenset[str]]:
    """Check access through rbac, then load the organization (locked for membership changes)."""
    perms = rbac.require(session, actor, org_id, permission)
    org = rbac.live_organization(session, org_id, for_update=lock)
    if org is None:  # deleted between the check and the load
        raise NotFound(rbac.ORG_NOT_FOUND)
    return org, perms


def _role_in(session: Session, org_id: uuid.UUID, role_id: Any) -> Role:
    rid = rbac.parse_uuid(role_id, ROLE_NOT_FOUND)
    role = session.exec(select(Role).where(Role.id == rid, Role.organization_id == org_id)).first()
    if role is None:
        raise NotFound(ROLE_NOT_FOUND)
    return role


def _membership_in(session: Session, org_id: uuid.UUID, membership_id: Any) -> tuple[Membership, Role]:
    mid = rbac.parse_uuid(membership_id, MEMBER_NOT_FOUND)
    found = session.exec(
        select(Membership, Role).join(Role, Role.id == Membership.role_id)
        .where(Membership.id == mid, Membership.organization_id == org_id)
    ).first()
    if found is None:
        raise NotFound(MEMBER_NOT_FOUND)
    return found


def _invitation_in(session: Session, org_id: uuid.UUID, invitation_id: Any) -> Invitation:
    iid = rbac.parse_uuid(invitation_id, INVITATION_NOT_FOUND)
    inv = session.exec(
        select(Invitation).where(Invitation.id == iid, Invitation.organization_id == org_id).with_for_update()
    ).first()
    if inv is None:
        raise NotFound(INVITATION_NOT_FOUND)
    return inv


def _is_owner_role(role: Role) -> bool:
    return role.is_system and role.name == rbac.OWNER_ROLE


def _owner_count(session: Session, org_id: uuid.UUID) -> int:
    return session.exec(
        select(func.count()).select_from(Membership).join(Role, Role.id == Membership.role_id)
        .where(Membership.organization_id == org_id, Role.is_system.is_(True), Role.name == rbac.OWNER_ROLE)
    ).one()


def _actor_name(session: Session, actor: Actor | None) -> str:
    if actor is None or actor.user_id is None:
        return get_settings().platform_name
    user = session.get(User, actor.user_id)
    return user.name if user else ""


def _check_may_assign(session: Session, actor: Actor, org: Organization, perms: frozenset[str], role: Role) -> None:
    """Only owners hand out `owner`; nobody hands out permissions they do not hold themselves."""
    if _is_owner_role(role) and not rbac.is_owner(session, actor, org.id):
        raise PermissionDenied("Only an owner can make someone an owner.")
    if rbac.may_grant(perms, role.permissions):
        raise PermissionDenied("You can only assign roles whose permissions you hold yourself.")


def _check_may_manage_member(session: Session, actor: Actor, org: Organization, perms: frozenset[str],
                             role: Role, verb: str) -> None:
    """Owners are changed only by owners; a manager cannot touch someone more powerful than them."""
    if _is_owner_role(role):
        if not rbac.is_owner(session, actor, org.id):
            raise PermissionDenied(f"Only an owner can {verb} an owner.")
    elif rbac.may_grant(perms, role.permissions):
        raise PermissionDenied(f"You cannot {verb} someone who has permissions you do not hold.")


def _fix_active_organizations(session: Session, user_ids: Iterable[uuid.UUID]) -> None:
    """Point each user whose active organization is gone (deleted or left) at another of theirs, or None."""
    for uid in set(user_ids):
        user = session.get(User, uid)
        if user is None:
            continue
        if user.active_organization_id and rbac.permissions_for(session, uid, user.active_organization_id) is not None:
            continue
        user.active_organization_id = session.exec(
            select(Membership.organization_id)
            .join(Organization, Organization.id == Membership.organization_id)
            .where(Membership.user_id == uid, Organization.deleted_at.is_(None))
            .order_by(col(Organization.is_personal).desc(), col(Membership.created_at), col(Organization.name))
        ).first()
        user.updated_at = utcnow()


# --------------------------------------------------------------------------------------------
# organizations
# --------------------------------------------------------------------------------------------

def _lock_key(text: str) -> int:
    """A stable signed 64-bit key for pg_advisory_xact_lock."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big", signed=True)


def _unique_slug(session: Session, name: str) -> str:
    base = slugify(name)
    taken = set(session.exec(
        select(Organization.slug).where(or_(Organization.slug == base, col(Organization.slug).like(base + "-%")))
    ).all())
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def _create_organization(session: Session, user: User, name: str, *, personal: bool, actor: Actor) -> Organization:
    """A new organization in the caller's transaction: unique slug, the eight system roles, the user as
    owner, a wallet at 0.00 USD and an "org.created" activity row. Becomes the user's active
    organization when they have none.
    """
    name = _clean_org_name(name)
    # Same-named organizations created at once would pick the same slug: take turns per base slug
    # (held to commit). The retry covers the rare clash across bases ("acme-2" vs "Acme 2").
    advisory_xact_lock(session, _lock_key("org-slug:" + slugify(name)))
    org: Organization | None = None
    for _ in range(5):
        candidate = Organization(name=name, slug=_unique_slug(session, name), is_personal=personal,
                                 created_by=user.id)
        try:
            with session.begin_nested():
                session.add(candidate)
                session.flush()
        except IntegrityError:
            continue
        org = candidate
        break
    if org is None:
        raise Conflict("Could not create the organization right now; please try again.")

    roles = {}
    for role_name, perms in PREDEFINED_ROLES.items():
        roles[role_name] = Role(organization_id=org.id, name=role_name, description=ROLE_DESCRIPTIONS[role_name],
                                is_system=True, permissions=_ordered(perms))
        session.add(roles[role_name])
    session.flush()
    session.add(Membership(organization_id=org.id, user_id=user.id, role_id=roles[rbac.OWNER_ROLE].id))
    session.add(Wallet(organization_id=org.id, currency="USD", balance=Decimal("0")))
    if user.active_organization_id is None:
        user.active_organization_id = org.id
    activity.record(session, actor, "org.created", organization_id=org.id, entity_type="organization",
                    entity_id=org.id, user_id=actor.user_id if actor.user_id else user.id,
                    summary=f'Created organization "{name}"' + (" (personal)" if personal else ""))
    session.flush()
    return org


def _effective_permissions(session: Session, actor: Actor, role: Role | None) -> frozenset[str]:
    if rbac.is_platform_admin(session, actor):
        return rbac.ALL_PERMISSIONS
    return frozenset(p for p in (role.permissions if role else []) if p in rbac.ALL_PERMISSIONS)


def list_my_organizations(actor: Actor) -> list[dict]:
    """The organizations the user belongs to; exactly one is marked active when there are any."""
    with session_scope() as s:
        user = _require_user(s, actor)
        rows = s.exec(
            select(Organization, Role)
            .join(Membership, Membership.organization_id == Organization.id)
            .join(Role, Role.id == Membership.role_id)
            .where(Membership.user_id == user.id, Organization.deleted_at.is_(None))
            .order_by(col(Organization.is_personal).desc(), col(Membership.created_at), col(Organization.name))
        ).all()
        ids = [org.id for org, _ in rows]
        active = user.active_organization_id if user.active_organization_id in ids else (ids[0] if ids else None)
        return [
            {"id": str(org.id), "name": org.name, "slug": org.slug, "role": role.name,
             "permissions": _ordered(_effective_permissions(s, actor, role)), "is_active": org.id == active}
            for org, role in rows
        ]


def switch_active_organization(actor: Actor, org_id: str) -> None:
    """Make one of the user's own organizations the active one (membership required, admins included)."""
    with session_scope() as s:
        user = _require_user(s, actor)
        found = rbac.membership_role(s, user.id, org_id)
        if found is None:
            raise NotFound(rbac.ORG_NOT_FOUND)
        membership, _ = found
        if user.active_organization_id == membership.organization_id:
            return
        user.active_organization_id = membership.organization_id
        user.updated_at = utcnow()
        org = s.get(Organization, membership.organization_id)
        activity.record(s, actor, "org.switched", organization_id=org.id, entity_type="organization",
                        entity_id=org.id, summary=f'Switched to organization "{org.name}"')


def create_organization(actor: Actor, *, name: str) -> dict:
    """A new (non-personal) organization owned by the actor; returns it as `get_organization` does."""
    with session_scope() as s:
        user = _require_user(s, actor)
        org = _create_organization(s, user, name, personal=False, actor=actor)
        return _organization_dict(s, actor, org)


def _organization_dict(session: Session, actor: Actor, org: Organization) -> dict:
    found = rbac.membership_role(session, actor.user_id, org.id)
    role = found[1] if found else None
    wallet = session.exec(select(Wallet).where(Wallet.organization_id == org.id)).first()
    members = session.exec(select(func.count()).select_from(Membership)
                           .where(Membership.organization_id == org.id)).one()
    return {
        "id": str(org.id), "name": org.name, "slug": org.slug, "is_personal": org.is_personal,
        "my_role": role.name if role else "",
        "my_permissions": _ordered(_effective_permissions(session, actor, role)),
        "support_access": role is None,  # a platform admin looking in without being a member
        "member_count": int(members),
        "balance": str(wallet.balance if wallet else Decimal("0.0000")),
        "currency": wallet.currency if wallet else "USD",
        "created_at": _iso(org.created_at),
    }


def get_organization(actor: Actor, org_id: str) -> dict:
    with session_scope() as s:
        org, _ = _org(s, actor, org_id)
        return _organization_dict(s, actor, org)


def rename_organization(actor: Actor, org_id: str, *, name: str) -> None:
    """Needs settings_manage. The slug stays (links keep working)."""
    with session_scope() as s:
        org, _ = _org(s, actor, org_id, "settings_manage", lock=True)
        name = _clean_org_name(name)
        if name == org.name:
            return
        old, org.name, org.updated_at = org.name, name, utcnow()
        activity.record(s, actor, "org.renamed", organization_id=org.id, entity_type="organization",
                        entity_id=org.id, summary=f'Renamed organization "{old}" to "{name}"',
                        details={"from": old, "to": name})


def delete_organization(actor: Actor, org_id: str, *, confirm_name: str) -> None:
    """Owner only, and only with a wallet balance of exactly 0. Soft delete: ledger and activity stay.

    Refused while the organization has servers (delete them first: they cost money and run at a
    provider); creating a server locks the organization row too, so the two cannot cross. Pending
    invitations are cancelled and every member whose active organization this was is moved to
    another of theirs.
    """
    with session_scope() as s:
        org, _ = _org(s, actor, org_id, lock=True)
        if not rbac.is_owner(s, actor, org.id):
            raise PermissionDenied("Only an owner can delete the organization.")
        if not isinstance(confirm_name, str) or confirm_name.strip() != org.name:
            raise ValidationError("Type the organization's name exactly to confirm.", field="confirm_name")
        servers = s.exec(select(func.count()).select_from(Server).where(
            Server.organization_id == org.id, col(Server.deleted_at).is_(None))).one()
        if servers:
            raise Conflict(f"The organization still has {servers} server{'s' if servers != 1 else ''}; delete "
                           "them first.")
        wallet = s.exec(select(Wallet).where(Wallet.organization_id == org.id).with_for_update()).first()
        if wallet is not None and wallet.balance != 0:
            raise Conflict(f"The wallet balance is {wallet.balance:.2f} {wallet.currency}; an organization can "
                           f"be deleted only when its balance is exactly 0.00.")
        now = utcnow()
        org.deleted_at = org.updated_at = now
        for inv in s.exec(select(Invitation).where(
                Invitation.organization_id == org.id, Invitation.accepted_at.is_(None),
                Invitation.declined_at.is_(None), Invitation.cancelled_at.is_(None))).all():
            inv.cancelled_at = now
        s.flush()
        affected = s.exec(select(User.id).where(User.active_organization_id == org.id)).all()
        _fix_active_organizations(s, affected)
        activity.record(s, actor, "org.deleted", organization_id=org.id, entity_type="organization",
                        entity_id=org.id, summary=f'Deleted organization "{org.name}"')


# --------------------------------------------------------------------------------------------
# members
# --------------------------------------------------------------------------------------------

def list_members(actor: Actor, org_id: str) -> list[dict]:
    """Any member may see who else is in the organization."""
    with session_scope() as s:
        org, _ = _org(s, actor, org_id)
        rows = s.exec(
            select(Membership, User, Role)
            .join(User, User.id == Membership.user_id).join(Role, Role.id == Membership.role_id)
            .where(Membership.organization_id == org.id)
            .order_by(col(Membership.created_at), col(User.name))
        ).all()
        return [
            {"membership_id": str(m.id), "user_id": str(u.id), "name": u.name, "email": u.email,
             "role_id": str(r.id), "role": r.name, "joined_at": _iso(m.created_at), "is_me": u.id == actor.user_id}
            for m, u, r in rows
        ]


def change_member_role(actor: Actor, org_id: str, membership_id: str, role_id: str) -> None:
    """Needs members_manage. Only owners grant or take away `owner`; the last owner stays an owner."""
    with session_scope() as s:
        org, perms = _org(s, actor, org_id, "members_manage", lock=True)
        membership, current = _membership_in(s, org.id, membership_id)
        role = _role_in(s, org.id, role_id)
        if role.id == current.id:
            return
        _check_may_assign(s, actor, org, perms, role)
        _check_may_manage_member(s, actor, org, perms, current, "change the role of")
        if _is_owner_role(current) and _owner_count(s, org.id) <= 1:
            raise ValidationError("The last owner cannot be demoted. Make someone else an owner first.",
                                  field="role_id")
        membership.role_id = role.id
        member = s.get(User, membership.user_id)
        activity.record(s, actor, "org.member_role_changed", organization_id=org.id, entity_type="membership",
                        entity_id=membership.id,
                        summary=f"Changed {member.email}'s role from {current.name} to {role.name}",
                        details={"from_role": current.name, "to_role": role.name, "user_id": str(member.id)})


def remove_member(actor: Actor, org_id: str, membership_id: str) -> None:
    """Needs members_manage. Owners are removed only by owners; never the last owner."""
    with session_scope() as s:
        org, perms = _org(s, actor, org_id, "members_manage", lock=True)
        membership, role = _membership_in(s, org.id, membership_id)
        _check_may_manage_member(s, actor, org, perms, role, "remove")
        if _is_owner_role(role) and _owner_count(s, org.id) <= 1:
            raise ValidationError("The last owner cannot be removed. Make someone else an owner first.")
        member = s.get(User, membership.user_id)
        s.delete(membership)
        s.flush()
        _fix_active_organizations(s, [member.id])
        activity.record(s, actor, "org.member_removed", organization_id=org.id, entity_type="membership",
                        entity_id=membership.id, summary=f"Removed {member.email} ({role.name}) from the organization",
                        details={"user_id": str(member.id), "role": role.name})


def leave_organization(actor: Actor, org_id: str) -> None:
    """A member leaves; the last owner cannot (they must hand over or delete the organization)."""
    with session_scope() as s:
        user = _require_user(s, actor)
        org = rbac.live_organization(s, org_id, for_update=True)  # serialises the last-owner check
        found = rbac.membership_role(s, user.id, org.id) if org else None
        if found is None:
            raise NotFound(rbac.ORG_NOT_FOUND)
        membership, role = found
        if _is_owner_role(role) and _owner_count(s, org.id) <= 1:
            raise ValidationError("You are the last owner. Make someone else an owner, or delete the "
                                  "organization, before leaving.")
        s.delete(membership)
        s.flush()
        _fix_active_organizations(s, [user.id])
        activity.record(s, actor, "org.member_left", organization_id=org.id, entity_type="membership",
                        entity_id=membership.id, summary=f"{user.email} left the organization")


# --------------------------------------------------------------------------------------------
# invitations
# --------------------------------------------------------------------------------------------

def _status(inv: Invitation, now: datetime | None = None) -> str:
    if inv.accepted_at:
        return "accepted"
    if inv.declined_at:
        return "declined"
    if inv.cancelled_at:
        return "cancelled"
    if inv.expires_at <= (now or utcnow()):
        return "expired"
    return "pending"


_UNUSABLE = {
    "accepted": "This invitation has already been accepted.",
    "declined": "This invitation was declined.",
    "cancelled": "This invitation was cancelled.",
    "expired": "This invitation has expired. Ask for a new one.",
}


def _issue_token(inv: Invitation) -> str:
    """A fresh single-use token and expiry; the token is returned once, only its hash is stored."""
    token = security.new_token()
    now = utcnow()
    inv.token_hash = security.hash_token(token)
    inv.expires_at = now + timedelta(days=get_settings().invitation_days)
    inv.last_sent_at = now
    return token


def _send_invitation(session: Session, actor: Actor, org: Organization, role: Role, inv: Invitation,
                     token: str) -> None:
    """The same email whether or not the address has an account (inviting reveals nothing)."""
    from skypanel.backend.integrations import email as mail

    settings = get_settings()
    mail.queue(session, to=inv.email, template="invitation", context={
        "organization_name": org.name,
        "inviter_name": _actor_name(session, actor),
        "role": _role_label(role),
        "accept_url": settings.public_url.rstrip("/") + "/invitations/" + token,
        "expires_at": inv.expires_at,  # the template formats it
    })


def invite_member(actor: Actor, org_id: str, *, email: str, role_id: str) -> None:
    """Needs members_manage. A pending invitation for the same address is re-sent with a new token."""
    with session_scope() as s:
        org, perms = _org(s, actor, org_id, "members_manage", lock=True)
        role = _role_in(s, org.id, role_id)
        address = _clean_email(email)
        _check_may_assign(s, actor, org, perms, role)
        already = s.exec(
            select(Membership.id).join(User, User.id == Membership.user_id)
            .where(Membership.organization_id == org.id, User.email == address)
        ).first()
        if already is not None:
            raise ValidationError("That person is already a member.", field="email")
        now = utcnow()
        inv = s.exec(
            select(Invitation).where(
                Invitation.organization_id == org.id, Invitation.email == address,
                Invitation.accepted_at.is_(None), Invitation.declined_at.is_(None),
                Invitation.cancelled_at.is_(None), Invitation.expires_at > now,
            ).order_by(col(Invitation.created_at).desc()).with_for_update()
        ).first()
        resend = inv is not None
        if inv is None:
            inv = Invitation(organization_id=org.id, email=address, role_id=role.id, token_hash="",
                             invited_by=actor.user_id)
            s.add(inv)
        inv.role_id = role.id
        token = _issue_token(inv)
        s.flush()
        _send_invitation(s, actor, org, role, inv, token)
        activity.record(s, actor, "org.invitation_resent" if resend else "org.member_invited",
                        organization_id=org.id, entity_type="invitation", entity_id=inv.id,
                        summary=(f"Re-sent the invitation to {address} ({role.name})" if resend
                                 else f"Invited {address} as {role.name}"),
                        details={"email": address, "role": role.name})


def list_invitations(actor: Actor, org_id: str) -> list[dict]:
    """Needs members_manage: newest first, every status (pending, expired, accepted, declined, cancelled)."""
    with session_scope() as s:
        org, _ = _org(s, actor, org_id, "members_manage")
        rows = s.exec(
            select(Invitation, Role, User)
            .join(Role, Role.id == Invitation.role_id)
            .join(User, User.id == Invitation.invited_by, isouter=True)
            .where(Invitation.organization_id == org.id)
            .order_by(col(Invitation.created_at).desc()).limit(INVITATIONS_LISTED)
        ).all()
        now = utcnow()
        return [
            {"id": str(inv.id), "email": inv.email, "role": role.name, "invited_by": inviter.name if inviter else "",
             "created_at": _iso(inv.created_at), "expires_at": _iso(inv.expires_at), "status": _status(inv, now)}
            for inv, role, inviter in rows
        ]


def resend_invitation(actor: Actor, org_id: str, invitation_id: str) -> None:
    """Needs members_manage. New token and expiry (the old link stops working); expired ones may be re-sent."""
    with session_scope() as s:
        org, perms = _org(s, actor, org_id, "members_manage")
        inv = _invitation_in(s, org.id, invitation_id)
        status = _status(inv)
        if status not in ("pending", "expired"):
            raise ValidationError(_UNUSABLE[status])
        role = s.get(Role, inv.role_id)
        _check_may_assign(s, actor, org, perms, role)
        token = _issue_token(inv)
        s.flush()
        _send_invitation(s, actor, org, role, inv, token)
        activity.record(s, actor, "org.invitation_resent", organization_id=org.id, entity_type="invitation",
                        entity_id=inv.id, summary=f"Re-sent the invitation to {inv.email} ({role.name})",
                        details={"email": inv.email, "role": role.name})


def cancel_invitation(actor: Actor, org_id: str, invitation_id: str) -> None:
    """Needs members_manage. A cancelled invitation's link no longer works."""
    with session_scope() as s:
        org, _ = _org(s, actor, org_id, "members_manage")
        inv = _invitation_in(s, org.id, invitation_id)
        status = _status(inv)
        if status not in ("pending", "expired"):
            raise ValidationError(_UNUSABLE[status])
        inv.cancelled_at = utcnow()
        activity.record(s, actor, "org.invitation_cancelled", organization_id=org.id, entity_type="invitation",
                        entity_id=inv.id, summary=f"Cancelled the invitation to {inv.email}",
                        details={"email": inv.email})


def _by_token(session: Session, token: Any, *, lock: bool = False) -> tuple[Invitation, Organization, Role]:
    if not isinstance(token, str) or not token or len(token) > 200 or not token.isascii():
        raise NotFound(BAD_INVITATION_LINK)  # our tokens are URL-safe ASCII; anything else cannot match
    stmt = (
        select(Invitation, Organization, Role)
        .join(Organization, Organization.id == Invitation.organization_id)
        .join(Role, Role.id == Invitation.role_id)
        .where(Invitation.token_hash == security.hash_token(token), Organization.deleted_at.is_(None))
    )
    if lock:
        stmt = stmt.with_for_update(of=Invitation)
    found = session.exec(stmt).first()
    if found is None:
        raise NotFound(BAD_INVITATION_LINK)
    return found


def _by_id_for_me(session: Session, user: User, invitation_id: Any) -> tuple[Invitation, Organization, Role]:
    """An invitation addressed to the signed-in user's email; anyone else's is NotFound."""
    iid = rbac.parse_uuid(invitation_id, INVITATION_NOT_FOUND)
    found = session.exec(
        select(Invitation, Organization, Role)
        .join(Organization, Organization.id == Invitation.organization_id)
        .join(Role, Role.id == Invitation.role_id)
        .where(Invitation.id == iid, Invitation.email == user.email, Organization.deleted_at.is_(None))
        .with_for_update(of=Invitation)
    ).first()
    if found is None:
        raise NotFound(INVITATION_NOT_FOUND)
    return found


def get_invitation(token: str) -> dict:
    """What the /invitations/{token} page shows; any status, so the page can say why it cannot be used."""
    with session_scope() as s:
        inv, org, role = _by_token(s, token)
        inviter = s.get(User, inv.invited_by) if inv.invited_by else None
        return {"organization_name": org.name, "role": role.name, "email": inv.email,
                "inviter_name": inviter.name if inviter else "", "status": _status(inv),
                "expires_at": _iso(inv.expires_at)}


def _accept(session: Session, actor: Actor, user: User, inv: Invitation, org: Organization, role: Role) -> dict:
    if inv.email != user.email:
        raise NotFound(WRONG_INVITEE)
    status = _status(inv)
    if status != "pending":
        raise ValidationError(_UNUSABLE[status])
    inv.accepted_at = utcnow()
    if rbac.membership_role(session, user.id, org.id) is None:  # someone already in keeps their role
        session.add(Membership(organization_id=org.id, user_id=user.id, role_id=role.id))
    user.active_organization_id = org.id
    user.updated_at = utcnow()
    session.flush()
    activity.record(session, actor, "org.invitation_accepted", organization_id=org.id, entity_type="invitation",
                    entity_id=inv.id, summary=f"{user.email} accepted the invitation and joined as {role.name}",
                    details={"role": role.name})
    return {"organization_id": str(org.id)}


def _decline(session: Session, actor: Actor | None, inv: Invitation, org: Organization) -> None:
    status = _status(inv)
    if status != "pending":
        raise ValidationError(_UNUSABLE[status])
    inv.declined_at = utcnow()
    activity.record(session, actor, "org.invitation_declined", organization_id=org.id, entity_type="invitation",
                    entity_id=inv.id, summary=f"{inv.email} declined the invitation")


def accept_invitation(actor: Actor, token: str) -> dict:
    """Join the organization; the signed-in user's email must be the one invited. Single use."""
    with session_scope() as s:
        user = _require_user(s, actor)
        inv, org, role = _by_token(s, token, lock=True)
        return _accept(s, actor, user, inv, org, role)


def decline_invitation(actor: Actor | None, token: str) -> None:
    """Holding the link is enough to decline; a signed-in user must be the one invited."""
    with session_scope() as s:
        inv, org, _ = _by_token(s, token, lock=True)
        if actor is not None and actor.user_id is not None:
            user = _require_user(s, actor)
            if inv.email != user.email:
                raise NotFound(WRONG_INVITEE)
        _decline(s, actor, inv, org)


def my_pending_invitations(actor: Actor) -> list[dict]:
    """Invitations to the signed-in user's email that can still be accepted."""
    with session_scope() as s:
        user = _require_user(s, actor)
        rows = s.exec(
            select(Invitation, Organization, Role, User)
            .join(Organization, Organization.id == Invitation.organization_id)
            .join(Role, Role.id == Invitation.role_id)
            .join(User, User.id == Invitation.invited_by, isouter=True)
            .where(Invitation.email == user.email, Organization.deleted_at.is_(None),
                   Invitation.accepted_at.is_(None), Invitation.declined_at.is_(None),
                   Invitation.cancelled_at.is_(None), Invitation.expires_at > utcnow())
            .order_by(col(Invitation.created_at).desc())
        ).all()
        return [
            {"id": str(inv.id), "organization_name": org.name, "role": role.name,
             "inviter_name": inviter.name if inviter else "", "expires_at": _iso(inv.expires_at)}
            for inv, org, role, inviter in rows
        ]


def accept_invitation_by_id(actor: Actor, invitation_id: str) -> dict:
    with session_scope() as s:
        user = _require_user(s, actor)
        inv, org, role = _by_id_for_me(s, user, invitation_id)
        return _accept(s, actor, user, inv, org, role)


def decline_invitation_by_id(actor: Actor, invitation_id: str) -> None:
    with session_scope() as s:
        user = _require_user(s, actor)
        inv, org, _ = _by_id_for_me(s, user, invitation_id)
        _decline(s, actor, inv, org)


# --------------------------------------------------------------------------------------------
# roles
# --------------------------------------------------------------------------------------------

def _role_dict(role: Role, member_count: int) -> dict:
    return {"id": str(role.id), "name": role.name, "description": role.description, "is_system": role.is_system,
            "permissions": _ordered(role.permissions), "member_count": int(member_count)}


def _member_count(session: Session, role_id: uuid.UUID) -> int:
    return int(session.exec(select(func.count()).select_from(Membership).where(Membership.role_id == role_id)).one())


def list_roles(actor: Actor, org_id: str) -> list[dict]:
    """Any member may see the roles: the eight predefined ones in matrix order, then custom roles by name."""
    with session_scope() as s:
        org, _ = _org(s, actor, org_id)
        counts = dict(s.exec(
            select(Membership.role_id, func.count()).where(Membership.organization_id == org.id)
            .group_by(Membership.role_id)
        ).all())
        roles = s.exec(select(Role).where(Role.organization_id == org.id)).all()
        roles = sorted(roles, key=lambda r: (not r.is_system, _SYSTEM_ORDER.get(r.name, 0), r.name.lower()))
        return [_role_dict(r, counts.get(r.id, 0)) for r in roles]


def _clean_role_fields(session: Session, org_id: uuid.UUID, name: Any, description: Any, permissions: Any,
                       *, exclude: uuid.UUID | None = None) -> tuple[str, str, frozenset[str]]:
    name = _clean_text(name, field="name", label="Role name", max_len=ROLE_NAME_MAX)
    description = _clean_text(description, field="description", label="Description",
                              max_len=ROLE_DESCRIPTION_MAX, required=False, multiline=True)
    perms = _clean_permissions(permissions)
    folded = re.sub(r"[\s\-]+", "_", name.casefold())
    if folded in PREDEFINED_ROLES:
        raise ValidationError(f'"{name}" is the name of a predefined role; choose another name.', field="name")
    clash = select(Role.id).where(Role.organization_id == org_id, func.lower(Role.name) == name.lower())
    if exclude is not None:
        clash = clash.where(Role.id != exclude)
    if session.exec(clash).first() is not None:
        raise ValidationError("A role with that name already exists.", field="name")
    return name, description, perms


def _check_may_grant(held: frozenset[str], granted: Iterable[str]) -> None:
    missing = rbac.may_grant(held, granted)
    if missing:
        raise PermissionDenied("You can only grant permissions you hold yourself (not: "
                               + ", ".join(_ordered(missing)) + ").")


def create_role(actor: Actor, org_id: str, *, name: str, description: str, permissions: list[str]) -> dict:
    """Needs members_manage; the role may hold only permissions the creator holds (platform admins: any)."""
    with session_scope() as s:
        org, held = _org(s, actor, org_id, "members_manage", lock=True)
        name, description, perms = _clean_role_fields(s, org.id, name, description, permissions)
        _check_may_grant(held, perms)
        role = Role(organization_id=org.id, name=name, description=description, is_system=False,
                    permissions=_ordered(perms))
        s.add(role)
        s.flush()
        activity.record(s, actor, "org.role_created", organization_id=org.id, entity_type="role", entity_id=role.id,
                        summary=f'Created role "{name}"', details={"permissions": _ordered(perms)})
        return _role_dict(role, 0)


def update_role(actor: Actor, org_id: str, role_id: str, *, name: str, description: str,
                permissions: list[str]) -> None:
    """Needs members_manage. Predefined roles never change; nobody edits a role beyond their own permissions."""
    with session_scope() as s:
        org, held = _org(s, actor, org_id, "members_manage", lock=True)
        role = _role_in(s, org.id, role_id)
        if role.is_system:
            raise ValidationError("Predefined roles cannot be changed. Create a custom role instead.")
        name, description, perms = _clean_role_fields(s, org.id, name, description, permissions, exclude=role.id)
        if rbac.may_grant(held, role.permissions):
            raise PermissionDenied("You cannot edit a role that has permissions you do not hold.")
        _check_may_grant(held, perms)
        before = _ordered(role.permissions)
        role.name, role.description, role.permissions = name, description, _ordered(perms)
        activity.record(s, actor, "org.role_updated", organization_id=org.id, entity_type="role", entity_id=role.id,
                        summary=f'Updated role "{name}"',
                        details={"permissions_before": before, "permissions_after": _ordered(perms)})


def delete_role(actor: Actor, org_id: str, role_id: str) -> None:
    """Needs members_manage. Refused for predefined roles and while anyone holds the role."""
    with session_scope() as s:
        org, _ = _org(s, actor, org_id, "members_manage", lock=True)
        role = _role_in(s, org.id, role_id)
        if role.is_system:
            raise ValidationError("Predefined roles cannot be deleted.")
        n = _member_count(s, role.id)
        if n:
            raise ValidationError(f"Move its {n} member{'s' if n != 1 else ''} to another role first.")
        pending = int(s.exec(select(func.count()).select_from(Invitation).where(
            Invitation.role_id == role.id, Invitation.accepted_at.is_(None), Invitation.declined_at.is_(None),
            Invitation.cancelled_at.is_(None), Invitation.expires_at > utcnow())).one())
        if pending:
            raise ValidationError(f"Cancel its {pending} pending invitation{'s' if pending != 1 else ''} first.")
        s.delete(role)
        activity.record(s, actor, "org.role_deleted", organization_id=org.id, entity_type="role", entity_id=role.id,
                        summary=f'Deleted role "{role.name}"')


# --------------------------------------------------------------------------------------------
# activity
# --------------------------------------------------------------------------------------------

def list_activity(actor: Actor, org_id: str, *, action_prefix: str = "", search: str = "",
                  since: datetime | None = None, until: datetime | None = None, limit: int = 50,
                  offset: int = 0) -> tuple[list[dict], int]:
    """Any member may read the organization's activity, newest first, filtered."""
    for value, label in ((since, "Start date"), (until, "End date")):
        if value is not None and not isinstance(value, datetime):
            raise ValidationError(f"{label} is not a valid date.")
    action_prefix = action_prefix.strip()[:80] if isinstance(action_prefix, str) else ""
    search = search.strip()[:100] if isinstance(search, str) else ""
    if _has_control(search) or _has_control(action_prefix):
        raise ValidationError("The search contains characters that are not allowed.", field="search")
    limit = limit if isinstance(limit, int) and not isinstance(limit, bool) else 50
    offset = offset if isinstance(offset, int) and not isinstance(offset, bool) else 0
    with session_scope() as s:
        org, _ = _org(s, actor, org_id)
        return activity.query(s, organization_id=org.id, action_prefix=action_prefix, search=search,
                              since=since, until=until, limit=max(1, min(limit, 200)),
                              offset=max(0, min(offset, OFFSET_MAX)))
