"""The browser SSH console: `xterm_console.jsx` (our own few lines of React around xterm.js and its
fit addon), wrapped as a Reflex component.

The component opens the WebSocket itself (`/ws/console/<id>?ticket=...`, skypanel/backend/api/
console.py) so terminal bytes never travel through Reflex state; the state only mints the
single-use ticket and hears status changes through `on_status(state, reason)`.
A new `ticket` closes the old connection and opens a new one (Reconnect).
"""

from __future__ import annotations

import reflex as rx
from reflex.event import passthrough_event_spec

# npm packages, pinned: Reflex installs them with Bun at build time (reflex.lock/ has the hashes).
XTERM = "@xterm/xterm@6.0.0"
XTERM_FIT = "@xterm/addon-fit@0.11.0"


class XtermConsole(rx.Component):
    """An xterm.js terminal connected to `ws_path` with `ticket`; fills its parent's box."""

    library = "$/public/" + rx.asset("xterm_console.jsx", shared=True)
    lib_dependencies: list[str] = [XTERM, XTERM_FIT]
    tag = "XtermConsole"

    ws_path: rx.Var[str]
    ticket: rx.Var[str]
    font_size: rx.Var[int]

    # (state, reason): "connecting" | "connected" | "closed" (reason: what the server said) | "idle".
    on_status: rx.EventHandler[passthrough_event_spec(str, str)]


xterm_console = XtermConsole.create


# ---------------------------------------------------------------- views shared by the tab and the page
# (imported late: the component above must not depend on a state)
from skypanel.components.servers import status_badge  # noqa: E402
from skypanel.components.widgets import ELLIPSIS, NOWRAP, empty_state  # noqa: E402
from skypanel.state.console import ConsoleState  # noqa: E402

C = ConsoleState


def connect_button(size: str = "2") -> rx.Component:
    """Connect / Reconnect: mints a new single-use ticket (spinner while it does)."""
    return rx.button(
        rx.icon("rotate-cw", size=14 if size == "1" else 16),
        C.connect_label,
        on_click=C.connect,
        loading=C.minting,
        variant=rx.cond(C.conn_state == "closed", "solid", "soft"),
        size=size,
        style=NOWRAP,
    )


def terminal_box(**props) -> rx.Component:
    """The terminal itself: fills the box it is given."""
    return rx.box(
        xterm_console(ws_path=C.ws_path, ticket=C.ticket, on_status=C.status_changed,
                      aria_label="Terminal of " + C.label),
        overflow="hidden",
        background_color="#0b0e14",
        **props,
    )


def _actions(*buttons: rx.Component) -> rx.Component:
    return rx.flex(*buttons, spacing="3", wrap="wrap", justify="center")


def _check_again() -> rx.Component:
    return rx.button(rx.icon("refresh-cw", size=16), "Check again", on_click=C.check_again, variant="soft")


def _back_to_server() -> rx.Component:
    return rx.button(rx.link(rx.icon("arrow-left", size=16), "Back to the server", href=C.server_href,
                             underline="none"), as_child=True, variant="soft", color_scheme="gray")


def blocked_panel(open_password_tab: rx.event.EventType | None = None) -> rx.Component:
    """Why the console cannot open, and what to do next. `open_password_tab`: the tab's own way
    to the Root password tab (the full-screen page links to the server page with ?tab=password)."""
    password_action = (
        rx.button(rx.icon("key-round", size=16), "Set a root password", on_click=open_password_tab)
        if open_password_tab is not None
        else rx.button(rx.link(rx.icon("key-round", size=16), "Set a root password",
                               href=C.server_href + "?tab=password", underline="none"), as_child=True)
    )
    panel = rx.match(
        C.blocker,
        ("permission", empty_state(
            "lock", C.blocker_title,
            "The console needs the permission to manage servers, which your role in this organization does not "
            "include. Ask an owner or an admin.",
            _back_to_server(),
        )),
        ("suspended", empty_state("octagon-pause", C.blocker_title, C.reason, _actions(
            rx.button(rx.link(rx.icon("wallet", size=16), "Go to billing", href="/billing", underline="none"),
                      as_child=True),
        ))),
        ("stopped", empty_state(
            "power-off",
            rx.fragment(C.label, " is ", C.srv_status_label.lower()),  # type: ignore[attr-defined]
            rx.fragment(C.reason, " Power it on from the server page; the console opens once it runs."),
            _actions(_check_again()),
        )),
        ("credentials", empty_state(
            "key-round", C.blocker_title,
            rx.fragment(C.reason, rx.cond(C.can_reset_password, "",
                                          " Ask a member who can manage servers to set one.")),
            _actions(rx.cond(C.can_reset_password, password_action, rx.fragment()), _check_again()),
        )),
        empty_state("terminal", C.blocker_title, C.reason, _actions(_check_again())),
    )
    return rx.box(panel, width="100%", data_testid="console-unavailable")


def missing_panel() -> rx.Component:
    return empty_state(
        "search-x",
        "Server not found",
        "It may have been deleted, or it belongs to an organization you are not a member of.",
        rx.button(rx.link(rx.icon("arrow-left", size=16), "Back to servers", href="/vps", underline="none"),
                  as_child=True, variant="soft"),
    )


def loading_panel(**props) -> rx.Component:
    return rx.flex(
        rx.spinner(size="3"),
        rx.text("Opening the console…", size="2", color_scheme="gray"),
        align="center",
        justify="center",
        spacing="3",
        width="100%",
        **props,
    )


def console_tab(open_password_tab: rx.event.EventType | None = None) -> rx.Component:
    """The Console tab of /vps/[server_id]: a toolbar and the terminal (mounts -> checks and connects;
    leaving the tab unmounts it, which closes the connection)."""
    toolbar = rx.flex(
        rx.flex(
            rx.icon("terminal", size=18, color=rx.color("accent", 11)),
            rx.vstack(
                rx.heading("Console", as_="h2", size="3", weight="medium"),
                rx.text("A root shell over SSH, in your browser", rx.cond(C.primary_ip, rx.fragment(
                    " · ", rx.code("root@", C.primary_ip, variant="ghost", size="1")), ""),
                    size="1", color_scheme="gray", style=ELLIPSIS),
                spacing="0",
                min_width="0",
            ),
            align="center",
            spacing="2",
            min_width="0",
        ),
        rx.flex(
            connect_button(),
            rx.button(rx.link(rx.icon("maximize-2", size=16), "Full screen", href=C.console_href,
                              underline="none", is_external=False),
                      as_child=True, variant="soft", color_scheme="gray", style=NOWRAP),
            spacing="2",
            align="center",
            flex_shrink="0",
        ),
        justify="between",
        align="center",
        spacing="3",
        width="100%",
        wrap="wrap",
    )
    terminal = rx.vstack(
        toolbar,
        terminal_box(height=rx.breakpoints(initial="60vh", md="min(68vh, 44rem)"), min_height="20rem",
                     width="100%", border_radius="var(--radius-4)",
                     border=f"1px solid {rx.color('gray', 6)}",
                     box_shadow="0 8px 24px -12px rgba(0, 0, 0, 0.35)"),
        spacing="3",
        width="100%",
    )
    return rx.box(
        rx.match(
            C.view,
            ("ready", rx.cond(C.available, terminal, blocked_panel(open_password_tab))),
            ("missing", missing_panel()),
            loading_panel(height="20rem"),
        ),
        on_mount=C.load,
        width="100%",
    )
