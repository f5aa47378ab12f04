"""Paged lists: the page, search and date-filter state every table page shares.

A page state mixes these in before its base (`class X(SearchMixin, SessionState)`) and defines
`_fetch()`: load the current page into the state, starting with `self._require_actor()`. The
handlers here only move the page or change a filter and then fetch through `_run()`, so every
fetch re-checks the session; a service error becomes the page's answer through `self._fail(exc)`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import reflex as rx

from skypanel.backend.services.errors import ServiceError, ValidationError

PAGE_SIZE = 25
ALL = "all"  # the "no filter" value of a select (Radix select items cannot have an empty value)
SEARCH_MAX = 100


def page_count(total: int, size: int = PAGE_SIZE) -> int:
    return max(1, (total + size - 1) // size)


def range_label(page: int, total: int, size: int = PAGE_SIZE) -> str:
    if total <= 0:
        return "No results"
    first = (page - 1) * size + 1
    return f"{first:,}–{min(page * size, total):,} of {total:,}"


def parse_date_range(date_from: str, date_to: str, zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    """Browser date inputs ("YYYY-MM-DD", whole days in the user's timezone) -> [since, until) in UTC."""

    def parse(value: str, label: str) -> date | None:
        value = (value or "").strip()
        if not value:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValidationError(f"{label} date is not a valid date.") from None

    start, end = parse(date_from, "From"), parse(date_to, "To")
    if start and end and end < start:
        raise ValidationError("The 'to' date is before the 'from' date.")
    since = datetime.combine(start, time.min, zone).astimezone(timezone.utc) if start else None
    until = datetime.combine(end + timedelta(days=1), time.min, zone).astimezone(timezone.utc) if end else None
    return since, until


class PagingMixin(rx.State, mixin=True):
    """Page number, total, loading flags and the previous / next / refresh handlers."""

    loading: bool = True  # the first load: the page shows skeletons
    table_loading: bool = False  # a later fetch: the table fades and a spinner shows
    total: int = 0
    page: int = 1

    @rx.var
    def page_total(self) -> int:
        return page_count(self.total)

    @rx.var
    def range_text(self) -> str:
        return range_label(self.page, self.total)

    # ---- server-side helpers ----
    def _fetch(self) -> None:
        """Load the current page (and whatever else the page shows). Raises ServiceError."""
        raise NotImplementedError

    def _run(self, **fetch_args):
        """Fetch; a service error becomes `self._fail(exc)`. Returns an event or None."""
        try:
            self._fetch(**fetch_args)
        except ServiceError as exc:
            return self._fail(exc)
        finally:
            self.loading = False
            self.table_loading = False
        return None

    def _fetch_page(self, fetch: Callable[[int, int], tuple[list, int]]) -> list:
        """`fetch(limit, offset)` for the current page; when the page ran past the end (filters
        changed, rows went away) the last page instead. Sets `total`; returns the rows."""
        rows, total = fetch(PAGE_SIZE, (self.page - 1) * PAGE_SIZE)
        if not rows and total > 0 and self.page > 1:
            self.page = page_count(total)
            rows, total = fetch(PAGE_SIZE, (self.page - 1) * PAGE_SIZE)
        self.total = int(total)
        return rows

    def _load_first_page(self, **fetch_args):
        """For `load` handlers (after resetting their filters): skeletons, then page 1. On a fresh
        tab the skeletons already show, so nothing is sent before the data."""
        showing_skeletons = self.loading
        self.loading = True
        self.page = 1
        if not showing_skeletons:
            yield
        yield self._run(**fetch_args)

    def _reload(self):
        """Fade the table and show the spinner, then fetch again."""
        self.table_loading = True
        yield
        yield self._run()

    def _refilter(self):
        """After a filter changed: back to page 1 and fetch."""
        self.page = 1
        yield from self._reload()

    # ---- events ----
    @rx.event
    def next_page(self):
        if self.page < self.page_total:
            self.page += 1
            yield from self._reload()

    @rx.event
    def prev_page(self):
        if self.page > 1:
            self.page -= 1
            yield from self._reload()

    @rx.event
    def refresh(self):
        yield from self._reload()


class SearchMixin(PagingMixin, mixin=True):
    """A paged list with a free-text search box."""

    search: str = ""

    @rx.event
    def set_search(self, value: str):
        self.search = str(value or "")[:SEARCH_MAX]
        yield from self._refilter()


class DateRangeMixin(PagingMixin, mixin=True):
    """A paged list filtered by a From / To pair of date inputs (whole days in the user's timezone)."""

    date_from: str = ""
    date_to: str = ""

    def _date_range(self, zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
        return parse_date_range(self.date_from, self.date_to, zone)

    @rx.event
    def set_date_from(self, value: str):
        self.date_from = str(value or "")[:10]
        yield from self._refilter()

    @rx.event
    def set_date_to(self, value: str):
        self.date_to = str(value or "")[:10]
        yield from self._refilter()
