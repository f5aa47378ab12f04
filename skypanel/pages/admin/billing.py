"""/admin/billing: billing engine health — last run, recent runs, errors, and "Run now"."""

from __future__ import annotations

import reflex as rx

from skypanel.components.layout import admin_layout
from skypanel.components.tables import table_and_list
from skypanel.components.widgets import CARD_SIZE, NOWRAP, empty_state, page_header, skeleton_rows, stat_card
from skypanel.state.admin_billing import AdminBillingState
from skypanel.state.session import SessionState

S = AdminBillingState


def status_badge(row: rx.Var) -> rx.Component:
    return rx.badge(row["status"], color_scheme=row["status_color"], variant="soft", text_transform="capitalize")


def run_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row["started_at"], size="2", style=NOWRAP)),
        rx.table.cell(status_badge(row)),
        rx.table.cell(rx.text(row["trigger"], size="2", text_transform="capitalize")),
        rx.table.cell(rx.text(row["duration"], size="2", style=NOWRAP)),
        rx.table.cell(rx.text(row["hours_billed"], size="2")),
        rx.table.cell(rx.text(row["organizations"], size="2")),
        rx.table.cell(rx.text(row["amount"], size="2", style=NOWRAP)),
        rx.table.cell(rx.text(row["error"], size="1", color_scheme="red", style={"overflow_wrap": "anywhere"}),
                      max_width="22rem"),
        align="center",
    )


def run_item(row: rx.Var) -> rx.Component:
    return rx.box(
        rx.flex(rx.text(row["started_at"], size="2", weight="medium"), status_badge(row), justify="between",
                spacing="3"),
        rx.text(row["hours_billed"], " server-hours · ", row["organizations"], " organizations · ", row["amount"],
                " · ", row["duration"], size="1", color_scheme="gray"),
        rx.cond(row["error"], rx.text(row["error"], size="1", color_scheme="red"), rx.fragment()),
        padding_y="var(--space-3)",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
    )


def run_now_button() -> rx.Component:
    return rx.button(
        rx.cond(S.running, rx.spinner(size="2"), rx.icon("play", size=16)),
        rx.cond(S.running, "Running…", "Run now"),
        on_click=S.run_now,
        disabled=S.running,
        loading=S.running,
    )


def last_run() -> rx.Component:
    last = S.last
    return rx.grid(
        stat_card("Last run", rx.cond(last["started_at"], last["started_at"], "Never"),
                  rx.cond(last["status"], last["status"], ""), icon="clock"),
        stat_card("Duration", last["duration"], "Target: under 10 s", icon="timer"),
        stat_card("Server-hours billed", last["hours_billed"], last["until_hint"], icon="server"),
        stat_card("Amount", last["amount"], last["orgs_hint"],
                  icon="circle-dollar-sign"),
        columns=rx.breakpoints(initial="1", sm="2", lg="4"),
        spacing="4",
        width="100%",
    )


def content() -> rx.Component:
    return rx.vstack(
        rx.cond(
            S.failed_24h > 0,
            rx.callout(rx.text(S.failed_24h, " runs failed or were interrupted in the last 24 hours. Their hours stay "
                               "due and the next run bills them; see the errors below."),
                       icon="triangle-alert", color_scheme="red", width="100%"),
            rx.fragment(),
        ),
        rx.cond(S.runs.length() > 0, last_run(), rx.fragment()),
        rx.card(
            rx.vstack(
                rx.heading("Recent runs", size="4"),
                rx.cond(
                    S.runs.length() > 0,
                    table_and_list(["Started", "Status", "Trigger", "Duration", "Hours", "Organizations", "Amount",
                                    "Error"], S.runs, run_row, run_item, min_width="56rem"),
                    empty_state("receipt", "No billing runs yet",
                                "The scheduler bills every server at the top of each hour; run it now to see it here."),
                ),
                spacing="4",
                width="100%",
            ),
            size=CARD_SIZE,
            width="100%",
        ),
        spacing="5",
        width="100%",
    )


@rx.page(route="/admin/billing", title="Billing health · Admin · SkyPanel",
         on_load=[SessionState.require_admin, AdminBillingState.load])
def admin_billing_page() -> rx.Component:
    return admin_layout(
        "Billing",
        page_header(
            "Billing health",
            "The hourly billing engine: every server-hour charged once, one debit per organization per run.",
            run_now_button(),
        ),
        rx.cond(S.loading, rx.card(skeleton_rows(5, 8), size=CARD_SIZE, width="100%"), content()),
    )
