"""Pieces every server page shares: the status badge and the "Simulated" badge."""

from __future__ import annotations

import reflex as rx

from skypanel.components.widgets import NOWRAP


def status_badge(status_label: rx.Var, color: rx.Var, busy: rx.Var, **props) -> rx.Component:
    """A server status: coloured by state, with a spinner while the server is changing state."""
    return rx.badge(
        rx.cond(busy, rx.spinner(size="1"), rx.box(width="6px", height="6px", border_radius="9999px",
                                                     background_color="currentColor")),
        status_label,
        color_scheme=color,
        variant="soft",
        radius="full",
        size="2",
        style={**NOWRAP, "gap": "6px"},
        **props,
    )


def simulated_badge(size: str = "1") -> rx.Component:
    """Marks a server (or plan) of the built-in simulated provider, everywhere the same. A native
    title, not a Radix tooltip: lists show it on every row, and 50 tooltips slow a page's first paint."""
    return rx.badge("Simulated", color_scheme="violet", variant="outline", size=size, radius="full", style=NOWRAP,
                    title="Runs on the built-in simulated provider: no real cloud server is billed.")
