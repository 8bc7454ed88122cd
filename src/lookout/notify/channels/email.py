"""Email over SMTP: one multipart/alternative message (text and HTML) per outbox message.

The destination is the route's addresses, comma-separated. STARTTLS comes before anything
else is said, and the password is only sent over a TLS connection (`ca_file` trusts a private
relay). The `Message-ID` is made from the outbox message id and returned as `Sent.ts`, so a
later message of the same alert (a resolve) sets In-Reply-To/References and mail clients
thread them; a message sent twice after a lost answer carries the same Message-ID, which lets
mail systems drop the second copy. A relay cannot be searched, so `find` is unavailable.

Failures: no connection, a timeout, a refused STARTTLS or login, a 4xx/5xx reply before the
message was handed over -> DeliveryError (it stays pending); the connection lost while the
message itself was being handed over -> SendInDoubt. Texts name the relay, the step and the
SMTP code, never the password (nor its base64 forms an AUTH exchange uses).
"""

from __future__ import annotations

import base64
import logging
import re
import smtplib
import socket
import ssl
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate

from lookout.config.models import EmailTarget, check_email_address
from lookout.errors import DeliveryError
from lookout.notify.channels.base import Delivery, Sent
from lookout.notify.channels.slack_lookup import LookupUnavailable, SendInDoubt
from lookout.notify.formats.html import to_html
from lookout.notify.formats.text import subject, to_text
from lookout.notify.formats.values import clip, one_line

__all__ = ["EmailChannel", "build_email", "destination_addresses", "email_destination"]

log = logging.getLogger(__name__)

_MESSAGE_ID = re.compile(r"<[^<>\s\"]+@[^<>\s\"]+>")
_ID_PART = re.compile(r"[^A-Za-z0-9._-]")


def email_destination(addresses: list[str]) -> str:
    """The outbox destination of an email route: its addresses, comma-separated."""
    return ", ".join(addresses)


def destination_addresses(destination: str) -> list[str]:
    """The addresses of a destination; ValueError when one is not a bare address."""
    addresses = [part.strip() for part in destination.split(",") if part.strip()]
    if not addresses:
        raise ValueError("no address")
    for address in addresses:
        check_email_address(address)
    return addresses


def _message_id(message_id: str, sender: str) -> str:
    domain = sender.rsplit("@", 1)[1]
    return f"<{_ID_PART.sub('', message_id) or 'message'}.lookout@{domain}>"


def build_email(delivery: Delivery, sender: str, addresses: list[str]) -> EmailMessage:
    """The email of one delivery (pure but for its Date): text and HTML parts, threading
    headers when it answers an earlier message."""
    message = delivery.message
    email = EmailMessage()
    email["Subject"] = subject(message)
    email["From"] = sender
    email["To"] = ", ".join(addresses)
    email["Date"] = formatdate(usegmt=True)
    email["Message-ID"] = _message_id(delivery.message_id, sender)
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to alerts
    thread = delivery.reply_to.ts if delivery.reply_to else None
    if thread and _MESSAGE_ID.fullmatch(thread):
        email["In-Reply-To"] = thread
        email["References"] = thread
    email.set_content(to_text(message))
    email.add_alternative(to_html(message), subtype="html")
    return email


class EmailChannel:
    """Sends through one SMTP relay (`profiles.yml` target `email:`)."""

    name = "email"
    supports_reply = True  # threads by In-Reply-To/References
    supports_edit = False

    def __init__(self, target: EmailTarget) -> None:
        self._target = target

    def send(self, delivery: Delivery) -> Sent:
        target = self._target
        where = f"message {delivery.message_id}: SMTP {target.host}:{target.port}"
        try:
            addresses = destination_addresses(delivery.destination)
        except ValueError as exc:
            raise DeliveryError(f"{where}: bad destination ({exc})") from None
        email = build_email(delivery, target.sender, addresses)
        step, smtp = "connect", None
        try:
            smtp = smtplib.SMTP(
                target.host, target.port, socket.gethostname(), timeout=target.timeout_s
            )
            if target.starttls:
                step = "starttls"
                self._starttls(smtp)
            if target.username is not None and target.password is not None:
                step = "login"
                if not isinstance(smtp.sock, ssl.SSLSocket):
                    raise DeliveryError("refusing to send the password without TLS")
                smtp.login(target.username, target.password.get_secret_value())
            step = "send"
            refused = smtp.send_message(email, target.sender, addresses)
        except Exception as exc:
            if smtp is not None:
                smtp.close()  # no QUIT: after a timeout it would wait as long again
            raise self._error(where, step, exc) from None
        try:
            smtp.quit()
        except Exception:  # sent already; a relay that hangs up first is no failure
            smtp.close()
        if refused:  # some recipients took it: sending again would duplicate it for them
            log.warning("%s: recipients refused: %s", where, ", ".join(sorted(refused)))
        return Sent(channel=None, ts=str(email["Message-ID"]))

    def edit(self, delivery: Delivery) -> None:
        """Sent email cannot be changed; the alert's later messages say what changed."""

    def find(self, delivery: Delivery, since: datetime) -> Sent | None:
        raise LookupUnavailable(
            "an SMTP relay cannot be searched (the same Message-ID lets mail systems drop a "
            "second copy)"
        )

    def _starttls(self, smtp: smtplib.SMTP) -> None:
        smtp.ehlo()
        if not smtp.has_extn("starttls"):
            raise DeliveryError("the relay offers no STARTTLS (starttls: true)")
        smtp.starttls(context=ssl.create_default_context(cafile=self._target.ca_file))
        smtp.ehlo()

    def _error(self, where: str, step: str, exc: BaseException) -> DeliveryError:
        """The failure as a DeliveryError (SendInDoubt when the message may have been taken)."""
        reason = self._redact(_reason(exc))
        # a lost connection (not a coded refusal) while handing the message over
        lost = isinstance(exc, smtplib.SMTPServerDisconnected) or (
            isinstance(exc, OSError) and not isinstance(exc, smtplib.SMTPException)
        )
        if step == "send" and lost:
            return SendInDoubt(f"{where}: {step}: {reason} (the relay may have taken it)")
        return DeliveryError(f"{where}: {step}: {reason}")

    def _redact(self, text: str) -> str:
        """The password, and the base64 forms AUTH PLAIN and LOGIN carry it in, as ***."""
        target = self._target
        if target.password is None:
            return text
        secret = target.password.get_secret_value()
        user = target.username or ""
        forms = [secret]
        for raw in (secret, f"\0{user}\0{secret}", f"{user}\0{secret}"):
            forms.append(base64.b64encode(raw.encode()).decode())
        for form in sorted(forms, key=len, reverse=True):
            text = text.replace(form, "***")
        return text


def _reason(exc: BaseException) -> str:
    """What went wrong, in a line: the SMTP code and reply, or the socket error."""
    if isinstance(exc, DeliveryError):
        return str(exc)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({str(code) for code, _ in exc.recipients.values()})
        return f"every recipient refused (SMTP {', '.join(codes)})"
    if isinstance(exc, smtplib.SMTPResponseException):
        reply = exc.smtp_error
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        return f"SMTP {exc.smtp_code} {clip(one_line(text), 200)}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted ({exc.verify_message}); set ca_file"
    if isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
        return "timed out"  # (smtplib reports a reply that never came as a disconnect)
    if isinstance(exc, OSError) and exc.strerror:
        return f"{type(exc).__name__}: {exc.strerror}"
    return clip(one_line(f"{type(exc).__name__}: {exc}"), 200)
