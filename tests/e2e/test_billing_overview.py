"""/billing in the production build: an organization with two servers sees its burn rate, runway, the
30-day chart and spend per server; once its balance has been negative past the grace period (the
dunning run is given a later clock) it is suspended, and the portal shows the banner with the
amount to add on every page, and the suspension on the billing page. Hours billed by the engine
(its clock moved two hours on) show on /billing as one debit and in the spend per server."""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from skypanel.backend.config import PROJECT_ROOT
from skypanel.backend.db import session_scope
from skypanel.backend.models.base import utcnow
from skypanel.backend.services import billing, catalog, dunning, plans, provider_accounts, servers, wallet
from skypanel.backend.services.context import Actor
from tests.integration.factories import PASSWORD, make_user, personal_org

from .helpers import sign_in, unique_email

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]
SHOTS = PROJECT_ROOT / "test-results"
WAIT = 60_000


def _run(coro):
    # Playwright's sync API runs an event loop in this thread: async services get their own thread.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _org_with_two_servers(name: str) -> tuple[str, object]:
    """A customer (email returned) whose organization has $10 and two servers at $0.01/h."""
    tag = unique_email("x")[2:8]
    _, admin = make_user(unique_email("ops"), "Ops", admin=True)
    account = provider_accounts.add_account(admin, kind="simulated", name=f"Sim {tag}", token="")
    provider_accounts.update_account(admin, account["id"], allowed_regions=[{"id": "sim-fra", "label": "Frankfurt"}])
    _run(catalog.refresh(account["id"]))
    plan = plans.create_plan(admin, provider_account_id=account["id"], provider_plan_id="sim-1c-1g",
                             name=f"Tiny {tag}", category="standard", markup="2.30", backup_price="0",
                             regions=["sim-fra"])["id"]
    email = unique_email(name.split()[0].lower())
    user_id, owner = make_user(email, name)
    org = personal_org(user_id)
    with session_scope() as s:
        wallet._post(s, org, Decimal("10"), "topup", actor=None, description="e2e funds")
    for label in ("api-1", "api-2"):
        _run(servers.create_server(owner, str(org), plan_id=plan, region="sim-fra", image="debian-12", label=label,
                                   root_password="Dunning-E2E-Root-91", delay_scale=0))
    return email, org


def test_billing_overview_then_suspension_banner(new_context):
    email, org = _org_with_two_servers("Dora Dunning")

    page = new_context().new_page()
    sign_in(page, email=email, password=PASSWORD)
    page.goto("/billing")
    expect(page.get_by_test_id("billing-runway")).to_contain_text("lasts about 20 days 19 hours", timeout=WAIT)
    expect(page.get_by_text("$0.02/h")).to_be_visible()
    expect(page.get_by_test_id("billing-chart").locator("svg").first).to_be_visible()
    expect(page.get_by_role("link", name="api-1")).to_be_visible()
    expect(page.get_by_test_id("billing-banner")).to_have_count(0)
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "billing-overview.png"), full_page=True)

    with session_scope() as s:
        wallet._post(s, org, Decimal("-12.3901"), "charge", actor=Actor.system(), description="e2e usage",
                     allow_overdraft=True)
    _run(dunning.run(now=utcnow() + timedelta(hours=25)))
    page.goto("/vps")
    banner = page.get_by_test_id("billing-banner")
    expect(banner).to_contain_text("Add $2.42 to resume your servers", timeout=WAIT)
    banner.get_by_role("link", name="Go to billing").click()
    expect(page.get_by_test_id("billing-suspension")).to_contain_text("Add $2.42 to resume your servers",
                                                                       timeout=WAIT)
    page.screenshot(path=str(SHOTS / "billing-suspended.png"), full_page=True)


def test_hours_billed_by_the_engine_show_on_the_billing_page(new_context):
    email, org = _org_with_two_servers("Hal Hourly")
    # The engine's clock two hours on: both servers' next two hours are due (the first was charged
    # at creation), billed as one debit for the organization.
    result = billing.run_hourly(now=utcnow() + timedelta(hours=2), trigger="manual")
    assert not result.skipped

    page = new_context().new_page()
    sign_in(page, email=email, password=PASSWORD)
    page.goto("/billing")
    row = page.get_by_role("row").filter(has_text="Hourly billing: 4 server-hours")
    expect(row).to_contain_text("-$0.04", timeout=WAIT)
    expect(row).to_contain_text("Charge")
    spend = page.get_by_role("row").filter(has=page.get_by_role("link", name="api-1", exact=True))
    expect(spend).to_contain_text("$0.03")  # three hours this month: the first at creation, two billed
    expect(page.get_by_text("$9.94", exact=True).first).to_be_visible()  # 10 - 2 x 0.01 - 0.04
