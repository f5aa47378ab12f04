"""/admin/payments: PayPal top-ups, refunds (full or partial) and organizations flagged by reversals."""

from __future__ import annotations

import reflex as rx

from skypanel.components.layout import admin_layout
from skypanel.components.widgets import CARD_SIZE, NOWRAP, empty_state, field, form_dialog, page_header, \
    section_title, skeleton_rows
from skypanel.state.admin_payments import AdminPaymentsState as S
from skypanel.state.session import SessionState


def payment_row(p: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(p["created"], size="2", style=NOWRAP)),
        rx.table.cell(rx.text(p["organization"], size="2", weight="medium")),
        rx.table.cell(rx.text(p["reference"], size="1", font_family="monospace")),
        rx.table.cell(rx.text(p["amount"], size="2", style=NOWRAP)),
        rx.table.cell(rx.badge(p["status_label"], color_scheme=p["status_color"], variant="soft")),
        rx.table.cell(rx.text(p["refunded"], size="2")),
        rx.table.cell(rx.cond(p["can_refund"], rx.button("Refund", size="1", variant="soft", color_scheme="red",
                                                         on_click=S.open_refund(p["id"])), rx.fragment()),
                      justify="end"),
        align="center",
    )


def refund_row(r: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(r["created"], size="2", style=NOWRAP)),
        rx.table.cell(rx.text(r["organization"], size="2")),
        rx.table.cell(rx.text(r["reference"], size="1", font_family="monospace")),
        rx.table.cell(rx.text(r["amount"], size="2")),
        rx.table.cell(rx.badge(r["status"], color_scheme=r["status_color"], variant="soft")),
        rx.table.cell(rx.text(r["reason"], size="2"), rx.text(r["failure"], size="1", color_scheme="red")),
        rx.table.cell(rx.cond(r["retry"], rx.button("Retry", size="1", variant="soft", on_click=S.retry(r["id"])),
                              rx.fragment()), justify="end"),
        align="center",
    )


def table(headers: list[str], rows, render) -> rx.Component:
    return rx.box(rx.table.root(
        rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in headers])),
        rx.table.body(rx.foreach(rows, render)),
        width="100%",
    ), overflow_x="auto", width="100%")


def flags_card() -> rx.Component:
    return rx.cond(
        S.flags.length() > 0,
        rx.callout.root(
            rx.callout.icon(rx.icon("flag")),
            rx.vstack(
                rx.text("Organizations flagged by reversed payments", weight="bold"),
                rx.foreach(S.flags, lambda f: rx.flex(
                    rx.text(f["organization"], weight="medium"), rx.text(f["reason"], size="2"),
                    rx.button("Resolve", size="1", variant="soft", on_click=S.resolve(f["id"])),
                    spacing="3", align="center", wrap="wrap")),
                spacing="2",
            ),
            color_scheme="red", width="100%",
        ),
        rx.fragment(),
    )


def refund_dialog() -> rx.Component:
    return form_dialog(
        "Refund payment",
        S.refund_label,
        field("Amount (USD)", rx.input(id="refund-amount", name="amount", value=S.refund_amount, on_change=S.set_refund_amount),
              hint="Refunded to the payer through PayPal and debited from the organization's wallet."),
        field("Reason", rx.input(id="refund-reason", name="reason", value=S.refund_reason, on_change=S.set_refund_reason)),
        submit_label="Refund",
        on_submit=S.submit_refund,
        error=S.refund_error,
        open=S.refund_open,
        on_open_change=S.set_refund_open,
        loading=S.refunding,
    )


@rx.page(route="/admin/payments", title="Payments · Admin", on_load=[SessionState.require_admin, S.load])
def admin_payments_page() -> rx.Component:
    return admin_layout(
        "Payments",
        page_header("Payments", "PayPal top-ups and refunds"),
        flags_card(),
        rx.cond(
            S.loading,
            rx.card(skeleton_rows(5, 6), size=CARD_SIZE, width="100%"),
            rx.vstack(
                rx.card(rx.vstack(section_title("Top-ups"), rx.cond(
                    S.payments.length() > 0,
                    table(["Date", "Organization", "Reference", "Amount", "Status", "Refunded", ""], S.payments,
                          payment_row),
                    empty_state("credit-card", "No payments yet", "PayPal top-ups will be listed here."),
                ), spacing="3", width="100%"), size=CARD_SIZE, width="100%"),
                rx.card(rx.vstack(section_title("Refunds"), rx.cond(
                    S.refunds.length() > 0,
                    table(["Date", "Organization", "Payment", "Amount", "Status", "Reason", ""], S.refunds,
                          refund_row),
                    rx.text("No refunds yet.", size="2", color_scheme="gray"),
                ), spacing="3", width="100%"), size=CARD_SIZE, width="100%"),
                spacing="5", width="100%",
            ),
        ),
        refund_dialog(),
    )
