"""The email channel through smtplib to an aiosmtpd relay on 127.0.0.1 (STARTTLS, AUTH)."""

from __future__ import annotations

import base64
import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from pydantic import SecretStr
from tests.fake_smtp import fake_smtp_server
from tests.fixtures.fake_secrets import FAKE_SMTP_PASSWORD
from tests.notify.messages import group, opened, resolved

from lookout.config.models import EmailTarget
from lookout.errors import DeliveryError
from lookout.notify.channels.base import Delivery, Sent
from lookout.notify.channels.email import EmailChannel, email_destination
from lookout.notify.channels.slack_lookup import LookupUnavailable, SendInDoubt
from lookout.notify.formats.html import to_html
from lookout.notify.formats.text import to_text
from lookout.notify.message import Message

USER = "lookout"
TO = ["oncall@example.com", "ml-team@example.com"]
_FORMS = (
    FAKE_SMTP_PASSWORD,
    base64.b64encode(FAKE_SMTP_PASSWORD.encode()).decode(),
    base64.b64encode(f"\0{USER}\0{FAKE_SMTP_PASSWORD}".encode()).decode(),
)


@pytest.fixture
def relay(tmp_path):
    with fake_smtp_server(tmp_path, username=USER, password=FAKE_SMTP_PASSWORD) as fake:
        yield fake


@pytest.fixture(autouse=True)
def _no_password_in_logs(caplog):
    """Every test: Lookout's log records (and smtplib's, any library's, but the fake relay's
    own) hold neither the password nor the base64 forms AUTH sends it in."""
    caplog.set_level(logging.DEBUG)
    yield
    for record in caplog.records:
        if record.name.startswith("mail.log"):  # aiosmtpd: the server side of the test
            continue
        assert not any(form in record.getMessage() for form in _FORMS), record.name


def _target(relay, **settings) -> EmailTarget:
    base = dict(
        host="127.0.0.1",
        port=relay.port,
        username=USER,
        password=SecretStr(FAKE_SMTP_PASSWORD),
        sender="lookout@example.com",
        ca_file=relay.ca_file,
        timeout_s=5,
    )
    return EmailTarget(**{**base, **settings})


def _delivery(message: Message, message_id: str = "0123abcd", reply_to: Sent | None = None):
    return Delivery(message_id, message, email_destination(TO), reply_to=reply_to)


def _error(call) -> DeliveryError:
    with pytest.raises(DeliveryError) as info:
        call()
    text = str(info.value)
    assert not any(form in text for form in _FORMS), text
    assert info.value.__cause__ is None  # no chained smtplib error carrying more
    return info.value


def test_one_email_with_text_and_html_over_starttls_and_auth(relay):
    message = opened()
    sent = EmailChannel(_target(relay)).send(_delivery(message))
    [got] = relay.received
    assert got.tls is True and got.login == USER  # STARTTLS before AUTH, and AUTH done
    assert got.mail_from == "lookout@example.com" and got.rcpt_tos == TO
    email = got.message
    assert email["Subject"] == message.title
    assert email["To"] == ", ".join(TO)
    assert email["Auto-Submitted"] == "auto-generated"
    assert email.get_content_type() == "multipart/alternative"
    text = email.get_body(("plain",))
    html = email.get_body(("html",))
    # (SMTP carries lines ending in CRLF)
    assert text is not None and text.get_content().replace("\r\n", "\n") == to_text(message)
    assert html is not None and html.get_content().replace("\r\n", "\n") == to_html(message)
    assert sent.ts == email["Message-ID"] == "<0123abcd.lookout@example.com>"


def test_a_later_message_of_the_alert_threads_under_the_first(relay):
    channel = EmailChannel(_target(relay))
    first = channel.send(_delivery(opened()))
    channel.send(_delivery(resolved(), "4567ef", reply_to=first))
    reply = relay.received[1].message
    assert reply["In-Reply-To"] == first.ts and reply["References"] == first.ts
    assert reply["Message-ID"] != first.ts
    assert channel.supports_reply and not channel.supports_edit


def test_a_group_of_three_alerts_is_one_email(relay):
    message = group()
    EmailChannel(_target(relay)).send(_delivery(message))
    [got] = relay.received
    body = got.message.get_body(("plain",)).get_content()
    for item in message.items:
        assert item.title in body


def test_unreachable_relay_fails_quickly():
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    target = EmailTarget(host="127.0.0.1", port=port, sender="a@example.com", timeout_s=1)
    error = _error(lambda: EmailChannel(target).send(_delivery(opened())))
    assert f"SMTP 127.0.0.1:{port}: connect: ConnectionRefusedError" in str(error)
    assert not isinstance(error, SendInDoubt)


@contextmanager
def _silent_listener() -> Iterator[int]:
    """A port that accepts the TCP connection and never says a word (a stuck relay)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    try:
        yield server.getsockname()[1]
    finally:
        server.close()


def test_a_relay_that_never_answers_times_out(tmp_path):
    with _silent_listener() as port:
        target = EmailTarget(host="127.0.0.1", port=port, sender="a@example.com", timeout_s=0.5)
        started = time.monotonic()
        error = _error(lambda: EmailChannel(target).send(_delivery(opened())))
    assert time.monotonic() - started < 3
    assert str(error) == f"message 0123abcd: SMTP 127.0.0.1:{port}: connect: timed out"


def test_a_wrong_password_is_refused_without_showing_it(relay):
    relay.password = "the-right-one"
    error = _error(lambda: EmailChannel(_target(relay)).send(_delivery(opened())))
    assert ": login: SMTP 535 " in str(error)
    assert relay.logins and all(user == USER and not ok for user, ok in relay.logins)
    assert relay.received == []


def test_an_untrusted_certificate_is_refused_before_the_password_is_sent(relay):
    error = _error(lambda: EmailChannel(_target(relay, ca_file=None)).send(_delivery(opened())))
    assert ": starttls: TLS certificate not trusted" in str(error)
    assert relay.logins == [] and relay.received == []


def test_a_relay_without_starttls_never_gets_the_password(tmp_path):
    with fake_smtp_server(tmp_path, username=USER, password=FAKE_SMTP_PASSWORD, tls=False) as r:
        error = _error(lambda: EmailChannel(_target(r)).send(_delivery(opened())))
        assert ": starttls: the relay offers no STARTTLS" in str(error)
        assert r.logins == [] and r.received == []


def test_a_refused_message_is_a_delivery_error_not_in_doubt(relay):
    relay.reject_data = "451 4.3.0 try again later"
    error = _error(lambda: EmailChannel(_target(relay)).send(_delivery(opened())))
    assert str(error).endswith(": send: SMTP 451 4.3.0 try again later")
    assert not isinstance(error, SendInDoubt)


def test_refused_recipients(relay, caplog):
    relay.reject_rcpt = {"ml-team@example.com"}
    EmailChannel(_target(relay)).send(_delivery(opened()))  # one took it: sent
    assert relay.received[0].rcpt_tos == ["oncall@example.com"]
    assert "recipients refused: ml-team@example.com" in caplog.text
    relay.reject_rcpt = set(TO)
    error = _error(lambda: EmailChannel(_target(relay)).send(_delivery(opened())))
    assert ": send: every recipient refused (SMTP 550)" in str(error)


def test_a_bad_destination_is_refused_before_connecting():
    target = EmailTarget(host="127.0.0.1", port=9, sender="a@example.com")
    bad = Delivery("m", opened(), "oncall@example.com\r\nBcc: x@example.com")
    assert "bad destination" in str(_error(lambda: EmailChannel(target).send(bad)))


def test_find_is_unavailable(relay):
    with pytest.raises(LookupUnavailable):
        EmailChannel(_target(relay)).find(_delivery(opened()), since=None)  # type: ignore[arg-type]


def _dropping_relay(server: socket.socket) -> None:
    """Speaks plain SMTP until the message is handed over, then hangs up without a reply."""
    conn, _ = server.accept()
    with conn, conn.makefile("rwb") as stream:
        stream.write(b"220 relay ready\r\n")
        stream.flush()
        while line := stream.readline():
            verb = line[:4].upper()
            if verb == b"EHLO":
                stream.write(b"250 relay\r\n")
            elif verb == b"DATA":
                stream.write(b"354 go ahead\r\n")
                stream.flush()
                while stream.readline() not in (b".\r\n", b""):
                    pass
                return  # the message is here; the answer never goes out
            else:
                stream.write(b"250 OK\r\n")
            stream.flush()


def test_a_connection_lost_while_handing_the_message_over_is_in_doubt():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        thread = threading.Thread(target=_dropping_relay, args=(server,), daemon=True)
        thread.start()
        port = server.getsockname()[1]
        target = EmailTarget(
            host="127.0.0.1", port=port, starttls=False, sender="a@example.com", timeout_s=2
        )
        with pytest.raises(SendInDoubt) as info:
            EmailChannel(target).send(_delivery(opened()))
        thread.join(5)
    assert ": send: " in str(info.value) and "may have taken it" in str(info.value)


def test_the_password_is_never_sent_over_a_plain_connection(tmp_path):
    """Config refuses `starttls: false` with a password; the channel checks again anyway."""
    with fake_smtp_server(tmp_path, username=USER, password=FAKE_SMTP_PASSWORD, tls=False) as r:
        fields = _target(r).model_dump() | {"starttls": False}
        target = EmailTarget.model_construct(**fields)  # past the config's own check
        error = _error(lambda: EmailChannel(target).send(_delivery(opened())))
        assert str(error).endswith(": login: refusing to send the password without TLS")
        assert r.logins == [] and r.received == []
