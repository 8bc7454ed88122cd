"""Delivery of the outbox: send, retry, record. Knows nothing about alerts or rules.

With a bot token, messages go through slack-sdk's WebClient (chat.postMessage) with its retry
handlers for rate limits and server errors; with a webhook, through WebhookClient; with
neither, to files (`<out>/slack/<message_id>.json`, the exact payload) for dry runs and the demo.
A message that fails stays pending in the outbox with its attempt counted; it is never dropped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from lookout.config.models import SlackTarget
from lookout.errors import DeliveryError
from lookout.store.results import OutboxRow, ResultsStore

__all__ = [
    "DeliveryReport",
    "FileNotifier",
    "Notifier",
    "SlackBotNotifier",
    "SlackWebhookNotifier",
    "deliver_outbox",
    "make_notifier",
]


class Notifier(Protocol):
    name: str

    def send(self, message_id: str, payload: dict[str, Any]) -> str | None:
        """Deliver one payload; return the Slack message ts when there is one."""


class FileNotifier:
    """Writes each payload as `<dir>/<message_id>.json` (idempotent: same id, same file)."""

    name = "file"

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, message_id: str, payload: dict[str, Any]) -> str | None:
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.directory / f"{message_id}.json"
        temp = target.with_suffix(".json.tmp")
        temp.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        temp.replace(target)
        return None


def _retry_handlers() -> list[Any]:
    from slack_sdk.http_retry.builtin_handlers import (
        ConnectionErrorRetryHandler,
        RateLimitErrorRetryHandler,
        ServerErrorRetryHandler,
    )

    # slack-sdk retries only connection errors by default; 429 and 5xx need their handlers.
    return [
        ConnectionErrorRetryHandler(max_retry_count=2),
        RateLimitErrorRetryHandler(max_retry_count=3),
        ServerErrorRetryHandler(max_retry_count=2),
    ]


class SlackBotNotifier:
    """chat.postMessage with a bot token; records the returned `ts` (threads need it later)."""

    name = "slack"

    def __init__(
        self, token: str, *, base_url: str | None = None, default_channel: str | None = None
    ) -> None:
        from slack_sdk import WebClient

        kwargs: dict[str, Any] = {
            "token": token,
            "timeout": 15,
            "retry_handlers": _retry_handlers(),
        }
        if base_url:
            kwargs["base_url"] = base_url
        self._client = WebClient(**kwargs)
        self._default_channel = default_channel

    def send(self, message_id: str, payload: dict[str, Any]) -> str | None:
        from slack_sdk.errors import SlackApiError

        body = dict(payload)
        channel = body.pop("channel", None) or self._default_channel
        if not channel:
            raise DeliveryError(f"message {message_id}: no channel (set owner.channel)")
        try:
            response = self._client.chat_postMessage(channel=channel, **body)
        except SlackApiError as exc:
            error = exc.response.get("error", "unknown_error") if exc.response else "no_response"
            raise DeliveryError(f"message {message_id}: Slack API error {error}") from None
        except Exception as exc:  # network errors after retries
            raise DeliveryError(f"message {message_id}: {type(exc).__name__}") from None
        return str(response.get("ts")) if response.get("ts") else None


class SlackWebhookNotifier:
    """Incoming webhook: one channel, no threads, no ts."""

    name = "webhook"

    def __init__(self, url: str) -> None:
        from slack_sdk.webhook import WebhookClient

        self._client = WebhookClient(url, timeout=15, retry_handlers=_retry_handlers())

    def send(self, message_id: str, payload: dict[str, Any]) -> str | None:
        body = {k: v for k, v in payload.items() if k != "channel"}
        try:
            response = self._client.send_dict(body)
        except Exception as exc:
            raise DeliveryError(f"message {message_id}: webhook {type(exc).__name__}") from None
        if response.status_code != 200:
            raise DeliveryError(f"message {message_id}: webhook HTTP {response.status_code}")
        return None


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


def deliver_outbox(store: ResultsStore, notifier: Notifier, *, limit: int = 200) -> DeliveryReport:
    """Send pending messages oldest first; each outcome is recorded before the next send."""
    sent: list[OutboxRow] = []
    failed: list[tuple[OutboxRow, str]] = []
    for row in store.outbox(status="pending", limit=limit):
        try:
            ts = notifier.send(row.message_id, row.payload)
        except DeliveryError as exc:
            store.mark_failed(row.message_id, str(exc))
            failed.append((row, str(exc)))
            continue
        store.mark_sent(row.message_id, ts)
        sent.append(row)
    return DeliveryReport(tuple(sent), tuple(failed), notifier.name)
