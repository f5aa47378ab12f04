"""/admin/settings: platform-wide settings (registration, platform name, support email)."""

from __future__ import annotations

import reflex as rx

from skypanel.backend.services import platform_settings
from skypanel.components.layout import admin_layout
from skypanel.components.widgets import CARD_SIZE, field, page_header, skeleton_rows
from skypanel.state.admin import AdminSettingsState
from skypanel.state.session import SessionState

S = AdminSettingsState
HELP = {d["key"]: d["help"] for d in platform_settings.describe()}


def registration_row() -> rx.Component:
    return rx.flex(
        rx.vstack(
            rx.el.label(
                "Registration enabled",
                html_for="setting-registration",
                style={"font_size": "var(--font-size-2)", "font_weight": "500", "color": rx.color("gray", 12)},
            ),
            rx.text(
                HELP.get("registration_enabled", "Visitors can create accounts.")
                + " When off, the sign-up page says registration is closed.",
                size="1",
                color_scheme="gray",
            ),
            spacing="1",
        ),
        rx.switch(
            id="setting-registration",
            name="registration_enabled",
            checked=S.registration_enabled,
            on_change=S.set_registration_enabled,
            size="2",
        ),
        justify="between",
        align="center",
        spacing="4",
        width="100%",
    )


def settings_form() -> rx.Component:
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading("General", as_="h2", size="4", weight="medium"),
                registration_row(),
                rx.separator(size="4"),
                field(
                    "Platform name",
                    rx.input(
                        id="setting-platform-name",
                        name="platform_name",
                        value=S.platform_name,
                        on_change=S.set_platform_name,
                        max_length=100,
                        width="100%",
                    ),
                    hint=HELP.get("platform_name", ""),
                    error=S.errors["platform_name"],
                ),
                field(
                    "Support email",
                    rx.input(
                        id="setting-support-email",
                        name="support_email",
                        type="email",
                        value=S.support_email,
                        on_change=S.set_support_email,
                        max_length=254,
                        width="100%",
                    ),
                    hint=HELP.get("support_email", ""),
                    error=S.errors["support_email"],
                ),
                rx.separator(size="4"),
                rx.heading("Servers", as_="h2", size="4", weight="medium"),
                field(
                    "Balance needed to create a server (hours)",
                    rx.input(
                        id="setting-runway-hours",
                        name="vps_min_runway_hours",
                        value=S.runway_hours,
                        on_change=S.set_runway_hours,
                        input_mode="numeric",
                        max_length=4,
                        width="8rem",
                    ),
                    hint=HELP.get("vps_min_runway_hours", ""),
                    error=S.errors["vps_min_runway_hours"],
                ),
                rx.separator(size="4"),
                rx.heading("Invoices", as_="h2", size="4", weight="medium"),
                field(
                    "Invoice logo",
                    rx.input(
                        id="setting-invoice-logo",
                        name="invoice_logo",
                        value=S.invoice_logo,
                        on_change=S.set_invoice_logo,
                        placeholder="logo.png",
                        max_length=100,
                        width="100%",
                    ),
                    hint=HELP.get("invoice_logo", ""),
                    error=S.errors["invoice_logo"],
                ),
                rx.cond(
                    S.errors["registration_enabled"],
                    rx.text(S.errors["registration_enabled"], size="1", color_scheme="red", role="alert"),
                    rx.fragment(),
                ),
                rx.flex(
                    rx.button("Save changes", type="submit", loading=S.saving),
                    justify="end",
                    width="100%",
                ),
                spacing="5",
                width="100%",
            ),
            on_submit=S.save,
            reset_on_submit=False,
            no_validate=True,  # our own messages, the same in every browser
            width="100%",
        ),
        size=CARD_SIZE,
        width="100%",
        max_width="40rem",
    )


@rx.page(route="/admin/settings", title="Settings · Admin · SkyPanel", on_load=[SessionState.require_admin, AdminSettingsState.load])
def admin_settings_page() -> rx.Component:
    return admin_layout(
        "Settings",
        page_header("Platform settings", "Apply to everyone on the platform. Every change is recorded in the audit log."),
        rx.cond(S.loading, rx.card(skeleton_rows(2, 4), size=CARD_SIZE, width="100%", max_width="40rem"), settings_form()),
    )
