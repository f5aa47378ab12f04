"""Platform settings: defaults, validation per key, admin-only changes with an audit row."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlmodel import select

from skypanel.backend.db import session_scope
from skypanel.backend.models import ActivityLog, PlatformSetting
from skypanel.backend.services import platform_settings as ps
from skypanel.backend.services.context import Actor
from skypanel.backend.services.errors import PermissionDenied, ValidationError

from .factories import make_user


def _stored() -> dict:
    with session_scope() as s:
        return {r.key: r.value for r in s.exec(select(PlatformSetting)).all()}


def _changes() -> list[ActivityLog]:
    with session_scope() as s:
        return list(s.exec(select(ActivityLog).where(ActivityLog.action == "platform.setting_changed")).all())


def test_defaults_apply_when_nothing_is_stored(db):
    assert ps.DEFAULTS["registration_enabled"] is True
    assert ps.get("registration_enabled") is True and ps.registration_enabled() is True
    assert ps.get("platform_name") == "SkyPanel"
    assert ps.get("support_email") == "support@skypanel.local"
    with pytest.raises(ValidationError):
        ps.get("no_such_setting")
    assert {d["key"] for d in ps.describe()} == set(ps.DEFAULTS)


def test_admin_changes_a_setting_with_an_activity_row(db):
    admin_id, admin = make_user("staff@settings.test", "Sam Staff", admin=True)
    ps.set_value(admin, "registration_enabled", False)
    assert ps.registration_enabled() is False and _stored() == {"registration_enabled": False}
    ps.set_value(admin, "platform_name", "  Nimbus   Cloud ")
    ps.set_value(admin, "support_email", "Help@Nimbus.Example")
    assert ps.all_settings(admin) == {**ps.DEFAULTS, "registration_enabled": False, "platform_name": "Nimbus Cloud",
                                      "support_email": "help@nimbus.example"}
    changes = _changes()
    assert len(changes) == 3 and all(c.user_id == admin_id for c in changes)
    assert {c.details["key"] for c in changes} == {"registration_enabled", "platform_name", "support_email"}
    name_change = next(c for c in changes if c.details["key"] == "platform_name")
    assert name_change.details == {"key": "platform_name", "old": "SkyPanel", "new": "Nimbus Cloud"}

    ps.set_value(admin, "platform_name", "Nimbus Cloud")  # no change, no audit noise
    assert len(_changes()) == 3
    ps.set_value(admin, "registration_enabled", True)  # the upsert updates the same row
    assert ps.registration_enabled() is True and _stored()["registration_enabled"] is True


BAD_VALUES = [
    ("registration_enabled", "yes"), ("registration_enabled", 1), ("registration_enabled", None),
    ("platform_name", ""), ("platform_name", "   "), ("platform_name", "x" * 101), ("platform_name", 5),
    ("platform_name", "<script>alert(1)</script>"),
    ("support_email", "not-an-email"), ("support_email", ""), ("support_email", "a@b@c"),
    ("support_email", "x" * 250 + "@example.com"),
]


@pytest.mark.parametrize(("key", "value"), BAD_VALUES)
def test_invalid_values_are_refused_and_change_nothing(db, key, value):
    admin_id, admin = make_user("staff@settings.test", "Sam Staff", admin=True)
    with pytest.raises(ValidationError) as err:
        ps.set_value(admin, key, value)
    assert err.value.field == "value" and err.value.message
    assert _stored() == {} and _changes() == []


def test_unknown_keys_are_refused(db):
    admin_id, admin = make_user("staff@settings.test", "Sam Staff", admin=True)
    for key in ("maintenance", "", None, "platform_name; DROP TABLE users"):
        with pytest.raises(ValidationError) as err:
            ps.set_value(admin, key, "x")  # type: ignore[arg-type]
        assert err.value.field == "key"
    assert _stored() == {}


def test_only_platform_admins_read_all_or_change(db):
    uid, user = make_user("user@settings.test", "Uma User")
    forged = Actor(user_id=uid, is_platform_admin=True)  # the flag is re-read from the database
    for actor in (user, forged, None):
        with pytest.raises(PermissionDenied):
            ps.set_value(actor, "registration_enabled", False)  # type: ignore[arg-type]
        with pytest.raises(PermissionDenied):
            ps.all_settings(actor)  # type: ignore[arg-type]
    assert _stored() == {} and ps.registration_enabled() is True


def test_system_actor_may_change_settings(db):
    ps.set_value(Actor.system(), "platform_name", "Seeded")
    assert ps.get("platform_name") == "Seeded"
    change, = _changes()
    assert change.user_id is None


def test_a_hand_edited_bad_value_reads_as_the_default(db):
    with session_scope() as s:
        s.execute(text("INSERT INTO platform_settings (key, value, updated_at) "
                       "VALUES ('registration_enabled', '\"nope\"'::jsonb, now())"))
    assert ps.registration_enabled() is True


async def test_admin_page_sets_the_balance_a_new_server_needs(db):
    from skypanel.backend.services import auth
    from skypanel.state.admin import AdminSettingsState

    from .factories import PASSWORD
    from .reflex_client import Client, register_pages

    register_pages()
    make_user("root@example.com", "Rita Root", admin=True)
    token = auth.login(email="root@example.com", password=PASSWORD, ip="127.0.0.7", user_agent="pytest")
    tab = Client(token["session_token"], ip="127.0.0.7")
    await tab.open("/admin/settings", "/admin/settings")
    await tab.call(AdminSettingsState, "load")
    assert (await tab.root.get_state(AdminSettingsState)).runway_hours == "24"
    form = {"platform_name": "SkyPanel", "support_email": ps.DEFAULT_SUPPORT_EMAIL}
    await tab.call(AdminSettingsState, "save", form={**form, "vps_min_runway_hours": "48"})
    assert ps.get("vps_min_runway_hours") == 48
    for bad in ("lots", "-1", "9000", "4.5"):
        await tab.call(AdminSettingsState, "save", form={**form, "vps_min_runway_hours": bad})
        state = await tab.root.get_state(AdminSettingsState)
        assert "whole number of hours" in state.errors["vps_min_runway_hours"], bad
        assert ps.get("vps_min_runway_hours") == 48
