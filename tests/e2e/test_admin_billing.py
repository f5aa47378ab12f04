"""A platform admin opens the billing-health page, runs billing by hand (spinner, then a toast) and
sees the run in the table; a customer is sent back to the portal."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.integration.factories import PASSWORD, make_user

from .helpers import sign_in, unique_email, wait_for_url

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


def test_admin_runs_billing_now_and_sees_the_run(new_context):
    admin_email, customer_email = unique_email("bill-admin"), unique_email("bill-cust")
    make_user(admin_email, "Bea Admin", admin=True)
    make_user(customer_email, "Cid Customer")

    page = new_context().new_page()
    sign_in(page, email=admin_email, password=PASSWORD)
    page.goto("/admin/billing")
    expect(page.get_by_role("heading", name="Billing health")).to_be_visible()
    page.get_by_role("button", name="Run now").click()
    expect(page.get_by_text(re.compile(r"Billing run finished: \d+ server-hours")).first).to_be_visible(timeout=60_000)
    expect(page.get_by_role("heading", name="Recent runs")).to_be_visible()
    expect(page.get_by_role("cell", name="admin").first).to_be_visible()

    other = new_context().new_page()
    sign_in(other, email=customer_email, password=PASSWORD)
    other.goto("/admin/billing")
    wait_for_url(other, "/dashboard")
