"""/vps/create: the create-server wizard.

Every step's panel stays mounted (hidden when not current), so what the user typed in the fields
survives going back and forth; the root password field is not bound to any state var (see
state/server_create.py): only its strength comes back from the server.
"""

from __future__ import annotations

import reflex as rx

from skypanel.components.layout import portal_layout
from skypanel.components.widgets import (
    CARD_SIZE,
    NOWRAP,
    TABULAR,
    empty_state,
    field,
    form_error,
    page_header,
    skeleton_line,
)
from skypanel.state.server_create import (
    BACKUPS,
    DETAILS,
    IMAGE,
    LOCATION,
    PLAN,
    REVIEW,
    STEPS,
    ImageCard,
    ImageGroup,
    KeyOption,
    LocationCard,
    LocationGroup,
    PlanCard,
    PlanGroup,
    ServerCreateState,
)
from skypanel.state.session import SessionState

S = ServerCreateState
MONO = {"font_family": "var(--code-font-family)"}
WIDE = ["none", "none", "flex"]  # from 48em: the full step indicator and the summary column
NARROW = ["flex", "flex", "none"]
CARD_COLUMNS = rx.breakpoints(initial="1", sm="2", lg="3")


# ---------------------------------------------------------------- step indicator


def _step_circle(index: int) -> rx.Component:
    done = (S.furthest >= index) & (S.step != index)
    return rx.flex(
        rx.cond(done & (S.step > index), rx.icon("check", size=14), rx.text(str(index + 1), size="1", weight="bold")),
        align="center",
        justify="center",
        width="24px",
        height="24px",
        flex_shrink="0",
        border_radius="9999px",
        background_color=rx.cond(S.step == index, rx.color("accent", 9),
                                 rx.cond(done, rx.color("accent", 4), "transparent")),
        color=rx.cond(S.step == index, "white", rx.cond(done, rx.color("accent", 11), rx.color("gray", 10))),
        border=rx.cond((S.step == index) | done, "1px solid transparent", f"1px solid {rx.color('gray', 7)}"),
    )


def _step_item(index: int, title: str) -> rx.Component:
    reachable = (S.furthest >= index) & (S.step != index)
    return rx.el.button(
        _step_circle(index),
        rx.text(title, size="2", weight=rx.cond(S.step == index, "bold", "medium"),
                color=rx.cond((S.step == index) | reachable, rx.color("gray", 12), rx.color("gray", 10)),
                style=NOWRAP),
        type="button",
        on_click=S.go_to(index),
        disabled=~reachable,
        aria_current=rx.cond(S.step == index, "step", "false"),
        aria_label=f"Step {index + 1}: {title}",
        style={
            "display": "flex", "alignItems": "center", "gap": "var(--space-2)", "background": "none",
            "border": "none", "padding": "var(--space-1) var(--space-2)", "borderRadius": "var(--radius-2)",
            "cursor": rx.cond(reachable, "pointer", "default"), "fontFamily": "inherit",
            "_hover": {"background": rx.cond(reachable, rx.color("gray", 3), "none")},
        },
    )


def step_indicator() -> rx.Component:
    items: list[rx.Component] = []
    for index, (_, title) in enumerate(STEPS):
        if index:
            items.append(rx.box(flex="1", min_width="12px", height="1px",
                                background_color=rx.cond(S.furthest >= index, rx.color("accent", 7),
                                                         rx.color("gray", 6))))
        items.append(_step_item(index, title))
    desktop = rx.el.nav(
        rx.flex(*items, align="center", spacing="2", width="100%"),
        aria_label="Steps",
        style={"width": "100%"},
    )
    phone = rx.vstack(
        rx.flex(
            rx.text("Step ", S.step_number, " of ", str(len(STEPS)), " — ", rx.text(S.step_title, as_="span",
                                                                                    weight="bold"),
                    size="2", data_testid="wizard-step-compact"),
            rx.cond(S.step > LOCATION, rx.button(rx.icon("chevron-left", size=14), "Back", size="1", variant="ghost",
                                                 on_click=S.prev_step), rx.fragment()),
            justify="between",
            align="center",
            width="100%",
        ),
        rx.progress(value=S.progress, size="1", width="100%"),
        spacing="2",
        width="100%",
    )
    return rx.fragment(
        rx.box(desktop, display=WIDE, width="100%", margin_bottom="var(--space-5)"),
        rx.box(phone, display=NARROW, width="100%", margin_bottom="var(--space-4)"),
    )


# ---------------------------------------------------------------- step 1: location


def country_chip(code: rx.Var) -> rx.Component:
    return rx.flex(
        rx.cond(code, rx.text(code, size="1", weight="bold", style={"letter_spacing": "0.04em"}),
                rx.icon("globe", size=14)),
        align="center",
        justify="center",
        width="36px",
        height="36px",
        flex_shrink="0",
        border_radius="var(--radius-3)",
        background_color=rx.color("accent", 3),
        color=rx.color("accent", 11),
    )


def location_card(loc: LocationCard) -> rx.Component:
    return rx.radio_cards.item(
        rx.flex(
            country_chip(loc.country),
            rx.vstack(
                rx.text(loc.label, size="2", weight="bold"),
                rx.text("From ", loc.from_price, "/mo", size="1", color_scheme="gray", style=TABULAR),
                spacing="1",
                align="start",
                min_width="0",
            ),
            spacing="3",
            align="center",
            width="100%",
        ),
        value=loc.key,
        aria_label=loc.label,
    )


def group_heading(title, extra: rx.Component | None = None) -> rx.Component:
    return rx.flex(
        rx.heading(title, as_="h3", size="2", weight="medium", color_scheme="gray",
                   style={"text_transform": "uppercase", "letter_spacing": "0.05em"}),
        extra if extra is not None else rx.fragment(),
        spacing="2",
        align="center",
    )


def location_group(group: LocationGroup) -> rx.Component:
    return rx.vstack(
        rx.flex(
            group_heading(group.title),
            rx.cond(group.simulated,
                    rx.text("Demo cloud built into SkyPanel: servers behave like real ones, but no real machine "
                            "is started.", size="1", color_scheme="gray"),
                    rx.fragment()),
            direction="column",
            spacing="1",
        ),
        rx.radio_cards.root(
            rx.foreach(group.locations, location_card),
            value=S.location,
            on_value_change=S.choose_location,
            columns=CARD_COLUMNS,
            gap="3",
            width="100%",
        ),
        spacing="3",
        width="100%",
    )


def location_panel() -> rx.Component:
    return rx.vstack(
        rx.cond(
            S.location_options.length() > 0,  # type: ignore[attr-defined]
            rx.vstack(rx.foreach(S.location_options, location_group), spacing="5", width="100%"),
            empty_state("map-pin-off", "No locations are available yet",
                        "No plans are on sale right now, so servers cannot be ordered. Please contact support."),
        ),
        form_error(S.location_error),
        spacing="4",
        width="100%",
    )


# ---------------------------------------------------------------- step 2: plan


def spec(icon: str, value) -> rx.Component:
    return rx.flex(
        rx.icon(icon, size=14, color=rx.color("gray", 10)),
        rx.text(value, size="2"),
        spacing="2",
        align="center",
    )


def plan_card(plan: PlanCard) -> rx.Component:
    return rx.radio_cards.item(
        rx.vstack(
            rx.text(plan.name, size="3", weight="bold"),
            rx.flex(
                rx.text(plan.monthly, size="6", weight="bold", style=TABULAR),
                rx.text("/mo", size="2", color_scheme="gray"),
                spacing="1",
                align="baseline",
            ),
            rx.text(plan.hourly, " per hour", size="1", color_scheme="gray", style=TABULAR),
            rx.separator(size="4"),
            rx.grid(
                spec("cpu", plan.vcpus),
                spec("memory-stick", plan.memory + " RAM"),
                spec("hard-drive", plan.disk + " disk"),
                spec("arrow-left-right", plan.transfer + " transfer"),
                columns="1",
                spacing="2",
                width="100%",
            ),
            spacing="2",
            align="start",
            width="100%",
        ),
        value=plan.id,
        aria_label=plan.name,
        style={"align_items": "start"},
    )


def plan_group(group: PlanGroup) -> rx.Component:
    return rx.vstack(
        group_heading(group.title),
        rx.radio_cards.root(
            rx.foreach(group.plans, plan_card),
            value=S.plan_id,
            on_value_change=S.choose_plan,
            columns=CARD_COLUMNS,
            gap="3",
            width="100%",
        ),
        spacing="3",
        width="100%",
    )


def plan_panel() -> rx.Component:
    return rx.vstack(
        rx.cond(
            S.plan_options.length() > 0,  # type: ignore[attr-defined]
            rx.vstack(rx.foreach(S.plan_options, plan_group), spacing="5", width="100%"),
            empty_state("layers", "Choose a location first", "Plans depend on where the server runs."),
        ),
        form_error(S.plan_error),
        spacing="4",
        width="100%",
    )


# ---------------------------------------------------------------- step 3: image


def image_card(image: ImageCard) -> rx.Component:
    return rx.radio_cards.item(
        rx.vstack(
            rx.text(image.label, size="2", weight="bold"),
            rx.cond(image.detail, rx.text(image.detail, size="1", color_scheme="gray"), rx.fragment()),
            spacing="1",
            align="start",
            width="100%",
        ),
        value=image.id,
        aria_label=image.label,
    )


def image_group(group: ImageGroup) -> rx.Component:
    return rx.vstack(
        rx.flex(
            rx.avatar(fallback=group.initial, size="2", radius="medium", variant="soft", color_scheme=group.color),
            rx.heading(group.title, as_="h3", size="3", weight="medium"),
            spacing="3",
            align="center",
        ),
        rx.radio_cards.root(
            rx.foreach(group.images, image_card),
            value=S.image_id,
            on_value_change=S.choose_image,
            columns=CARD_COLUMNS,
            gap="3",
            width="100%",
        ),
        spacing="3",
        width="100%",
    )


def image_panel() -> rx.Component:
    return rx.vstack(
        rx.cond(
            S.image_options.length() > 0,  # type: ignore[attr-defined]
            rx.vstack(rx.foreach(S.image_options, image_group), spacing="5", width="100%"),
            empty_state("disc", "No images are available here", "This provider lists no operating systems yet. "
                        "Choose another location, or contact support."),
        ),
        form_error(S.image_error),
        spacing="4",
        width="100%",
    )


# ---------------------------------------------------------------- step 4: details


def strength_meter() -> rx.Component:
    bars = [
        rx.box(flex="1", height="4px", border_radius="9999px",
               background_color=rx.cond(S.strength >= level, rx.color(S.strength_color, 9), rx.color("gray", 5)))
        for level in (1, 2, 3, 4)
    ]
    return rx.cond(
        S.password_set,
        rx.vstack(
            rx.flex(*bars, spacing="1", width="100%"),
            rx.flex(
                rx.text(S.strength_label, size="1", weight="bold", color=rx.color(S.strength_color, 11),
                        data_testid="password-strength"),
                rx.text(S.strength_message, size="1", color_scheme="gray"),
                spacing="2",
                wrap="wrap",
            ),
            spacing="1",
            width="100%",
        ),
        rx.text("12 to 128 characters, mixing at least three of: lower case, upper case, digits, symbols.",
                size="1", color_scheme="gray"),
    )


def copy_password_script() -> rx.Component:
    """Copies what the field holds, in the browser (the server never sends a typed password back)."""
    return rx.call_script(
        "(() => { const el = document.getElementById('root-password');"
        " if (el && el.value) { navigator.clipboard.writeText(el.value); return true; } return false; })()",
    )


def password_field() -> rx.Component:
    control = rx.input(
        rx.input.slot(
            rx.tooltip(
                rx.icon_button(rx.cond(S.reveal, rx.icon("eye-off", size=15), rx.icon("eye", size=15)),
                               type="button", size="1", variant="ghost", color_scheme="gray",
                               aria_label=rx.cond(S.reveal, "Hide password", "Show password"),
                               on_click=S.toggle_reveal),
                content=rx.cond(S.reveal, "Hide password", "Show password"),
            ),
            rx.tooltip(
                rx.icon_button(rx.icon("copy", size=15), type="button", size="1", variant="ghost",
                               color_scheme="gray", aria_label="Copy password",
                               on_click=[copy_password_script(), rx.toast.success("Password copied.")]),
                content="Copy password",
            ),
            side="right",
        ),
        id="root-password",
        name="root-password",
        type=rx.cond(S.reveal, "text", "password"),
        auto_complete="new-password",
        spell_check=False,
        max_length=128,
        on_change=S.set_root_password,
        style={**MONO},
        width="100%",
        size="3",
    )
    generate = rx.button(rx.icon("wand-sparkles", size=14), "Generate", type="button", size="1", variant="soft",
                         on_click=S.generate_password)
    return rx.vstack(
        field("Root password", control, error=S.password_error, label_extra=generate),
        strength_meter(),
        rx.cond(
            S.password_generated,
            rx.callout(
                rx.flex(
                    rx.text("A strong password was generated. Store it in your password manager now: after the "
                            "server is created it is never shown again.", size="2"),
                    rx.button(rx.icon("copy", size=14), "Copy", type="button", size="1", variant="soft",
                              color_scheme="amber", on_click=[copy_password_script(),
                                                              rx.toast.success("Password copied.")]),
                    spacing="3",
                    align="center",
                    justify="between",
                    width="100%",
                    wrap=rx.breakpoints(initial="wrap", sm="nowrap"),
                ),
                icon="key-round",
                color_scheme="amber",
                size="1",
                width="100%",
                data_testid="password-generated",
            ),
            rx.fragment(),
        ),
        spacing="2",
        width="100%",
    )


def key_card(key: KeyOption) -> rx.Component:
    return rx.checkbox_cards.item(
        rx.vstack(
            rx.flex(rx.text(key.name, size="2", weight="bold"), rx.badge(key.type_label, variant="soft", size="1"),
                    spacing="2", align="center", wrap="wrap"),
            rx.text(key.fingerprint, size="1", color_scheme="gray", style={**MONO, "word_break": "break-all"}),
            spacing="1",
            align="start",
            min_width="0",
        ),
        value=key.id,
        aria_label=key.name,
    )


def ssh_keys_section() -> rx.Component:
    return rx.vstack(
        rx.flex(
            rx.el.label("SSH keys", style={"font_size": "var(--font-size-2)", "font_weight": "500"}),
            rx.link(rx.flex(rx.icon("plus", size=13), "Add a key", spacing="1", align="center", as_="span"),
                    href="/ssh-keys", size="2"),
            justify="between",
            align="center",
            width="100%",
        ),
        rx.cond(
            S.ssh_options.length() > 0,  # type: ignore[attr-defined]
            rx.vstack(
                rx.text("Chosen keys are installed for root, so you can sign in without the password.",
                        size="1", color_scheme="gray"),
                rx.checkbox_cards.root(
                    rx.foreach(S.ssh_options, key_card),
                    value=S.ssh_chosen,
                    on_value_change=S.set_ssh_keys,
                    columns=rx.breakpoints(initial="1", sm="2"),
                    gap="3",
                    width="100%",
                ),
                spacing="2",
                width="100%",
            ),
            rx.text("This organization has no SSH keys yet. ",
                    rx.link("Add one on the SSH keys page", href="/ssh-keys"),
                    " to sign in without a password (optional).", size="2", color_scheme="gray"),
        ),
        rx.cond(S.ssh_error, rx.text(S.ssh_error, size="1", color_scheme="red", role="alert"), rx.fragment()),
        spacing="2",
        width="100%",
    )


def details_panel() -> rx.Component:
    label = rx.input(
        id="server-label",
        name="label",
        value=S.label,
        on_change=S.set_label,
        debounce_timeout=300,
        placeholder="web-1",
        max_length=50,
        auto_complete="off",
        spell_check=False,
        width="100%",
        size="3",
    )
    return rx.vstack(
        field("Label", label, hint="3 to 50 letters, digits, dots and dashes, starting with a letter. It becomes "
              "the server's host name.", error=S.label_error),
        password_field(),
        rx.separator(size="4"),
        ssh_keys_section(),
        spacing="5",
        width="100%",
        max_width="40rem",
    )


# ---------------------------------------------------------------- step 5: backups


def backups_panel() -> rx.Component:
    return rx.vstack(
        rx.el.label(
            rx.card(
                rx.flex(
                    rx.flex(
                        rx.icon("archive-restore", size=20),
                        align="center",
                        justify="center",
                        width="40px",
                        height="40px",
                        flex_shrink="0",
                        border_radius="var(--radius-3)",
                        background_color=rx.color("accent", 3),
                        color=rx.color("accent", 11),
                    ),
                    rx.vstack(
                        rx.text("Automatic backups", size="3", weight="bold"),
                        rx.text("Daily and weekly copies of the disk, kept by the provider. Restore one from the "
                                "server's Backups tab. You can turn this on or off later.", size="2",
                                color_scheme="gray"),
                        rx.text("+", S.backup_monthly, " per month (", S.backup_hourly, " per hour)", size="2",
                                weight="medium", style=TABULAR),
                        spacing="1",
                        flex="1",
                        min_width="0",
                    ),
                    rx.switch(id="backups", checked=S.backups, on_change=S.set_backups, size="3"),
                    spacing="4",
                    align="start",
                    width="100%",
                ),
                size="3",
                width="100%",
                variant=rx.cond(S.backups, "surface", "classic"),
            ),
            html_for="backups",
            style={"width": "100%", "cursor": "pointer"},
        ),
        spacing="4",
        width="100%",
        max_width="40rem",
    )


# ---------------------------------------------------------------- step 6: review


def review_row(label: str, value: rx.Component | rx.Var | str, step: int) -> rx.Component:
    """One choice: its name and value side by side (stacked on phones), and "Change"."""
    return rx.flex(
        rx.flex(
            rx.text(label, size=rx.breakpoints(initial="1", sm="2"), color_scheme="gray", flex_shrink="0",
                    width=rx.breakpoints(initial="auto", sm="8rem")),
            rx.box(value, min_width="0"),
            direction=rx.breakpoints(initial="column", sm="row"),
            align=rx.breakpoints(initial="start", sm="center"),
            spacing=rx.breakpoints(initial="0", sm="3"),
            flex="1",
            min_width="0",
        ),
        rx.button("Change", size="1", variant="ghost", on_click=S.go_to(step), aria_label=f"Change {label.lower()}"),
        align="center",
        justify="between",
        spacing="3",
        width="100%",
        padding_y="var(--space-2)",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
    )


def review_panel() -> rx.Component:
    loc = S.chosen_location
    plan = S.chosen_plan
    summary = rx.vstack(
        review_row("Location", rx.flex(rx.text(loc["label"], size="2", weight="medium"),
                                       rx.cond(loc["simulated"],
                                               rx.badge("Simulated", color_scheme="violet", variant="outline",
                                                        size="1", radius="full"),
                                               rx.text(loc["provider"], size="1", color_scheme="gray")),
                                       spacing="2", align="center", wrap="wrap"), LOCATION),
        review_row("Plan", rx.vstack(rx.text(plan["name"], " · ", plan["monthly"], "/mo", size="2",
                                             weight="medium"),
                                     rx.text(plan["specs"], size="1", color_scheme="gray"), spacing="0"), PLAN),
        review_row("Image", rx.text(S.chosen_image, size="2", weight="medium"), IMAGE),
        review_row("Label", rx.code(S.label, variant="ghost", size="2"), DETAILS),
        review_row("Sign-in", rx.text(
            "Root password set",
            rx.cond(S.ssh_chosen_names.length() > 0,  # type: ignore[attr-defined]
                    rx.text(" · SSH keys: ", S.ssh_chosen_names.join(", "), as_="span"), rx.fragment()),
            size="2"), DETAILS),
        review_row("Backups", rx.text(rx.cond(S.backups, "On (+" + S.backup_monthly + "/mo)", "Off"), size="2"),
                   BACKUPS),
        spacing="0",
        width="100%",
    )
    money_line = lambda label, value, strong=False: rx.flex(  # noqa: E731
        rx.text(label, size="2", color_scheme="gray"),
        rx.text(value, size="3" if strong else "2", weight="bold" if strong else "medium", style=TABULAR),
        justify="between",
        align="baseline",
        width="100%",
    )
    costs = rx.card(
        rx.cond(
            S.quote_loading,
            rx.vstack(skeleton_line(), skeleton_line("70%"), spacing="3"),
            rx.vstack(
                money_line("Per hour", S.hourly),
                money_line("Per month (730 hours)", S.monthly, strong=True),
                rx.separator(size="4"),
                money_line("Wallet balance", S.balance),
                rx.text("A new server needs at least ", rx.text(S.needed, as_="span", weight="medium", style=TABULAR),
                        " in the wallet (", S.runway_hours, " hours of it). The first hour is charged when it is "
                        "created, then every hour it exists.", size="1", color_scheme="gray"),
                rx.cond(
                    S.funds_short,
                    rx.callout(
                        rx.flex(
                            rx.text("Not enough funds: add at least ", rx.text(S.short_by, as_="span", weight="bold"),
                                    " to your wallet to create this server.", size="2"),
                            rx.flex(
                                rx.link(rx.button(rx.icon("wallet", size=14), "Add funds", size="1",
                                                  color_scheme="red"), href="/billing",
                                        target="_blank"),
                                rx.button(rx.icon("refresh-cw", size=14), "Check again", size="1", variant="soft",
                                          color_scheme="red", on_click=S.refresh_quote),
                                spacing="2",
                            ),
                            justify="between",
                            align="center",
                            spacing="3",
                            wrap="wrap",
                            width="100%",
                        ),
                        icon="wallet",
                        color_scheme="red",
                        size="1",
                        width="100%",
                        data_testid="funds-short",
                    ),
                    rx.fragment(),
                ),
                spacing="3",
                width="100%",
            ),
        ),
        size="2",
        width="100%",
        data_testid="review-costs",
    )
    return rx.vstack(
        summary,
        costs,
        form_error(S.create_error),
        spacing="4",
        width="100%",
    )


# ---------------------------------------------------------------- frame


def step_panel(index: int, content: rx.Component) -> rx.Component:
    return rx.box(content, display=rx.cond(S.step == index, "block", "none"), width="100%",
                  data_testid=f"wizard-panel-{STEPS[index][0]}")


def nav_buttons() -> rx.Component:
    return rx.flex(
        rx.cond(
            S.step > LOCATION,
            rx.button(rx.icon("arrow-left", size=16), "Back", variant="soft", color_scheme="gray", size="3",
                      on_click=S.prev_step, disabled=S.creating),
            rx.link(rx.button("Cancel", variant="soft", color_scheme="gray", size="3"), href="/vps"),
        ),
        rx.cond(
            S.step == REVIEW,
            rx.button(rx.icon("rocket", size=16), rx.cond(S.creating, "Creating server…", "Create server"), size="3",
                      on_click=S.create, loading=S.creating, disabled=S.creating | S.funds_short,
                      data_testid="create-server"),
            rx.button("Continue", rx.icon("arrow-right", size=16), size="3", on_click=S.next_step),
        ),
        justify="between",
        align="center",
        width="100%",
        padding_top="var(--space-4)",
        border_top=f"1px solid {rx.color('gray', 4)}",
        spacing="3",
    )


def summary_card() -> rx.Component:
    """Beside the steps on wide screens: the choices so far and the running price."""
    loc, plan = S.chosen_location, S.chosen_plan

    def item(label: str, value, empty: str = "Not chosen yet") -> rx.Component:
        return rx.vstack(
            rx.text(label, size="1", color_scheme="gray", weight="medium"),
            rx.cond(value, rx.text(value, size="2", weight="medium"), rx.text(empty, size="2", color_scheme="gray")),
            spacing="0",
            width="100%",
        )

    return rx.card(
        rx.vstack(
            rx.heading("Your server", as_="h2", size="3"),
            item("Location", loc["label"]),
            item("Plan", plan["name"]),
            item("Image", S.chosen_image),
            item("Label", S.label, "—"),
            item("Backups", rx.cond(S.backups, "On", "Off")),
            rx.separator(size="4"),
            rx.cond(
                S.estimate_monthly,
                rx.vstack(
                    rx.flex(rx.text(S.estimate_monthly, size="6", weight="bold", style=TABULAR),
                            rx.text("/mo", size="2", color_scheme="gray"), spacing="1", align="baseline"),
                    rx.text(S.estimate_hourly, " per hour, billed hourly", size="1", color_scheme="gray"),
                    spacing="1",
                ),
                rx.text("Choose a plan to see the price.", size="2", color_scheme="gray"),
            ),
            spacing="3",
            width="100%",
        ),
        size="2",
        width="100%",
    )


def wizard() -> rx.Component:
    body = rx.card(
        rx.vstack(
            rx.vstack(
                rx.heading(S.step_title, as_="h2", size="5"),
                rx.text(S.step_hint, size="2", color_scheme="gray"),
                spacing="1",
            ),
            step_panel(LOCATION, location_panel()),
            step_panel(PLAN, plan_panel()),
            step_panel(IMAGE, image_panel()),
            step_panel(DETAILS, details_panel()),
            step_panel(BACKUPS, backups_panel()),
            step_panel(REVIEW, review_panel()),
            nav_buttons(),
            spacing="5",
            width="100%",
        ),
        size=CARD_SIZE,
        width="100%",
    )
    return rx.vstack(
        step_indicator(),
        rx.flex(
            rx.box(body, flex="1", min_width="0"),
            # The review step says it all itself; on the others the summary sits beside the step.
            rx.cond(S.step == REVIEW, rx.fragment(),
                    rx.box(summary_card(), width="16rem", flex_shrink="0", display=WIDE,
                           position="sticky", top="var(--space-5)")),
            spacing="5",
            align="start",
            width="100%",
        ),
        spacing="0",
        width="100%",
    )


def loading_skeleton() -> rx.Component:
    return rx.card(
        rx.vstack(
            skeleton_line("30%", "1.5rem"),
            skeleton_line("60%"),
            rx.grid(*[rx.skeleton(rx.box(height="4.5rem"), loading=True) for _ in range(6)],
                    columns=CARD_COLUMNS, spacing="3", width="100%"),
            spacing="4",
            width="100%",
        ),
        size=CARD_SIZE,
        width="100%",
        data_testid="wizard-loading",
    )


def denied_panel() -> rx.Component:
    return empty_state(
        "lock",
        "You cannot create servers",
        rx.cond(S.org_name, "Your role in " + S.org_name + " does not include creating servers. ",
                "Your role does not include creating servers. ")
        + "Ask an owner or a VPS manager to create one for you, or to give you the “Create servers” permission.",
        rx.link(rx.button("Back to servers", variant="soft"), href="/vps"),
    )


@rx.page(route="/vps/create", title="Create a server · SkyPanel",
         on_load=[SessionState.require_login, ServerCreateState.load])
def server_create_page() -> rx.Component:
    return portal_layout(
        "Create a server",
        page_header("Create a server", "Ready in about a minute, billed by the hour from your wallet."),
        rx.cond(S.loading, loading_skeleton(), rx.cond(S.denied, denied_panel(), wizard())),
        breadcrumbs=[("Dashboard", "/dashboard"), ("Servers", "/vps")],
    )
