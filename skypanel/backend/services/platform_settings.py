"""Platform-wide settings an admin changes at run time (key -> JSON value, defaults in code).

Only keys declared in SETTINGS exist; each has a validator, so a stored value always has the
type its readers expect. Reads fall back to DEFAULTS when nothing is stored.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session

from skypanel.backend.config import PROJECT_ROOT
from skypanel.backend.db import session_scope
from skypanel.backend.models import PlatformSetting
from skypanel.backend.models.base import utcnow
from skypanel.backend.services import activity
from skypanel.backend.services.admin import require_platform_admin
from skypanel.backend.services.context import Actor
from skypanel.backend.services.errors import ValidationError
from skypanel.backend.services.text import has_disallowed_chars


DEFAULT_SUPPORT_EMAIL = "support@skypanel.local"


def _bool(value: Any, label: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(f"{label} must be on or off.", field="value")
    return value


def _name(value: Any, label: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{label} cannot be empty.", field="value")
    value = " ".join(value.split())
    if len(value) > 100:
        raise ValidationError(f"{label} must be at most 100 characters.", field="value")
    if any(c in value for c in "<>"):
        raise ValidationError(f"{label} cannot contain < or >.", field="value")
    if has_disallowed_chars(value):  # PostgreSQL's JSONB refuses \u0000 and lone surrogates
        raise ValidationError(f"{label} contains characters that are not allowed.", field="value")
    return value


def _email(value: Any, label: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{label} cannot be empty.", field="value")
    if value.strip().lower() == DEFAULT_SUPPORT_EMAIL:  # the shipped default (a .local address) stays settable
        return DEFAULT_SUPPORT_EMAIL
    if len(value.strip()) > 254:
        raise ValidationError(f"{label} must be at most 254 characters.", field="value")
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise ValidationError(f"{label} must be a valid email address.", field="value") from None


def _hours(value: Any, label: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 8760:
        raise ValidationError(f"{label} must be a whole number of hours from 0 to 8760.", field="value")
    return value


def _dollars(value: Any, label: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100_000:
        raise ValidationError(f"{label} must be a whole number of dollars from 1 to 100,000.", field="value")
    return value


def _days(value: Any, label: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 365:
        raise ValidationError(f"{label} must be a whole number of days from 0 to 365.", field="value")
    return value


LOGO_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,80}\.(?:png|jpe?g)", re.ASCII | re.IGNORECASE)


def _logo(value: Any, label: str) -> str:
    """A PNG or JPEG file name in assets/ (served at /<name>), or "" for none."""
    if not isinstance(value, str):
        raise ValidationError(f"{label} must be a file name.", field="value")
    value = value.strip().lstrip("/")
    if not value:
        return ""
    if not LOGO_RE.fullmatch(value) or ".." in value:
        raise ValidationError(f"{label} must be a .png or .jpg file name in assets/, e.g. logo.png.", field="value")
    if not (PROJECT_ROOT / "assets" / value).is_file():
        raise ValidationError(f"{label}: assets/{value} does not exist.", field="value")
    return value


#: White-label names customers see for the plan categories (models.servers.PLAN_CATEGORIES).
DEFAULT_CATEGORY_NAMES = {"standard": "Standard", "cpu": "Dedicated CPU", "memory": "High Memory",
                          "storage": "Storage", "gpu": "GPU"}
CATEGORY_NAME_MAX = 40


def _category_names(value: Any, label: str) -> dict[str, str]:
    """{category: display name} for every category; a category left out keeps its default name.
    Names are plain text (no < or >), 1 to 40 characters, and no two categories share one."""
    if not isinstance(value, dict):
        raise ValidationError(f"{label} must map each category to a name.", field="value")
    unknown = [k for k in value if k not in DEFAULT_CATEGORY_NAMES]
    if unknown:
        raise ValidationError("Unknown plan category. The categories are: "
                              + ", ".join(DEFAULT_CATEGORY_NAMES) + ".", field="value")
    out: dict[str, str] = {}
    for key, default in DEFAULT_CATEGORY_NAMES.items():
        name = value.get(key, default)
        if not isinstance(name, str) or not name.strip():
            raise ValidationError(f"Give the {default} category a name.", field=key)
        name = " ".join(name.split())
        if len(name) > CATEGORY_NAME_MAX:
            raise ValidationError(f"Category names must be at most {CATEGORY_NAME_MAX} characters.", field=key)
        if any(c in name for c in "<>") or has_disallowed_chars(name):
            raise ValidationError("Category names must be plain text (no < or >).", field=key)
        out[key] = name
    lowered = [n.lower() for n in out.values()]
    if len(set(lowered)) != len(lowered):
        raise ValidationError("Two categories cannot have the same name.", field="value")
    return out


@dataclass(frozen=True)
class SettingSpec:
    default: Any
    label: str
    help: str
    clean: Callable[[Any, str], Any]


def _sessions(value: Any, label: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
        raise ValidationError(f"{label} must be a whole number from 1 to 100.", field="value")
    return value


def _minutes(value: Any, label: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1440:
        raise ValidationError(f"{label} must be a whole number of minutes from 1 to 1440.", field="value")
    return value


SETTINGS: dict[str, SettingSpec] = {
    "registration_enabled": SettingSpec(True, "Registration open", "Visitors can create accounts at /register.",
                                        _bool),
    "platform_name": SettingSpec("SkyPanel", "Platform name", "Shown in the navigation bar and in emails.", _name),
    "support_email": SettingSpec(DEFAULT_SUPPORT_EMAIL, "Support email",
                                 "Where customers write for help (shown in emails and pages).", _email),
    "invoice_logo": SettingSpec("", "Invoice logo", "A .png or .jpg file in assets/ (e.g. logo.png) printed on "
                                "invoices and statements; empty for the platform name only.", _logo),
    "vps_min_runway_hours": SettingSpec(24, "Balance needed to create a server (hours)",
                                        "A new server needs a wallet balance covering this many hours of it.",
                                        _hours),
    "plan_category_names": SettingSpec(dict(DEFAULT_CATEGORY_NAMES), "Plan category names",
                                       "What customers see for each plan category (white-label names).",
                                       _category_names),
    "topup_min_amount": SettingSpec(5, "Smallest top-up (USD)", "The least a customer can add to a wallet "
                                    "with PayPal in one payment.", _dollars),
    "topup_max_amount": SettingSpec(1000, "Largest top-up (USD)", "The most a customer can add to a wallet "
                                    "with PayPal in one payment.", _dollars),
    "suspension_grace_hours": SettingSpec(24, "Grace period before suspension (hours)",
                                          "How long a balance may stay below zero before the organization's "
                                          "servers are powered off.", _hours),
    "termination_after_days": SettingSpec(0, "Delete suspended servers after (days)",
                                          "Servers suspended this many days are deleted. 0 = never.", _days),
    "console_sessions_per_user": SettingSpec(5, "Console sessions per user",
                                             "How many browser SSH consoles one user may have open at once.",
                                             _sessions),
    "console_sessions_per_server": SettingSpec(5, "Console sessions per server",
                                               "How many browser SSH consoles may be open on one server at once.",
                                               _sessions),
    "console_idle_minutes": SettingSpec(30, "Console idle timeout (minutes)",
                                        "A browser SSH console with no typing for this long is closed.", _minutes),
}

DEFAULTS: dict[str, Any] = {key: spec.default for key, spec in SETTINGS.items()}


def _spec(key: Any) -> SettingSpec:
    spec = SETTINGS.get(key) if isinstance(key, str) else None
    if spec is None:
        raise ValidationError("Unknown setting.", field="key")
    return spec


def _get(session: Session, key: str) -> Any:
    """The stored value (or the default) inside the caller's transaction."""
    spec = _spec(key)
    row = session.get(PlatformSetting, key)
    if row is None or row.value is None:
        return spec.default
    try:
        return spec.clean(row.value, spec.label)
    except ValidationError:  # stored by hand with a wrong type: the default is safer than a crash
        return spec.default


def get(key: str) -> Any:
    """A setting's current value; unknown keys raise ValidationError."""
    with session_scope() as s:
        return _get(s, key)


def registration_enabled() -> bool:
    return bool(get("registration_enabled"))


def set_value(actor: Actor, key: str, value: Any) -> None:
    """Validate and store one setting (platform admins only), with an activity row."""
    with session_scope() as s:
        require_platform_admin(s, actor)
        spec = _spec(key)
        clean = spec.clean(value, spec.label)
        old = _get(s, key)
        if old == clean:
            return
        now = utcnow()
        s.execute(
            insert(PlatformSetting)
            .values(key=key, value=clean, updated_at=now, updated_by=actor.user_id)
            .on_conflict_do_update(index_elements=["key"],
                                   set_={"value": clean, "updated_at": now, "updated_by": actor.user_id})
        )
        activity.record(s, actor, "platform.setting_changed", entity_type="setting", entity_id=key,
                        summary=f"{spec.label} changed from {old!r} to {clean!r}"[:300],
                        details={"key": key, "old": old, "new": clean})


def all_settings(actor: Actor) -> dict[str, Any]:
    """Every known setting's current value (platform admins only)."""
    with session_scope() as s:
        require_platform_admin(s, actor)
        return {key: _get(s, key) for key in SETTINGS}


def describe() -> list[dict[str, Any]]:
    """Labels and help texts for the admin settings form (not secret, no permission needed)."""
    return [{"key": key, "label": spec.label, "help": spec.help, "type": type(spec.default).__name__,
             "default": spec.default} for key, spec in SETTINGS.items()]
