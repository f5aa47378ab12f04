"""/admin/billing: the hourly billing engine's health (recent runs, last run's figures) and "Run now".

Every handler re-checks the platform-admin flag in the database through the billing service."""

from __future__ import annotations

import asyncio
from typing import Any

import reflex as rx

from skypanel.backend.services import billing
from skypanel.backend.services.errors import ServiceError
from skypanel.backend.services.wallet import format_money
from skypanel.state.admin import _AdminBase

STATUS_COLORS = {"ok": "green", "running": "blue", "failed": "red", "interrupted": "amber"}


class AdminBillingState(_AdminBase):
    loading: bool = True
    running: bool = False
    runs: list[dict[str, Any]] = []
    last: dict[str, Any] = {}
    failed_24h: int = 0

    def _fetch(self) -> None:
        health = billing.admin_health(self._require_actor())
        self.runs = [{**r, "status_color": STATUS_COLORS.get(r["status"], "gray"),
                      "until_hint": f"Up to {r['billed_until']}",
                      "orgs_hint": f"{r['organizations']} organizations debited"} for r in health["runs"]]
        self.last = self.runs[0] if self.runs else {}
        self.failed_24h = health["failed_24h"]

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
    async def run_now(self):
        if self.running:
            return
        self.running = True
        yield
        try:
            actor = self._require_actor()
            result = await asyncio.to_thread(billing.admin_run_now, actor)
            self._fetch()
            if result.skipped:
                yield rx.toast.info("A billing run is already in progress; try again in a moment.")
            elif result.status == "ok":
                yield rx.toast.success(f"Billing run finished: {result.hours_billed} server-hours, "
                                       f"{format_money(result.amount)} in {result.duration_s:.1f} s.")
            else:
                yield rx.toast.error(f"Billing run finished with errors ({result.batches_failed} batches failed); "
                                     "see the run below.")
        except ServiceError as exc:
            yield self._fail(exc)
        finally:
            self.running = False
