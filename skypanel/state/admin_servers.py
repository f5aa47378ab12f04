"""/admin/servers: every organization's servers, support power actions, and orphans at providers.

Every handler goes through services that re-check the platform-admin flag in the database.
Provider calls run in background events so the page stays responsive while they run.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from skypanel.backend.services import provider_accounts, server_sync, servers
from skypanel.backend.services.errors import ServiceError
from skypanel.state.admin import _AdminBase
from skypanel.state.formatting import format_date, format_money, server_status_color
from skypanel.state.paging import ALL, SearchMixin
from skypanel.state.session import BAD_REQUEST, user_zone

STATUS_OPTIONS = [(ALL, "All statuses")] + [(k, v) for k, v in servers.STATUS_LABELS.items()
                                            if k not in ("failed", "deleted")]


class AdminServersState(SearchMixin, _AdminBase):
    rows: list[dict[str, Any]] = []
    status_filter: str = ALL
    provider_filter: str = ALL
    providers: list[dict[str, str]] = []
    orphans: list[dict[str, Any]] = []
    busy_id: str = ""  # the server or orphan whose action is running

    def _fetch(self) -> None:
        actor = self._require_actor()
        zone = user_zone(actor)
        status = "" if self.status_filter == ALL else self.status_filter
        provider = "" if self.provider_filter == ALL else self.provider_filter
        search = self.search.strip()
        rows = self._fetch_page(lambda limit, offset: servers.admin_list_servers(
            actor, search=search, status=status, provider_account_id=provider, limit=limit, offset=offset))
        self.rows = [{
            "id": r["id"], "label": r["label"], "status": r["status"], "status_label": r["status_label"],
            "status_color": server_status_color(r["status"]), "busy": r["busy"], "ip": r["primary_ip"] or "—",
            "organization": r["organization_name"], "organization_id": r["organization_id"],
            "provider": r["provider_account"] or r["provider_kind"], "simulated": r["simulated"],
            "plan": r["plan_name"], "monthly": format_money(r["monthly"]), "created": format_date(r["created_at"], zone),
            "can_boot": r["status"] == "offline", "can_stop": r["status"] == "running",
        } for r in rows]
        self.orphans = server_sync.list_orphans(actor)
        self.providers = [{"id": a["id"], "name": a["name"]} for a in provider_accounts.list_accounts(actor)]

    @rx.event
    def load(self):
        self.search, self.status_filter, self.provider_filter = "", ALL, ALL
        yield from self._load_first_page()

    @rx.event
    def set_status_filter(self, value: str):
        self.status_filter = value if value in dict(STATUS_OPTIONS) else ALL
        yield from self._refilter()

    @rx.event
    def set_provider_filter(self, value: str):
        self.provider_filter = value if isinstance(value, str) and len(value) <= 64 else ALL
        yield from self._refilter()

    async def _run_action(self, target_id: str, call, success):
        """Run a provider call for one row in the background: its button spins, then the list
        reloads and a toast says how it went. `call(actor)` is a service coroutine."""
        async with self:
            actor = self._require_actor()
            self.busy_id = target_id
        try:
            message = rx.toast.success(success(await call(actor)))
        except ServiceError as exc:
            message = rx.toast.error(exc.message)
        async with self:
            self.busy_id = ""
            self._run()
        return message

    @rx.event(background=True)
    async def power(self, server_id: str, action: str):
        if not isinstance(server_id, str) or action not in servers.POWER:
            yield rx.toast.error(BAD_REQUEST)
            return
        yield await self._run_action(
            server_id, lambda actor: servers.admin_power(actor, server_id, action),
            lambda row: f"{servers.POWER[action][2]}: {row['label']} ({row['status_label']}).")

    @rx.event(background=True)
    async def delete(self, server_id: str, label: str):
        if not isinstance(server_id, str) or not isinstance(label, str):
            yield rx.toast.error(BAD_REQUEST)
            return
        yield await self._run_action(
            server_id, lambda actor: servers.admin_delete(actor, server_id, confirm_label=label),
            lambda _: f"Deleted {label} at the provider; billing stops.")

    @rx.event(background=True)
    async def delete_orphan(self, orphan_id: str):
        if not isinstance(orphan_id, str):
            yield rx.toast.error(BAD_REQUEST)
            return
        yield await self._run_action(
            orphan_id, lambda actor: server_sync.delete_orphan(actor, orphan_id),
            lambda _: "The orphan instance was deleted at its provider.")
