"""Slack: a bot token (chat.postMessage, threads, chat.update, exactly-once lookups) or an
incoming webhook (one channel, no threads, no edits). Messages are rendered as Block Kit at send
time; rows queued before the neutral outbox carry their Block Kit already and go as they are.

slack-sdk retries only connection errors by default: 429 and 5xx handlers are added. Exactly
once with a bot token: each post carries its outbox id as message metadata, and a send in doubt
is looked up in the channel (or thread) before it is sent again (`slack_lookup`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lookout.errors import DeliveryError
from lookout.notify.channels.base import Delivery, Sent
from lookout.notify.channels.slack_lookup import LookupUnavailable, SendInDoubt, SlackLookup, marker
from lookout.notify.formats.blockkit import to_block_kit

__all__ = ["SlackBotChannel", "SlackWebhookChannel", "payload_of"]


def payload_of(delivery: Delivery) -> dict[str, Any]:
    """The Block Kit payload of a delivery (a legacy row's own payload when it has one)."""
    legacy = delivery.message.extra.get("blockkit")
    return dict(legacy) if legacy is not None else to_block_kit(delivery.message)


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


class SlackBotChannel:
    """chat.postMessage with a bot token; `timeout`: seconds to wait for each answer."""

    name = "slack"
    supports_reply = True
    supports_edit = True

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

    def _channel(self, delivery: Delivery, body: dict[str, Any]) -> str | None:
        return body.pop("channel", None) or delivery.destination or self._default_channel

    def send(self, delivery: Delivery) -> Sent:
        body = payload_of(delivery)
        channel = self._channel(delivery, body)
        thread = delivery.reply_to
        if thread is not None and thread.channel and thread.ts:
            channel = thread.channel
            body["thread_ts"] = thread.ts
        if not channel:
            raise DeliveryError(f"message {delivery.message_id}: no channel (set owner.channel)")
        body["metadata"] = marker(delivery.message_id)  # what finds it again after a lost answer
        response = self._call(
            delivery.message_id,
            self._client.chat_postMessage,
            posting=True,
            channel=channel,
            **body,
        )
        sent = Sent(
            str(response.get("channel")) if response.get("channel") else None,
            str(response.get("ts")) if response.get("ts") else None,
        )
        if sent.channel and thread is None:
            self._lookup.remember(channel, sent.channel)
        return sent

    def find(self, delivery: Delivery, since: datetime) -> Sent | None:
        thread = delivery.reply_to
        if thread is not None and thread.channel and thread.ts:
            found = self._lookup.find(delivery.message_id, thread.channel, since, thread.ts)
        else:
            channel = self._channel(delivery, payload_of(delivery))
            if not channel:
                return None  # nowhere it could have been posted
            found = self._lookup.find(delivery.message_id, str(channel), since)
        return None if found is None else Sent(*found)

    def edit(self, delivery: Delivery) -> None:
        target = delivery.edits
        if target is None or not (target.channel and target.ts):
            return
        body = {k: v for k, v in payload_of(delivery).items() if k != "channel"}
        self._call(
            delivery.message_id,
            self._client.chat_update,
            channel=target.channel,
            ts=target.ts,
            **body,
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


class SlackWebhookChannel:
    """Incoming webhook: one channel, no threads, no ts; a reply is posted as a message."""

    name = "webhook"
    supports_reply = False
    supports_edit = False

    def __init__(self, url: str) -> None:
        from slack_sdk.webhook import WebhookClient

        self._client = WebhookClient(url, timeout=15, retry_handlers=_retry_handlers())

    def edit(self, delivery: Delivery) -> None:
        pass  # webhooks cannot edit a message; the resolve was posted as its own message

    def find(self, delivery: Delivery, since: datetime) -> Sent | None:
        raise LookupUnavailable("an incoming webhook cannot be searched")

    def send(self, delivery: Delivery) -> Sent:
        body = {k: v for k, v in payload_of(delivery).items() if k != "channel"}
        try:
            response = self._client.send_dict(body)
        except Exception as exc:
            raise DeliveryError(
                f"message {delivery.message_id}: webhook {type(exc).__name__}"
            ) from None
        if response.status_code != 200:
            raise DeliveryError(
                f"message {delivery.message_id}: webhook HTTP {response.status_code}"
            )
        return Sent(None, None)
