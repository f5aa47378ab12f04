"""/admin/servers: every server across organizations, with filters, support power actions and
deletion, and the orphans the reconciliation job found at providers."""

from __future__ import annotations

import reflex as rx

from skypanel.components.filters import search_field
from skypanel.components.layout import admin_layout
from skypanel.components.servers import simulated_badge, status_badge
from skypanel.components.tables import list_card, paged, refresh_button, table_and_list
from skypanel.components.widgets import (
    CARD_SIZE, NOWRAP, TABULAR, confirm_dialog, empty_state, field, page_header, skeleton_rows,
)
from skypanel.state.admin_servers import STATUS_OPTIONS, AdminServersState
from skypanel.state.paging import ALL
from skypanel.state.session import SessionState

S = AdminServersState
MONO = {"font_family": "var(--code-font-family)", "white_space": "nowrap"}


def label_cell(row: rx.Var) -> rx.Component:
    return rx.vstack(
        rx.flex(
            rx.text(row["label"], size="2", weight="medium"),
            rx.cond(row["simulated"], simulated_badge(), rx.fragment()),
            spacing="2", align="center",
        ),
        rx.link(row["organization"], href="/admin/organizations/" + row["organization_id"].to(str), size="1"),
        spacing="1",
    )


def _icon_button(icon: str, label: str, busy: rx.Var, *, color_scheme: str = "gray", **props) -> rx.Component:
    """A compact action: an icon with its name as tooltip and accessible label."""
    return rx.tooltip(
        rx.icon_button(rx.icon(icon, size=15), size="1", variant="soft", color_scheme=color_scheme, loading=busy,
                       aria_label=label, **props),
        content=label,
    )


def row_actions(row: rx.Var) -> rx.Component:
    busy = S.busy_id == row["id"]
    return rx.flex(
        rx.cond(
            row["can_boot"],
            _icon_button("power", "Power on", busy, on_click=S.power(row["id"], "boot")),
            rx.fragment(),
        ),
        rx.cond(
            row["can_stop"],
            confirm_dialog(
                _icon_button("rotate-cw", "Reboot", busy),
                "Reboot " + row["label"].to(str) + "?",
                "The customer's server restarts now; open connections drop.",
                S.power(row["id"], "reboot"), confirm_label="Reboot", color_scheme="amber",
            ),
            rx.fragment(),
        ),
        rx.cond(
            row["can_stop"],
            confirm_dialog(
                _icon_button("power-off", "Shut down", busy),
                "Shut down " + row["label"].to(str) + "?",
                "The customer's server powers off. It is still billed while off, as at the provider.",
                S.power(row["id"], "shutdown"), confirm_label="Shut down", color_scheme="amber",
            ),
            rx.fragment(),
        ),
        confirm_dialog(
            _icon_button("trash-2", "Delete", busy, color_scheme="red"),
            "Delete " + row["label"].to(str) + "?",
            "The server is destroyed at the provider with its disks and backups; this cannot be undone. "
            "The organization's owners see it in their activity log.",
            S.delete(row["id"], row["label"]), confirm_label="Delete server",
        ),
        spacing="2", justify="end",
    )


def server_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(label_cell(row)),
        rx.table.cell(status_badge(row["status_label"], row["status_color"], row["busy"])),
        rx.table.cell(rx.text(row["ip"], size="2", style=MONO)),
        rx.table.cell(rx.vstack(rx.text(row["plan"], size="2"), rx.text(row["provider"], size="1", color_scheme="gray"),
                                spacing="1")),
        rx.table.cell(rx.text(row["monthly"], size="2", style=TABULAR), justify="end"),
        rx.table.cell(rx.text(row["created"], size="2", style=NOWRAP)),
        rx.table.cell(row_actions(row)),
        align="center",
    )


def server_item(row: rx.Var) -> rx.Component:
    return rx.box(
        rx.flex(label_cell(row), status_badge(row["status_label"], row["status_color"], row["busy"]), justify="between", align="start", spacing="2"),
        rx.text(row["ip"], " · ", row["plan"], " · ", row["monthly"], "/mo", size="1", color_scheme="gray"),
        rx.box(row_actions(row), margin_top="var(--space-2)"),
        padding_y="var(--space-3)",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
    )


def filters() -> rx.Component:
    status = rx.select.root(
        rx.select.trigger(id="admin-server-status", width="100%"),
        rx.select.content(*[rx.select.item(label, value=value) for value, label in STATUS_OPTIONS]),
        value=S.status_filter, on_change=S.set_status_filter,
    )
    provider = rx.select.root(
        rx.select.trigger(id="admin-server-provider", width="100%"),
        rx.select.content(
            rx.select.item("All providers", value=ALL),
            rx.foreach(S.providers, lambda p: rx.select.item(p["name"], value=p["id"])),
        ),
        value=S.provider_filter, on_change=S.set_provider_filter,
    )
    return rx.grid(
        search_field(S, label="Search", input_id="admin-server-search", placeholder="Label, IP or organization"),
        field("Status", status, html_for="admin-server-status"),
        field("Provider", provider, html_for="admin-server-provider"),
        columns=rx.breakpoints(initial="1", sm="3"), spacing="3", width="100%",
    )


def orphans_card() -> rx.Component:
    def orphan_row(o: rx.Var) -> rx.Component:
        return rx.table.row(
            rx.table.cell(rx.text(o["label"], size="2", weight="medium")),
            rx.table.cell(rx.text(o["provider_account"], size="2")),
            rx.table.cell(rx.code(o["provider_instance_id"], variant="ghost")),
            rx.table.cell(rx.text(o["region"], size="2")),
            rx.table.cell(
                confirm_dialog(
                    rx.button(rx.icon("trash-2", size=14), "Delete at provider", size="1", variant="soft",
                              color_scheme="red", loading=S.busy_id == o["id"]),
                    "Delete orphan " + o["label"].to(str) + "?",
                    "It is tagged as created by SkyPanel but belongs to no server here, so nobody is billed for it "
                    "while the provider bills you. Deleting it destroys it at the provider.",
                    S.delete_orphan(o["id"]), confirm_label="Delete at provider",
                ),
                justify="end",
            ),
            align="center",
        )

    return rx.cond(
        S.orphans.length() > 0,  # type: ignore[attr-defined]
        rx.callout.root(
            rx.callout.icon(rx.icon("triangle-alert")),
            rx.vstack(
                rx.text("Orphans at providers", weight="bold"),
                rx.text("Instances tagged as ours that no server knows (for example after a crash while a server "
                        "was being created). They cost money at the provider.", size="2"),
                rx.box(
                    rx.table.root(
                        rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in
                                                       ("Label", "Provider", "Instance id", "Region", "")])),
                        rx.table.body(rx.foreach(S.orphans, orphan_row)),
                        variant="surface", size="1", width="100%",
                    ),
                    width="100%", overflow_x="auto",
                ),
                spacing="2", width="100%",
            ),
            color="amber", width="100%",
        ),
        rx.fragment(),
    )


def servers_card() -> rx.Component:
    return list_card(
        filters(),
        paged(
            S, S.rows,
            table_and_list(["Server", "Status", "IP", "Plan", rx.table.column_header_cell("Monthly", justify="end"),
                            "Created", ""], S.rows, server_row, server_item, busy=S.table_loading,
                           min_width="50rem"),
            empty_state("server", "No servers found",
                        "No server matches these filters, or no customer has created one yet."),
        ),
    )


@rx.page(route="/admin/servers", title="Servers · Admin · SkyPanel",
         on_load=[SessionState.require_admin, S.load])
def admin_servers_page() -> rx.Component:
    return admin_layout(
        "Servers",
        page_header("Servers", "Every customer's servers across organizations and providers.", refresh_button(S)),
        rx.cond(
            S.loading,
            rx.card(skeleton_rows(4, 8), size=CARD_SIZE, width="100%"),
            rx.vstack(orphans_card(), servers_card(), spacing="4", width="100%"),
        ),
    )
