"""How the state classes word values for people: money, dates, relative times, role labels.

Pure functions, no I/O: the caller passes the user's timezone (`session.user_zone(actor)`).
Every page formats through here, so the same value reads the same everywhere.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from skypanel.backend.services import wallet
from skypanel.backend.services.permissions import role_label

__all__ = [
    "UTC",
    "format_date",
    "format_datetime",
    "format_money",
    "is_negative",
    "relative_time",
    "role_label",
    "zone_named",
]

UTC = ZoneInfo("UTC")


# ---- money ----


def format_money(value: object, currency: str = "USD", *, signed: bool = False) -> str:
    """wallet.format_money ("$1,234.50", "-$0.0075"), with a "+" on credits when `signed`."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    text = wallet.format_money(amount, currency or "USD")
    return f"+{text}" if signed and amount > 0 else text


def is_negative(value: object) -> bool:
    try:
        return Decimal(str(value)) < 0
    except (InvalidOperation, ValueError):
        return False


# ---- dates and times ----


def zone_named(name: str | None) -> ZoneInfo:
    """The timezone of that name (a profile setting), UTC when missing or unknown."""
    try:
        return ZoneInfo(name or "UTC")
    except Exception:  # noqa: BLE001 - an unknown or malformed zone name must not break a page
        return UTC


def _as_datetime(value: object) -> datetime | None:
    """A datetime or ISO string -> an aware datetime (naive values are UTC); None when missing or bad."""
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str) and value:
        try:
            dt = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def format_datetime(value: object, zone: ZoneInfo, *, with_seconds: bool = False) -> str:
    """"Nov 22, 2026 14:03" in the user's timezone ("" for missing values)."""
    dt = _as_datetime(value)
    if dt is None:
        return ""
    return dt.astimezone(zone).strftime("%b %d, %Y %H:%M:%S" if with_seconds else "%b %d, %Y %H:%M")


def format_date(value: object, zone: ZoneInfo) -> str:
    """"Nov 22, 2026" in the user's timezone ("" for missing values)."""
    dt = _as_datetime(value)
    if dt is None:
        return ""
    return dt.astimezone(zone).strftime("%b %d, %Y")


def relative_time(value: object, *, now: datetime | None = None) -> str:
    """Past: "just now", "5 minutes ago", "yesterday", "3 days ago", older than a month -> the date.
    Future (expiry dates): "in under a minute", "in 6 days", "in 2 months"."""
    dt = _as_datetime(value)
    if dt is None:
        return ""
    seconds = int(((now or datetime.now(timezone.utc)) - dt).total_seconds())
    if seconds < 0:
        return _time_until(-seconds)
    if seconds < 45:
        return "just now"
    minutes = seconds // 60
    if minutes < 60:
        return "1 minute ago" if minutes <= 1 else f"{minutes} minutes ago"
    hours = minutes // 60
    if hours < 24:
        return "1 hour ago" if hours == 1 else f"{hours} hours ago"
    days = hours // 24
    if days == 1:
        return "yesterday"
    if days < 30:
        return f"{days} days ago"
    return dt.strftime("%b %d, %Y")


def _time_until(seconds: int) -> str:
    if seconds < 60:
        return "in under a minute"
    for size, unit in ((86400 * 30, "month"), (86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            count = seconds // size
            return f"in {count} {unit}{'' if count == 1 else 's'}"
    return ""  # not reached: seconds >= 60 matches "minute"


_SERVER_STATUS_COLORS = {"running": "green", "offline": "gray", "failed": "red", "deleting": "red", "deleted": "red",
                         "unknown": "gray"}


def server_status_color(status: str) -> str:
    """The badge colour of a server status (changing states are amber and shown with a spinner)."""
    from skypanel.backend.services.servers import TRANSITIONAL
    if status in _SERVER_STATUS_COLORS:
        return _SERVER_STATUS_COLORS[status]
    return "amber" if status in TRANSITIONAL else "gray"
