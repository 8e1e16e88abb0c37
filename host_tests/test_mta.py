"""Prove the loopback Postfix + Dovecot fixture (host_tests/mta.py) behaves like a real ISP."""

from __future__ import annotations

import base64
import email
import poplib
import smtplib
import ssl
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from mta import (  # noqa: F401  (fixtures)
    MTA,
    _alive,
    _pids_with_env,
    clean_mta_fixture,
    mta_fixture,
    start_mta,
)

BODY = "Alarm: input 3 opened\r\nZone: Keller\r\nTemp: 21.5 \u00b0C\r\n.leading dot line\r\n"


def make_mail(server: MTA, subject: str, body: str = BODY) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "modem@device.example"
    msg["To"] = server.address
    msg["Subject"] = subject
    msg.set_content(body, charset="utf-8", cte="8bit")
    return msg


def smtp_tls(server: MTA) -> smtplib.SMTP:
    s = smtplib.SMTP(server.host, server.smtp_port, timeout=10)
    s.ehlo("device.example")
    s.starttls(context=server.ssl_context())
    s.ehlo("device.example")
    return s


def body_of(raw: bytes) -> bytes:
    return email.message_from_bytes(raw).get_payload(decode=True)


def test_auth_only_offered_after_starttls(mta):
    with smtplib.SMTP(mta.host, mta.smtp_port, timeout=10) as s:
        code, _ = s.ehlo("device.example")
        assert code == 250
        assert s.has_extn("starttls")
        assert not s.has_extn("auth")
        # Trying anyway is refused, before any credentials are looked at.
        code, resp = s.docmd(
            "AUTH", "PLAIN " + base64.b64encode(f"\0{mta.user}\0{mta.password}".encode()).decode()
        )
        assert code == 503, resp
        s.starttls(context=mta.ssl_context())
        s.ehlo("device.example")
        assert set(s.esmtp_features["auth"].upper().split()) >= {"PLAIN", "LOGIN"}
        assert not s.has_extn("starttls")


def test_server_certificate_is_verified_against_the_test_ca(mta):
    with smtplib.SMTP(mta.host, mta.smtp_port, timeout=10) as s:
        s.ehlo()
        with pytest.raises(ssl.SSLCertVerificationError):
            s.starttls(context=ssl.create_default_context())  # system CAs only
    # The certificate names localhost as well as 127.0.0.1.
    with smtplib.SMTP("localhost", mta.smtp_port, timeout=10) as s:
        s.starttls(context=mta.ssl_context())
        assert s.sock.server_hostname == "localhost"


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_wrong_password_gets_535(mta, mechanism):
    with smtp_tls(mta) as s:
        s.user, s.password = mta.user, "wrong-" + mta.password
        auth = s.auth_plain if mechanism == "PLAIN" else s.auth_login
        with pytest.raises(smtplib.SMTPAuthenticationError) as err:
            s.auth(mechanism, auth, initial_response_ok=False)
        assert err.value.smtp_code == 535


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_send_with_starttls_and_auth_arrives_intact(clean_mta, mechanism):
    mta = clean_mta
    with smtp_tls(mta) as s:
        s.user, s.password = mta.user, mta.password
        auth = s.auth_plain if mechanism == "PLAIN" else s.auth_login
        code, _ = s.auth(mechanism, auth, initial_response_ok=mechanism == "PLAIN")
        assert code == 235
        refused = s.send_message(make_mail(mta, f"via {mechanism}"))
        assert refused == {}
    started = time.monotonic()
    (mail,) = mta.wait_for_mail(1, timeout=10)
    assert time.monotonic() - started < 5
    msg = email.message_from_bytes(mail.data)
    assert msg["Subject"] == f"via {mechanism}"
    assert msg["Delivered-To"] == mta.address
    # Maildir files use LF line ends; otherwise the body is byte for byte what was sent.
    assert body_of(mail.data) == BODY.replace("\r\n", "\n").encode()
    assert "ESMTPSA" in msg["Received"]


def test_implicit_tls_submission_port(clean_mta):
    mta = clean_mta
    with smtplib.SMTP_SSL(mta.host, mta.smtps_port, context=mta.ssl_context(), timeout=10) as s:
        s.ehlo("device.example")
        assert "PLAIN" in s.esmtp_features["auth"].upper()
        s.login(mta.user, mta.password)
        s.send_message(make_mail(mta, "via smtps"))
    (mail,) = mta.wait_for_mail(1)
    assert email.message_from_bytes(mail.data)["Subject"] == "via smtps"


def test_unauthenticated_and_relay_and_unknown_user_are_refused(clean_mta):
    mta = clean_mta
    with smtp_tls(mta) as s:
        s.mail("modem@device.example")
        code, resp = s.rcpt(mta.address)
        assert code == 554 and b"Access denied" in resp
        s.rset()
        s.login(mta.user, mta.password)
        s.mail("modem@device.example")
        code, resp = s.rcpt("someone@example.org")
        assert code == 554 and b"Relay access denied" in resp
        code, resp = s.rcpt(f"nobody-here@{mta.domain}")
        assert code == 550, resp
    assert mta.messages() == []


def _send(server: MTA, subject: str) -> None:
    with smtp_tls(server) as s:
        s.login(server.user, server.password)
        s.send_message(make_mail(server, subject))


def test_pop3_stls_list_retrieve_delete(clean_mta):
    mta = clean_mta
    _send(mta, "first")
    _send(mta, "second")
    mta.wait_for_mail(2)
    p = poplib.POP3(mta.host, mta.pop3_port, timeout=10)
    try:
        assert "STLS" in p.capa()
        p.stls(context=mta.ssl_context())
        assert p.user(mta.user).startswith(b"+OK")
        assert p.pass_(mta.password).startswith(b"+OK")
        count, size = p.stat()
        assert count == 2 and size > 0
        _, listing, _ = p.list()
        assert len(listing) == 2
        _, lines, _ = p.retr(1)
        raw = b"\r\n".join(lines) + b"\r\n"
        assert email.message_from_bytes(raw)["Subject"] == "first"
        assert body_of(raw) == BODY.encode()
        p.dele(1)
    finally:
        p.quit()
    remaining = mta.wait_for_mail(1)
    assert len(remaining) == 1
    assert email.message_from_bytes(remaining[0].data)["Subject"] == "second"


def test_pop3s_and_wrong_password(clean_mta):
    mta = clean_mta
    _send(mta, "over pop3s")
    mta.wait_for_mail(1)
    p = poplib.POP3_SSL(mta.host, mta.pop3s_port, context=mta.ssl_context(), timeout=10)
    try:
        p.user(mta.user)
        p.pass_(mta.password)
        _, uidls, _ = p.uidl()
        assert len(uidls) == 1
        _, lines, _ = p.retr(1)
        assert b"Subject: over pop3s" in lines
        p.dele(1)
    finally:
        p.quit()
    deadline = time.monotonic() + 5
    while mta.messages() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert mta.messages() == []

    p = poplib.POP3(mta.host, mta.pop3_port, timeout=10)
    try:
        p.user(mta.user)
        with pytest.raises(poplib.error_proto, match="-ERR"):
            p.pass_("wrong-" + mta.password)
    finally:
        p.close()


def test_clear_empties_the_mailbox(mta):
    _send(mta, "leftover")
    mta.wait_for_mail(1)
    mta.clear()
    assert mta.messages() == []


def test_second_instance_starts_in_parallel_and_stops_cleanly(mta):
    started = time.monotonic()
    with start_mta() as other:
        elapsed = time.monotonic() - started
        assert {other.smtp_port, other.pop3_port}.isdisjoint({mta.smtp_port, mta.pop3_port})
        _send(other, "to the second instance")
        (mail,) = other.wait_for_mail(1)
        assert b"to the second instance" in mail.data
        master, dovecot = other._postfix_pid, other._dovecot.pid
        config, root = other.postfix_config, other.root
    assert elapsed < 20
    assert not _alive(master) and not _alive(dovecot)
    assert _pids_with_env(f"MAIL_CONFIG={config}") == []
    assert not Path(root).exists()
    # The session's instance is untouched.
    assert all(b"to the second instance" not in m.data for m in mta.messages())
