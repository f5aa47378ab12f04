"""/billing/invoices (receipts and monthly statements + the billing profile) and
/billing/invoices/[invoice_id] (one document, as issued, with its PDF download)."""

from __future__ import annotations

import reflex as rx

from skypanel.backend.services.countries import COUNTRIES
from skypanel.components.layout import portal_layout
from skypanel.components.tables import list_card, list_heading, paged, table_and_list
from skypanel.components.widgets import (
    CARD_SIZE,
    NOWRAP,
    TABULAR,
    empty_state,
    field,
    form_error,
    icon_label,
    no_access,
    page_header,
    skeleton_line,
    skeleton_rows,
)
from skypanel.state.invoices import NO_COUNTRY, InvoicesState, InvoiceViewState, pdf_href
from skypanel.state.session import SessionState

S = InvoicesState
V = InvoiceViewState
CRUMBS = [("Dashboard", "/dashboard"), ("Billing", "/billing")]


def pdf_button(invoice_id, label: str = "Download PDF", **props) -> rx.Component:
    """A plain link styled as a button: the browser downloads the file (no Reflex event involved)."""
    return rx.button(
        rx.el.a(rx.icon("download", size=16), label, href=pdf_href(invoice_id), download="", reload_document=True),
        as_child=True,
        variant=props.pop("variant", "solid"),
        **props,
    )


# ---- the list ------------------------------------------------------------------------------

def kind_badge(row) -> rx.Component:
    return rx.badge(row["title"], color_scheme=row["kind_color"], variant="soft", style=NOWRAP)


def invoice_row(row) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(rx.link(row["number"], href="/billing/invoices/" + row["id"], weight="medium",
                                         style=TABULAR), vertical_align="middle"),
        rx.table.cell(kind_badge(row), vertical_align="middle"),
        rx.table.cell(rx.text(row["period"], size="2", style=NOWRAP), vertical_align="middle"),
        rx.table.cell(rx.text(row["issued"], size="2", title=row["issued_exact"], style=NOWRAP),
                      vertical_align="middle"),
        rx.table.cell(rx.text(row["total"], size="2", style=TABULAR, title=row["total_label"]), align="right",
                      vertical_align="middle"),
        rx.table.cell(
            rx.icon_button(
                rx.el.a(rx.icon("download", size=16), href=pdf_href(row["id"]), download="", reload_document=True,
                        aria_label="Download PDF " + row["number"]),
                as_child=True, size="2", variant="ghost",
            ),
            align="right", vertical_align="middle",
        ),
        align="center",
    )


def invoice_item(row) -> rx.Component:
    return rx.vstack(
        rx.flex(rx.link(row["number"], href="/billing/invoices/" + row["id"], weight="medium"), kind_badge(row),
                spacing="2", align="center", wrap="wrap"),
        rx.text(row["when"], size="1", color_scheme="gray"),
        rx.flex(rx.text(row["total_label"], ": ", row["total"], size="2", style=TABULAR), rx.spacer(),
                pdf_button(row["id"], "PDF", size="1", variant="soft"), align="center", width="100%"),
        spacing="2",
        padding_y="var(--space-3)",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
        width="100%",
    )


def documents_card() -> rx.Component:
    return list_card(
        list_heading("Documents", S),
        paged(
            S,
            S.rows,
            table_and_list(
                ["Number", "Type", "Period", "Issued",
                 rx.table.column_header_cell("Amount", align="right"), rx.table.column_header_cell("")],
                S.rows, invoice_row, invoice_item, busy=S.table_loading,
            ),
            empty_state(
                "file-text",
                "No invoices yet",
                "A receipt is issued for every top-up, and a statement on the 1st of each month for the month "
                "before. Add funds on the Billing page to get your first receipt.",
                rx.link(rx.button("Go to Billing", variant="soft"), href="/billing"),
            ),
        ),
    )


# ---- the billing profile ----------------------------------------------------------------------

def _input(name: str, label: str, max_length: int, hint: str = "", autocomplete: str = "") -> rx.Component:
    return field(
        label,
        rx.input(id=f"profile-{name}", name=name, default_value=S.profile[name], max_length=max_length,
                 auto_complete=autocomplete or "off", width="100%", read_only=~S.can_edit),
        hint=hint,
        error=S.field_errors[name],
    )


def country_select() -> rx.Component:
    return field(
        "Country",
        rx.select.root(
            rx.select.trigger(id="profile-country", placeholder="Choose a country", width="100%"),
            rx.select.content(
                rx.select.item("Choose a country", value=NO_COUNTRY),
                *[rx.select.item(name, value=code) for code, name in COUNTRIES.items()],
            ),
            value=S.country,
            on_change=S.set_country,
            disabled=~S.can_edit,
        ),
        error=S.field_errors["country"],
        html_for="profile-country",
    )


def profile_card() -> rx.Component:
    return rx.card(
        rx.form(
            rx.vstack(
                icon_label("building-2", "Billing profile"),
                rx.text(
                    rx.cond(
                        S.can_edit,
                        "Printed on receipts and statements issued from now on. Documents already issued keep "
                        "the details they were issued with.",
                        "Printed on receipts and statements. Only owners and billing managers can change it.",
                    ),
                    size="2",
                    color=rx.color("gray", 11),
                ),
                rx.cond(
                    S.profile_set | ~S.can_edit,
                    rx.fragment(),
                    rx.callout("No billing profile yet: documents show only the organization's name. Add your "
                               "legal name and address below.", icon="info", size="1", width="100%"),
                ),
                _input("legal_name", "Legal name", 120, autocomplete="organization"),
                _input("address_line1", "Address", 120, autocomplete="address-line1"),
                _input("address_line2", "Address line 2 (optional)", 120, autocomplete="address-line2"),
                rx.grid(
                    _input("postal_code", "Postal code", 20, autocomplete="postal-code"),
                    _input("city", "City", 80, autocomplete="address-level2"),
                    columns="2",
                    spacing="3",
                    width="100%",
                ),
                country_select(),
                _input("tax_id", "Tax ID (optional)", 40, hint="VAT or other tax number, if you have one."),
                form_error(S.profile_error),
                rx.cond(
                    S.can_edit,
                    rx.button("Save billing profile", type="submit", loading=S.saving, width="100%"),
                    rx.fragment(),
                ),
                spacing="3",
                width="100%",
            ),
            on_submit=S.save_profile,
            reset_on_submit=False,
            key=S.profile["legal_name"] + S.profile["country"],  # re-mount with saved values after a load
        ),
        size=CARD_SIZE,
        width="100%",
    )


def list_loading() -> rx.Component:
    return rx.grid(
        rx.card(skeleton_rows(5, 5), size=CARD_SIZE, width="100%"),
        rx.card(rx.vstack(*[skeleton_line() for _ in range(7)], spacing="4"), size=CARD_SIZE, width="100%"),
        columns=rx.breakpoints(initial="1", xl="3"),
        spacing="4",
        width="100%",
    )


def denied() -> rx.Component:
    return no_access(
        "You do not have access to billing",
        "Your role in this organization does not include viewing billing. Ask an owner or billing manager "
        "if you need invoices.",
    )


@rx.page(route="/billing/invoices", title="Invoices · SkyPanel", on_load=[SessionState.require_login, S.load])
def invoices_page() -> rx.Component:
    return portal_layout(
        "Invoices",
        page_header(
            "Invoices",
            rx.cond(S.org_name, "Receipts, monthly statements and billing details for " + S.org_name,
                    "Receipts, monthly statements and billing details"),
            rx.link(rx.button(rx.icon("wallet", size=16), "Billing", variant="surface"), href="/billing"),
        ),
        rx.cond(
            S.loading,
            list_loading(),
            rx.cond(
                S.denied,
                denied(),
                rx.grid(
                    rx.box(documents_card(), grid_column=rx.breakpoints(initial="auto", xl="span 2")),
                    rx.box(profile_card(), max_width=rx.breakpoints(initial="40rem", xl="none")),
                    columns=rx.breakpoints(initial="1", xl="3"),
                    spacing="4",
                    width="100%",
                    align="start",
                ),
            ),
        ),
        breadcrumbs=CRUMBS,
    )


# ---- one document --------------------------------------------------------------------------

def _cell_text(value, **props) -> rx.Component:
    return rx.text(value, size="2", **props)


def doc_header() -> rx.Component:
    return rx.flex(
        rx.vstack(
            rx.cond(V.doc["logo"], rx.image(src=V.doc["logo"], height="40px", alt=V.doc["platform"]), rx.fragment()),
            rx.heading(V.doc["platform"], as_="h2", size="5", color=rx.color("accent", 11)),
            spacing="2",
        ),
        rx.vstack(
            rx.heading(V.doc["title"], as_="h2", size="5"),
            rx.text(V.doc["number"], size="2", color_scheme="gray", style=TABULAR, data_testid="invoice-number"),
            rx.text("Issued ", V.doc["issued"], size="2", color_scheme="gray"),
            rx.cond(V.doc["period"], rx.text("Period ", V.doc["period"], size="2", color_scheme="gray"),
                    rx.fragment()),
            align=rx.breakpoints(initial="start", sm="end"),
            spacing="1",
        ),
        justify="between",
        direction=rx.breakpoints(initial="column", sm="row"),
        spacing="4",
        width="100%",
    )


def bill_to() -> rx.Component:
    return rx.vstack(
        rx.text("Billed to", size="1", weight="bold", color_scheme="gray", style={"text_transform": "uppercase"}),
        rx.foreach(V.bill_to, lambda line, i: rx.text(line, size="2", weight=rx.cond(i == 0, "bold", "regular"))),
        rx.cond(V.doc["has_profile"], rx.fragment(),
                rx.text("No billing profile was set when this document was issued.", size="1", color_scheme="gray")),
        spacing="1",
    )


def amount_cell(value, **props) -> rx.Component:
    return rx.table.cell(rx.text(value, size="2", style=TABULAR, **props), align="right")


def simple_table(headers: list, rows, render) -> rx.Component:
    return rx.box(
        rx.table.root(
            rx.table.header(rx.table.row(*headers)),
            rx.table.body(rx.foreach(rows, render)),
            variant="ghost", size="1", width="100%", min_width="30rem",
        ),
        overflow_x="auto",
        width="100%",
    )


def statement_body() -> rx.Component:
    right = lambda title: rx.table.column_header_cell(title, align="right")  # noqa: E731
    return rx.vstack(
        rx.heading("Summary", as_="h3", size="3"),
        simple_table(
            [rx.table.column_header_cell(""), right("Amount")], V.summary,
            lambda r: rx.table.row(
                rx.table.cell(rx.text(r["label"], size="2", weight=rx.cond(r["strong"], "bold", "regular"))),
                amount_cell(r["amount"], weight=rx.cond(r["strong"], "bold", "regular")),
            ),
        ),
        rx.heading("Server usage", as_="h3", size="3", margin_top="var(--space-3)"),
        rx.cond(
            V.usage.length() > 0,
            simple_table(
                [rx.table.column_header_cell("Server"), rx.table.column_header_cell("Plan"), right("Hours"),
                 right("Amount")],
                V.usage,
                lambda u: rx.table.row(rx.table.cell(_cell_text(u["server"])), rx.table.cell(_cell_text(u["plan"])),
                                       amount_cell(u["hours"]), amount_cell(u["amount"])),
            ),
            rx.text("No server usage in this period.", size="2", color_scheme="gray"),
        ),
        rx.cond(
            V.usage.length() > 0,
            rx.text(V.doc["usage_hours"], " hours, ", V.doc["usage_total"], " in total", size="2", weight="medium"),
            rx.fragment(),
        ),
        rx.cond(
            V.moves.length() > 0,
            rx.vstack(
                rx.heading("Payments and adjustments", as_="h3", size="3", margin_top="var(--space-3)"),
                simple_table(
                    [rx.table.column_header_cell("Date"), rx.table.column_header_cell("Type"),
                     rx.table.column_header_cell("Description"), right("Amount")],
                    V.moves,
                    lambda m: rx.table.row(rx.table.cell(_cell_text(m["date"], style=NOWRAP)),
                                           rx.table.cell(_cell_text(m["label"])),
                                           rx.table.cell(_cell_text(m["description"])), amount_cell(m["amount"])),
                ),
                spacing="3",
                width="100%",
            ),
            rx.fragment(),
        ),
        rx.text("Closing balance = opening balance + every ledger entry in the period. Server charges are the "
                "debits posted in the period; the last hours of a month may be posted early the next month.",
                size="1", color_scheme="gray"),
        spacing="3",
        width="100%",
    )


def receipt_body() -> rx.Component:
    return rx.vstack(
        rx.heading("Payment received", as_="h3", size="3"),
        simple_table(
            [rx.table.column_header_cell("Description"), rx.table.column_header_cell("Reference"),
             rx.table.column_header_cell("Amount", align="right")],
            V.lines,
            lambda ln: rx.table.row(rx.table.cell(_cell_text(ln["description"])),
                                    rx.table.cell(_cell_text(ln["reference"], style={"overflow_wrap": "anywhere"})),
                                    amount_cell(ln["amount"])),
        ),
        rx.flex(rx.text("Total paid", weight="bold", size="3"), rx.text(V.doc["total"], weight="bold", size="3",
                                                                        style=TABULAR),
                justify="between", width="100%"),
        rx.text("Paid ", V.doc["paid_at"], " and credited to the prepaid wallet. Balance after this payment: ",
                V.doc["balance_after"], ".", size="2", color_scheme="gray"),
        spacing="3",
        width="100%",
    )


def document_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            doc_header(),
            rx.separator(size="4"),
            bill_to(),
            rx.separator(size="4"),
            rx.cond(V.doc["kind"] == "statement", statement_body(), receipt_body()),
            spacing="5",
            width="100%",
        ),
        size=CARD_SIZE,
        width="100%",
        max_width="52rem",
    )


def doc_loading() -> rx.Component:
    return rx.card(
        rx.vstack(rx.flex(skeleton_line("30%", "1.5rem"), rx.spacer(), skeleton_line("25%", "1.5rem"), width="100%"),
                  skeleton_line("40%"), skeleton_rows(3, 5), spacing="5", width="100%"),
        size=CARD_SIZE, width="100%", max_width="52rem",
    )


def doc_missing() -> rx.Component:
    return rx.cond(
        V.missing == "denied",
        denied(),
        empty_state("file-x", "Invoice not found",
                    "It does not exist or belongs to another organization. Your invoices are listed on the "
                    "Invoices page.",
                    rx.link(rx.button("Back to invoices", variant="soft"), href="/billing/invoices")),
    )


@rx.page(route="/billing/invoices/[invoice_id]", title="Invoice · SkyPanel",
         on_load=[SessionState.require_login, V.load])
def invoice_page() -> rx.Component:
    return portal_layout(
        "Invoice",
        page_header(
            rx.cond(V.doc["number"], V.doc["number"], "Invoice"),
            rx.cond(V.doc["title"], V.doc["title"], ""),
            rx.cond(V.doc["id"], pdf_button(V.doc["id"]), rx.fragment()),
        ),
        rx.cond(V.doc_loading, doc_loading(), rx.cond(V.missing, doc_missing(), document_card())),
        breadcrumbs=[*CRUMBS, ("Invoices", "/billing/invoices")],
    )
