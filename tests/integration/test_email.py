"""Email: templates, the dev outbox, and real deliveries to local stand-ins for Resend (HTTP) and an
SMTP relay (with STARTTLS and AUTH), including retries, backoff and giving up."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import ipaddress
import json
import socketserver
import ssl
import threading
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import text
from sqlmodel import select

from skypanel.backend.config import get_settings
from skypanel.backend.db import session_scope
from skypanel.backend.integrations import email as mail
from skypanel.backend.models import EmailMessage
from skypanel.backend.models.base import utcnow
from skypanel.backend.services import admin, platform_settings

from .factories import make_user

API_KEY = "re_test_0123456789"
SAMPLE_CONTEXT = {
    "welcome": {"name": "Ada <Lovelace>"},
    "invitation": {"inviter_name": "Ada <Lovelace>", "organization_name": "Acme & Sons", "role": "Billing manager",
                   "accept_url": "/invitations/tok123", "expires_at": dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)},
    "password_reset": {"name": "Ada <Lovelace>", "reset_url": "/reset-password?token=abc&x=1", "ip": "203.0.113.9",
                       "expires_minutes": 60},
    "two_factor_changed": {"name": "Ada <Lovelace>", "enabled": True, "ip": "203.0.113.9",
                           "when": dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)},
    "new_sign_in": {"name": "Ada <Lovelace>", "ip": "203.0.113.9", "user_agent": "Firefox/130",
                    "when": dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)},
    "runway_low": {"name": "Ada <Lovelace>", "organization_name": "Acme & Sons", "runway": "lasts about 20 hours",
                   "balance": "$0.40", "burn": "$0.02 per hour", "threshold": "below 24 hours", "grace_hours": 24,
                   "billing_url": "/billing"},
    "balance_negative": {"name": "Ada <Lovelace>", "organization_name": "Acme & Sons", "balance": "-$3.10",
                         "burn": "$0.02 per hour", "amount_to_add": "$3.10", "billing_url": "/billing",
                         "suspend_at": dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)},
    "servers_suspended": {"name": "Ada <Lovelace>", "organization_name": "Acme & Sons", "balance": "-$3.10",
                          "amount_to_add": "$3.10", "servers": "2", "grace_hours": 24, "billing_url": "/billing",
                          "terminate_at": dt.datetime(2026, 3, 9, 12, 0, tzinfo=dt.UTC)},
}


def _queue(to: str = "ada@example.com", template: str = "welcome", context: dict | None = None) -> str:
    with session_scope() as s:
        return str(mail.queue(s, to=to, template=template, context=context or {"name": "Ada"}).id)


def _message(mid: str) -> EmailMessage:
    with session_scope() as s:
        return s.get(EmailMessage, mid)


def _make_due(mid: str) -> None:
    with session_scope() as s:
        s.execute(text("UPDATE email_messages SET next_attempt_at = now() - interval '1 second' WHERE id = :i"),
                  {"i": mid})


def _deliver() -> int:
    """One delivery run, after any background kick has settled (so counts are deterministic)."""
    mail.wait_for_background()
    sent = mail.deliver_due()
    mail.wait_for_background()
    return sent


@pytest.fixture()
def configure(monkeypatch):
    """Set transport environment variables for one test and make the settings object re-read them."""
    def apply(**env: str) -> None:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        get_settings.cache_clear()

    yield apply
    mail.wait_for_background()
    for key in ("RESEND_API_KEY", "RESEND_BASE_URL", "SMTP_HOST", "SMTP_PORT", "SMTP_USERNAME", "SMTP_PASSWORD",
                "SMTP_STARTTLS", "SSL_CERT_FILE"):
        monkeypatch.delenv(key, raising=False)
    get_settings.cache_clear()


# ---- rendering and the dev outbox ----------------------------------------------------------

@pytest.mark.parametrize("template", mail.TEMPLATES)
def test_every_template_renders_escaped_branded_html_and_plain_text(template):
    subject, html, body = mail.render(template, SAMPLE_CONTEXT[template], platform_name="Cloudy & Co",
                                      support_email="help@cloudy.test", public_url="https://panel.test/")
    assert subject and "\n" not in subject and "{{" not in subject
    assert "Cloudy & Co" in subject
    assert html.startswith("<!DOCTYPE html>") and "Cloudy &amp; Co" in html and "help@cloudy.test" in html
    assert "<Lovelace>" not in html and "&lt;Lovelace&gt;" in html  # autoescaped
    assert f"<title>{subject.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')}</title>" in html
    assert "<" not in body.replace("<Lovelace>", "")  # plain text has no markup, and is not escaped
    assert "Ada <Lovelace>" in body and "Cloudy & Co" in body and "{{" not in body
    assert "http://" not in html and "https://panel.test" in html  # links are absolute under PUBLIC_URL


def test_template_specifics():
    kw = {"platform_name": "SkyPanel", "support_email": "s@sky.test", "public_url": "https://panel.test"}
    s, html, body = mail.render("invitation", SAMPLE_CONTEXT["invitation"], **kw)
    assert s == "Ada <Lovelace> invited you to join Acme & Sons on SkyPanel"
    assert 'href="https://panel.test/invitations/tok123"' in html and "2026-03-01 12:00 UTC" in body
    s, html, body = mail.render("password_reset", SAMPLE_CONTEXT["password_reset"], **kw)
    assert "https://panel.test/reset-password?token=abc&amp;x=1" in html
    assert "https://panel.test/reset-password?token=abc&x=1" in body and "60 minutes" in body
    s, _, body = mail.render("two_factor_changed", {"name": "A", "enabled": False}, **kw)
    assert s == "Two-factor authentication turned off for your SkyPanel account" and "turned off" in body
    s, _, _ = mail.render("welcome", {"name": "x\r\nBcc: victim@evil.test"}, **kw)
    assert s == "Welcome to SkyPanel"
    s, _, _ = mail.render("invitation", {"inviter_name": "Eve\r\nBcc: a@b.c", "organization_name": "O"}, **kw)
    assert "\r" not in s and "\n" not in s  # no header injection through the context
    with pytest.raises(ValueError):
        mail.render("nope", {}, **kw)


def test_without_a_transport_messages_are_stored_for_the_admin_outbox(db):
    admin_id, staff = make_user("staff@mail.test", "Sam Staff", admin=True)
    platform_settings.set_value(staff, "platform_name", "Nimbus")
    mid = _queue("  Ada@Example.COM ", "password_reset", {"name": "Ada", "reset_url": "/reset-password?token=t"})
    m = _message(mid)
    assert (m.status, m.transport, m.attempts, m.to_email) == ("stored", "outbox", 0, "ada@example.com")
    assert m.subject == "Reset your Nimbus password" and "Nimbus" in m.html_body
    assert _deliver() == 0 and _message(mid).status == "stored"
    rows, total = admin.list_outbox(staff)
    assert total == 1 and rows[0]["subject"] == "Reset your Nimbus password" and "html_body" not in rows[0]
    full = admin.get_outbox_message(staff, mid)
    assert "reset-password?token=t" in full["html_body"] and "reset-password?token=t" in full["text_body"]


def test_queue_never_raises_for_a_bad_address_and_refuses_unknown_templates(db):
    mid = _queue(to="not an address\r\nBcc: x@y.z")
    m = _message(mid)
    assert m.status == "failed" and "Invalid recipient" in m.last_error and "\n" not in m.to_email
    assert _deliver() == 0 and _message(mid).status == "failed"
    local = _message(_queue(to="demo@skypanel.local"))  # special-use domains are fine (demo accounts)
    assert (local.status, local.to_email) == ("stored", "demo@skypanel.local")
    with pytest.raises(ValueError):
        _queue(template="no_such_template")
    with session_scope() as s:
        assert len(s.exec(select(EmailMessage)).all()) == 2


def test_a_rolled_back_transaction_sends_nothing(db):
    with pytest.raises(RuntimeError):
        with session_scope() as s:
            mail.queue(s, to="ada@example.com", template="welcome", context={"name": "Ada"})
            raise RuntimeError("the request failed after queueing")
    with session_scope() as s:
        assert s.exec(select(EmailMessage)).all() == []


# ---- Resend over real HTTP -------------------------------------------------------------------

class ResendStandIn:
    """A local HTTP server with Resend's POST /emails shape; `script` holds the next status codes."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.script: list[tuple[int, dict]] = []
        self.lock = threading.Lock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with stand_in.lock:
                    stand_in.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                    status, headers = stand_in.script.pop(0) if stand_in.script else (200, {})
                if self.path != "/emails":
                    return self._reply(404, {"statusCode": 404, "name": "not_found", "message": "Not found"})
                if self.headers.get("Authorization") != f"Bearer {API_KEY}":
                    return self._reply(401, {"statusCode": 401, "name": "missing_api_key", "message": "Bad key"})
                try:
                    payload = json.loads(body)
                    assert self.headers.get("Content-Type", "").startswith("application/json")
                    assert isinstance(payload["from"], str) and payload["from"]
                    assert isinstance(payload["to"], list) and all(isinstance(t, str) for t in payload["to"])
                    assert all(isinstance(payload[k], str) and payload[k] for k in ("subject", "html", "text"))
                    assert "template" not in payload  # html/text and a template are mutually exclusive
                except (ValueError, KeyError, AssertionError):
                    return self._reply(422, {"statusCode": 422, "name": "validation_error", "message": "Bad body"})
                if status != 200:
                    return self._reply(status, {"statusCode": status, "name": "error", "message": f"status {status}"},
                                       headers)
                return self._reply(200, {"id": f"re_{len(stand_in.requests)}"})

            def _reply(self, status: int, body: dict, headers: dict | None = None) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def resend(configure) -> Iterator[ResendStandIn]:
    stand_in = ResendStandIn()
    configure(RESEND_API_KEY=API_KEY, RESEND_BASE_URL=stand_in.url)
    yield stand_in
    mail.wait_for_background()
    stand_in.close()


def test_resend_delivers_once_with_bearer_key_and_idempotency_key(db, resend):
    mid = _queue("ada@example.com", "welcome", {"name": "Ada"})
    _deliver()  # the after-commit kick and this run race; exactly one of them sends
    m = _message(mid)
    assert (m.status, m.transport, m.attempts, m.last_error) == ("sent", "resend", 1, "")
    assert m.sent_at is not None and m.next_attempt_at is None
    assert len(resend.requests) == 1
    req = resend.requests[0]
    assert req["headers"]["Authorization"] == f"Bearer {API_KEY}" and req["headers"]["Idempotency-Key"] == mid
    payload = json.loads(req["body"])
    assert payload["to"] == ["ada@example.com"] and payload["subject"] == "Welcome to SkyPanel"
    assert payload["from"] == get_settings().email_from
    assert payload["html"] == m.html_body and payload["text"] == m.text_body
    assert _deliver() == 0 and len(resend.requests) == 1  # nothing sent twice


def test_resend_5xx_is_retried_with_backoff_then_sent(db, resend):
    resend.script = [(500, {})]
    mid = _queue()
    _deliver()
    m = _message(mid)
    assert (m.status, m.attempts) == ("queued", 1) and "500" in m.last_error
    wait = m.next_attempt_at - utcnow()
    assert timedelta(seconds=50) < wait <= timedelta(minutes=1)  # first backoff step
    assert _deliver() == 0 and len(resend.requests) == 1  # not due yet

    _make_due(mid)
    assert _deliver() == 1
    m = _message(mid)
    assert (m.status, m.attempts, m.last_error) == ("sent", 2, "")
    assert [r["headers"]["Idempotency-Key"] for r in resend.requests] == [mid, mid]


def test_resend_429_honours_retry_after(db, resend):
    resend.script = [(429, {"retry-after": "900"})]
    mid = _queue()
    _deliver()
    m = _message(mid)
    assert m.status == "queued" and "429" in m.last_error
    assert m.next_attempt_at - utcnow() > timedelta(seconds=890)


def test_resend_gives_up_after_six_attempts(db, resend):
    resend.script = [(503, {})] * 10
    mid = _queue()
    _deliver()
    waits = []
    for _ in range(5):
        m = _message(mid)
        waits.append(round((m.next_attempt_at - utcnow()).total_seconds() / 60))
        _make_due(mid)
        _deliver()
    m = _message(mid)
    assert (m.status, m.attempts, m.next_attempt_at) == ("failed", mail.MAX_ATTEMPTS, None)
    assert waits == [1, 5, 30, 120, 360]  # minutes: the backoff grows
    assert len(resend.requests) == 6
    _make_due(mid)
    assert _deliver() == 0 and len(resend.requests) == 6  # failed is final


def test_a_send_whose_worker_died_is_picked_up_after_its_lease(db, resend):
    resend.script = [(500, {})]
    retry, dead = _queue("a@example.com"), _queue("b@example.com")
    _deliver()
    with session_scope() as s:  # both look claimed by a worker that vanished; one had used its last attempt
        s.execute(text("UPDATE email_messages SET status = 'sending', attempts = 2, "
                       "next_attempt_at = now() + interval '10 minutes' WHERE id = :i"), {"i": retry})
        s.execute(text("UPDATE email_messages SET status = 'sending', attempts = 6, "
                       "next_attempt_at = now() - interval '1 second' WHERE id = :i"), {"i": dead})
    before = len(resend.requests)
    assert _deliver() == 0  # the live lease is respected
    assert _message(dead).status == "failed" and len(resend.requests) == before
    _make_due(retry)
    assert _deliver() == 1
    assert (_message(retry).status, _message(retry).attempts) == ("sent", 3)


def test_resend_client_errors_fail_at_once(db, resend, configure):
    configure(RESEND_API_KEY="re_wrong_key")
    mid = _queue()
    _deliver()
    m = _message(mid)
    assert (m.status, m.attempts) == ("failed", 1) and "401" in m.last_error


def test_a_failing_transport_never_breaks_the_caller(db, configure):
    configure(RESEND_API_KEY=API_KEY, RESEND_BASE_URL="http://127.0.0.1:9")  # nothing listens on port 9
    mid = _queue()  # commits and kicks a background send that fails
    mail.wait_for_background()
    m = _message(mid)
    assert m.status == "queued" and m.attempts == 1 and "unreachable" in m.last_error
    _make_due(mid)
    assert mail.deliver_due() == 0  # returns, does not raise
    assert _message(mid).attempts == 2


def test_sign_up_succeeds_while_the_email_provider_is_down(db, resend):
    from skypanel.backend.services import auth

    resend.script = [(500, {})] * 3
    result = auth.register(name="Ada", email="ada@example.com", password="a-long-unusual-passphrase",
                           accept_terms=True, ip="198.51.100.7", user_agent="pytest")
    assert result["session_token"] and result["user_id"]
    mail.wait_for_background()
    with session_scope() as s:
        m, = s.exec(select(EmailMessage).where(EmailMessage.template == "welcome")).all()
    assert m.to_email == "ada@example.com" and m.status == "queued" and "500" in m.last_error


async def test_delivery_loop_sends_due_messages(db, resend):
    resend.script = [(500, {})]
    mid = _queue()
    mail.wait_for_background()
    _make_due(mid)
    task = asyncio.create_task(mail.delivery_loop())
    for _ in range(100):
        await asyncio.sleep(0.05)
        if _message(mid).status == "sent":
            break
    task.cancel()
    assert _message(mid).status == "sent"


# ---- SMTP with STARTTLS and AUTH against a local relay -------------------------------------

def _self_signed(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class SmtpStandIn:
    """A small SMTP relay: EHLO, optional STARTTLS, AUTH PLAIN, MAIL/RCPT/DATA; records what it got."""

    def __init__(self, tls: ssl.SSLContext | None, user: str = "mailer", password: str = "s3cret") -> None:
        self.messages: list[dict] = []
        self.commands: list[str] = []
        relay = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write(line.encode() + b"\r\n")
                self.wfile.flush()

            def handle(self) -> None:
                secure = authed = False
                sender, rcpts = "", []
                self.reply("220 relay.test ESMTP")
                while True:
                    raw = self.rfile.readline()
                    if not raw:
                        return
                    line = raw.decode().rstrip("\r\n")
                    verb = line.split(" ", 1)[0].upper()
                    relay.commands.append(f"{verb}{' (tls)' if secure else ''}")
                    if verb in ("EHLO", "HELO"):
                        caps = ["250-relay.test", "250-8BITMIME"]
                        if tls is not None and not secure:
                            caps.append("250-STARTTLS")
                        caps.append("250 AUTH PLAIN" if secure or tls is None else "250 HELP")
                        for c in caps:
                            self.reply(c)
                    elif verb == "STARTTLS" and tls is not None and not secure:
                        self.reply("220 Go ahead")
                        self.request = tls.wrap_socket(self.connection, server_side=True)
                        self.connection = self.request
                        self.rfile = self.request.makefile("rb")
                        self.wfile = self.request.makefile("wb")
                        secure = True
                    elif verb == "AUTH":
                        _, mech, blob = line.split(" ", 2)
                        _, u, p = base64.b64decode(blob).decode().split("\0")
                        authed = mech.upper() == "PLAIN" and (u, p) == (user, password)
                        self.reply("235 Authenticated" if authed else "535 Authentication failed")
                    elif verb == "MAIL":
                        if not authed:
                            self.reply("530 Authentication required")
                            continue
                        sender, rcpts = line[10:].split(" ")[0].strip("<>"), []
                        self.reply("250 OK")
                    elif verb == "RCPT":
                        rcpts.append(line[8:].split(" ")[0].strip("<>"))
                        self.reply("250 OK")
                    elif verb == "DATA":
                        self.reply("354 End data with <CR><LF>.<CR><LF>")
                        data = []
                        while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                            data.append(chunk[1:] if chunk.startswith(b"..") else chunk)
                        relay.messages.append({"from": sender, "to": rcpts, "data": b"".join(data),
                                               "tls": secure})
                        self.reply("250 Queued")
                    elif verb == "QUIT":
                        self.reply("221 Bye")
                        return
                    else:
                        self.reply("250 OK")

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def tls_files(tmp_path):
    return _self_signed(tmp_path)


def test_smtp_delivers_over_starttls_with_auth(db, configure, tls_files):
    cert, key = tls_files
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    relay = SmtpStandIn(ctx)
    try:
        # SSL_CERT_FILE makes the client trust our throwaway certificate (verification stays on).
        configure(SMTP_HOST="127.0.0.1", SMTP_PORT=str(relay.port), SMTP_USERNAME="mailer",
                  SMTP_PASSWORD="s3cret", SMTP_STARTTLS="true", SSL_CERT_FILE=str(cert))
        mid = _queue("ada@example.com", "two_factor_changed", {"name": "Ada", "enabled": True})
        _deliver()
        m = _message(mid)
        assert (m.status, m.transport, m.attempts) == ("sent", "smtp", 1), m.last_error
        got, = relay.messages
        assert got["tls"] is True and got["to"] == ["ada@example.com"]
        assert relay.commands.index("STARTTLS") < relay.commands.index("AUTH (tls)")
        parsed = message_from_bytes(got["data"], policy=policy.default)
        assert parsed["Subject"] == m.subject and parsed["To"] == "ada@example.com"
        assert parsed.get_content_type() == "multipart/alternative"
        def unwire(part) -> str:
            return part.get_content().replace("\r\n", "\n").strip()

        assert unwire(parsed.get_body(("plain",))) == m.text_body.strip()
        assert unwire(parsed.get_body(("html",))) == m.html_body.strip()
    finally:
        relay.close()


def test_smtp_never_falls_back_to_plain_text_when_starttls_is_required(db, configure):
    relay = SmtpStandIn(tls=None)  # offers no STARTTLS
    try:
        configure(SMTP_HOST="127.0.0.1", SMTP_PORT=str(relay.port), SMTP_USERNAME="mailer",
                  SMTP_PASSWORD="s3cret", SMTP_STARTTLS="true")
        mid = _queue()
        _deliver()
        m = _message(mid)
        assert (m.status, m.attempts) == ("queued", 1) and "STARTTLS" in m.last_error.upper()
        assert relay.messages == [] and "AUTH" not in relay.commands and "MAIL" not in relay.commands
    finally:
        relay.close()


def test_smtp_without_tls_when_configured_so_and_a_refused_login_is_retried(db, configure):
    relay = SmtpStandIn(tls=None)
    try:
        configure(SMTP_HOST="127.0.0.1", SMTP_PORT=str(relay.port), SMTP_USERNAME="mailer",
                  SMTP_PASSWORD="wrong", SMTP_STARTTLS="false")
        mid = _queue()
        _deliver()
        m = _message(mid)
        assert (m.status, m.attempts) == ("queued", 1) and "535" in m.last_error
        configure(SMTP_PASSWORD="s3cret")  # the operator fixes the password; the retry goes through
        _make_due(mid)
        assert _deliver() == 1
        assert _message(mid).status == "sent" and relay.messages[0]["tls"] is False
    finally:
        relay.close()
