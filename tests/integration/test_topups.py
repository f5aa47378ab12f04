"""Top-ups with PayPal end to end in the backend: the real client against the stand-in over HTTP
(every exchange validated against PayPal's documents), the webhook route served over HTTP, real
PostgreSQL. Exactly-once crediting under races, timeouts, pending captures, replays, reversals,
refunds and bad input; balance == sum(ledger) after every test.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from decimal import Decimal

import httpx
import pytest
from sqlmodel import func, select

import skypanel.backend.integrations.paypal.client as client_mod
from skypanel.backend.api.routes import build_api
from skypanel.backend.db import session_scope
from skypanel.backend.integrations import paypal
from skypanel.backend.integrations.paypal import standin
from skypanel.backend.models import LedgerEntry, Payment, PaymentFlag, PaymentRefund, PayPalWebhookEvent, Wallet
from skypanel.backend.services import topups, wallet
from skypanel.backend.services.errors import NotFound, PermissionDenied, ValidationError
from tests.contract.openapi import PayPalValidator
from tests.contract.server import serve
from tests.integration.factories import add_member, make_user, personal_org
from tests.integration.paypal_fixtures import paypal_url, state, validator, validator_spec  # noqa: F401 (fixtures)


@pytest.fixture()
def app_url(db):
    """Our own HTTP routes (the webhook endpoint), served on a real socket."""
    with serve(build_api(), ready_path="/api/health") as url:
        yield url


async def _no_sleep(_seconds: float) -> None:
    return None


def use_paypal(url: str, validator: PayPalValidator, **kw) -> None:
    client_mod._TOKENS.clear()
    paypal.configure(base_url=url, client_id=standin.CLIENT_ID, client_secret=standin.CLIENT_SECRET,
                     webhook_id=standin.WEBHOOK_ID, event_hooks=validator.hooks(), sleep=_no_sleep,
                     standin=True, **kw)


@pytest.fixture()
def pp(db, paypal_url, validator):
    use_paypal(paypal_url, validator)
    yield paypal_url
    paypal.configure()


@pytest.fixture(autouse=True)
def _ledger_invariant(request):
    yield
    if "db" in request.fixturenames:
        with session_scope() as s:
            assert wallet.invariant_violations(s) == []


@pytest.fixture()
def owner(db):
    uid, actor = make_user(f"owner-{uuid.uuid4().hex[:6]}@example.com", "Owner")
    return actor, personal_org(uid)


def balance(org_id) -> Decimal:
    with session_scope() as s:
        return s.exec(select(Wallet.balance).where(Wallet.organization_id == org_id)).one()


def topup_entries(org_id) -> int:
    with session_scope() as s:
        return s.exec(select(func.count()).select_from(LedgerEntry).where(
            LedgerEntry.organization_id == org_id, LedgerEntry.kind == "topup")).one()


def run(coro):
    return asyncio.run(coro)


def start_and_approve(actor, org_id, state, amount="25.00") -> dict:
    started = run(topups.start_topup(actor, org_id, amount))
    state.approve(started["order_id"])
    return started


def post_event(app_url: str, state: standin.StandInState, event: dict, *, headers: dict | None = None) -> httpx.Response:
    signed, body = state.sign_event(event)
    return httpx.post(app_url + "/api/paypal/webhook", content=body, headers={**signed, **(headers or {})}, timeout=30)


def payment_row(order_id: str) -> Payment:
    with session_scope() as s:
        return s.exec(select(Payment).where(Payment.paypal_order_id == order_id)).one()


# ---- starting a top-up --------------------------------------------------------------------------

@pytest.mark.parametrize("raw, message", [
    ("4.99", "smallest top-up is $5.00"), ("1000.01", "largest top-up is $1,000.00"), ("-10", "such as 25"),
    ("1e3", "such as 25"), ("12.345", "such as 25"), ("abc", "such as 25"), ("", "such as 25"),
    (12.5, "such as 25"), (True, "such as 25"), (None, "such as 25"), ("NaN", "such as 25"), ("0", "smallest"),
])
def test_bad_amounts_refused_before_paypal(pp, owner, state, raw, message):
    actor, org_id = owner
    with pytest.raises(ValidationError) as err:
        run(topups.start_topup(actor, org_id, raw))
    assert message in str(err.value)
    assert state.orders == {}
    with session_scope() as s:
        assert s.exec(select(func.count()).select_from(Payment)).one() == 0


def test_limits_come_from_settings(pp, owner, state, db):
    from skypanel.backend.services import platform_settings
    _, admin = make_user("admin-limits@example.com", "Admin", admin=True)
    platform_settings.set_value(admin, "topup_min_amount", 20)
    actor, org_id = owner
    with pytest.raises(ValidationError, match=r"smallest top-up is \$20.00"):
        run(topups.start_topup(actor, org_id, "19.99"))
    assert topups.limits() == (Decimal(20), Decimal(1000))


def test_needs_billing_manage_and_membership(pp, owner, state):
    actor, org_id = owner
    uid, viewer = make_user("viewer@example.com", "Viewer")
    add_member(org_id, uid, "member")  # members see billing but do not manage it
    with pytest.raises(PermissionDenied):
        run(topups.start_topup(viewer, org_id, "25"))
    _, stranger = make_user("stranger@example.com", "Stranger")
    with pytest.raises(NotFound):
        run(topups.start_topup(stranger, org_id, "25"))
    assert state.orders == {}


def test_order_carries_our_reference_and_organization(pp, owner, state):
    actor, org_id = owner
    started = run(topups.start_topup(actor, org_id, "25.5"))
    unit = state.orders[started["order_id"]]["purchase_units"][0]
    row = payment_row(started["order_id"])
    assert unit["amount"] == {"currency_code": "USD", "value": "25.50"}
    assert unit["custom_id"] == str(org_id) and unit["invoice_id"] == row.reference
    assert started["approve_url"].startswith(pp + "/checkoutnow?token=")
    assert row.status == "created" and row.amount == Decimal("25.50")


# ---- capture and exactly-once crediting ---------------------------------------------------------

def test_return_captures_and_reload_does_not_credit_twice(pp, owner, state):
    actor, org_id = owner
    started = start_and_approve(actor, org_id, state)
    first = run(topups.complete_topup(actor, org_id, started["order_id"]))
    assert first["status"] == "completed" and first["balance"] == "25.0000"
    again = run(topups.complete_topup(actor, org_id, started["order_id"]))  # the return page reloaded
    assert again["status"] == "completed"
    assert balance(org_id) == Decimal("25") and topup_entries(org_id) == 1
    assert len(state.captures) == 1


def test_return_of_another_org_is_not_found(pp, owner, state):
    actor, org_id = owner
    started = start_and_approve(actor, org_id, state)
    other_uid, other = make_user("other@example.com", "Other")
    with pytest.raises(NotFound):
        run(topups.complete_topup(other, personal_org(other_uid), started["order_id"]))
    with pytest.raises(NotFound):
        run(topups.complete_topup(actor, org_id, "'; DROP TABLE payments; --"))


def test_cancelled_at_paypal_changes_nothing(pp, owner, state):
    actor, org_id = owner
    started = run(topups.start_topup(actor, org_id, "25"))
    result = run(topups.complete_topup(actor, org_id, started["order_id"], cancelled=True))
    assert result["status"] == "cancelled" and balance(org_id) == 0


def test_capture_and_webhooks_racing_credit_once(pp, app_url, owner, state, validator):
    """Three tabs return and three webhook deliveries (two ids) arrive at the same moment."""
    actor, org_id = owner
    started = start_and_approve(actor, org_id, state, "40")
    row = payment_row(started["order_id"])

    async def capture_at_paypal():  # PayPal has captured (same request id the service will use)
        async with paypal.new_client() as client:
            return await client.capture_order(started["order_id"], request_id=row.capture_request_id)
    cap_id = paypal.order_capture(run(capture_at_paypal()))["id"]
    event = state.capture_event(cap_id)
    second = state.capture_event(cap_id)  # PayPal re-sends with a new id sometimes
    barrier = threading.Barrier(6)
    results, errors = [], []

    def tab():
        try:
            barrier.wait()
            results.append(run(topups.complete_topup(actor, org_id, started["order_id"]))["status"])
        except Exception as exc:  # surfaced below
            errors.append(exc)

    def hook(ev):
        try:
            barrier.wait()
            results.append(post_event(app_url, state, ev).status_code)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=tab) for _ in range(3)]
    threads += [threading.Thread(target=hook, args=(ev,)) for ev in (event, event, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sorted(map(str, results)) == sorted(["completed"] * 3 + ["200"] * 3)
    assert balance(org_id) == Decimal("40") and topup_entries(org_id) == 1
    with session_scope() as s:
        assert s.exec(select(func.count()).select_from(PayPalWebhookEvent)).one() == 2
    assert payment_row(started["order_id"]).paypal_capture_id == cap_id


def test_capture_timeout_after_paypal_captured_recovers_from_the_order(paypal_url, db, owner, state, validator):
    use_paypal(paypal_url, validator, timeout=0.5, max_attempts=2)
    try:
        actor, org_id = owner
        started = start_and_approve(actor, org_id, state)
        state.inject(2, path_contains="/capture", delay=1.5)  # captured, but the answers come too late
        result = run(topups.complete_topup(actor, org_id, started["order_id"]))
    finally:
        paypal.configure()
    assert result["status"] == "completed"
    assert len(state.captures) == 1 and balance(org_id) == Decimal("25") and topup_entries(org_id) == 1
    assert ("GET", f"/v2/checkout/orders/{started['order_id']}") in state.requests


def test_paypal_unreachable_leaves_it_unconfirmed_then_webhook_credits(paypal_url, app_url, db, owner, state,
                                                                       validator):
    use_paypal(paypal_url, validator, timeout=0.5, max_attempts=1)
    try:
        actor, org_id = owner
        started = start_and_approve(actor, org_id, state)
        state.inject(2, path_contains="/v2/checkout/orders/", delay=1.5)  # capture AND the re-read time out
        result = run(topups.complete_topup(actor, org_id, started["order_id"]))
        assert result["status"] == "unconfirmed" and balance(org_id) == 0
        cap_id = next(iter(state.captures))
        assert post_event(app_url, state, state.capture_event(cap_id)).status_code == 200
    finally:
        paypal.configure()
    assert balance(org_id) == Decimal("25") and topup_entries(org_id) == 1


def test_pending_capture_is_credited_when_webhook_says_completed(pp, app_url, owner, state):
    actor, org_id = owner
    state.capture_status = "PENDING"
    started = start_and_approve(actor, org_id, state)
    result = run(topups.complete_topup(actor, org_id, started["order_id"]))
    assert result["status"] == "pending" and balance(org_id) == 0
    cap_id = payment_row(started["order_id"]).paypal_capture_id
    event = state.complete_pending(cap_id)
    first = post_event(app_url, state, event)
    assert first.status_code == 200 and first.json()["result"] == "payment completed"
    replay = post_event(app_url, state, event)  # the same event delivered again
    assert replay.status_code == 200 and replay.json()["result"] == "replay ignored"
    assert run(topups.complete_topup(actor, org_id, started["order_id"]))["status"] == "completed"
    assert balance(org_id) == Decimal("25") and topup_entries(org_id) == 1


def test_pending_then_denied_credits_nothing(pp, app_url, owner, state):
    actor, org_id = owner
    state.capture_status = "PENDING"
    started = start_and_approve(actor, org_id, state)
    run(topups.complete_topup(actor, org_id, started["order_id"]))
    cap_id = payment_row(started["order_id"]).paypal_capture_id
    assert post_event(app_url, state, state.complete_pending(cap_id, "DECLINED")).status_code == 200
    assert payment_row(started["order_id"]).status == "denied" and balance(org_id) == 0


def test_bad_signature_refused_and_nothing_stored(pp, app_url, owner, state):
    actor, org_id = owner
    state.capture_status = "PENDING"
    started = start_and_approve(actor, org_id, state)
    run(topups.complete_topup(actor, org_id, started["order_id"]))
    cap_id = payment_row(started["order_id"]).paypal_capture_id
    event = state.complete_pending(cap_id)
    forged = post_event(app_url, state, event, headers={"PAYPAL-TRANSMISSION-SIG": "sig" + "0" * 64})
    assert forged.status_code == 400
    missing = httpx.post(app_url + "/api/paypal/webhook", json=event, timeout=30)  # no PayPal headers at all
    assert missing.status_code == 400
    garbage = httpx.post(app_url + "/api/paypal/webhook", content=b"{not json", timeout=30)
    assert garbage.status_code == 400
    assert balance(org_id) == 0
    with session_scope() as s:
        assert s.exec(select(func.count()).select_from(PayPalWebhookEvent)).one() == 0


def test_reversal_debits_wallet_and_flags_org(pp, app_url, owner, state):
    actor, org_id = owner
    started = start_and_approve(actor, org_id, state, "30")
    run(topups.complete_topup(actor, org_id, started["order_id"]))
    with session_scope() as s:  # some of it was spent already: the reversal may take the wallet negative
        wallet._post(s, org_id, Decimal("-20"), "charge", actor=None, description="servers")
    cap_id = payment_row(started["order_id"]).paypal_capture_id
    resource = {"id": "REV" + uuid.uuid4().hex[:10].upper(), "status": "COMPLETED",
                "amount": {"currency_code": "USD", "value": "30.00"},
                "links": [{"href": f"{pp}/v2/payments/captures/{cap_id}", "rel": "up", "method": "GET"}]}
    event = state.make_event("PAYMENT.CAPTURE.REVERSED", resource, resource_type="refund")
    assert post_event(app_url, state, event).json()["result"] == "reversal debited"
    assert post_event(app_url, state, event).json()["result"] == "replay ignored"
    again = state.make_event("PAYMENT.CAPTURE.REVERSED", resource, resource_type="refund")
    assert post_event(app_url, state, again).json()["result"] == "already reversed"
    assert balance(org_id) == Decimal("-20")
    assert payment_row(started["order_id"]).status == "reversed"
    with session_scope() as s:
        flags = s.exec(select(PaymentFlag).where(PaymentFlag.organization_id == org_id)).all()
    assert len(flags) == 1 and "chargeback" in flags[0].reason


# ---- refunds (admin) ----------------------------------------------------------------------------

@pytest.fixture()
def admin(db):
    return make_user(f"admin-{uuid.uuid4().hex[:6]}@example.com", "Admin", admin=True)[1]


def credited(actor, org_id, state, amount="50") -> Payment:
    started = start_and_approve(actor, org_id, state, amount)
    run(topups.complete_topup(actor, org_id, started["order_id"]))
    return payment_row(started["order_id"])


def test_partial_then_full_refund(pp, app_url, owner, state, admin):
    actor, org_id = owner
    pay = credited(actor, org_id, state)
    part = run(topups.refund_payment(admin, pay.id, "20", "Customer asked"))
    assert part["status"] == "completed" and part["paypal_refund_id"]
    assert balance(org_id) == Decimal("30") and payment_row(pay.paypal_order_id).status == "partially_refunded"
    rest = run(topups.refund_payment(admin, pay.id, "30.00", "Closing account"))
    assert rest["status"] == "completed" and balance(org_id) == 0
    assert payment_row(pay.paypal_order_id).status == "refunded"
    assert state.captures[pay.paypal_capture_id]["status"] == "REFUNDED"
    # PayPal's REFUNDED webhook for our own refund debits nothing more
    ref = dict(state.refunds[part["paypal_refund_id"]])
    event = state.make_event("PAYMENT.CAPTURE.REFUNDED", ref, resource_type="refund")
    assert post_event(app_url, state, event).json()["result"] == "refund confirmed"
    assert balance(org_id) == 0
    listed, total = topups.admin_payments(admin)
    assert total == 1 and [r["status"] for r in listed[0]["refunds"]] == ["completed", "completed"]


def test_refund_over_remainder_refused(pp, owner, state, admin):
    actor, org_id = owner
    pay = credited(actor, org_id, state)
    run(topups.refund_payment(admin, pay.id, "45", "Most of it"))
    with pytest.raises(ValidationError, match=r"unrefunded remainder of this payment \(\$5.00\)"):
        run(topups.refund_payment(admin, pay.id, "5.01", "Too much"))
    assert balance(org_id) == Decimal("5")


def test_refund_over_balance_refused(pp, owner, state, admin):
    actor, org_id = owner
    pay = credited(actor, org_id, state)
    with session_scope() as s:
        wallet._post(s, org_id, Decimal("-45"), "charge", actor=None, description="servers")
    with pytest.raises(ValidationError, match=r"wallet balance \(\$5.00\)"):
        run(topups.refund_payment(admin, pay.id, "10", "Refund"))
    with session_scope() as s:
        assert s.exec(select(func.count()).select_from(PaymentRefund)).one() == 0
    assert len(state.refunds) == 0


def test_refund_refused_by_paypal_gives_money_back(pp, owner, state, admin):
    actor, org_id = owner
    pay = credited(actor, org_id, state)
    state.captures[pay.paypal_capture_id]["_refunded"] = "50.00"  # refunded at PayPal meanwhile
    result = run(topups.refund_payment(admin, pay.id, "10", "Refund"))
    assert result["status"] == "failed" and "CAPTURE_FULLY_REFUNDED" in result["failure"]
    assert balance(org_id) == Decimal("50") and payment_row(pay.paypal_order_id).refunded_amount == 0


def test_refund_needs_admin_and_valid_input(pp, owner, state, admin):
    actor, org_id = owner
    pay = credited(actor, org_id, state)
    with pytest.raises(PermissionDenied):
        run(topups.refund_payment(actor, pay.id, "10", "Self refund"))
    for bad in ("-5", "0", "abc", 1.5, "10.001"):
        with pytest.raises(ValidationError):
            run(topups.refund_payment(admin, pay.id, bad, "Reason"))
    with pytest.raises(ValidationError, match="reason"):
        run(topups.refund_payment(admin, pay.id, "5", " "))
    with pytest.raises(NotFound):
        run(topups.refund_payment(admin, "not-a-uuid", "5", "Reason"))
    assert balance(org_id) == Decimal("50")


# ---- a top-up ends a suspension at once ------------------------------------------------------

from tests.integration.test_dunning import (  # noqa: E402  (fixtures and helpers of the dunning tests)
    _provider_status,
    _server_rows,
    _set_balance,
    instant_provider,  # noqa: F401
    world,  # noqa: F401
)


async def test_a_top_up_that_clears_the_debt_resumes_suspended_servers_at_once(pp, world, state):
    from datetime import timedelta

    from skypanel.backend.models.base import utcnow
    from skypanel.backend.services import dunning, server_sync

    org, ids = world["org"], world["servers"]
    _set_balance(org, "-12.3901")
    await dunning.run(now=utcnow() + timedelta(hours=24, minutes=5))
    assert all(r.suspended_at for r in _server_rows(ids))
    await server_sync.sync_all(force=True)  # time passes: the provider has them powered off
    assert all(_provider_status(r) == "offline" for r in _server_rows(ids))

    started = await topups.start_topup(world["owner"], str(org), "20.00")
    state.approve(started["order_id"])
    done = await topups.complete_topup(world["owner"], str(org), started["order_id"])
    assert done["status"] == "completed"
    # No dunning run in between: the credit itself brought the servers back.
    rows = _server_rows(ids)
    assert not any(r.suspended_at for r in rows)
    assert all(_provider_status(r) == "running" for r in rows)
