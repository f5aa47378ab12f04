"""A platform admin adds the built-in simulated provider: no token field, a "Simulated" badge, and
"Test connection" answers from the built-in catalogue."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from skypanel.backend.config import PROJECT_ROOT
from tests.integration.factories import PASSWORD, make_user

from .helpers import sign_in, unique_email

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


def test_admin_adds_the_simulated_provider_without_a_token(new_context):
    admin_email = unique_email("sam")
    make_user(admin_email, "Sam Admin", admin=True)
    name = "Sim " + admin_email[4:12]

    page = new_context().new_page()
    sign_in(page, email=admin_email, password=PASSWORD)
    page.goto("/admin/providers")
    page.get_by_role("button", name="Add provider").first.click()
    dialog = page.get_by_role("dialog", name="Add a provider")
    expect(dialog.get_by_label("API token")).to_be_visible()  # Linode is the default kind
    dialog.get_by_label("Provider").click()
    page.get_by_role("option", name="Simulated (built-in, no cloud)").click()
    expect(dialog.get_by_label("API token")).to_have_count(0)
    expect(dialog.get_by_label("API base URL (optional)")).to_have_count(0)
    expect(dialog.get_by_text("No token is needed.", exact=False)).to_be_visible()
    dialog.get_by_label("Name").fill(name)
    page.screenshot(path=str(PROJECT_ROOT / "test-results" / "admin-add-simulated-provider.png"))
    dialog.get_by_role("button", name="Add provider").click()
    expect(dialog).to_be_hidden()

    row = page.get_by_role("row").filter(has_text=name)
    expect(row.get_by_text("Simulated", exact=True)).to_be_visible()
    expect(row.get_by_text("No token")).to_be_visible()
    expect(row.get_by_role("button", name="Rotate token")).to_have_count(0)
    row.get_by_role("button", name="Test connection").click()
    expect(page.get_by_text("Connected to Simulated: 4 region(s) available.").first).to_be_visible()
    expect(row.get_by_text("Connected", exact=True)).to_be_visible()
    page.screenshot(path=str(PROJECT_ROOT / "test-results" / "admin-simulated-provider-row.png"), full_page=True)
