"""Page shells: public (navbar + footer), portal and admin (sidebar, org switcher, user menu,
breadcrumbs, title) and the centred card used by sign-in pages.

The shells only arrange markup; who may see a page is decided on the server in `on_load`
(`SessionState.require_login` / `require_admin`). Nav items hidden here are refused there anyway.

Usage:
    portal_layout("Billing", page_header(...)?, content..., breadcrumbs=[("Organizations", "/organizations")])
The shell renders breadcrumbs ending in `title`, and `title` as the page's H1 unless the first
child is a `widgets.page_header(...)` (which then is the H1, with its subtitle and actions).
"""

from __future__ import annotations

import datetime
from typing import Any

import reflex as rx
from reflex.style import set_color_mode

from skypanel.components.widgets import ELLIPSIS, PAGE_HEADER_CLASS
from skypanel.state.session import SessionState

BRAND = "SkyPanel"
SIDEBAR_WIDTH = "15.5rem"
TOPBAR_HEIGHT = "3.5rem"
# Reflex breakpoints as lists: [base, >=30em, >=48em, >=62em]. The sidebar shows from 48em (768px).
DESKTOP_FLEX = ["none", "none", "flex"]
MOBILE_FLEX = ["flex", "flex", "none"]

NavItem = tuple[str, str, str, "str | None"]

# (label, href, icon, permission needed in the active organization or None).
# Hiding a link is a courtesy: the page's loader and the services refuse anyway.
PORTAL_NAV: list[NavItem] = [
    ("Dashboard", "/dashboard", "layout-dashboard", None),
    ("Servers", "/vps", "server", "vps_view"),
    ("SSH keys", "/ssh-keys", "key-round", "ssh_keys_view"),
    ("Organizations", "/organizations", "building-2", None),
    ("Billing", "/billing", "wallet", "billing_view"),
    ("Activity", "/activity", "activity", None),
    ("Settings", "/settings", "settings", None),
]
ADMIN_NAV: list[NavItem] = [
    ("Overview", "/admin", "gauge", None),
    ("Users", "/admin/users", "users", None),
    ("Organizations", "/admin/organizations", "building-2", None),
    ("Servers", "/admin/servers", "server", None),
    ("Plans", "/admin/plans", "tags", None),
    ("Providers", "/admin/providers", "cloud", None),
    ("Billing", "/admin/billing", "receipt", None),
    ("Payments", "/admin/payments", "credit-card", None),
    ("Suspensions", "/admin/suspensions", "octagon-pause", None),
    ("Outbox", "/admin/outbox", "inbox", None),
    ("Settings", "/admin/settings", "settings", None),
]


# ---------------------------------------------------------------- small pieces


def logo(href: str = "/", size: str = "4") -> rx.Component:
    """The brand mark and name, linking home."""
    return rx.link(
        rx.flex(
            rx.image(src="/favicon.svg", width="28px", height="28px", alt=""),
            rx.text(BRAND, size=size, weight="bold", color=rx.color("gray", 12), style={"letter_spacing": "-0.01em"}),
            align="center",
            spacing="2",
        ),
        href=href,
        underline="none",
        aria_label=f"{BRAND} home",
    )


def theme_toggle() -> rx.Component:
    """Light / dark switch (Reflex color mode; remembered by the browser)."""
    return rx.tooltip(
        rx.icon_button(
            rx.color_mode_cond(light=rx.icon("moon", size=18), dark=rx.icon("sun", size=18)),
            on_click=rx.toggle_color_mode,
            variant="ghost",
            color_scheme="gray",
            size="2",
            aria_label="Toggle dark mode",
        ),
        content="Toggle light / dark",
    )


def _path() -> rx.Var:
    return rx.State.router.url.path


def _is_active(href: str) -> rx.Var:
    path = _path()
    if href in ("/admin", "/dashboard", "/"):
        return (path == href) | (path == href + "/")
    return (path == href) | path.startswith(href + "/")


def _nav_link(label: str, href: str, icon: str) -> rx.Component:
    active = _is_active(href)
    return rx.link(
        rx.flex(
            rx.icon(icon, size=18),
            rx.text(label, size="2", weight="medium"),
            align="center",
            spacing="3",
            padding_x="var(--space-3)",
            padding_y="var(--space-2)",
            border_radius="var(--radius-3)",
            width="100%",
            background_color=rx.cond(active, rx.color("accent", 4), "transparent"),
            color=rx.cond(active, rx.color("accent", 12), rx.color("gray", 11)),
            _hover={"background_color": rx.color("gray", 4), "color": rx.color("gray", 12)},
        ),
        href=href,
        underline="none",
        width="100%",
        aria_current=rx.cond(active, "page", "false"),
    )


def _nav_item(label: str, href: str, icon: str, permission: str | None) -> rx.Component:
    link = _nav_link(label, href, icon)
    if permission is None:
        return link
    return rx.cond(SessionState.permissions.contains(permission), link, rx.fragment())


def _nav(items: list[NavItem], *, admin: bool) -> rx.Component:
    links: list[rx.Component] = [_nav_item(*item) for item in items]
    if admin:
        links.append(rx.separator(size="4", margin_y="var(--space-2)"))
        links.append(_nav_link("Back to portal", "/dashboard", "arrow-left"))
    else:
        links.append(
            rx.cond(
                SessionState.is_admin,
                rx.fragment(rx.separator(size="4", margin_y="var(--space-2)"), _nav_link("Admin", "/admin", "shield")),
                rx.fragment(),
            )
        )
    return rx.el.nav(
        rx.vstack(*links, spacing="1", width="100%"),
        aria_label="Admin" if admin else "Main",
        style={"width": "100%"},
    )


def org_switcher() -> rx.Component:
    """The active organization, switchable; changing it reloads the dashboard for that org."""
    return rx.cond(
        SessionState.organizations.length() > 0,  # type: ignore[attr-defined]
        rx.vstack(
            rx.el.label(
                "Organization",
                html_for="org-switcher",
                style={
                    "font_size": "var(--font-size-1)",
                    "font_weight": "500",
                    "color": rx.color("gray", 10),
                    "text_transform": "uppercase",
                    "letter_spacing": "0.04em",
                    "padding_left": "2px",
                },
            ),
            rx.select.root(
                rx.select.trigger(id="org-switcher", width="100%", aria_label="Switch organization"),
                rx.select.content(
                    rx.foreach(
                        SessionState.organizations,
                        lambda o: rx.select.item(o["name"], value=o["id"]),
                    ),
                    position="popper",
                ),
                value=SessionState.active_org_id,
                on_change=SessionState.switch_organization,
                size="2",
            ),
            spacing="1",
            width="100%",
        ),
        rx.fragment(),
    )


def _initial() -> rx.Var:
    return rx.cond(SessionState.user_name, SessionState.user_name[:1].upper(), "?")


def user_menu(compact: bool = False) -> rx.Component:
    """Avatar menu: who is signed in, settings, theme, sign out."""
    avatar = rx.avatar(fallback=_initial(), size="2", radius="full", variant="solid")
    if compact:
        trigger = rx.icon_button(avatar, variant="ghost", radius="full", aria_label="Account menu", size="2")
    else:
        trigger = rx.button(
            avatar,
            rx.vstack(
                rx.text(SessionState.user_name, size="2", weight="medium", max_width="100%", text_align="left", line_height="1.3", style=ELLIPSIS),
                rx.text(SessionState.user_email, size="1", color_scheme="gray", max_width="100%", text_align="left", line_height="1.3", style=ELLIPSIS),
                spacing="1",
                align="start",
                min_width="0",
                flex="1",
                overflow="hidden",
            ),
            rx.icon("chevrons-up-down", size=14, color=rx.color("gray", 10), margin_left="auto"),
            variant="ghost",
            color_scheme="gray",
            width="100%",
            height="auto",
            padding="var(--space-2)",
            justify="start",
            gap="var(--space-3)",
            aria_label="Account menu",
        )
    return rx.dropdown_menu.root(
        rx.dropdown_menu.trigger(trigger),
        rx.dropdown_menu.content(
            rx.box(
                rx.text(SessionState.user_name, size="2", weight="medium", as_="div"),
                rx.text(SessionState.user_email, size="1", color_scheme="gray", as_="div"),
                padding_x="var(--space-2)",
                padding_y="var(--space-1)",
            ),
            rx.dropdown_menu.separator(),
            rx.dropdown_menu.item(rx.icon("settings", size=16), "Settings", on_click=rx.redirect("/settings")),
            rx.dropdown_menu.item(
                rx.color_mode_cond(light=rx.icon("moon", size=16), dark=rx.icon("sun", size=16)),
                rx.color_mode_cond(light="Dark mode", dark="Light mode"),
                on_click=rx.toggle_color_mode,
            ),
            rx.cond(
                SessionState.is_admin,
                rx.dropdown_menu.item(rx.icon("shield", size=16), "Admin", on_click=rx.redirect("/admin")),
                rx.fragment(),
            ),
            rx.dropdown_menu.separator(),
            rx.dropdown_menu.item(
                rx.icon("log-out", size=16), "Sign out", color_scheme="red", on_click=SessionState.sign_out
            ),
            align="end" if compact else "start",
            side="bottom" if compact else "top",
            min_width="14rem",
        ),
    )


def breadcrumbs(crumbs: list[tuple[str, str]], current: Any) -> rx.Component:
    """Home-to-here trail; the last item is the current page (not a link)."""
    parts: list[rx.Component] = []
    for label, href in crumbs:
        parts.append(rx.link(label, href=href, size="2", color_scheme="gray", underline="hover"))
        parts.append(rx.icon("chevron-right", size=14, color=rx.color("gray", 8), aria_hidden="true"))
    parts.append(rx.text(current, size="2", weight="medium", color=rx.color("gray", 12), aria_current="page", style=ELLIPSIS))
    return rx.el.nav(
        rx.flex(*parts, align="center", spacing="2", min_width="0"),
        aria_label="Breadcrumb",
        style={"min_width": "0", "overflow": "hidden"},
    )


def _sidebar_body(nav_items: list[NavItem], *, admin: bool) -> rx.Component:
    return rx.flex(
        rx.flex(
            logo("/admin" if admin else "/dashboard"),
            rx.badge("Admin", color_scheme="orange", variant="soft") if admin else rx.fragment(),
            align="center",
            justify="between",
            padding_x="var(--space-2)",
            height="2.5rem",
        ),
        rx.fragment() if admin else org_switcher(),
        _nav(nav_items, admin=admin),
        rx.spacer(),
        rx.separator(size="4"),
        user_menu(),
        direction="column",
        spacing="5",
        height="100%",
        width="100%",
        padding="var(--space-4)",
    )


def _sidebar(nav_items: list[NavItem], *, admin: bool) -> rx.Component:
    return rx.box(
        _sidebar_body(nav_items, admin=admin),
        display=DESKTOP_FLEX,
        width=SIDEBAR_WIDTH,
        min_width=SIDEBAR_WIDTH,
        height="100vh",
        position="sticky",
        top="0",
        border_right=f"1px solid {rx.color('gray', 5)}",
        background_color=rx.color("gray", 2),
        overflow_y="auto",
    )


_VISUALLY_HIDDEN = {
    "position": "absolute",
    "width": "1px",
    "height": "1px",
    "overflow": "hidden",
    "clip": "rect(0 0 0 0)",
    "white_space": "nowrap",
}


def _mobile_menu(nav_items: list[NavItem], *, admin: bool) -> rx.Component:
    """Phone navigation: the sidebar as a sheet from the left (a Radix dialog, so it renders on the server)."""
    return rx.dialog.root(
        rx.dialog.trigger(
            rx.icon_button(rx.icon("menu", size=20), variant="ghost", color_scheme="gray", size="2", aria_label="Open menu")
        ),
        rx.dialog.content(
            rx.dialog.title("Menu", style=_VISUALLY_HIDDEN),
            rx.dialog.description("Site navigation", style=_VISUALLY_HIDDEN),
            rx.box(
                rx.dialog.close(
                    rx.icon_button(rx.icon("x", size=18), variant="ghost", color_scheme="gray", aria_label="Close menu")
                ),
                position="absolute",
                top="1.1rem",
                right="1rem",
                z_index="1",
            ),
            _sidebar_body(nav_items, admin=admin),
            class_name="sp-sheet",
            style={
                "position": "fixed !important",
                "top": "0 !important",
                "left": "0 !important",
                "bottom": "0 !important",
                "height": "100dvh !important",
                "max_height": "100dvh !important",
                "width": "min(18rem, 86vw) !important",
                "max_width": "86vw !important",
                "margin": "0 !important",
                "padding": "0 !important",
                "border_radius": "0 !important",
                "background_color": rx.color("gray", 2),
                "overflow_y": "auto",
            },
        ),
    )


def _impersonation_banner() -> rx.Component:
    return rx.cond(
        SessionState.impersonating,
        rx.callout(
            rx.text("You are acting as ", rx.text.strong(SessionState.user_name), " (", SessionState.user_email, ")."),
            icon="user",
            color_scheme="orange",
            size="1",
            width="100%",
            margin_bottom="var(--space-4)",
        ),
        rx.fragment(),
    )


def _billing_banner() -> rx.Component:
    """Low runway, negative balance or suspension of the active organization (services/dunning.py)."""
    return rx.cond(
        SessionState.billing_alert,
        rx.callout.root(
            rx.callout.icon(rx.icon("wallet", size=16)),
            rx.callout.text(
                SessionState.billing_alert,
                rx.cond(
                    SessionState.billing_alert_link,
                    rx.fragment(" ", rx.link("Go to billing", href="/billing", weight="medium")),
                    rx.fragment(),
                ),
            ),
            color_scheme=rx.cond(SessionState.billing_alert_level == "red", "red", "amber"),
            size="1",
            width="100%",
            margin_bottom="var(--space-4)",
            role="alert",
            data_testid="billing-banner",
        ),
        rx.fragment(),
    )


def _topbar(crumbs: list[tuple[str, str]], title: Any, nav_items: list[NavItem], *, admin: bool) -> rx.Component:
    return rx.flex(
        # phone: menu + logo
        rx.flex(
            _mobile_menu(nav_items, admin=admin),
            logo("/admin" if admin else "/dashboard", size="3"),
            align="center",
            spacing="3",
            display=MOBILE_FLEX,
        ),
        # desktop: breadcrumbs
        rx.box(breadcrumbs(crumbs, title), display=DESKTOP_FLEX, min_width="0"),
        rx.flex(
            theme_toggle(),
            rx.box(user_menu(compact=True), display=MOBILE_FLEX),
            align="center",
            spacing="3",
        ),
        align="center",
        justify="between",
        spacing="3",
        height=TOPBAR_HEIGHT,
        padding_x=["var(--space-4)", "var(--space-4)", "var(--space-6)", "var(--space-8)"],
        position="sticky",
        top="0",
        z_index="10",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
        background_color="color-mix(in srgb, var(--color-background) 85%, transparent)",
        style={"backdrop_filter": "blur(8px)"},
    )


def _starts_with_page_header(children: tuple) -> bool:
    return bool(children) and PAGE_HEADER_CLASS in str(getattr(children[0], "class_name", "") or "")


def _shell(
    title: Any,
    children: tuple,
    *,
    crumbs: list[tuple[str, str]],
    nav_items: list[NavItem],
    admin: bool,
) -> rx.Component:
    if crumbs and isinstance(title, str) and crumbs[-1][0] == title:
        crumbs = crumbs[:-1]  # the page passed itself as the last crumb; the title is shown as current
    heading = (
        rx.fragment()
        if _starts_with_page_header(children)
        else rx.heading(title, as_="h1", size="7", weight="bold", margin_bottom="var(--space-5)")
    )
    return rx.flex(
        _theme_applier(),
        _sidebar(nav_items, admin=admin),
        rx.flex(
            _topbar(crumbs, title, nav_items, admin=admin),
            rx.el.main(
                rx.box(
                    _impersonation_banner(),
                    rx.fragment() if admin else _billing_banner(),
                    # phones: the trail sits above the title, since the top bar has no room
                    rx.box(breadcrumbs(crumbs, title), display=MOBILE_FLEX, margin_bottom="var(--space-3)")
                    if crumbs
                    else rx.fragment(),
                    heading,
                    *children,
                    width="100%",
                    max_width="72rem",
                    margin_x="auto",
                    padding_x=["var(--space-4)", "var(--space-4)", "var(--space-6)", "var(--space-8)"],
                    padding_top=["var(--space-4)", "var(--space-4)", "var(--space-6)", "var(--space-7)"],
                    padding_bottom="var(--space-9)",
                ),
                style={"width": "100%", "flex": "1"},
            ),
            direction="column",
            flex="1",
            min_width="0",
            min_height="100vh",
        ),
        width="100%",
        min_height="100vh",
    )


# ---------------------------------------------------------------- public shells


def _theme_applier() -> rx.Component:
    """Mounts only right after sign-in: applies the user's saved theme in this browser, then clears it."""
    return rx.cond(
        SessionState.theme_to_apply != "",
        rx.box(on_mount=[set_color_mode(SessionState.theme_to_apply), SessionState.theme_applied], display="none"),
        rx.fragment(),
    )


def public_layout(*children: rx.Component) -> rx.Component:
    """Marketing pages: navbar, full-width content, footer. Pair with on_load=SessionState.load_optional."""
    return rx.flex(
        _theme_applier(),
        _public_navbar(),
        rx.el.main(*children, style={"flex": "1", "width": "100%"}),
        _public_footer(),
        direction="column",
        min_height="100vh",
        width="100%",
    )


def _public_navbar() -> rx.Component:
    signed_out_actions = rx.fragment(
        rx.link("Sign in", href="/login", size="2", weight="medium", color_scheme="gray", high_contrast=True, underline="none"),
        rx.link(rx.button("Get started", size="2"), href="/register", underline="none"),
    )
    signed_in_actions = rx.link(rx.button(rx.icon("layout-dashboard", size=16), "Dashboard", size="2"), href="/dashboard", underline="none")
    return rx.el.header(
        rx.flex(
            logo("/"),
            rx.flex(
                rx.link(
                    "Home",
                    href="/",
                    size="2",
                    weight="medium",
                    color_scheme="gray",
                    high_contrast=True,
                    underline="none",
                    display=["none", "inline"],
                ),
                rx.cond(SessionState.signed_in, signed_in_actions, signed_out_actions),
                theme_toggle(),
                align="center",
                spacing=rx.breakpoints(initial="3", sm="5"),
            ),
            align="center",
            justify="between",
            max_width="72rem",
            margin_x="auto",
            padding_x=["var(--space-4)", "var(--space-5)", "var(--space-6)"],
            height="4rem",
            width="100%",
        ),
        style={
            "position": "sticky",
            "top": "0",
            "z_index": "20",
            "border_bottom": f"1px solid {rx.color('gray', 4)}",
            "background_color": "color-mix(in srgb, var(--color-background) 85%, transparent)",
            "backdrop_filter": "blur(8px)",
        },
    )


def _footer_link(label: str, href: str) -> rx.Component:
    return rx.link(label, href=href, size="2", color_scheme="gray", underline="hover")


def _public_footer() -> rx.Component:
    year = datetime.date.today().year
    return rx.el.footer(
        rx.flex(
            rx.flex(
                rx.vstack(
                    logo("/"),
                    rx.text(
                        "Cloud servers on Linode and DigitalOcean, billed by the hour from a prepaid wallet.",
                        size="2",
                        color_scheme="gray",
                        max_width="22rem",
                    ),
                    spacing="3",
                ),
                rx.flex(
                    rx.vstack(
                        rx.text("Product", size="2", weight="bold"),
                        _footer_link("Home", "/"),
                        _footer_link("Create an account", "/register"),
                        _footer_link("Sign in", "/login"),
                        spacing="2",
                    ),
                    rx.vstack(
                        rx.text("Account", size="2", weight="bold"),
                        _footer_link("Dashboard", "/dashboard"),
                        _footer_link("Billing", "/billing"),
                        _footer_link("Reset password", "/forgot-password"),
                        spacing="2",
                    ),
                    spacing="9",
                ),
                justify="between",
                direction=rx.breakpoints(initial="column", sm="row"),
                spacing="6",
                width="100%",
            ),
            rx.separator(size="4"),
            rx.text(f"© {year} {BRAND}. All rights reserved.", size="1", color_scheme="gray"),
            direction="column",
            spacing="5",
            max_width="72rem",
            margin_x="auto",
            padding_x=["var(--space-4)", "var(--space-5)", "var(--space-6)"],
            padding_y="var(--space-8)",
            width="100%",
        ),
        style={"border_top": f"1px solid {rx.color('gray', 4)}", "background_color": rx.color("gray", 2)},
    )


def _optional_text(value: Any, **props: Any) -> rx.Component:
    """Text that disappears when empty (works for plain strings and Vars)."""
    if isinstance(value, rx.Var):
        return rx.cond(value, rx.text(value, **props), rx.fragment())
    return rx.text(value, **props) if value else rx.fragment()


def auth_card(title: Any, *children: rx.Component, subtitle: Any = "", footer: rx.Component | None = None) -> rx.Component:
    """Sign-in, registration and password pages: a centred card under the logo."""
    return rx.flex(
        rx.flex(
            logo("/"),
            theme_toggle(),
            justify="between",
            align="center",
            width="100%",
            max_width="72rem",
            margin_x="auto",
            padding_x=["var(--space-4)", "var(--space-5)", "var(--space-6)"],
            height="4rem",
        ),
        rx.el.main(
            rx.flex(
                rx.card(
                    rx.vstack(
                        rx.vstack(
                            rx.heading(title, as_="h1", size="6", weight="bold"),
                            _optional_text(subtitle, size="2", color_scheme="gray"),
                            spacing="2",
                            width="100%",
                        ),
                        *children,
                        spacing="5",
                        width="100%",
                    ),
                    size=rx.breakpoints(initial="3", sm="4"),
                    width="100%",
                    max_width="26rem",
                ),
                footer if footer is not None else rx.fragment(),
                direction="column",
                align="center",
                spacing="5",
                width="100%",
                padding_x="var(--space-4)",
                padding_y=["var(--space-4)", "var(--space-8)"],
            ),
            style={"flex": "1", "width": "100%"},
        ),
        rx.text(f"© {datetime.date.today().year} {BRAND}", size="1", color_scheme="gray", text_align="center", padding_y="var(--space-5)"),
        direction="column",
        min_height="100vh",
        width="100%",
        background=f"radial-gradient(ellipse 80% 50% at 50% -10%, {rx.color('accent', 4)}, transparent), {rx.color('gray', 1)}",
    )


# ---------------------------------------------------------------- signed-in shells


def portal_layout(title: Any, *children: rx.Component, breadcrumbs: list[tuple[str, str]] | None = None) -> rx.Component:
    """Customer pages. Pair with on_load=[SessionState.require_login, YourState.load]."""
    crumbs = breadcrumbs if breadcrumbs is not None else ([] if isinstance(title, str) and title == "Dashboard" else [("Dashboard", "/dashboard")])
    return _shell(title, children, crumbs=crumbs, nav_items=PORTAL_NAV, admin=False)


def admin_layout(title: Any, *children: rx.Component, breadcrumbs: list[tuple[str, str]] | None = None) -> rx.Component:
    """Platform admin pages. Pair with on_load=[SessionState.require_admin, ...] (checked on the server)."""
    crumbs = breadcrumbs if breadcrumbs is not None else ([] if isinstance(title, str) and title == "Overview" else [("Admin", "/admin")])
    return _shell(title, children, crumbs=crumbs, nav_items=ADMIN_NAV, admin=True)
