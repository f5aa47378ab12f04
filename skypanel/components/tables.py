"""Rows of data on any screen: tables that become lists on phones, and the paging under them.

Two layouts, chosen by how much a row holds:
- `table_and_list`: a table on wide screens and one block per row on phones, for rows with many
  columns (ledger, activity, the admin lists). The page gives a row renderer for each; the browser
  builds only the one that shows (`components.media`).
- `responsive_table`: one table whose secondary columns hide on phones and are repeated in a
  phone-only line of the first cell, for short rows (organizations, members, sessions).

Paged lists pass their state (a `skypanel.state.paging` mixin) to `paged` and `refresh_button`.
"""

from __future__ import annotations

from typing import Any, Callable

import reflex as rx

from skypanel.components.media import narrow_only, wide_only
from skypanel.components.widgets import CARD_SIZE

# Responsive display values (Reflex breakpoints [base, >=30em, >=48em]): the layout shows its
# sidebar from 48em; below that, tables give way to lists or drop their secondary columns.
DESKTOP_CELL = ["none", "none", "table-cell"]
PHONE_ONLY = ["block", "block", "none"]

RowRenderer = Callable[[Any], rx.Component]


def _header_cell(header: str | rx.Component) -> rx.Component:
    return rx.table.column_header_cell(header) if isinstance(header, str) else header


def table_and_list(
    headers: list[str | rx.Component],
    rows: rx.Var,
    render_row: RowRenderer,
    render_item: RowRenderer,
    *,
    busy: rx.Var | bool = False,
    min_width: str = "36rem",
) -> rx.Component:
    """`rows` as a table on wide screens (`render_row(item)` -> `rx.table.row`) and as a list of
    blocks on phones (`render_item(item)`); both fade while `busy` (a new page is loading).

    A header is a title, or an `rx.table.column_header_cell(...)` when it needs props.
    """
    faded = rx.cond(busy, "0.6", "1") if isinstance(busy, rx.Var) else "1"
    table = rx.box(
        rx.table.root(
            rx.table.header(rx.table.row(*[_header_cell(h) for h in headers])),
            rx.table.body(rx.foreach(rows, render_row)),
            variant="surface",
            size="2",
            width="100%",
            min_width=min_width,
        ),
        width="100%",
        overflow_x="auto",
        opacity=faded,
        transition="opacity 120ms",
    )
    phone_list = rx.box(
        rx.foreach(rows, render_item),
        width="100%",
        border_top=f"1px solid {rx.color('gray', 4)}",
        opacity=faded,
    )
    return rx.fragment(wide_only(table), narrow_only(phone_list))


def responsive_table(
    columns: list[tuple[str, bool]],
    rows: rx.Var,
    render_row: RowRenderer,
    *,
    empty: rx.Component,
) -> rx.Component:
    """A table whose secondary columns hide on phones. `columns` = [(header, shown_on_phones)];
    rows render desktop-only cells with display=DESKTOP_CELL and repeat that data in a
    PHONE_ONLY line of the first cell, so nothing needs sideways scrolling."""
    header = rx.table.row(
        *[
            rx.table.column_header_cell(title, **({} if on_phone else {"display": DESKTOP_CELL}))
            for title, on_phone in columns
        ]
    )
    table = rx.table.root(
        rx.table.header(header),
        rx.table.body(rx.foreach(rows, render_row)),
        variant="surface",
        size="2",
        width="100%",
    )
    return rx.cond(rows.length() > 0, table, empty)  # type: ignore[attr-defined]


def pager(page: Any, pages: Any, on_prev: Any, on_next: Any, total: Any = None) -> rx.Component:
    """Previous / next buttons with "Page x of y" (and the row total when given)."""
    return rx.flex(
        rx.text(total, " total", size="2", color_scheme="gray") if total is not None else rx.box(),
        rx.flex(
            rx.text("Page ", page, " of ", pages, size="2", color_scheme="gray"),
            rx.button(
                rx.icon("chevron-left", size=16),
                "Previous",
                variant="soft",
                color_scheme="gray",
                size="2",
                on_click=on_prev,
                disabled=page <= 1,
            ),
            rx.button(
                "Next",
                rx.icon("chevron-right", size=16),
                variant="soft",
                color_scheme="gray",
                size="2",
                on_click=on_next,
                disabled=page >= pages,
            ),
            spacing="3",
            align="center",
        ),
        justify="between",
        align="center",
        width="100%",
        padding_top="var(--space-3)",
        wrap="wrap",
        spacing="3",
    )


def paged(state: Any, rows: rx.Var, content: rx.Component, empty: rx.Component) -> rx.Component:
    """`content` (the rows of a paged list state) with the pager under it when there is more
    than one page; `empty` when there are no rows."""
    return rx.cond(
        rows.length() > 0,  # type: ignore[attr-defined]
        rx.vstack(
            content,
            rx.cond(
                state.page_total > 1,
                pager(state.page, state.page_total, state.prev_page, state.next_page),
                rx.fragment(),
            ),
            spacing="2",
            width="100%",
        ),
        empty,
    )


def list_card(*children: rx.Component) -> rx.Component:
    """The card a paged list sits in: its controls, then `paged(...)`."""
    return rx.card(rx.vstack(*children, spacing="4", width="100%"), size=CARD_SIZE, width="100%")


def list_heading(title: str, state: Any) -> rx.Component:
    """A list card's title with the "1–25 of 40" line on the right."""
    return rx.flex(
        rx.heading(title, as_="h2", size="4", weight="medium"),
        rx.text(state.range_text, size="2", color_scheme="gray"),
        justify="between",
        align="center",
        width="100%",
    )


def refresh_button(state: Any) -> rx.Component:
    """Fetch the current page again (spins while the list reloads)."""
    return rx.button(
        rx.icon("refresh-cw", size=16),
        "Refresh",
        variant="surface",
        color_scheme="gray",
        loading=state.table_loading,
        on_click=state.refresh,
    )
