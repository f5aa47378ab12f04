"""/billing: the active organization's wallet overview (balance, burn rate, runway, this month's
spend and forecast, 30-day chart, spend per server) and its ledger."""

from __future__ import annotations

import reflex as rx

from skypanel.backend.services import wallet
from skypanel.components.filters import clear_filters_button, date_range_fields, no_matches
from skypanel.components.layout import portal_layout
from skypanel.components.ledger import ledger_entries
from skypanel.components.topup import add_funds_button
from skypanel.components.tables import list_card, list_heading, paged
from skypanel.components.widgets import (
    CARD_SIZE,
    balance_figure,
    empty_state,
    field,
    icon_label,
    no_access,
    page_header,
    skeleton_card,
    skeleton_rows,
    stat_card,
)
from skypanel.state.billing import BillingState
from skypanel.state.paging import ALL
from skypanel.state.session import SessionState


def kind_label(kind: str) -> str:
    return wallet.KIND_LABELS.get(kind, kind.replace("_", " ").capitalize())


def balance_card() -> rx.Component:
    return rx.card(
        rx.flex(
            rx.vstack(
                icon_label("wallet", "Available balance"),
                rx.flex(
                    balance_figure(BillingState.balance, BillingState.balance_negative, "wallet-balance"),
                    rx.badge(BillingState.currency, variant="surface", color_scheme="gray", size="1"),
                    spacing="3",
                    align="end",
                    wrap="wrap",
                ),
                rx.text(
                    rx.cond(
                        BillingState.balance_updated,
                        "Last change " + BillingState.balance_updated,
                        "No activity yet",
                    ),
                    size="1",
                    color_scheme="gray",
                ),
                spacing="4",
            ),
            width="100%",
        ),
        size=CARD_SIZE,
        width="100%",
    )


def suspension_callout() -> rx.Component:
    return rx.cond(
        BillingState.suspension_text,
        rx.callout(
            BillingState.suspension_text,
            icon="octagon-alert",
            color_scheme="red",
            size="2",
            width="100%",
            data_testid="billing-suspension",
        ),
        rx.fragment(),
    )


def figures() -> rx.Component:
    return rx.grid(
        stat_card("Burn rate", BillingState.burn, "All live servers, at current prices", icon="flame"),
        rx.card(
            rx.vstack(
                icon_label("hourglass", "Runway"),
                rx.text("Balance ", BillingState.runway, size="4", weight="bold", data_testid="billing-runway"),
                rx.text("At the current burn rate", size="1", color_scheme="gray"),
                spacing="3",
                width="100%",
            ),
            size="2",
            width="100%",
        ),
        stat_card(
            rx.fragment("Spent in ", BillingState.month_label),
            BillingState.month_to_date,
            rx.fragment("Forecast for the month: ", BillingState.forecast),
            icon="calendar",
        ),
        columns=rx.breakpoints(initial="1", sm="3"),
        spacing="4",
        width="100%",
    )


def spend_chart() -> rx.Component:
    tick = {"fontSize": 11, "fill": "var(--gray-10)"}
    return rx.card(
        rx.vstack(
            icon_label("chart-column", "Spend over the last 30 days"),
            rx.box(
                rx.recharts.bar_chart(
                    rx.recharts.cartesian_grid(stroke_dasharray="3 3", vertical=False, stroke="var(--gray-5)"),
                    rx.recharts.x_axis(data_key="day", tick=tick, tick_line=False, axis_line=False, min_tick_gap=24),
                    rx.recharts.y_axis(tick=tick, tick_line=False, axis_line=False, width=48),
                    rx.recharts.graphing_tooltip(
                        content_style={"background": "var(--color-panel-solid)", "border": "1px solid var(--gray-6)",
                                       "borderRadius": "var(--radius-3)", "fontSize": "12px"},
                        label_style={"color": "var(--gray-11)"},
                    ),
                    rx.recharts.bar(data_key="amount", name="Spend ($)", fill="var(--accent-9)", radius=[3, 3, 0, 0],
                                    is_animation_active=False),
                    data=BillingState.chart,
                    width="100%",
                    height=220,
                ),
                width="100%",
                height="220px",
                data_testid="billing-chart",
            ),
            spacing="3",
            width="100%",
        ),
        size=CARD_SIZE,
        width="100%",
    )


def _server_row(row: dict) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(
            rx.cond(row["href"], rx.link(row["label"], href=row["href"]), rx.text(row["label"])),
            rx.cond(row["state"], rx.badge(row["state"], color_scheme="gray", variant="soft", margin_left="2"),
                    rx.fragment()),
        ),
        rx.table.cell(row["hourly"], color=rx.color("gray", 11)),
        rx.table.cell(row["hours"], text_align="right"),
        rx.table.cell(row["amount"], text_align="right", style={"font_variant_numeric": "tabular-nums"}),
    )


def per_server_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            icon_label("server", rx.fragment("Spend per server in ", BillingState.month_label)),
            rx.cond(
                BillingState.per_server.length() > 0,  # type: ignore[attr-defined]
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            rx.table.column_header_cell("Server"),
                            rx.table.column_header_cell("Rate"),
                            rx.table.column_header_cell("Hours", text_align="right"),
                            rx.table.column_header_cell("Spent", text_align="right"),
                        )
                    ),
                    rx.table.body(rx.foreach(BillingState.per_server, _server_row)),
                    variant="ghost",
                    size="1",
                    width="100%",
                ),
                rx.text("No server has cost anything this month.", size="2", color_scheme="gray"),
            ),
            spacing="3",
            width="100%",
        ),
        size=CARD_SIZE,
        width="100%",
    )


def info_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            icon_label("receipt", "How billing works"),
            rx.text(
                "Your wallet is prepaid. Servers are billed by the hour from this balance, and every credit "
                "or debit appears in the ledger below with the balance it left.",
                size="2",
                color=rx.color("gray", 11),
            ),
            rx.text(
                BillingState.total,
                rx.cond(BillingState.filtered, " matching entries", " ledger entries in total"),
                size="1",
                color_scheme="gray",
            ),
            spacing="3",
        ),
        size=CARD_SIZE,
        width="100%",
    )


def filters() -> rx.Component:
    kind_select = rx.select.root(
        rx.select.trigger(id="ledger-kind", width="100%"),
        rx.select.content(
            rx.select.item("All kinds", value=ALL),
            *[rx.select.item(kind_label(k), value=k) for k in wallet.KINDS],
        ),
        value=BillingState.kind,
        on_change=BillingState.set_kind_filter,
    )
    return rx.flex(
        rx.box(field("Kind", kind_select, html_for="ledger-kind"), width=rx.breakpoints(initial="100%", sm="11rem")),
        date_range_fields(BillingState, id_prefix="ledger"),
        clear_filters_button(BillingState),
        rx.spacer(),
        rx.cond(BillingState.table_loading, rx.spinner(size="2", margin_bottom="var(--space-2)"), rx.fragment()),
        spacing="3",
        align="end",
        wrap="wrap",
        width="100%",
    )


def ledger_empty() -> rx.Component:
    return no_matches(
        BillingState,
        title="No entries match these filters",
        text="Try another kind or a wider date range.",
        otherwise=empty_state(
            "receipt",
            "No transactions yet",
            "Credits and charges to this organization's wallet will be listed here as they happen.",
        ),
    )


def ledger_section() -> rx.Component:
    return list_card(
        list_heading("Ledger", BillingState),
        filters(),
        paged(
            BillingState,
            BillingState.entries,
            ledger_entries(BillingState.entries, BillingState.table_loading),
            ledger_empty(),
        ),
    )


def denied_panel() -> rx.Component:
    return no_access(
        "You do not have access to billing",
        rx.text(
            "Your role in ",
            rx.text(BillingState.org_name, as_="span", weight="medium"),
            " does not include viewing billing. Ask an owner or billing manager of the organization "
            "if you need it.",
            as_="span",
        ),
    )


def export_button() -> rx.Component:
    return rx.button(
        rx.icon("download", size=16),
        "Export CSV",
        variant="surface",
        loading=BillingState.exporting,
        disabled=BillingState.total == 0,
        on_click=BillingState.export_csv,
    )


def invoices_link() -> rx.Component:
    return rx.link(rx.button(rx.icon("file-text", size=16), "Invoices", variant="surface"), href="/billing/invoices")


def loading_view() -> rx.Component:
    return rx.vstack(
        rx.grid(skeleton_card(), skeleton_card(), columns=rx.breakpoints(initial="1", md="2"), spacing="4", width="100%"),
        rx.card(skeleton_rows(5, 6), size=CARD_SIZE, width="100%"),
        spacing="5",
        width="100%",
    )


def billing_body() -> rx.Component:
    return rx.vstack(
        suspension_callout(),
        rx.grid(
            balance_card(),
            info_card(),
            columns=rx.breakpoints(initial="1", md="2"),
            spacing="4",
            width="100%",
        ),
        figures(),
        rx.grid(
            spend_chart(),
            per_server_card(),
            columns=rx.breakpoints(initial="1", lg="2"),
            spacing="4",
            width="100%",
        ),
        ledger_section(),
        spacing="5",
        width="100%",
    )


@rx.page(route="/billing", title="Billing · SkyPanel", on_load=[SessionState.require_login, BillingState.load])
def billing_page() -> rx.Component:
    return portal_layout(
        "Billing",
        page_header(
            "Billing",
            rx.cond(
                BillingState.org_name,
                "Wallet balance and transactions for " + BillingState.org_name,
                "Wallet balance and transactions",
            ),
            rx.cond(BillingState.denied | BillingState.loading, rx.fragment(), export_button()),
            rx.cond(BillingState.denied, rx.fragment(), invoices_link()),
            rx.cond(BillingState.denied | BillingState.loading, rx.fragment(), add_funds_button()),
        ),
        rx.cond(
            BillingState.loading,
            loading_view(),
            rx.cond(BillingState.denied, denied_panel(), billing_body()),
        ),
    )
