"""Wallets and the append-only ledger: the money primitives every charge and top-up goes through.

`_post` is the only writer. It locks the wallet row, writes one ledger row and the new balance
in the caller's transaction, so balance == sum(ledger) always holds (the database re-checks it
at commit with a deferred constraint trigger and refuses UPDATE/DELETE of ledger rows).
Amounts are Decimal with 4 places (NUMERIC(14,4)); floats are refused.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, col, func, select

from skypanel.backend.db import session_scope
from skypanel.backend.models import LedgerEntry, User, Wallet
from skypanel.backend.models.base import utcnow
from skypanel.backend.services import activity, rbac
from skypanel.backend.services.context import Actor
from skypanel.backend.services.errors import InsufficientFunds, NotFound, PermissionDenied, ValidationError
from skypanel.backend.services.text import has_disallowed_chars

KINDS: tuple[str, ...] = ("topup", "charge", "refund", "adjustment", "reversal", "credit")
KIND_LABELS: dict[str, str] = {
    "topup": "Top-up", "charge": "Charge", "refund": "Refund", "adjustment": "Adjustment",
    "reversal": "Reversal", "credit": "Credit",
}

PLACES = Decimal("0.0001")
MAX_BALANCE = Decimal("9999999999.9999")  # NUMERIC(14,4)
MAX_ADJUSTMENT = Decimal("1000000")
PAGE_MAX = 200
CSV_MAX_ROWS = 100_000
WALLET_NOT_FOUND = "Wallet not found."

_AMOUNT_RE = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?|[+-]?\.[0-9]+", re.ASCII)
OFFSET_MAX = 1_000_000_000  # beyond any real page; keeps a forged offset inside PostgreSQL's bigint


# ---- formatting and parsing ------------------------------------------------------------

def format_money(value: Decimal, currency: str = "USD") -> str:
    """'$1,234.50', '-$5.00', '$0.0125': two places, up to four when the cents do not tell it all."""
    value = Decimal(value).quantize(PLACES)
    places = 2 if value == value.quantize(Decimal("0.01")) else 4
    body = f"{abs(value):,.{places}f}"
    symbol = "$" if currency == "USD" else f"{currency} "
    return f"-{symbol}{body}" if value < 0 else f"{symbol}{body}"


def parse_amount(raw: Any, *, field: str = "amount", max_abs: Decimal = MAX_ADJUSTMENT) -> Decimal:
    """A signed amount typed by a person: plain digits, at most 4 decimals, not zero, within max_abs."""
    if isinstance(raw, bool) or not isinstance(raw, (str, int, Decimal)):
        raise ValidationError("Enter an amount such as 25.00 or -10.50.", field=field)
    textual = str(raw).strip()
    if not _AMOUNT_RE.fullmatch(textual):
        raise ValidationError("Enter an amount such as 25.00 or -10.50.", field=field)
    try:
        amount = Decimal(textual)
    except InvalidOperation:
        raise ValidationError("Enter an amount such as 25.00 or -10.50.", field=field) from None
    if amount.as_tuple().exponent < -4:  # type: ignore[operator]
        raise ValidationError("Use at most 4 decimal places.", field=field)
    if amount == 0:
        raise ValidationError("The amount cannot be zero.", field=field)
    if abs(amount) > max_abs:
        raise ValidationError(f"The amount cannot exceed {format_money(max_abs)} either way.", field=field)
    return amount.quantize(PLACES)


def _clean_text(value: Any, *, field: str, label: str, min_len: int, max_len: int) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"{label} is required.", field=field)
    if has_disallowed_chars(value, allow="\t\n\r"):  # NUL would crash PostgreSQL; no silent rewriting
        raise ValidationError(f"{label} contains characters that are not allowed.", field=field)
    value = " ".join(value.split())
    if len(value) < min_len:
        raise ValidationError(f"{label} must be at least {min_len} characters." if value else f"{label} is required.",
                              field=field)
    if len(value) > max_len:
        raise ValidationError(f"{label} must be at most {max_len} characters.", field=field)
    return value


def _bound(value: Any, *, field: str, end: bool) -> datetime | None:
    """A filter bound from a date, datetime or ISO string; an end *date* includes that whole day."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        raw = value.strip()
        try:
            value = date.fromisoformat(raw) if len(raw) == 10 else datetime.fromisoformat(raw)
        except ValueError:
            raise ValidationError("Enter a date like 2026-01-31.", field=field) from None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        start = datetime.combine(value, time.min, tzinfo=timezone.utc)
        if not end:
            return start
        try:
            return start + timedelta(days=1)
        except OverflowError:  # 9999-12-31: the day after does not exist in Python
            raise ValidationError("Enter a date like 2026-01-31.", field=field) from None
    raise ValidationError("Enter a date like 2026-01-31.", field=field)


def _page(limit: Any, offset: Any) -> tuple[int, int]:
    try:
        limit, offset = int(limit), int(offset)
    except (TypeError, ValueError, OverflowError):
        raise ValidationError("Invalid page.", field="page") from None
    return max(1, min(limit, PAGE_MAX)), max(0, min(offset, OFFSET_MAX))


# ---- the one writer --------------------------------------------------------------------

def _lock_wallet(session: Session, org_id: uuid.UUID) -> Wallet:
    wallet = session.exec(
        select(Wallet).where(Wallet.organization_id == org_id).with_for_update()
        .execution_options(populate_existing=True)  # the locked row's values, not a stale cached copy
    ).first()
    if wallet is None:
        raise NotFound(WALLET_NOT_FOUND)
    return wallet


def _post(
    session: Session,
    org_id: Any,
    amount: Decimal,
    kind: str,
    *,
    actor: Actor | None,
    reference: str = "",
    description: str = "",
    allow_overdraft: bool = False,
) -> LedgerEntry:
    """Credit (amount > 0) or debit (amount < 0) the organization's wallet in the caller's transaction.

    Locks the wallet row (concurrent posts queue up), refuses a debit that would take the
    balance below -overdraft_limit unless `allow_overdraft`, writes the ledger row with
    balance_after, updates the balance and writes an activity row.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown ledger kind {kind!r}")
    if isinstance(amount, (float, bool)) or not isinstance(amount, (Decimal, int)):
        raise TypeError("ledger amounts are Decimal, never float")
    amount = Decimal(amount)
    if not amount.is_finite():
        raise ValueError("ledger amount must be finite")
    amount = amount.quantize(PLACES, rounding=ROUND_HALF_UP)
    if amount == 0:
        raise ValidationError("The amount cannot be zero.", field="amount")
    oid = rbac.parse_uuid(org_id, WALLET_NOT_FOUND)

    wallet = _lock_wallet(session, oid)
    new_balance = (wallet.balance + amount).quantize(PLACES)
    if abs(new_balance) > MAX_BALANCE:
        raise ValidationError("That amount would take the balance out of range.", field="amount")
    floor = -wallet.overdraft_limit
    if amount < 0 and not allow_overdraft and new_balance < floor:
        limit = f" (overdraft limit {format_money(wallet.overdraft_limit, wallet.currency)})" \
            if wallet.overdraft_limit else ""
        raise InsufficientFunds(
            f"Insufficient funds: this needs {format_money(-amount, wallet.currency)} and the balance is "
            f"{format_money(wallet.balance, wallet.currency)}{limit}.",
            field="amount",
        )

    now = utcnow()
    entry = LedgerEntry(
        wallet_id=wallet.id, organization_id=oid, amount=amount, balance_after=new_balance, kind=kind,
        reference=(reference or "").strip()[:120], description=(description or "").strip()[:300],
        actor_user_id=actor.user_id if actor else None, created_at=now,
    )
    session.add(entry)
    wallet.balance = new_balance
    wallet.updated_at = now
    session.add(wallet)
    session.flush()

    if kind == "adjustment":
        action, verb = "wallet.adjusted", "Adjustment"
    else:
        action, verb = ("wallet.credit", "Credit") if amount > 0 else ("wallet.debit", "Debit")
    what = f"{verb} of {format_money(amount, wallet.currency)} ({KIND_LABELS[kind].lower()})"
    if entry.description:
        what += f": {entry.description}"
    activity.record(
        session, actor, action, organization_id=oid, entity_type="ledger_entry", entity_id=entry.id,
        summary=f"{what}. Balance {format_money(new_balance, wallet.currency)}."[:300],
        details={"kind": kind, "amount": str(amount), "balance_after": str(new_balance),
                 "reference": entry.reference},
    )
    return entry


def _post_bulk(session: Session, source: str, kind: str, *, reference: str, action: str = "wallet.debit") -> int:
    """`_post` for many organizations at once, in set-based SQL (the billing engine's writer).

    `source` names a temporary table with columns (organization_id uuid, amount numeric signed,
    description text, summary text, entry_id bigint NULL), at most one row per organization. Locks
    the wallets in id order, numbers the ledger rows only after the locks are held (so the newest
    entry of a wallet is always the one with the highest id), writes one ledger row with
    balance_after per organization, updates the balances and writes one activity row each; fills
    `entry_id`. Overdraft is allowed (the hours were used). The deferred balance == sum(ledger)
    check runs at commit as for `_post`. Returns the number of ledger rows written.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown ledger kind {kind!r}")
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", source):
        raise ValueError("source must be a plain table name")
    session.execute(text(f"""
        SELECT count(*) FROM (SELECT 1 FROM wallets w JOIN {source} src ON src.organization_id = w.organization_id
                              ORDER BY w.id FOR UPDATE OF w) locked
    """))
    missing = session.execute(text(f"""
        SELECT count(*) FROM {source} src LEFT JOIN wallets w ON w.organization_id = src.organization_id
        WHERE w.id IS NULL OR src.amount = 0
    """)).scalar_one()
    if missing:
        raise ValueError(f"{missing} bulk ledger rows have no wallet or a zero amount")
    session.execute(text(f"""
        UPDATE {source} src SET entry_id = n.entry_id
        FROM (SELECT organization_id, nextval('ledger_entries_id_seq') AS entry_id
              FROM (SELECT organization_id FROM {source} ORDER BY organization_id) o) n
        WHERE n.organization_id = src.organization_id
    """))
    written = session.execute(text(f"""
        INSERT INTO ledger_entries (id, wallet_id, organization_id, amount, balance_after, kind, reference,
                                    description, actor_user_id, created_at)
        SELECT src.entry_id, w.id, w.organization_id, round(src.amount, 4), w.balance + round(src.amount, 4),
               CAST(:kind AS text), left(CAST(:reference AS text), 120), left(src.description, 300), NULL, now()
        FROM {source} src JOIN wallets w ON w.organization_id = src.organization_id
    """), {"kind": kind, "reference": reference}).rowcount
    session.execute(text(f"""
        UPDATE wallets w SET balance = w.balance + round(src.amount, 4), updated_at = now()
        FROM {source} src WHERE src.organization_id = w.organization_id
    """))
    session.execute(text(f"""
        INSERT INTO activity_logs (id, organization_id, user_id, impersonator_id, action, entity_type, entity_id,
                                   summary, details, ip, created_at)
        SELECT gen_random_uuid(), src.organization_id, NULL, NULL, CAST(:action AS text), 'ledger_entry',
               src.entry_id::text,
               left(src.summary || ' Balance ' || CASE WHEN w.balance < 0 THEN '-$' ELSE '$' END
                    || to_char(abs(w.balance), 'FM999,999,999,990.0099') || '.', 300),
               jsonb_build_object('kind', CAST(:kind AS text), 'amount', round(src.amount, 4)::text,
                                  'balance_after', w.balance::text, 'reference', left(CAST(:reference AS text), 120)),
               '', now()
        FROM {source} src JOIN wallets w ON w.organization_id = src.organization_id
    """), {"kind": kind, "reference": reference, "action": action})
    return int(written or 0)


# ---- reading ---------------------------------------------------------------------------

def _wallet_dict(wallet: Wallet) -> dict[str, Any]:
    return {
        "balance": str(wallet.balance.quantize(PLACES)),
        "balance_display": format_money(wallet.balance, wallet.currency),
        "currency": wallet.currency,
        "overdraft_limit": str(wallet.overdraft_limit.quantize(PLACES)),
        "updated_at": wallet.updated_at.isoformat(),
    }


def get_wallet(actor: Actor, org_id: Any) -> dict[str, Any]:
    """The organization's balance (billing_view)."""
    with session_scope() as s:
        rbac.require(s, actor, org_id, "billing_view")
        wallet = s.exec(select(Wallet).where(Wallet.organization_id == rbac.parse_uuid(org_id))).first()
        if wallet is None:
            raise NotFound(WALLET_NOT_FOUND)
        return _wallet_dict(wallet)


def _ledger_query(org_id: uuid.UUID, kind: Any, since: Any, until: Any):
    if kind is None:
        kind = ""
    if not isinstance(kind, str) or (kind and kind not in KINDS):
        raise ValidationError("Choose a valid entry type.", field="kind")
    start = _bound(since, field="since", end=False)
    stop = _bound(until, field="until", end=True)
    if start and stop and start >= stop:
        raise ValidationError("The start date must be before the end date.", field="since")
    stmt = (
        select(LedgerEntry, User.name)
        .join(User, col(User.id) == col(LedgerEntry.actor_user_id), isouter=True)
        .where(LedgerEntry.organization_id == org_id)
    )
    if kind:
        stmt = stmt.where(LedgerEntry.kind == kind)
    if start:
        stmt = stmt.where(LedgerEntry.created_at >= start)
    if stop:
        stmt = stmt.where(LedgerEntry.created_at < stop)
    return stmt


def _entry_dict(entry: LedgerEntry, actor_name: str | None) -> dict[str, Any]:
    return {
        "id": str(entry.id),
        "created_at": entry.created_at.isoformat(),
        "kind": entry.kind,
        "amount": str(entry.amount.quantize(PLACES)),
        "amount_display": format_money(entry.amount),
        "balance_after": str(entry.balance_after.quantize(PLACES)),
        "balance_after_display": format_money(entry.balance_after),
        "reference": entry.reference,
        "description": entry.description,
        "actor_name": actor_name or "System",
    }


def list_ledger(actor: Actor, org_id: Any, *, kind: str = "", since: Any = None, until: Any = None,
                limit: int = 25, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Newest-first ledger rows (billing_view), filtered by kind and date, plus the total count."""
    limit, offset = _page(limit, offset)
    with session_scope() as s:
        rbac.require(s, actor, org_id, "billing_view")
        stmt = _ledger_query(rbac.parse_uuid(org_id), kind, since, until)
        total = s.exec(select(func.count()).select_from(stmt.subquery())).one()
        rows = s.exec(stmt.order_by(col(LedgerEntry.id).desc()).limit(limit).offset(offset)).all()
        return [_entry_dict(e, name) for e, name in rows], int(total)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_text(value: str) -> str:
    """Neutralise spreadsheet formulas in free text ('=HYPERLINK(...)' -> "'=HYPERLINK(...)")."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def ledger_csv(actor: Actor, org_id: Any, *, kind: str = "", since: Any = None, until: Any = None) -> str:
    """The filtered ledger as CSV, oldest first (billing_view).

    Text cells that a spreadsheet would run as a formula get a leading quote; the numeric
    columns are ours (plain signed decimals) and stay numbers.
    """
    with session_scope() as s:
        rbac.require(s, actor, org_id, "billing_view")
        oid = rbac.parse_uuid(org_id)
        currency = s.exec(select(Wallet.currency).where(Wallet.organization_id == oid)).first() or "USD"
        rows = s.exec(_ledger_query(oid, kind, since, until).order_by(col(LedgerEntry.id)).limit(CSV_MAX_ROWS)).all()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["Date (UTC)", "Type", "Amount", "Balance after", "Currency", "Reference", "Description", "By"])
    for entry, name in rows:
        writer.writerow([
            entry.created_at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
            entry.kind,
            str(entry.amount.quantize(PLACES)),
            str(entry.balance_after.quantize(PLACES)),
            currency,
            _csv_text(entry.reference),
            _csv_text(entry.description),
            _csv_text(name or "System"),
        ])
    return out.getvalue()


# ---- admin -----------------------------------------------------------------------------

def admin_adjust(actor: Actor, org_id: Any, *, amount: str, reason: str) -> dict[str, Any]:
    """Post a signed adjustment with a reason (platform admins only); the overdraft policy still applies."""
    with session_scope() as s:
        if not rbac.is_platform_admin(s, actor):
            raise PermissionDenied("Only platform administrators can adjust wallets.")
        org = rbac.live_organization(s, org_id)
        if org is None:
            raise NotFound(rbac.ORG_NOT_FOUND)
        value = parse_amount(amount)
        why = _clean_text(reason, field="reason", label="Reason", min_len=3, max_len=300)
        entry = _post(s, org.id, value, "adjustment", actor=actor, reference="admin-adjustment", description=why)
        return {"id": str(entry.id), "amount": str(entry.amount), "balance": str(entry.balance_after),
                "balance_display": format_money(entry.balance_after)}


def invariant_violations(session: Session) -> list[dict[str, Any]]:
    """Wallets whose balance differs from the sum of their ledger or from the last balance_after."""
    rows = session.execute(text("""
        SELECT w.id, w.organization_id, w.balance, COALESCE(s.total, 0) AS ledger_sum, last.balance_after
        FROM wallets w
        LEFT JOIN (SELECT wallet_id, SUM(amount) AS total FROM ledger_entries GROUP BY wallet_id) s
               ON s.wallet_id = w.id
        LEFT JOIN LATERAL (SELECT balance_after FROM ledger_entries l
                           WHERE l.wallet_id = w.id ORDER BY l.id DESC LIMIT 1) last ON true
        WHERE w.balance <> COALESCE(s.total, 0)
           OR (last.balance_after IS NOT NULL AND last.balance_after <> w.balance)
    """)).all()
    return [{"wallet_id": str(r[0]), "organization_id": str(r[1]), "balance": str(r[2]), "ledger_sum": str(r[3]),
             "last_balance_after": None if r[4] is None else str(r[4])} for r in rows]
