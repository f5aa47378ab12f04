"""Reusable building blocks so every page looks and behaves the same.

All are plain functions returning Radix Themes components; pass Vars or plain values.
Forms use `field(...)`, which renders a real `<label for=...>` so people (and Playwright's
`get_by_label`) find inputs by their label.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

PAGE_HEADER_CLASS = "sp-page-header"
CARD_SIZE = rx.breakpoints(initial="2", sm="3")  # a page's cards: less padding on phones
# One line with "..." when too long (Radix Text has no truncate prop in Reflex 0.10).
ELLIPSIS = {"white_space": "nowrap", "overflow": "hidden", "text_overflow": "ellipsis", "min_width": "0"}
NOWRAP = {"white_space": "nowrap"}
TABULAR = {"font_variant_numeric": "tabular-nums", "white_space": "nowrap"}  # amounts and dates in columns


def page_header(title: Any, subtitle: Any = "", *actions: rx.Component) -> rx.Component:
    """The page's H1 with an optional subtitle and right-aligned action buttons.

    Inside `portal_layout` / `admin_layout`, put it first among the children and the shell
    skips its own title heading (no duplicate H1).
    """
    text_block = rx.vstack(
        rx.heading(title, as_="h1", size="7", weight="bold", trim="both"),
        rx.cond(subtitle, rx.text(subtitle, color_scheme="gray", size="3"), rx.fragment())
        if isinstance(subtitle, rx.Var)
        else (rx.text(subtitle, color_scheme="gray", size="3") if subtitle else rx.fragment()),
        spacing="2",
        min_width="0",
    )
    return rx.flex(
        text_block,
        rx.flex(*actions, spacing="2", wrap="wrap", align="center", flex_shrink="0") if actions else rx.fragment(),
        justify="between",
        align=rx.breakpoints(initial="start", sm="center"),
        direction=rx.breakpoints(initial="column", sm="row"),
        spacing="4",
        width="100%",
        margin_bottom="var(--space-5)",
        class_name=PAGE_HEADER_CLASS,
    )


def section_title(title: Any, *actions: rx.Component) -> rx.Component:
    """A smaller heading for a section inside a page."""
    return rx.flex(
        rx.heading(title, as_="h2", size="4", weight="medium"),
        rx.flex(*actions, spacing="2", align="center") if actions else rx.fragment(),
        justify="between",
        align="center",
        width="100%",
        margin_bottom="var(--space-3)",
    )


def empty_state(icon: str, title: Any, text: Any, action: rx.Component | None = None) -> rx.Component:
    """What a list shows when there is nothing in it yet, with the next step to take."""
    return rx.flex(
        rx.flex(
            rx.icon(icon, size=22),
            align="center",
            justify="center",
            width="48px",
            height="48px",
            border_radius="9999px",
            background_color=rx.color("accent", 3),
            color=rx.color("accent", 11),
        ),
        rx.heading(title, as_="h3", size="4", weight="medium", text_align="center"),
        rx.text(text, color_scheme="gray", size="2", text_align="center", max_width="26rem"),
        action if action is not None else rx.fragment(),
        direction="column",
        align="center",
        spacing="3",
        padding_y="var(--space-9)",
        padding_x="var(--space-4)",
        width="100%",
        border=f"1px dashed {rx.color('gray', 6)}",
        border_radius="var(--radius-4)",
    )


def no_access(title: Any, text: Any) -> rx.Component:
    """What a portal page shows a member whose role does not include it, with the way back."""
    return rx.box(
        empty_state("lock", title, text, rx.link(rx.button("Back to dashboard", variant="soft"), href="/dashboard")),
        width="100%",
    )


def card_label(label: Any, icon: rx.Component) -> rx.Component:
    """A card's small grey title with its icon at the right (dashboard and overview cards)."""
    return rx.flex(
        rx.text(label, size="2", weight="medium", color_scheme="gray"),
        icon,
        justify="between",
        align="center",
        width="100%",
    )


def icon_label(icon: str, label: Any) -> rx.Component:
    """A card's small grey title after an accent icon (billing and wallet cards)."""
    return rx.flex(
        rx.icon(icon, size=18, color=rx.color("accent", 11)),
        rx.text(label, size="2", weight="medium", color_scheme="gray"),
        spacing="2",
        align="center",
    )


def balance_figure(value: Any, negative: Any, test_id: str) -> rx.Component:
    """A wallet balance in large tabular figures, red below zero."""
    return rx.text(
        value,
        size="8",
        weight="bold",
        trim="both",
        color=rx.cond(negative, rx.color("red", 11), rx.color("gray", 12)),
        style={"font_variant_numeric": "tabular-nums", "letter_spacing": "-0.02em"},
        data_testid=test_id,
    )


def stat_card(label: Any, value: Any, hint: Any = "", icon: str | None = None) -> rx.Component:
    """A headline number (balance, count) with a short explanation under it."""
    return rx.card(
        rx.vstack(
            card_label(label, rx.icon(icon, size=18, color=rx.color("gray", 10)) if icon else rx.fragment()),
            rx.text(value, size="7", weight="bold", trim="both", style={"font_variant_numeric": "tabular-nums"}),
            rx.text(hint, size="1", color_scheme="gray") if not isinstance(hint, str) or hint else rx.fragment(),
            spacing="3",
            width="100%",
        ),
        size="2",
        width="100%",
    )


def confirm_dialog(
    trigger: rx.Component,
    title: Any,
    description: Any,
    on_confirm: Any,
    *,
    confirm_label: str = "Confirm",
    cancel_label: str = "Cancel",
    color_scheme: str = "red",
    extra: rx.Component | None = None,
) -> rx.Component:
    """Ask before a destructive action; `on_confirm` runs only after the user agrees."""
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(trigger),
        rx.alert_dialog.content(
            rx.alert_dialog.title(title),
            rx.alert_dialog.description(description, size="2"),
            extra if extra is not None else rx.fragment(),
            rx.flex(
                rx.alert_dialog.cancel(rx.button(cancel_label, variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(rx.button(confirm_label, color_scheme=color_scheme, on_click=on_confirm)),
                spacing="3",
                justify="end",
                margin_top="var(--space-4)",
            ),
            max_width="28rem",
        ),
    )


def dialog_actions(*buttons: rx.Component) -> rx.Component:
    """A dialog's buttons, right-aligned after "Cancel" (which closes it and never submits its form)."""
    return rx.flex(
        rx.dialog.close(rx.button("Cancel", type="button", variant="soft", color_scheme="gray")),
        *buttons,
        spacing="3",
        justify="end",
        width="100%",
    )


def form_dialog(
    title: Any,
    description: Any,
    *controls: rx.Component,
    submit_label: str,
    on_submit: Any,
    error: Any,
    open: Any,
    on_open_change: Any,
    max_width: str = "30rem",
    loading: Any = False,
) -> rx.Component:
    """A dialog holding one form: title, explanation, labelled controls, the form's error, Cancel + submit
    (which spins while `loading`)."""
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(title),
            rx.dialog.description(rx.text(description, size="2", color_scheme="gray"), margin_bottom="var(--space-4)"),
            rx.form(
                rx.flex(
                    *controls,
                    form_error(error),
                    dialog_actions(rx.button(submit_label, type="submit", loading=loading)),
                    direction="column",
                    spacing="4",
                ),
                on_submit=on_submit,
                reset_on_submit=False,
            ),
            max_width=max_width,
        ),
        open=open,
        on_open_change=on_open_change,
    )


def field(
    label: Any,
    control: rx.Component,
    hint: Any = "",
    error: Any = "",
    *,
    html_for: str | None = None,
    label_extra: rx.Component | None = None,
) -> rx.Component:
    """A labelled form control: `<label for=id>`, the control, then hint or error text.

    The control must carry an `id` (e.g. `rx.input(id="email", name="email")`); the label
    points at it so clicking the label focuses the input and `get_by_label` works.
    """
    target = html_for or getattr(control, "id", None)
    if not target:
        raise ValueError("field(): give the control an id (or pass html_for=)")
    label_el = rx.el.label(
        label,
        html_for=target,
        style={"font_size": "var(--font-size-2)", "font_weight": "500", "color": rx.color("gray", 12)},
    )
    header = rx.flex(label_el, label_extra, justify="between", align="center", width="100%") if label_extra else label_el
    parts: list[rx.Component] = [header, control]
    if isinstance(error, rx.Var):
        parts.append(
            rx.cond(
                error,
                rx.text(error, size="1", color_scheme="red", role="alert"),
                rx.text(hint, size="1", color_scheme="gray") if hint else rx.fragment(),
            )
        )
    elif error:
        parts.append(rx.text(error, size="1", color_scheme="red", role="alert"))
    elif hint:
        parts.append(rx.text(hint, size="1", color_scheme="gray"))
    return rx.flex(*parts, direction="column", spacing="1", width="100%")


def form_error(message: rx.Var) -> rx.Component:
    """An inline red callout for a form-level error (shown only when `message` is set)."""
    return rx.cond(
        message,
        rx.callout(message, icon="circle-alert", color_scheme="red", role="alert", size="1", width="100%"),
        rx.fragment(),
    )


def skeleton_line(width: str = "100%", height: str = "1rem") -> rx.Component:
    return rx.skeleton(rx.box(width=width, height=height), loading=True)


def skeleton_rows(count: int = 4, rows: int = 5) -> rx.Component:
    """Placeholder for a table while it loads."""
    return rx.vstack(
        *[
            rx.flex(*[skeleton_line() for _ in range(max(1, min(count, 4)))], spacing="4", width="100%")
            for _ in range(rows)
        ],
        spacing="4",
        width="100%",
        padding_y="var(--space-3)",
    )


def skeleton_card() -> rx.Component:
    """Placeholder for a stat card while it loads."""
    return rx.card(
        rx.vstack(skeleton_line("40%"), skeleton_line("60%", "2rem"), skeleton_line("80%", "0.75rem"), spacing="3"),
        size="2",
        width="100%",
    )


def org_avatar(name: Any, size: str = "2") -> rx.Component:
    """An organization's initial in a rounded square."""
    return rx.avatar(fallback=rx.cond(name, name[:1].upper(), "?"), size=size, radius="medium", variant="soft")


def arrow_link(label: Any, href: Any, **props: Any) -> rx.Component:
    """A text link with a trailing arrow that never wraps apart ("View billing ->")."""
    return rx.link(
        rx.flex(rx.text(label, as_="span"), rx.icon("arrow-right", size=14), align="center", spacing="1", as_="span"),
        href=href,
        size=props.pop("size", "2"),
        weight=props.pop("weight", "medium"),
        underline=props.pop("underline", "hover"),
        **props,
    )


def money(value: Any) -> rx.Component:
    """A money amount in tabular figures, e.g. money(State.balance) with a "$" prefix."""
    return rx.text("$", value, as_="span", style={"font_variant_numeric": "tabular-nums"})
