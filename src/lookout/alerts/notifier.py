"""Delivery of the outbox: send, retry, record. Knows nothing about alerts or rules.

With a bot token, messages go through slack-sdk's WebClient (chat.postMessage, and for a
resolved alert a reply in the original message's thread plus chat.update of the original) with
its retry handlers for rate limits and server errors; with a webhook, through WebhookClient (no
threads, no updates: the reply is posted as a message); with neither, to files
(`<out>/slack/<message_id>.json`, the exact payload) for dry runs and the demo.
A message that fails stays pending in the outbox with its attempt counted; it is never dropped.
Messages of one alert go out in order: a reply waits until the message it answers was sent.

Exactly once with a bot token: before a post the outbox records that a send is under way, and
each post carries its message id as Slack message metadata. A message whose earlier send may
have reached Slack (the process died mid-request, or no answer came) is looked up in Slack first
(`slack_lookup`) and, found there, recorded as sent instead of posted again. Where it cannot be
looked up (a webhook, a missing scope), it is sent again with a warning: at least once.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from lookout.alerts.slack_lookup import LookupUnavailable, SendInDoubt, SlackLookup, marker
from lookout.config.models import SlackTarget
from lookout.errors import DeliveryError
from lookout.store.results import OutboxRow, ResultsStore

__all__ = [
    "DeliveryReport",
    "FileNotifier",
    "Notifier",
    "Sent",
    "SlackBotNotifier",
    "SlackWebhookNotifier",
    "deliver_outbox",
    "make_notifier",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sent:
    """Where Slack put a message: its channel id and ts (what threads and updates need)."""

    channel: str | None
    ts: str | None


class Notifier(Protocol):
    name: str

    def send(self, message_id: str, payload: dict[str, Any], thread: Sent | None = None) -> Sent:
        """Deliver one payload (in `thread` when given and possible)."""

    def update(self, message_id: str, payload: dict[str, Any], target: Sent) -> None:
        """Replace an earlier message's content, where the channel allows it."""

    def find(
        self, message_id: str, payload: dict[str, Any], thread: Sent | None, since: datetime
    ) -> Sent | None:
        """Where a send started at `since` put the message, or None when it is not there.

        Raises LookupUnavailable when this cannot be told (then it is sent again), SendInDoubt
        when it cannot be told for now (then it waits for the next delivery)."""


class FileNotifier:
    """Writes each payload as `<dir>/<message_id>.json` (idempotent: same id, same file)."""

    name = "file"

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, message_id: str, payload: dict[str, Any], thread: Sent | None = None) -> Sent:
        self._write(message_id, payload)
        return Sent(None, None)

    def update(self, message_id: str, payload: dict[str, Any], target: Sent) -> None:
        self._write(message_id, payload)  # the updated original, for review

    def find(
        self, message_id: str, payload: dict[str, Any], thread: Sent | None, since: datetime
    ) -> Sent | None:
        return None  # writing the same file again is harmless

    def _write(self, message_id: str, payload: dict[str, Any]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.directory / f"{message_id}.json"
        temp = target.with_suffix(".json.tmp")
        temp.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        temp.replace(target)


def _retry_handlers(*, after_request_sent: bool = True) -> list[Any]:
    """429 and 5xx are retried (slack-sdk retries only connection errors by default); without
    `after_request_sent`, a connection error only when the request cannot have gone out (a
    post repeated after a dropped answer could show twice)."""
    from urllib.error import URLError

    from slack_sdk.http_retry.builtin_handlers import (
        ConnectionErrorRetryHandler,
        RateLimitErrorRetryHandler,
        ServerErrorRetryHandler,
    )

    connection = (
        ConnectionErrorRetryHandler(max_retry_count=2)
        if after_request_sent
        else ConnectionErrorRetryHandler(max_retry_count=2, error_types=[URLError])
    )
    return [
        connection,
        RateLimitErrorRetryHandler(max_retry_count=3),
        ServerErrorRetryHandler(max_retry_count=2),
    ]


class SlackBotNotifier:
    """chat.postMessage with a bot token; records the returned `ts` (threads need it later).
    `timeout`: seconds to wait for each answer (short in tests)."""

    name = "slack"

    def __init__(
        self,
        token: str,
        *,
        base_url: str | None = None,
        default_channel: str | None = None,
        timeout: float = 15,
    ) -> None:
        from slack_sdk import WebClient

        kwargs: dict[str, Any] = {
            "token": token,
            "timeout": timeout,
            "retry_handlers": _retry_handlers(after_request_sent=False),
        }
        if base_url:
            kwargs["base_url"] = base_url
        self._client = WebClient(**kwargs)
        self._default_channel = default_channel
        self._lookup = SlackLookup(self._client)

    def send(self, message_id: str, payload: dict[str, Any], thread: Sent | None = None) -> Sent:
        body = dict(payload)
        channel = body.pop("channel", None) or self._default_channel
        if thread is not None and thread.channel and thread.ts:
            channel = thread.channel
            body["thread_ts"] = thread.ts
        if not channel:
            raise DeliveryError(f"message {message_id}: no channel (set owner.channel)")
        body["metadata"] = marker(message_id)  # what finds it again after a lost answer
        response = self._call(
            message_id, self._client.chat_postMessage, posting=True, channel=channel, **body
        )
        sent = Sent(
            str(response.get("channel")) if response.get("channel") else None,
            str(response.get("ts")) if response.get("ts") else None,
        )
        if sent.channel and thread is None:
            self._lookup.remember(channel, sent.channel)
        return sent

    def find(
        self, message_id: str, payload: dict[str, Any], thread: Sent | None, since: datetime
    ) -> Sent | None:
        if thread is not None and thread.channel and thread.ts:
            found = self._lookup.find(message_id, thread.channel, since, thread.ts)
        else:
            channel = payload.get("channel") or self._default_channel
            if not channel:
                return None  # nowhere it could have been posted
            found = self._lookup.find(message_id, str(channel), since)
        return None if found is None else Sent(*found)

    def update(self, message_id: str, payload: dict[str, Any], target: Sent) -> None:
        if not (target.channel and target.ts):
            return
        body = {k: v for k, v in payload.items() if k != "channel"}
        self._call(
            message_id, self._client.chat_update, channel=target.channel, ts=target.ts, **body
        )

    @staticmethod
    def _call(message_id: str, method: Any, *, posting: bool = False, **kwargs: Any) -> Any:
        """Slack's answer; a failure after a post may have reached Slack is SendInDoubt (an
        update is repeated harmlessly, so it is never in doubt)."""
        from urllib.error import URLError

        from slack_sdk.errors import SlackApiError

        try:
            return method(**kwargs)
        except SlackApiError as exc:
            error = exc.response.get("error", "unknown_error") if exc.response else "no_response"
            # an ok=false answer or a 429 is a refusal; a 5xx may come after the post was made
            in_doubt = posting and getattr(exc.response, "status_code", 200) >= 500
            error_class = SendInDoubt if in_doubt else DeliveryError
            raise error_class(f"message {message_id}: Slack API error {error}") from None
        except URLError as exc:  # could not connect or send: the request never reached Slack
            raise DeliveryError(f"message {message_id}: {type(exc).__name__}") from None
        except Exception as exc:  # no answer (timeout, dropped connection) after retries
            error_class = SendInDoubt if posting else DeliveryError
            raise error_class(f"message {message_id}: {type(exc).__name__}") from None


class SlackWebhookNotifier:
    """Incoming webhook: one channel, no threads, no ts."""

    name = "webhook"

    def __init__(self, url: str) -> None:
        from slack_sdk.webhook import WebhookClient

        self._client = WebhookClient(url, timeout=15, retry_handlers=_retry_handlers())

    def update(self, message_id: str, payload: dict[str, Any], target: Sent) -> None:
        pass  # webhooks cannot edit a message; the resolve was posted as its own message

    def find(
        self, message_id: str, payload: dict[str, Any], thread: Sent | None, since: datetime
    ) -> Sent | None:
        raise LookupUnavailable("an incoming webhook cannot be searched")

    def send(self, message_id: str, payload: dict[str, Any], thread: Sent | None = None) -> Sent:
        body = {k: v for k, v in payload.items() if k != "channel"}
        try:
            response = self._client.send_dict(body)
        except Exception as exc:
            raise DeliveryError(f"message {message_id}: webhook {type(exc).__name__}") from None
        if response.status_code != 200:
            raise DeliveryError(f"message {message_id}: webhook HTTP {response.status_code}")
        return Sent(None, None)


def make_notifier(slack: SlackTarget, out_dir: Path) -> Notifier:
    if slack.bot_token is not None:
        return SlackBotNotifier(
            slack.bot_token.get_secret_value(),
            base_url=slack.base_url,
            default_channel=slack.default_channel,
        )
    if slack.webhook_url is not None:
        return SlackWebhookNotifier(slack.webhook_url.get_secret_value())
    return FileNotifier(out_dir / "slack")


@dataclass(frozen=True)
class DeliveryReport:
    sent: tuple[OutboxRow, ...]
    failed: tuple[tuple[OutboxRow, str], ...]
    via: str


REPLY_KINDS = ("alert_resolved", "alert_reminder", "alert_severity_changed")
UPDATE_KIND = "alert_update"


def deliver_outbox(store: ResultsStore, notifier: Notifier, *, limit: int = 200) -> DeliveryReport:
    """Send pending messages oldest first; each outcome is recorded before the next send.

    Per alert (fingerprint) the order holds: once one of its messages fails, its later messages
    wait for the next delivery; a reply or update waits until the alert's opening message was
    sent (it needs that message's ts). A message that waited only because its opening message
    went out later in the same delivery (inside a grouped message or a digest) gets a second
    pass; a failure is not retried until the next delivery.
    """
    sent: list[OutboxRow] = []
    failed: list[tuple[OutboxRow, str]] = []
    failing: set[str] = set()  # fingerprints with a failed message in this delivery
    done: set[str] = set()  # message ids sent or failed in this delivery
    pending = store.outbox(status="pending", limit=limit)
    pending.sort(key=lambda r: (r.created_at, r.kind == UPDATE_KIND, r.message_id))
    for _ in range(2):
        held = set(failing)
        progress = False
        for row in pending:
            if row.message_id in done or (row.fingerprint and row.fingerprint in held):
                continue
            outcome = _deliver_one(store, notifier, row)
            if outcome is None:  # waits: its turn has not come
                # (a message delivered inside another one does not hold its alert back: the
                # message it waits for may be that alert's own, later in the queue)
                if row.fingerprint and "grouped_into" not in row.payload:
                    held.add(row.fingerprint)
                continue
            done.add(row.message_id)
            if isinstance(outcome, str):
                failed.append((row, outcome))
                if row.fingerprint:
                    failing.add(row.fingerprint)
                    held.add(row.fingerprint)
                continue
            progress = True
            sent.append(row)
            for member in outcome:  # delivered inside this message
                sent.append(member)
                done.add(member.message_id)
        if not progress:
            break
    return DeliveryReport(tuple(sent), tuple(failed), notifier.name)


def _deliver_one(
    store: ResultsStore, notifier: Notifier, row: OutboxRow
) -> list[OutboxRow] | str | None:
    """Sent: the group members delivered with it; failed: the error; waiting: None."""
    if row.payload.get("digest_day"):  # waits for its day's digest
        return None
    leader_id = row.payload.get("grouped_into")
    if leader_id:  # delivered inside its group's message
        leader = store.outbox_row(leader_id)
        if leader is None or leader.status != "sent":
            return None
        store.mark_sent(row.message_id, leader.slack_ts, leader.slack_channel)
        return []
    thread: Sent | None = None
    if row.fingerprint and (row.kind in REPLY_KINDS or row.kind == UPDATE_KIND):
        original = store.alert_thread(row.fingerprint)
        if original is not None and original.status != "sent":
            return None  # the alert's first message has not gone out yet
        if original is not None:
            thread = Sent(original.slack_channel, original.slack_ts)
    if row.kind == UPDATE_KIND:  # repeating an update changes nothing: no lookup needed
        try:
            if thread is not None:
                notifier.update(row.message_id, row.payload, thread)
        except DeliveryError as exc:
            store.mark_failed(row.message_id, str(exc))
            return str(exc)
        where = thread or Sent(None, None)
        store.mark_sent(row.message_id, None, None)
    else:
        posted = _post_once(store, notifier, row, thread)
        if posted is None:  # withdrawn since this delivery read it: nothing to send
            return None
        if isinstance(posted, str):
            return posted
        where = posted
        store.mark_sent(row.message_id, where.ts, where.channel)
    members = store.group_members(row.message_id)
    for member in members:
        store.mark_sent(member.message_id, where.ts, where.channel)
    return members


def _post_once(
    store: ResultsStore, notifier: Notifier, row: OutboxRow, thread: Sent | None
) -> Sent | str | None:
    """Where the message now is, the error (recorded), or None: not pending any more (a
    window's failure notice withdrawn because the window got stored), so not sent.

    A message whose earlier send may have reached Slack is looked up first and, found, not
    posted again. The outbox records that a send is under way (in its own transaction) before
    the request, so a process killed mid-send leaves that mark behind.
    """
    earlier = row.sending_at  # an earlier send that may have reached Slack started then
    if earlier is not None:
        try:
            found = notifier.find(row.message_id, row.payload, thread, earlier)
        except LookupUnavailable as exc:
            log.warning(
                "message %s: an earlier send may have reached Slack and cannot be looked up "
                "(%s); sending it again, so it may show twice",
                row.message_id,
                exc,
            )
        except DeliveryError as exc:  # cannot tell for now: wait rather than risk a duplicate
            store.mark_failed(row.message_id, str(exc), in_doubt_since=earlier)
            return str(exc)
        else:
            if found is not None:
                log.info("message %s: already in Slack, not sent again", row.message_id)
                return found
            earlier = None  # ruled out
    started = earlier or datetime.now(UTC)
    if not store.mark_sending(row.message_id, started):
        return None
    try:
        return notifier.send(row.message_id, row.payload, thread)
    except SendInDoubt as exc:
        store.mark_failed(row.message_id, str(exc), in_doubt_since=started)
        return str(exc)
    except DeliveryError as exc:  # not posted now; an earlier send not ruled out stays in doubt
        store.mark_failed(row.message_id, str(exc), in_doubt_since=earlier)
        return str(exc)
