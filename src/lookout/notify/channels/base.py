"""What a channel is: it sends one outbox message, rendered at send time in its own format.

Delivery (`lookout.notify.delivery`) decides what goes when (per-alert order, groups, digests,
retries); a channel only renders and sends, and says what it can do: reply in a thread, edit an
earlier message, find a message whose send is in doubt. A channel raises `DeliveryError` when a
message was not delivered (it stays pending, its attempt counted), and `SendInDoubt` when it
may have been (the next delivery looks for it first, where the channel can look).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from lookout.notify.message import Message

__all__ = ["Channel", "Delivery", "Sent"]


@dataclass(frozen=True)
class Sent:
    """Where a message landed: the ids a reply or an edit needs later (Slack channel and ts;
    an email Message-ID; PagerDuty's dedup key)."""

    channel: str | None = None
    ts: str | None = None


@dataclass(frozen=True)
class Delivery:
    """One outbox row as a channel sees it."""

    message_id: str
    message: Message
    destination: str  # the route's target: a Slack channel, an owner's email list...
    reply_to: Sent | None = None  # the thread this message belongs in, when already sent
    edits: Sent | None = None  # the earlier message this one replaces


class Channel(Protocol):
    name: str  # "slack", "webhook", "email", "pagerduty", "file"
    supports_reply: bool
    supports_edit: bool

    def send(self, delivery: Delivery) -> Sent:
        """Render and send; raise DeliveryError (not sent) or SendInDoubt (maybe sent)."""

    def edit(self, delivery: Delivery) -> None:
        """Replace `delivery.edits` with this message, where the channel can."""

    def find(self, delivery: Delivery, since: datetime) -> Sent | None:
        """Where a send started at `since` put the message; None when it is not there. Raise
        LookupUnavailable when the channel cannot tell (it is sent again)."""
