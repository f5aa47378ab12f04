"""A local STAND-IN for PayPal's REST API — not PayPal: no account, no money, no network.

Why it exists: top-ups must work in development and be tested over real HTTP without PayPal
credentials. This Starlette app serves the calls the client makes, in the shapes of PayPal's
OpenAPI documents (../shared/specs/paypal_*.json; checked by the contract tests):

- POST /v1/oauth2/token (client credentials, Basic auth, form body) -> bearer token with expires_in;
- POST /v2/checkout/orders, GET /v2/checkout/orders/{id}, POST /v2/checkout/orders/{id}/capture;
- GET /v2/payments/captures/{id}, POST /v2/payments/captures/{id}/refund;
- POST /v1/notifications/verify-webhook-signature (checks an HMAC the stand-in itself made);
- GET /checkoutnow?token=ID: the buyer's approve/cancel page (a plain HTML form, saying loudly
  that it is a stand-in), which redirects to the order's return_url / cancel_url like PayPal.

`PayPal-Request-Id` makes create, capture and refund idempotent (same id -> the first answer).
State is in memory (one process; dev runs one worker without Redis). Tests turn knobs on
`StandInState`: `capture_status` ("COMPLETED" or "PENDING"), `inject(...)` faults (answer a
status, or do the work and then stall past the client's timeout), `sign_event(...)` to build a
webhook delivery signed the way `verify-webhook-signature` accepts, and `webhook_url` to have
the stand-in deliver events itself after a capture or refund (what the app does in development).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import html
import itertools
import json
import logging
import secrets
import time
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

log = logging.getLogger(__name__)

CLIENT_ID = "standin-client-id"
CLIENT_SECRET = "standin-client-secret"
WEBHOOK_ID = "STANDINWEBHOOK1"
TOKEN_SECONDS = 32400
CERT_URL = "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-STANDIN"

# Exact error texts: PayPal's documents pin details[].description to these.
_ISSUES = {
    "ORDER_NOT_APPROVED": "Payer has not yet approved the Order for payment. Please redirect the payer to the "
                          "'rel':'approve' url returned as part of the HATEOAS links within the Create Order call "
                          "or provide a valid payment_source in the request.",
    "ORDER_ALREADY_CAPTURED": "Order already captured.If 'intent=CAPTURE' only one capture per order is allowed.",
    "REFUND_AMOUNT_EXCEEDED": "The refund amount must be less than or equal to the capture amount that has not "
                              "yet been refunded. Verify the refund amount and try the request again.",
    "CAPTURE_FULLY_REFUNDED": "The capture has already been fully refunded",
}
_MSG_422 = "The requested action could not be performed, semantically incorrect, or failed business validation."


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _id(prefix: str = "") -> str:
    return (prefix + secrets.token_hex(8)).upper()[:17]


def canonical(event: dict[str, Any]) -> bytes:
    return json.dumps(event, sort_keys=True, separators=(",", ":")).encode()


@dataclass
class Fault:
    """The next `remaining` matching requests answer `status`, or do their work and then stall `delay` s."""

    remaining: int
    path_contains: str = ""
    status: int | None = None
    delay: float = 0.0


@dataclass
class StandInState:
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    webhook_id: str = WEBHOOK_ID
    capture_status: str = "COMPLETED"  # or PENDING (status_details.reason PENDING_REVIEW)
    webhook_url: str | None = None  # deliver events here after capture / refund
    signing_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    captures: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, float] = field(default_factory=dict)
    idempotent: dict[tuple[str, str], tuple[int, dict[str, Any]]] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    token_requests: int = 0
    counter: itertools.count = field(default_factory=lambda: itertools.count(1))

    def inject(self, remaining: int = 1, *, path_contains: str = "", status: int | None = None,
               delay: float = 0.0) -> None:
        self.faults.append(Fault(remaining, path_contains, status, delay))

    def _fault(self, path: str) -> Fault | None:
        for f in self.faults:
            if f.remaining > 0 and f.path_contains in path:
                f.remaining -= 1
                return f
        return None

    # -- what a buyer does on the approve page --
    def approve(self, order_id: str) -> None:
        order = self.orders[order_id]
        if order["status"] in ("CREATED", "PAYER_ACTION_REQUIRED"):
            order["status"] = "APPROVED"
            payer_id = "".join(secrets.choice("23456789ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(13))
            order["payer"] = {"payer_id": payer_id, "email_address": "buyer@standin.example",
                              "name": {"given_name": "Stand-in", "surname": "Buyer"}}

    # -- webhook events, signed like PayPal (transmission id | time | webhook id | crc32 of body) --
    def _signature(self, transmission_id: str, transmission_time: str, webhook_id: str, body: bytes) -> str:
        message = f"{transmission_id}|{transmission_time}|{webhook_id}|{zlib.crc32(body)}".encode()
        return "sig" + hmac.new(self.signing_key, message, hashlib.sha256).hexdigest()

    def make_event(self, event_type: str, resource: dict[str, Any], resource_type: str = "capture",
                   event_id: str | None = None) -> dict[str, Any]:
        return {
            "id": event_id or f"WH-{_id()}-{next(self.counter)}",
            "create_time": _now(),
            "resource_type": resource_type,
            "event_type": event_type,
            "event_version": "1.0",
            "resource_version": "2.0",
            "summary": f"Stand-in event {event_type}",
            "resource": resource,
            "links": [],
        }

    def sign_event(self, event: dict[str, Any]) -> tuple[dict[str, str], bytes]:
        """Headers and body of a webhook delivery that verify-webhook-signature will accept."""
        body = canonical(event)
        tid = f"standin{secrets.token_hex(8)}"
        ttime = _now()
        return {
            "Content-Type": "application/json",
            "PAYPAL-AUTH-ALGO": "SHA256withRSA",
            "PAYPAL-CERT-URL": CERT_URL,
            "PAYPAL-TRANSMISSION-ID": tid,
            "PAYPAL-TRANSMISSION-TIME": ttime,
            "PAYPAL-TRANSMISSION-SIG": self._signature(tid, ttime, self.webhook_id, body),
        }, body

    def capture_event(self, capture_id: str, event_type: str = "PAYMENT.CAPTURE.COMPLETED") -> dict[str, Any]:
        return self.make_event(event_type, _public(json.loads(json.dumps(self.captures[capture_id]))))

    def complete_pending(self, capture_id: str, status: str = "COMPLETED") -> dict[str, Any]:
        """PayPal finishing its review of a PENDING capture; returns the matching webhook event."""
        cap = self.captures[capture_id]
        cap["status"] = status
        cap.pop("status_details", None)
        cap["update_time"] = _now()
        self._sync_order_capture(cap)
        return self.capture_event(capture_id, "PAYMENT.CAPTURE.COMPLETED" if status == "COMPLETED"
                                  else "PAYMENT.CAPTURE.DENIED")

    def _sync_order_capture(self, cap: dict[str, Any]) -> None:
        order = self.orders.get(cap["supplementary_data"]["related_ids"]["order_id"])
        if order:
            order["purchase_units"][0]["payments"] = {"captures": [cap]}


def _json(body: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status)


def _err(status: int, name: str, message: str, issue: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"name": name, "message": message, "debug_id": secrets.token_hex(6)}
    if issue:
        body["details"] = [{"issue": issue, "description": _ISSUES.get(issue, issue)}]
    return JSONResponse(body, status_code=status)


def _not_found() -> JSONResponse:
    return _err(404, "RESOURCE_NOT_FOUND", "The specified resource does not exist.")


def _money_ok(value: Any) -> Decimal | None:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() and amount > 0 and amount == amount.quantize(Decimal("0.01")) else None


def create_app(state: StandInState | None = None) -> Starlette:
    state = state or StandInState()

    def base(request: Request) -> str:
        root = request.scope.get("root_path", "")
        return f"{request.url.scheme}://{request.url.netloc}{root}"

    def authorized(request: Request) -> bool:
        header = request.headers.get("authorization", "")
        token = header[7:] if header.startswith("Bearer ") else ""
        return state.tokens.get(token, 0) > time.time()

    def unauthorized() -> JSONResponse:
        return JSONResponse({"error": "invalid_token", "error_description": "Token signature verification failed"},
                            status_code=401)

    async def guard(request: Request) -> Response | None:
        """Every bearer-authenticated API call: record it, apply an injected fault, check the token.
        Returns the early answer, or None to go on."""
        state.requests.append((request.method, request.url.path))
        fault = state._fault(request.url.path)
        if fault and fault.status:
            return _err(fault.status, "INTERNAL_SERVER_ERROR", "An internal server error occurred.")
        request.state.delay = fault.delay if fault else 0.0
        return None if authorized(request) else unauthorized()

    async def finish(request: Request, response: Response) -> Response:
        if getattr(request.state, "delay", 0):  # the work is done; the answer comes too late
            await asyncio.sleep(request.state.delay)
        return response

    def idempotent(request: Request, key: str) -> tuple[int, dict[str, Any]] | None:
        rid = request.headers.get("paypal-request-id")
        return state.idempotent.get((key, rid)) if rid else None

    def remember(request: Request, key: str, status: int, body: dict[str, Any]) -> None:
        rid = request.headers.get("paypal-request-id")
        if rid:
            state.idempotent[(key, rid)] = (status, json.loads(json.dumps(body)))

    async def token(request: Request) -> Response:
        state.requests.append((request.method, request.url.path))
        state.token_requests += 1
        header = request.headers.get("authorization", "")
        try:
            user, _, pw = base64.b64decode(header.removeprefix("Basic ")).decode().partition(":")
        except Exception:
            user = pw = ""
        form = await request.form()
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type", "error_description": "Grant Type is NULL"}, 400)
        if not (hmac.compare_digest(user, state.client_id) and hmac.compare_digest(pw, state.client_secret)):
            return JSONResponse({"error": "invalid_client", "error_description": "Client Authentication failed"}, 401)
        value = "A21AA" + secrets.token_urlsafe(32)
        state.tokens[value] = time.time() + TOKEN_SECONDS
        return _json({"scope": "https://uri.paypal.com/services/payments/payment", "access_token": value,
                      "token_type": "Bearer", "app_id": "APP-STANDIN", "expires_in": TOKEN_SECONDS,
                      "nonce": f"{_now()}{secrets.token_hex(8)}"})

    def order_view(order: dict[str, Any], request: Request) -> dict[str, Any]:
        view = {k: v for k, v in order.items() if not k.startswith("_")}
        links = [{"href": f"{base(request)}/v2/checkout/orders/{order['id']}", "rel": "self", "method": "GET"}]
        if order["status"] in ("CREATED", "PAYER_ACTION_REQUIRED"):
            links.append({"href": f"{base(request)}/checkoutnow?token={order['id']}", "rel": "payer-action",
                          "method": "GET"})
            links.append({"href": f"{base(request)}/checkoutnow?token={order['id']}", "rel": "approve",
                          "method": "GET"})
        if order["status"] == "APPROVED":
            links.append({"href": f"{base(request)}/v2/checkout/orders/{order['id']}/capture", "rel": "capture",
                          "method": "POST"})
        view["links"] = links
        return _public(view)

    async def create_order(request: Request) -> Response:
        if (early := await guard(request)) is not None:
            return early
        if (seen := idempotent(request, "create")) is not None:
            return await finish(request, _json(seen[1], seen[0]))
        try:
            body = await request.json()
            unit = body["purchase_units"][0]
            amount = unit["amount"]
        except (ValueError, KeyError, IndexError, TypeError):
            return _err(400, "INVALID_REQUEST", "Request is not well-formed, syntactically incorrect, or violates schema.")
        if body.get("intent") != "CAPTURE" or _money_ok(amount.get("value")) is None:
            return _err(400, "INVALID_REQUEST", "Request is not well-formed, syntactically incorrect, or violates schema.")
        ctx = ((body.get("payment_source") or {}).get("paypal") or {}).get("experience_context") or {}
        order_id = _id()
        order = {
            "id": order_id,
            "intent": "CAPTURE",
            "status": "PAYER_ACTION_REQUIRED" if ctx else "CREATED",
            "purchase_units": [{k: unit[k] for k in ("reference_id", "amount", "custom_id", "invoice_id",
                                                       "description") if k in unit}],
            "create_time": _now(),
            "_return_url": ctx.get("return_url", ""),
            "_cancel_url": ctx.get("cancel_url", ""),
        }
        if ctx:
            order["payment_source"] = {"paypal": {}}
        state.orders[order_id] = order
        answer = order_view(order, request)
        remember(request, "create", 200, answer)  # a replay answers 200 with the same order
        return await finish(request, _json(answer, 201))

    async def get_order(request: Request) -> Response:
        if (early := await guard(request)) is not None:
            return early
        order = state.orders.get(request.path_params["order_id"])
        if order is None:
            return _not_found()
        return await finish(request, _json(order_view(order, request)))

    async def capture(request: Request) -> Response:
        if (early := await guard(request)) is not None:
            return early
        order = state.orders.get(request.path_params["order_id"])
        if order is None:
            return _not_found()
        key = "capture:" + order["id"]
        if (seen := idempotent(request, key)) is not None:
            return await finish(request, _json(seen[1], seen[0]))
        if order["status"] == "COMPLETED":
            return _err(422, "UNPROCESSABLE_ENTITY", _MSG_422, "ORDER_ALREADY_CAPTURED")
        if order["status"] != "APPROVED":
            return _err(422, "UNPROCESSABLE_ENTITY", _MSG_422, "ORDER_NOT_APPROVED")
        unit = order["purchase_units"][0]
        cap_id = _id("CAP")
        cap: dict[str, Any] = {
            "id": cap_id,
            "status": state.capture_status,
            "amount": dict(unit["amount"]),
            "final_capture": True,
            "seller_protection": {"status": "ELIGIBLE"},
            "custom_id": unit.get("custom_id", ""),
            "invoice_id": unit.get("invoice_id", ""),
            "supplementary_data": {"related_ids": {"order_id": order["id"]}},
            "create_time": _now(),
            "update_time": _now(),
            "links": [{"href": f"{base(request)}/v2/payments/captures/{cap_id}", "rel": "self", "method": "GET"},
                      {"href": f"{base(request)}/v2/payments/captures/{cap_id}/refund", "rel": "refund",
                       "method": "POST"},
                      {"href": f"{base(request)}/v2/checkout/orders/{order['id']}", "rel": "up", "method": "GET"}],
            "_refunded": "0",
        }
        if state.capture_status == "PENDING":
            cap["status_details"] = {"reason": "PENDING_REVIEW"}
        state.captures[cap_id] = cap
        order["status"] = "COMPLETED"
        unit["payments"] = {"captures": [cap]}
        answer = _public(order_view(order, request))
        remember(request, key, 201, answer)
        if state.webhook_url and state.capture_status == "COMPLETED":
            asyncio.get_running_loop().create_task(deliver(state.capture_event(cap_id)))
        return await finish(request, _json(answer, 201))

    async def get_capture(request: Request) -> Response:
        if (early := await guard(request)) is not None:
            return early
        cap = state.captures.get(request.path_params["capture_id"])
        if cap is None:
            return _not_found()
        return await finish(request, _json(_public(cap)))

    async def refund(request: Request) -> Response:
        if (early := await guard(request)) is not None:
            return early
        cap = state.captures.get(request.path_params["capture_id"])
        if cap is None:
            return _not_found()
        key = "refund:" + cap["id"]
        if (seen := idempotent(request, key)) is not None:
            return await finish(request, _json(seen[1], seen[0]))
        try:
            body = await request.json() if await request.body() else {}
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _err(400, "INVALID_REQUEST", "Request is not well-formed, syntactically incorrect, or violates schema.")
        captured = Decimal(cap["amount"]["value"])
        already = Decimal(cap["_refunded"])
        remaining = captured - already
        value = _money_ok((body.get("amount") or {}).get("value")) if body.get("amount") else remaining
        if value is None:
            return _err(400, "INVALID_REQUEST", "Request is not well-formed, syntactically incorrect, or violates schema.")
        if remaining <= 0:
            return _err(422, "UNPROCESSABLE_ENTITY", _MSG_422, "CAPTURE_FULLY_REFUNDED")
        if value > remaining:
            return _err(422, "UNPROCESSABLE_ENTITY", _MSG_422, "REFUND_AMOUNT_EXCEEDED")
        ref_id = _id("REF")
        cap["_refunded"] = str(already + value)
        cap["status"] = "REFUNDED" if already + value == captured else "PARTIALLY_REFUNDED"
        cap["update_time"] = _now()
        state._sync_order_capture(cap)
        ref = {
            "id": ref_id, "status": "COMPLETED",
            "amount": {"currency_code": cap["amount"]["currency_code"], "value": f"{value:.2f}"},
            "invoice_id": body.get("invoice_id") or cap.get("invoice_id", ""),
            "custom_id": cap.get("custom_id", ""),
            "create_time": _now(), "update_time": _now(),
            "links": [{"href": f"{base(request)}/v2/payments/refunds/{ref_id}", "rel": "self", "method": "GET"},
                      {"href": f"{base(request)}/v2/payments/captures/{cap['id']}", "rel": "up", "method": "GET"}],
        }
        state.refunds[ref_id] = ref
        remember(request, key, 201, ref)
        if state.webhook_url:
            asyncio.get_running_loop().create_task(
                deliver(state.make_event("PAYMENT.CAPTURE.REFUNDED", dict(ref), resource_type="refund")))
        return await finish(request, _json(ref, 201))

    async def verify(request: Request) -> Response:
        if (early := await guard(request)) is not None:
            return early
        try:
            body = await request.json()
            event = body["webhook_event"]
            expected = state._signature(body["transmission_id"], body["transmission_time"], body["webhook_id"],
                                        canonical(event))
            ok = body["webhook_id"] == state.webhook_id and hmac.compare_digest(expected, body["transmission_sig"])
        except (ValueError, KeyError, TypeError):
            return _err(400, "VALIDATION_ERROR", "Invalid request - see details")
        return await finish(request, _json({"verification_status": "SUCCESS" if ok else "FAILURE"}))

    async def deliver(event: dict[str, Any]) -> None:
        """Post an event to webhook_url, like PayPal does (a failure is logged; no retry schedule)."""
        headers, body = state.sign_event(event)
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                await client.post(state.webhook_url or "", content=body, headers=headers)
        except httpx.HTTPError as exc:
            log.warning("stand-in webhook delivery failed: %s", type(exc).__name__)

    async def checkout(request: Request) -> Response:
        order = state.orders.get(request.query_params.get("token", ""))
        if order is None:
            return HTMLResponse(_page("Order not found", "<p>This stand-in has no such order.</p>"), 404)
        unit = order["purchase_units"][0]
        amount = f"{unit['amount']['value']} {unit['amount']['currency_code']}"
        if order["status"] not in ("CREATED", "PAYER_ACTION_REQUIRED"):
            return HTMLResponse(_page("Already handled", f"<p>Order {html.escape(order['id'])} is "
                                      f"{html.escape(order['status'].lower())}.</p>"))
        body = (
            f"<p class='warn'><strong>This is SkyPanel's local PayPal stand-in, not PayPal.</strong> "
            f"No money moves and no PayPal account is used. It exists so top-ups can be tried without "
            f"PayPal credentials.</p>"
            f"<p>{html.escape(unit.get('description', 'Payment'))}</p>"
            f"<p class='amount' aria-label='Amount'>{html.escape(amount)}</p>"
            f"<form method='post' action='{html.escape(base(request))}/checkoutnow'>"
            f"<input type='hidden' name='token' value='{html.escape(order['id'])}'>"
            f"<button type='submit' name='decision' value='approve'>Approve payment</button> "
            f"<button type='submit' name='decision' value='cancel' class='secondary'>Cancel and return</button>"
            f"</form>"
        )
        return HTMLResponse(_page("Approve payment (stand-in)", body))

    async def checkout_decision(request: Request) -> Response:
        form = await request.form()
        order = state.orders.get(str(form.get("token", "")))
        if order is None:
            return HTMLResponse(_page("Order not found", "<p>This stand-in has no such order.</p>"), 404)
        if form.get("decision") == "approve":
            state.approve(order["id"])
            target = order["_return_url"]
            query = {"token": order["id"], "PayerID": order["payer"]["payer_id"]}
        else:
            target = order["_cancel_url"]
            query = {"token": order["id"]}
        sep = "&" if "?" in target else "?"
        return RedirectResponse(f"{target}{sep}{urlencode(query)}", status_code=303)

    async def root(request: Request) -> Response:
        return _json({"name": "paypal-standin", "note": "local stand-in, not PayPal"})

    return Starlette(routes=[
        Route("/", root),
        Route("/v1/oauth2/token", token, methods=["POST"]),
        Route("/v2/checkout/orders", create_order, methods=["POST"]),
        Route("/v2/checkout/orders/{order_id}", get_order, methods=["GET"]),
        Route("/v2/checkout/orders/{order_id}/capture", capture, methods=["POST"]),
        Route("/v2/payments/captures/{capture_id}", get_capture, methods=["GET"]),
        Route("/v2/payments/captures/{capture_id}/refund", refund, methods=["POST"]),
        Route("/v1/notifications/verify-webhook-signature", verify, methods=["POST"]),
        Route("/checkoutnow", checkout, methods=["GET"]),
        Route("/checkoutnow", checkout_decision, methods=["POST"]),
    ])


def _public(obj: Any) -> Any:
    """Drop the stand-in's private keys (leading underscore) from a nested answer."""
    if isinstance(obj, dict):
        return {k: _public(v) for k, v in obj.items() if not k.startswith("_")}
    if isinstance(obj, list):
        return [_public(v) for v in obj]
    return obj


def _page(title: str, body: str) -> str:
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{html.escape(title)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#1c2024}}
.warn{{background:#fff4d5;border:1px solid #f5d90a;padding:.75rem;border-radius:6px}}
.amount{{font-size:2rem;font-weight:600}} button{{font-size:1rem;padding:.6rem 1rem;border-radius:6px;
border:0;background:#3e63dd;color:#fff;cursor:pointer}} button.secondary{{background:#e8e8ec;color:#1c2024}}</style>
</head><body><h1>{html.escape(title)}</h1>{body}</body></html>"""
