"""Accounts: registration, sign-in with optional TOTP, server-side sessions, password reset, profile.

The browser holds a random session token; the database keeps only `hash_token(token)`.
Sign-in failures (password or 2FA code) count toward the lockout in `throttle`, and every
attempt counts toward the per-IP rate limits; those counters are committed even when the
attempt is refused, so refusals are raised only after the transaction has ended.
"""

from __future__ import annotations

import base64
import functools
import hmac
import io
import logging
import secrets
import string
import uuid
import zoneinfo
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
import qrcode
import qrcode.image.svg
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from skypanel.backend import security
from skypanel.backend.config import get_settings
from skypanel.backend.db import session_scope
from skypanel.backend.integrations import email as mail
from skypanel.backend.models import PasswordResetToken, PendingLogin, RecoveryCode, User, UserSession
from skypanel.backend.models.base import utcnow
from skypanel.backend.services import activity, orgs, platform_settings, throttle
from skypanel.backend.services.context import Actor
from skypanel.backend.services.errors import AuthRequired, NotFound, RateLimited, ServiceError, ValidationError
from skypanel.backend.services.text import has_disallowed_chars, is_storable

log = logging.getLogger(__name__)

INVALID_LOGIN = "Invalid email or password."
INVALID_CODE = "That code is not valid. Check your authenticator app and try again."
RESET_LINK_INVALID = "This reset link is invalid or has expired. Request a new one."
PENDING_EXPIRED = "This sign-in has expired. Please sign in again."

PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 128
NAME_MAX_LENGTH = 100
EMAIL_MAX_LENGTH = 254
THEMES = ("light", "dark", "system")
RECOVERY_CODE_COUNT = 10
PENDING_MAX_ATTEMPTS = 5
TOKEN_MAX_LENGTH = 200  # anything longer than our tokens is garbage: refuse before hashing
TOUCH_EVERY = timedelta(minutes=1)  # resolve_session writes last_seen at most this often

_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: easy to copy by hand
_COMMON_PASSWORDS_FILE = Path(__file__).with_name("passwords_common.txt")
_EDGE_CHARS = string.digits + string.punctuation + " "


# ----------------------------------------------------------------------------------------------
# Input rules
# ----------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    lines = _COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def validate_password_strength(password: Any) -> None:
    """At least 10 characters, at most 128, not a commonly used password (or one dressed up
    with digits and symbols at the ends, like "Summer2026!")."""
    if not isinstance(password, str) or not password:
        raise ValidationError("Enter a password.", field="password")
    if len(password) < PASSWORD_MIN_LENGTH:
        raise ValidationError(f"Use at least {PASSWORD_MIN_LENGTH} characters for your password.", field="password")
    if len(password) > PASSWORD_MAX_LENGTH:
        raise ValidationError(f"Use at most {PASSWORD_MAX_LENGTH} characters for your password.", field="password")
    if not is_storable(password):  # NUL or a lone surrogate: bcrypt and PostgreSQL cannot take it
        raise ValidationError("The password contains a character that is not allowed.", field="password")
    lowered = password.lower()
    core = lowered.strip(_EDGE_CHARS)
    common = _common_passwords()
    if lowered in common or (core and core in common) or len(set(lowered)) < 4:
        raise ValidationError(
            "This password is too common or too easy to guess. Choose a less predictable one.", field="password"
        )


def _password_ok(password: Any, password_hash: str | None) -> bool:
    """Always runs a full-cost bcrypt comparison (also for unknown accounts and junk input)."""
    candidate = password if isinstance(password, str) and is_storable(password) else ""
    return security.verify_password(candidate[:PASSWORD_MAX_LENGTH * 4], password_hash)


def _clean_name(name: Any) -> str:
    value = name.strip() if isinstance(name, str) else ""
    if not value:
        raise ValidationError("Enter your name.", field="name")
    if len(value) > NAME_MAX_LENGTH:
        raise ValidationError(f"Use at most {NAME_MAX_LENGTH} characters for your name.", field="name")
    if has_disallowed_chars(value):
        raise ValidationError("Your name contains characters that are not allowed.", field="name")
    return value


def _clean_email(email: Any, *, field: str = "email") -> str:
    """Validated and lower-cased; raises a clear ValidationError otherwise."""
    value = email.strip() if isinstance(email, str) else ""
    if not value:
        raise ValidationError("Enter your email address.", field=field)
    if len(value) > EMAIL_MAX_LENGTH:
        raise ValidationError(f"Use at most {EMAIL_MAX_LENGTH} characters for the email address.", field=field)
    try:
        normalized = validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        raise ValidationError("Enter a valid email address, like name@example.com.", field=field) from None
    return normalized.lower()


def _lookup_email(email: Any) -> str:
    """Light normalization for sign-in lookups: never reveals anything through its errors.
    Text PostgreSQL cannot hold (NUL, lone surrogates) matches no account: looked up as ""."""
    if not isinstance(email, str) or not is_storable(email):
        return ""
    return email.strip().lower()[:EMAIL_MAX_LENGTH + 1]


@functools.lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) | {"UTC"}


def _clean_timezone(tz: Any) -> str:
    value = tz.strip() if isinstance(tz, str) else ""
    if value not in _timezones():
        raise ValidationError("Choose a time zone from the list.", field="timezone")
    return value


def _clean_client(ip: Any, user_agent: Any) -> tuple[str, str]:
    """Request metadata as storable text: control characters and lone surrogates dropped, length capped."""
    def clean(value: Any, limit: int) -> str:
        return "".join(ch for ch in str(value or "") if not has_disallowed_chars(ch))[:limit]
    return clean(ip, 64), clean(user_agent, 400)


def _token_shaped(token: Any) -> bool:
    """Could this be one of our tokens (URL-safe ASCII, bounded)? Anything else is refused before hashing."""
    return isinstance(token, str) and bool(token) and len(token) <= TOKEN_MAX_LENGTH and token.isascii()


# ----------------------------------------------------------------------------------------------
# Users and sessions (internal helpers join the caller's transaction)
# ----------------------------------------------------------------------------------------------

def _user_for(session: Session, actor: Actor | None, *, lock: bool = False) -> User:
    if actor is None or actor.user_id is None:
        raise AuthRequired()
    stmt = select(User).where(User.id == actor.user_id)
    if lock:
        stmt = stmt.with_for_update()
    user = session.exec(stmt).first()
    if user is None or not user.is_active:
        raise AuthRequired()
    return user


def _create_session(
    session: Session, user: User, *, ip: str, user_agent: str, impersonator_id: uuid.UUID | None = None,
) -> tuple[str, UserSession]:
    """A new signed-in browser for `user`; returns (token for the browser, row)."""
    token = security.new_token()
    now = utcnow()
    ip, user_agent = _clean_client(ip, user_agent)
    row = UserSession(
        user_id=user.id, token_hash=security.hash_token(token), created_at=now, last_seen_at=now,
        expires_at=now + timedelta(days=get_settings().session_idle_days), ip=ip, user_agent=user_agent,
        impersonator_id=impersonator_id,
    )
    session.add(row)
    session.flush()
    return token, row


def _revoke_sessions(session: Session, user_id: uuid.UUID, *, except_id: uuid.UUID | None = None) -> int:
    """Revoke every live session of a user (but `except_id`); returns how many."""
    stmt = (
        update(UserSession)
        .where(col(UserSession.user_id) == user_id, col(UserSession.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )
    if except_id is not None:
        stmt = stmt.where(col(UserSession.id) != except_id)
    return int(session.execute(stmt).rowcount or 0)


def _actor_for(user: User, *, ip: str, user_agent: str, session_id: uuid.UUID | None = None) -> Actor:
    return Actor(user_id=user.id, is_platform_admin=user.is_platform_admin, ip=ip, user_agent=user_agent,
                 session_id=session_id)


def _send(session: Session, *, to: str, template: str, context: dict[str, Any]) -> None:
    """Queue a notification; an address the mailer refuses must not break the action behind it."""
    try:
        mail.queue(session, to=to, template=template, context=context)
    except ValueError as exc:
        log.warning("not emailing %s (%s): %s", to, template, exc)


def _sessions_phrase(count: int) -> str:
    return f"{count} session" + ("" if count == 1 else "s")


def _is_new_device(session: Session, user_id: uuid.UUID, ip: str, user_agent: str) -> bool:
    seen = session.exec(
        select(UserSession.id).where(
            UserSession.user_id == user_id, UserSession.ip == ip, UserSession.user_agent == user_agent
        ).limit(1)
    ).first()
    return seen is None


def _finish_sign_in(session: Session, user: User, *, ip: str, user_agent: str, method: str) -> str:
    """Session, activity, new-device email and a cleared account counter for a completed sign-in."""
    new_device = _is_new_device(session, user.id, ip, user_agent)
    token, row = _create_session(session, user, ip=ip, user_agent=user_agent)
    throttle.clear(session, throttle.account_key(user.id))
    actor = _actor_for(user, ip=ip, user_agent=user_agent, session_id=row.id)
    activity.record(session, actor, "auth.login", organization_id=user.active_organization_id,
                    entity_type="session", entity_id=row.id, summary=f"{user.email} signed in",
                    details={"method": method, "user_agent": user_agent})
    if new_device:
        _send(session, to=user.email, template="new_sign_in",
              context={"name": user.name, "ip": ip, "user_agent": user_agent, "when": row.created_at})
    return token


# ----------------------------------------------------------------------------------------------
# TOTP and recovery codes
# ----------------------------------------------------------------------------------------------

def _totp_aad(user_id: uuid.UUID) -> bytes:
    """Bind each encrypted secret to its user: a ciphertext copied to another row will not decrypt."""
    return f"totp:{user_id}".encode()


def _match_totp(secret: str, code: str, last_step: int | None, now: datetime) -> int | None:
    """The time step `code` belongs to (previous, current or next), if never used before."""
    if not (len(code) == 6 and code.isascii() and code.isdigit()):  # "١٢٣٤٥٦".isdigit() is True too
        return None
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // totp.interval
    for step in (current - 1, current, current + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.at(step * totp.interval), code):
            return step
    return None


def _normalize_recovery_code(code: str) -> str | None:
    compact = "".join(ch for ch in code.lower() if ch.isalnum())
    if len(compact) != 12:
        return None
    return f"{compact[:4]}-{compact[4:8]}-{compact[8:]}"


def _new_recovery_codes(session: Session, user: User) -> list[str]:
    """Replace the user's recovery codes with 10 fresh ones (stored hashed; shown once)."""
    session.execute(RecoveryCode.__table__.delete().where(RecoveryCode.__table__.c.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(12))
        code = f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"
        codes.append(code)
        session.add(RecoveryCode(user_id=user.id, code_hash=security.hash_token(code)))
    session.flush()
    return codes


def _verify_second_factor(session: Session, user: User, code: Any) -> str | None:
    """Accept a fresh TOTP code or an unused recovery code and consume it; returns the method used.

    The caller holds the user row locked, so two requests cannot both use the same code.
    """
    if not user.totp_enabled or not user.totp_secret_enc or not isinstance(code, str):
        return None
    code = code.strip().replace(" ", "")[:40]
    now = utcnow()
    if len(code) == 6 and code.isascii() and code.isdigit():
        secret = security.decrypt(user.totp_secret_enc, aad=_totp_aad(user.id))
        step = _match_totp(secret, code, user.totp_last_step, now)
        if step is None:
            return None
        user.totp_last_step = step
        return "totp"
    normalized = _normalize_recovery_code(code)
    if normalized is None:
        return None
    row = session.exec(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == security.hash_token(normalized),
            col(RecoveryCode.used_at).is_(None),
        ).with_for_update()
    ).first()
    if row is None:
        return None
    row.used_at = now
    return "recovery_code"


def _fail_reauth(session: Session, user: User, actor: Actor, error: ServiceError) -> ServiceError:
    """A wrong password or code from a signed-in user counts toward the lockout like a sign-in."""
    throttle.record_failure(session, [throttle.account_key(user.id), throttle.ip_key(actor.ip)])
    return error


NO_CODE: Any = object()  # "this change needs no second factor" (None from a browser is a missing code)


def reauthenticate(session: Session, user: User, actor: Actor, *, password: Any,
                    code: Any = NO_CODE) -> ServiceError | None:
    """Check the password (and a second-factor code, when one is passed) before a sensitive change.

    Returns the error to raise after commit (so the failure stays counted), or None.
    """
    throttle.ensure_not_locked(session, [throttle.account_key(user.id)])
    if not _password_ok(password, user.password_hash):
        return _fail_reauth(session, user, actor,
                            ValidationError("Your current password is not correct.", field="password"))
    if code is not NO_CODE and _verify_second_factor(session, user, code) is None:
        return _fail_reauth(session, user, actor, ValidationError(INVALID_CODE, field="code"))
    return None


# ----------------------------------------------------------------------------------------------
# Registration and sign-in
# ----------------------------------------------------------------------------------------------

def _rate_limit(action: str, ip: str) -> None:
    """Count the request in its own transaction: refused and invalid attempts count too."""
    with session_scope() as s:
        throttle.hit(s, action, ip)


def register(*, name: str, email: str, password: str, accept_terms: bool, ip: str, user_agent: str) -> dict:
    """Create an account with its personal organization and sign it in."""
    if not platform_settings.registration_enabled():
        raise ValidationError("Registration is currently closed.")
    ip, user_agent = _clean_client(ip, user_agent)
    _rate_limit("register", ip)
    name = _clean_name(name)
    email = _clean_email(email)
    validate_password_strength(password)
    if accept_terms is not True:
        raise ValidationError("Please accept the terms of service to create an account.", field="accept_terms")
    password_hash = security.hash_password(password)
    taken = ValidationError("An account with this email already exists.", field="email")
    try:
        with session_scope() as s:
            if s.exec(select(User.id).where(User.email == email)).first() is not None:
                raise taken
            user = User(email=email, name=name, password_hash=password_hash)
            s.add(user)
            s.flush()
            token, row = _create_session(s, user, ip=ip, user_agent=user_agent)
            actor = _actor_for(user, ip=ip, user_agent=user_agent, session_id=row.id)
            suffix = "'s organization"
            org_name = name[: NAME_MAX_LENGTH - len(suffix)].rstrip() + suffix
            org = orgs._create_organization(s, user, org_name, personal=True, actor=actor)
            user.active_organization_id = org.id
            activity.record(s, actor, "auth.register", organization_id=org.id, entity_type="user",
                            entity_id=user.id, summary=f"{email} created an account")
            _send(s, to=email, template="welcome",
                  context={"name": name, "login_url": get_settings().public_url.rstrip("/") + "/login"})
            return {"session_token": token, "user_id": str(user.id)}
    except IntegrityError as exc:
        if "email" in str(exc.orig):
            raise taken from None  # the same email registered concurrently
        raise


def login(*, email: str, password: str, ip: str, user_agent: str) -> dict:
    """Check email and password; returns {"session_token"} or, with 2FA on, {"pending_token"}."""
    ip, user_agent = _clean_client(ip, user_agent)
    if not (isinstance(email, str) and email.strip()) or not (isinstance(password, str) and password):
        raise ValidationError("Enter your email and password.")
    _rate_limit("login", ip)
    lookup = _lookup_email(email)
    error: ServiceError | None = None
    result: dict = {}
    with session_scope() as s:
        keys = [throttle.ip_key(ip)]
        user = s.exec(select(User).where(User.email == lookup)).first()
        if user is not None:
            keys.append(throttle.account_key(user.id))
        throttle.ensure_not_locked(s, keys)
        ok = _password_ok(password, user.password_hash if user else None)
        if not ok or user is None:
            locked_for = throttle.record_failure(s, keys)
            activity.record(s, Actor(user_id=None, ip=ip, user_agent=user_agent), "auth.login_failed",
                            user_id=user.id if user else None, entity_type="user",
                            entity_id=user.id if user else "", summary=f"Failed sign-in for {lookup[:200]}")
            error = _lock_error(locked_for) if locked_for else ValidationError(INVALID_LOGIN)
        elif not user.is_active:
            error = ValidationError("This account has been disabled. Contact support if you think this is a mistake.")
        elif user.totp_enabled:
            token = security.new_token()
            now = utcnow()
            s.add(PendingLogin(user_id=user.id, token_hash=security.hash_token(token), created_at=now,
                               expires_at=now + timedelta(minutes=get_settings().pending_login_minutes), ip=ip))
            result = {"pending_token": token}
        else:
            result = {"session_token": _finish_sign_in(s, user, ip=ip, user_agent=user_agent, method="password")}
    if error is not None:
        raise error
    return result


def _lock_error(locked_for: int) -> ServiceError:
    """The error for the attempt that just earned a lock: say when to try again right away."""
    return RateLimited(throttle.lock_message(locked_for), retry_after_seconds=locked_for)


def complete_two_factor(*, pending_token: str, code: str, ip: str, user_agent: str) -> dict:
    """Second sign-in step: a TOTP code (never one used before) or an unused recovery code."""
    ip, user_agent = _clean_client(ip, user_agent)
    if not _token_shaped(pending_token):
        raise AuthRequired(PENDING_EXPIRED)
    if not isinstance(code, str) or not code.strip():
        raise ValidationError("Enter the code from your authenticator app or a recovery code.", field="code")
    error: ServiceError | None = None
    result: dict = {}
    with session_scope() as s:
        now = utcnow()
        pending = s.exec(
            select(PendingLogin).where(PendingLogin.token_hash == security.hash_token(pending_token)).with_for_update()
        ).first()
        if (pending is None or pending.used_at is not None or pending.expires_at <= now
                or pending.attempts >= PENDING_MAX_ATTEMPTS):
            raise AuthRequired(PENDING_EXPIRED)
        user = s.exec(select(User).where(User.id == pending.user_id).with_for_update()).one()
        if not user.is_active:
            raise AuthRequired(PENDING_EXPIRED)
        keys = [throttle.ip_key(ip), throttle.account_key(user.id)]
        throttle.ensure_not_locked(s, keys)
        method = _verify_second_factor(s, user, code)
        if method is None:
            pending.attempts += 1
            if pending.attempts >= PENDING_MAX_ATTEMPTS:
                pending.used_at = now
            locked_for = throttle.record_failure(s, keys)
            activity.record(s, Actor(user_id=None, ip=ip, user_agent=user_agent), "auth.login_failed",
                            user_id=user.id, entity_type="user", entity_id=user.id,
                            summary=f"Wrong two-factor code for {user.email}")
            if locked_for:
                error = _lock_error(locked_for)
            elif pending.attempts >= PENDING_MAX_ATTEMPTS:
                error = AuthRequired("Too many wrong codes. Please sign in again.")
            else:
                error = ValidationError(INVALID_CODE, field="code")
        else:
            pending.used_at = now
            result = {"session_token": _finish_sign_in(s, user, ip=ip, user_agent=user_agent, method=method)}
    if error is not None:
        raise error
    return result


def resolve_session(token: str, *, ip: str = "", user_agent: str = "") -> Actor | None:
    """The Actor behind a session token, or None if missing, expired, revoked or the user is disabled.

    Activity slides the idle expiry forward (written at most once a minute).
    """
    if not _token_shaped(token):
        return None
    ip, user_agent = _clean_client(ip, user_agent)
    with session_scope() as s:
        now = utcnow()
        found = s.exec(
            select(UserSession, User)
            .join(User, col(User.id) == UserSession.user_id)
            .where(UserSession.token_hash == security.hash_token(token))
        ).first()
        if found is None:
            return None
        row, user = found
        if row.revoked_at is not None or row.expires_at <= now or not user.is_active:
            return None
        if now - row.last_seen_at >= TOUCH_EVERY:
            values: dict[str, Any] = {
                "last_seen_at": now, "expires_at": now + timedelta(days=get_settings().session_idle_days),
            }
            if ip:
                values["ip"] = ip
            if user_agent:
                values["user_agent"] = user_agent
            s.execute(update(UserSession).where(col(UserSession.id) == row.id).values(**values))
        return Actor(user_id=user.id, is_platform_admin=user.is_platform_admin, ip=ip or row.ip,
                     user_agent=user_agent or row.user_agent, session_id=row.id,
                     impersonator_id=row.impersonator_id)


def logout(token: str) -> None:
    """Revoke the session behind `token` (a no-op for unknown or already revoked tokens)."""
    if not _token_shaped(token):
        return
    with session_scope() as s:
        row = s.exec(
            select(UserSession).where(UserSession.token_hash == security.hash_token(token)).with_for_update()
        ).first()
        if row is None or row.revoked_at is not None:
            return
        row.revoked_at = utcnow()
        user = s.get(User, row.user_id)
        actor = Actor(user_id=row.user_id, ip=row.ip, user_agent=row.user_agent, session_id=row.id,
                      impersonator_id=row.impersonator_id)
        activity.record(s, actor, "auth.logout", organization_id=user.active_organization_id if user else None,
                        entity_type="session", entity_id=row.id, summary="Signed out")


# ----------------------------------------------------------------------------------------------
# The signed-in user: profile and sessions
# ----------------------------------------------------------------------------------------------

def get_me(actor: Actor) -> dict:
    with session_scope() as s:
        user = _user_for(s, actor)
        left = s.exec(
            select(func.count()).select_from(RecoveryCode).where(
                RecoveryCode.user_id == user.id, col(RecoveryCode.used_at).is_(None))
        ).one()
        return {
            "id": str(user.id), "name": user.name, "email": user.email,
            "is_platform_admin": bool(user.is_platform_admin), "timezone": user.timezone, "theme": user.theme,
            "totp_enabled": bool(user.totp_enabled), "recovery_codes_left": int(left) if user.totp_enabled else 0,
        }


def list_sessions(actor: Actor) -> list[dict]:
    """The user's live sessions, most recently used first."""
    with session_scope() as s:
        user = _user_for(s, actor)
        rows = s.exec(
            select(UserSession).where(
                UserSession.user_id == user.id, col(UserSession.revoked_at).is_(None),
                UserSession.expires_at > utcnow(),
            ).order_by(col(UserSession.last_seen_at).desc())
        ).all()
        return [
            {"id": str(r.id), "ip": r.ip, "user_agent": r.user_agent, "created_at": r.created_at.isoformat(),
             "last_seen_at": r.last_seen_at.isoformat(), "current": r.id == actor.session_id}
            for r in rows
        ]


def revoke_session(actor: Actor, session_id: str) -> None:
    """Sign one of the user's own sessions out (another user's id is simply not found)."""
    try:
        sid = uuid.UUID(str(session_id))
    except ValueError:
        raise NotFound("That session was not found.") from None
    with session_scope() as s:
        user = _user_for(s, actor)
        row = s.exec(
            select(UserSession).where(UserSession.id == sid, UserSession.user_id == user.id,
                                      col(UserSession.revoked_at).is_(None)).with_for_update()
        ).first()
        if row is None:
            raise NotFound("That session was not found.")
        row.revoked_at = utcnow()
        activity.record(s, actor, "auth.session_revoked", organization_id=user.active_organization_id,
                        entity_type="session", entity_id=row.id,
                        summary=f"Signed out a session ({row.ip or 'unknown IP'})")


def revoke_other_sessions(actor: Actor) -> int:
    """Sign out every session but the current one; returns how many were signed out."""
    with session_scope() as s:
        user = _user_for(s, actor)
        count = _revoke_sessions(s, user.id, except_id=actor.session_id)
        if count:
            activity.record(s, actor, "auth.session_revoked", organization_id=user.active_organization_id,
                            entity_type="user", entity_id=user.id,
                            summary=f"Signed out {_sessions_phrase(count)} on other devices")
        return count


def update_profile(actor: Actor, *, name: str, timezone: str, theme: str) -> None:
    name = _clean_name(name)
    tz = _clean_timezone(timezone)
    if theme not in THEMES:
        raise ValidationError("Choose light, dark or system.", field="theme")
    with session_scope() as s:
        user = _user_for(s, actor, lock=True)
        changed = [k for k, old, new in (("name", user.name, name), ("timezone", user.timezone, tz),
                                         ("theme", user.theme, theme)) if old != new]
        if not changed:
            return
        user.name, user.timezone, user.theme, user.updated_at = name, tz, theme, utcnow()
        activity.record(s, actor, "auth.profile_updated", organization_id=user.active_organization_id,
                        entity_type="user", entity_id=user.id, summary=f"Profile updated ({', '.join(changed)})")


def change_email(actor: Actor, *, new_email: str, password: str) -> None:
    """Change the sign-in email after re-confirming the password."""
    email = _clean_email(new_email)
    error: ServiceError | None = None
    try:
        with session_scope() as s:
            user = _user_for(s, actor, lock=True)
            error = reauthenticate(s, user, actor, password=password)
            if error is None:
                if email == user.email:
                    raise ValidationError("That is already your email address.", field="new_email")
                if s.exec(select(User.id).where(User.email == email)).first() is not None:
                    raise ValidationError("An account with this email already exists.", field="new_email")
                old = user.email
                user.email, user.updated_at = email, utcnow()
                activity.record(s, actor, "auth.email_changed", organization_id=user.active_organization_id,
                                entity_type="user", entity_id=user.id, summary=f"Email changed from {old} to {email}")
    except IntegrityError:
        raise ValidationError("An account with this email already exists.", field="new_email") from None
    if error is not None:
        raise error


def change_password(actor: Actor, *, current_password: str, new_password: str) -> None:
    """Set a new password and sign out every other session."""
    validate_password_strength(new_password)
    if current_password == new_password:
        raise ValidationError("Choose a new password different from the current one.", field="new_password")
    new_hash = security.hash_password(new_password)
    error: ServiceError | None = None
    with session_scope() as s:
        user = _user_for(s, actor, lock=True)
        error = reauthenticate(s, user, actor, password=current_password)
        if error is None:
            user.password_hash, user.updated_at = new_hash, utcnow()
            revoked = _revoke_sessions(s, user.id, except_id=actor.session_id)
            s.execute(update(PasswordResetToken)
                      .where(col(PasswordResetToken.user_id) == user.id, col(PasswordResetToken.used_at).is_(None))
                      .values(used_at=utcnow()))
            activity.record(s, actor, "auth.password_changed", organization_id=user.active_organization_id,
                            entity_type="user", entity_id=user.id,
                            summary=f"Password changed; {_sessions_phrase(revoked)} signed out")
    if error is not None:
        raise error


# ----------------------------------------------------------------------------------------------
# Password reset
# ----------------------------------------------------------------------------------------------

def request_password_reset(*, email: str, ip: str) -> None:
    """Email a single-use reset link; for unknown or disabled accounts do nothing, visibly the same."""
    ip, _ = _clean_client(ip, "")
    address = _clean_email(email)
    _rate_limit("password_reset", ip)
    settings = get_settings()
    with session_scope() as s:
        user = s.exec(select(User).where(User.email == address)).first()
        if user is None or not user.is_active:
            return
        token = security.new_token()
        now = utcnow()
        s.add(PasswordResetToken(user_id=user.id, token_hash=security.hash_token(token), created_at=now,
                                 expires_at=now + timedelta(minutes=settings.password_reset_minutes)))
        actor = Actor(user_id=user.id, is_platform_admin=user.is_platform_admin, ip=ip)
        activity.record(s, actor, "auth.password_reset_requested", organization_id=user.active_organization_id,
                        entity_type="user", entity_id=user.id, summary=f"Password reset requested for {address}")
        _send(s, to=user.email, template="password_reset", context={
            "name": user.name, "ip": ip, "expires_minutes": settings.password_reset_minutes,
            "reset_url": f"{settings.public_url.rstrip('/')}/reset-password?token={token}",
        })


def reset_password(*, token: str, new_password: str, ip: str) -> None:
    """Set a new password from an emailed link (single use, 1 hour) and sign out every session."""
    ip, _ = _clean_client(ip, "")
    if not _token_shaped(token):
        raise ValidationError(RESET_LINK_INVALID, field="token")
    validate_password_strength(new_password)
    new_hash = security.hash_password(new_password)
    with session_scope() as s:
        now = utcnow()
        row = s.exec(
            select(PasswordResetToken).where(PasswordResetToken.token_hash == security.hash_token(token))
            .with_for_update()
        ).first()
        if row is None or row.used_at is not None or row.expires_at <= now:
            raise ValidationError(RESET_LINK_INVALID, field="token")
        user = s.exec(select(User).where(User.id == row.user_id).with_for_update()).one()
        if not user.is_active:
            raise ValidationError(RESET_LINK_INVALID, field="token")
        user.password_hash, user.updated_at = new_hash, now
        s.execute(update(PasswordResetToken)
                  .where(col(PasswordResetToken.user_id) == user.id, col(PasswordResetToken.used_at).is_(None))
                  .values(used_at=now))
        revoked = _revoke_sessions(s, user.id)
        throttle.clear(s, throttle.account_key(user.id))  # the owner proved control of the mailbox
        actor = Actor(user_id=user.id, is_platform_admin=user.is_platform_admin, ip=ip)
        activity.record(s, actor, "auth.password_reset", organization_id=user.active_organization_id,
                        entity_type="user", entity_id=user.id,
                        summary=f"Password reset by email link; {_sessions_phrase(revoked)} signed out")


# ----------------------------------------------------------------------------------------------
# Two-factor authentication
# ----------------------------------------------------------------------------------------------

def _qr_data_uri(data: str) -> str:
    """An SVG QR code rendered locally (no external service), as a data: URI for an <img>."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def begin_totp_setup(actor: Actor) -> dict:
    """Start (or restart) TOTP setup: a new secret, kept encrypted until a correct code confirms it."""
    secret = pyotp.random_base32()
    with session_scope() as s:
        user = _user_for(s, actor, lock=True)
        if user.totp_enabled:
            raise ValidationError("Two-factor authentication is already on.")
        user.totp_pending_secret_enc = security.encrypt(secret, aad=_totp_aad(user.id))
        issuer = str(platform_settings._get(s, "platform_name") or get_settings().platform_name)
        uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer)
    return {"secret": secret, "otpauth_uri": uri, "qr_data_uri": _qr_data_uri(uri)}


def enable_totp(actor: Actor, *, code: str) -> list[str]:
    """Turn 2FA on once a code from the new secret checks out; returns 10 recovery codes (shown once)."""
    code = code.strip().replace(" ", "") if isinstance(code, str) else ""
    if not code:
        raise ValidationError("Enter the 6-digit code from your authenticator app.", field="code")
    with session_scope() as s:
        user = _user_for(s, actor, lock=True)
        if user.totp_enabled:
            raise ValidationError("Two-factor authentication is already on.")
        if not user.totp_pending_secret_enc:
            raise ValidationError("Start the setup again: scan a new QR code first.")
        secret = security.decrypt(user.totp_pending_secret_enc, aad=_totp_aad(user.id))
        step = _match_totp(secret, code, None, utcnow())
        if step is None:
            raise ValidationError(INVALID_CODE, field="code")
        user.totp_secret_enc, user.totp_pending_secret_enc = user.totp_pending_secret_enc, None
        user.totp_enabled, user.totp_last_step, user.updated_at = True, step, utcnow()
        codes = _new_recovery_codes(s, user)
        activity.record(s, actor, "auth.totp_enabled", organization_id=user.active_organization_id,
                        entity_type="user", entity_id=user.id, summary="Two-factor authentication turned on")
        _send(s, to=user.email, template="two_factor_changed",
              context={"name": user.name, "enabled": True, "ip": actor.ip, "when": utcnow()})
        return codes


def disable_totp(actor: Actor, *, password: str, code: str) -> None:
    """Turn 2FA off: needs the password and a current code (or a recovery code)."""
    error: ServiceError | None = None
    with session_scope() as s:
        user = _user_for(s, actor, lock=True)
        if not user.totp_enabled:
            raise ValidationError("Two-factor authentication is not on.")
        error = reauthenticate(s, user, actor, password=password, code=code)
        if error is None:
            user.totp_enabled, user.totp_secret_enc, user.totp_pending_secret_enc = False, None, None
            user.totp_last_step, user.updated_at = None, utcnow()
            s.execute(RecoveryCode.__table__.delete().where(RecoveryCode.__table__.c.user_id == user.id))
            activity.record(s, actor, "auth.totp_disabled", organization_id=user.active_organization_id,
                            entity_type="user", entity_id=user.id, summary="Two-factor authentication turned off")
            _send(s, to=user.email, template="two_factor_changed",
                  context={"name": user.name, "enabled": False, "ip": actor.ip, "when": utcnow()})
    if error is not None:
        raise error


def regenerate_recovery_codes(actor: Actor, *, password: str, code: str) -> list[str]:
    """Replace all recovery codes (the old ones stop working); needs the password and a code."""
    error: ServiceError | None = None
    codes: list[str] = []
    with session_scope() as s:
        user = _user_for(s, actor, lock=True)
        if not user.totp_enabled:
            raise ValidationError("Turn on two-factor authentication first.")
        error = reauthenticate(s, user, actor, password=password, code=code)
        if error is None:
            codes = _new_recovery_codes(s, user)
            activity.record(s, actor, "auth.recovery_codes_regenerated", organization_id=user.active_organization_id,
                            entity_type="user", entity_id=user.id, summary="New recovery codes generated")
    if error is not None:
        raise error
    return codes
