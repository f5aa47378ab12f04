"""The invoice pages' handlers as a browser drives them (Reflex's own event processing): the owner
sees her document and saves her profile; a member of another organization who puts her invoice id
in the URL gets "not found" and none of her data; hostile payloads change nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from skypanel.backend.db import session_scope
from skypanel.backend.models import BillingProfile
from skypanel.backend.services import auth, invoices, wallet
from skypanel.state.invoices import InvoicesState, InvoiceViewState
from skypanel.state.session import BAD_REQUEST

from .factories import PASSWORD, make_user, personal_org
from .reflex_client import Client, register_pages

A_LEGAL = "Aurora Confidential Ltd"


@pytest.fixture(scope="module", autouse=True)
def _pages_registered():
    register_pages()


def _login(email: str, ip: str) -> str:
    return auth.login(email=email, password=PASSWORD, ip=ip, user_agent="pytest-state-client")["session_token"]


@pytest.fixture()
def world(db) -> dict:
    alice_id, alice = make_user("alice@aurora.example.com", "Alice Aurora")
    a = personal_org(alice_id)
    invoices.update_profile(alice, a, {"legal_name": A_LEGAL, "address_line1": "7 Secret Row", "city": "Reykjavik",
                                       "country": "IS", "tax_id": "IS-998877"})
    with session_scope() as s:
        entry = wallet._post(s, a, Decimal("75"), "topup", actor=None, reference="A-CAPTURE-4411")
        receipt = invoices.issue_receipt(s, a, entry.id)
        receipt_id, number = str(receipt.id), receipt.number
    make_user("bob@bravo.example.com", "Bob Bravo")
    yield {"a": a, "receipt": receipt_id, "number": number,
           "alice": _login("alice@aurora.example.com", "10.78.0.1"), "bob": _login("bob@bravo.example.com", "10.78.0.2")}
    with session_scope() as s:
        assert wallet.invariant_violations(s) == []


async def _open_invoice(token: str, invoice_id: str) -> tuple[Client, str]:
    client = Client(token, ip="10.78.0.9")
    await client.open("/billing/invoices/[invoice_id]", f"/billing/invoices/{invoice_id}", {"invoice_id": invoice_id})
    return client, await client.call(InvoiceViewState, "load")


async def test_owner_sees_her_document(world):
    client, sent = await _open_invoice(world["alice"], world["receipt"])
    view = await client.root.get_state(InvoiceViewState)
    assert view.missing == "" and view.doc["number"] == world["number"]
    assert A_LEGAL in sent and "$75.00" in sent and "A-CAPTURE-4411" in sent


async def test_another_organization_gets_not_found_and_nothing_of_a(world):
    client, sent = await _open_invoice(world["bob"], world["receipt"])
    view = await client.root.get_state(InvoiceViewState)
    assert view.missing == "not_found" and view.doc == {}
    for secret in (A_LEGAL, world["number"], "A-CAPTURE-4411", "7 Secret Row", "permission"):
        assert secret not in sent
    bob = Client(world["bob"], ip="10.78.0.2")
    await bob.open("/billing/invoices", "/billing/invoices")
    sent = await bob.call(InvoicesState, "load")
    assert world["number"] not in sent and A_LEGAL not in sent
    assert (await bob.root.get_state(InvoicesState)).rows == []


async def test_profile_form_validates_and_refuses_hostile_payloads(world):
    alice = Client(world["alice"], ip="10.78.0.1")
    await alice.open("/billing/invoices", "/billing/invoices")
    await alice.call(InvoicesState, "load")
    state = await alice.root.get_state(InvoicesState)
    assert state.can_edit and state.profile["legal_name"] == A_LEGAL and state.country == "IS"

    form = {"legal_name": A_LEGAL, "address_line1": "7 Secret Row", "address_line2": "", "city": "Reykjavik",
            "postal_code": "", "tax_id": "x"}
    await alice.call(InvoicesState, "save_profile", form_data=form)
    assert state.field_errors == {"tax_id": "Tax ID must be 4 to 40 letters, digits, spaces, dots, slashes or hyphens."}
    for hostile in ("not a form", {**form, "tax_id": ["IS-1"]}):
        sent = await alice.call(InvoicesState, "save_profile", form_data=hostile)
        assert BAD_REQUEST in sent
    await alice.call(InvoicesState, "set_country", value="Atlantis")
    assert state.country == "none"
    await alice.call(InvoicesState, "save_profile", form_data={**form, "tax_id": "IS-1234"})
    assert state.field_errors == {"country": "Choose a country."}
    with session_scope() as s:
        row = s.get(BillingProfile, world["a"])
        assert (row.tax_id, row.country) == ("IS-998877", "IS")  # nothing changed
    await alice.call(InvoicesState, "set_country", value="NO")
    sent = await alice.call(InvoicesState, "save_profile", form_data={**form, "tax_id": "NO 999 888 777"})
    assert "Billing profile saved." in sent
    with session_scope() as s:
        assert s.get(BillingProfile, world["a"]).country == "NO"
