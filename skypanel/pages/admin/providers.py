"""/admin/providers: connect Linode / DigitalOcean accounts (or the built-in simulated provider), test
them, choose their regions."""

from __future__ import annotations

import reflex as rx

from skypanel.components.layout import admin_layout
from skypanel.components.tables import list_card, table_and_list
from skypanel.components.widgets import (
    CARD_SIZE,
    NOWRAP,
    confirm_dialog,
    empty_state,
    field,
    form_dialog,
    page_header,
    skeleton_rows,
)
from skypanel.state.admin_providers import KINDS, AdminProvidersState
from skypanel.state.session import SessionState

S = AdminProvidersState


def kind_badge(row: rx.Var) -> rx.Component:
    return rx.badge(row["kind_label"], color_scheme=row["kind_color"], variant="soft", style=NOWRAP)


def test_result(row: rx.Var) -> rx.Component:
    return rx.flex(
        rx.flex(
            rx.badge(row["test_label"], color_scheme=row["test_color"], variant="soft", style=NOWRAP),
            rx.cond(
                row["tested"],
                rx.text(row["tested"], size="1", color_scheme="gray", title=row["tested_exact"], style=NOWRAP),
                rx.fragment(),
            ),
            spacing="2",
            align="center",
        ),
        rx.cond(
            row["test_message"],
            rx.text(row["test_message"], size="1", color_scheme="gray", max_width="12rem"),
            rx.fragment(),
        ),
        direction="column",
        spacing="1",
    )


def active_switch(row: rx.Var) -> rx.Component:
    return rx.switch(
        checked=row["is_active"],
        on_change=lambda value: S.set_active(row["id"], value),
        aria_label="Active: " + row["name"].to(str),
    )


def actions(row: rx.Var) -> rx.Component:
    return rx.grid(
        rx.button(
            rx.icon("plug-zap", size=14),
            "Test connection",
            size="1",
            variant="soft",
            loading=S.testing_id == row["id"],
            disabled=S.testing_id != "",
            on_click=S.test_connection(row["id"]),
        ),
        rx.button(rx.icon("map-pin", size=14), "Regions", size="1", variant="soft", color_scheme="gray",
                  on_click=S.open_regions(row["id"])),
        rx.cond(
            row["simulated"],
            rx.fragment(),
            rx.button(rx.icon("key-round", size=14), "Rotate token", size="1", variant="soft", color_scheme="gray",
                      on_click=S.open_rotate(row["id"])),
        ),
        confirm_dialog(
            rx.button(rx.icon("trash-2", size=14), "Delete", size="1", variant="soft", color_scheme="red"),
            "Delete " + row["name"].to(str) + "?",
            "The account and its stored token are removed. Plans and servers that use it stop working.",
            S.delete(row["id"]),
            confirm_label="Delete provider",
        ),
        columns="2",
        spacing="2",
        width="max-content",
        style={"white_space": "nowrap"},
    )


def provider_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.flex(
                rx.text(row["name"], size="2", weight="medium"),
                rx.text(row["base_url"], size="1", color_scheme="gray", style={"overflow_wrap": "anywhere"}),
                direction="column",
            ),
        ),
        rx.table.cell(kind_badge(row)),
        rx.table.cell(rx.code(row["token"], variant="ghost", style=NOWRAP)),
        rx.table.cell(active_switch(row)),
        rx.table.cell(test_result(row)),
        rx.table.cell(rx.text(row["regions_count"], size="2")),
        rx.table.cell(rx.flex(actions(row), justify="end")),
        align="center",
    )


def provider_item(row: rx.Var) -> rx.Component:
    """Phones: one account per block."""
    return rx.box(
        rx.flex(
            rx.text(row["name"], size="2", weight="medium"),
            kind_badge(row),
            rx.spacer(),
            active_switch(row),
            spacing="2",
            align="center",
        ),
        rx.text("Token ", row["token"], " · ", row["regions_count"], " region(s)", size="1", color_scheme="gray"),
        rx.box(test_result(row), margin_y="var(--space-2)"),
        rx.flex(actions(row), justify="start"),
        padding_y="var(--space-3)",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
    )


def add_button() -> rx.Component:
    return rx.button(rx.icon("plus", size=16), "Add provider", on_click=S.open_add)


def add_dialog() -> rx.Component:
    kind_select = rx.select.root(
        rx.select.trigger(id="provider-kind", width="100%"),
        rx.select.content(*[rx.select.item(label, value=value) for value, label in KINDS], position="popper"),
        value=S.add_kind,
        on_change=S.set_add_kind,
    )
    return form_dialog(
        "Add a provider",
        rx.cond(S.add_kind == "simulated", "The built-in provider runs inside SkyPanel.",
                "The token is stored encrypted and never shown again; only its last four characters are."),
        field("Provider", kind_select, html_for="provider-kind"),
        field("Name", rx.input(id="provider-name", name="name", placeholder="e.g. Linode main",
                               max_length=60, required=True)),
        rx.cond(
            S.add_kind == "simulated",
            rx.callout(
                "Built in, no cloud: servers are simulated in SkyPanel's database, go through the usual states "
                "and answer SSH on loopback addresses with a demo shell. No token is needed.",
                icon="info", size="1", color_scheme="orange",
            ),
            rx.fragment(
                field("API token", rx.input(id="provider-token", name="token", type="password",
                                            auto_complete="off", max_length=200, required=True),
                      "A personal access token with read/write scope."),
                field("API base URL (optional)", rx.input(id="provider-base-url", name="base_url",
                                                          placeholder="Leave empty for the official API"),
                      "Only for staging or a stand-in; empty uses the provider's official API."),
            ),
        ),
        submit_label="Add provider",
        on_submit=S.add,
        loading=S.saving,
        error=S.add_error,
        open=S.add_open,
        on_open_change=S.set_add_open,
    )


def rotate_dialog() -> rx.Component:
    return form_dialog(
        "Rotate token",
        "Replace the API token of " + S.rotate_name + ". The old token is discarded.",
        field("New API token", rx.input(id="rotate-token", name="token", type="password",
                                        auto_complete="off", max_length=200, required=True)),
        submit_label="Replace token",
        on_submit=S.rotate,
        loading=S.saving,
        error=S.rotate_error,
        open=S.rotate_open,
        on_open_change=S.set_rotate_open,
    )


def regions_dialog() -> rx.Component:
    return form_dialog(
        "Allowed regions",
        "Regions of " + S.regions_name + " that customers can choose, one per line as "
        "\"id = Label\", e.g. \"nyc3 = New York\".",
        field("Regions", rx.text_area(id="provider-regions", name="regions", default_value=S.regions_text,
                                      key=S.regions_id, rows="8",
                                      placeholder="us-east = Newark, US\neu-west = London, UK"),
              "One region per line: id = Label. Leave empty to offer none."),
        submit_label="Save regions",
        on_submit=S.save_regions,
        error=S.regions_error,
        open=S.regions_open,
        on_open_change=S.set_regions_open,
        max_width="32rem",
    )


def providers_card() -> rx.Component:
    return list_card(
        rx.cond(
            S.rows.length() > 0,  # type: ignore[attr-defined]
            table_and_list(
                ["Name", "Kind", "Token", "Active", "Last test", "Regions", ""],
                S.rows,
                provider_row,
                provider_item,
                min_width="52rem",
            ),
            empty_state(
                "server",
                "No providers yet",
                "Add a Linode or DigitalOcean account with an API token, or the built-in simulated provider, to offer "
                "servers to customers.",
                add_button(),
            ),
        ),
    )


@rx.page(route="/admin/providers", title="Providers · Admin · SkyPanel",
         on_load=[SessionState.require_admin, AdminProvidersState.load])
def admin_providers_page() -> rx.Component:
    return admin_layout(
        "Providers",
        page_header(
            "Providers",
            "Cloud accounts the platform resells. Tokens are stored encrypted and never shown again.",
            add_button(),
        ),
        rx.cond(S.loading, rx.card(skeleton_rows(4, 7), size=CARD_SIZE, width="100%"), providers_card()),
        add_dialog(),
        rotate_dialog(),
        regions_dialog(),
    )
