"""A platform admin connects a DigitalOcean account (a stand-in on a loopback socket), tests the
connection and never sees the token again; a customer is kept out of /admin/providers."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from skypanel.backend.providers.standins import digitalocean_api
from tests.contract.server import serve
from tests.integration.factories import PASSWORD, make_user

from .helpers import sign_in, unique_email, wait_for_url

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

DO_TOKEN = "dop_v1_e2e" + "7" * 40 + "Qx9Z"


def test_admin_adds_and_tests_a_digitalocean_account(new_context):
    admin_email, customer_email = unique_email("ada"), unique_email("carl")
    make_user(admin_email, "Ada Admin", admin=True)
    make_user(customer_email, "Carl Customer")
    name = "DO stand-in " + admin_email[4:12]

    state = digitalocean_api.StandInState(token=DO_TOKEN)
    with serve(digitalocean_api.create_app(state)) as do_url:
        page = new_context().new_page()
        sign_in(page, email=admin_email, password=PASSWORD)
        page.goto("/admin/providers")
        expect(page.get_by_role("heading", name="Providers", exact=True)).to_be_visible()
        page.get_by_role("button", name="Add provider").first.click()

        dialog = page.get_by_role("dialog", name="Add a provider")
        dialog.get_by_label("Provider").click()
        page.get_by_role("option", name="DigitalOcean").click()
        dialog.get_by_label("Name").fill(name)
        # A wrong token is checked with the provider and refused with its message; nothing is saved.
        dialog.get_by_label("API token").fill("dop_v1_" + "0" * 64)
        dialog.get_by_label("API base URL (optional)").fill(do_url)
        dialog.get_by_role("button", name="Add provider").click()
        expect(dialog.get_by_text("DigitalOcean did not accept this token", exact=False)).to_be_visible()
        dialog.get_by_label("API token").fill(DO_TOKEN)
        dialog.get_by_role("button", name="Add provider").click()
        expect(dialog).to_be_hidden()

        row = page.get_by_role("row").filter(has_text=name)
        expect(row).to_be_visible()
        expect(row.get_by_text("DigitalOcean", exact=True)).to_be_visible()
        expect(row.get_by_text("•••• " + DO_TOKEN[-4:])).to_be_visible()
        expect(row.get_by_text("Connected", exact=True)).to_be_visible()  # the token was checked when added

        row.get_by_role("button", name="Test connection").click()
        expect(page.get_by_text(re.compile(r"Connected to DigitalOcean: \d+ region\(s\) available\.")).first).to_be_visible()
        expect(row.get_by_text("Connected", exact=True)).to_be_visible()
        assert ("GET", "/v2/regions") in state.requests

        # The token never reaches the page (only its last four characters).
        page.reload()
        expect(page.get_by_role("row").filter(has_text=name)).to_be_visible()
        assert DO_TOKEN not in page.content()
        assert DO_TOKEN[:-4] not in page.content()

        # Regions offered to customers, the active flag, a new token, then delete.
        row = page.get_by_role("row").filter(has_text=name)
        row.get_by_role("button", name="Regions").click()
        regions = page.get_by_role("dialog", name="Allowed regions")
        regions.get_by_label("Regions").fill("nyc3 = New York\nams3 = Amsterdam")
        regions.get_by_role("button", name="Save regions").click()
        expect(regions).to_be_hidden()
        expect(page.get_by_text(f"{name}: 2 region(s) offered to customers.")).to_be_visible()

        row.get_by_role("switch", name="Active: " + name).click()
        expect(page.get_by_text(f"{name} is now inactive.")).to_be_visible()
        expect(row.get_by_role("switch", name="Active: " + name)).not_to_be_checked()

        new_token = DO_TOKEN[:-4] + "Wq7k"
        state.token = new_token  # the provider issued a new token; the replacement is checked with it
        row.get_by_role("button", name="Rotate token").click()
        rotate = page.get_by_role("dialog", name="Rotate token")
        rotate.get_by_label("New API token").fill(new_token)
        rotate.get_by_role("button", name="Replace token").click()
        expect(rotate).to_be_hidden()
        expect(row.get_by_text("•••• Wq7k")).to_be_visible()
        expect(row.get_by_text("Never tested")).to_be_visible()
        assert new_token not in page.content()

        row.get_by_role("button", name="Delete").click()
        page.get_by_role("alertdialog").get_by_role("button", name="Delete provider").click()
        expect(page.get_by_text(f"Deleted {name}.")).to_be_visible()
        expect(page.get_by_role("row").filter(has_text=name)).to_have_count(0)

    # A customer is sent back to their dashboard.
    customer = new_context().new_page()
    sign_in(customer, email=customer_email, password=PASSWORD)
    customer.goto("/admin/providers")
    wait_for_url(customer, "/dashboard")
    expect(customer.get_by_text(name)).to_have_count(0)
