"""Bad input, swept over every service function that takes text from a person.

The rule (DESIGN.md): bad input gets a clear message and changes nothing. Every case below either
  - raises a ServiceError whose message is a short human sentence (no SQL, no stack trace, not the
    input echoed back at length) and leaves EVERY table exactly as it was: row counts and an md5 of
    each table's rows are compared before and after; or
  - where the value is legitimately allowed (unicode, SQL or HTML in a name), stores it literally
    (read back equal) and changes nothing beyond what the same call with a plain value changes.

Exceptions, deliberate and asserted as such: sign-in attempts and reauthentication failures are
counted (auth_throttles, rate_limit_hits, an auth.login_failed activity row) even when the input
is garbage, and registration counts toward its per-IP rate limit before validating.

The world (users, organizations, roles, a TOTP user, a reset token) is built once for the module:
refusals change nothing, so it stays valid; throttle counters are cleared before each test.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import timedelta
from typing import Any, Callable

import pyotp
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import text
from sqlmodel import select

from skypanel.backend import security
from skypanel.backend.db import get_engine, session_scope
from skypanel.backend.integrations import email as mail
from skypanel.backend.models import ActivityLog, LedgerEntry, Organization, PasswordResetToken, Role, SshKey
from skypanel.backend.models.base import utcnow
from skypanel.backend.services import admin, auth, orgs, plans, platform_settings, ssh_keys, wallet
from skypanel.backend.services.errors import InsufficientFunds, NotFound, ServiceError, ValidationError

from .factories import PASSWORD, add_member, make_actor, make_user, personal_org, role_id, shared_world

# ---------------------------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------------------------

S = "\ud800"  # a lone surrogate: json.loads('"\\ud800"') yields one, so a browser can send it
OVERSIZED = "x" * 10_000
REFUSED = "<refused>"  # expected outcome marker (no real input equals it)

BLANK = [("empty", ""), ("whitespace", "  \t \n ")]
TOO_LONG = [("oversized", OVERSIZED), ("oversized_unicode", "山" * 10_000)]
UNSTORABLE = [("nul", "nul\x00byte"), ("lone_surrogate", f"half{S}pair"), ("control_char", "bell\x07char")]
UNICODE = [
    ("accents", "Zoë Ångström-Müller"), ("cjk", "山田 太郎"), ("emoji", "Rocket 🚀 Crew"),
    ("rtl", "مرحبا بالعالم"), ("zero_width", "Zero\u200bWidth\u200dJoiner"), ("combining", "Cafe\u0301 Noir"),
]
INJECTION = [
    ("sql_drop", "'; DROP TABLE users;--"), ("sql_or", "1 OR 1=1"), ("html", "<script>alert(1)</script>"),
    ("html_attr", '"><img src=x onerror=alert(1)>'), ("like_wildcards", "100%_off"),
]

INVALID_EMAILS = [
    ("empty", ""), ("whitespace", "   "), ("no_at", "plainaddress"), ("no_local", "@example.com"),
    ("no_domain", "user@"), ("double_at", "user@@example.com"), ("no_tld", "user@localhost"),
    ("space", "user name@example.com"), ("oversized", "a" * 10_000 + "@example.com"),
    ("over_254", "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 63 + ".com"),
    ("nul", "user\x00@example.com"), ("lone_surrogate", f"user{S}@example.com"),
    ("zero_width", "user\u200b@example.com"), ("header_injection", "user@example.com\r\nBcc: victim@example.com"),
    ("two_addresses", "a@example.com, b@example.com"), ("sql_drop", "'; DROP TABLE users;--"),
    ("sql_or", "1 OR 1=1"), ("html", "<script>alert(1)</script>"), ("html_local", "<script>@example.com"),
]


def valid_emails(tag: str) -> list[tuple[str, str, str]]:
    """(id, as typed, as stored) -- unusual but valid; `tag` keeps them unique per field."""
    return [
        ("accents", f"zoë.{tag}@example.com", f"zoë.{tag}@example.com"),
        ("cjk", f"山田.{tag}@example.jp", f"山田.{tag}@example.jp"),
        ("apostrophe", f"o'brien.{tag}@example.com", f"o'brien.{tag}@example.com"),
        ("mixed_case_padded", f"  MiXeD.{tag.upper()}@Example.COM ", f"mixed.{tag}@example.com"),
    ]


BAD_PASSWORDS = [
    ("empty", ""), ("spaces", " " * 12), ("short_sql", "1 OR 1=1"), ("oversized", OVERSIZED),
    ("common", "password123"), ("common_dressed", "Password123!"), ("nul", "correct-horse\x00battery"),
    ("lone_surrogate", f"correct-horse-{S}-battery"),
]
ACCEPTED_PASSWORDS = [
    ("sql_drop", "'; DROP TABLE users;--"), ("html", "<script>alert(1)</script>"), ("unicode", "Pässwörd-日本語-🚀!"),
]
GARBAGE_PASSWORDS = [  # wrong for every account, whatever the rules
    ("oversized", OVERSIZED), ("nul", "x\x00"), ("nul_truncation", PASSWORD + "\x00garbage"),
    ("lone_surrogate", f"pw{S}"), ("sql_drop", "'; DROP TABLE users;--"), ("sql_or", "' OR '1'='1"),
    ("html", "<script>alert(1)</script>"), ("unicode", "Pässwörd-日本語-🚀"),
]
BAD_CODES = [
    ("empty", ""), ("whitespace", "   "), ("oversized", "1" * 10_000), ("letters", "abcdef"),
    ("fullwidth_digits", "１２３４５６"), ("arabic_digits", "١٢٣٤٥٦"), ("nul", "12345\x00"),
    ("lone_surrogate", S * 6), ("sql_or", "1 OR 1=1"), ("sql_drop", "'; DROP TABLE users;--"),
    ("html", "<script>alert(1)</script>"), ("recovery_shaped", "zzzz-zzzz-zzzz"), ("not_text", None),
]
BAD_TOKENS = [
    ("empty", ""), ("whitespace", "   "), ("oversized", OVERSIZED), ("plausible", "x" * 43),
    ("nul", "tok\x00en"), ("lone_surrogate", f"tok{S}en"), ("unicode", "tökén-山-🚀"),
    ("sql_drop", "'; DROP TABLE users;--"), ("sql_or", "1 OR 1=1"), ("html", "<script>alert(1)</script>"),
    ("not_text", None),
]
GARBAGE_IDS = [
    ("empty", ""), ("whitespace", "   "), ("oversized", OVERSIZED), ("sql_drop", "'; DROP TABLE users;--"),
    ("sql_or", "1 OR 1=1"), ("html", "<script>alert(1)</script>"), ("nul", "00000000-0000-0000-0000-000000000000\x00"),
    ("lone_surrogate", S), ("emoji", "🚀"), ("number_text", "12345"), ("unknown_uuid", "8c0b2a52-3f4e-4c1e-9c53-0d1f1b6c2a77"),
    ("none", None), ("int", 42), ("list", ["x"]),
]


def _params(cases) -> list:
    return [pytest.param(*rest, id=cid) for cid, *rest in cases]


def text_cases(*, max_len: int, required: bool = True, multiline: bool = False, collapse: bool = False,
               min_len: int = 1, no_angle: bool = False) -> list:
    """(value, expected) for a free-text field; expected is REFUSED or the value as stored."""
    out: list[tuple[str, str, str]] = []
    for cid, v in BLANK:
        out.append((cid, v, REFUSED if required else ""))
    out += [(cid, v, REFUSED) for cid, v in TOO_LONG + UNSTORABLE]
    out.append(("at_max", "y" * max_len, "y" * max_len))
    out.append(("over_max", "y" * (max_len + 1), REFUSED))
    out.append(("padded", "  Padded  value ", "Padded value" if collapse else "Padded  value"))
    out.append(("newline", "two\nlines", "two lines" if collapse else ("two\nlines" if multiline else REFUSED)))
    for cid, v in UNICODE + INJECTION:
        out.append((cid, v, REFUSED if no_angle and ("<" in v or ">" in v) else v))
    if min_len > 1:
        out.append(("too_short", "y" * (min_len - 1), REFUSED))
    return _params(out)


# ---------------------------------------------------------------------------------------------
# "changes nothing", measured
# ---------------------------------------------------------------------------------------------

_TABLES: list[str] = []


def snapshot(exclude: dict[str, str] | None = None) -> dict[str, tuple[int, str]]:
    """Every table's row count and md5 of its rows (as text, sorted), in one query. `exclude` maps a
    table to a SQL condition selecting rows to leave out (the one row an accepted update may change)."""
    mail.wait_for_background()
    exclude = exclude or {}
    with get_engine().connect() as conn:
        if not _TABLES:
            _TABLES.extend(conn.execute(text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")).scalars())
        parts = []
        for t in _TABLES:
            where = f" WHERE NOT ({exclude[t]})" if t in exclude else ""
            parts.append(f"SELECT '{t}' AS t, count(*) AS n, "
                         f"md5(coalesce(string_agg(r::text, E'\\n' ORDER BY r::text), '')) AS h FROM \"{t}\" r{where}")
        return {t: (int(n), h) for t, n, h in conn.execute(text(" UNION ALL ".join(parts)))}


def changed(before: dict, after: dict) -> set[str]:
    return {t for t in before.keys() | after.keys() if before.get(t) != after.get(t)}


def count_deltas(before: dict, after: dict) -> dict[str, int]:
    return {t: after[t][0] - before[t][0] for t in after if after[t][0] != before.get(t, (0, ""))[0]}


_LEAKS = ("Traceback", "psycopg", "sqlalchemy", "SQLSTATE", "[SQL", "DETAIL", "violates", "0x00", "Error:",
          "ERROR", "NoneType", "object has no attribute")


def assert_clear_message(err: BaseException) -> None:
    assert isinstance(err, ServiceError), f"not a ServiceError: {type(err).__name__}: {err}"
    msg = err.message
    assert isinstance(msg, str) and msg.strip(), "empty error message"
    assert str(err) == msg
    assert len(msg) <= 300, f"message too long ({len(msg)} chars): {msg[:80]}..."
    assert not any(leak in msg for leak in _LEAKS), f"message leaks internals: {msg!r}"
    assert msg.rstrip()[-1] in ".!?", f"not a sentence: {msg!r}"


def refused(call: Callable[[], Any], *, error: type[ServiceError] = ServiceError,
            may_change: frozenset[str] | set[str] = frozenset()) -> ServiceError:
    """`call` raises `error` with a clear message, and no table changes (except `may_change`)."""
    before = snapshot()
    with pytest.raises(ServiceError) as info:
        call()
    after = snapshot()
    assert_clear_message(info.value)
    assert isinstance(info.value, error), f"expected {error.__name__}, got {type(info.value).__name__}: {info.value}"
    extra = changed(before, after) - set(may_change)
    assert not extra, f"refused input still changed {sorted(extra)}"
    return info.value


def unchanged(call: Callable[[], Any]) -> Any:
    """`call` succeeds (a read, or a no-op) and no table changes."""
    before = snapshot()
    result = call()
    assert changed(before, snapshot()) == set()
    return result


def same_effect(reference: Callable[[], Any], call: Callable[[], Any]) -> Any:
    """`call` (with the unusual value) changes the same tables, by the same row counts, as `reference`
    (the same call with a plain value) -- nothing more."""
    before = snapshot()
    reference()
    middle = snapshot()
    result = call()
    after = snapshot()
    assert changed(middle, after) == changed(before, middle)
    assert count_deltas(middle, after) == count_deltas(before, middle)
    return result


def updated_only(table: str, row: str, call: Callable[[], Any], *, activity: str | None) -> Any:
    """`call` changes only the row of `table` selected by the SQL condition `row`, plus one activity row."""
    before, before_row = snapshot({table: row}), snapshot()
    result = call()
    after = snapshot({table: row})
    assert changed(before, after) <= {"activity_logs"}
    if activity is None:
        assert changed(before, after) == set()
    else:
        assert count_deltas(before, after) == {"activity_logs": 1}
        assert last_activity() == activity
        assert before_row[table] != snapshot()[table], "the row was not changed"
    return result


def last_activity() -> str:
    with session_scope() as s:
        return s.exec(select(ActivityLog.action).order_by(ActivityLog.created_at.desc()).limit(1)).first()


THROTTLES = frozenset({"auth_throttles", "rate_limit_hits"})
FAILED_SIGN_IN = THROTTLES | {"activity_logs"}

# ---------------------------------------------------------------------------------------------
# the world
# ---------------------------------------------------------------------------------------------

_CACHE: dict = {}
_SEQ = itertools.count(1)
RESET_TOKEN = "reset-token-for-olive-" + "a" * 21


def _build() -> dict:
    root_id, root = make_user("root@example.com", "Rita Root", admin=True)
    olive_id, olive = make_user("olive@example.com", "Olive Owner")
    olive_org = personal_org(olive_id)
    acme = orgs.create_organization(olive, name="Acme Corp")["id"]
    doomed = orgs.create_organization(olive, name="Doomed Ltd")["id"]
    mia_id, mia = make_user("mia@example.com", "Mia Member")
    mia_membership = add_member(uuid.UUID(acme), mia_id, "member")
    editable = orgs.create_role(olive, str(olive_org), name="Editable", description="", permissions=["vps_view"])
    orgs.create_role(olive, acme, name="Support Lead", description="Handles tickets", permissions=["tickets_view"])
    orgs.invite_member(olive, acme, email="ivy@example.com", role_id=str(role_id(uuid.UUID(acme), "viewer")))
    invitation = orgs.list_invitations(olive, acme)[0]["id"]
    make_user("dana@example.com", "Dana O'Brien")
    make_user("leo@example.com", "Leo 100 off")  # what "100%_off" would match if % and _ were wildcards
    pat_id, pat = make_user("pat@example.com", "Pat Profile")
    tess_id, tess = make_user("tess@example.com", "Tess Totp")
    setup = auth.begin_totp_setup(tess)
    auth.enable_totp(tess, code=pyotp.TOTP(setup["secret"]).now())
    penny_id, penny = make_user("penny@example.com", "Penny Pending")
    auth.begin_totp_setup(penny)
    wallet.admin_adjust(root, acme, amount="100", reason="Opening credit")
    acme_key = ssh_keys.add_key(olive, acme, name="Acme deploy", public_key=new_public_key("deploy@acme"))["id"]
    with session_scope() as s:
        s.add(PasswordResetToken(user_id=olive_id, token_hash=security.hash_token(RESET_TOKEN),
                                 expires_at=utcnow() + timedelta(hours=1)))
    return {
        "org_id": acme, "acme": acme, "doomed": doomed, "olive_org": str(olive_org), "editable": editable["id"],
        "root": root, "olive": olive, "mia": mia, "pat": pat, "pat_id": pat_id, "tess": tess, "penny": penny,
        "mia_membership": str(mia_membership), "invitation": invitation,
        "member_role": str(role_id(uuid.UUID(acme), "member")), "acme_key": acme_key,
    }


@pytest.fixture()
def w(engine):
    """The shared world (rebuilt if another module emptied the database), with throttles cleared."""
    world = _CACHE.get("world")
    if world is not None:
        with engine.begin() as conn:  # one round trip: clear the counters, and is the world still there?
            alive = conn.execute(text(
                "WITH a AS (DELETE FROM auth_throttles), r AS (DELETE FROM rate_limit_hits) "
                "SELECT EXISTS (SELECT 1 FROM organizations WHERE id = :id)"), {"id": world["org_id"]}).scalar()
        if alive:
            return world
    return shared_world(_CACHE, engine, _build)  # truncates (counters included) and builds


def _ip() -> str:
    n = next(_SEQ)
    return f"10.9.{n // 250}.{n % 250 + 1}"


# ---------------------------------------------------------------------------------------------
# accounts: register
# ---------------------------------------------------------------------------------------------

def _register(**kw) -> dict:
    fields = {"name": "Plain Person", "email": f"plain{next(_SEQ)}@example.com", "password": "sturdy-lantern-42",
              "accept_terms": True, "ip": _ip(), "user_agent": "pytest"}
    fields.update(kw)
    return auth.register(**fields)


@pytest.mark.parametrize("value, expected", text_cases(max_len=100))
def test_register_name(w, value, expected):
    if expected is REFUSED:
        err = refused(lambda: _register(name=value), error=ValidationError, may_change={"rate_limit_hits"})
        assert err.field == "name"
        return
    result = same_effect(lambda: _register(), lambda: _register(name=value))
    me = auth.get_me(make_actor(uuid.UUID(result["user_id"])))
    assert me["name"] == expected
    org_names = [o["name"] for o in orgs.list_my_organizations(make_actor(uuid.UUID(result["user_id"])))]
    assert org_names == [expected[:85].rstrip() + "'s organization"]


@pytest.mark.parametrize("value", _params(INVALID_EMAILS))
def test_register_invalid_email(w, value):
    err = refused(lambda: _register(email=value), error=ValidationError, may_change={"rate_limit_hits"})
    assert err.field == "email"


@pytest.mark.parametrize("value, stored", _params(valid_emails("reg")))
def test_register_unusual_valid_email_is_stored_normalized(w, value, stored):
    result = same_effect(lambda: _register(), lambda: _register(email=value))
    assert auth.get_me(make_actor(uuid.UUID(result["user_id"])))["email"] == stored
    # and the same address typed differently is a duplicate, refused without a second account
    refused(lambda: _register(email=stored.upper()), error=ValidationError, may_change={"rate_limit_hits"})


@pytest.mark.parametrize("value", _params(BAD_PASSWORDS))
def test_register_bad_password(w, value):
    err = refused(lambda: _register(password=value), error=ValidationError, may_change={"rate_limit_hits"})
    assert err.field == "password"


@pytest.mark.parametrize("value", _params(ACCEPTED_PASSWORDS))
def test_register_unusual_password_is_accepted_and_signs_in(w, value):
    email = f"pw{next(_SEQ)}@example.com"
    same_effect(lambda: _register(), lambda: _register(email=email, password=value))
    assert "session_token" in auth.login(email=email, password=value, ip=_ip(), user_agent="pytest")


@pytest.mark.parametrize("value", [None, False, "yes", "true", 1, [True]])
def test_register_without_accepting_terms(w, value):
    err = refused(lambda: _register(accept_terms=value), error=ValidationError, may_change={"rate_limit_hits"})
    assert err.field == "accept_terms"


# ---------------------------------------------------------------------------------------------
# accounts: sign-in, reset, two-factor
# ---------------------------------------------------------------------------------------------

def _login(email: str = "olive@example.com", password: str = PASSWORD) -> dict:
    return auth.login(email=email, password=password, ip=_ip(), user_agent="pytest")


@pytest.mark.parametrize("email, password", [
    pytest.param("", PASSWORD, id="empty_email"), pytest.param("   ", PASSWORD, id="blank_email"),
    pytest.param("olive@example.com", "", id="empty_password"), pytest.param(None, PASSWORD, id="no_email"),
    pytest.param("olive@example.com", None, id="no_password"),
])
def test_login_missing_fields_change_nothing(w, email, password):
    refused(lambda: _login(email, password), error=ValidationError)


@pytest.mark.parametrize("email", _params([(c, v) for c, v in INVALID_EMAILS if v.strip()]
                                          + [("unknown_unicode", "zoë@example.com")]))
def test_login_garbage_email_is_an_ordinary_failed_sign_in(w, email):
    err = refused(lambda: _login(email=email), error=ValidationError, may_change=FAILED_SIGN_IN)
    assert err.message == auth.INVALID_LOGIN
    assert last_activity() == "auth.login_failed"


@pytest.mark.parametrize("password", _params(GARBAGE_PASSWORDS))
def test_login_garbage_password_is_an_ordinary_failed_sign_in(w, password):
    err = refused(lambda: _login(password=password), error=ValidationError, may_change=FAILED_SIGN_IN)
    assert err.message == auth.INVALID_LOGIN
    assert last_activity() == "auth.login_failed"


def test_login_with_control_characters_in_ip_and_user_agent_still_works(w):
    result = auth.login(email="olive@example.com", password=PASSWORD, ip="10.0.0.1\x00", user_agent=f"UA\x00{S}\x07")
    actor = auth.resolve_session(result["session_token"])
    assert actor is not None and actor.ip == "10.0.0.1"
    assert [s["user_agent"] for s in auth.list_sessions(actor) if s["current"]] == ["UA"]


@pytest.mark.parametrize("email", _params(INVALID_EMAILS))
def test_request_password_reset_invalid_email(w, email):
    err = refused(lambda: auth.request_password_reset(email=email, ip=_ip()), error=ValidationError)
    assert err.field == "email"


@pytest.mark.parametrize("email, _stored", _params(valid_emails("reset")))
def test_request_password_reset_unusual_unknown_email_is_quietly_accepted(w, email, _stored):
    before = snapshot()
    assert auth.request_password_reset(email=email, ip=_ip()) is None
    assert changed(before, snapshot()) == {"rate_limit_hits"}  # no token, no email for an unknown address


@pytest.mark.parametrize("token", _params(BAD_TOKENS))
def test_reset_password_bad_token(w, token):
    err = refused(lambda: auth.reset_password(token=token, new_password="sturdy-lantern-42", ip=_ip()),
                  error=ValidationError)
    assert err.message == auth.RESET_LINK_INVALID


@pytest.mark.parametrize("password", _params(BAD_PASSWORDS))
def test_reset_password_bad_new_password_keeps_the_token(w, password):
    refused(lambda: auth.reset_password(token=RESET_TOKEN, new_password=password, ip=_ip()), error=ValidationError)


@pytest.mark.parametrize("token", _params(BAD_TOKENS))
def test_complete_two_factor_bad_pending_token(w, token):
    refused(lambda: auth.complete_two_factor(pending_token=token, code="123456", ip=_ip(), user_agent="pytest"))


@pytest.mark.parametrize("code", _params(BAD_CODES))
def test_complete_two_factor_bad_code(w, code):
    pending = _login("tess@example.com")["pending_token"]
    blank = not (isinstance(code, str) and code.strip())
    err = refused(lambda: auth.complete_two_factor(pending_token=pending, code=code, ip=_ip(), user_agent="pytest"),
                  error=ValidationError,
                  may_change=frozenset() if blank else FAILED_SIGN_IN | {"pending_logins"})
    assert err.field == "code"


@pytest.mark.parametrize("code", _params(BAD_CODES))
def test_enable_totp_bad_code(w, code):
    err = refused(lambda: auth.enable_totp(w["penny"], code=code), error=ValidationError)
    assert err.field == "code"
    assert auth.get_me(w["penny"])["totp_enabled"] is False


@pytest.mark.parametrize("code", _params(BAD_CODES))
def test_disable_totp_bad_code(w, code):
    err = refused(lambda: auth.disable_totp(w["tess"], password=PASSWORD, code=code), error=ValidationError,
                  may_change=THROTTLES)
    assert err.field == "code"
    assert auth.get_me(w["tess"])["totp_enabled"] is True


@pytest.mark.parametrize("code", _params(BAD_CODES))
def test_regenerate_recovery_codes_bad_code(w, code):
    err = refused(lambda: auth.regenerate_recovery_codes(w["tess"], password=PASSWORD, code=code),
                  error=ValidationError, may_change=THROTTLES)
    assert err.field == "code"
    assert auth.get_me(w["tess"])["recovery_codes_left"] == auth.RECOVERY_CODE_COUNT


@pytest.mark.parametrize("password", _params(GARBAGE_PASSWORDS + [("empty", "")]))
def test_disable_totp_garbage_password(w, password):
    err = refused(lambda: auth.disable_totp(w["tess"], password=password, code="000000"), error=ValidationError,
                  may_change=THROTTLES)
    assert err.field == "password"


# ---------------------------------------------------------------------------------------------
# accounts: profile, email, password
# ---------------------------------------------------------------------------------------------

def _profile(w, **kw) -> None:
    me = auth.get_me(w["pat"])
    fields = {"name": me["name"], "timezone": me["timezone"], "theme": me["theme"]}
    fields.update(kw)
    auth.update_profile(w["pat"], **fields)


@pytest.mark.parametrize("value, expected", text_cases(max_len=100))
def test_update_profile_name(w, value, expected):
    if expected is REFUSED:
        assert refused(lambda: _profile(w, name=value), error=ValidationError).field == "name"
        return
    updated_only("users", f"id = '{w['pat_id']}'", lambda: _profile(w, name=value), activity="auth.profile_updated")
    assert auth.get_me(w["pat"])["name"] == expected


BAD_CHOICES = (BLANK + TOO_LONG + UNSTORABLE + INJECTION + UNICODE
               + [("wrong_case", "UTC_"), ("padded_unknown", " Mars/Olympus_Mons "), ("not_text", None), ("list", ["UTC"])])


@pytest.mark.parametrize("value", _params(BAD_CHOICES))
def test_update_profile_timezone(w, value):
    assert refused(lambda: _profile(w, timezone=value), error=ValidationError).field == "timezone"


@pytest.mark.parametrize("value", _params(BAD_CHOICES + [("capitalised", "Dark")]))
def test_update_profile_theme(w, value):
    assert refused(lambda: _profile(w, theme=value), error=ValidationError).field == "theme"


@pytest.mark.parametrize("value", _params(INVALID_EMAILS))
def test_change_email_invalid(w, value):
    err = refused(lambda: auth.change_email(w["pat"], new_email=value, password=PASSWORD), error=ValidationError)
    assert err.field in ("email", "new_email")


@pytest.mark.parametrize("value, stored", _params(valid_emails("chg")))
def test_change_email_unusual_valid_is_stored_normalized(w, value, stored):
    updated_only("users", f"id = '{w['pat_id']}'",
                 lambda: auth.change_email(w["pat"], new_email=value, password=PASSWORD), activity="auth.email_changed")
    assert auth.get_me(w["pat"])["email"] == stored


@pytest.mark.parametrize("password", _params(GARBAGE_PASSWORDS + [("empty", "")]))
def test_change_email_garbage_password(w, password):
    err = refused(lambda: auth.change_email(w["pat"], new_email="fresh@example.com", password=password),
                  error=ValidationError, may_change=THROTTLES)
    assert err.field == "password"


@pytest.mark.parametrize("value", _params(BAD_PASSWORDS))
def test_change_password_bad_new_password(w, value):
    err = refused(lambda: auth.change_password(w["pat"], current_password=PASSWORD, new_password=value),
                  error=ValidationError)
    assert err.field == "password"


@pytest.mark.parametrize("value", _params(GARBAGE_PASSWORDS + [("empty", "")]))
def test_change_password_garbage_current_password(w, value):
    err = refused(lambda: auth.change_password(w["pat"], current_password=value, new_password="sturdy-lantern-42"),
                  error=ValidationError, may_change=THROTTLES)
    assert err.field == "password"


# ---------------------------------------------------------------------------------------------
# organizations and roles
# ---------------------------------------------------------------------------------------------

def _org_name(org_id: str) -> str:
    with session_scope() as s:
        return s.get(Organization, uuid.UUID(org_id)).name


@pytest.mark.parametrize("value, expected", text_cases(max_len=100) + [pytest.param(123, REFUSED, id="not_text")])
def test_create_organization_name(w, value, expected):
    if expected is REFUSED:
        assert refused(lambda: orgs.create_organization(w["olive"], name=value), error=ValidationError).field == "name"
        return
    org = same_effect(lambda: orgs.create_organization(w["olive"], name="Plain Org"),
                      lambda: orgs.create_organization(w["olive"], name=value))
    assert org["name"] == expected == _org_name(org["id"])
    assert org["slug"].isascii() and org["slug"] and " " not in org["slug"]


@pytest.mark.parametrize("value, expected", text_cases(max_len=100) + [pytest.param(None, REFUSED, id="not_text")])
def test_rename_organization(w, value, expected):
    org = w["olive_org"]
    if expected is REFUSED:
        assert refused(lambda: orgs.rename_organization(w["olive"], org, name=value), error=ValidationError).field == "name"
        return
    updated_only("organizations", f"id = '{org}'", lambda: orgs.rename_organization(w["olive"], org, name=value),
                 activity="org.renamed")
    assert _org_name(org) == expected


@pytest.mark.parametrize("value", _params(
    BLANK + TOO_LONG + UNSTORABLE + INJECTION + UNICODE
    + [("wrong_case", "doomed ltd"), ("zero_width_suffix", "Doomed Ltd\u200b"), ("not_text", None), ("list", ["Doomed Ltd"])]))
def test_delete_organization_confirm_name(w, value):
    err = refused(lambda: orgs.delete_organization(w["olive"], w["doomed"], confirm_name=value), error=ValidationError)
    assert err.field == "confirm_name"
    assert orgs.get_organization(w["olive"], w["doomed"])["name"] == "Doomed Ltd"


@pytest.mark.parametrize("value", _params(INVALID_EMAILS + [("not_text", None)]))
def test_invite_member_invalid_email(w, value):
    err = refused(lambda: orgs.invite_member(w["olive"], w["acme"], email=value, role_id=w["member_role"]),
                  error=ValidationError)
    assert err.field == "email"


@pytest.mark.parametrize("value, stored", _params(valid_emails("inv")))
def test_invite_member_unusual_valid_email(w, value, stored):
    invite = lambda email: orgs.invite_member(w["olive"], w["acme"], email=email, role_id=w["member_role"])  # noqa: E731
    same_effect(lambda: invite(f"plain{next(_SEQ)}@example.com"), lambda: invite(value))
    assert stored in [i["email"] for i in orgs.list_invitations(w["olive"], w["acme"])]


def _new_role(w, **kw) -> dict:
    fields = {"name": f"Role {next(_SEQ)}", "description": "", "permissions": ["vps_view"]}
    fields.update(kw)
    return orgs.create_role(w["olive"], w["acme"], **fields)


ROLE_NAME_EXTRA = [
    pytest.param("Owner", REFUSED, id="predefined_name"), pytest.param("billing manager", REFUSED, id="predefined_spaced"),
    pytest.param("support lead", REFUSED, id="duplicate_other_case"), pytest.param(7, REFUSED, id="not_text"),
]


@pytest.mark.parametrize("value, expected", text_cases(max_len=50) + ROLE_NAME_EXTRA)
def test_create_role_name(w, value, expected):
    if expected is REFUSED:
        assert refused(lambda: _new_role(w, name=value), error=ValidationError).field == "name"
        return
    role = same_effect(lambda: _new_role(w), lambda: _new_role(w, name=value))
    assert role["name"] == expected
    assert expected in [r["name"] for r in orgs.list_roles(w["olive"], w["acme"])]


@pytest.mark.parametrize("value, expected", text_cases(max_len=200, required=False, multiline=True)
                         + [pytest.param(None, "", id="none_is_empty"), pytest.param(3, REFUSED, id="not_text")])
def test_create_role_description(w, value, expected):
    if expected is REFUSED:
        assert refused(lambda: _new_role(w, description=value), error=ValidationError).field == "description"
        return
    role = same_effect(lambda: _new_role(w), lambda: _new_role(w, description=value))
    assert role["description"] == expected
    with session_scope() as s:
        assert s.get(Role, uuid.UUID(role["id"])).description == expected


BAD_PERMISSIONS = [
    ("text_not_list", "vps_view"), ("none", None), ("dict", {"vps_view": True}), ("unknown", ["vps_fly"]),
    ("empty_name", [""]), ("sql", ["'; DROP TABLE roles;--"]), ("html", ["<script>alert(1)</script>"]),
    ("nul", ["vps_view\x00"]), ("lone_surrogate", [f"vps{S}"]), ("oversized", [OVERSIZED]),
    ("case", ["VPS_VIEW"]), ("padded", [" vps_view"]), ("nested", [["vps_view"]]), ("number", [1]),
]


@pytest.mark.parametrize("value", _params(BAD_PERMISSIONS))
def test_create_role_permissions(w, value):
    assert refused(lambda: _new_role(w, permissions=value), error=ValidationError).field == "permissions"


def _update_editable(w, **kw) -> None:
    with session_scope() as s:
        role = s.get(Role, uuid.UUID(w["editable"]))
        fields = {"name": role.name, "description": role.description, "permissions": list(role.permissions)}
    fields.update(kw)
    orgs.update_role(w["olive"], w["olive_org"], w["editable"], **fields)


@pytest.mark.parametrize("value, expected", text_cases(max_len=50) + ROLE_NAME_EXTRA[:2])
def test_update_role_name(w, value, expected):
    if expected is REFUSED:
        assert refused(lambda: _update_editable(w, name=value), error=ValidationError).field == "name"
        return
    updated_only("roles", f"id = '{w['editable']}'", lambda: _update_editable(w, name=value),
                 activity="org.role_updated")
    assert [r["name"] for r in orgs.list_roles(w["olive"], w["olive_org"]) if r["id"] == w["editable"]] == [expected]


@pytest.mark.parametrize("value, expected", text_cases(max_len=200, required=False, multiline=True))
def test_update_role_description(w, value, expected):
    if expected is REFUSED:
        assert refused(lambda: _update_editable(w, description=value), error=ValidationError).field == "description"
        return
    _update_editable(w, description="Something else")
    updated_only("roles", f"id = '{w['editable']}'", lambda: _update_editable(w, description=value),
                 activity="org.role_updated")
    assert [r["description"] for r in orgs.list_roles(w["olive"], w["olive_org"]) if r["id"] == w["editable"]] == [expected]


@pytest.mark.parametrize("value", _params(BAD_PERMISSIONS))
def test_update_role_permissions(w, value):
    assert refused(lambda: _update_editable(w, permissions=value), error=ValidationError).field == "permissions"


# ---------------------------------------------------------------------------------------------
# ids and tokens from the browser: garbage is "not found", never a crash, never a change
# ---------------------------------------------------------------------------------------------

ID_CALLS: dict[str, Callable[[dict, Any], Any]] = {
    "get_organization": lambda w, x: orgs.get_organization(w["olive"], x),
    "rename_organization": lambda w, x: orgs.rename_organization(w["olive"], x, name="New Name"),
    "delete_organization": lambda w, x: orgs.delete_organization(w["olive"], x, confirm_name="Doomed Ltd"),
    "switch_active_organization": lambda w, x: orgs.switch_active_organization(w["olive"], x),
    "leave_organization": lambda w, x: orgs.leave_organization(w["mia"], x),
    "list_members": lambda w, x: orgs.list_members(w["olive"], x),
    "change_member_role.membership": lambda w, x: orgs.change_member_role(w["olive"], w["acme"], x, w["member_role"]),
    "change_member_role.role": lambda w, x: orgs.change_member_role(w["olive"], w["acme"], w["mia_membership"], x),
    "remove_member": lambda w, x: orgs.remove_member(w["olive"], w["acme"], x),
    "invite_member.org": lambda w, x: orgs.invite_member(w["olive"], x, email="new@example.com",
                                                         role_id=w["member_role"]),
    "invite_member.role": lambda w, x: orgs.invite_member(w["olive"], w["acme"], email="new@example.com", role_id=x),
    "list_invitations": lambda w, x: orgs.list_invitations(w["olive"], x),
    "resend_invitation": lambda w, x: orgs.resend_invitation(w["olive"], w["acme"], x),
    "cancel_invitation": lambda w, x: orgs.cancel_invitation(w["olive"], w["acme"], x),
    "accept_invitation_by_id": lambda w, x: orgs.accept_invitation_by_id(w["mia"], x),
    "decline_invitation_by_id": lambda w, x: orgs.decline_invitation_by_id(w["mia"], x),
    "list_roles": lambda w, x: orgs.list_roles(w["olive"], x),
    "create_role": lambda w, x: orgs.create_role(w["olive"], x, name="Anything", description="", permissions=[]),
    "update_role": lambda w, x: orgs.update_role(w["olive"], w["acme"], x, name="Anything", description="",
                                                 permissions=[]),
    "delete_role": lambda w, x: orgs.delete_role(w["olive"], w["acme"], x),
    "list_activity": lambda w, x: orgs.list_activity(w["olive"], x),
    "get_wallet": lambda w, x: wallet.get_wallet(w["olive"], x),
    "list_ledger": lambda w, x: wallet.list_ledger(w["olive"], x),
    "ledger_csv": lambda w, x: wallet.ledger_csv(w["olive"], x),
    "admin_adjust": lambda w, x: wallet.admin_adjust(w["root"], x, amount="5", reason="Goodwill"),
    "set_user_active": lambda w, x: admin.set_user_active(w["root"], x, False),
    "set_platform_admin": lambda w, x: admin.set_platform_admin(w["root"], x, True),
    "organization_detail": lambda w, x: admin.organization_detail(w["root"], x),
    "get_outbox_message": lambda w, x: admin.get_outbox_message(w["root"], x),
    "revoke_session": lambda w, x: auth.revoke_session(w["olive"], x),
    "list_ssh_keys": lambda w, x: ssh_keys.list_keys(w["olive"], x),
    "ssh_key_options": lambda w, x: ssh_keys.options(w["olive"], x),
    "add_ssh_key.org": lambda w, x: ssh_keys.add_key(w["olive"], x, name="Any", public_key=new_public_key()),
    "rename_ssh_key.org": lambda w, x: ssh_keys.rename_key(w["olive"], x, w["acme_key"], name="Any"),
    "rename_ssh_key.key": lambda w, x: ssh_keys.rename_key(w["olive"], w["acme"], x, name="Any"),
    "delete_ssh_key.org": lambda w, x: ssh_keys.delete_key(w["olive"], x, w["acme_key"]),
    "delete_ssh_key.key": lambda w, x: ssh_keys.delete_key(w["olive"], w["acme"], x),
    "images_offered.org": lambda w, x: plans.images_offered(w["olive"], x, str(uuid.uuid4())),
    "images_offered.account": lambda w, x: plans.images_offered(w["olive"], w["acme"], x),
}


@pytest.mark.parametrize("call", [pytest.param(c, id=n) for n, c in ID_CALLS.items()])
def test_garbage_ids_are_not_found(w, call):
    """Each garbage id in turn (one snapshot around them all: 30 x 14 cases stay fast)."""
    before = snapshot()
    for case, bad_id in GARBAGE_IDS:
        with pytest.raises(ServiceError) as info:
            call(w, bad_id)
        assert isinstance(info.value, NotFound), (case, info.value)
        assert_clear_message(info.value)
    assert changed(before, snapshot()) == set()


TOKEN_CALLS: dict[str, Callable[[dict, Any], Any]] = {
    "get_invitation": lambda w, t: orgs.get_invitation(t),
    "accept_invitation": lambda w, t: orgs.accept_invitation(w["mia"], t),
    "decline_invitation": lambda w, t: orgs.decline_invitation(None, t),
}


@pytest.mark.parametrize("call", [pytest.param(c, id=n) for n, c in TOKEN_CALLS.items()])
@pytest.mark.parametrize("token", _params(BAD_TOKENS))
def test_garbage_invitation_tokens_are_not_found(w, call, token):
    refused(lambda: call(w, token), error=NotFound)


@pytest.mark.parametrize("token", _params(BAD_TOKENS))
def test_garbage_session_tokens_resolve_to_nobody_and_log_nobody_out(w, token):
    assert unchanged(lambda: auth.resolve_session(token, ip="1.2.3.4", user_agent="pytest")) is None
    assert unchanged(lambda: auth.logout(token)) is None


# ---------------------------------------------------------------------------------------------
# SSH keys: names and pasted key text
# ---------------------------------------------------------------------------------------------

def new_public_key(comment: str = "") -> str:
    """A fresh Ed25519 public key line (each add needs its own: duplicates are refused)."""
    line = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode()
    return f"{line} {comment}".strip()


def _ssh_key_name(key_id: str) -> str:
    with session_scope() as s:
        return s.get(SshKey, uuid.UUID(key_id)).name


@pytest.mark.parametrize("value, expected", text_cases(max_len=64, collapse=True)
                         + [pytest.param(7, REFUSED, id="not_text")])
def test_add_ssh_key_name(w, value, expected):
    """A key without a comment: an empty name has nothing to default to."""
    add = lambda name: ssh_keys.add_key(w["olive"], w["acme"], name=name, public_key=new_public_key())  # noqa: E731
    if expected is REFUSED:
        assert refused(lambda: add(value), error=ValidationError).field == "name"
        return
    key = same_effect(lambda: add("Plain key"), lambda: add(value))
    assert key["name"] == expected == _ssh_key_name(key["id"])


@pytest.mark.parametrize("value, expected", text_cases(max_len=64, collapse=True)
                         + [pytest.param(None, REFUSED, id="not_text")])
def test_rename_ssh_key(w, value, expected):
    rename = lambda name: ssh_keys.rename_key(w["olive"], w["acme"], w["acme_key"], name=name)  # noqa: E731
    if expected is REFUSED:
        assert refused(lambda: rename(value), error=ValidationError).field == "name"
        return
    rename("Something else")
    updated_only("ssh_keys", f"id = '{w['acme_key']}'", lambda: rename(value), activity="ssh_key.renamed")
    assert _ssh_key_name(w["acme_key"]) == expected


BAD_PUBLIC_KEYS = BLANK + TOO_LONG + UNSTORABLE + INJECTION + UNICODE + [
    ("not_text", None), ("number", 42), ("list", ["ssh-ed25519"]), ("type_only", "ssh-ed25519"),
    ("truncated", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA"), ("wrong_type", "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIA=="),
    ("unknown_type", "ssh-foo AAAAC3NzaC1lZDI1NTE5AAAAIA=="), ("bad_base64", "ssh-ed25519 AAAA!!!!"),
    ("private_pem", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----"),
    ("two_lines", "ssh-ed25519 AAAA\nssh-ed25519 BBBB"), ("blob_100kb", "ssh-ed25519 " + "A" * 100_000),
    ("nul_in_key", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5\x00AAAAIA=="),
]


@pytest.mark.parametrize("value", _params(BAD_PUBLIC_KEYS))
def test_add_ssh_key_malformed(w, value):
    err = refused(lambda: ssh_keys.add_key(w["olive"], w["acme"], name="Bad", public_key=value), error=ValidationError)
    assert err.field == "public_key"


def test_add_ssh_key_duplicate_is_refused_and_changes_nothing(w):
    with session_scope() as s:
        existing = s.get(SshKey, uuid.UUID(w["acme_key"]))
        line, name = existing.public_key, existing.name  # (the rename tests above may have renamed it)
    err = refused(lambda: ssh_keys.add_key(w["olive"], w["acme"], name="Again", public_key=line),
                  error=ValidationError)
    assert err.message == f"This key is already added as {name}." and err.field == "public_key"


# ---------------------------------------------------------------------------------------------
# wallet: adjustments and ledger filters
# ---------------------------------------------------------------------------------------------

BAD_AMOUNTS = [
    ("empty", ""), ("whitespace", "   "), ("oversized_text", OVERSIZED), ("oversized_number", "9" * 10_000),
    ("long_decimals", "1." + "0" * 9_999), ("letters", "abc"), ("sql_or", "1 OR 1=1"),
    ("sql_drop", "'; DROP TABLE ledger_entries;--"), ("html", "<script>alert(1)</script>"), ("exponent", "1e3"),
    ("nan", "NaN"), ("infinity", "Infinity"), ("zero", "0"), ("negative_zero", "-0.00"), ("five_decimals", "1.23456"),
    ("thousands", "1,000"), ("currency", "$5"), ("arabic_digits", "١٢"), ("fullwidth_digits", "１２"),
    ("nul", "12\x00"), ("lone_surrogate", f"1{S}"), ("none", None), ("float", 1.5), ("bool", True), ("list", [1]),
    ("too_big", "1000000.0001"),
]


@pytest.mark.parametrize("amount", _params(BAD_AMOUNTS))
def test_admin_adjust_bad_amount(w, amount):
    err = refused(lambda: wallet.admin_adjust(w["root"], w["acme"], amount=amount, reason="Goodwill"),
                  error=ValidationError)
    assert err.field == "amount"


def test_admin_adjust_overdraw_is_refused_with_a_clear_message(w):
    refused(lambda: wallet.admin_adjust(w["root"], w["acme"], amount="-999999", reason="Take it all"),
            error=InsufficientFunds)


def _ledger_description(entry_id: str) -> str:
    with session_scope() as s:
        return s.get(LedgerEntry, int(entry_id)).description


@pytest.mark.parametrize("value, expected", text_cases(max_len=300, collapse=True, min_len=3)
                         + [pytest.param(None, REFUSED, id="not_text")])
def test_admin_adjust_reason(w, value, expected):
    adjust = lambda reason: wallet.admin_adjust(w["root"], w["acme"], amount="1", reason=reason)  # noqa: E731
    if expected is REFUSED:
        assert refused(lambda: adjust(value), error=ValidationError).field == "reason"
        return
    result = same_effect(lambda: adjust("Plain reason"), lambda: adjust(value))
    assert _ledger_description(result["id"]) == expected
    rows, _ = wallet.list_ledger(w["olive"], w["acme"], limit=1)
    assert rows[0]["description"] == expected
    with session_scope() as s:
        assert wallet.invariant_violations(s) == []


BAD_KINDS = [("uppercase", "TOPUP"), ("padded", "topup "), ("sql", "'; DROP TABLE ledger_entries;--"),
             ("html", "<script>alert(1)</script>"), ("oversized", OVERSIZED), ("nul", "top\x00up"),
             ("lone_surrogate", f"top{S}"), ("list", ["topup"]), ("int", 42)]
BAD_DATES = [("month_13", "2026-13-45"), ("day_first", "31/12/2026"), ("word", "tomorrow"), ("oversized", OVERSIZED),
             ("nul", "2026-01-01\x00"), ("lone_surrogate", f"2026-01-0{S}"), ("sql_or", "1 OR 1=1"),
             ("sql_drop", "2026-01-01'; DROP TABLE ledger_entries;--"), ("html", "<script>alert(1)</script>"),
             ("unicode_digits", "２０２６-01-01"), ("int", 20260101), ("list", ["2026-01-01"])]
BAD_PAGES = [("text", "abc"), ("none", None), ("infinity", float("inf")), ("nan", float("nan")), ("list", [1])]

LEDGER_READS = {
    "list_ledger": lambda w, **kw: wallet.list_ledger(w["olive"], w["acme"], **kw),
    "ledger_csv": lambda w, **kw: wallet.ledger_csv(w["olive"], w["acme"], **kw),
}


@pytest.mark.parametrize("read", [pytest.param(f, id=n) for n, f in LEDGER_READS.items()])
@pytest.mark.parametrize("kw", [pytest.param({"kind": v}, id=f"kind-{c}") for c, v in BAD_KINDS]
                         + [pytest.param({"since": v}, id=f"since-{c}") for c, v in BAD_DATES]
                         + [pytest.param({"until": v}, id=f"until-{c}") for c, v in BAD_DATES]
                         + [pytest.param({"until": "9999-12-31"}, id="until-last_day"),
                            pytest.param({"since": "2026-02-01", "until": "2026-01-01"}, id="reversed_range")])
def test_ledger_bad_filters(w, read, kw):
    err = refused(lambda: read(w, **kw), error=ValidationError)
    assert err.field in ("kind", "since", "until")


@pytest.mark.parametrize("kw", [pytest.param({"limit": v}, id=f"limit-{c}") for c, v in BAD_PAGES]
                         + [pytest.param({"offset": v}, id=f"offset-{c}") for c, v in BAD_PAGES])
def test_ledger_bad_page(w, kw):
    refused(lambda: wallet.list_ledger(w["olive"], w["acme"], **kw), error=ValidationError)


@pytest.mark.parametrize("kw", [pytest.param({"limit": 10**30}, id="huge_limit"),
                                pytest.param({"offset": 10**30}, id="huge_offset"),
                                pytest.param({"limit": -5, "offset": -5}, id="negative")])
def test_ledger_extreme_pages_are_clamped(w, kw):
    rows, total = unchanged(lambda: wallet.list_ledger(w["olive"], w["acme"], **kw))
    assert total >= 1 and len(rows) <= wallet.PAGE_MAX


# ---------------------------------------------------------------------------------------------
# platform settings
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("key", _params([
    ("empty", ""), ("uppercase", "PLATFORM_NAME"), ("padded", "platform_name "), ("sql", "'; DROP TABLE users;--"),
    ("html", "<script>alert(1)</script>"), ("oversized", OVERSIZED), ("nul", "platform\x00name"),
    ("lone_surrogate", f"platform{S}"), ("none", None), ("list", ["platform_name"]),
]))
def test_set_value_unknown_key(w, key):
    assert refused(lambda: platform_settings.set_value(w["root"], key, "Anything"), error=ValidationError).field == "key"


@pytest.mark.parametrize("value", ["true", "false", 1, 0, None, "", "<script>alert(1)</script>", "\x00"])
def test_set_value_registration_enabled_needs_a_boolean(w, value):
    assert refused(lambda: platform_settings.set_value(w["root"], "registration_enabled", value),
                   error=ValidationError).field == "value"


@pytest.mark.parametrize("value, expected", text_cases(max_len=100, collapse=True, no_angle=True)
                         + [pytest.param(5, REFUSED, id="not_text")])
def test_set_value_platform_name(w, value, expected):
    set_name = lambda v: platform_settings.set_value(w["root"], "platform_name", v)  # noqa: E731
    if expected is REFUSED:
        assert refused(lambda: set_name(value), error=ValidationError).field == "value"
        return
    set_name("Plain Name")
    updated_only("platform_settings", "key = 'platform_name'", lambda: set_name(value),
                 activity="platform.setting_changed")
    assert platform_settings.get("platform_name") == expected


@pytest.mark.parametrize("value", _params(INVALID_EMAILS))
def test_set_value_support_email_invalid(w, value):
    assert refused(lambda: platform_settings.set_value(w["root"], "support_email", value),
                   error=ValidationError).field == "value"


@pytest.mark.parametrize("value, stored", _params(valid_emails("support")))
def test_set_value_support_email_unusual_valid(w, value, stored):
    before = snapshot()
    platform_settings.set_value(w["root"], "support_email", value)
    assert changed(before, snapshot()) == {"platform_settings", "activity_logs"}
    assert platform_settings.get("support_email") == stored


# ---------------------------------------------------------------------------------------------
# searches (admin lists, organization activity)
# ---------------------------------------------------------------------------------------------

SEARCHES = {
    "list_users": lambda w, q: admin.list_users(w["root"], search=q),
    "list_organizations": lambda w, q: admin.list_organizations(w["root"], search=q),
    "list_activity.search": lambda w, q: orgs.list_activity(w["olive"], w["acme"], search=q),
    "list_activity.action_prefix": lambda w, q: orgs.list_activity(w["olive"], w["acme"], action_prefix=q),
}
MATCHES = {  # what a row must contain for the term to have matched it literally
    "list_users": lambda row, q: q.lower() in (row["name"] + " " + row["email"]).lower(),
    "list_organizations": lambda row, q: q.lower() in (row["name"] + " " + row["slug"]).lower(),
    "list_activity.search": lambda row, q: q.lower() in (row["summary"] + " " + row["action"]).lower(),
    "list_activity.action_prefix": lambda row, q: row["action"].startswith(q),
}
_admin_searches = [pytest.param(SEARCHES[n], id=n) for n in ("list_users", "list_organizations")]


@pytest.mark.parametrize("search", [pytest.param(SEARCHES[n], id=n) for n in SEARCHES])
@pytest.mark.parametrize("value", _params(UNSTORABLE))
def test_search_with_unstorable_characters(w, search, value):
    assert refused(lambda: search(w, value), error=ValidationError).field == "search"


@pytest.mark.parametrize("search", _admin_searches)
@pytest.mark.parametrize("value", _params(TOO_LONG + [("over_max", "y" * 101), ("not_text", 5)]))
def test_admin_search_too_long_or_not_text(w, search, value):
    assert refused(lambda: search(w, value), error=ValidationError).field == "search"


@pytest.mark.parametrize("name", list(SEARCHES))
@pytest.mark.parametrize("value", _params(INJECTION + UNICODE))
def test_search_text_is_taken_literally(w, name, value):
    """Only rows holding the very text come back ("%" and "_" are no wildcards; SQL is just text)."""
    rows, total = unchanged(lambda: SEARCHES[name](w, value))
    assert total == len(rows) or len(rows) == 25
    assert all(MATCHES[name](row, value) for row in rows), [r.get("name", r.get("summary")) for r in rows]


def test_like_wildcards_match_literally(w):
    rows, total = unchanged(lambda: admin.list_users(w["root"], search="100%_off"))
    assert "Leo 100 off" not in [r["name"] for r in rows]
    assert unchanged(lambda: admin.list_users(w["root"], search="100 off"))[1] >= 1


@pytest.mark.parametrize("bad", _params([("text", "abc"), ("infinity", float("inf")), ("none", None)]))
def test_admin_bad_page(w, bad):
    assert refused(lambda: admin.list_users(w["root"], limit=bad), error=ValidationError).field == "page"
    assert refused(lambda: admin.list_organizations(w["root"], offset=bad), error=ValidationError).field == "page"


def test_search_with_an_apostrophe_finds_the_person(w):
    rows, total = unchanged(lambda: admin.list_users(w["root"], search="o'brien"))
    assert "Dana O'Brien" in [r["name"] for r in rows]
    assert all("o'brien" in (r["name"] + r["email"]).lower() for r in rows)


def test_extreme_offsets_are_clamped(w):
    assert unchanged(lambda: admin.list_users(w["root"], offset=10**30))[0] == []
    assert unchanged(lambda: orgs.list_activity(w["olive"], w["acme"], offset=10**30))[0] == []
