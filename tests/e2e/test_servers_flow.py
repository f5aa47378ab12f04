"""A customer with funds creates a server with the wizard on the simulated provider, watches it
reach Running without reloading, reboots it, resizes it (seeing the price difference first) and
deletes it with label + password; the billing page shows the first-hour charge. The provider
account and plans are set up through the same services the admin pages call (the admin pages
themselves are driven in test_admin_simulated_provider.py and test_admin_plans.py)."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from skypanel.backend.config import PROJECT_ROOT
from skypanel.backend.db import session_scope
from skypanel.backend.services import catalog, plans, provider_accounts, wallet
from tests.integration.factories import PASSWORD, make_user, personal_org

from .helpers import sign_in, unique_email

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

SHOTS = PROJECT_ROOT / "test-results"
WAIT = 60_000  # a state change takes a few seconds at the e2e delay scale; sync ticks every 5 s


def _cloud(tag: str) -> None:
    admin = make_user(unique_email("ops"), "Ops", admin=True)[1]
    account = provider_accounts.add_account(admin, kind="simulated", name=f"Sim {tag}", token="")
    provider_accounts.update_account(admin, account["id"], allowed_regions=[
        {"id": "sim-fra", "label": f"Frankfurt {tag}"}])
    # Playwright's sync API runs an event loop in this thread: the async refresh gets its own thread.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, catalog.refresh(account["id"])).result()
    for pid, name in (("sim-1c-1g", f"Tiny {tag}"), ("sim-1c-2g", f"Bigger {tag}")):
        plans.create_plan(admin, provider_account_id=account["id"], provider_plan_id=pid, name=name,
                          category="standard", markup="2", backup_price="1", regions=["sim-fra"])


def test_customer_creates_watches_reboots_resizes_and_deletes_a_server(new_context):
    tag = unique_email("x")[2:8]
    _cloud(tag)
    email = unique_email("cara")
    user_id, _ = make_user(email, "Cara Cloud")
    org = personal_org(user_id)
    with session_scope() as s:
        wallet._post(s, org, Decimal("40"), "topup", actor=None, description="e2e funds")

    page = new_context().new_page()
    sign_in(page, email=email, password=PASSWORD)
    page.goto("/vps")
    expect(page.get_by_role("link", name="Create server").or_(
        page.get_by_role("button", name="Create server")).first).to_be_visible(timeout=WAIT)
    page.get_by_role("link", name="Create server").or_(page.get_by_role("button", name="Create server")).first.click()

    # Wizard: location -> plan -> image -> details -> backups -> review.
    page.get_by_role("radio", name=f"Frankfurt {tag}").click()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("radio", name=f"Tiny {tag}").click()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("radio", name="Debian 12").click()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Label", exact=True).fill("web-1")
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_test_id("password-strength")).to_be_visible()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Continue").click()  # backups stay off
    costs = page.get_by_test_id("review-costs")
    expect(costs).to_contain_text("$7.00")  # $5 provider plan + $2 markup per month
    expect(costs).to_contain_text("$0.0096")  # ... per hour (7 / 730)
    page.get_by_test_id("create-server").click()

    # The detail page: the badge moves to Running without a reload.
    page.wait_for_url(re.compile(r".*/vps/[0-9a-f-]{36}$"), timeout=WAIT)
    status = page.get_by_test_id("server-status")
    expect(status).to_have_text(re.compile("Provisioning|Booting|Running"), timeout=WAIT)
    expect(status).to_have_text("Running", timeout=WAIT)
    expect(page.get_by_text("Simulated").first).to_be_visible()

    # Reboot with confirmation; the badge shows it and comes back.
    page.get_by_role("button", name="Reboot").first.click()
    page.get_by_role("alertdialog").get_by_role("button", name="Reboot").click()
    expect(status).to_have_text(re.compile("Rebooting"), timeout=WAIT)
    expect(status).to_have_text("Running", timeout=WAIT)

    # Resize: the price difference is shown before confirming.
    page.get_by_role("tab", name="Resize").click()
    page.get_by_role("button", name=f"Choose Bigger {tag}").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("$7.00")
    expect(dialog).to_contain_text("$14.00")
    dialog.get_by_role("button", name="Resize server").click()
    expect(status).to_have_text(re.compile("Resizing"), timeout=WAIT)
    expect(status).to_have_text("Running", timeout=WAIT)
    page.get_by_role("tab", name="Overview").click()
    expect(page.get_by_text(f"Bigger {tag}").first).to_be_visible(timeout=WAIT)
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "servers-flow-detail.png"), full_page=True)

    # Delete: the label typed again and the password.
    page.get_by_role("tab", name="Delete").click()
    page.get_by_role("button", name="Delete server").first.click()
    page.get_by_label("Type web-1 to confirm").fill("web-1")
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Delete server permanently").click()
    page.wait_for_url(re.compile(r".*/vps$"), timeout=WAIT)
    expect(page.get_by_role("link", name="web-1")).to_have_count(0, timeout=WAIT)

    # The ledger shows the first hour charged at creation.
    page.goto("/billing")
    expect(page.get_by_text("web-1: first hour", exact=False).first).to_be_visible(timeout=WAIT)
