"""/ssh-keys: the organization's SSH public keys, offered when creating a server.

Add / rename / delete render only for members with ssh_keys_manage (decided on the server in
on_load); the service refuses them anyway.
"""

from __future__ import annotations

import reflex as rx

from skypanel.components.layout import portal_layout
from skypanel.components.tables import list_card, table_and_list
from skypanel.components.widgets import (
    CARD_SIZE,
    NOWRAP,
    confirm_dialog,
    empty_state,
    field,
    form_dialog,
    no_access,
    page_header,
    skeleton_rows,
)
from skypanel.state.session import SessionState
from skypanel.state.ssh_keys import SshKeysState

S = SshKeysState

MONO = {"font_family": "var(--code-font-family)", "overflow_wrap": "anywhere"}
KEYGEN = 'ssh-keygen -t ed25519 -C "you@example.com"'
SHOW_PUB = "cat ~/.ssh/id_ed25519.pub"


def add_button(**props) -> rx.Component:
    return rx.button(rx.icon("plus", size=16), "Add SSH key", on_click=S.set_add_open(True), **props)


def type_badge(row: rx.Var) -> rx.Component:
    return rx.badge(row["type_label"], color_scheme=row["type_color"], variant="soft", style=NOWRAP)


def fingerprint(row: rx.Var) -> rx.Component:
    return rx.text(row["fingerprint"], size="1", color=rx.color("gray", 11), style=MONO,
                   data_testid="ssh-key-fingerprint")


def _copy_events(row: rx.Var) -> list:
    return [rx.set_clipboard(row["public_key"]), rx.toast.success("Public key copied.")]


def _icon_action(icon: str, tip: str, label: rx.Var, **props) -> rx.Component:
    """A small icon button with a tooltip; its accessible name says what and which key."""
    return rx.tooltip(
        # (icon_button sizes its icon to the button: 24px at size 2; 16px reads better in a table row)
        rx.icon_button(rx.icon(icon), size="2", variant="ghost", aria_label=label,
                       style={"& svg": {"width": "16px", "height": "16px"}}, **props),
        content=tip,
    )


def _delete_dialog(row: rx.Var, trigger: rx.Component) -> rx.Component:
    return confirm_dialog(
        trigger,
        "Delete " + row["name"] + "?",
        "It is removed from this organization and no longer offered for new servers. Servers that "
        "already have it keep it: remove it from ~/.ssh/authorized_keys on them to revoke access.",
        S.delete(row["id"]),
        confirm_label="Delete key",
    )


def row_actions(row: rx.Var) -> rx.Component:
    """Desktop: icon buttons (copy, rename, delete), the last two for managers only."""
    manage = rx.fragment(
        _icon_action("pencil", "Rename", "Rename " + row["name"], color_scheme="gray",
                     on_click=S.open_rename(row["id"])),
        _delete_dialog(row, rx.box(_icon_action("trash-2", "Delete", "Delete " + row["name"], color_scheme="red",
                                                loading=S.busy_id == row["id"]))),
    )
    return rx.flex(
        _icon_action("copy", "Copy public key", "Copy public key " + row["name"], color_scheme="gray",
                     on_click=_copy_events(row)),
        rx.cond(S.can_manage, manage, rx.fragment()),
        spacing="3",
        align="center",
        justify="end",
    )


def item_actions(row: rx.Var) -> rx.Component:
    """Phones: labelled buttons, easier to hit."""
    manage = rx.fragment(
        rx.button(rx.icon("pencil", size=14), "Rename", size="1", variant="soft", color_scheme="gray",
                  on_click=S.open_rename(row["id"]), aria_label="Rename " + row["name"]),
        _delete_dialog(row, rx.button(rx.icon("trash-2", size=14), "Delete", size="1", variant="soft",
                                      color_scheme="red", loading=S.busy_id == row["id"],
                                      aria_label="Delete " + row["name"])),
    )
    return rx.flex(
        rx.button(rx.icon("copy", size=14), "Copy", size="1", variant="soft", color_scheme="gray",
                  on_click=_copy_events(row), aria_label="Copy public key " + row["name"]),
        rx.cond(S.can_manage, manage, rx.fragment()),
        spacing="2",
        align="center",
        wrap="wrap",
    )


def key_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(rx.text(row["name"], size="2", weight="medium", style={"overflow_wrap": "break-word"}),
                                 vertical_align="middle", min_width="9rem"),
        rx.table.cell(type_badge(row), vertical_align="middle"),
        rx.table.cell(fingerprint(row), vertical_align="middle"),
        rx.table.cell(
            rx.vstack(
                rx.text(row["added"], size="2", title=row["added_exact"], style=NOWRAP),
                rx.text("by ", row["added_by"], size="1", color_scheme="gray"),
                spacing="0",
            ),
            vertical_align="middle",
        ),
        rx.table.cell(row_actions(row), vertical_align="middle"),
        align="center",
    )


def key_item(row: rx.Var) -> rx.Component:
    """Phones: one key per block."""
    return rx.vstack(
        rx.flex(
            rx.text(row["name"], size="2", weight="medium", style={"overflow_wrap": "break-word"}),
            type_badge(row),
            spacing="2",
            align="center",
            wrap="wrap",
        ),
        fingerprint(row),
        rx.text("Added ", row["added"], " by ", row["added_by"], size="1", color_scheme="gray"),
        item_actions(row),
        spacing="2",
        padding_y="var(--space-3)",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
        width="100%",
    )


def command(text: str) -> rx.Component:
    return rx.flex(
        rx.code(text, variant="ghost", size="2", style={"overflow_wrap": "anywhere"}),
        rx.icon_button(rx.icon("copy", size=14), size="1", variant="ghost", color_scheme="gray",
                       aria_label="Copy command",
                       on_click=[rx.set_clipboard(text), rx.toast.success("Command copied.")]),
        justify="between",
        align="center",
        spacing="2",
        padding_x="var(--space-3)",
        padding_y="var(--space-2)",
        border_radius="var(--radius-2)",
        background_color=rx.color("gray", 3),
        width="100%",
    )


def how_to() -> rx.Component:
    step = {"size": "2", "color_scheme": "gray"}
    return rx.vstack(
        rx.text("1. Create a key pair on your computer (skip this if you already have one):", **step),
        command(KEYGEN),
        rx.text("2. Show the public key and copy the whole line:", **step),
        command(SHOW_PUB),
        rx.text("3. Add it here. Only the public key (.pub) — never the private key.", **step),
        spacing="2",
        width="100%",
        max_width="32rem",
        text_align="left",
    )


def empty() -> rx.Component:
    return empty_state(
        "key-round",
        "No SSH keys yet",
        "Add your public SSH keys here and choose them when you create a server: you sign in with your key "
        "instead of a password.",
        rx.vstack(
            how_to(),
            rx.cond(
                S.can_manage,
                add_button(margin_top="var(--space-2)"),
                rx.text("Ask an owner, admin or VPS manager of the organization to add keys.", size="2",
                        color_scheme="gray"),
            ),
            align="center",
            spacing="3",
            width="100%",
        ),
    )


def keys_card() -> rx.Component:
    count = S.rows.length()  # type: ignore[attr-defined]
    return list_card(
        rx.flex(
            rx.heading("Keys", as_="h2", size="4", weight="medium"),
            rx.cond(count > 0, rx.text(count, rx.cond(count == 1, " key", " keys"), size="2", color_scheme="gray"),
                    rx.fragment()),
            justify="between",
            align="center",
            width="100%",
        ),
        rx.cond(
            S.can_manage,
            rx.fragment(),
            rx.callout("You can see this organization's keys. Adding, renaming or deleting them needs the "
                       "Manage SSH keys permission.", icon="info", size="1", color_scheme="gray", width="100%"),
        ),
        rx.cond(
            count > 0,
            table_and_list(
                ["Name", "Type", "Fingerprint", "Added", ""],
                S.rows,
                key_row,
                key_item,
                min_width="46rem",
            ),
            empty(),
        ),
    )


def add_dialog() -> rx.Component:
    return form_dialog(
        "Add an SSH key",
        "Paste a public key (the contents of a .pub file). It can then be chosen when creating servers.",
        field(
            "Public key",
            rx.text_area(id="ssh-key-text", name="public_key", rows="5", required=True, spell_check=False,
                         placeholder="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA… you@laptop",
                         style={"font_family": "var(--code-font-family)", "font_size": "var(--font-size-1)"}),
            "Starts with ssh-ed25519, ssh-rsa or ecdsa-sha2-…; show it with " + SHOW_PUB + ".",
            S.add_text_error,
        ),
        field(
            "Name",
            rx.input(id="ssh-key-name", name="name", max_length=64, placeholder="e.g. Work laptop"),
            "Optional: the key's comment is used when left empty.",
            S.add_name_error,
        ),
        submit_label="Add SSH key",
        on_submit=S.add,
        error=S.add_error,
        open=S.add_open,
        on_open_change=S.set_add_open,
        loading=S.adding,
        max_width="34rem",
    )


def rename_dialog() -> rx.Component:
    return form_dialog(
        "Rename SSH key",
        "The key itself and its fingerprint stay the same.",
        field("Name", rx.input(id="ssh-key-rename", name="name", default_value=S.rename_current, key=S.rename_id,
                               max_length=64, required=True)),
        submit_label="Save name",
        on_submit=S.rename,
        error=S.rename_error,
        open=S.rename_open,
        on_open_change=S.set_rename_open,
        loading=S.renaming,
    )


def denied_panel() -> rx.Component:
    return no_access(
        "You do not have access to SSH keys",
        rx.text(
            "Your role in ",
            rx.text(S.org_name, as_="span", weight="medium"),
            " does not include SSH keys. Ask an owner or admin of the organization if you need them.",
            as_="span",
        ),
    )


@rx.page(route="/ssh-keys", title="SSH keys · SkyPanel", on_load=[SessionState.require_login, SshKeysState.load])
def ssh_keys_page() -> rx.Component:
    return portal_layout(
        "SSH keys",
        page_header(
            "SSH keys",
            rx.cond(
                S.org_name,
                "Public keys of " + S.org_name + " to install on new servers, so you sign in without a password",
                "Public keys to install on new servers, so you sign in without a password",
            ),
            rx.cond(S.can_manage & ~S.loading & ~S.denied, add_button(), rx.fragment()),
        ),
        rx.cond(
            S.loading,
            rx.card(skeleton_rows(4, 4), size=CARD_SIZE, width="100%"),
            rx.cond(S.denied, denied_panel(), keys_card()),
        ),
        add_dialog(),
        rename_dialog(),
    )
