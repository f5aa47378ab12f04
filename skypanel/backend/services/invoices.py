"""Invoices: billing profiles, a receipt for every top-up and a monthly statement per organization.

Numbers are `INV-<year>-<000042>`, sequential and gap-free per year: the year's counter row is
incremented (and so locked) in the very transaction that writes the document, so a rollback
gives the number back and two issuers queue on the row. A document stores a frozen snapshot
(`Invoice.data`: lines, totals, billing profile, platform name) that the HTML view and the PDF
are drawn from; the database refuses to update or delete it.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from skypanel.backend.db import session_scope
from skypanel.backend.models import BillingProfile, Invoice, LedgerEntry, Organization, Wallet
from skypanel.backend.models.base import utcnow
from skypanel.backend.services import activity, platform_settings, rbac, wallet
from skypanel.backend.services.context import Actor
from skypanel.backend.services.countries import COUNTRIES
from skypanel.backend.services.errors import NotFound, ValidationError
from skypanel.backend.services.text import has_disallowed_chars

INVOICE_NOT_FOUND = "Invoice not found."
PAGE_MAX = 100
PLACES = wallet.PLACES
KIND_TITLES = {"receipt": "Receipt", "statement": "Monthly statement"}


def format_number(year: int, sequence: int) -> str:
    return f"INV-{year}-{sequence:06d}"


def _money(value: Decimal) -> str:
    return str(Decimal(value).quantize(PLACES))


# ---- billing profile -------------------------------------------------------------------

# (field, label, max length, required)
PROFILE_FIELDS: tuple[tuple[str, str, int, bool], ...] = (
    ("legal_name", "Legal name", 120, True),
    ("address_line1", "Address", 120, True),
    ("address_line2", "Address line 2", 120, False),
    ("city", "City", 80, True),
    ("postal_code", "Postal code", 20, False),
    ("country", "Country", 2, True),
    ("tax_id", "Tax ID", 40, False),
)
_POSTAL_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 -]*", re.ASCII)
_TAX_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 .\-/]*", re.ASCII)


def clean_profile(values: Any) -> dict[str, str]:
    """Validated profile fields (whitespace collapsed, country upper-cased), or ValidationError
    naming the first bad field."""
    if not isinstance(values, dict):
        raise ValidationError("Fill in the billing profile form.", field="legal_name")
    out: dict[str, str] = {}
    for key, label, max_len, required in PROFILE_FIELDS:
        raw = values.get(key, "")
        if raw is None:
            raw = ""
        if not isinstance(raw, str):
            raise ValidationError(f"{label} must be text.", field=key)
        if has_disallowed_chars(raw):
            raise ValidationError(f"{label} contains characters that are not allowed.", field=key)
        value = " ".join(raw.split())
        if required and not value:
            raise ValidationError(f"{label} is required." if key != "country" else "Choose a country.", field=key)
        if len(value) > max_len and key != "country":
            raise ValidationError(f"{label} must be at most {max_len} characters.", field=key)
        out[key] = value
    if len(out["legal_name"]) < 2:
        raise ValidationError("Legal name must be at least 2 characters.", field="legal_name")
    out["country"] = out["country"].upper()
    if out["country"] not in COUNTRIES:
        raise ValidationError("Choose a country from the list.", field="country")
    if out["postal_code"] and not _POSTAL_RE.fullmatch(out["postal_code"]):
        raise ValidationError("Postal code may contain only letters, digits, spaces and hyphens.",
                              field="postal_code")
    out["postal_code"] = out["postal_code"].upper()
    if out["tax_id"] and (len(out["tax_id"]) < 4 or not _TAX_ID_RE.fullmatch(out["tax_id"])):
        raise ValidationError("Tax ID must be 4 to 40 letters, digits, spaces, dots, slashes or hyphens.",
                              field="tax_id")
    out["tax_id"] = out["tax_id"].upper()
    return out


def _profile_dict(row: BillingProfile | None) -> dict[str, str]:
    values = {key: (getattr(row, key) if row else "") for key, *_ in PROFILE_FIELDS}
    values["country_name"] = COUNTRIES.get(values["country"], "")
    return values


def get_profile(actor: Actor, org_id: Any) -> dict[str, Any]:
    """The organization's billing profile (billing_view); `can_edit` tells whether billing_manage is held."""
    with session_scope() as s:
        perms = rbac.require(s, actor, org_id, "billing_view")
        row = s.get(BillingProfile, rbac.parse_uuid(org_id))
        return {**_profile_dict(row), "is_set": row is not None, "can_edit": "billing_manage" in perms}


def update_profile(actor: Actor, org_id: Any, values: Any) -> dict[str, Any]:
    """Save the billing profile (billing_manage). Only documents issued afterwards carry it."""
    with session_scope() as s:
        rbac.require(s, actor, org_id, "billing_manage")
        oid = rbac.parse_uuid(org_id)
        clean = clean_profile(values)
        row = s.get(BillingProfile, oid, with_for_update=True)
        before = _profile_dict(row)
        changed = [key for key, *_ in PROFILE_FIELDS if before[key] != clean[key]]
        if row is None or changed:
            row = row or BillingProfile(organization_id=oid)
            for key, value in clean.items():
                setattr(row, key, value)
            row.updated_by = actor.user_id
            row.updated_at = utcnow()
            s.add(row)
            labels = {k: label.lower() for k, label, *_ in PROFILE_FIELDS}
            activity.record(
                s, actor, "billing.profile_updated", organization_id=oid, entity_type="billing_profile",
                entity_id=oid, summary=("Billing profile updated: " + ", ".join(labels[k] for k in changed) + ".")[:300],
                details={"changed": changed},
            )
        return {**_profile_dict(row), "is_set": True, "can_edit": True}


# ---- numbering ---------------------------------------------------------------------------

def _next_sequence(session: Session, year: int) -> int:
    """Increment (and lock until commit) the year's counter; returns the new number."""
    return int(session.execute(text("""
        INSERT INTO invoice_counters (year, last_number) VALUES (:y, 1)
        ON CONFLICT (year) DO UPDATE SET last_number = invoice_counters.last_number + 1
        RETURNING last_number
    """), {"y": year}).scalar_one())


def _branding(session: Session) -> dict[str, str]:
    return {"name": platform_settings._get(session, "platform_name"),
            "logo": platform_settings._get(session, "invoice_logo"),
            "support_email": platform_settings._get(session, "support_email")}


def _bill_to(session: Session, org: Organization) -> dict[str, str]:
    profile = _profile_dict(session.get(BillingProfile, org.id))
    return {"organization": org.name, **profile}


def _issue(session: Session, org: Organization, kind: str, *, total: Decimal, data: dict[str, Any],
           currency: str, period: tuple[datetime, datetime] | None = None,
           ledger_entry_id: int | None = None) -> Invoice:
    """Number and write one document in the caller's transaction (with its activity row)."""
    now = utcnow()
    sequence = _next_sequence(session, now.year)
    number = format_number(now.year, sequence)
    snapshot = {
        **data, "kind": kind, "title": KIND_TITLES[kind], "number": number, "issued_at": now.isoformat(),
        "currency": currency, "platform": _branding(session), "bill_to": _bill_to(session, org),
    }
    invoice = Invoice(
        organization_id=org.id, kind=kind, number=number, year=now.year, sequence=sequence, currency=currency,
        total=Decimal(total).quantize(PLACES), period_start=period[0] if period else None,
        period_end=period[1] if period else None, ledger_entry_id=ledger_entry_id, data=snapshot, issued_at=now,
    )
    session.add(invoice)
    session.flush()
    activity.record(
        session, Actor.system(), "invoice.issued", organization_id=org.id, entity_type="invoice",
        entity_id=invoice.id, summary=f"{KIND_TITLES[kind]} {number} issued ({wallet.format_money(total, currency)}).",
        details={"number": number, "kind": kind},
    )
    return invoice


# ---- receipts ----------------------------------------------------------------------------

def issue_receipt(session: Session, org_id: Any, ledger_entry_id: int) -> Invoice:
    """The receipt for a top-up ledger entry, issued in the caller's (crediting) transaction.

    Idempotent: a second call for the same entry returns the receipt already issued.
    """
    oid = rbac.parse_uuid(org_id, rbac.ORG_NOT_FOUND)
    entry = session.get(LedgerEntry, ledger_entry_id)
    if entry is None or entry.organization_id != oid:
        raise NotFound("Ledger entry not found.")
    if entry.kind != "topup" or entry.amount <= 0:
        raise ValidationError("Receipts are issued for top-ups only.")
    existing = session.exec(select(Invoice).where(Invoice.kind == "receipt",
                                                  Invoice.ledger_entry_id == entry.id)).first()
    if existing is not None:
        return existing
    org = session.get(Organization, oid)
    currency = session.exec(select(Wallet.currency).where(Wallet.id == entry.wallet_id)).one()
    data = {
        "paid_at": entry.created_at.isoformat(),
        "lines": [{"description": entry.description or "Wallet top-up", "reference": entry.reference,
                   "amount": _money(entry.amount)}],
        "total": _money(entry.amount),
        "balance_after": _money(entry.balance_after),
    }
    return _issue(session, org, "receipt", total=entry.amount, data=data, currency=currency,
                  ledger_entry_id=entry.id)


# ---- monthly statements --------------------------------------------------------------------

_MONTH_RE = re.compile(r"(\d{4})-(\d{2})", re.ASCII)


def parse_month(value: Any) -> date:
    """'2026-10' (or a date) -> date(2026, 10, 1)."""
    if isinstance(value, date):
        return date(value.year, value.month, 1)
    match = _MONTH_RE.fullmatch(value.strip()) if isinstance(value, str) else None
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 2000:
        raise ValidationError("Give the month as YYYY-MM, e.g. 2026-10.", field="month")
    return date(int(match.group(1)), int(match.group(2)), 1)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    start = datetime(month.year, month.month, 1, tzinfo=timezone.utc)
    end = datetime(month.year + (month.month == 12), month.month % 12 + 1, 1, tzinfo=timezone.utc)
    return start, end


def previous_month(now: datetime | None = None) -> date:
    now = now or utcnow()
    return date(now.year - (now.month == 1), (now.month - 2) % 12 + 1, 1)


def _statement_data(session: Session, org_id: uuid.UUID, start: datetime, end: datetime) -> dict[str, Any]:
    """Lines and totals for one organization and period, read from the ledger and server_charges."""
    opening = session.execute(text(
        "SELECT COALESCE(SUM(amount), 0) FROM ledger_entries WHERE organization_id = :o AND created_at < :s"
    ), {"o": org_id, "s": start}).scalar_one()
    entries = session.exec(
        select(LedgerEntry).where(LedgerEntry.organization_id == org_id, LedgerEntry.created_at >= start,
                                  LedgerEntry.created_at < end).order_by(col(LedgerEntry.id))
    ).all()
    usage = session.execute(text("""
        SELECT c.server_id, s.label, COALESCE(p.name, s.provider_plan_id), COUNT(*), SUM(c.amount),
               MIN(c.hour_start), MAX(c.hour_start)
        FROM server_charges c JOIN servers s ON s.id = c.server_id LEFT JOIN plans p ON p.id = s.plan_id
        WHERE c.organization_id = :o AND c.hour_start >= :s AND c.hour_start < :e
        GROUP BY c.server_id, s.label, p.name, s.provider_plan_id ORDER BY s.label, c.server_id
    """), {"o": org_id, "s": start, "e": end}).all()

    by_kind = {kind: Decimal("0") for kind in wallet.KINDS}
    activity_lines = []
    for entry in entries:
        by_kind[entry.kind] += entry.amount
        if entry.kind != "charge":  # charges are summed (their detail is the usage table)
            activity_lines.append({
                "date": entry.created_at.isoformat(), "kind": entry.kind, "label": wallet.KIND_LABELS[entry.kind],
                "description": entry.description, "reference": entry.reference, "amount": _money(entry.amount),
            })
    movement = sum(by_kind.values(), Decimal("0"))
    closing = Decimal(opening) + movement
    summary = [{"label": "Opening balance", "amount": _money(opening)}]
    for kind in ("topup", "charge", "credit", "adjustment", "refund", "reversal"):
        if by_kind[kind] or kind in ("topup", "charge"):
            label = {"topup": "Top-ups", "charge": "Server charges", "credit": "Credits",
                     "adjustment": "Adjustments", "refund": "Refunds", "reversal": "Reversals"}[kind]
            summary.append({"label": label, "amount": _money(by_kind[kind]), "kind": kind})
    summary.append({"label": "Closing balance", "amount": _money(closing)})
    return {
        "period": {"start": start.isoformat(), "end": end.isoformat(), "label": start.strftime("%B %Y")},
        "usage": [{"server_id": str(r[0]), "server": r[1], "plan": r[2], "hours": int(r[3]),
                   "amount": _money(r[4]), "first_hour": r[5].isoformat(), "last_hour": r[6].isoformat()}
                  for r in usage],
        "usage_total": _money(sum((r[4] for r in usage), Decimal("0"))),
        "usage_hours": sum(int(r[3]) for r in usage),
        "activity": activity_lines,
        "charges_posted": _money(by_kind["charge"]),
        "summary": summary,
        "opening_balance": _money(opening),
        "closing_balance": _money(closing),
        "ledger_entries": len(entries),
    }


def generate_statement(session: Session, org_id: Any, month: Any) -> Invoice | None:
    """Issue the organization's statement for `month` in the caller's transaction; None when it
    already has one or had nothing to report (no balance, no ledger entries, no usage)."""
    start, end = month_bounds(parse_month(month))
    if end > utcnow():
        raise ValidationError("A statement covers a finished month only.", field="month")
    oid = rbac.parse_uuid(org_id, rbac.ORG_NOT_FOUND)
    org = session.get(Organization, oid)
    walletrow = session.exec(select(Wallet).where(Wallet.organization_id == oid)).first()
    if org is None or walletrow is None:
        raise NotFound(rbac.ORG_NOT_FOUND)
    exists = session.exec(select(Invoice.id).where(Invoice.kind == "statement", Invoice.organization_id == oid,
                                                   Invoice.period_start == start)).first()
    if exists is not None:
        return None
    data = _statement_data(session, oid, start, end)
    if not data["ledger_entries"] and not data["usage"] and Decimal(data["opening_balance"]) == 0:
        return None
    return _issue(session, org, "statement", total=Decimal(data["closing_balance"]), data=data,
                  currency=walletrow.currency, period=(start, end))


def generate_statements(month: Any = None) -> dict[str, int]:
    """Statements for every organization for `month` (default: last month), one transaction each.

    Safe to run twice or from two processes: an organization that has its statement is skipped,
    and a unique index refuses a second one (that transaction rolls back, number included).
    """
    first = parse_month(month) if month is not None else previous_month()
    start, end = month_bounds(first)
    if end > utcnow():
        raise ValidationError("A statement covers a finished month only.", field="month")
    with session_scope() as s:
        org_ids = s.execute(text("""
            SELECT o.id FROM organizations o JOIN wallets w ON w.organization_id = o.id
            WHERE (o.deleted_at IS NULL OR o.deleted_at >= :s)
              AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.organization_id = o.id
                              AND i.kind = 'statement' AND i.period_start = :s)
            ORDER BY o.created_at, o.id
        """), {"s": start, "e": end}).scalars().all()
    issued = skipped = 0
    for oid in org_ids:
        try:
            with session_scope() as s:
                made = generate_statement(s, oid, first)
        except IntegrityError:  # another runner issued it first
            made = None
        if made is None:
            skipped += 1
        else:
            issued += 1
    return {"issued": issued, "skipped": skipped, "organizations": len(org_ids)}


def statements_job(session: Session) -> int:
    """Scheduler entry (run daily; the 1st does the work, later days catch up after downtime)."""
    del session  # each organization gets its own transaction
    return generate_statements()["issued"]


# ---- reading -------------------------------------------------------------------------------

def _list_row(inv: Invoice) -> dict[str, Any]:
    return {
        "id": str(inv.id), "number": inv.number, "kind": inv.kind, "title": KIND_TITLES[inv.kind],
        "issued_at": inv.issued_at.isoformat(), "total": _money(inv.total), "currency": inv.currency,
        "period_label": (inv.data.get("period") or {}).get("label", ""),
    }


def list_invoices(actor: Actor, org_id: Any, *, kind: str = "", limit: int = 25,
                  offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Newest-first documents of the organization (billing_view) and the total count."""
    if kind not in ("", *KIND_TITLES):
        raise ValidationError("Choose a valid document type.", field="kind")
    limit, offset = max(1, min(int(limit), PAGE_MAX)), max(0, min(int(offset), 1_000_000))
    with session_scope() as s:
        rbac.require(s, actor, org_id, "billing_view")
        stmt = select(Invoice).where(Invoice.organization_id == rbac.parse_uuid(org_id))
        if kind:
            stmt = stmt.where(Invoice.kind == kind)
        total = s.exec(select(func.count()).select_from(stmt.subquery())).one()
        rows = s.exec(stmt.order_by(col(Invoice.issued_at).desc(), col(Invoice.sequence).desc())
                      .limit(limit).offset(offset)).all()
        return [_list_row(r) for r in rows], int(total)


def _load(session: Session, actor: Actor, invoice_id: Any) -> Invoice:
    """The invoice if the actor has billing_view in its organization; NotFound for everyone else."""
    iid = rbac.parse_uuid(invoice_id, INVOICE_NOT_FOUND)
    invoice = session.get(Invoice, iid)
    if invoice is None:
        raise NotFound(INVOICE_NOT_FOUND)
    try:
        rbac.require(session, actor, invoice.organization_id, "billing_view")
    except NotFound:
        raise NotFound(INVOICE_NOT_FOUND) from None
    return invoice


def get_invoice(actor: Actor, invoice_id: Any) -> dict[str, Any]:
    """One document (billing_view in its organization): its row plus the frozen snapshot."""
    with session_scope() as s:
        invoice = _load(s, actor, invoice_id)
        return {**_list_row(invoice), "organization_id": str(invoice.organization_id), "data": dict(invoice.data)}


def invoice_pdf(actor: Actor, invoice_id: Any) -> tuple[str, bytes]:
    """(file name, PDF bytes) of a document the actor may see."""
    from skypanel.backend.services import invoice_pdf as pdf

    with session_scope() as s:
        invoice = _load(s, actor, invoice_id)
        number, data = invoice.number, dict(invoice.data)
    return f"{number}.pdf", pdf.render(data)
