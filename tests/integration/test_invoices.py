"""Invoices on real PostgreSQL: gap-free yearly numbering (also under concurrency and rollback),
receipts for top-ups, monthly statements that add up to the ledger, idempotent generation (CLI and
two runners at once), frozen documents, billing profile validation, tenancy on the list, the view
and the PDF route (over real HTTP), and the PDF itself."""

from __future__ import annotations

import io
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import httpx
import pytest
from pypdf import PdfReader
from sqlalchemy import text
from sqlmodel import select

from skypanel import cli
from skypanel.backend.api.routes import build_api
from skypanel.backend.db import session_scope
from skypanel.backend.models import ActivityLog, BillingProfile, Invoice, Server, ServerCharge, UserSession
from skypanel.backend.models.base import utcnow
from skypanel.backend.security import hash_token, new_token
from skypanel.backend.services import invoices, platform_settings, wallet
from skypanel.backend.services.context import Actor
from skypanel.backend.services.errors import NotFound, PermissionDenied, ValidationError
from tests.contract.server import serve

from .factories import add_member, make_user, personal_org

UTC = timezone.utc


class Clock:
    """A settable `utcnow` for the wallet (ledger dates) and invoices (issue dates) services."""

    def __init__(self, monkeypatch, start: datetime):
        self.now = start
        monkeypatch.setattr(wallet, "utcnow", lambda: self.now)
        monkeypatch.setattr(invoices, "utcnow", lambda: self.now)

    def at(self, *args: int) -> "Clock":
        self.now = datetime(*args, tzinfo=UTC)
        return self


@pytest.fixture(autouse=True)
def ledger_invariant(db):
    yield
    with session_scope() as s:
        assert wallet.invariant_violations(s) == []


def _owner(email: str, name: str = "Olivia Owner"):
    uid, actor = make_user(email, name)
    return uid, actor, personal_org(uid)


def _topup(org_id, amount: str, **kw) -> int:
    with session_scope() as s:
        return wallet._post(s, org_id, Decimal(amount), "topup", actor=None, reference=kw.pop("reference", "CAP-1"),
                            description=kw.pop("description", "PayPal top-up"), **kw).id


def _post(org_id, amount: str, kind: str, description: str = "") -> int:
    with session_scope() as s:
        return wallet._post(s, org_id, Decimal(amount), kind, actor=None, description=description,
                            allow_overdraft=True).id


def _receipt(org_id, entry_id: int) -> str:
    with session_scope() as s:
        return invoices.issue_receipt(s, org_id, entry_id).number


def _server(org_id, label: str) -> uuid.UUID:
    with session_scope() as s:
        server = Server(organization_id=org_id, provider_kind="simulated", provider_plan_id="g6-standard-1",
                        label=label, status="running", region="us-east", image="debian12")
        s.add(server)
        s.flush()
        return server.id


def _charges(org_id, server_id, first_hour: datetime, hours: int, amount: str) -> None:
    with session_scope() as s:
        for i in range(hours):
            s.add(ServerCharge(server_id=server_id, organization_id=org_id, hour_start=first_hour + timedelta(hours=i),
                               amount=Decimal(amount)))


def _ledger_sum(org_id, before: datetime) -> Decimal:
    with session_scope() as s:
        return s.execute(text("SELECT COALESCE(SUM(amount), 0) FROM ledger_entries "
                              "WHERE organization_id = :o AND created_at < :b"), {"o": org_id, "b": before}).scalar_one()


def _statements(org_id) -> list[Invoice]:
    with session_scope() as s:
        rows = s.exec(select(Invoice).where(Invoice.organization_id == org_id, Invoice.kind == "statement")).all()
        for r in rows:
            s.expunge(r)
        return list(rows)


def _all_numbers() -> list[tuple[int, int, str]]:
    with session_scope() as s:
        return [tuple(r) for r in s.execute(text("SELECT year, sequence, number FROM invoices ORDER BY year, sequence"))]


# ---- numbering --------------------------------------------------------------------------

def test_receipts_are_numbered_sequentially_per_year_and_once_per_top_up(db, monkeypatch):
    clock = Clock(monkeypatch, datetime(2026, 12, 31, 23, 0, tzinfo=UTC))
    _, _, org = _owner("numbers@inv.test")
    entries = [_topup(org, "10"), _topup(org, "20"), _topup(org, "30")]
    assert [_receipt(org, e) for e in entries] == ["INV-2026-000001", "INV-2026-000002", "INV-2026-000003"]
    assert _receipt(org, entries[1]) == "INV-2026-000002"  # the same top-up never gets a second receipt

    clock.at(2027, 1, 1, 0, 5)
    assert _receipt(org, _topup(org, "5")) == "INV-2027-000001"  # a new year starts at 1
    assert _receipt(org, _topup(org, "6")) == "INV-2027-000002"
    with session_scope() as s:
        counters = dict(s.execute(text("SELECT year, last_number FROM invoice_counters")).all())
        receipt = s.exec(select(Invoice).where(Invoice.number == "INV-2026-000002")).one()
        assert receipt.total == Decimal("20") and receipt.ledger_entry_id == entries[1]
        assert receipt.data["lines"][0]["reference"] == "CAP-1"
        assert s.exec(select(ActivityLog).where(ActivityLog.action == "invoice.issued")).all()
    assert counters == {2026: 3, 2027: 2}


def test_only_top_ups_get_receipts_and_only_in_their_organization(db):
    _, _, org = _owner("kinds@inv.test")
    _, _, other = _owner("other@inv.test")
    _topup(org, "50")
    charge = _post(org, "-1", "charge")
    with pytest.raises(ValidationError):
        _receipt(org, charge)
    with pytest.raises(NotFound):
        _receipt(other, _topup(org, "5"))
    with pytest.raises(NotFound):
        _receipt(org, 999_999)
    assert _all_numbers() == []


def test_a_rolled_back_issue_gives_its_number_back(db):
    _, _, org = _owner("rollback@inv.test")
    year = utcnow().year
    with pytest.raises(RuntimeError):
        with session_scope() as s:
            entry = wallet._post(s, org, Decimal("10"), "topup", actor=None)
            assert invoices.issue_receipt(s, org, entry.id).number == f"INV-{year}-000001"
            raise RuntimeError("the capture failed after the receipt was drawn")
    assert _receipt(org, _topup(org, "10")) == f"INV-{year}-000001"  # no gap


def test_concurrent_issuance_is_gap_free(db):
    """24 crediting transactions in 4 organizations at once, a quarter of them rolled back after
    drawing their number: the committed receipts are numbered 1..18 with no gap and no duplicate."""
    orgs = [_owner(f"c{i}@inv.test")[2] for i in range(4)]
    jobs = [(orgs[i % 4], i % 4 == 3) for i in range(24)]
    barrier = threading.Barrier(len(jobs))

    def issue(org, fail: bool) -> str | None:
        barrier.wait()
        try:
            with session_scope() as s:
                entry = wallet._post(s, org, Decimal("1.25"), "topup", actor=None)
                number = invoices.issue_receipt(s, org, entry.id).number
                if fail:
                    raise RuntimeError("rolled back")
                return number
        except RuntimeError:
            return None

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        results = list(pool.map(lambda j: issue(*j), jobs))
    committed = sorted(r for r in results if r)
    year = utcnow().year
    assert committed == [f"INV-{year}-{n:06d}" for n in range(1, 19)]
    assert [seq for _, seq, _ in _all_numbers()] == list(range(1, 19))


# ---- statements ---------------------------------------------------------------------------

def _october_world(clock: Clock) -> dict:
    _, owner, org = _owner("statement@inv.test", "Stella Statement")
    web, db_server = _server(org, "web-1"), _server(org, "db-1")
    clock.at(2026, 9, 20, 12, 0)
    _topup(org, "100")
    _post(org, "-2.5", "charge")
    _charges(org, web, datetime(2026, 9, 30, 22, 0, tzinfo=UTC), 2, "0.0100")  # September: not on October's
    clock.at(2026, 10, 3, 9, 0)
    _topup(org, "50", reference="CAP-OCT", description="PayPal top-up")
    clock.at(2026, 10, 10, 0, 0)
    _post(org, "-7.3", "charge")
    _post(org, "4", "credit", "Goodwill credit")
    _post(org, "-1.5", "adjustment", "Manual correction")
    _post(org, "-3", "refund", "Refund of part of CAP-OCT")
    clock.at(2026, 10, 31, 23, 59, 59)
    _post(org, "-0.25", "charge")
    _charges(org, web, datetime(2026, 10, 1, 0, 0, tzinfo=UTC), 30, "0.0100")
    _charges(org, db_server, datetime(2026, 10, 31, 14, 0, tzinfo=UTC), 10, "0.0250")
    clock.at(2026, 11, 1, 0, 0)
    _post(org, "-0.4", "charge")  # November's: not on October's statement
    _charges(org, db_server, datetime(2026, 11, 1, 0, 0, tzinfo=UTC), 1, "0.0250")
    clock.at(2026, 11, 1, 0, 20)
    return {"org": org, "owner": owner, "web": web, "db": db_server}


def test_statement_adds_up_to_the_ledger(db, monkeypatch):
    clock = Clock(monkeypatch, datetime(2026, 9, 1, tzinfo=UTC))
    w = _october_world(clock)
    org = w["org"]
    result = invoices.generate_statements("2026-10")
    assert result["issued"] == 1
    [statement] = _statements(org)
    data = statement.data
    start, end = datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)

    assert statement.number == "INV-2026-000001" and statement.period_start == start and statement.period_end == end
    assert Decimal(data["opening_balance"]) == _ledger_sum(org, start) == Decimal("97.5")
    month_sum = _ledger_sum(org, end) - _ledger_sum(org, start)
    assert Decimal(data["closing_balance"]) == Decimal(data["opening_balance"]) + month_sum
    assert Decimal(data["closing_balance"]) == _ledger_sum(org, end) == Decimal("139.45") == statement.total
    summary = {row["label"]: Decimal(row["amount"]) for row in data["summary"]}
    assert summary == {"Opening balance": Decimal("97.5"), "Top-ups": Decimal("50"), "Server charges": Decimal("-7.55"),
                       "Credits": Decimal("4"), "Adjustments": Decimal("-1.5"), "Refunds": Decimal("-3"),
                       "Closing balance": Decimal("139.45")}
    # the summary's lines between opening and closing add up to the movement
    assert sum(list(summary.values())[1:-1], Decimal("0")) == month_sum
    usage = {u["server"]: (u["hours"], Decimal(u["amount"])) for u in data["usage"]}
    assert usage == {"web-1": (30, Decimal("0.3")), "db-1": (10, Decimal("0.25"))}
    assert data["usage_hours"] == 40 and Decimal(data["usage_total"]) == Decimal("0.55")
    assert [(a["label"], a["amount"]) for a in data["activity"]] == [
        ("Top-up", "50.0000"), ("Credit", "4.0000"), ("Adjustment", "-1.5000"), ("Refund", "-3.0000")]
    assert data["period"]["label"] == "October 2026"
    assert data["platform"]["name"] == "SkyPanel" and data["bill_to"]["organization"] == "Stella Statement's organization"


def test_generation_is_idempotent_and_skips_quiet_organizations(db, monkeypatch):
    clock = Clock(monkeypatch, datetime(2026, 9, 1, tzinfo=UTC))
    w = _october_world(clock)
    _, _, quiet = _owner("quiet@inv.test")  # zero balance, no activity: nothing to report
    assert invoices.generate_statements("2026-10") == {"issued": 1, "skipped": 1, "organizations": 2}
    assert invoices.generate_statements("2026-10")["issued"] == 0
    assert cli.main(["invoices", "generate", "--month", "2026-10"]) == 0
    with session_scope() as s:
        assert invoices.generate_statement(s, w["org"], "2026-10") is None
    assert len(_statements(w["org"])) == 1 and _statements(quiet) == []
    # September has its own statement (the September top-up); the numbers go on without a gap
    assert invoices.generate_statements("2026-09")["issued"] == 1
    assert [n for _, _, n in _all_numbers()] == ["INV-2026-000001", "INV-2026-000002"]


def test_the_scheduled_job_issues_last_month_once(db, monkeypatch):
    from skypanel.backend import jobs

    clock = Clock(monkeypatch, datetime(2026, 10, 5, tzinfo=UTC))
    _, _, org = _owner("job@inv.test")
    _topup(org, "10")
    clock.at(2026, 11, 1, 0, 20)
    job, trigger = jobs.JOBS["invoice_statements"]
    assert trigger["trigger"] == "cron"
    assert jobs.run_locked("invoice_statements", job) == 1
    assert jobs.run_locked("invoice_statements", job) == 0  # the next day's catch-up run finds it done
    [statement] = _statements(org)
    assert statement.data["period"]["label"] == "October 2026"


def test_two_runners_at_once_issue_one_statement_per_organization(db, monkeypatch):
    clock = Clock(monkeypatch, datetime(2026, 10, 5, tzinfo=UTC))
    orgs = [_owner(f"r{i}@inv.test")[2] for i in range(6)]
    for org in orgs:
        _topup(org, "10")
    clock.at(2026, 11, 1, 0, 20)
    barrier = threading.Barrier(2)

    def run() -> dict:
        barrier.wait()
        return invoices.generate_statements("2026-10")

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda _: run(), range(2)))
    assert sum(r["issued"] for r in results) == 6
    assert [seq for _, seq, _ in _all_numbers()] == list(range(1, 7))
    for org in orgs:
        assert len(_statements(org)) == 1


def test_unfinished_or_malformed_months_are_refused(db, monkeypatch):
    Clock(monkeypatch, datetime(2026, 10, 31, 23, 0, tzinfo=UTC))
    for bad in ("2026-10", "2026-13", "10/2026", "", "2026-1"):
        with pytest.raises(ValidationError):
            invoices.generate_statements(bad)
    assert cli.main(["invoices", "generate", "--month", "nope"]) == 2


def test_issued_documents_are_frozen(db, monkeypatch):
    clock = Clock(monkeypatch, datetime(2026, 10, 5, tzinfo=UTC))
    uid, owner, org = _owner("frozen@inv.test")
    number = _receipt(org, _topup(org, "10"))
    invoices.update_profile(owner, org, {"legal_name": "Later Name Ltd", "address_line1": "1 Road", "city": "Oslo",
                                         "country": "NO"})
    with pytest.raises(Exception, match="immutable"):
        with session_scope() as s:
            s.execute(text("UPDATE invoices SET total = 0 WHERE number = :n"), {"n": number})
    with pytest.raises(Exception, match="immutable"):
        with session_scope() as s:
            s.execute(text("DELETE FROM invoices WHERE number = :n"), {"n": number})
    [row], _ = invoices.list_invoices(owner, org)
    doc = invoices.get_invoice(owner, row["id"])
    assert doc["data"]["bill_to"]["legal_name"] == ""  # issued before the profile existed
    clock.at(2026, 10, 6)
    later = _receipt(org, _topup(org, "10"))
    with session_scope() as s:
        assert s.exec(select(Invoice).where(Invoice.number == later)).one().data["bill_to"]["legal_name"] == \
            "Later Name Ltd"


# ---- billing profile ---------------------------------------------------------------------

GOOD_PROFILE = {"legal_name": "Acme Clouds GmbH", "address_line1": "Hauptstraße 5", "address_line2": "",
                "city": "Berlin", "postal_code": "10115", "country": "de", "tax_id": "DE123456789"}


@pytest.mark.parametrize(("change", "field"), [
    ({"legal_name": ""}, "legal_name"),
    ({"legal_name": "A"}, "legal_name"),
    ({"legal_name": "x" * 121}, "legal_name"),
    ({"legal_name": "Acme\x00"}, "legal_name"),
    ({"address_line1": "   "}, "address_line1"),
    ({"city": ""}, "city"),
    ({"country": "XX"}, "country"),
    ({"country": "Germany"}, "country"),
    ({"country": ""}, "country"),
    ({"postal_code": "10115<script>"}, "postal_code"),
    ({"tax_id": "DE"}, "tax_id"),
    ({"tax_id": "DE12;DROP"}, "tax_id"),
    ({"city": 42}, "city"),
    ({"address_line2": "y" * 121}, "address_line2"),
])
def test_bad_profile_input_is_refused_and_changes_nothing(db, change, field):
    _, owner, org = _owner("profile@inv.test")
    invoices.update_profile(owner, org, GOOD_PROFILE)
    with pytest.raises(ValidationError) as err:
        invoices.update_profile(owner, org, {**GOOD_PROFILE, **change})
    assert err.value.field == field
    profile = invoices.get_profile(owner, org)
    assert profile["legal_name"] == "Acme Clouds GmbH" and profile["country"] == "DE"


def test_profile_permissions_and_activity(db):
    _, owner, org = _owner("perm@inv.test")
    mid, member = make_user("member@inv.test", "Mia Member")
    add_member(org, mid, "member")  # billing_view, no billing_manage
    _, stranger = make_user("stranger@inv.test", "Sam Stranger")
    with pytest.raises(ValidationError):
        invoices.update_profile(owner, org, "not a form")
    saved = invoices.update_profile(owner, org, {**GOOD_PROFILE, "legal_name": "  Acme   Clouds GmbH "})
    assert saved["legal_name"] == "Acme Clouds GmbH" and saved["country_name"] == "Germany"
    invoices.update_profile(owner, org, GOOD_PROFILE)  # no change: no second activity row
    assert invoices.get_profile(member, org)["can_edit"] is False
    with pytest.raises(PermissionDenied):
        invoices.update_profile(member, org, {**GOOD_PROFILE, "legal_name": "Mine Now"})
    with pytest.raises(NotFound):
        invoices.get_profile(stranger, org)
    with pytest.raises(NotFound):
        invoices.update_profile(stranger, org, GOOD_PROFILE)
    with session_scope() as s:
        assert s.get(BillingProfile, org).legal_name == "Acme Clouds GmbH"
        rows = s.exec(select(ActivityLog).where(ActivityLog.action == "billing.profile_updated")).all()
    assert len(rows) == 1 and rows[0].organization_id == org


# ---- tenancy and the PDF ------------------------------------------------------------------

def _cookie_for(user_id) -> str:
    token = new_token()
    with session_scope() as s:
        s.add(UserSession(user_id=user_id, token_hash=hash_token(token), expires_at=utcnow() + timedelta(days=1)))
    return token


def test_other_organizations_cannot_list_view_or_download(db):
    oid, owner, org = _owner("mine@inv.test")
    sid, stranger, _ = _owner("theirs@inv.test")
    vid, viewer = make_user("viewer@inv.test", "Vic Viewer")
    add_member(org, vid, "viewer")  # a member without billing_view
    _receipt(org, _topup(org, "25"))
    [row], total = invoices.list_invoices(owner, org)
    assert total == 1
    with pytest.raises(NotFound):
        invoices.list_invoices(stranger, org)
    with pytest.raises(NotFound):
        invoices.get_invoice(stranger, row["id"])
    with pytest.raises(NotFound):
        invoices.invoice_pdf(stranger, row["id"])
    with pytest.raises(PermissionDenied):
        invoices.get_invoice(viewer, row["id"])
    for garbage in ("", "nope", str(uuid.uuid4()), None, 7):
        with pytest.raises(NotFound):
            invoices.get_invoice(owner, garbage)
    with pytest.raises(ValidationError):
        invoices.list_invoices(owner, org, kind="bogus")

    with serve(build_api(), ready_path="/api/health") as base:
        url = f"{base}/api/invoices/{row['id']}.pdf"
        mine = httpx.get(url, cookies={"sp_session": _cookie_for(oid)})
        assert mine.status_code == 200 and mine.headers["content-type"] == "application/pdf"
        assert mine.content.startswith(b"%PDF")
        assert row["number"] in mine.headers["content-disposition"]
        assert httpx.get(url, cookies={"sp_session": _cookie_for(sid)}).status_code == 404
        assert httpx.get(url).status_code == 404
        assert httpx.get(url, cookies={"sp_session": "forged"}).status_code == 404
        assert httpx.get(url, cookies={"sp_session": _cookie_for(vid)}).status_code == 403
        assert httpx.get(f"{base}/api/invoices/not-a-uuid.pdf",
                         cookies={"sp_session": _cookie_for(oid)}).status_code == 404


def _pdf_text(body: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


def test_statement_pdf_is_a_valid_branded_document(db, monkeypatch):
    clock = Clock(monkeypatch, datetime(2026, 9, 1, tzinfo=UTC))
    w = _october_world(clock)
    platform_settings.set_value(Actor.system(), "platform_name", "Nimbus Hosting")
    invoices.update_profile(w["owner"], w["org"], {**GOOD_PROFILE, "legal_name": "Zoë Ærø Łódź SA"})
    invoices.generate_statements("2026-10")
    [statement] = _statements(w["org"])
    name, body = invoices.invoice_pdf(w["owner"], str(statement.id))
    assert name == "INV-2026-000001.pdf" and body.startswith(b"%PDF-")
    content = _pdf_text(body)
    for expected in ("INV-2026-000001", "Nimbus Hosting", "Monthly statement", "October 2026", "Zoë Ærø Łódź SA",
                     "DE123456789", "web-1", "db-1", "$139.45", "$97.50", "Goodwill credit"):
        assert expected in content, expected


def test_receipt_pdf_and_logo(db):
    """A logo set in the platform settings (a file in assets/) is printed on documents issued after."""
    from PIL import Image

    from skypanel.backend.config import PROJECT_ROOT

    _, owner, org = _owner("logo@inv.test")
    with pytest.raises(ValidationError):
        platform_settings.set_value(Actor.system(), "invoice_logo", "../secrets.png")
    with pytest.raises(ValidationError):
        platform_settings.set_value(Actor.system(), "invoice_logo", "missing-logo.png")
    plain = _receipt(org, _topup(org, "42.5"))
    logo_name = f"pytest-logo-{uuid.uuid4().hex[:8]}.png"
    logo = PROJECT_ROOT / "assets" / logo_name
    Image.new("RGB", (120, 40), (37, 99, 235)).save(logo)
    try:
        platform_settings.set_value(Actor.system(), "invoice_logo", logo_name)
        branded = _receipt(org, _topup(org, "10"))
        rows = {r["number"]: r["id"] for r in invoices.list_invoices(owner, org)[0]}
        _, body = invoices.invoice_pdf(owner, rows[plain])
        content = _pdf_text(body)
        assert plain in content and "Receipt" in content and "$42.50" in content and "CAP-1" in content
        assert len(PdfReader(io.BytesIO(body)).pages[0].images) == 0
        _, body = invoices.invoice_pdf(owner, rows[branded])
        assert invoices.get_invoice(owner, rows[branded])["data"]["platform"]["logo"] == logo_name
        assert len(PdfReader(io.BytesIO(body)).pages[0].images) == 1
    finally:
        logo.unlink()
