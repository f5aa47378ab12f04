"""/admin/suspensions: organizations suspended for a negative balance, those about to be, and holds."""

from __future__ import annotations

import reflex as rx

from skypanel.components.layout import admin_layout
from skypanel.components.widgets import CARD_SIZE, NOWRAP, TABULAR, empty_state, field, form_dialog, page_header, skeleton_rows
from skypanel.state.admin_suspensions import AdminSuspensionsState as S
from skypanel.state.session import SessionState


def _row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(
            rx.link(row["name"], href="/admin/organizations/" + row["id"].to(str), weight="medium"),
        ),
        rx.table.cell(rx.badge(row["status_label"], color_scheme=row["status_color"], variant="soft")),
        rx.table.cell(rx.text(row["balance"], color=rx.color("red", 11), style=TABULAR), justify="end"),
        rx.table.cell(row["servers"], justify="end"),
        rx.table.cell(rx.text(row["since"], style=NOWRAP)),
        rx.table.cell(
            rx.cond(
                row["held"],
                rx.vstack(rx.text("Hold until ", row["hold_until"], size="2"),
                          rx.text(row["hold_reason"], size="1", color_scheme="gray"), spacing="1"),
                rx.text(row["suspend_at"], size="2", style=NOWRAP),
            )
        ),
        rx.table.cell(
            rx.cond(
                row["held"],
                rx.button("Lift hold", size="1", variant="soft", color_scheme="gray",
                          on_click=S.lift_hold(row["id"])),
                rx.button("Place hold", size="1", variant="soft", on_click=S.open_hold(row["id"], row["name"])),
            ),
            justify="end",
        ),
        align="center",
    )


def _table() -> rx.Component:
    return rx.card(
        rx.cond(
            S.rows.length() > 0,  # type: ignore[attr-defined]
            rx.box(
                rx.table.root(
                    rx.table.header(rx.table.row(
                        rx.table.column_header_cell("Organization"),
                        rx.table.column_header_cell("Status"),
                        rx.table.column_header_cell("Balance", justify="end"),
                        rx.table.column_header_cell("Servers", justify="end"),
                        rx.table.column_header_cell("Since"),
                        rx.table.column_header_cell("Suspension / hold"),
                        rx.table.column_header_cell(""),
                    )),
                    rx.table.body(rx.foreach(S.rows, _row)),
                    variant="ghost",
                    min_width="48rem",
                ),
                overflow_x="auto",
                width="100%",
            ),
            empty_state("circle-check", "Nobody is behind", "No organization has a negative balance, a suspension "
                        "or a billing hold."),
        ),
        size=CARD_SIZE,
        width="100%",
    )


def _hold_dialog() -> rx.Component:
    return form_dialog(
        rx.fragment("Billing hold for ", S.hold_org_name),
        "No suspension until the end of the chosen day (UTC). A suspended organization is resumed now.",
        field("Hold until", rx.input(id="hold-until", name="until", type="date", required=True)),
        field("Reason", rx.text_area(id="hold-reason", name="reason", required=True, min_length=3, max_length=300,
                                     placeholder="e.g. Customer is paying by bank transfer")),
        submit_label="Place hold",
        on_submit=S.place_hold,
        error=S.hold_error,
        open=S.hold_open,
        on_open_change=S.set_hold_open,
        loading=S.saving,
    )


@rx.page(route="/admin/suspensions", title="Suspensions · Admin · SkyPanel",
         on_load=[SessionState.require_admin, S.load])
def admin_suspensions_page() -> rx.Component:
    return admin_layout(
        "Suspensions",
        page_header("Suspensions", "Organizations whose servers are suspended for a negative balance, those "
                    "that will be when the grace period ends, and billing holds."),
        rx.cond(S.loading, rx.card(skeleton_rows(4, 6), size=CARD_SIZE, width="100%"), _table()),
        _hold_dialog(),
    )
