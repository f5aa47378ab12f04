"""A customer finds last month's statement from /billing, opens it and downloads it as a valid PDF
(checked with pypdf: it carries the number and the closing balance); the billing profile is saved
from /billing/invoices (a bad tax id explained inline first). Screenshots go to test-results/."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from skypanel.backend.config import PROJECT_ROOT
from skypanel.backend.db import session_scope
from skypanel.backend.services import invoices, wallet
from tests.integration.factories import PASSWORD, make_actor, make_user, personal_org

from .helpers import sign_in, unique_email

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

SHOTS = PROJECT_ROOT / "test-results"


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.wait_for_timeout(400)
    page.screenshot(path=str(SHOTS / f"invoices-{name}.png"), full_page=True)


def test_monthly_statement_downloads_as_a_pdf(new_context, monkeypatch):
    email = unique_email("ivy")
    uid, _ = make_user(email, "Ivy Invoice")
    org = personal_org(uid)
    last_month = invoices.previous_month()
    start, _ = invoices.month_bounds(last_month)
    monkeypatch.setattr(wallet, "utcnow", lambda: start + timedelta(days=3))  # last month's ledger
    with session_scope() as s:
        entry = wallet._post(s, org, Decimal("80"), "topup", actor=None, reference="CAP-E2E", description="PayPal top-up")
        invoices.issue_receipt(s, org, entry.id)
        wallet._post(s, org, Decimal("-12.5"), "charge", actor=None, description="Server usage")
    monkeypatch.undo()
    with session_scope() as s:
        number = invoices.generate_statement(s, org, last_month).number

    page = new_context(accept_downloads=True).new_page()
    sign_in(page, email=email, password=PASSWORD)
    page.goto("/billing")
    page.get_by_role("link", name="Invoices").click()
    expect(page.get_by_role("heading", name="Invoices", exact=True)).to_be_visible()
    row = page.get_by_role("row").filter(has_text=number)
    expect(row).to_contain_text("Monthly statement")
    expect(row).to_contain_text("$67.50")
    shot(page, "list")

    # the billing profile: a bad tax id is explained, then a good one saves
    page.get_by_label("Legal name").fill("Ivy Industries Ltd")
    page.get_by_label("Address", exact=True).fill("1 Harbour Street")
    page.get_by_label("City").fill("Dublin")
    page.get_by_label("Postal code").fill("D02 XY45")
    page.get_by_role("combobox", name="Country").click()
    page.get_by_role("option", name="Ireland").click()
    page.get_by_label("Tax ID (optional)").fill("IE;")
    page.get_by_role("button", name="Save billing profile").click()
    expect(page.get_by_text("Tax ID must be 4 to 40")).to_be_visible()
    page.get_by_label("Tax ID (optional)").fill("IE1234567T")
    page.get_by_role("button", name="Save billing profile").click()
    expect(page.get_by_text("Billing profile saved.")).to_be_visible()
    assert invoices.get_profile(make_actor(uid), org)["country"] == "IE"

    page.get_by_role("link", name=number, exact=True).click()
    expect(page.get_by_test_id("invoice-number")).to_have_text(number)
    expect(page.get_by_text("Closing balance").first).to_be_visible()
    expect(page.get_by_text("$67.50").first).to_be_visible()
    shot(page, "statement")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download PDF").click()
    download = info.value
    assert download.suggested_filename == f"{number}.pdf"
    body = open(download.path(), "rb").read()
    assert body.startswith(b"%PDF-")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages)
    assert number in text and "$67.50" in text and "Monthly statement" in text

    phone = new_context(viewport={"width": 390, "height": 844}, color_scheme="dark").new_page()
    sign_in(phone, email=email, password=PASSWORD)
    phone.goto("/billing/invoices")
    expect(phone.get_by_role("link", name=number, exact=True)).to_be_visible()
    shot(phone, "phone-dark")
