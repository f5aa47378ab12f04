"""PayPal: the REST client, the local stand-in, and `new_client()` built from settings.

Without PAYPAL_CLIENT_ID (and outside production) the client talks to the stand-in mounted in
this app at STANDIN_PREFIX, with the stand-in's own credentials and webhook id.
"""

from __future__ import annotations

from typing import Any

from skypanel.backend.config import get_settings

from .client import LIVE_URL, SANDBOX_URL, PayPalClient, PayPalError, approve_link, money_str, order_capture

STANDIN_PREFIX = "/paypal-standin"

#: Extra PayPalClient keyword arguments (tests point the client at a stand-in they serve and add
#: validation hooks; never used in production code paths).
_overrides: dict[str, Any] = {}


def configure(**kwargs: Any) -> None:
    """Replace the client options used by `new_client()` (empty = back to settings)."""
    _overrides.clear()
    _overrides.update(kwargs)


def available() -> bool:
    s = get_settings()
    return bool(_overrides) or bool(s.paypal_client_id and s.paypal_client_secret) or s.paypal_standin


def is_standin() -> bool:
    return bool(_overrides.get("standin", False)) if _overrides else get_settings().paypal_standin


def new_client() -> PayPalClient:
    """A new client for one operation (cheap: the OAuth token is cached per app across clients)."""
    if _overrides:
        kwargs = {k: v for k, v in _overrides.items() if k != "standin"}
        return PayPalClient(**kwargs)
    s = get_settings()
    if s.paypal_client_id and s.paypal_client_secret:
        base = s.paypal_base_url or (LIVE_URL if s.paypal_mode == "live" else SANDBOX_URL)
        return PayPalClient(base, s.paypal_client_id, s.paypal_client_secret, webhook_id=s.paypal_webhook_id or "")
    if not s.paypal_standin:
        raise PayPalError("PayPal is not configured.")
    from . import standin

    base = s.paypal_base_url or (s.public_url.rstrip("/") + STANDIN_PREFIX)
    return PayPalClient(base, standin.CLIENT_ID, standin.CLIENT_SECRET, webhook_id=standin.WEBHOOK_ID)


__all__ = ["PayPalClient", "PayPalError", "approve_link", "available", "configure", "new_client", "is_standin",
           "money_str", "order_capture"]
