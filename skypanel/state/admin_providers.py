"""/admin/providers: the Linode / DigitalOcean accounts the platform resells through.

Every handler calls `provider_accounts`, which re-checks the platform-admin flag in the database.
API tokens never enter this state: a submitted token is read from the form data, handed to the
service and dropped; rows carry only its last four characters.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from skypanel.backend.services import provider_accounts
from skypanel.backend.services.errors import ServiceError, ValidationError
from skypanel.state.admin import _AdminBase
from skypanel.state.formatting import format_datetime, relative_time
from skypanel.state.session import BAD_REQUEST, form_values, user_zone

KINDS = [("linode", "Linode"), ("digitalocean", "DigitalOcean"), ("simulated", "Simulated (built-in, no cloud)")]
KIND_COLORS = {"linode": "green", "digitalocean": "blue", "simulated": "violet"}  # violet: as the Simulated badge


def regions_to_text(regions: list[dict[str, str]]) -> str:
    return "\n".join(f"{r['id']} = {r['label']}" for r in regions)


def parse_regions(text: str) -> list[dict[str, str]]:
    """"id = Label" per line (the label is optional); blank lines are skipped."""
    out: list[dict[str, str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        rid, _, label = line.partition("=")
        out.append({"id": rid.strip(), "label": label.strip()})
    return out


class AdminProvidersState(_AdminBase):
    loading: bool = True
    rows: list[dict[str, Any]] = []
    testing_id: str = ""  # the row whose "Test connection" is running

    # add dialog (the token is never a var: it is read from the submitted form)
    add_open: bool = False
    add_kind: str = "linode"
    add_error: str = ""
    saving: bool = False  # an add or token replacement is being checked with the provider

    # rotate token dialog
    rotate_open: bool = False
    rotate_id: str = ""
    rotate_name: str = ""
    rotate_error: str = ""
    rotating: bool = False

    # allowed regions dialog
    regions_open: bool = False
    regions_id: str = ""
    regions_name: str = ""
    regions_text: str = ""
    regions_error: str = ""
    saving_regions: bool = False

    def _fetch(self) -> None:
        actor = self._require_actor()
        zone = user_zone(actor)
        rows = []
        for a in provider_accounts.list_accounts(actor):
            ok = a.get("last_test_ok")
            tested = a.get("last_tested_at") or ""
            rows.append({
                "id": a["id"],
                "name": a["name"],
                "kind": a["kind"],
                "kind_label": a["kind_label"],
                "kind_color": KIND_COLORS.get(a["kind"], "gray"),
                "simulated": a["kind"] == "simulated",
                "token": "No token" if a["kind"] == "simulated" else f"•••• {a['token_last4']}",
                "base_url": "Built in (no cloud)" if a["kind"] == "simulated"
                else a["effective_base_url"],
                "is_active": bool(a["is_active"]),
                "test_label": "Never tested" if ok is None else ("Connected" if ok else "Failed"),
                "test_color": "gray" if ok is None else ("green" if ok else "red"),
                "tested": relative_time(tested) if tested else "",
                "tested_exact": format_datetime(tested, zone) if tested else "",
                "test_message": a.get("last_test_message") or "",
                "regions_count": len(a.get("allowed_regions") or []),
                "regions_text": regions_to_text(a.get("allowed_regions") or []),
            })
        self.rows = rows

    def _find(self, account_id: Any) -> dict[str, Any] | None:
        return next((r for r in self.rows if r["id"] == account_id), None) if isinstance(account_id, str) else None

    @rx.event
    def load(self):
        self.loading = True
        self.add_open = self.rotate_open = self.regions_open = False
        self.testing_id = ""
        yield
        try:
            self._fetch()
        except ServiceError as exc:
            yield self._fail(exc)
        finally:
            self.loading = False

    @rx.event
    def refresh(self):
        try:
            self._fetch()
        except ServiceError as exc:
            return self._fail(exc)

    # ---- add ----

    @rx.event
    def open_add(self):
        self.add_kind = "linode"
        self.add_error = ""
        self.add_open = True

    @rx.event
    def set_add_open(self, value: bool):
        self.add_open = bool(value)
        if not value:
            self.add_error = ""

    @rx.event
    def set_add_kind(self, value: str):
        if isinstance(value, str) and value in dict(KINDS):
            self.add_kind = value

    @rx.event
    async def add(self, form_data: dict):
        """Checks the token with the provider before saving (a few seconds at most: the spinner
        shows meanwhile)."""
        values = form_values(form_data, "name", "token", "base_url")
        if values is None:
            yield rx.toast.error(BAD_REQUEST)
            return
        name, token, base_url = values
        if self.add_kind == "simulated":  # its form has no token or URL fields
            token, base_url = "", ""
        self.add_error, self.saving = "", True
        yield
        try:
            actor = self._require_actor()
            added = await provider_accounts.connect_account(actor, kind=self.add_kind, name=name, token=token,
                                                            base_url=base_url)
            self._fetch()
        except ValidationError as exc:
            self.add_error = exc.message
            return
        except ServiceError as exc:
            yield self._fail(exc)
            return
        finally:
            self.saving = False
        self.add_open = False
        yield rx.toast.success(f"Added {added['name']}. Choose the regions you offer.")

    # ---- active flag ----

    @rx.event
    def set_active(self, account_id: str, value: bool):
        if not isinstance(account_id, str) or not isinstance(value, bool):
            return rx.toast.error(BAD_REQUEST)
        try:
            actor = self._require_actor()
            account = provider_accounts.update_account(actor, account_id, is_active=value)
            self._fetch()
        except ServiceError as exc:
            return self._fail(exc)
        return rx.toast.success(f"{account['name']} is now {'active' if value else 'inactive'}.")

    # ---- test connection (network call: background) ----

    @rx.event(background=True)
    async def test_connection(self, account_id: str):
        if not isinstance(account_id, str):
            return rx.toast.error(BAD_REQUEST)
        async with self:
            if self.testing_id:
                return rx.toast.info("A connection test is already running.")
            try:
                actor = self._require_actor()
            except ServiceError as exc:
                return self._fail(exc)
            self.testing_id = account_id
        try:
            result = await provider_accounts.test_connection(actor, account_id)
        except ServiceError as exc:
            async with self:
                self.testing_id = ""
                return self._fail(exc)
        async with self:
            self.testing_id = ""
            try:
                self._require_actor()
                self._fetch()
            except ServiceError as exc:
                return self._fail(exc)
        if result["ok"]:
            return rx.toast.success(result["message"])
        return rx.toast.error(f"Connection failed: {result['message']}")

    # ---- rotate token ----

    @rx.event
    def open_rotate(self, account_id: str):
        row = self._find(account_id)
        if row is None:
            return rx.toast.error("Provider account not found.")
        self.rotate_id, self.rotate_name, self.rotate_error = row["id"], row["name"], ""
        self.rotate_open = True
        return None

    @rx.event
    def set_rotate_open(self, value: bool):
        self.rotate_open = bool(value)
        if not value:
            self.rotate_error = ""

    @rx.event
    async def rotate(self, form_data: dict):
        """The new token is checked with the provider before it replaces the stored one."""
        values = form_values(form_data, "token")
        if values is None or not self.rotate_id:
            yield rx.toast.error(BAD_REQUEST)
            return
        self.rotate_error, self.saving = "", True
        yield
        try:
            actor = self._require_actor()
            account = await provider_accounts.replace_token(actor, self.rotate_id, token=values[0])
            self._fetch()
        except ValidationError as exc:
            self.rotate_error = exc.message
            return
        except ServiceError as exc:
            yield self._fail(exc)
            return
        finally:
            self.saving = False
        self.rotate_open = False
        yield rx.toast.success(f"Token replaced for {account['name']}. Test the connection again.")

    # ---- allowed regions ----

    @rx.event
    def open_regions(self, account_id: str):
        row = self._find(account_id)
        if row is None:
            return rx.toast.error("Provider account not found.")
        self.regions_id, self.regions_name = row["id"], row["name"]
        self.regions_text, self.regions_error = row["regions_text"], ""
        self.regions_open = True
        return None

    @rx.event
    def set_regions_open(self, value: bool):
        self.regions_open = bool(value)
        if not value:
            self.regions_error = ""

    @rx.event
    def save_regions(self, form_data: dict):
        values = form_values(form_data, "regions")
        if values is None or not self.regions_id:
            return rx.toast.error(BAD_REQUEST)
        text = values[0][:20_000]
        self.regions_text = text
        try:
            actor = self._require_actor()
            account = provider_accounts.update_account(actor, self.regions_id, allowed_regions=parse_regions(text))
            self._fetch()
        except ValidationError as exc:
            self.regions_error = exc.message
            return None
        except ServiceError as exc:
            return self._fail(exc)
        self.regions_open = False
        count = len(account["allowed_regions"])
        return rx.toast.success(f"{account['name']}: {count} region(s) offered to customers.")

    # ---- delete ----

    @rx.event
    def delete(self, account_id: str):
        if not isinstance(account_id, str):
            return rx.toast.error(BAD_REQUEST)
        row = self._find(account_id)
        try:
            actor = self._require_actor()
            provider_accounts.delete_account(actor, account_id)
            self._fetch()
        except ServiceError as exc:
            return self._fail(exc)
        return rx.toast.success(f"Deleted {row['name'] if row else 'the provider account'}.")
