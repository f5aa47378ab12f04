"""Plan prices: the one place that turns monthly prices into hourly ones.

Hourly = monthly / 730 (how Linode and DigitalOcean bill). Kept at 4 decimal places like the
ledger; a month of 730 billed hours therefore never costs more than the monthly price plus
rounding of at most half a hundredth of a cent per hour. A price change takes effect at the start
of the next hour, so an hour already started keeps the price it began with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlmodel import Session, col, select

from skypanel.backend.models.servers import HOURS_PER_MONTH, Plan, PlanPrice

PLACES = Decimal("0.0001")


def hourly(monthly: Decimal) -> Decimal:
    """The hourly rate for a monthly price."""
    return (Decimal(monthly) / HOURS_PER_MONTH).quantize(PLACES, rounding=ROUND_HALF_UP)


def hour_start(at: datetime) -> datetime:
    """The start of the billing hour containing `at` (timezone kept)."""
    return at.replace(minute=0, second=0, microsecond=0)


def next_hour(at: datetime) -> datetime:
    """When a price change made at `at` takes effect."""
    return hour_start(at) + timedelta(hours=1)


@dataclass(frozen=True)
class Price:
    """A plan's monthly prices and the hourly figures derived from them."""

    base: Decimal
    markup: Decimal
    backup: Decimal

    @property
    def monthly(self) -> Decimal:
        return (self.base + self.markup).quantize(PLACES)

    @property
    def hourly(self) -> Decimal:
        return hourly(self.monthly)

    @property
    def backup_hourly(self) -> Decimal:
        return hourly(self.backup)

    def hourly_total(self, backups: bool) -> Decimal:
        return self.hourly + (self.backup_hourly if backups else Decimal(0))

    def monthly_total(self, backups: bool) -> Decimal:
        return self.monthly + (self.backup if backups else Decimal(0))


def current(plan: Plan) -> Price:
    """The plan's price as configured now (what a new server will be quoted)."""
    return Price(plan.base_price, plan.markup, plan.backup_price)


def in_force(session: Session, plan_id, at: datetime) -> Price | None:
    """The price in force for the hour containing `at` (the price history row that had taken
    effect by then), or None if the plan had no price yet."""
    row = session.exec(
        select(PlanPrice).where(PlanPrice.plan_id == plan_id, PlanPrice.effective_from <= hour_start(at))
        .order_by(col(PlanPrice.effective_from).desc()).limit(1)
    ).first()
    return Price(row.base_price, row.markup, row.backup_price) if row else None
