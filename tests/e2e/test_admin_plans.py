"""A platform admin prices a plan from the built-in simulated provider's catalog: refreshes the
catalog, picks a provider plan (base price prefilled), sets a markup and a backup upcharge while the
monthly and hourly prices update live, chooses regions, edits the price (it applies from the next
hour), renames a category, and cannot delete a plan a server uses. A customer is kept out."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from skypanel.backend.config import PROJECT_ROOT
from skypanel.backend.db import session_scope
from skypanel.backend.models import Plan, Server
from skypanel.backend.services import provider_accounts as pa
from tests.integration.factories import PASSWORD, make_user, personal_org

from .helpers import sign_in, unique_email, wait_for_url

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

SHOTS = PROJECT_ROOT / "test-results"


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"admin-plans-{name}.png"), full_page=True)


def test_admin_prices_a_plan_from_the_simulated_catalog(new_context):
    admin_email, customer_email = unique_email("ada"), unique_email("carl")
    _, admin = make_user(admin_email, "Ada Admin", admin=True)
    customer_id, _ = make_user(customer_email, "Carl Customer")
    suffix = admin_email[4:10]
    account_name = f"Sim {suffix}"
    account = pa.add_account(admin, kind="simulated", name=account_name, token="")["id"]
    pa.update_account(admin, account, allowed_regions=[
        {"id": "sim-nyc", "label": "New York"}, {"id": "sim-fra", "label": "Frankfurt"},
        {"id": "sim-sgp", "label": "Singapore"}])
    plan_name = f"Cloud {suffix}"

    page = new_context().new_page()
    sign_in(page, email=admin_email, password=PASSWORD)
    page.goto("/admin/plans")
    expect(page.get_by_role("heading", name="Plans", exact=True)).to_be_visible()
    page.get_by_role("button", name="New plan").first.click()

    dialog = page.get_by_role("dialog", name="New plan")
    expect(dialog.get_by_text("catalog has not been read yet", exact=False)).to_be_visible()
    dialog.get_by_label("Provider account").click()
    page.get_by_role("option", name=f"{account_name} (Simulated)").click()
    dialog.get_by_role("button", name="Refresh catalog").click()
    expect(page.get_by_text(re.compile(r"Catalog refreshed: 6 plans, 4 regions, \d+ images\.")).first).to_be_visible()
    expect(dialog.get_by_text("Catalog read", exact=False)).to_be_visible()

    dialog.get_by_label("Provider plan").click()
    page.get_by_role("option", name=re.compile(r"^Simulated 32 GB")).click()  # not sold in Singapore
    expect(dialog.get_by_label("Base price (provider cost)")).to_have_value("192")
    expect(dialog.get_by_role("checkbox", name="Singapore")).to_have_count(0)
    dialog.get_by_label("Provider plan").click()
    page.get_by_role("option", name=re.compile(r"^Simulated 2 GB")).click()
    expect(dialog.get_by_label("Base price (provider cost)")).to_have_value("12")
    expect(dialog.get_by_text("the provider charges $12.00/mo", exact=False)).to_be_visible()
    for region in ("New York", "Frankfurt", "Singapore"):
        expect(dialog.get_by_role("checkbox", name=region)).to_be_checked()

    dialog.get_by_label("Retail name").fill(plan_name)
    dialog.get_by_label("Category").click()
    page.get_by_role("option", name="Dedicated CPU").click()
    dialog.get_by_label("Markup").fill("3")
    dialog.get_by_label("Backup upcharge").fill("2.50")
    expect(dialog.get_by_test_id("preview-monthly")).to_have_text("$15.00")
    expect(dialog.get_by_test_id("preview-hourly")).to_have_text("$0.0205")
    expect(dialog.get_by_test_id("preview-backup-hourly")).to_have_text("$0.0034")
    dialog.get_by_role("checkbox", name="Singapore").click()
    expect(dialog.get_by_role("checkbox", name="Singapore")).not_to_be_checked()
    shot(page, "new-dialog")

    # A negative markup is refused in the dialog, with the service's reason.
    dialog.get_by_label("Markup").fill("-1")
    dialog.get_by_role("button", name="Create plan").click()
    expect(dialog.get_by_text("must not sell below the provider's cost", exact=False)).to_be_visible()
    dialog.get_by_label("Markup").fill("3")
    dialog.get_by_role("button", name="Create plan").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_text(f"Created {plan_name} at $15.00/mo ($0.0205/h).")).to_be_visible()

    row = page.get_by_role("row").filter(has_text=plan_name)
    expect(row).to_be_visible()
    for text in ("Dedicated CPU", "$12.00 + $3.00", "Backups +$2.50", "$15.00/mo", "$0.0205/h", "New York", "Frankfurt",
                 "1 vCPU · 2 GB RAM · 50 GB disk · 2 TB transfer"):
        expect(row.get_by_text(text, exact=True).first).to_be_visible()
    expect(row.get_by_text("Singapore")).to_have_count(0)
    with session_scope() as s:
        stored = s.exec(select(Plan).where(Plan.name == plan_name)).one()
        plan_id = stored.id
        assert (stored.base_price, stored.markup, stored.backup_price) == (Decimal("12"), Decimal("3"), Decimal("2.5"))
        assert stored.regions == ["sim-nyc", "sim-fra"] and stored.category == "cpu"

    # Edit the markup: the new price applies to billing hours from the next hour.
    row.get_by_role("button", name=f"Edit {plan_name}").click()
    edit = page.get_by_role("dialog", name="Edit plan")
    expect(edit.get_by_label("Markup")).to_have_value("3")
    expect(edit.get_by_text("new billing hours only", exact=False)).to_be_visible()
    edit.get_by_label("Markup").fill("4.5")
    expect(edit.get_by_test_id("preview-monthly")).to_have_text("$16.50")
    edit.get_by_role("button", name="Save plan").click()
    expect(edit).to_be_hidden()
    expect(page.get_by_text(re.compile(r"The new price applies to billing hours from \d\d:00 UTC\.")).first).to_be_visible()
    expect(row.get_by_text(re.compile(r"From \d\d:\d\d: \$16\.50/mo"))).to_be_visible()

    # Deactivate and reactivate.
    switch = row.get_by_role("switch", name=f"Active: {plan_name}")
    switch.click()
    expect(page.get_by_text(f"{plan_name} is no longer offered.", exact=False)).to_be_visible()
    expect(switch).not_to_be_checked()
    switch.click()
    expect(switch).to_be_checked()

    # White-label category names.
    page.get_by_role("button", name="Category names").click()
    names = page.get_by_role("dialog", name="Category names")
    names.get_by_label("Name for “Dedicated CPU” plans").fill(f"Turbo {suffix}")
    names.get_by_role("button", name="Save names").click()
    expect(names).to_be_hidden()
    expect(row.get_by_text(f"Turbo {suffix}")).to_be_visible()
    names_reset = page.get_by_role("button", name="Category names")
    names_reset.click()
    names.get_by_label("Name for “Dedicated CPU” plans").fill("Dedicated CPU")
    names.get_by_role("button", name="Save names").click()
    expect(names).to_be_hidden()

    shot(page, "desktop-light")

    # A server uses the plan: deleting is refused with the reason.
    with session_scope() as s:
        s.add(Server(organization_id=personal_org(customer_id), provider_account_id=uuid.UUID(account),
                     provider_kind="simulated", provider_instance_id=uuid.uuid4().hex[:12], plan_id=plan_id,
                     provider_plan_id="sim-1c-2g", label="web-1", status="running", region="sim-nyc",
                     image="debian-12"))
    page.reload()
    row = page.get_by_role("row").filter(has_text=plan_name)
    expect(row.get_by_role("cell", name="1", exact=True)).to_be_visible()
    row.get_by_role("button", name=f"Delete {plan_name}").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Delete plan").click()
    expect(page.get_by_text("1 server(s) use", exact=False)).to_be_visible()
    expect(page.get_by_role("row").filter(has_text=plan_name)).to_have_count(1)

    # Dark mode and a phone, for the screenshots.
    dark = new_context(color_scheme="dark").new_page()
    sign_in(dark, email=admin_email, password=PASSWORD)
    dark.goto("/admin/plans")
    expect(dark.get_by_role("row").filter(has_text=plan_name)).to_be_visible()
    shot(dark, "desktop-dark")
    dark.get_by_role("row").filter(has_text=plan_name).get_by_role("button", name=f"Edit {plan_name}").click()
    expect(dark.get_by_role("dialog", name="Edit plan")).to_be_visible()
    shot(dark, "edit-dialog-dark")

    phone = new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True).new_page()
    sign_in(phone, email=admin_email, password=PASSWORD)
    phone.goto("/admin/plans")
    expect(phone.get_by_text(plan_name).last).to_be_visible()
    shot(phone, "phone")
    phone.get_by_role("button", name="New plan").first.click()
    expect(phone.get_by_role("dialog", name="New plan")).to_be_visible()
    shot(phone, "phone-new-dialog")

    # A customer is sent back to their dashboard.
    customer = new_context().new_page()
    sign_in(customer, email=customer_email, password=PASSWORD)
    customer.goto("/admin/plans")
    wait_for_url(customer, "/dashboard")
    expect(customer.get_by_text(plan_name)).to_have_count(0)
