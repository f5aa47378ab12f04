"""/admin/plans: provider plans resold under our names and prices, with their category names."""

from __future__ import annotations

from typing import Any

import reflex as rx

from skypanel.components.layout import admin_layout
from skypanel.components.tables import list_card, table_and_list
from skypanel.components.widgets import (
    CARD_SIZE,
    NOWRAP,
    TABULAR,
    confirm_dialog,
    dialog_actions,
    empty_state,
    field,
    form_dialog,
    form_error,
    page_header,
    skeleton_rows,
)
from skypanel.backend.services.platform_settings import DEFAULT_CATEGORY_NAMES
from skypanel.state.admin_plans import ALL, AdminPlansState
from skypanel.state.session import SessionState

S = AdminPlansState

MUTED = {"size": "1", "color_scheme": "gray"}


# ---- table cells ---------------------------------------------------------------------------------

def kind_badge(row: rx.Var) -> rx.Component:
    return rx.badge(row["kind_label"], color_scheme=row["kind_color"], variant="soft", style=NOWRAP)


def plan_cell(row: rx.Var) -> rx.Component:
    return rx.flex(
        rx.flex(
            rx.text(row["name"], size="2", weight="medium"),
            rx.badge(row["category_label"], variant="surface", color_scheme="gray", size="1", style=NOWRAP),
            spacing="2",
            align="center",
            wrap="wrap",
        ),
        rx.flex(
            kind_badge(row),
            rx.text(row["provider_name"], " · ", row["provider_plan_id"], **MUTED),
            spacing="2",
            align="center",
            wrap="wrap",
        ),
        rx.text(row["specs"], **MUTED),
        rx.cond(row["notice"], rx.text(row["notice"], size="1", color_scheme="amber"), rx.fragment()),
        direction="column",
        spacing="1",
        min_width="15rem",
    )


def price_cell(row: rx.Var) -> rx.Component:
    return rx.flex(
        rx.text(row["monthly"], "/mo", size="2", weight="medium", style=TABULAR),
        rx.text(row["hourly"], "/h", **MUTED, style=TABULAR),
        rx.cond(
            row["pending"],
            rx.text(row["pending"], size="1", color_scheme="amber", max_width="7rem", title=row["pending_exact"]),
            rx.fragment(),
        ),
        direction="column",
        spacing="1",
    )


def cost_cell(row: rx.Var) -> rx.Component:
    """Base (provider cost) + markup, and the backup upcharge under them: all per month."""
    return rx.flex(
        rx.text(row["base"], rx.text(" + ", as_="span", color=rx.color("gray", 10)), row["markup"], size="2",
                style=TABULAR, title="Base price (provider cost) + markup, per month"),
        rx.text("Backups +", row["backup"], **MUTED, style=TABULAR),
        direction="column",
        spacing="1",
    )


def region_badges(row: rx.Var) -> rx.Component:
    return rx.flex(
        rx.foreach(
            row["regions"].to(list[dict[str, Any]]),
            lambda r: rx.badge(
                r["label"],
                color_scheme=rx.cond(r["allowed"], "indigo", "gray"),
                variant="soft",
                size="1",
                title=r["id"],
                style=NOWRAP,
            ),
        ),
        spacing="1",
        wrap="wrap",
        max_width="10rem",
    )


def active_switch(row: rx.Var) -> rx.Component:
    return rx.switch(
        checked=row["is_active"],
        disabled=S.toggling_id == row["id"],
        on_change=lambda value: S.set_active(row["id"], value),
        aria_label="Active: " + row["name"].to(str),
    )


def actions(row: rx.Var, *, labelled: bool = False) -> rx.Component:
    """Edit and Delete: icon buttons in the table (named for screen readers), labelled on phones."""
    def label(text: str) -> list:
        return [text] if labelled else []

    return rx.flex(
        rx.button(rx.icon("pencil", size=14), *label("Edit"), size="1", variant="soft",
                  on_click=S.open_edit(row["id"]), aria_label="Edit " + row["name"].to(str), title="Edit"),
        confirm_dialog(
            rx.button(rx.icon("trash-2", size=14), *label("Delete"), size="1", variant="soft", color_scheme="red",
                      aria_label="Delete " + row["name"].to(str), title="Delete"),
            "Delete " + row["name"].to(str) + "?",
            "Customers can no longer order it. A plan that servers use cannot be deleted: deactivate it instead.",
            S.delete(row["id"]),
            confirm_label="Delete plan",
        ),
        spacing="2",
        justify="end",
        style=NOWRAP,
    )


def plan_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(plan_cell(row)),
        rx.table.cell(cost_cell(row)),
        rx.table.cell(price_cell(row)),
        rx.table.cell(region_badges(row)),
        rx.table.cell(rx.text(row["servers"], size="2", style=TABULAR), text_align="right"),
        rx.table.cell(active_switch(row)),
        rx.table.cell(actions(row)),
        align="center",
    )


def plan_item(row: rx.Var) -> rx.Component:
    """Phones: one plan per block."""
    return rx.box(
        rx.flex(
            rx.text(row["name"], size="3", weight="medium"),
            kind_badge(row),
            rx.spacer(),
            active_switch(row),
            spacing="2",
            align="center",
        ),
        rx.text(row["category_label"], " · ", row["provider_name"], " · ", row["provider_plan_id"], **MUTED),
        rx.text(row["specs"], size="1", margin_top="var(--space-1)"),
        rx.box(price_cell(row), margin_y="var(--space-2)"),
        rx.text("Base ", row["base"], " + markup ", row["markup"], " · backups ", row["backup"], "/mo · ",
                row["servers"], " server(s)", **MUTED, style={"font_variant_numeric": "tabular-nums"}),
        rx.cond(row["notice"], rx.text(row["notice"], size="1", color_scheme="amber"), rx.fragment()),
        rx.box(region_badges(row), margin_y="var(--space-2)"),
        actions(row, labelled=True),
        padding_y="var(--space-3)",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
    )


# ---- filters -------------------------------------------------------------------------------------

def filters() -> rx.Component:
    provider_select = rx.select.root(
        rx.select.trigger(id="plans-provider", width="100%"),
        rx.select.content(
            rx.select.item("All providers", value=ALL),
            rx.foreach(S.accounts, lambda a: rx.select.item(a["name"], value=a["id"])),
            position="popper",
        ),
        value=S.filter_provider,
        on_change=S.set_filter_provider,
    )
    category_select = rx.select.root(
        rx.select.trigger(id="plans-category", width="100%"),
        rx.select.content(
            rx.select.item("All categories", value=ALL),
            rx.foreach(S.category_options, lambda c: rx.select.item(c["label"], value=c["value"])),
            position="popper",
        ),
        value=S.filter_category,
        on_change=S.set_filter_category,
    )
    return rx.flex(
        rx.box(field("Provider", provider_select, html_for="plans-provider"),
               width=rx.breakpoints(initial="100%", sm="14rem")),
        rx.box(field("Category", category_select, html_for="plans-category"),
               width=rx.breakpoints(initial="100%", sm="12rem")),
        rx.cond(
            S.filtered,
            rx.button(rx.icon("rotate-ccw", size=14), "Clear filters", variant="soft", color_scheme="gray",
                      on_click=S.clear_filters),
            rx.fragment(),
        ),
        rx.spacer(),
        rx.text(S.visible_rows.length(), " of ", S.rows.length(), " plan(s)", size="2",  # type: ignore[attr-defined]
                color_scheme="gray"),
        spacing="3",
        align="end",
        wrap="wrap",
        width="100%",
    )


# ---- the plan dialog -----------------------------------------------------------------------------

def catalog_status() -> rx.Component:
    refresh = rx.button(
        rx.icon("refresh-cw", size=14),
        "Refresh catalog",
        type="button",
        size="1",
        variant=rx.cond(S.catalog_loaded & ~S.catalog_stale, "soft", "solid"),
        color_scheme=rx.cond(S.catalog_loaded & ~S.catalog_stale, "gray", "indigo"),
        loading=S.refreshing,
        on_click=S.refresh_catalog,
    )
    message = rx.cond(
        S.catalog_loaded,
        rx.cond(
            S.catalog_stale,
            rx.text("Catalog read ", S.catalog_refreshed, ": prices may have changed.", size="1",
                    color_scheme="amber", title=S.catalog_refreshed_exact),
            rx.text("Catalog read ", S.catalog_refreshed, ".", **MUTED, title=S.catalog_refreshed_exact),
        ),
        rx.text("This provider's catalog has not been read yet. Refresh it to list its plans.", size="1",
                color_scheme="amber"),
    )
    return rx.flex(message, refresh, justify="between", align="center", spacing="3", width="100%")


def provider_fields() -> rx.Component:
    """New plans: which account and which of its plans. Edited plans: shown, not changeable."""
    account_select = rx.select.root(
        rx.select.trigger(id="plan-account", width="100%"),
        rx.select.content(
            rx.foreach(S.accounts, lambda a: rx.select.item(a["label"], value=a["id"])),
            position="popper",
        ),
        value=S.f_account,
        on_change=S.set_f_account,
    )
    plan_select = rx.select.root(
        rx.select.trigger(id="plan-provider-plan", width="100%", placeholder="Choose a plan from the catalog"),
        rx.select.content(
            rx.foreach(S.catalog_plans, lambda p: rx.select.item(p["text"], value=p["id"])),
            position="popper",
        ),
        value=S.f_plan,
        on_change=S.set_f_plan,
        disabled=S.catalog_plans.length() == 0,  # type: ignore[attr-defined]
    )
    return rx.cond(
        S.dialog_mode == "new",
        rx.flex(
            field("Provider account", account_select, html_for="plan-account"),
            rx.flex(
                field("Provider plan", plan_select, html_for="plan-provider-plan"),
                rx.text(S.plan_hint, **MUTED),
                direction="column",
                spacing="1",
                width="100%",
            ),
            catalog_status(),
            direction="column",
            spacing="3",
            width="100%",
        ),
        rx.flex(
            rx.text(S.edit_title, size="2", weight="medium"),
            catalog_status(),
            direction="column",
            spacing="2",
            padding="var(--space-3)",
            border=f"1px solid {rx.color('gray', 5)}",
            border_radius="var(--radius-3)",
            width="100%",
        ),
    )


def price_input(input_id: str, name: str, value: rx.Var, on_change, placeholder: str) -> rx.Component:
    return rx.input(
        rx.input.slot("$"),
        id=input_id,
        name=name,
        value=value,
        on_change=on_change,
        debounce_timeout=300,
        input_mode="decimal",
        placeholder=placeholder,
        max_length=20,
        auto_complete="off",
        width="100%",
    )


def price_fields() -> rx.Component:
    return rx.grid(
        field("Base price (provider cost)", price_input("plan-base", "base_price", S.f_base, S.set_f_base, "12.00"),
              "Per month. Prefilled from the catalog."),
        field("Markup", price_input("plan-markup", "markup", S.f_markup, S.set_f_markup, "3.00"), "Per month, your margin."),
        field("Backup upcharge", price_input("plan-backup", "backup_price", S.f_backup, S.set_f_backup, "0.00"),
              "Per month, when backups are on."),
        columns=rx.breakpoints(initial="1", sm="3"),
        spacing="3",
        width="100%",
    )


def preview() -> rx.Component:
    def figure(label: str, value: rx.Var, test_id: str) -> rx.Component:
        return rx.flex(
            rx.text(label, **MUTED),
            rx.text(value, size="4", weight="bold", style=TABULAR, data_testid=test_id),
            direction="column",
            spacing="1",
        )

    return rx.box(
        rx.flex(
            figure("Customer pays monthly", S.preview["monthly"], "preview-monthly"),
            figure("Hourly (monthly / 730)", S.preview["hourly"], "preview-hourly"),
            figure("Backups, hourly", S.preview["backup_hourly"], "preview-backup-hourly"),
            spacing="5",
            wrap="wrap",
        ),
        rx.cond(S.preview["margin"], rx.text(S.preview["margin"], **MUTED, margin_top="var(--space-2)"), rx.fragment()),
        rx.cond(
            S.dialog_mode == "edit",
            rx.text("Price changes apply to new billing hours only: from the start of the next hour.", **MUTED,
                    margin_top="var(--space-1)"),
            rx.fragment(),
        ),
        padding="var(--space-3)",
        background_color=rx.color("accent", 2),
        border=f"1px solid {rx.color('accent', 5)}",
        border_radius="var(--radius-3)",
        width="100%",
        aria_live="polite",
    )


def regions_field() -> rx.Component:
    checkbox = lambda r: rx.checkbox(  # noqa: E731
        r["label"],
        checked=S.f_regions.contains(r["id"]),
        on_change=lambda checked: S.toggle_region(r["id"], checked),
        size="2",
    )
    return rx.flex(
        rx.text("Regions where it is offered", size="2", weight="medium", as_="div"),
        rx.cond(
            S.region_options.length() > 0,  # type: ignore[attr-defined]
            rx.grid(rx.foreach(S.region_options, checkbox), columns=rx.breakpoints(initial="1", sm="2"),
                    spacing="2", width="100%", role="group", aria_label="Regions"),
            rx.text(
                rx.cond(S.f_plan | (S.dialog_mode == "edit"),
                        "None of this provider's allowed regions sell this plan. Allow regions on the Providers page.",
                        "Choose a provider plan first. Only regions allowed on the provider account are listed."),
                **MUTED,
            ),
        ),
        rx.cond(
            S.dropped_regions != "",
            rx.text("No longer offered, removed on save: ", S.dropped_regions, size="1", color_scheme="amber"),
            rx.fragment(),
        ),
        direction="column",
        spacing="2",
        width="100%",
    )


def plan_dialog() -> rx.Component:
    category_select = rx.select.root(
        rx.select.trigger(id="plan-category", width="100%"),
        rx.select.content(
            rx.foreach(S.category_options, lambda c: rx.select.item(c["label"], value=c["value"])),
            position="popper",
        ),
        value=S.f_category,
        on_change=S.set_f_category,
    )
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(S.dialog_mode == "new", "New plan", "Edit plan")),
            rx.dialog.description(
                rx.text("Resell a provider plan under your own name and price. Customers see the name, category, "
                        "specs and the monthly and hourly price, never the base price or markup.",
                        size="2", color_scheme="gray"),
                margin_bottom="var(--space-4)",
            ),
            rx.form(
                rx.flex(
                    provider_fields(),
                    rx.grid(
                        field("Retail name", rx.input(id="plan-name", name="name", value=S.f_name,
                                                      on_change=S.set_f_name, debounce_timeout=300, max_length=60,
                                                      placeholder="e.g. Cloud 2 GB")),
                        field("Category", category_select, html_for="plan-category"),
                        columns=rx.breakpoints(initial="1", sm="2"),
                        spacing="3",
                        width="100%",
                    ),
                    price_fields(),
                    preview(),
                    regions_field(),
                    rx.flex(
                        rx.flex(
                            rx.switch(id="plan-active", name="is_active", checked=S.f_active, on_change=S.set_f_active),
                            rx.el.label("Offered to customers (active)", html_for="plan-active",
                                        style={"font_size": "var(--font-size-2)"}),
                            spacing="2",
                            align="center",
                        ),
                        rx.cond(
                            S.dialog_mode == "edit",
                            rx.flex(
                                rx.el.label("Display order", html_for="plan-order",
                                            style={"font_size": "var(--font-size-2)"}),
                                rx.input(id="plan-order", name="display_order", value=S.f_order, on_change=S.set_f_order,
                                         debounce_timeout=300,
                                         input_mode="numeric", max_length=6, width="5rem"),
                                spacing="2",
                                align="center",
                            ),
                            rx.fragment(),
                        ),
                        justify="between",
                        align="center",
                        wrap="wrap",
                        spacing="3",
                        width="100%",
                    ),
                    form_error(S.dialog_error),
                    dialog_actions(rx.button(rx.cond(S.dialog_mode == "new", "Create plan", "Save plan"),
                                             type="submit", loading=S.saving)),
                    direction="column",
                    spacing="4",
                ),
                on_submit=S.save,
                reset_on_submit=False,
            ),
            max_width="44rem",
        ),
        open=S.dialog_open,
        on_open_change=S.set_dialog_open,
    )


def names_dialog() -> rx.Component:
    return form_dialog(
        "Category names",
        "The names customers see for each plan category, e.g. \"Performance\" instead of \"Dedicated CPU\".",
        *[
            field(
                f"Name for “{label}” plans",
                rx.input(id=f"category-{key}", name=f"category_{key}", default_value=S.category_names[key],
                         key=S.category_names[key], max_length=40, required=True),
            )
            for key, label in DEFAULT_CATEGORY_NAMES.items()
        ],
        submit_label="Save names",
        on_submit=S.save_names,
        error=S.names_error,
        open=S.names_open,
        on_open_change=S.set_names_open,
        max_width="28rem",
    )


# ---- the page ------------------------------------------------------------------------------------

def new_button() -> rx.Component:
    return rx.button(rx.icon("plus", size=16), "New plan", on_click=S.open_new)


def plans_card() -> rx.Component:
    empty = rx.cond(
        S.accounts.length() > 0,  # type: ignore[attr-defined]
        empty_state("tags", "No plans yet",
                    "Pick a plan from a provider's catalog, name it and set your markup. Customers can order it "
                    "once it is active.", new_button()),
        empty_state("server", "Connect a provider first",
                    "Plans resell a provider's servers. Add a Linode or DigitalOcean account and choose its regions.",
                    rx.link(rx.button("Go to Providers", variant="soft"), href="/admin/providers")),
    )
    return list_card(
        rx.cond(
            S.rows.length() > 0,  # type: ignore[attr-defined]
            rx.fragment(
                filters(),
                rx.cond(
                    S.visible_rows.length() > 0,  # type: ignore[attr-defined]
                    table_and_list(
                        ["Plan", "Base + markup", "Customer price", "Regions",
                         rx.table.column_header_cell("Servers", text_align="right"), "Active", ""],
                        S.visible_rows,
                        plan_row,
                        plan_item,
                        min_width="52rem",
                    ),
                    empty_state("list-filter", "No plans match", "No plan has this provider and category.",
                                rx.button("Clear filters", variant="soft", on_click=S.clear_filters)),
                ),
            ),
            empty,
        ),
    )


@rx.page(route="/admin/plans", title="Plans · Admin · SkyPanel",
         on_load=[SessionState.require_admin, AdminPlansState.load])
def admin_plans_page() -> rx.Component:
    return admin_layout(
        "Plans",
        page_header(
            "Plans",
            "What customers can order: provider plans under your names and prices. Hourly = monthly / 730.",
            rx.button(rx.icon("tag", size=16), "Category names", variant="soft", color_scheme="gray",
                      on_click=S.open_names),
            new_button(),
        ),
        rx.cond(S.loading, rx.card(skeleton_rows(4, 6), size=CARD_SIZE, width="100%"), plans_card()),
        plan_dialog(),
        names_dialog(),
    )
