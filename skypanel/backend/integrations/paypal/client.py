"""PayPal REST client (Orders v2, Payments v2 refunds, webhook verification) on httpx.

Why its own retry loop rather than providers/http.ApiClient: PayPal authenticates with an OAuth
client-credentials token (cached until shortly before it expires, refreshed once on a 401) and
makes POSTs idempotent with `PayPal-Request-Id`, so a retried create/capture/refund returns the
first result instead of charging twice. Timeouts, 429 and 5xx are retried with full-jitter
backoff like the provider clients; the client secret never appears in logs or errors.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import httpx

log = logging.getLogger(__name__)

SANDBOX_URL = "https://api-m.sandbox.paypal.com"
LIVE_URL = "https://api-m.paypal.com"
DEFAULT_TIMEOUT = httpx.Timeout(connect=5, read=20, write=20, pool=5)
TOKEN_MARGIN = 60.0  # refresh this many seconds before PayPal says the token expires


class PayPalError(Exception):
    """A PayPal call failed. `retryable` = the outcome is unknown (timeout/5xx); `name` = PayPal's issue."""

    def __init__(self, message: str, *, status: int | None = None, name: str = "", issue: str = "",
                 retryable: bool = False):
        super().__init__(message)
        self.status = status
        self.name = name
        self.issue = issue
        self.retryable = retryable


# token cache shared by every client of the same app (clients are short-lived, one per operation)
# (no lock: clients run on several event loops; two concurrent first calls just fetch two tokens)
_TOKENS: dict[tuple[str, str], tuple[str, float]] = {}


def money_str(amount: Decimal) -> str:
    """PayPal amounts are strings with 2 decimals for USD."""
    return str(Decimal(amount).quantize(Decimal("0.01")))


def _error(response: httpx.Response) -> PayPalError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    name = str(body.get("name") or body.get("error") or "") if isinstance(body, dict) else ""
    issue = ""
    if isinstance(body, dict) and isinstance(body.get("details"), list) and body["details"]:
        first = body["details"][0]
        if isinstance(first, dict):
            issue = str(first.get("issue") or "")
    message = (body.get("message") or body.get("error_description") or "") if isinstance(body, dict) else ""
    text = f"PayPal answered {response.status_code}" + (f" {name}" if name else "") + (f" ({issue})" if issue else "")
    if message:
        text += f": {message}"
    return PayPalError(text[:300], status=response.status_code, name=name, issue=issue,
                       retryable=response.status_code == 429 or response.status_code >= 500)


class PayPalClient:
    """One PayPal REST app. Use as `async with PayPalClient(...) as pp:`."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        webhook_id: str = "",
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        max_attempts: int = 4,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.AsyncBaseTransport | None = None,
        event_hooks: dict[str, list[Callable[..., Any]]] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self.webhook_id = webhook_id
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self._sleep = sleep
        self._rand = rand
        self._clock = clock
        self._client = httpx.AsyncClient(
            base_url=self.base_url, timeout=timeout, transport=transport, event_hooks=event_hooks or {},
            headers={"Accept": "application/json", "User-Agent": "SkyPanel/1"},
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> PayPalClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- auth ---------------------------------------------------------------------------------

    @property
    def _cache_key(self) -> tuple[str, str]:
        return (self.base_url, self._client_id)

    async def _token(self, *, force: bool = False) -> str:
        cached = _TOKENS.get(self._cache_key)
        if cached and not force and cached[1] > self._clock():
            return cached[0]
        body = await self._send(
            "POST", "/v1/oauth2/token", data={"grant_type": "client_credentials"},
            auth=(self._client_id, self._client_secret), authorize=False)
        token = str(body.get("access_token") or "")
        if not token:
            raise PayPalError("PayPal returned no access token", status=200)
        expires_in = float(body.get("expires_in") or 0)
        _TOKENS[self._cache_key] = (token, self._clock() + max(0.0, expires_in - TOKEN_MARGIN))
        return token

    def forget_token(self) -> None:
        _TOKENS.pop(self._cache_key, None)

    # -- transport ----------------------------------------------------------------------------

    def backoff_delay(self, attempt: int) -> float:
        return self._rand() * min(self.backoff_cap, self.backoff_base * (2**attempt))

    async def _send(self, method: str, path: str, *, json: Any = None, data: Any = None, auth: Any = None,
                    headers: dict[str, str] | None = None, authorize: bool = True) -> dict[str, Any]:
        """One call with retries on transport errors, 429 and 5xx; a 401 refreshes the token once."""
        last: PayPalError | None = None
        refreshed = False
        attempt = 0
        while attempt < self.max_attempts:
            send_headers = dict(headers or {})
            if authorize:
                send_headers["Authorization"] = f"Bearer {await self._token()}"
            try:
                response = await self._client.request(method, path, json=json, data=data, auth=auth,
                                                      headers=send_headers)
            except httpx.TransportError as exc:
                kind = type(exc).__name__
                log.warning("PayPal %s %s failed (%s), attempt %d", method, path, kind, attempt + 1)
                last = PayPalError(f"Could not reach PayPal ({kind})", retryable=True)
            else:
                if response.is_success:
                    if not response.content:
                        return {}
                    try:
                        return response.json()
                    except ValueError:
                        raise PayPalError("PayPal returned an invalid response", status=response.status_code,
                                          retryable=True) from None
                if response.status_code == 401 and authorize and not refreshed:
                    refreshed = True
                    self.forget_token()
                    continue  # a token revoked or expired early: fetch a new one, not counted
                last = _error(response)
                if not last.retryable:
                    raise last
                log.warning("PayPal %s %s answered %d, attempt %d", method, path, response.status_code, attempt + 1)
            attempt += 1
            if attempt < self.max_attempts:
                await self._sleep(self.backoff_delay(attempt - 1))
        assert last is not None
        raise last

    # -- Orders v2 ----------------------------------------------------------------------------

    async def create_order(self, *, amount: Decimal, currency: str, custom_id: str, invoice_id: str,
                           description: str, return_url: str, cancel_url: str, request_id: str,
                           brand_name: str = "") -> dict[str, Any]:
        """Create a CAPTURE order; returns PayPal's order (id, status, links with rel=approve)."""
        body = {
            "intent": "CAPTURE",
            "purchase_units": [{
                "reference_id": invoice_id,
                "custom_id": custom_id,
                "invoice_id": invoice_id,
                "description": description[:127],
                "amount": {"currency_code": currency, "value": money_str(amount)},
            }],
            "payment_source": {"paypal": {"experience_context": {
                "return_url": return_url,
                "cancel_url": cancel_url,
                "user_action": "PAY_NOW",
                "shipping_preference": "NO_SHIPPING",
                **({"brand_name": brand_name[:127]} if brand_name else {}),
            }}},
        }
        return await self._send("POST", "/v2/checkout/orders", json=body,
                                headers={"PayPal-Request-Id": request_id, "Prefer": "return=representation"})

    async def get_order(self, order_id: str) -> dict[str, Any]:
        return await self._send("GET", f"/v2/checkout/orders/{order_id}")

    async def capture_order(self, order_id: str, *, request_id: str) -> dict[str, Any]:
        """Capture an approved order; the same request id returns the first capture on a retry."""
        return await self._send("POST", f"/v2/checkout/orders/{order_id}/capture",
                                headers={"PayPal-Request-Id": request_id, "Prefer": "return=representation",
                                         "Content-Type": "application/json"}, json={})

    # -- Payments v2 ----------------------------------------------------------------------------

    async def get_capture(self, capture_id: str) -> dict[str, Any]:
        return await self._send("GET", f"/v2/payments/captures/{capture_id}")

    async def refund_capture(self, capture_id: str, *, amount: Decimal, currency: str, request_id: str,
                             invoice_id: str = "", note: str = "") -> dict[str, Any]:
        body: dict[str, Any] = {"amount": {"currency_code": currency, "value": money_str(amount)}}
        if invoice_id:
            body["invoice_id"] = invoice_id[:127]
        if note:
            body["note_to_payer"] = note[:255]
        return await self._send("POST", f"/v2/payments/captures/{capture_id}/refund", json=body,
                                headers={"PayPal-Request-Id": request_id, "Prefer": "return=representation"})

    # -- Webhooks v1 --------------------------------------------------------------------------

    async def verify_webhook(self, headers: dict[str, str], event: dict[str, Any]) -> bool:
        """PayPal's verify-webhook-signature: True only for verification_status SUCCESS."""
        lower = {k.lower(): v for k, v in headers.items()}
        needed = ("paypal-auth-algo", "paypal-cert-url", "paypal-transmission-id", "paypal-transmission-sig",
                  "paypal-transmission-time")
        if not self.webhook_id or any(not lower.get(h) for h in needed):
            return False
        body = {
            "auth_algo": lower["paypal-auth-algo"],
            "cert_url": lower["paypal-cert-url"],
            "transmission_id": lower["paypal-transmission-id"],
            "transmission_sig": lower["paypal-transmission-sig"],
            "transmission_time": lower["paypal-transmission-time"],
            "webhook_id": self.webhook_id,
            "webhook_event": event,
        }
        answer = await self._send("POST", "/v1/notifications/verify-webhook-signature", json=body)
        return answer.get("verification_status") == "SUCCESS"


def approve_link(order: dict[str, Any]) -> str:
    for link in order.get("links") or []:
        if isinstance(link, dict) and link.get("rel") in ("approve", "payer-action"):
            return str(link.get("href") or "")
    return ""


def order_capture(order: dict[str, Any]) -> dict[str, Any] | None:
    """The first capture of an order's first purchase unit (None before capture)."""
    units = order.get("purchase_units") or []
    if not units:
        return None
    captures = ((units[0].get("payments") or {}).get("captures")) or []
    return captures[0] if captures else None
