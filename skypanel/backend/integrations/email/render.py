"""Turn a template name and a context into (subject, html, text).

Templates live in skypanel/backend/templates/email/: `<name>.html` (extends base.html,
autoescaped) and `<name>.txt` (plain). Subjects are defined once, in SUBJECTS.

Rendering is forgiving about missing context keys (they render empty and the templates
fall back to neutral wording) because a welcome email must never break a sign-up; an
unknown template name is a programming error and raises ValueError.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "templates" / "email"

# template -> subject (a Jinja string rendered with the same context, as plain text)
SUBJECTS: dict[str, str] = {
    "welcome": "Welcome to {{ platform_name }}",
    "invitation": "{{ inviter_name or 'Someone' }} invited you to join {{ organization_name or 'an organization' }}"
                  " on {{ platform_name }}",
    "password_reset": "Reset your {{ platform_name }} password",
    "two_factor_changed": "Two-factor authentication {{ change }} for your {{ platform_name }} account",
    "new_sign_in": "New sign-in to your {{ platform_name }} account",
    "runway_low": "{{ organization_name or 'Your organization' }}: balance {{ runway or 'running low' }}"
                  " on {{ platform_name }}",
    "balance_negative": "{{ organization_name or 'Your organization' }}: balance below zero on {{ platform_name }}",
    "servers_suspended": "{{ organization_name or 'Your organization' }}: servers suspended on {{ platform_name }}",
}

# template -> the context keys callers pass (documentation; all optional at render time)
CONTEXT_KEYS: dict[str, tuple[str, ...]] = {
    "welcome": ("name", "login_url"),
    "invitation": ("inviter_name", "organization_name", "role", "accept_url", "expires_at"),
    "password_reset": ("name", "reset_url", "expires_minutes", "ip"),
    "two_factor_changed": ("name", "enabled", "change", "ip", "when"),
    "new_sign_in": ("name", "ip", "user_agent", "when"),
    "runway_low": ("name", "organization_name", "runway", "balance", "burn", "threshold", "grace_hours",
                   "billing_url"),
    "balance_negative": ("name", "organization_name", "balance", "burn", "amount_to_add", "suspend_at",
                         "billing_url"),
    "servers_suspended": ("name", "organization_name", "balance", "amount_to_add", "servers", "grace_hours",
                          "terminate_at", "billing_url"),
}

TEMPLATES: tuple[str, ...] = tuple(SUBJECTS)


def _format_when(value: Any) -> str:
    """Datetimes as '2026-11-22 14:05 UTC' (dates as ISO); anything else as given."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


def _environment(autoescape: bool) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False) if autoescape else False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["when"] = _format_when
    return env


_HTML_ENV = _environment(autoescape=True)
_TEXT_ENV = _environment(autoescape=False)


def _absolute(url: Any, public_url: str) -> Any:
    """Links passed as paths ("/invitations/abc") become absolute under PUBLIC_URL."""
    if isinstance(url, str) and url.startswith("/") and not url.startswith("//"):
        return public_url.rstrip("/") + url
    return url


def build_context(template: str, context: dict[str, Any], *, platform_name: str, support_email: str,
                  public_url: str) -> dict[str, Any]:
    """The caller's context plus branding, absolute links and derived wording."""
    ctx: dict[str, Any] = dict(context)
    ctx.update(platform_name=platform_name, support_email=support_email, public_url=public_url.rstrip("/"))
    for key in list(ctx):
        if key.endswith("_url") and key != "public_url":
            ctx[key] = _absolute(ctx[key], public_url)
    ctx.setdefault("login_url", f"{public_url.rstrip('/')}/login")
    ctx.setdefault("settings_url", f"{public_url.rstrip('/')}/settings")
    if template == "two_factor_changed" and not ctx.get("change"):
        ctx["change"] = "turned on" if ctx.get("enabled") else "turned off"
    if template == "password_reset":
        ctx.setdefault("expires_minutes", 60)
    return ctx


def render(template: str, context: dict[str, Any], *, platform_name: str, support_email: str,
           public_url: str) -> tuple[str, str, str]:
    """(subject, html_body, text_body) for one of TEMPLATES."""
    if template not in SUBJECTS:
        raise ValueError(f"unknown email template {template!r}; known: {', '.join(TEMPLATES)}")
    ctx = build_context(template, context, platform_name=platform_name, support_email=support_email,
                        public_url=public_url)
    subject = _TEXT_ENV.from_string(SUBJECTS[template]).render(ctx)
    subject = " ".join(subject.split())[:300]  # one line: no header injection through the context
    html = _HTML_ENV.get_template(f"{template}.html").render(ctx, subject=subject)
    text = _TEXT_ENV.get_template(f"{template}.txt").render(ctx, subject=subject)
    return subject, html, text
