"""An owner adds funds on /billing: picks an amount in the Add funds dialog, approves on the local
PayPal stand-in's page (the app runs without PayPal credentials), comes back to the return page,
which captures the payment, and sees the new balance there and on /billing. Reloading the return
page credits nothing more."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from skypanel.backend.db import session_scope
from skypanel.backend.models import Wallet
from skypanel.backend.services import wallet
from tests.integration.factories import PASSWORD, make_user, personal_org

from .helpers import sign_in, unique_email

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


def test_add_funds_through_the_standin_approve_page(page):
    email = unique_email("payer")
    uid, _ = make_user(email, "Pat Payer")
    org_id = personal_org(uid)
    sign_in(page, email=email, password=PASSWORD)

    page.goto("/billing")
    page.get_by_role("button", name="Add funds").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Between $5.00 and $1,000.00.")).to_be_visible()
    dialog.get_by_label("Amount (USD)").fill("3")
    dialog.get_by_role("button", name="Continue to PayPal").click()
    expect(dialog.get_by_role("alert")).to_contain_text("smallest top-up is $5.00")
    dialog.get_by_role("button", name="Add $50").click()
    dialog.get_by_role("button", name="Continue to PayPal").click()

    page.wait_for_url(re.compile(r"/paypal-standin/checkoutnow\?token="))
    expect(page.get_by_text("not PayPal")).to_be_visible()
    expect(page.get_by_label("Amount")).to_have_text("50.00 USD")
    page.get_by_role("button", name="Approve payment").click()

    page.wait_for_url(re.compile(r"/billing/topup/return/?\?token="))
    expect(page.get_by_text("Payment received")).to_be_visible()
    expect(page.get_by_test_id("topup-balance")).to_have_text("$50.00")
    page.reload()  # the return page again: still one credit
    expect(page.get_by_text("Payment received")).to_be_visible()

    page.get_by_role("button", name="Back to billing").click()
    page.wait_for_url(re.compile(r"/billing/?$"))
    expect(page.get_by_test_id("wallet-balance")).to_contain_text("$50.00")
    with session_scope() as s:
        assert s.exec(select(Wallet.balance).where(Wallet.organization_id == org_id)).one() == Decimal("50")
        assert wallet.invariant_violations(s) == []
