"""The Add funds button and dialog on /billing (PayPal)."""

from __future__ import annotations

import reflex as rx

from skypanel.components.widgets import field, form_dialog
from skypanel.state.topup import PRESETS, TopupState

S = TopupState


def add_funds_button() -> rx.Component:
    return rx.fragment(
        rx.button(rx.icon("plus", size=16), "Add funds", on_click=S.open_dialog),
        add_funds_dialog(),
    )


def add_funds_dialog() -> rx.Component:
    presets = rx.flex(
        *[rx.button(f"${p}", type="button", variant=rx.cond(S.amount == p, "solid", "soft"), on_click=S.pick(p),
                    aria_label=f"Add ${p}") for p in PRESETS],
        spacing="2", wrap="wrap",
    )
    custom = rx.input(id="topup-amount", name="amount", value=S.amount, on_change=S.set_amount,
                      inputmode="decimal", placeholder="25.00", width="100%")
    return form_dialog(
        "Add funds",
        "Pay with PayPal. The amount is added to this organization's wallet as soon as PayPal confirms it.",
        presets,
        field("Amount (USD)", custom),
        rx.text("Between ", S.min_display, " and ", S.max_display, ".", size="1", color_scheme="gray",
                margin_top="calc(-1 * var(--space-3))"),
        submit_label="Continue to PayPal",
        on_submit=S.submit,
        error=S.error,
        open=S.dialog_open,
        on_open_change=S.set_open,
        loading=S.submitting,
    )
