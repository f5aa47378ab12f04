"""/vps/[server_id]/console: the server's SSH console on the whole screen (no sidebar) — a thin
top bar with the way back, the server's label and status, Reconnect and the theme switch, and the
terminal below filling the rest of the window."""

from __future__ import annotations

import reflex as rx

from skypanel.components.console import (
    C,
    blocked_panel,
    connect_button,
    loading_panel,
    missing_panel,
    terminal_box,
)
from skypanel.components.layout import _theme_applier, theme_toggle
from skypanel.components.servers import status_badge
from skypanel.components.widgets import ELLIPSIS, NOWRAP
from skypanel.state.session import SessionState

BAR_HEIGHT = "3rem"


def _top_bar() -> rx.Component:
    ready = C.view == "ready"
    return rx.flex(
        rx.link(
            rx.flex(rx.icon("arrow-left", size=16), rx.text("Back", display=rx.breakpoints(initial="none", sm="inline")),
                    align="center", spacing="1"),
            href=C.server_href,
            underline="none",
            color_scheme="gray",
            high_contrast=True,
            size="2",
            aria_label="Back to the server",
            style=NOWRAP,
        ),
        rx.separator(orientation="vertical", size="1", height="1.25rem"),
        rx.flex(
            rx.icon("terminal", size=16, color=rx.color("accent", 11), flex_shrink="0"),
            rx.heading(rx.cond(ready, C.label, "Console"), as_="h1", size="2", weight="bold", style=ELLIPSIS),
            rx.cond(ready, status_badge(C.srv_status_label, C.srv_status_color, C.srv_busy,
                                        data_testid="server-status"), rx.fragment()),
            align="center",
            spacing="2",
            min_width="0",
            flex="1",
        ),
        rx.flex(
            rx.cond(ready & C.available, connect_button(size="1"), rx.fragment()),
            theme_toggle(),
            align="center",
            spacing="3",
            flex_shrink="0",
        ),
        align="center",
        spacing="3",
        height=BAR_HEIGHT,
        flex_shrink="0",
        padding_x=rx.breakpoints(initial="var(--space-3)", sm="var(--space-4)"),
        border_bottom=f"1px solid {rx.color('gray', 5)}",
        background_color=rx.color("gray", 1),
    )


def _body() -> rx.Component:
    centred = {"max_width": "36rem", "width": "100%", "margin_x": "auto", "padding": "var(--space-5)"}
    return rx.match(
        C.view,
        ("ready", rx.cond(
            C.available,
            terminal_box(flex="1", min_height="0", min_width="0",
                         margin=rx.breakpoints(initial="0", sm="var(--space-3)"),
                         border_radius=rx.breakpoints(initial="0", sm="var(--radius-4)"),
                         border=rx.breakpoints(initial="none", sm=f"1px solid {rx.color('gray', 6)}")),
            rx.box(blocked_panel(), **centred),
        )),
        ("missing", rx.box(missing_panel(), **centred)),
        loading_panel(flex="1"),
    )


@rx.page(
    route="/vps/[server_id]/console",
    title="Console · SkyPanel",
    on_load=[SessionState.require_login, C.load],
)
def server_console_page() -> rx.Component:
    return rx.flex(
        _theme_applier(),
        _top_bar(),
        rx.el.main(
            _body(),
            style={"flex": "1", "min_height": "0", "display": "flex", "flex_direction": "column"},
        ),
        direction="column",
        height="100dvh",
        width="100%",
        overflow="hidden",
        background_color=rx.color("gray", 2),
    )
