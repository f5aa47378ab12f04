"""/vps/[server_id]: one server — live status and power in the header, then tabs for overview, console,
usage graphs, backups, networking, rebuild, resize, root password, notes, activity and deletion.

Buttons and tabs a member may not use are not rendered (`can_manage`, `can_delete`, capabilities
from the service); the services refuse them anyway.
"""

from __future__ import annotations

import reflex as rx

from skypanel.components.console import console_tab
from skypanel.components.layout import portal_layout
from skypanel.components.servers import simulated_badge, status_badge
from skypanel.components.tables import pager, table_and_list
from skypanel.components.widgets import (
    CARD_SIZE,
    NOWRAP,
    TABULAR,
    confirm_dialog,
    dialog_actions,
    empty_state,
    field,
    form_error,
    page_header,
    section_title,
    skeleton_line,
)
from skypanel.state.server_detail import PASSWORD_INPUTS, ServerDetailState, js_copy_input
from skypanel.state.session import SessionState

S = ServerDetailState
ACTION_RUNNING = S.action_busy != ""
MONO = {"font_family": "var(--code-font-family)"}


# ---------------------------------------------------------------- small pieces


def detail_status_badge() -> rx.Component:
    return status_badge(S.status_label, S.status_color, S.busy, data_testid="server-status")


def detail_simulated_badge() -> rx.Component:
    return rx.cond(S.simulated, simulated_badge("2"), rx.fragment())


def copy_button(value, what: str) -> rx.Component:
    return rx.tooltip(
        rx.icon_button(
            rx.icon("copy", size=14),
            variant="ghost",
            color_scheme="gray",
            size="1",
            aria_label="Copy " + what,
            on_click=[rx.set_clipboard(value), rx.toast.success("Copied " + value.to(str) + ".")],
        ),
        content="Copy",
    )


def _meta(icon: str, *content) -> rx.Component:
    """One fact in the header's subtitle line (spans: the subtitle renders inside a <p>)."""
    return rx.el.span(
        rx.icon(icon, size=14, color=rx.color("gray", 9)),
        *content,
        style={"display": "inline-flex", "align_items": "center", "gap": "var(--space-1)"},
    )


def info_row(label: str, value, *extra) -> rx.Component:
    return rx.data_list.item(
        rx.data_list.label(label, min_width=rx.breakpoints(initial="5.5rem", sm="8rem")),
        rx.data_list.value(rx.flex(value, *extra, align="center", spacing="2", wrap="wrap", min_width="0")),
        align="center",
    )


def card(*children, **props) -> rx.Component:
    return rx.card(rx.vstack(*children, spacing="4", width="100%"), size=CARD_SIZE, width="100%", **props)


def card_heading(icon: str, title: str, *actions) -> rx.Component:
    return rx.flex(
        rx.flex(
            rx.icon(icon, size=18, color=rx.color("accent", 11)),
            rx.heading(title, as_="h2", size="3", weight="medium"),
            align="center",
            spacing="2",
        ),
        rx.flex(*actions, spacing="2", align="center") if actions else rx.fragment(),
        justify="between",
        align="center",
        width="100%",
    )


def hint(text, color: str = "gray", icon: str = "info") -> rx.Component:
    return rx.callout(text, icon=icon, color_scheme=color, size="1", width="100%")


# ---------------------------------------------------------------- header


def _power_button(action: str, label: str, icon: str, title, description, confirm: str,
                  color: str = "gray") -> rx.Component:
    return confirm_dialog(
        rx.button(
            rx.icon(icon, size=16),
            label,
            variant="soft",
            color_scheme=color,
            loading=S.action_busy == action,
            disabled=S.busy | ACTION_RUNNING,
        ),
        title,
        description,
        S.power(action),
        confirm_label=confirm,
        color_scheme="red" if color == "red" else "indigo",
    )


def power_buttons() -> rx.Component:
    return rx.flex(
        rx.cond(
            S.can_boot,
            _power_button("boot", "Power on", "power", "Power on " + S.label + "?",
                          "The server starts and is billed as usual while it runs.", "Power on", "green"),
            rx.fragment(),
        ),
        rx.cond(
            S.can_stop,
            rx.fragment(
                _power_button("reboot", "Reboot", "rotate-ccw", "Reboot " + S.label + "?",
                              "The server restarts. Connections drop for a minute while it boots again.", "Reboot"),
                _power_button("shutdown", "Shut down", "power-off", "Shut down " + S.label + "?",
                              "The server stops. It is still billed while off, as the provider keeps its resources.",
                              "Shut down", "red"),
            ),
            rx.fragment(),
        ),
        spacing="2",
        wrap="wrap",
    )


def _header() -> rx.Component:
    ready = S.status == "ready"
    return page_header(
        rx.cond(
            ready,
            rx.flex(
                rx.text(S.label, style={"overflow_wrap": "anywhere"}),
                detail_status_badge(),
                detail_simulated_badge(),
                align="center",
                spacing="3",
                wrap="wrap",
            ),
            "Server",
        ),
        rx.cond(
            ready,
            rx.el.span(
                rx.cond(
                    S.primary_ip,
                    _meta("globe", rx.code(S.primary_ip, variant="ghost", size="2", data_testid="server-ip"),
                          copy_button(S.primary_ip, "IP address")),
                    _meta("globe", "No IP address yet"),
                ),
                _meta("map-pin", S.region_label),
                rx.cond(S.plan_name, _meta("cpu", S.plan_name), rx.fragment()),
                rx.cond(S.simulated, rx.fragment(), _meta("cloud", S.provider_label)),
                style={"display": "inline-flex", "flex_wrap": "wrap", "align_items": "center",
                       "gap": "var(--space-2) var(--space-4)"},
            ),
            rx.fragment(),
        ),
        rx.cond(ready, power_buttons(), rx.fragment()),
    )


def _notices() -> rx.Component:
    return rx.vstack(
        rx.cond(
            S.pending_text,
            rx.callout.root(
                rx.callout.icon(rx.spinner(size="2")),
                rx.callout.text(rx.text.strong(S.pending_text), " ",
                                "This page updates by itself when the server is done."),
                color_scheme="amber",
                size="1",
                width="100%",
                data_testid="server-pending",
            ),
            rx.fragment(),
        ),
        rx.cond(
            S.suspended_message,
            rx.callout(rx.fragment(S.suspended_message, " ", rx.link("Go to billing", href="/billing")),
                       icon="octagon-alert", color_scheme="red", size="1", width="100%", role="alert",
                       data_testid="server-suspended"),
            rx.fragment(),
        ),
        rx.cond(
            S.last_error,
            rx.callout(rx.fragment(rx.text.strong("The last change failed. "), S.last_error), icon="circle-alert",
                       color_scheme="red", size="1", width="100%", role="alert"),
            rx.fragment(),
        ),
        rx.cond(
            S.other_org,
            hint(rx.fragment("This server belongs to ", rx.text.strong(S.org_name),
                             ", not to your active organization.")),
            rx.fragment(),
        ),
        spacing="2",
        width="100%",
        margin_bottom=rx.cond(S.pending_text | S.last_error | S.other_org | S.suspended_message, "var(--space-4)", "0"),
    )


# ---------------------------------------------------------------- overview


def _resource(icon: str, label: str, value) -> rx.Component:
    return rx.flex(
        rx.flex(rx.icon(icon, size=18), align="center", justify="center", width="36px", height="36px",
                border_radius="var(--radius-3)", background_color=rx.color("accent", 3),
                color=rx.color("accent", 11), flex_shrink="0"),
        rx.vstack(
            rx.text(label, size="1", color_scheme="gray"),
            rx.text(value, size="4", weight="bold", style=TABULAR),
            spacing="0",
        ),
        align="center",
        spacing="3",
    )


def _overview_tab() -> rx.Component:
    resources = card(
        card_heading("gauge", "Resources"),
        rx.grid(
            _resource("cpu", "vCPUs", S.vcpus),
            _resource("memory-stick", "Memory", S.memory_text),
            _resource("hard-drive", "Disk", S.disk_text),
            _resource("arrow-left-right", "Transfer", S.transfer_text),
            columns=rx.breakpoints(initial="2", sm="4", md="2", xl="4"),
            spacing="4",
            width="100%",
        ),
    )
    cost = card(
        card_heading("receipt", "Cost"),
        rx.flex(
            rx.vstack(
                rx.text("Monthly price", size="1", color_scheme="gray"),
                rx.text(S.monthly, size="6", weight="bold", trim="both", style=TABULAR, data_testid="server-monthly"),
                rx.text(S.hourly, " per hour", size="1", color_scheme="gray", style=TABULAR),
                spacing="2",
            ),
            rx.vstack(
                rx.text("So far this month", size="1", color_scheme="gray"),
                rx.text(S.cost_this_month, size="6", weight="bold", trim="both", style=TABULAR,
                        data_testid="server-cost-month"),
                rx.text("Charged hourly from the wallet", size="1", color_scheme="gray"),
                spacing="2",
            ),
            spacing="6",
            wrap="wrap",
        ),
        rx.separator(size="4"),
        rx.flex(
            rx.text("Backups", size="2", color_scheme="gray"),
            rx.cond(
                S.backups_enabled,
                rx.badge("On", " · ", S.backup_monthly, "/month", color_scheme="green", variant="soft"),
                rx.badge("Off", color_scheme="gray", variant="soft"),
            ),
            justify="between",
            align="center",
            width="100%",
        ),
    )
    details = card(
        card_heading("server", "Details"),
        rx.data_list.root(
            info_row("Plan", S.plan_name),
            info_row("Region", S.region_label, rx.code(S.region, variant="ghost", size="1", color_scheme="gray")),
            info_row("Image", S.image_label),
            info_row("Provider", S.provider_label),
            info_row("Created", rx.text(S.created, style=TABULAR),
                     rx.text(S.created_ago, size="1", color_scheme="gray")),
            rx.cond(S.synced_ago, info_row("Status checked", S.synced_ago), rx.fragment()),
            size="2",
        ),
    )
    addresses = card(
        card_heading("network", "Addresses"),
        rx.data_list.root(
            info_row(
                "IPv4",
                rx.cond(
                    S.ipv4.length() > 0,  # type: ignore[attr-defined]
                    rx.vstack(
                        rx.foreach(S.ipv4, lambda ip: rx.flex(rx.code(ip, variant="ghost", size="2"),
                                                            copy_button(ip, "IPv4 address"), align="center",
                                                            spacing="2")),
                        spacing="1",
                    ),
                    rx.text("Assigned when the server is created", color_scheme="gray", size="2"),
                ),
            ),
            info_row("IPv6", rx.cond(S.ipv6, rx.flex(rx.code(S.ipv6, variant="ghost", size="2",
                                                              style={"overflow_wrap": "anywhere"}),
                                                      copy_button(S.ipv6, "IPv6 address"), align="center",
                                                      spacing="2"),
                                     rx.text("None", color_scheme="gray", size="2"))),
            info_row("SSH", rx.code(rx.cond(S.primary_ip, "ssh root@" + S.primary_ip, "—"),
                                    rx.cond(S.ssh_port != 22, " -p " + S.ssh_port.to(str), ""),
                                    variant="ghost", size="2")),
            size="2",
        ),
    )
    return rx.grid(
        resources, cost, details, addresses,
        columns=rx.breakpoints(initial="1", md="2"),
        spacing="4",
        width="100%",
    )


# ---------------------------------------------------------------- usage


def _chart_card(title: str, subtitle, chart: rx.Component) -> rx.Component:
    return card(
        rx.vstack(
            rx.heading(title, as_="h3", size="3", weight="medium"),
            rx.text(subtitle, size="1", color_scheme="gray"),
            spacing="1",
        ),
        rx.box(chart, width="100%", height="220px"),
    )


def _axes(unit=None) -> list[rx.Component]:
    tick = {"fontSize": 11, "fill": "var(--gray-10)"}
    return [
        rx.recharts.cartesian_grid(stroke_dasharray="3 3", vertical=False, stroke="var(--gray-5)"),
        rx.recharts.x_axis(data_key="t", tick=tick, tick_line=False, axis_line=False, min_tick_gap=40),
        rx.recharts.y_axis(tick=tick, tick_line=False, axis_line=False, width=56, unit=unit) if unit is not None
        else rx.recharts.y_axis(tick=tick, tick_line=False, axis_line=False, width=56),
        rx.recharts.graphing_tooltip(
            content_style={"background": "var(--color-panel-solid)", "border": "1px solid var(--gray-6)",
                           "borderRadius": "var(--radius-3)", "fontSize": "12px"},
            label_style={"color": "var(--gray-11)"},
        ),
    ]


def _area(key: str, name: str, color: str, opacity: float = 0.5) -> rx.Component:
    return rx.recharts.area(data_key=key, name=name, type_="monotone", stroke=f"var(--{color}-9)",
                            fill=f"var(--{color}-5)", fill_opacity=opacity, stroke_width=2, dot=False,
                            is_animation_active=False, connect_nulls=True)


def _charts(transfer: rx.Component) -> rx.Component:
    cpu = _chart_card("CPU", "Average use across all vCPUs, in percent",
                      rx.recharts.area_chart(*_axes("%"), _area("cpu", "CPU", "indigo"),
                                             data=S.usage_rows, width="100%", height=220))
    net = _chart_card("Network", rx.fragment("Public traffic in and out, in ", S.usage_net_unit),
                      rx.recharts.area_chart(*_axes(), _area("net_in", "In", "teal", 0.25),
                                             _area("net_out", "Out", "orange", 0.25),
                                             rx.recharts.legend(icon_type="circle", icon_size=8,
                                                                wrapper_style={"fontSize": "12px"}),
                                             data=S.usage_rows, width="100%", height=220))
    disk = _chart_card("Disk I/O", "Operations per second as the provider reports them",
                       rx.recharts.area_chart(*_axes(), _area("disk", "Disk I/O", "plum"),
                                              data=S.usage_rows, width="100%", height=220))
    return rx.grid(
        rx.cond(S.usage_has_cpu, cpu, rx.fragment()),
        rx.cond(S.usage_has_net, net, rx.fragment()),
        rx.cond(S.usage_has_disk, disk, rx.fragment()),
        rx.cond(S.usage_has_transfer, transfer, rx.fragment()),
        columns=rx.breakpoints(initial="1", lg="2"),
        spacing="4",
        width="100%",
    )


def _transfer_card() -> rx.Component:
    return card(
        rx.vstack(
            rx.heading("Transfer this month", as_="h3", size="3", weight="medium"),
            rx.text("Public outbound traffic counted against the plan's monthly allowance", size="1",
                    color_scheme="gray"),
            spacing="1",
        ),
        rx.flex(
            rx.text(S.usage_transfer_used, size="7", weight="bold", style=TABULAR,
                    data_testid="transfer-used"),
            rx.text("of ", S.usage_transfer_quota, size="3", color_scheme="gray", style=TABULAR),
            align="baseline",
            spacing="2",
            wrap="wrap",
        ),
        rx.progress(value=S.usage_transfer_pct, max=100, size="3", aria_label="Monthly transfer used",
                    color_scheme=rx.cond(S.usage_transfer_pct >= 90, "red",
                                         rx.cond(S.usage_transfer_pct >= 75, "amber", "indigo"))),
        rx.flex(
            rx.text(S.usage_transfer_pct, "% used · ", S.usage_transfer_left, size="2", style=TABULAR),
            rx.text("Resets ", S.usage_transfer_resets, size="2", color_scheme="gray", style=TABULAR),
            justify="between",
            wrap="wrap",
            spacing="2",
            width="100%",
        ),
    )


def _usage_skeleton() -> rx.Component:
    block = card(skeleton_line("30%", "1.1rem"), skeleton_line("55%", "0.8rem"), skeleton_line("100%", "200px"))
    return rx.grid(block, block, columns=rx.breakpoints(initial="1", lg="2"), spacing="4", width="100%",
                   data_testid="usage-loading")


def _usage_tab() -> rx.Component:
    toolbar = rx.flex(
        rx.segmented_control.root(
            rx.segmented_control.item("24 hours", value="24h"),
            rx.segmented_control.item("7 days", value="7d"),
            value=S.usage_period,
            on_change=S.set_usage_period,
            aria_label="Period",
        ),
        rx.button(rx.icon("refresh-cw", size=16), "Refresh", variant="surface", color_scheme="gray",
                  loading=S.usage_loading, on_click=S.load_usage),
        justify="between",
        align="center",
        wrap="wrap",
        spacing="3",
        width="100%",
    )
    body = rx.cond(
        S.usage_loading & ~S.usage_loaded,
        _usage_skeleton(),
        rx.cond(
            S.usage_error,
            rx.callout(S.usage_error, icon="circle-alert", color_scheme="red", size="2", width="100%"),
            rx.cond(
                S.usage_rows.length() > 0,  # type: ignore[attr-defined]
                rx.box(_charts(_transfer_card()), width="100%", opacity=rx.cond(S.usage_loading, "0.6", "1")),
                empty_state("chart-no-axes-combined", "No usage data for this period",
                            S.provider_label + " has not reported any figures yet. A new server shows "
                            "graphs after its first few minutes of running."),
            ),
        ),
    )
    return rx.cond(
        S.cap_usage,
        rx.vstack(
            toolbar,
            body,
            spacing="4",
            width="100%",
        ),
        empty_state("chart-no-axes-combined", "Usage graphs are not available",
                    S.provider_label + " does not report usage figures for its servers."),
    )


# ---------------------------------------------------------------- backups


def _backup_toggle() -> rx.Component:
    enable = confirm_dialog(
        rx.button(rx.icon("archive", size=16), "Enable backups", loading=S.action_busy == "backups",
                  disabled=ACTION_RUNNING),
        "Enable backups for " + S.label + "?",
        rx.fragment("The provider takes automatic backups of the whole disk. This adds ",
                    rx.text.strong(S.backup_monthly, " per month"),
                    " to the server's price, billed hourly from the next hour."),
        S.set_backups(True),
        confirm_label="Enable backups",
        color_scheme="indigo",
    )
    disable = confirm_dialog(
        rx.button(rx.icon("archive-x", size=16), "Disable backups", variant="soft", color_scheme="red",
                  loading=S.action_busy == "backups", disabled=ACTION_RUNNING),
        "Disable backups for " + S.label + "?",
        "The provider deletes this server's existing backups, and they cannot be restored any more. "
        "The backup charge stops from the next hour.",
        S.set_backups(False),
        confirm_label="Disable backups",
    )
    return card(
        rx.flex(
            rx.vstack(
                rx.flex(
                    rx.heading("Automatic backups", as_="h2", size="4", weight="medium"),
                    rx.cond(S.backups_enabled, rx.badge("On", color_scheme="green", variant="soft"),
                            rx.badge("Off", color_scheme="gray", variant="soft")),
                    align="center",
                    spacing="2",
                ),
                rx.text(
                    "Daily and weekly copies of the whole disk, kept by ", S.provider_label, ". ",
                    rx.cond(S.has_backup_price, rx.fragment("Adds ", rx.text.strong(S.backup_monthly), " per month."),
                            "Included in the plan's price."),
                    size="2",
                    color_scheme="gray",
                ),
                spacing="2",
                max_width="36rem",
            ),
            rx.cond(S.can_manage, rx.cond(S.backups_enabled, disable, enable), rx.fragment()),
            justify="between",
            align=rx.breakpoints(initial="start", sm="center"),
            direction=rx.breakpoints(initial="column", sm="row"),
            spacing="4",
            width="100%",
        ),
    )


def _restore_button(b: rx.Var) -> rx.Component:
    return rx.cond(
        S.can_manage & S.cap_restore,
        confirm_dialog(
            rx.button(rx.icon("history", size=14), "Restore", size="1", variant="soft",
                      loading=S.action_busy == "restore:" + b["id"].to(str), disabled=ACTION_RUNNING,
                      aria_label="Restore " + b["label"].to(str) + " from " + b["created"].to(str)),
            "Restore this backup onto " + S.label + "?",
            rx.fragment("Everything on the server's disk is replaced with the backup from ",
                        rx.text.strong(b["created"]), ". Changes made since then are lost."),
            S.restore_backup(b["id"]),
            confirm_label="Restore backup",
        ),
        rx.fragment(),
    )


def _backups_list() -> rx.Component:
    rows = table_and_list(
        ["Backup", "Taken", "Status", ""],
        S.backups,
        lambda b: rx.table.row(
            rx.table.cell(rx.text(b["label"], size="2", weight="medium")),
            rx.table.cell(rx.text(b["created"], size="2", style=TABULAR), rx.text(b["created_ago"], size="1",
                                                                                   color_scheme="gray")),
            rx.table.cell(rx.badge(b["status"], variant="soft", color_scheme="gray")),
            rx.table.cell(rx.flex(_restore_button(b), justify="end")),
            align="center",
        ),
        lambda b: rx.flex(
            rx.vstack(rx.text(b["label"], size="2", weight="medium"),
                      rx.text(b["created"], " · ", b["status"], size="1", color_scheme="gray"), spacing="1"),
            _restore_button(b),
            justify="between",
            align="center",
            padding_y="var(--space-3)",
            border_bottom=f"1px solid {rx.color('gray', 4)}",
        ),
        min_width="32rem",
    )
    return card(
        card_heading("history", "Backups", rx.button(rx.icon("refresh-cw", size=14), "Refresh", size="1",
                                                      variant="surface", color_scheme="gray",
                                                      loading=S.backups_loading, on_click=S.load_backups)),
        rx.cond(
            S.backups_loading & ~S.backups_loaded,
            rx.vstack(skeleton_line(), skeleton_line(), skeleton_line("70%"), spacing="3", width="100%"),
            rx.cond(
                S.backups_error,
                rx.callout(S.backups_error, icon="circle-alert", color_scheme="red", size="1", width="100%"),
                rx.cond(
                    S.backups.length() > 0,  # type: ignore[attr-defined]
                    rows,
                    rx.text("No backups yet. The provider takes the first one within a day of enabling backups.",
                            size="2", color_scheme="gray"),
                ),
            ),
        ),
    )


def _backups_tab() -> rx.Component:
    return rx.cond(
        S.cap_backups,
        rx.vstack(_backup_toggle(), rx.cond(S.backups_enabled, _backups_list(), rx.fragment()),
                  spacing="4", width="100%"),
        empty_state("archive-x", "Backups are not available",
                    S.provider_label + " does not offer backups for this server."),
    )


# ---------------------------------------------------------------- networking


def _rdns_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Reverse DNS"),
            rx.dialog.description(
                rx.text("The host name ", rx.code(S.rdns_ip, variant="ghost"),
                        " resolves back to. Create the forward record (A or AAAA) first: the provider checks it.",
                        size="2", color_scheme="gray"),
                margin_bottom="var(--space-4)",
            ),
            rx.form(
                rx.flex(
                    field("Host name", rx.input(id="rdns-hostname", name="hostname", placeholder="mail.example.com",
                                                max_length=253, required=True, size="3", width="100%",
                                                auto_complete="off", style=MONO)),
                    form_error(S.rdns_error),
                    dialog_actions(rx.button("Save reverse DNS", type="submit", loading=S.action_busy == "rdns")),
                    direction="column",
                    spacing="4",
                ),
                on_submit=S.save_rdns,
                reset_on_submit=False,
            ),
            max_width="30rem",
        ),
        open=S.rdns_open,
        on_open_change=S.set_rdns_open,
    )


def _ip_actions(row: rx.Var) -> rx.Component:
    return rx.flex(
        copy_button(row["ip"], row["version"].to(str) + " address"),
        rx.cond(
            S.cap_reverse_dns & S.can_manage,
            rx.button(rx.icon("pencil", size=14), "Reverse DNS", size="1", variant="soft",
                      on_click=S.open_rdns(row["ip"]), aria_label="Edit reverse DNS of " + row["ip"].to(str)),
            rx.fragment(),
        ),
        spacing="3",
        align="center",
        justify="end",
    )


def _networking_tab() -> rx.Component:
    rows = table_and_list(
        ["Address", "Type", ""],
        S.ip_rows,
        lambda r: rx.table.row(
            rx.table.cell(rx.flex(rx.code(r["ip"], variant="ghost", size="2"),
                                  rx.cond(r["primary"], rx.badge("Primary", variant="soft", size="1"), rx.fragment()),
                                  align="center", spacing="2")),
            rx.table.cell(rx.badge(r["version"], variant="outline", color_scheme="gray")),
            rx.table.cell(_ip_actions(r)),
            align="center",
        ),
        lambda r: rx.flex(
            rx.vstack(rx.code(r["ip"], variant="ghost", size="2", style={"overflow_wrap": "anywhere"}),
                      rx.text(r["version"], rx.cond(r["primary"], " · primary", ""), size="1", color_scheme="gray"),
                      spacing="1", min_width="0"),
            _ip_actions(r),
            justify="between",
            align="center",
            spacing="3",
            padding_y="var(--space-3)",
            border_bottom=f"1px solid {rx.color('gray', 4)}",
        ),
        min_width="30rem",
    )
    return rx.vstack(
        card(
            card_heading("network", "IP addresses"),
            rx.cond(S.ip_rows.length() > 0, rows,  # type: ignore[attr-defined]
                    rx.text("The provider assigns addresses while the server is created.", size="2",
                            color_scheme="gray")),
            rx.cond(
                S.cap_reverse_dns,
                rx.fragment(),
                rx.text("Reverse DNS cannot be changed for servers at ", S.provider_label, ".", size="2",
                        color_scheme="gray"),
            ),
        ),
        _rdns_dialog(),
        spacing="4",
        width="100%",
    )


# ---------------------------------------------------------------- passwords, rebuild, reset


def password_field(target: str, label: str, show: rx.Var) -> rx.Component:
    """A new root password: typed, or generated on the server and written into the input once."""
    input_id = PASSWORD_INPUTS[target]
    buttons = rx.flex(
        rx.tooltip(
            rx.icon_button(rx.cond(show, rx.icon("eye-off", size=16), rx.icon("eye", size=16)), type="button",
                           variant="soft", color_scheme="gray", size="3",
                           aria_label=rx.cond(show, "Hide password", "Show password"),
                           on_click=S.toggle_show_password(target)),
            content=rx.cond(show, "Hide", "Show"),
        ),
        rx.tooltip(
            rx.icon_button(rx.fragment(rx.icon("copy", size=16)), type="button", variant="soft", color_scheme="gray",
                           size="3", aria_label="Copy password",
                           on_click=[rx.call_script(js_copy_input(input_id)), rx.toast.success("Password copied.")]),
            content="Copy",
        ),
        rx.button(rx.icon("wand-sparkles", size=16), "Generate", type="button", variant="soft", size="3",
                  on_click=S.generate_password(target)),
        spacing="2",
        align="center",
    )
    return field(
        label,
        rx.flex(
            rx.box(
                rx.input(id=input_id, name="root_password", type=rx.cond(show, "text", "password"), required=True,
                         auto_complete="new-password", max_length=128, size="3", width="100%",
                         spell_check=False, style=MONO),
                flex="1 1 15rem",
                min_width="0",
            ),
            buttons,
            spacing="2",
            align="center",
            wrap="wrap",
            width="100%",
        ),
        "12 to 128 characters from at least three of: lower case, upper case, digits, symbols. "
        "A generated one is shown here once: copy it before you continue.",
        html_for=input_id,
    )


def _rebuild_tab() -> rx.Component:
    image_select = rx.select.root(
        rx.select.trigger(id="rebuild-image", placeholder="Choose an image", width="100%"),
        rx.select.content(rx.foreach(S.images, lambda i: rx.select.item(i["label"], value=i["id"])),
                          position="popper"),
        value=S.rebuild_image,
        on_change=S.set_rebuild_image,
        size="3",
    )
    return card(
        card_heading("refresh-ccw-dot", "Rebuild from an image"),
        rx.callout(
            rx.fragment(rx.text.strong("Rebuilding erases the disk. "),
                        "Everything on ", S.label, " is deleted and a fresh system is installed from the image. "
                        "The IP addresses stay the same."),
            icon="triangle-alert", color_scheme="red", size="2", width="100%",
        ),
        rx.form(
            rx.vstack(
                field("Image", image_select, html_for="rebuild-image",
                      hint=rx.fragment(rx.cond(S.images.length() > 0,  # type: ignore[attr-defined]
                                               "Currently " + S.image_label + ".",
                                               "No images are available from the provider right now."))),
                rx.cond(
                    S.is_digitalocean,
                    hint("DigitalOcean cannot set a root password when rebuilding. Sign in with your SSH keys "
                         "afterwards; the console asks for a key.", "amber", "key-round"),
                    password_field("rebuild", "New root password", S.show_rebuild_pw),
                ),
                field(rx.fragment("Type ", rx.text.strong(S.label), " to confirm"),
                      rx.input(id="rebuild-confirm", name="confirm_label", value=S.rebuild_confirm,
                               on_change=S.set_rebuild_confirm,
                               auto_complete="off", size="3", width="100%", max_length=100)),
                rx.flex(
                    rx.button(rx.icon("refresh-ccw-dot", size=16), "Rebuild server", type="submit", color_scheme="red",
                              size="3", loading=S.action_busy == "rebuild",
                              disabled=~S.rebuild_ready | ACTION_RUNNING | S.busy),
                    justify="end",
                    width="100%",
                ),
                spacing="4",
                width="100%",
                max_width="40rem",
            ),
            on_submit=S.rebuild,
            reset_on_submit=False,
            width="100%",
        ),
    )


def _password_tab() -> rx.Component:
    return card(
        card_heading("key-round", "Reset the root password"),
        rx.text("Sets a new password for the root user at the provider. The web console signs in with it too.",
                size="2", color_scheme="gray"),
        rx.cond(
            (S.provider_kind == "linode") & (S.srv_status == "running"),
            hint("Linode changes the root password only while the server is shut down. Shut it down first, "
                 "then power it on again afterwards.", "amber", "power-off"),
            rx.fragment(),
        ),
        rx.form(
            rx.vstack(
                password_field("reset", "New root password", S.show_reset_pw),
                form_error(S.reset_error),
                rx.flex(
                    rx.button(rx.icon("key-round", size=16), "Reset root password", type="submit", size="3",
                              loading=S.action_busy == "password", disabled=ACTION_RUNNING),
                    justify="end",
                    width="100%",
                ),
                spacing="4",
                width="100%",
                max_width="40rem",
            ),
            on_submit=S.reset_password,
            reset_on_submit=False,
            width="100%",
        ),
    )


# ---------------------------------------------------------------- resize


def _spec_line(vcpus, memory, disk) -> rx.Component:
    return rx.text(vcpus, " vCPU · ", memory, " RAM · ", disk, " disk", size="2", color_scheme="gray")


def _plan_card(p: rx.Var) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.flex(
                rx.text(p["name"], size="3", weight="bold"),
                rx.cond(p["smaller_disk"],
                        rx.tooltip(rx.badge("Smaller disk", color_scheme="amber", variant="soft", size="1"),
                                   content="Only possible if the data fits; most providers refuse to shrink a disk."),
                        rx.fragment()),
                justify="between",
                align="center",
                width="100%",
                spacing="2",
            ),
            _spec_line(p["vcpus"], p["memory"], p["disk"]),
            rx.flex(
                rx.text(p["monthly"], size="5", weight="bold", style=TABULAR),
                rx.text("/month", size="2", color_scheme="gray"),
                align="baseline",
                spacing="1",
            ),
            rx.text(p["hourly"], " per hour", size="1", color_scheme="gray", style=TABULAR),
            rx.button("Choose", variant="soft", width="100%", on_click=S.choose_plan(p["id"]),
                      disabled=ACTION_RUNNING | S.busy, aria_label="Choose " + p["name"].to(str)),
            spacing="2",
            width="100%",
        ),
        size="2",
        width="100%",
    )


def _quote_row(label: str, old, new) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(label),
        rx.table.cell(rx.text(old, style=TABULAR)),
        rx.table.cell(rx.text(new, style=TABULAR, weight="bold")),
    )


def _resize_dialog() -> rx.Component:
    diff_color = rx.match(S.quote["direction"], ("up", "amber"), ("down", "green"), "gray")
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Resize to " + S.quote["plan_name"].to(str) + "?"),
            rx.dialog.description(
                rx.text("The server restarts on the new plan. The new price applies from the next billing hour.",
                        size="2", color_scheme="gray"),
                margin_bottom="var(--space-4)",
            ),
            rx.table.root(
                rx.table.header(rx.table.row(rx.table.column_header_cell(""),
                                             rx.table.column_header_cell("Now"),
                                             rx.table.column_header_cell("After"))),
                rx.table.body(
                    _quote_row("Monthly", S.quote["old_monthly"], S.quote["new_monthly"]),
                    _quote_row("Hourly", S.quote["old_hourly"], S.quote["new_hourly"]),
                ),
                variant="surface",
                size="1",
                width="100%",
            ),
            rx.callout(
                rx.fragment("Difference: ", rx.text.strong(S.quote["diff_monthly"], " per month"), " (",
                            S.quote["diff_hourly"], " per hour)"),
                icon=rx.match(S.quote["direction"], ("down", "trending-down"), "trending-up"),
                color_scheme=diff_color, size="1", width="100%", margin_top="var(--space-3)",
                data_testid="resize-difference",
            ),
            rx.cond(S.is_digitalocean,
                    rx.box(hint("DigitalOcean resizes a server only while it is shut down.", "amber", "power-off"),
                           margin_top="var(--space-3)"),
                    rx.fragment()),
            rx.flex(
                rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray")),
                rx.button("Resize server", loading=S.action_busy == "resize", on_click=S.confirm_resize),
                spacing="3",
                justify="end",
                margin_top="var(--space-4)",
            ),
            max_width="30rem",
        ),
        open=S.resize_open,
        on_open_change=S.set_resize_open,
    )


def _resize_tab() -> rx.Component:
    current = rx.card(
        rx.vstack(
            rx.flex(rx.text(S.plan_name, size="3", weight="bold"),
                    rx.badge("Current plan", variant="solid", size="1"), justify="between", align="center",
                    width="100%"),
            _spec_line(S.vcpus, S.memory_text, S.disk_text),
            rx.flex(rx.text(S.monthly, size="5", weight="bold", style=TABULAR),
                    rx.text("/month", size="2", color_scheme="gray"), align="baseline", spacing="1"),
            rx.text(S.hourly, " per hour", size="1", color_scheme="gray", style=TABULAR),
            spacing="2",
            width="100%",
        ),
        size="2",
        width="100%",
        style={"border": f"2px solid {rx.color('accent', 8)}", "box_shadow": "none"},
    )
    return rx.vstack(
        section_title("Change plan"),
        rx.text("Plans offered in ", S.region_label, ". Prices include backups when they are on.", size="2",
                color_scheme="gray", margin_top="calc(-1 * var(--space-2))"),
        rx.grid(
            current,
            rx.foreach(S.resize_plans, _plan_card),
            columns=rx.breakpoints(initial="1", sm="2", lg="3"),
            spacing="3",
            width="100%",
        ),
        rx.cond(
            S.resize_loaded & (S.resize_plans.length() == 0),  # type: ignore[attr-defined]
            rx.text("No other plans are offered in this region right now.", size="2", color_scheme="gray"),
            rx.fragment(),
        ),
        _resize_dialog(),
        spacing="3",
        width="100%",
    )


# ---------------------------------------------------------------- notes, activity


def _notes_tab() -> rx.Component:
    return card(
        card_heading("notebook-pen", "Notes"),
        rx.text("For your team: what runs here, who to call. Visible to members who can view notes.", size="2",
                color_scheme="gray"),
        rx.form(
            rx.vstack(
                rx.el.label("Notes", html_for="server-notes", class_name="rt-Text rt-r-size-2",
                            style={"position": "absolute", "width": "1px", "height": "1px", "overflow": "hidden",
                                   "clip": "rect(0 0 0 0)"}),
                rx.text_area(id="server-notes", name="notes", default_value=S.notes, key=S.notes_version,
                             read_only=~S.can_notes, rows="10", max_length=10000, size="3", width="100%",
                             placeholder=rx.cond(S.can_notes, "e.g. Runs the billing API. Deploys from CI on main.",
                                                 "No notes yet.")),
                rx.cond(
                    S.can_notes,
                    rx.flex(rx.button(rx.icon("save", size=16), "Save notes", type="submit"), justify="end",
                            width="100%"),
                    rx.text("You can read these notes; your role cannot change them.", size="1", color_scheme="gray"),
                ),
                spacing="3",
                width="100%",
            ),
            on_submit=S.save_notes,
            reset_on_submit=False,
            width="100%",
        ),
    )


def _activity_tab() -> rx.Component:
    rows = table_and_list(
        [rx.table.column_header_cell("When", width="10rem"), "Who", "What"],
        S.activity_rows,
        lambda r: rx.table.row(
            rx.table.cell(rx.text(r["when"], size="2", style=NOWRAP, title=r["when_exact"])),
            rx.table.cell(rx.flex(rx.avatar(fallback=r["initial"], size="1", radius="full", variant="soft"),
                                  rx.text(r["who"], size="2", weight="medium", style=NOWRAP), spacing="2",
                                  align="center")),
            rx.table.cell(rx.vstack(rx.text(r["summary"], size="2", style={"overflow_wrap": "anywhere"}),
                                    rx.code(r["action"], size="1", variant="ghost", color_scheme="gray"),
                                    spacing="1")),
            align="center",
        ),
        lambda r: rx.flex(
            rx.avatar(fallback=r["initial"], size="2", radius="full", variant="soft"),
            rx.vstack(
                rx.flex(rx.text(r["who"], size="2", weight="medium"),
                        rx.text(r["when"], size="1", color_scheme="gray", style=NOWRAP), justify="between",
                        spacing="2", width="100%"),
                rx.text(r["summary"], size="2", style={"overflow_wrap": "anywhere"}),
                spacing="1", width="100%", min_width="0",
            ),
            spacing="3",
            padding_y="var(--space-3)",
            border_bottom=f"1px solid {rx.color('gray', 4)}",
        ),
        min_width="36rem",
    )
    return card(
        card_heading("activity", "Activity", rx.text(S.activity_total, " events", size="2", color_scheme="gray")),
        rx.cond(
            S.activity_rows.length() > 0,  # type: ignore[attr-defined]
            rx.vstack(
                rows,
                rx.cond(S.activity_pages > 1,
                        pager(S.activity_page, S.activity_pages, S.activity_prev, S.activity_next),
                        rx.fragment()),
                spacing="2",
                width="100%",
            ),
            rx.text("Nothing recorded for this server yet.", size="2", color_scheme="gray"),
        ),
    )


# ---------------------------------------------------------------- delete


def _delete_tab() -> rx.Component:
    dialog = rx.dialog.root(
        rx.dialog.trigger(rx.button(rx.icon("trash-2", size=16), "Delete server", color_scheme="red",
                                    disabled=ACTION_RUNNING)),
        rx.dialog.content(
            rx.dialog.title("Delete " + S.label + "?"),
            rx.dialog.description(
                rx.text("The server and its disk are destroyed at the provider and cannot be recovered. Billing "
                        "stops; the hour already started stays charged.", size="2", color_scheme="gray"),
                margin_bottom="var(--space-4)",
            ),
            rx.form(
                rx.flex(
                    field(rx.fragment("Type ", rx.text.strong(S.label), " to confirm"),
                          rx.input(id="delete-confirm", name="confirm_label", value=S.delete_confirm,
                                   on_change=S.set_delete_confirm,
                                   auto_complete="off", size="3", width="100%", max_length=100)),
                    field("Your password", rx.input(id="delete-password", name="password", type="password",
                                                    auto_complete="current-password", required=True, size="3",
                                                    width="100%", max_length=1024)),
                    rx.cond(
                        S.totp_enabled,
                        field("Two-factor code", rx.input(id="delete-code", name="code", auto_complete="one-time-code",
                                                          required=True, max_length=32, placeholder="123456",
                                                          size="3", width="100%",
                                                          style={**MONO, "letter_spacing": "0.12em"}),
                              "From your authenticator app, or a recovery code."),
                        rx.fragment(),
                    ),
                    form_error(S.delete_error),
                    dialog_actions(rx.button("Delete server permanently", type="submit", color_scheme="red",
                                             loading=S.action_busy == "delete", disabled=~S.delete_ready)),
                    direction="column",
                    spacing="4",
                ),
                on_submit=S.delete_server,
                reset_on_submit=False,
            ),
            max_width="30rem",
        ),
        open=S.delete_open,
        on_open_change=S.set_delete_open,
    )
    return rx.vstack(
        rx.text("Danger zone", size="2", weight="bold", color_scheme="red"),
        rx.card(
            rx.flex(
                rx.vstack(
                    rx.heading("Delete this server", as_="h2", size="4", weight="medium"),
                    rx.text("Destroys ", S.label, " and its disk at ", S.provider_label,
                            ". Its backups go with it. You need your password",
                            rx.cond(S.totp_enabled, " and a two-factor code", ""), ".",
                            size="2", color_scheme="gray"),
                    spacing="2",
                    max_width="36rem",
                ),
                dialog,
                justify="between",
                align=rx.breakpoints(initial="start", sm="center"),
                direction=rx.breakpoints(initial="column", sm="row"),
                spacing="4",
                width="100%",
            ),
            size=CARD_SIZE,
            width="100%",
            style={"border": f"1px solid {rx.color('red', 6)}", "box_shadow": "none"},
        ),
        spacing="2",
        width="100%",
    )


# ---------------------------------------------------------------- page


def _tab(value: str, icon: str, label: str) -> rx.Component:
    return rx.tabs.trigger(
        rx.flex(rx.box(rx.icon(icon, size=15), display=rx.breakpoints(initial="none", xl="flex")), label,
                align="center", spacing="2", style=NOWRAP),
        value=value,
    )


def _content(value: str, body: rx.Component) -> rx.Component:
    return rx.tabs.content(rx.box(body, padding_top="var(--space-5)"), value=value)


def _ready() -> rx.Component:
    return rx.tabs.root(
        rx.box(
            rx.tabs.list(
                _tab("overview", "layout-grid", "Overview"),
                rx.cond(S.can_manage, _tab("console", "terminal", "Console"), rx.fragment()),
                _tab("usage", "chart-area", "Usage"),
                _tab("backups", "archive", "Backups"),
                _tab("networking", "network", "Networking"),
                rx.cond(S.show_rebuild, _tab("rebuild", "refresh-ccw-dot", "Rebuild"), rx.fragment()),
                rx.cond(S.show_resize, _tab("resize", "scaling", "Resize"), rx.fragment()),
                rx.cond(S.show_password_tab, _tab("password", "key-round", "Root password"), rx.fragment()),
                rx.cond(S.can_view_notes, _tab("notes", "notebook-pen", "Notes"), rx.fragment()),
                _tab("activity", "activity", "Activity"),
                rx.cond(S.can_delete, _tab("delete", "trash-2", "Delete"), rx.fragment()),
                size="2",
            ),
            overflow_x="auto",
            width="100%",
            style={"scrollbar_width": "thin"},
        ),
        _content("overview", _overview_tab()),
        _content("console", rx.cond(S.can_manage, console_tab(S.set_tab("password")), rx.fragment())),
        _content("usage", _usage_tab()),
        _content("backups", _backups_tab()),
        _content("networking", _networking_tab()),
        _content("rebuild", rx.cond(S.show_rebuild, _rebuild_tab(), rx.fragment())),
        _content("resize", rx.cond(S.show_resize, _resize_tab(), rx.fragment())),
        _content("password", rx.cond(S.show_password_tab, _password_tab(), rx.fragment())),
        _content("notes", rx.cond(S.can_view_notes, _notes_tab(), rx.fragment())),
        _content("activity", _activity_tab()),
        _content("delete", rx.cond(S.can_delete, _delete_tab(), rx.fragment())),
        value=S.tab,
        on_change=S.set_tab,
        width="100%",
    )


def _missing() -> rx.Component:
    return empty_state(
        "search-x",
        "Server not found",
        "It may have been deleted, or it belongs to an organization you are not a member of.",
        rx.button(
            rx.link(rx.icon("arrow-left", size=16), "Back to servers", href="/vps", underline="none"),
            as_child=True,
            variant="soft",
        ),
    )


def _loading() -> rx.Component:
    return rx.vstack(
        skeleton_line("40%", "2.25rem"),
        skeleton_line("60%", "1.25rem"),
        skeleton_line("100%", "2.5rem"),
        rx.grid(*[skeleton_line("100%", "10rem") for _ in range(4)], columns=rx.breakpoints(initial="1", md="2"),
                spacing="4", width="100%"),
        spacing="4",
        width="100%",
    )


@rx.page(
    route="/vps/[server_id]",
    title="Server · SkyPanel",
    on_load=[SessionState.require_login, ServerDetailState.load],
)
def server_detail_page() -> rx.Component:
    return portal_layout(
        rx.cond(S.status == "ready", S.label, "Server"),
        _header(),
        rx.match(S.status, ("ready", rx.fragment(_notices(), _ready())), ("missing", _missing()), _loading()),
        breadcrumbs=[("Dashboard", "/dashboard"), ("Servers", "/vps")],
    )
