"""Contract tests: PayPalClient against the PayPal stand-in over a loopback socket.

Every request the client sends and every response the stand-in returns is validated against
PayPal's OpenAPI documents (tests/contract/openapi.py PayPalValidator, as httpx event hooks);
a path no document describes, or a body that does not conform, fails the test.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx
import pytest

from skypanel.backend.integrations.paypal import PayPalClient, PayPalError, approve_link, order_capture
import skypanel.backend.integrations.paypal.client as client_mod
from skypanel.backend.integrations.paypal import standin
from tests.contract.openapi import ContractViolation
from tests.integration.paypal_fixtures import paypal_url, state, validator, validator_spec  # noqa: F401 (fixtures)


@pytest.fixture()
def server(paypal_url):
    return paypal_url


class Sleeps:
    def __init__(self):
        self.waits = []

    async def __call__(self, seconds):
        self.waits.append(seconds)


def make(server, validator, **kw) -> PayPalClient:
    client_mod._TOKENS.clear()
    kw.setdefault("sleep", Sleeps())
    return PayPalClient(server, standin.CLIENT_ID, standin.CLIENT_SECRET, webhook_id=standin.WEBHOOK_ID,
                        rand=lambda: 0.5, event_hooks=validator.hooks(), **kw)


async def _order(pp: PayPalClient, amount="25.00", rid="req-1"):
    return await pp.create_order(amount=Decimal(amount), currency="USD", custom_id="org-1", invoice_id="SP-1",
                                 description="Wallet top-up", return_url="http://127.0.0.1/r",
                                 cancel_url="http://127.0.0.1/r?cancelled=1", request_id=rid)


async def test_create_approve_capture_refund_verify_all_documented(server, state, validator):
    async with make(server, validator) as pp:
        order = await _order(pp)
        assert order["status"] == "PAYER_ACTION_REQUIRED" and approve_link(order).startswith(server + "/checkoutnow")
        unit = state.orders[order["id"]]["purchase_units"][0]
        assert unit["amount"] == {"currency_code": "USD", "value": "25.00"}  # a string, 2 decimals
        assert unit["custom_id"] == "org-1" and unit["invoice_id"] == "SP-1"
        with pytest.raises(PayPalError) as not_approved:
            await pp.capture_order(order["id"], request_id="cap-1")
        assert not_approved.value.issue == "ORDER_NOT_APPROVED" and not not_approved.value.retryable
        # the buyer approves on the stand-in's page (a real browser form post)
        async with httpx.AsyncClient(follow_redirects=False) as browser:
            page = await browser.get(approve_link(order))
            assert "not PayPal" in page.text and "25.00 USD" in page.text
            done = await browser.post(server + "/checkoutnow", data={"token": order["id"], "decision": "approve"})
        assert done.status_code == 303 and done.headers["location"].startswith("http://127.0.0.1/r?token=" + order["id"])
        captured = await pp.capture_order(order["id"], request_id="cap-2")
        cap = order_capture(captured)
        assert captured["status"] == "COMPLETED" and cap["status"] == "COMPLETED"
        assert cap["amount"]["value"] == "25.00" and cap["custom_id"] == "org-1"
        again = await pp.capture_order(order["id"], request_id="cap-2")  # same request id: same capture
        assert order_capture(again)["id"] == cap["id"]
        assert len(state.captures) == 1
        assert (await pp.get_order(order["id"]))["status"] == "COMPLETED"
        assert (await pp.get_capture(cap["id"]))["id"] == cap["id"]
        part = await pp.refund_capture(cap["id"], amount=Decimal("10"), currency="USD", request_id="rf-1")
        assert part["status"] == "COMPLETED" and part["amount"]["value"] == "10.00"
        same = await pp.refund_capture(cap["id"], amount=Decimal("10"), currency="USD", request_id="rf-1")
        assert same["id"] == part["id"]  # idempotent: still only 10 refunded
        with pytest.raises(PayPalError) as over:
            await pp.refund_capture(cap["id"], amount=Decimal("15.01"), currency="USD", request_id="rf-2")
        assert over.value.issue == "REFUND_AMOUNT_EXCEEDED"
        event = state.capture_event(cap["id"])
        headers, _ = state.sign_event(event)
        assert await pp.verify_webhook(headers, event) is True
        assert await pp.verify_webhook({**headers, "PAYPAL-TRANSMISSION-SIG": "forged" + "A" * 40}, event) is False
        tampered = {**event, "resource": {**event["resource"], "amount": {"currency_code": "USD", "value": "9999.00"}}}
        assert await pp.verify_webhook(headers, tampered) is False
    seen = {(m, p.split("/")[1] + "/" + p.split("/")[2]) for m, p, _ in validator.seen}
    assert ("POST", "v1/oauth2") in seen and ("POST", "v1/notifications") in seen and ("GET", "v2/payments") in seen


async def test_token_is_cached_until_expiry_and_refreshed_on_401(server, state, validator):
    now = [1000.0]
    async with make(server, validator, clock=lambda: now[0]) as pp:
        await _order(pp, rid="a")
        await _order(pp, rid="b")
        assert state.token_requests == 1
        now[0] += standin.TOKEN_SECONDS - 30  # inside the refresh margin
        await _order(pp, rid="c")
        assert state.token_requests == 2
        state.tokens.clear()  # PayPal revoked it: one 401, then a fresh token, then success
        await _order(pp, rid="d")
        assert state.token_requests == 3


async def test_retries_5xx_then_succeeds_and_create_is_idempotent(server, state, validator):
    sleeps = Sleeps()
    async with make(server, validator, sleep=sleeps) as pp:
        state.inject(2, path_contains="/v2/checkout/orders", status=503)
        order = await _order(pp, rid="same")
        again = await _order(pp, rid="same")
    assert again["id"] == order["id"] and len(state.orders) == 1
    assert sleeps.waits == [0.25, 0.5]  # full jitter with rand=0.5: 0.5*0.5, 0.5*1.0


async def test_timeout_gives_up_as_retryable(server, state, validator):
    async with make(server, validator, timeout=0.3, max_attempts=2) as pp:
        await _order(pp, rid="warm")  # token first
        state.inject(2, path_contains="/v2/checkout/orders", delay=1.0)
        with pytest.raises(PayPalError) as err:
            await _order(pp, rid="slow")
    assert err.value.retryable and "Could not reach PayPal" in str(err.value)


async def test_wrong_credentials_refused(server, state, validator):
    client_mod._TOKENS.clear()
    async with PayPalClient(server, standin.CLIENT_ID, "wrong", event_hooks=validator.hooks()) as pp:
        with pytest.raises(PayPalError) as err:
            await _order(pp)
    assert err.value.status == 401 and "wrong" not in str(err.value)


async def test_undocumented_operation_fails_validation(server, validator):
    async with make(server, validator) as pp:
        with pytest.raises(ContractViolation):
            await pp._send("GET", "/v9/not-paypal")
    validator.violations.clear()
