"""/vps/create: the create-server wizard (Location -> Plan -> Image -> Details -> Backups -> Review).

Everything offered comes from the services, which check `vps_create` in the user's active
organization (decided on the server): plans and regions from `plans.list_offered`, images from
`plans.images_offered`, SSH keys from `ssh_keys.options`, the price check from `servers.quote`.
Every choice the browser sends is checked against what was offered; `servers.create_server`
checks everything again, so a hand-made event cannot order what the page did not offer.

The root password is a secret (DESIGN.md, Secrets). What the user types goes to `set_root_password`
and is kept only in the backend-only var `_root_password`; the browser is sent a strength score and
a message, never the password back. A password the server generates has to reach the user once,
so they can store it: `generate_password` writes it into the password field (one `set_value` event,
the field switched to visible) and keeps it in `_root_password` -- it is never put in a var sent to
the browser, so no later delta or reconnect can carry it again (the same choice as the detail
page's rebuild and reset forms). `_root_password` is cleared after a successful create and when the
wizard loads again; after creation the password never travels to the browser
(tests/integration/test_servers_state.py checks every delta and the hydrated state).
"""

from __future__ import annotations

import dataclasses
import string
from typing import Any

import reflex as rx

from skypanel.backend.services import plans, servers, ssh_keys
from skypanel.backend.services.errors import (
    InsufficientFunds,
    NotFound,
    PermissionDenied,
    ServiceError,
    ValidationError,
)
from skypanel.state.formatting import format_money
from skypanel.state.session import BAD_REQUEST, SessionState, active_org

STEPS: list[tuple[str, str]] = [
    ("location", "Location"),
    ("plan", "Plan"),
    ("image", "Image"),
    ("details", "Details"),
    ("backups", "Backups"),
    ("review", "Review"),
]
LOCATION, PLAN, IMAGE, DETAILS, BACKUPS, REVIEW = range(len(STEPS))
STEP_TITLES = [title for _, title in STEPS]
STEP_HINTS = [
    "Where should the server run? Choose the location closest to the people who will use it.",
    "How much power does it need? You pay by the hour and can resize later.",
    "Which operating system should it start with?",
    "Name the server and choose how you will sign in to it.",
    "Automatic backups keep recent copies of the server's disk at the provider.",
    "Check your choices, then create the server.",
]
# Which step owns a field a service error names.
FIELD_STEPS = {"region": LOCATION, "plan_id": PLAN, "image": IMAGE, "label": DETAILS, "root_password": DETAILS,
               "ssh_key_ids": DETAILS, "backups": BACKUPS}
STRENGTH_LABELS = ["", "Too weak", "Fair", "Strong", "Very strong"]
STRENGTH_COLORS = ["gray", "red", "amber", "green", "green"]
INPUT_MAX = 200
SCROLL_TO_TOP = rx.call_script("window.scrollTo({top: 0, behavior: 'smooth'})")  # longer than any valid label or password: anything more is refused unread

_DISTRO_COLORS = {"ubuntu": "orange", "debian": "crimson", "almalinux": "blue", "alpine": "cyan", "centos": "purple",
                  "fedora": "indigo", "rocky": "grass", "rocky linux": "grass", "arch": "sky", "arch linux": "sky",
                  "opensuse": "jade", "freebsd": "ruby", "gentoo": "violet", "slackware": "gray", "kali": "blue"}


# ---------------------------------------------------------------- view models (what the cards show)


@dataclasses.dataclass
class LocationCard:
    key: str = ""  # "<provider account id>|<region id>"
    label: str = ""
    country: str = ""
    from_price: str = ""


@dataclasses.dataclass
class LocationGroup:
    title: str = ""
    simulated: bool = False
    locations: list[LocationCard] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class PlanCard:
    id: str = ""
    name: str = ""
    vcpus: str = ""
    memory: str = ""
    disk: str = ""
    transfer: str = ""
    monthly: str = ""
    hourly: str = ""


@dataclasses.dataclass
class PlanGroup:
    title: str = ""
    plans: list[PlanCard] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class ImageCard:
    id: str = ""
    label: str = ""
    detail: str = ""  # "Version 12" when the label does not say it already


@dataclasses.dataclass
class ImageGroup:
    title: str = ""
    initial: str = ""
    color: str = "gray"
    images: list[ImageCard] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class KeyOption:
    id: str = ""
    name: str = ""
    fingerprint: str = ""
    type_label: str = ""


def memory_text(mb: int) -> str:
    if mb and mb % 1024 == 0:
        return f"{mb // 1024} GB"
    if mb >= 1024:
        return f"{mb / 1024:.1f} GB"
    return f"{mb} MB"


def disk_text(gb: int) -> str:
    return f"{gb // 1024} TB" if gb >= 1024 and gb % 1024 == 0 else f"{gb} GB"


def transfer_text(gb: int) -> str:
    if not gb:
        return "—"
    return f"{gb / 1000:g} TB" if gb >= 1000 else f"{gb} GB"


def location_key(account_id: str, region: str) -> str:
    return f"{account_id}|{region}"


def location_groups(offered: list[dict[str, Any]]) -> list[LocationGroup]:
    """One group per provider account, one card per region where at least one plan is offered."""
    groups: dict[str, LocationGroup] = {}
    counts: dict[str, list[Any]] = {}
    cards: dict[str, LocationCard] = {}
    for plan in offered:
        account = plan["provider_account_id"]
        group = groups.setdefault(account, LocationGroup(title=plan.get("provider_label") or "Cloud",
                                                         simulated=plan.get("provider_kind") == "simulated"))
        for region in plan.get("regions") or []:
            key = location_key(account, region["id"])
            if key not in cards:
                cards[key] = LocationCard(key=key, label=region.get("label") or region["id"],
                                          country=(region.get("country") or "").upper()[:2])
                group.locations.append(cards[key])
            counts.setdefault(key, []).append(plan["monthly"])
    for key, card in cards.items():
        prices = counts[key]
        card.from_price = format_money(min(prices, key=_decimal))
    return list(groups.values())


def _decimal(value: str):
    from decimal import Decimal, InvalidOperation
    try:
        return Decimal(value)
    except (InvalidOperation, ValueError):
        return Decimal(0)


def plans_at(offered: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    account, _, region = key.partition("|")
    return [p for p in offered if p["provider_account_id"] == account
            and any(r["id"] == region for r in p.get("regions") or [])]


def plan_groups(plans_here: list[dict[str, Any]]) -> list[PlanGroup]:
    """The plans of one location, grouped by category display name (in the order offered)."""
    groups: dict[str, PlanGroup] = {}
    for p in plans_here:
        title = p.get("category_label") or p.get("category") or "Plans"
        groups.setdefault(title, PlanGroup(title=title)).plans.append(PlanCard(
            id=p["id"], name=p["name"], vcpus=f"{p['vcpus']} vCPU" + ("s" if p["vcpus"] != 1 else ""),
            memory=memory_text(p["memory_mb"]), disk=disk_text(p["disk_gb"]), transfer=transfer_text(p["transfer_gb"]),
            monthly=format_money(p["monthly"]), hourly=format_money(p["hourly"])))
    return list(groups.values())


def image_groups(images: list[dict[str, str]]) -> list[ImageGroup]:
    groups: dict[str, ImageGroup] = {}
    for img in images:
        title = img.get("distribution") or "Other"
        group = groups.get(title)
        if group is None:
            group = groups[title] = ImageGroup(title=title, initial=title[:1].upper(),
                                               color=_DISTRO_COLORS.get(title.lower(), "gray"))
        label, version = img.get("label") or img["id"], img.get("version") or ""
        group.images.append(ImageCard(id=img["id"], label=label,
                                      detail=f"Version {version}" if version and version not in label else ""))
    return list(groups.values())


def password_strength(password: str) -> tuple[int, str]:
    """(score 0-4, message): 0 nothing typed; 1 refused by the same rules `create_server` applies
    (the message says why); 2-4 accepted, by length and mix."""
    if not password:
        return 0, ""
    try:
        servers.clean_root_password(password)
    except ValidationError as exc:
        return 1, exc.message
    classes = sum(any(ch in group for ch in password) for group in
                  (string.ascii_lowercase, string.ascii_uppercase, string.digits, string.punctuation))
    if len(password) >= 20 and classes >= 3:
        return 4, "Excellent: long and mixed."
    if len(password) >= 16 or classes == 4:
        return 3, "Good: accepted."
    return 2, "Accepted. Longer is stronger: 16 characters or more is better."


# ---------------------------------------------------------------- state


class ServerCreateState(SessionState):
    loading: bool = True
    denied: bool = False  # the role lacks vps_create: the page explains instead of showing the wizard
    org_name: str = ""
    step: int = LOCATION
    furthest: int = LOCATION  # the furthest step the user may jump to

    # what is offered
    location_options: list[LocationGroup] = []
    plan_options: list[PlanGroup] = []
    image_options: list[ImageGroup] = []
    ssh_options: list[KeyOption] = []
    images_loading: bool = False

    # choices
    location: str = ""
    plan_id: str = ""
    image_id: str = ""
    label: str = ""
    ssh_chosen: list[str] = []
    backups: bool = False
    backup_monthly: str = ""  # the chosen plan's backup upcharge
    backup_hourly: str = ""
    estimate_monthly: str = ""  # plan (+ backups when on), for the summary beside the steps
    estimate_hourly: str = ""

    # field errors (each shown on the step that owns the field)
    location_error: str = ""
    plan_error: str = ""
    image_error: str = ""
    label_error: str = ""
    password_error: str = ""
    ssh_error: str = ""

    # the root password: see the module docstring
    _root_password: str = ""
    password_generated: bool = False  # the field holds a password we generated: "store it now" shows
    password_set: bool = False
    strength: int = 0
    strength_message: str = ""
    reveal: bool = False  # the field shows its characters

    # review
    quote_loading: bool = False
    hourly: str = ""
    monthly: str = ""
    balance: str = ""
    needed: str = ""
    short_by: str = ""  # what the wallet lacks (needed - balance) when it is not enough
    runway_hours: int = 24
    enough: bool = True
    creating: bool = False
    create_error: str = ""
    funds_short: bool = False

    _org_id: str = ""
    _offered: list[dict[str, Any]] = []
    _images: list[dict[str, str]] = []

    # ---- computed view ----
    @rx.var
    def step_title(self) -> str:
        return STEP_TITLES[self.step] if 0 <= self.step < len(STEPS) else ""

    @rx.var
    def step_number(self) -> int:
        return self.step + 1

    @rx.var
    def step_hint(self) -> str:
        return STEP_HINTS[self.step] if 0 <= self.step < len(STEPS) else ""

    @rx.var
    def progress(self) -> int:
        return round((self.step + 1) * 100 / len(STEPS))

    @rx.var
    def chosen_location(self) -> dict[str, str]:
        for group in self.location_options:
            for loc in group.locations:
                if loc.key == self.location:
                    return {"label": loc.label, "country": loc.country, "provider": group.title,
                            "simulated": "yes" if group.simulated else ""}
        return {"label": "", "country": "", "provider": "", "simulated": ""}

    @rx.var
    def chosen_plan(self) -> dict[str, str]:
        for group in self.plan_options:
            for p in group.plans:
                if p.id == self.plan_id:
                    return {"name": p.name, "category": group.title, "specs": f"{p.vcpus} · {p.memory} RAM · "
                            f"{p.disk} disk · {p.transfer} transfer", "monthly": p.monthly, "hourly": p.hourly}
        return {"name": "", "category": "", "specs": "", "monthly": "", "hourly": ""}

    @rx.var
    def chosen_image(self) -> str:
        for group in self.image_options:
            for img in group.images:
                if img.id == self.image_id:
                    return img.label
        return ""

    @rx.var
    def ssh_chosen_names(self) -> list[str]:
        return [k.name for k in self.ssh_options if k.id in self.ssh_chosen]

    @rx.var
    def strength_label(self) -> str:
        return STRENGTH_LABELS[self.strength] if 0 <= self.strength < len(STRENGTH_LABELS) else ""

    @rx.var
    def strength_color(self) -> str:
        return STRENGTH_COLORS[self.strength] if 0 <= self.strength < len(STRENGTH_COLORS) else "gray"

    # ---- server-side helpers ----
    def _reset(self) -> None:
        self.step = self.furthest = LOCATION
        self.location = self.plan_id = self.image_id = self.label = ""
        self.backup_monthly = self.backup_hourly = self.estimate_monthly = self.estimate_hourly = ""
        self.ssh_chosen = []
        self.backups = False
        self._clear_errors()
        self._root_password = ""
        self.password_set = self.reveal = self.password_generated = False
        self.strength, self.strength_message = 0, ""
        self.plan_options, self.image_options = [], []
        self._images = []
        self.creating = self.quote_loading = self.images_loading = False
        self.create_error = ""
        self.funds_short = False

    def _update_estimate(self) -> None:
        plan = next((p for p in self._offered if p["id"] == self.plan_id), None)
        if plan is None:
            self.estimate_monthly = self.estimate_hourly = ""
            self.backup_monthly = self.backup_hourly = ""
            return
        self.backup_monthly = format_money(plan["backup_monthly"])
        self.backup_hourly = format_money(plan["backup_hourly"])
        monthly, hourly = _decimal(plan["monthly"]), _decimal(plan["hourly"])
        if self.backups:
            monthly += _decimal(plan["backup_monthly"])
            hourly += _decimal(plan["backup_hourly"])
        self.estimate_monthly, self.estimate_hourly = format_money(monthly), format_money(hourly)

    def _clear_errors(self) -> None:
        self.location_error = self.plan_error = self.image_error = ""
        self.label_error = self.password_error = self.ssh_error = ""

    def _fetch(self) -> None:
        actor = self._require_actor()
        org = active_org(actor)
        self._org_id, self.org_name = str(org["id"]), org["name"]
        if "vps_create" not in (org.get("permissions") or []):
            raise PermissionDenied()
        self._offered = plans.list_offered(actor, org["id"])
        self.location_options = location_groups(self._offered)
        self.ssh_options = [KeyOption(id=k["id"], name=k["name"], fingerprint=k["fingerprint"],
                                      type_label=k.get("type_label") or k.get("key_type") or "")
                            for k in ssh_keys.options(actor, org["id"])]
        self.denied = False

    def _fail(self, exc: ServiceError):
        if isinstance(exc, PermissionDenied):
            self.denied = True
            self._offered = []
            self.location_options, self.plan_options, self.image_options, self.ssh_options = [], [], [], []
            return None
        return super()._fail(exc)

    def _account(self) -> str:
        return self.location.partition("|")[0]

    def _region(self) -> str:
        return self.location.partition("|")[2]

    def _offered_keys(self) -> set[str]:
        return {loc.key for group in self.location_options for loc in group.locations}

    def _plan_ids_here(self) -> set[str]:
        return {p["id"] for p in plans_at(self._offered, self.location)} if self.location else set()

    def _label_problem(self) -> str:
        try:
            servers.clean_label(self.label)
        except ValidationError as exc:
            return exc.message
        return ""

    def _password_problem(self) -> str:
        try:
            servers.clean_root_password(self._root_password)
        except ValidationError as exc:
            return exc.message
        return ""

    def _first_incomplete(self) -> int:
        """The first step whose choice is missing or no longer valid (REVIEW when all are done)."""
        if self.location not in self._offered_keys():
            return LOCATION
        if self.plan_id not in self._plan_ids_here():
            return PLAN
        if not self.image_id or self.image_id not in {i["id"] for i in self._images}:
            return IMAGE
        if self._label_problem() or self._password_problem():
            return DETAILS
        return REVIEW

    def _check_step(self, step: int) -> bool:
        """Validate one step's choices, setting that step's error messages; True when complete."""
        if step == LOCATION:
            self.location_error = "" if self.location in self._offered_keys() else "Choose where the server runs."
            return not self.location_error
        if step == PLAN:
            self.plan_error = "" if self.plan_id in self._plan_ids_here() else "Choose a plan."
            return not self.plan_error
        if step == IMAGE:
            ok = bool(self.image_id) and self.image_id in {i["id"] for i in self._images}
            self.image_error = "" if ok else "Choose an operating system."
            return ok
        if step == DETAILS:
            self.label_error = self._label_problem()
            self.password_error = (self._password_problem() if self._root_password
                                   else "Enter a root password, or generate one.")
            valid_keys = {k.id for k in self.ssh_options}
            self.ssh_error = "" if all(k in valid_keys for k in self.ssh_chosen) else \
                "Choose keys of this organization."
            return not (self.label_error or self.password_error or self.ssh_error)
        return True

    def _load_images(self, actor) -> None:
        self._images = plans.images_offered(actor, self._org_id, self._account())
        self.image_options = image_groups(self._images)
        if self.image_id not in {i["id"] for i in self._images}:
            self.image_id = ""

    def _quote(self, actor) -> None:
        q = servers.quote(actor, self._org_id, plan_id=self.plan_id, region=self._region(), backups=self.backups)
        self.hourly, self.monthly = format_money(q["hourly"]), format_money(q["monthly"])
        self.balance, self.needed = format_money(q["balance"]), format_money(q["needed"])
        self.runway_hours, self.enough = int(q["runway_hours"]), bool(q["enough"])
        self.funds_short = not self.enough
        self.short_by = format_money(_decimal(q["needed"]) - _decimal(q["balance"])) if not self.enough else ""

    def _enter(self, step: int):
        """Show `step` (fetching what it needs) from its top; returns the event that scrolls there."""
        actor = self._require_actor()
        if step == IMAGE or (step > IMAGE and not self._images):
            self._load_images(actor)
        if step == REVIEW:
            self._quote(actor)
        self.step = step
        self.furthest = max(self.furthest, step)
        return SCROLL_TO_TOP

    def _run(self, fn, *args):
        try:
            return fn(*args)
        except ServiceError as exc:
            return self._fail(exc)

    # ---- events ----
    @rx.event
    def load(self):
        self.loading = True
        self.denied = False
        self._reset()
        yield
        try:
            self._fetch()
        except ServiceError as exc:
            yield self._fail(exc)
        finally:
            self.loading = False

    @rx.event
    def go_to(self, step: int):
        """The step indicator: back to any step reached before (never past an incomplete one)."""
        if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step < len(STEPS):
            return rx.toast.error(BAD_REQUEST)
        if step == self.step:
            return None
        if step > min(self.furthest, self._first_incomplete()):
            return None
        return self._run(self._enter, step)

    @rx.event
    def next_step(self):
        if self.step >= REVIEW:
            return None
        if not self._check_step(self.step):
            return None
        return self._run(self._enter, self.step + 1)

    @rx.event
    def prev_step(self):
        if self.step > LOCATION:
            return self._run(self._enter, self.step - 1)
        return None

    @rx.event
    def choose_location(self, key: str):
        if not isinstance(key, str) or key not in self._offered_keys():
            return rx.toast.error(BAD_REQUEST)
        if key != self.location:
            old_account = self._account()
            self.location = key
            self.location_error = ""
            self.plan_options = plan_groups(plans_at(self._offered, key))
            if self.plan_id not in self._plan_ids_here():
                self.plan_id = ""
                self._update_estimate()
            if self._account() != old_account:
                self.image_id = ""
                self._images, self.image_options = [], []
            self.furthest = min(self.furthest, self._first_incomplete())
        return None

    @rx.event
    def choose_plan(self, plan_id: str):
        if not isinstance(plan_id, str) or plan_id not in self._plan_ids_here():
            return rx.toast.error(BAD_REQUEST)
        self.plan_id = plan_id
        self.plan_error = ""
        self._update_estimate()
        return None

    @rx.event
    def choose_image(self, image_id: str):
        if not isinstance(image_id, str) or image_id not in {i["id"] for i in self._images}:
            return rx.toast.error(BAD_REQUEST)
        self.image_id = image_id
        self.image_error = ""
        return None

    @rx.event
    def set_label(self, value: str):
        """Checked live against the same rules the service applies."""
        if not isinstance(value, str):
            return rx.toast.error(BAD_REQUEST)
        self.label = value[:INPUT_MAX]
        self.label_error = self._label_problem() if self.label.strip() else ""
        self.furthest = min(self.furthest, max(self._first_incomplete(), self.step))
        return None

    @rx.event
    def set_root_password(self, value: str):
        """What the user typed: kept only in `_root_password`; the browser gets the strength."""
        if not isinstance(value, str):
            return rx.toast.error(BAD_REQUEST)
        value = value[:INPUT_MAX]
        if value != self._root_password:
            self.password_generated = False  # their own password now
        self._root_password = value
        self.password_set = bool(value)
        self.strength, self.strength_message = password_strength(value)
        self.password_error = ""
        self.furthest = min(self.furthest, max(self._first_incomplete(), self.step))
        return None

    @rx.event
    def generate_password(self):
        """A strong password, shown once so the user can store it (see the module docstring)."""
        password = servers.generate_root_password()
        self._root_password = password
        self.password_set = self.password_generated = True
        self.strength, self.strength_message = password_strength(password)
        self.password_error = ""
        self.reveal = True
        return rx.set_value("root-password", password)

    @rx.event
    def toggle_reveal(self):
        self.reveal = not self.reveal

    @rx.event
    def set_ssh_keys(self, values: list[str]):
        """The checked SSH key cards (ids of this organization's keys, in the order offered)."""
        valid = [k.id for k in self.ssh_options]
        if not isinstance(values, list) or not all(isinstance(v, str) and v in valid for v in values):
            return rx.toast.error(BAD_REQUEST)
        self.ssh_chosen = [k for k in valid if k in values]
        self.ssh_error = ""
        return None

    @rx.event
    def set_backups(self, value: bool):
        if not isinstance(value, bool):
            return rx.toast.error(BAD_REQUEST)
        self.backups = value
        self._update_estimate()
        if self.step == REVIEW:
            return self._run(lambda: self._quote(self._require_actor()))
        return None

    @rx.event
    def refresh_quote(self):
        """"Check again" on the review step (after adding funds in another tab)."""
        if self.step != REVIEW:
            return None
        return self._run(lambda: self._quote(self._require_actor()))

    @rx.event(background=True)
    async def create(self):
        """Order the server (a provider call: runs in the background with the button disabled)."""
        async with self:
            if self.creating or self.loading:
                return None
            try:
                actor = self._require_actor()
            except ServiceError as exc:
                return self._fail(exc)
            self.create_error = ""
            self.funds_short = False
            incomplete = self._first_incomplete()
            if incomplete < REVIEW:
                self._check_step(incomplete)
                self.step = incomplete
                return rx.toast.error("Complete this step first.")
            order = {"plan_id": self.plan_id, "region": self._region(), "image": self.image_id,
                     "label": self.label.strip(), "root_password": self._root_password,
                     "ssh_key_ids": list(self.ssh_chosen), "backups": self.backups}
            org_id = self._org_id
            self.creating = True
        try:
            created = await servers.create_server(actor, org_id, **order)
        except ServiceError as exc:
            async with self:
                self.creating = False
                return self._create_failed(exc)
        async with self:
            self.creating = False
            self._root_password = ""
            self.password_set = self.password_generated = False
            self.strength, self.strength_message = 0, ""
            return [rx.toast.success(f"Server {created['label']} is on its way. It is ready in a minute or two."),
                    rx.redirect(f"/vps/{created['id']}")]

    def _create_failed(self, exc: ServiceError):
        """Send the error to the step that owns its field; anything else shows on the review step."""
        if isinstance(exc, (PermissionDenied, NotFound)) or exc.code == "unauthenticated":
            return self._fail(exc)
        if isinstance(exc, InsufficientFunds):
            self.funds_short = True
            self.create_error = exc.message
            try:
                self._quote(self._require_actor())
            except ServiceError:
                pass
            return rx.toast.error(exc.message)
        step = FIELD_STEPS.get(exc.field or "")
        if step is None:
            self.create_error = exc.message
            return rx.toast.error(exc.message)
        setattr(self, {"region": "location_error", "plan_id": "plan_error", "image": "image_error",
                       "label": "label_error", "root_password": "password_error", "ssh_key_ids": "ssh_error",
                       "backups": "create_error"}[exc.field], exc.message)
        self.step = step
        return rx.toast.error(exc.message)
