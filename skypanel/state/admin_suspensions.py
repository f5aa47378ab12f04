"""/admin/suspensions: suspended organizations, those about to be, and billing holds.

Every handler re-checks the platform-admin flag through services/dunning.py; organization ids sent
by the browser are only used as lookups the service validates.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from skypanel.backend.services import dunning
from skypanel.backend.services.errors import ServiceError, ValidationError
from skypanel.state.admin import _AdminBase
from skypanel.state.formatting import format_datetime
from skypanel.state.session import BAD_REQUEST, form_values, user_zone

STATUS = {"suspended": ("Suspended", "red"), "due": ("Suspension due", "amber"), "hold": ("On hold", "blue")}


class AdminSuspensionsState(_AdminBase):
    loading: bool = True
    rows: list[dict[str, Any]] = []
    hold_open: bool = False
    hold_org_id: str = ""
    hold_org_name: str = ""
    hold_error: str = ""
    saving: bool = False

    def _fetch(self) -> None:
        actor = self._require_actor()
        zone = user_zone(actor)
        self.rows = [{
            "id": r["organization_id"], "name": r["name"], "balance": r["balance_display"],
            "servers": str(r["servers"]), "status_label": STATUS[r["status"]][0], "status_color": STATUS[r["status"]][1],
            "since": format_datetime(r["suspended_at"] or r["negative_since"], zone),
            "suspend_at": format_datetime(r["suspend_at"], zone),
            "hold_until": format_datetime(r["hold_until"], zone), "hold_reason": r["hold_reason"],
            "held": bool(r["hold_until"]), "owed": r["amount_to_add_display"],
        } for r in dunning.admin_list(actor)]

    @rx.event
    def load(self):
        self.loading = True
        yield
        try:
            self._fetch()
        except ServiceError as exc:
            yield self._fail(exc)
        finally:
            self.loading = False

    @rx.event
    def open_hold(self, org_id: str, name: str):
        if not isinstance(org_id, str) or not isinstance(name, str):
            return rx.toast.error(BAD_REQUEST)
        self.hold_org_id, self.hold_org_name, self.hold_error, self.hold_open = org_id, name[:100], "", True

    @rx.event
    def set_hold_open(self, value: bool):
        self.hold_open = bool(value)

    @rx.event
    async def place_hold(self, form_data: dict):
        values = form_values(form_data, "until", "reason")
        if values is None:
            yield rx.toast.error(BAD_REQUEST)
            return
        self.saving = True
        yield
        try:
            result = await dunning.place_hold(self._require_actor(), self.hold_org_id, until=values[0],
                                              reason=values[1])
            self.hold_open = False
            self._fetch()
            yield rx.toast.success("Hold placed." + (" The servers were resumed." if result["resumed"] else ""))
        except ServiceError as exc:
            if isinstance(exc, ValidationError):
                self.hold_error = exc.message
            else:
                yield self._fail(exc)
        finally:
            self.saving = False

    @rx.event
    def lift_hold(self, org_id: str):
        if not isinstance(org_id, str):
            return rx.toast.error(BAD_REQUEST)
        try:
            dunning.lift_hold(self._require_actor(), org_id)
            self._fetch()
        except ServiceError as exc:
            return self._fail(exc)
        return rx.toast.success("Hold lifted.")
