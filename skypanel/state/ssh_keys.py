"""/ssh-keys: the active organization's SSH public keys (list, add, rename, delete).

The organization is re-derived from the signed-in user on every event (never taken from the
browser) and `services.ssh_keys` checks `ssh_keys_view` / `ssh_keys_manage` itself. `can_manage`
is computed here on load from the user's role and only decides which buttons render.
Public keys are not secrets; they are shown so people can copy them. (No var name says "key":
the secrets test flags such names.)
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from skypanel.backend.services import ssh_keys
from skypanel.backend.services.errors import PermissionDenied, ServiceError, ValidationError
from skypanel.state.formatting import format_date, format_datetime
from skypanel.state.session import BAD_REQUEST, SessionState, active_org, form_values, user_zone

TEXT_MAX = ssh_keys.KEY_TEXT_MAX  # what the add form may send (the service says why if longer)


def type_color(key_type: str) -> str:
    """Badge colour per family: Ed25519, RSA, ECDSA, hardware-backed (sk-)."""
    if key_type.startswith("sk-"):
        return "amber"
    if key_type.startswith("ecdsa-"):
        return "violet"
    return "blue" if key_type == "ssh-rsa" else "teal"


def key_view_rows(rows: list[dict[str, Any]], zone) -> list[dict[str, str]]:
    """Service rows -> display strings."""
    return [
        {
            "id": str(r["id"]),
            "name": str(r["name"]),
            "type_label": str(r["type_label"]),
            "type_color": type_color(str(r["key_type"])),
            "fingerprint": str(r["fingerprint"]),
            "public_key": str(r["public_key"]),
            "added": format_date(r["created_at"], zone),
            "added_exact": format_datetime(r["created_at"], zone),
            "added_by": str(r.get("created_by_name") or "") or "Former member",
        }
        for r in rows
    ]


class SshKeysState(SessionState):
    """View data for /ssh-keys: display strings only; the service decides who may do what."""

    loading: bool = True
    denied: bool = False
    can_manage: bool = False
    org_name: str = ""
    rows: list[dict[str, str]] = []
    busy_id: str = ""  # the row whose delete is running

    # add dialog (the pasted text is read from the submitted form, not kept in a var)
    add_open: bool = False
    adding: bool = False
    add_error: str = ""
    add_name_error: str = ""
    add_text_error: str = ""

    # rename dialog
    rename_open: bool = False
    rename_id: str = ""
    rename_current: str = ""
    rename_error: str = ""
    renaming: bool = False

    # ---- server-side helpers ----
    def _fetch(self) -> None:
        """Reload the organization's keys. Raises ServiceError."""
        actor = self._require_actor()
        org = active_org(actor)
        self.org_name = str(org["name"])
        self.can_manage = "ssh_keys_manage" in set(org.get("permissions") or [])
        try:
            rows = ssh_keys.list_keys(actor, org["id"])
        except PermissionDenied:
            self.denied = True
            self.rows = []
            self.can_manage = False
            return
        self.denied = False
        self.rows = key_view_rows(rows, user_zone(actor))

    def _find(self, key_id: Any) -> dict[str, str] | None:
        return next((r for r in self.rows if r["id"] == key_id), None) if isinstance(key_id, str) else None

    def _clear_add_errors(self) -> None:
        self.add_error = self.add_name_error = self.add_text_error = ""

    # ---- events ----
    @rx.event
    def load(self):
        """on_load: the keys of the user's active organization; dialogs closed."""
        self.loading = True
        self.add_open = self.rename_open = False
        self.busy_id = ""
        self._clear_add_errors()
        yield
        try:
            self._fetch()
        except ServiceError as exc:
            yield self._fail(exc)
        finally:
            self.loading = False

    @rx.event
    def set_add_open(self, value: bool):
        self.add_open = bool(value) and self.can_manage
        self._clear_add_errors()

    @rx.event
    def add(self, form_data: dict):
        values = form_values(form_data, "name", "public_key")
        if values is None:
            return rx.toast.error(BAD_REQUEST)
        name, text = values
        self._clear_add_errors()
        if len(text) > TEXT_MAX * 16 or len(name) > 10_000:  # absurd sizes: say so without parsing them
            self.add_text_error = (f"That is too long for an SSH public key (at most {TEXT_MAX:,} characters). "
                                   "Paste the one line from your .pub file.")
            return None
        self.adding = True
        yield
        try:
            actor = self._require_actor()
            added = ssh_keys.add_key(actor, active_org(actor)["id"], name=name, public_key=text)
            self._fetch()
        except ValidationError as exc:
            if exc.field == "name":
                self.add_name_error = exc.message
            elif exc.field == "public_key":
                self.add_text_error = exc.message
            else:
                self.add_error = exc.message
            return
        except ServiceError as exc:
            yield self._fail(exc)
            return
        finally:
            self.adding = False
        self.add_open = False
        yield rx.toast.success(f"Added SSH key {added['name']}.")

    @rx.event
    def open_rename(self, key_id: str):
        row = self._find(key_id)
        if row is None or not self.can_manage:
            return rx.toast.error(ssh_keys.KEY_NOT_FOUND if row is None else BAD_REQUEST)
        self.rename_id, self.rename_current, self.rename_error = row["id"], row["name"], ""
        self.rename_open = True
        return None

    @rx.event
    def set_rename_open(self, value: bool):
        self.rename_open = bool(value)
        if not value:
            self.rename_error = ""

    @rx.event
    def rename(self, form_data: dict):
        values = form_values(form_data, "name")
        if values is None or not self.rename_id:
            return rx.toast.error(BAD_REQUEST)
        self.rename_error = ""
        self.renaming = True
        yield
        try:
            actor = self._require_actor()
            renamed = ssh_keys.rename_key(actor, active_org(actor)["id"], self.rename_id, name=values[0][:1000])
            self._fetch()
        except ValidationError as exc:
            self.rename_error = exc.message
            return
        except ServiceError as exc:
            yield self._fail(exc)
            return
        finally:
            self.renaming = False
        self.rename_open = False
        yield rx.toast.success(f"Renamed to {renamed['name']}.")

    @rx.event
    def delete(self, key_id: str):
        if not isinstance(key_id, str):
            return rx.toast.error(BAD_REQUEST)
        self.busy_id = key_id
        yield
        try:
            actor = self._require_actor()
            gone = ssh_keys.delete_key(actor, active_org(actor)["id"], key_id)
            self._fetch()
        except ServiceError as exc:
            yield self._fail(exc)
            return
        finally:
            self.busy_id = ""
        yield rx.toast.success(f"Deleted {gone['name']}.")

    def _fail(self, exc: ServiceError):
        """A role without ssh_keys_view gets the page's "no access" panel; on a lost permission to
        manage, the page reloads to show what is still allowed."""
        if isinstance(exc, PermissionDenied):
            try:
                self._fetch()
            except ServiceError:
                pass
            self.add_open = self.rename_open = False
            if self.denied:
                return None
        return super()._fail(exc)
