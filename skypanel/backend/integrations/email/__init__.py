"""Email: Jinja2 templates, an outbox table, and delivery through Resend or SMTP.

Services call `queue(session, to=..., template=..., context=...)` inside their transaction;
the message is delivered after commit (an immediate background attempt via `kick`, then the
`delivery_loop` lifespan task every 15 s). Resend is used when RESEND_API_KEY is set, else SMTP
when SMTP_HOST is set, else the message is stored in the dev outbox (/admin/outbox).

Context keys per template (all optional; missing ones fall back to neutral wording):
  welcome            name, login_url
  invitation         inviter_name, organization_name, role, accept_url, expires_at
  password_reset     name, reset_url, expires_minutes, ip
  two_factor_changed name, enabled (bool) or change ("turned on", "turned off", ...), ip, when
  new_sign_in        name, ip, user_agent, when
  runway_low         name, organization_name, runway, balance, burn, threshold, grace_hours, billing_url
  balance_negative   name, organization_name, balance, burn, amount_to_add, suspend_at, billing_url
  servers_suspended  name, organization_name, balance, amount_to_add, servers, grace_hours, terminate_at,
                     billing_url
Links may be paths ("/reset-password?token=..."); they are made absolute under PUBLIC_URL.
"""

from .outbox import MAX_ATTEMPTS, deliver_due, delivery_loop, kick, queue, wait_for_background
from .render import CONTEXT_KEYS, SUBJECTS, TEMPLATES, render
from .transports import ResendTransport, SmtpTransport, TransportError

__all__ = [
    "CONTEXT_KEYS", "MAX_ATTEMPTS", "ResendTransport", "SUBJECTS", "SmtpTransport", "TEMPLATES", "TransportError",
    "deliver_due", "delivery_loop", "kick", "queue", "render", "wait_for_background",
]
