"""/admin/plans: retail plans resold from the provider catalogs, their prices and category names.

Every handler calls the `plans` / `catalog` services, which re-check the platform-admin flag in
the database, so a browser calling these events directly gets "This area is for platform
administrators." The dialog's values are only drafts: the service validates them again on save.
The catalog refresh is a provider call and runs in a background task.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import reflex as rx

from skypanel.backend.services import catalog, plans, pricing
from skypanel.backend.services import provider_accounts as pa
from skypanel.backend.services.errors import ServiceError, ValidationError
from skypanel.backend.services.platform_settings import DEFAULT_CATEGORY_NAMES
from skypanel.state.admin_providers import KIND_COLORS
from skypanel.state.admin import _AdminBase
from skypanel.state.formatting import format_datetime, format_money, relative_time
from skypanel.state.session import BAD_REQUEST, form_values, user_zone

ALL = "all"
CATEGORIES = list(DEFAULT_CATEGORY_NAMES)
TEXT_MAX = 200  # drafts longer than any valid value are cut (the service refuses them anyway)


def memory_label(mb: int) -> str:
    if mb >= 1024:
        gb = Decimal(mb) / 1024
        return f"{gb.normalize():f} GB"
    return f"{mb} MB"


def transfer_label(gb: int) -> str:
    if gb >= 1000 and gb % 100 == 0:
        return f"{(Decimal(gb) / 1000).normalize():f} TB"
    return f"{gb} GB"


def specs_text(p: dict[str, Any]) -> str:
    """'2 vCPU · 4 GB RAM · 80 GB disk · 4 TB transfer'."""
    parts = [f"{p.get('vcpus') or 0} vCPU", f"{memory_label(int(p.get('memory_mb') or 0))} RAM",
             f"{p.get('disk_gb') or 0} GB disk"]
    if p.get("transfer_gb"):
        parts.append(f"{transfer_label(int(p['transfer_gb']))} transfer")
    return " · ".join(parts)


def _decimal(text: str) -> Decimal | None:
    """A draft price as Decimal for the live preview (None when it is not a plain amount)."""
    text = (text or "").strip().lstrip("$").strip()
    if not text or not all(c.isdigit() or c == "." for c in text) or not text.isascii():
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


class AdminPlansState(_AdminBase):
    loading: bool = True
    rows: list[dict[str, Any]] = []
    accounts: list[dict[str, str]] = []
    category_names: dict[str, str] = dict(DEFAULT_CATEGORY_NAMES)
    filter_provider: str = ALL
    filter_category: str = ALL
    toggling_id: str = ""

    # the plan dialog (new or edit); every value here is a draft checked again by the service
    dialog_open: bool = False
    dialog_mode: str = "new"  # new | edit
    edit_id: str = ""
    edit_title: str = ""
    f_account: str = ""
    f_plan: str = ""
    f_name: str = ""
    f_category: str = "standard"
    f_base: str = ""
    f_markup: str = ""
    f_backup: str = ""
    f_order: str = "0"
    f_regions: list[str] = []
    f_active: bool = True
    f_current_regions: list[str] = []  # the plan's regions when the edit dialog opened
    dialog_error: str = ""
    saving: bool = False

    # the chosen account's catalog, as the dialog needs it
    catalog_plans: list[dict[str, Any]] = []
    offered_regions: list[dict[str, str]] = []
    catalog_loaded: bool = False  # a catalog exists for the chosen account
    catalog_stale: bool = False
    catalog_refreshed: str = ""
    catalog_refreshed_exact: str = ""
    refreshing: bool = False

    # category names dialog
    names_open: bool = False
    names_error: str = ""

    # ---- view data ----

    @rx.var
    def visible_rows(self) -> list[dict[str, Any]]:
        return [r for r in self.rows
                if (self.filter_provider == ALL or r["provider_account_id"] == self.filter_provider)
                and (self.filter_category == ALL or r["category"] == self.filter_category)]

    @rx.var
    def filtered(self) -> bool:
        return self.filter_provider != ALL or self.filter_category != ALL

    @rx.var
    def category_options(self) -> list[dict[str, str]]:
        return [{"value": c, "label": self.category_names.get(c, c)} for c in CATEGORIES]

    @rx.var
    def selected_plan(self) -> dict[str, Any]:
        return next((p for p in self.catalog_plans if p["id"] == self.f_plan), {})

    @rx.var
    def plan_hint(self) -> str:
        plan = next((p for p in self.catalog_plans if p["id"] == self.f_plan), None)
        if plan is None:
            return "Specs and the provider's monthly price are shown for each plan."
        return f"{plan['specs']} · the provider charges {plan['price']}"

    @rx.var
    def region_options(self) -> list[dict[str, str]]:
        """Allowed regions where the provider sells the chosen plan (when the catalog no longer
        lists the plan: the allowed ones it already has)."""
        plan = next((p for p in self.catalog_plans if p["id"] == self.f_plan), None)
        sold = set(plan["regions"]) if plan is not None else set(self.f_current_regions)
        return [r for r in self.offered_regions if r["id"] in sold]

    @rx.var
    def dropped_regions(self) -> str:
        """Regions the plan has that can no longer be offered (removed on save)."""
        options = {r["id"] for r in self.region_options}
        gone = [r for r in self.f_current_regions if r not in options]
        return ", ".join(gone)

    @rx.var
    def preview(self) -> dict[str, str]:
        base, markup, backup = _decimal(self.f_base), _decimal(self.f_markup), _decimal(self.f_backup or "0")
        if base is None or markup is None or backup is None:
            return {"ok": "", "monthly": "—", "hourly": "—", "backup_hourly": "—", "margin": ""}
        price = pricing.Price(base, markup, backup)
        margin = f"{(markup / price.monthly * 100).quantize(Decimal('0.1'))}% margin" if price.monthly > 0 else ""
        return {"ok": "yes", "monthly": format_money(price.monthly), "hourly": format_money(price.hourly),
                "backup_hourly": format_money(price.backup_hourly), "margin": margin}

    # ---- loading ----

    def _fetch(self) -> None:
        actor = self._require_actor()
        accounts = pa.list_accounts(actor)
        self.category_names = plans.admin_category_names(actor)
        self.accounts = [{"id": a["id"], "name": a["name"], "kind_label": a["kind_label"],
                          "label": f"{a['name']} ({a['kind_label']})"} for a in accounts]
        rows = []
        zone = user_zone(actor)
        for p in plans.list_plans(actor):
            pending = p.get("pending")
            drift = p["catalog_price"] and _decimal(p["catalog_price"]) != _decimal(p["base_price"])
            rows.append({
                "id": p["id"],
                "name": p["name"],
                "provider_account_id": p["provider_account_id"],
                "provider_name": p["provider_name"],
                "kind_label": p["provider_kind_label"],
                "kind_color": KIND_COLORS.get(p["provider_kind"], "gray"),
                "provider_plan": p["provider_plan_label"],
                "provider_plan_id": p["provider_plan_id"],
                "category": p["category"],
                "category_label": p["category_label"],
                "specs": specs_text(p),
                "base": format_money(p["base_price"]),
                "markup": format_money(p["markup"]),
                "backup": format_money(p["backup_price"]),
                "monthly": format_money(p["monthly"]),
                "hourly": format_money(p["hourly"]),
                "backup_hourly": format_money(p["backup_hourly"]),
                "base_raw": _plain(p["base_price"]),
                "markup_raw": _plain(p["markup"]),
                "backup_raw": _plain(p["backup_price"]),
                "regions": p["region_labels"],
                "region_ids": p["regions"],
                "is_active": bool(p["is_active"]),
                "display_order": str(p["display_order"]),
                "servers": p["servers"],
                "pending": (f"From {datetime.fromisoformat(pending['effective_from']).astimezone(zone):%H:%M}: "
                            f"{format_money(pending['monthly'])}/mo") if pending else "",
                "pending_exact": (f"The new price applies to billing hours from "
                                  f"{format_datetime(pending['effective_from'], zone)}") if pending else "",
                "notice": ("The provider no longer lists this plan." if not p["in_catalog"] else
                           f"Provider price is now {format_money(p['catalog_price'])}." if drift else ""),
            })
        self.rows = rows
        if self.filter_provider != ALL and not any(a["id"] == self.filter_provider for a in self.accounts):
            self.filter_provider = ALL

    def _find(self, plan_id: Any) -> dict[str, Any] | None:
        return next((r for r in self.rows if r["id"] == plan_id), None) if isinstance(plan_id, str) else None

    @rx.event
    def load(self):
        self.loading = True
        self.dialog_open = self.names_open = False
        self.toggling_id = ""
        self.refreshing = False
        yield
        try:
            self._fetch()
        except ServiceError as exc:
            yield self._fail(exc)
        finally:
            self.loading = False

    # ---- filters ----

    @rx.event
    def set_filter_provider(self, value: str):
        if isinstance(value, str) and (value == ALL or any(a["id"] == value for a in self.accounts)):
            self.filter_provider = value

    @rx.event
    def set_filter_category(self, value: str):
        if isinstance(value, str) and (value == ALL or value in CATEGORIES):
            self.filter_category = value

    @rx.event
    def clear_filters(self):
        self.filter_provider = self.filter_category = ALL

    # ---- the active switch ----

    @rx.event
    def set_active(self, plan_id: str, value: bool):
        if not isinstance(plan_id, str) or not isinstance(value, bool):
            return rx.toast.error(BAD_REQUEST)
        self.toggling_id = plan_id
        try:
            actor = self._require_actor()
            plan = plans.update_plan(actor, plan_id, is_active=value)
            self._fetch()
        except ServiceError as exc:
            return self._fail(exc)
        finally:
            self.toggling_id = ""
        if value:
            return rx.toast.success(f"{plan['name']} is offered to customers again.")
        return rx.toast.success(f"{plan['name']} is no longer offered. Servers using it keep running.")

    # ---- the plan dialog ----

    def _load_catalog(self, actor, account_id: str) -> None:
        view = catalog.admin_catalog(actor, account_id)
        cat = view["catalog"] or {}
        self.catalog_loaded = view["catalog"] is not None
        self.catalog_stale = bool(view["stale"])
        refreshed = cat.get("refreshed_at") or ""
        self.catalog_refreshed = relative_time(refreshed) if refreshed else ""
        self.catalog_refreshed_exact = format_datetime(refreshed, user_zone(actor)) if refreshed else ""
        self.offered_regions = [{"id": r["id"], "label": r["label"], "provider_label": r["provider_label"]}
                                for r in view["offered_regions"]]
        self.catalog_plans = [{
            "id": p["id"],
            "label": p["label"],
            "specs": specs_text(p),
            "price": format_money(p["price_monthly"]) + "/mo",
            "price_raw": p["price_monthly"],
            "text": f"{p['label']} — {specs_text(p)} — {format_money(p['price_monthly'])}/mo",
            "regions": list(p.get("regions") or []),
        } for p in cat.get("plans") or []]

    def _reset_dialog(self) -> None:
        self.dialog_error = ""
        self.f_plan = self.f_name = self.f_base = self.f_markup = self.f_backup = ""
        self.f_category, self.f_order, self.f_active = "standard", "0", True
        self.f_regions, self.f_current_regions = [], []
        self.catalog_plans, self.offered_regions = [], []
        self.catalog_loaded = self.catalog_stale = False
        self.catalog_refreshed = self.catalog_refreshed_exact = ""

    @rx.event
    def open_new(self):
        try:
            actor = self._require_actor()
            self._fetch()
            self._reset_dialog()
            self.dialog_mode, self.edit_id, self.edit_title = "new", "", ""
            self.f_account = self.accounts[0]["id"] if self.accounts else ""
            if self.f_account:
                self._load_catalog(actor, self.f_account)
        except ServiceError as exc:
            return self._fail(exc)
        if not self.accounts:
            return rx.toast.error("Connect a provider on the Providers page first.")
        self.dialog_open = True
        return None

    @rx.event
    def open_edit(self, plan_id: str):
        row = self._find(plan_id)
        if row is None:
            return rx.toast.error("Plan not found.")
        try:
            actor = self._require_actor()
            self._reset_dialog()
            self._load_catalog(actor, row["provider_account_id"])
        except ServiceError as exc:
            return self._fail(exc)
        self.dialog_mode, self.edit_id = "edit", row["id"]
        self.edit_title = f"{row['provider_name']} · {row['provider_plan']} ({row['provider_plan_id']})"
        self.f_account, self.f_plan = row["provider_account_id"], row["provider_plan_id"]
        self.f_name, self.f_category = row["name"], row["category"]
        self.f_base, self.f_markup, self.f_backup = row["base_raw"], row["markup_raw"], row["backup_raw"]
        self.f_order, self.f_active = row["display_order"], row["is_active"]
        self.f_regions = list(row["region_ids"])
        self.f_current_regions = list(row["region_ids"])
        self.dialog_open = True
        return None

    @rx.event
    def set_dialog_open(self, value: bool):
        self.dialog_open = bool(value)
        if not value:
            self.dialog_error = ""

    @rx.event
    def set_f_account(self, value: str):
        if self.dialog_mode != "new" or not isinstance(value, str) or not any(a["id"] == value for a in self.accounts):
            return None
        try:
            actor = self._require_actor()
            self._reset_dialog()
            self.f_account = value
            self._load_catalog(actor, value)
        except ServiceError as exc:
            return self._fail(exc)
        return None

    @rx.event
    def set_f_plan(self, value: str):
        if self.dialog_mode != "new" or not isinstance(value, str):
            return
        plan = next((p for p in self.catalog_plans if p["id"] == value), None)
        if plan is None:
            return
        self.f_plan = value
        self.f_base = plan["price_raw"]
        if not self.f_name.strip():
            self.f_name = plan["label"][:60]
        sold = set(plan["regions"])
        self.f_regions = [r["id"] for r in self.offered_regions if r["id"] in sold]
        self.dialog_error = ""

    def _set_text(self, name: str, value: Any) -> None:
        if isinstance(value, str):
            setattr(self, name, value[:TEXT_MAX])
            self.dialog_error = ""

    @rx.event
    def set_f_name(self, value: str):
        self._set_text("f_name", value)

    @rx.event
    def set_f_base(self, value: str):
        self._set_text("f_base", value)

    @rx.event
    def set_f_markup(self, value: str):
        self._set_text("f_markup", value)

    @rx.event
    def set_f_backup(self, value: str):
        self._set_text("f_backup", value)

    @rx.event
    def set_f_order(self, value: str):
        self._set_text("f_order", value)

    @rx.event
    def set_f_category(self, value: str):
        if isinstance(value, str) and value in CATEGORIES:
            self.f_category = value

    @rx.event
    def set_f_active(self, value: bool):
        if isinstance(value, bool):
            self.f_active = value

    @rx.event
    def toggle_region(self, region_id: str, checked: bool):
        if not isinstance(region_id, str) or not isinstance(checked, bool):
            return
        if checked and region_id not in self.f_regions and any(r["id"] == region_id for r in self.region_options):
            order = [r["id"] for r in self.offered_regions]
            self.f_regions = sorted([*self.f_regions, region_id], key=lambda r: order.index(r) if r in order else 999)
        elif not checked:
            self.f_regions = [r for r in self.f_regions if r != region_id]
        self.dialog_error = ""

    @rx.event(background=True)
    async def refresh_catalog(self):
        async with self:
            if self.refreshing or not self.f_account:
                return None
            try:
                actor = self._require_actor()
            except ServiceError as exc:
                return self._fail(exc)
            account_id = self.f_account
            self.refreshing = True
        try:
            result = await catalog.admin_refresh(actor, account_id)
        except ServiceError as exc:
            async with self:
                self.refreshing = False
                if isinstance(exc, ValidationError):
                    return rx.toast.error(exc.message)
                return self._fail(exc)
        async with self:
            self.refreshing = False
            try:
                if self.f_account == account_id:
                    self._load_catalog(actor, account_id)
                self._fetch()
            except ServiceError as exc:
                return self._fail(exc)
        return rx.toast.success(f"Catalog refreshed: {len(result['plans'])} plans, {len(result['regions'])} regions, "
                                f"{len(result['images'])} images.")

    @rx.event
    def save(self, form_data: dict | None = None):
        if self.saving:
            return None
        if isinstance(form_data, dict):  # what the form holds wins over drafts still on their way
            for key, attr in (("name", "f_name"), ("base_price", "f_base"), ("markup", "f_markup"),
                              ("backup_price", "f_backup"), ("display_order", "f_order")):
                if isinstance(form_data.get(key), str):
                    setattr(self, attr, form_data[key][:TEXT_MAX])
        options = {r["id"] for r in self.region_options}
        regions = [r for r in self.f_regions if r in options]
        self.dialog_error = ""
        self.saving = True
        try:
            actor = self._require_actor()
            if self.dialog_mode == "edit":
                try:
                    order = int(self.f_order.strip())
                except ValueError:
                    raise ValidationError("The display order must be a whole number from 0 to 100000.",
                                          field="display_order") from None
                plan = plans.update_plan(actor, self.edit_id, name=self.f_name, category=self.f_category,
                                         base_price=self.f_base, markup=self.f_markup,
                                         backup_price=self.f_backup or "0", regions=regions,
                                         is_active=self.f_active, display_order=order)
            else:
                if not self.f_plan:
                    raise ValidationError("Choose the provider's plan.", field="provider_plan_id")
                plan = plans.create_plan(actor, provider_account_id=self.f_account, provider_plan_id=self.f_plan,
                                         name=self.f_name, category=self.f_category, base_price=self.f_base,
                                         markup=self.f_markup, backup_price=self.f_backup or "0",
                                         regions=regions, is_active=self.f_active)
            self._fetch()
        except ValidationError as exc:
            self.dialog_error = exc.message
            return None
        except ServiceError as exc:
            return self._fail(exc)
        finally:
            self.saving = False
        self.dialog_open = False
        if self.dialog_mode == "new":
            return rx.toast.success(f"Created {plan['name']} at {format_money(plan['monthly'])}/mo "
                                    f"({format_money(plan['hourly'])}/h).")
        pending = plan.get("pending")
        if pending:
            return rx.toast.success(f"Saved {plan['name']}. The new price applies to billing hours from "
                                    f"{pending['effective_from'][11:16]} UTC.")
        return rx.toast.success(f"Saved {plan['name']}.")

    # ---- delete ----

    @rx.event
    def delete(self, plan_id: str):
        if not isinstance(plan_id, str):
            return rx.toast.error(BAD_REQUEST)
        row = self._find(plan_id)
        try:
            actor = self._require_actor()
            plans.delete_plan(actor, plan_id)
            self._fetch()
        except ServiceError as exc:
            return self._fail(exc)
        return rx.toast.success(f"Deleted {row['name'] if row else 'the plan'}.")

    # ---- category names ----

    @rx.event
    def open_names(self):
        try:
            self.category_names = plans.admin_category_names(self._require_actor())
        except ServiceError as exc:
            return self._fail(exc)
        self.names_error = ""
        self.names_open = True
        return None

    @rx.event
    def set_names_open(self, value: bool):
        self.names_open = bool(value)
        if not value:
            self.names_error = ""

    @rx.event
    def save_names(self, form_data: dict):
        values = form_values(form_data, *[f"category_{c}" for c in CATEGORIES])
        if values is None:
            return rx.toast.error(BAD_REQUEST)
        try:
            actor = self._require_actor()
            plans.set_category_names(actor, {c: v[:TEXT_MAX] for c, v in zip(CATEGORIES, values)})
            self._fetch()
        except ValidationError as exc:
            self.names_error = exc.message
            return None
        except ServiceError as exc:
            return self._fail(exc)
        self.names_open = False
        return rx.toast.success("Category names saved. Customers see them when choosing a plan.")


def _plain(amount: str) -> str:
    """'12.5000' -> '12.50', '3.0000' -> '3', '0.0125' -> '0.0125' (how the admin would type it)."""
    value = Decimal(amount)
    if value == value.to_integral_value():
        return str(value.quantize(Decimal("1")))
    text = format(value.normalize(), "f")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"
