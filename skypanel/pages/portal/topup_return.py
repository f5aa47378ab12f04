"""/billing/topup/return: PayPal sends the payer back here; the payment is captured and credited."""

from __future__ import annotations

import reflex as rx

from skypanel.components.layout import portal_layout
from skypanel.components.widgets import CARD_SIZE, page_header
from skypanel.state.session import SessionState
from skypanel.state.topup import TopupReturnState as S


def _panel(icon: str, color: str, title, text) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.flex(rx.icon(icon, size=22, color=rx.color(color, 10)), rx.heading(title, size="4"), spacing="3",
                    align="center"),
            rx.text(text, size="2", color=rx.color("gray", 11)),
            rx.link(rx.button("Back to billing", variant="soft"), href="/billing"),
            spacing="4",
        ),
        size=CARD_SIZE, width="100%", max_width="36rem",
    )


def body() -> rx.Component:
    return rx.match(
        S.phase,
        ("working", rx.card(rx.flex(rx.spinner(size="3"), rx.text("Confirming your payment with PayPal…"),
                                    spacing="3", align="center"), size=CARD_SIZE, max_width="36rem")),
        ("completed", _panel("circle-check", "green", "Payment received",
                             rx.text(S.amount_display, " was added to your wallet. Your balance is now ",
                                     rx.text(S.balance_display, as_="span", weight="bold",
                                             data_testid="topup-balance"), ".", as_="span"))),
        ("pending", _panel("clock", "amber", "Payment pending",
                           "PayPal is reviewing this payment. The funds are added automatically once PayPal "
                           "confirms it.")),
        ("unconfirmed", _panel("clock", "amber", "Waiting for PayPal",
                               "We could not confirm the payment with PayPal yet. If it went through, the funds are "
                               "added automatically within a few minutes; you will not be charged twice.")),
        ("cancelled", _panel("circle-x", "gray", "Payment cancelled", "Nothing was charged and nothing changed.")),
        _panel("circle-alert", "red", "Payment not completed",
               rx.cond(S.message, S.message, "The payment could not be completed.")),
    )


@rx.page(route="/billing/topup/return", title="Add funds · SkyPanel",
         on_load=[SessionState.require_login, S.complete])
def topup_return_page() -> rx.Component:
    return portal_layout("Billing", page_header("Add funds", "PayPal payment"), body())
