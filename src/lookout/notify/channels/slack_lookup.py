"""Finding a message in Slack whose send may have reached it: what makes delivery exactly once.

Every chat.postMessage carries message metadata naming its outbox message id. When a send's
outcome is unknown (the process died mid-request, or the response never came after the request
went out), the next delivery searches the channel's history, or the thread's replies, around the
attempt for that id before sending again. Slack scopes: channels:history and groups:history to
read, channels:read and groups:read to turn a channel name into the id the history needs (not
needed when channels are given by id).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from lookout.errors import DeliveryError, LookoutError

__all__ = ["EVENT_TYPE", "LookupUnavailable", "SendInDoubt", "SlackLookup", "marker"]

EVENT_TYPE = "lookout_message"
LOOKBACK = timedelta(minutes=10)  # this host's clock may run ahead of Slack's
MAX_PAGES = 50  # pages of 200 messages; beyond that, searching is no longer cheap: send again
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]+")  # Slack channel names are lower case


class SendInDoubt(DeliveryError):
    """The message may be in Slack (no answer after the request went out, a 5xx, or a lookup
    that failed for now): it stays pending and the next delivery looks for it first."""


class LookupUnavailable(LookoutError):
    """Slack cannot be searched for the message (missing scope, bot not in the channel, unknown
    channel, a webhook): sending again is the only way not to lose it."""


def marker(message_id: str) -> dict[str, Any]:
    """The message metadata every post carries (an outbox id is no secret)."""
    return {"event_type": EVENT_TYPE, "event_payload": {"message_id": message_id}}


def _is_message(message: dict[str, Any], message_id: str) -> bool:
    metadata = message.get("metadata") or {}
    payload = metadata.get("event_payload") or {}
    return metadata.get("event_type") == EVENT_TYPE and payload.get("message_id") == message_id


def _slack_ts(moment: datetime) -> str:
    return f"{moment.timestamp():.6f}"


class SlackLookup:
    """Searches with one WebClient; channel ids of names are cached for the client's life."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._channel_ids: dict[str, str] = {}

    def remember(self, channel: str, channel_id: str) -> None:
        """The id Slack answered a post to `channel` with (saves a conversations.list)."""
        if not _CHANNEL_ID.fullmatch(channel):
            self._channel_ids[channel.removeprefix("#")] = channel_id

    def find(
        self, message_id: str, channel: str, since: datetime, thread_ts: str | None = None
    ) -> tuple[str, str] | None:
        """(channel id, ts) of the message if a send from `since` on posted it, else None.

        Raises LookupUnavailable when Slack refuses the search, SendInDoubt when it failed for
        now (5xx, rate limited, network): then nothing is sent until a later delivery can tell.
        """
        from slack_sdk.errors import SlackApiError

        window = {
            "oldest": _slack_ts(since - LOOKBACK),
            "inclusive": True,
            "include_all_metadata": True,
            "limit": 200,
        }
        try:
            if thread_ts:  # a thread's channel is the id Slack answered the original with
                channel_id = channel
                found = self._pages(
                    self._client.conversations_replies,
                    "messages",
                    channel=channel,
                    ts=thread_ts,
                    **window,
                )
            else:
                channel_id = self._channel_id(channel)
                found = self._pages(
                    self._client.conversations_history, "messages", channel=channel_id, **window
                )
            for message in found:
                if _is_message(message, message_id):
                    return channel_id, str(message["ts"])
            return None
        except LookupUnavailable:
            raise
        except SlackApiError as exc:
            response = exc.response
            error = response.get("error", "unknown_error") if response else "no_response"
            status = getattr(response, "status_code", 200)
            if status == 429 or status >= 500:
                raise SendInDoubt(
                    f"message {message_id}: may be in Slack; looking it up failed: {error}"
                ) from None
            needed = response.get("needed") if response else None  # names the missing scope
            hint = f" (needs {needed})" if needed else ""
            raise LookupUnavailable(f"Slack API error {error}{hint}") from None
        except Exception as exc:  # network errors after retries
            raise SendInDoubt(
                f"message {message_id}: may be in Slack; looking it up failed: {type(exc).__name__}"
            ) from None

    def _channel_id(self, channel: str) -> str:
        if _CHANNEL_ID.fullmatch(channel):
            return channel
        name = channel.removeprefix("#")
        if name not in self._channel_ids:
            listing = self._pages(
                self._client.conversations_list,
                "channels",
                types="public_channel,private_channel",
                exclude_archived=True,
                limit=1000,
            )
            for found in listing:
                self._channel_ids.setdefault(str(found["name"]), str(found["id"]))
                if found["name"] == name:
                    break
        if name not in self._channel_ids:
            raise LookupUnavailable(f"no channel #{name} visible to the bot")
        return self._channel_ids[name]

    @staticmethod
    def _pages(method: Callable[..., Any], key: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Items of every page (cursor pagination), at most MAX_PAGES pages."""
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            response = method(**params, cursor=cursor)
            yield from response.get(key) or []
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return
        raise LookupUnavailable(f"more than {MAX_PAGES} pages to search")
