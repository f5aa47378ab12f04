"""/vps: the organization's servers with live status, search, a status filter and paging."""

from __future__ import annotations

import reflex as rx

from skypanel.components.filters import clear_filters_button, no_matches, search_field
from skypanel.components.layout import portal_layout
from skypanel.components.servers import simulated_badge, status_badge
from skypanel.components.tables import list_card, paged, refresh_button, table_and_list
from skypanel.components.widgets import (
    CARD_SIZE,
    NOWRAP,
    TABULAR,
    empty_state,
    field,
    no_access,
    page_header,
    skeleton_line,
)
from skypanel.state.paging import ALL
from skypanel.state.servers import STATUS_FILTERS, ServerRow, ServersState

S = ServersState
MONO = {"font_family": "var(--code-font-family)", "font_size": "var(--font-size-2)", "white_space": "nowrap"}


# ---------------------------------------------------------------- pieces shared with other server pages


def ip_with_copy(ip: rx.Var, more: rx.Var, label: rx.Var) -> rx.Component:
    """The primary IPv4 address in monospace with a copy button ("—" while none is assigned)."""
    return rx.cond(
        ip,
        rx.flex(
            rx.text(ip, style=MONO),
            rx.cond(more, rx.text(more, size="1", color_scheme="gray", title="More addresses on the server page"),
                    rx.fragment()),
            rx.icon_button(  # a native title, not a tooltip: one per row (see simulated_badge)
                rx.icon("copy", size=13),
                size="1",
                variant="ghost",
                color_scheme="gray",
                aria_label="Copy IP address of " + label,
                title="Copy IP address",
                on_click=[rx.set_clipboard(ip), rx.toast.success("IP address copied.")],
            ),
            spacing="2",
            align="center",
        ),
        rx.text("Assigning…", size="2", color_scheme="gray", style=NOWRAP),
    )


def create_button(label: str = "Create server", **props) -> rx.Component:
    return rx.link(rx.button(rx.icon("plus", size=16), label, **props), href="/vps/create")


# ---------------------------------------------------------------- the list


def label_cell(row: ServerRow) -> rx.Component:
    return rx.flex(
        rx.flex(
            rx.icon("server", size=16, color=rx.color("gray", 10)),
            align="center",
            justify="center",
            width="32px",
            height="32px",
            flex_shrink="0",
            border_radius="var(--radius-3)",
            background_color=rx.color("gray", 3),
        ),
        rx.vstack(
            rx.flex(
                rx.link(row.label, href=row.href, weight="medium", size="2", style=NOWRAP),
                rx.cond(row.simulated, simulated_badge(), rx.fragment()),
                spacing="2",
                align="center",
            ),
            spacing="0",
            min_width="0",
        ),
        spacing="3",
        align="center",
    )


def server_row(row: ServerRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(label_cell(row)),
        rx.table.cell(status_badge(row.status_label, row.status_color, row.busy,
                                   data_testid="server-status")),
        rx.table.cell(ip_with_copy(row.primary_ip, row.more_ips, row.label)),
        rx.table.cell(rx.text(row.plan_name, size="2", style=NOWRAP)),
        rx.table.cell(rx.text(row.region_label, size="2", style=NOWRAP)),
        rx.table.cell(rx.text(row.monthly, rx.text("/mo", as_="span", color_scheme="gray", size="1"),
                              size="2", style=TABULAR), text_align="right"),
        rx.table.cell(rx.text(row.created, size="2", color_scheme="gray", style=NOWRAP,
                              title=row.created_exact)),
        align="center",
    )


def server_item(row: ServerRow) -> rx.Component:
    """Phones: one server per block."""
    return rx.vstack(
        rx.flex(
            rx.flex(
                rx.link(row.label, href=row.href, weight="medium", size="3", style={"overflow_wrap": "anywhere"}),
                rx.cond(row.simulated, simulated_badge(), rx.fragment()),
                spacing="2",
                align="center",
                wrap="wrap",
                min_width="0",
            ),
            status_badge(row.status_label, row.status_color, row.busy),
            justify="between",
            align="center",
            spacing="2",
            width="100%",
        ),
        ip_with_copy(row.primary_ip, row.more_ips, row.label),
        rx.flex(
            rx.text(row.plan_name, size="1", color_scheme="gray"),
            rx.text("·", size="1", color_scheme="gray"),
            rx.text(row.region_label, size="1", color_scheme="gray"),
            rx.text("·", size="1", color_scheme="gray"),
            rx.text(row.monthly, "/mo", size="1", color_scheme="gray", style=TABULAR),
            spacing="2",
            wrap="wrap",
        ),
        spacing="2",
        padding_y="var(--space-3)",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
        width="100%",
    )


def server_rows() -> rx.Component:
    return table_and_list(
        [
            "Server",
            rx.table.column_header_cell("Status", min_width="9rem"),
            "IP address",
            "Plan",
            "Region",
            rx.table.column_header_cell("Monthly", text_align="right"),
            "Created",
        ],
        S.rows,
        server_row,
        server_item,
        busy=S.table_loading,
        min_width="52rem",
    )


def filters() -> rx.Component:
    status_select = rx.select.root(
        rx.select.trigger(id="servers-status", width="100%"),
        rx.select.content(
            rx.select.item("All statuses", value=ALL),
            *[rx.select.item(label, value=value) for value, label in STATUS_FILTERS],
        ),
        value=S.status_filter,
        on_change=S.set_status_filter,
    )
    return rx.flex(
        rx.box(search_field(S, label="Search", input_id="servers-search", placeholder="Label or IP address"),
               flex="1 1 16rem", min_width="0"),
        rx.box(field("Status", status_select, html_for="servers-status"),
               width=rx.breakpoints(initial="100%", sm="12rem")),
        clear_filters_button(S),
        spacing="3",
        align="end",
        wrap="wrap",
        width="100%",
    )


def live_note() -> rx.Component:
    return rx.cond(
        S.live,
        rx.tooltip(
            rx.flex(
                rx.box(width="8px", height="8px", border_radius="9999px", background_color=rx.color("green", 9)),
                rx.text("Live", size="1", color_scheme="gray"),
                spacing="2",
                align="center",
            ),
            content=rx.cond(S.any_busy, "Statuses update every few seconds while a server is changing state.",
                            "Statuses update automatically."),
        ),
        rx.fragment(),
    )


def list_status_line() -> rx.Component:
    return rx.flex(
        rx.text(S.range_text, size="2", color_scheme="gray"),
        rx.flex(
            rx.cond(S.table_loading, rx.spinner(size="2"), rx.fragment()),
            live_note(),
            spacing="3",
            align="center",
        ),
        justify="between",
        align="center",
        width="100%",
    )


def first_server() -> rx.Component:
    """The organization has no servers yet: the next step, or who can take it."""
    return rx.cond(
        S.can_create,
        empty_state(
            "server",
            "Create your first server",
            "Pick a location, a plan and an operating system; your server is ready in about a minute "
            "and billed by the hour from your wallet.",
            create_button("Create your first server"),
        ),
        empty_state(
            "server",
            "No servers yet",
            "This organization has no servers. Your role cannot create them: ask an owner or a VPS manager "
            "to create one, or to give you the “Create servers” permission.",
        ),
    )


def servers_empty() -> rx.Component:
    return no_matches(S, title="No servers match", text="Try another label or IP address, or another status.",
                      otherwise=first_server())


def skeleton_table() -> rx.Component:
    """The table's shape while the first page loads."""
    def line() -> rx.Component:
        return rx.flex(
            rx.skeleton(rx.box(width="32px", height="32px"), loading=True),
            rx.box(skeleton_line("60%"), flex="2"),
            rx.box(skeleton_line("70%"), flex="1"),
            rx.box(skeleton_line("80%"), flex="1", display=["none", "none", "block"]),
            rx.box(skeleton_line("60%"), flex="1", display=["none", "none", "block"]),
            rx.box(skeleton_line("50%"), flex="1", display=["none", "none", "block"]),
            spacing="4",
            align="center",
            width="100%",
        )

    return rx.card(
        rx.vstack(
            rx.flex(rx.box(skeleton_line("100%", "2rem"), flex="1"), rx.box(skeleton_line("100%", "2rem"), width="12rem"),
                    spacing="3", width="100%"),
            *[line() for _ in range(6)],
            spacing="5",
            width="100%",
        ),
        size=CARD_SIZE,
        width="100%",
        data_testid="servers-loading",
    )


def servers_card() -> rx.Component:
    return list_card(
        filters(),
        list_status_line(),
        paged(S, S.rows, server_rows(), servers_empty()),
    )


def denied_panel() -> rx.Component:
    return no_access(
        "You do not have access to servers",
        "Your role in this organization does not include servers. Ask an owner if you need them.",
    )


# No separate `SessionState.require_login`: ServersState.load refreshes the shell and sends users
# who are not signed in to /login itself, so the first rows arrive with one event (page-load target).
@rx.page(route="/vps", title="Servers · SkyPanel", on_load=ServersState.load)
def servers_page() -> rx.Component:
    return portal_layout(
        "Servers",
        page_header(
            "Servers",
            rx.cond(S.org_name, "Cloud servers of " + S.org_name + ", billed by the hour",
                    "Your organization's cloud servers"),
            rx.cond(S.denied, rx.fragment(), refresh_button(S)),
            rx.cond(S.can_create, create_button(), rx.fragment()),
        ),
        rx.cond(S.loading, skeleton_table(), rx.cond(S.denied, denied_panel(), servers_card())),
        # Leaving the page (client-side navigation) stops the status poller.
        rx.box(on_unmount=S.stop_polling, display="none"),
    )
