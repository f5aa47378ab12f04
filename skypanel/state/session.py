"""The signed-in user, resolved on the server from the session cookie on every event.

Page states inherit from `SessionState` and call `self._require_actor()` at the top of
every handler that reads or changes protected data: the browser is never trusted. A handler
answers a `ServiceError` with `self._fail(exc)`.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import reflex as rx

from skypanel.backend.services import auth, dunning, orgs
from skypanel.backend.services.context import Actor
from skypanel.backend.services.errors import AuthRequired, NotFound, ServiceError
from skypanel.state.formatting import zone_named

SESSION_COOKIE = "sp_session"

# What a handler answers when its arguments are not what the page sends (a hand-made call).
BAD_REQUEST = "That request was not valid. Reload the page and try again."


def form_values(form_data: object, *keys: str) -> tuple[str, ...] | None:
    """The named fields of a submitted form ("" when absent), or None when the payload is not
    what a form sends (not a dict, or a field that is not a string): answer that with BAD_REQUEST."""
    if not isinstance(form_data, dict):
        return None
    values = tuple(form_data.get(key, "") for key in keys)
    return values if all(isinstance(v, str) for v in values) else None


def user_zone(actor: Actor) -> ZoneInfo:
    """The signed-in user's timezone (profile setting), UTC when unknown."""
    return zone_named(auth.get_me(actor).get("timezone"))


def active_org(actor: Actor) -> dict:
    """The user's active organization, decided on the server from their memberships."""
    mine = orgs.list_my_organizations(actor)
    chosen = next((o for o in mine if o.get("is_active")), None) or (mine[0] if mine else None)
    if chosen is None:
        raise NotFound("You are not a member of any organization yet.")
    return chosen


class SessionState(rx.State):
    # The browser holds its own session token; the server keeps only its hash.
    session_token: str = rx.Cookie("", name=SESSION_COOKIE, same_site="lax", max_age=30 * 24 * 3600)

    # View data for the shell (sidebar, user menu, org switcher). Never secrets.
    signed_in: bool = False
    user_name: str = ""
    user_email: str = ""
    is_admin: bool = False
    impersonating: bool = False
    theme: str = "system"
    active_org_id: str = ""
    active_org_name: str = ""
    organizations: list[dict[str, str]] = []
    permissions: list[str] = []
    # The user's saved theme, set once at sign-in so it follows them to a new browser;
    # the shell applies it client-side and clears it (the local toggle stays in charge after).
    theme_to_apply: str = ""
    # The active organization's billing alert (low runway, negative balance, suspension) for the shell.
    billing_alert: str = ""
    billing_alert_level: str = ""
    billing_alert_link: bool = False

    # ---- server-side helpers (not callable from the browser) ----
    def _client(self) -> tuple[str, str]:
        return self.router.session.client_ip or "", (self.router.headers.user_agent or "")[:400]

    def _actor(self) -> Actor | None:
        ip, ua = self._client()
        return auth.resolve_session(self.session_token, ip=ip, user_agent=ua)

    def _require_actor(self) -> Actor:
        actor = self._actor()
        if actor is None:
            self.signed_in = False
            raise AuthRequired()
        return actor

    def _refresh_shell(self, actor: Actor) -> None:
        me = auth.get_me(actor)
        self.signed_in = True
        self.user_name = me["name"]
        self.user_email = me["email"]
        self.is_admin = me["is_platform_admin"]
        self.impersonating = actor.impersonator_id is not None
        self.theme = me["theme"]
        mine = orgs.list_my_organizations(actor)
        self.organizations = [{"id": o["id"], "name": o["name"], "role": o["role"]} for o in mine]
        active = next((o for o in mine if o["is_active"]), None)
        self.active_org_id = active["id"] if active else ""
        self.active_org_name = active["name"] if active else ""
        self.permissions = list(active["permissions"]) if active else []
        alert = dunning.banner(actor, active["id"]) if active else None
        self.billing_alert = alert["message"] if alert else ""
        self.billing_alert_level = alert["level"] if alert else ""
        self.billing_alert_link = bool(alert and alert["link"])

    def _signed_in(self, session_token: str) -> None:
        """Hold the new session in this browser and bring the user's saved theme along."""
        self.session_token = session_token
        actor = self._actor()
        if actor is not None:
            self.theme_to_apply = auth.get_me(actor)["theme"]

    def _sign_out_view(self) -> None:
        self.signed_in = False
        self.user_name = self.user_email = self.active_org_id = self.active_org_name = ""
        self.is_admin = self.impersonating = False
        self.organizations = []
        self.permissions = []
        self.billing_alert = self.billing_alert_level = ""
        self.billing_alert_link = False

    def _login_redirect(self):
        path = self.router.url.path or "/dashboard"
        return rx.redirect(f"/login?next={path}")

    def _fail(self, exc: ServiceError):
        """The event a handler answers a service error with: back to sign-in when the session
        is gone, else the message as a toast. Page states extend it for their own cases."""
        if isinstance(exc, AuthRequired):
            return self._login_redirect()
        return rx.toast.error(exc.message)

    # ---- events ----
    @rx.event
    def require_login(self):
        """on_load of every portal page: signed in, or off to /login."""
        actor = self._actor()
        if actor is None:
            self._sign_out_view()
            return self._login_redirect()
        self._refresh_shell(actor)

    @rx.event
    def require_admin(self):
        """on_load of every admin page: platform admins only (checked here, not in markup)."""
        actor = self._actor()
        if actor is None:
            self._sign_out_view()
            return self._login_redirect()
        self._refresh_shell(actor)
        if not actor.is_platform_admin:
            return rx.redirect("/dashboard")

    @rx.event
    def load_optional(self):
        """on_load of public pages: show the user menu when signed in, never redirect."""
        actor = self._actor()
        if actor is None:
            self._sign_out_view()
        else:
            self._refresh_shell(actor)

    @rx.event
    def switch_organization(self, org_id: str):
        try:
            actor = self._require_actor()
            orgs.switch_active_organization(actor, str(org_id))
            self._refresh_shell(actor)
        except ServiceError as exc:
            return self._fail(exc)
        return [rx.toast.success(f"Switched to {self.active_org_name}"), rx.redirect("/dashboard")]

    @rx.event
    def theme_applied(self):
        self.theme_to_apply = ""

    @rx.event
    def sign_out(self):
        auth.logout(self.session_token)
        self.session_token = ""
        self._sign_out_view()
        return rx.redirect("/login")
