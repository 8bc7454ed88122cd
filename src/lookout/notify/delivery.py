"""Delivery of the outbox: what goes when, to which channel; each outcome recorded before the
next send. Knows nothing about alerts or rules.

The order is a small state machine per queue (an alert's messages on one channel type; a group,
a digest or a failure notice is a queue of its own). A message is ready when every earlier
message of its queue is done, and what it refers to is there:
- held for a digest (`digest_day`, no `group_id` yet): waits until the day's digest exists;
- delivered inside a group or digest (`group_id`): done when that message is sent (it carries
  this one; its thread is this one's thread);
- a reply (`reply_to`) or an edit (`edits`): waits until its target is sent (a target that
  will never be sent, withdrawn or superseded, lets it go on without the thread).
Every dependency is on an earlier message of the same queue, on a group or digest message
(which depends on nothing), or on a day ending: so nothing waits forever, and a message that
fails waits only for its own queue (the others go on). A failure leaves the message pending
with its attempt counted; a send in doubt is looked up in the channel before it is repeated.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from lookout.config.models import Owner, Target
from lookout.errors import DeliveryError
from lookout.notify.builder import group_message
from lookout.notify.channels.base import Channel, Delivery, Sent
from lookout.notify.channels.files import FileChannel
from lookout.notify.channels.slack_lookup import LookupUnavailable, SendInDoubt
from lookout.notify.message import Message
from lookout.store.outbox import Outbox, OutboxMessage, OutboxRow

__all__ = ["DeliveryReport", "compose_digests", "deliver", "make_channels", "message_of"]

log = logging.getLogger("lookout.notify")

Outcome = Literal["sent", "carried", "skipped", "failed", "wait"]
_GONE = ("withdrawn", "superseded", "skipped")  # targets that will never be sent


@dataclass(frozen=True)
class DeliveryReport:
    """What one delivery did: messages sent (each a post or an edit on its channel), messages
    carried inside a group or digest message that was sent, skipped (nothing to do on that
    channel), and failed (still pending)."""

    sent: tuple[OutboxRow, ...]
    failed: tuple[tuple[OutboxRow, str], ...]
    via: str
    carried: tuple[OutboxRow, ...] = ()
    skipped: tuple[OutboxRow, ...] = ()


def make_channels(
    target: Target, out_dir: Path, owners: Mapping[str, Owner] | None = None
) -> dict[str, Channel]:
    """One channel per channel type the profile configures; Slack goes to files without a
    token or webhook, so the demo and dry runs show what would be sent. `owners` give the
    PagerDuty routing keys (one per owner route)."""
    from lookout.notify.channels.slack import SlackBotChannel, SlackWebhookChannel

    slack = target.slack
    channels: dict[str, Channel] = {}
    if slack.bot_token is not None:
        channels["slack"] = SlackBotChannel(
            slack.bot_token.get_secret_value(),
            base_url=slack.base_url,
            default_channel=slack.default_channel,
        )
    elif slack.webhook_url is not None:
        channels["slack"] = SlackWebhookChannel(slack.webhook_url.get_secret_value())
    else:
        channels["slack"] = FileChannel(out_dir / "outbox")
    email = getattr(target, "email", None)
    if email is not None:
        from lookout.notify.channels.email import EmailChannel

        channels["email"] = EmailChannel(email)
    pagerduty = getattr(target, "pagerduty", None)
    if pagerduty is not None:
        from lookout.notify.channels.pagerduty import PagerDutyChannel

        channels["pagerduty"] = PagerDutyChannel.from_config(pagerduty, owners or {})
    return channels


def message_of(row: OutboxRow) -> Message:
    """The neutral message of a row (a row queued before the neutral outbox carries its Block
    Kit payload, sent as it is)."""
    if row.format == "neutral":
        return Message.from_json(row.payload)
    title = str(row.payload.get("text", row.kind))
    return Message(
        kind=row.kind,  # type: ignore[arg-type]
        severity=row.severity or "P1",
        title=title,
        summary=title,
        owner=row.owner or "",
        channel=row.channel,
        extra={"blockkit": row.payload},
    )


def compose_digests(outbox: Outbox, now: datetime) -> list[str]:
    """One digest per monitor, owner, day and channel for every finished day with held P2
    openings; the held messages are then delivered inside it. Returns the digests' ids."""
    waiting: dict[tuple[str, str, str, str], list[OutboxRow]] = defaultdict(list)
    for row in outbox.held_for_digest(now.date().isoformat()):
        key = (row.monitor, row.owner or "", row.digest_day or "", row.channel_type)
        waiting[key].append(row)
    made = []
    for (monitor, owner, day, channel_type), rows in sorted(waiting.items()):
        items = [message_of(r) for r in rows]
        digest_id, late = _digest_id(outbox, f"{monitor}|{owner}|{day}|{channel_type}", rows)
        more = ", late additions" if late else ""
        title = f"[P2] {monitor}: daily digest for {owner}, {day}{more} ({len(rows)} alerts)"
        digest = group_message("digest", title, owner, _owner_stub(items[0]), items)
        message = OutboxMessage(
            message_id=digest_id,
            kind="digest",
            monitor=monitor,
            payload=digest.to_json(),
            channel=rows[0].channel,
            channel_type=channel_type,
            owner=owner,
            severity="P2",
        )
        if outbox.compose_group(message, [r.message_id for r in rows]):
            made.append(digest_id)  # else another composer took them: its digest lists them
    return made


def _digest_id(outbox: Outbox, key: str, rows: list[OutboxRow]) -> tuple[str, bool]:
    """(id, late) of the digest of `rows` for one monitor, owner, day and channel type.

    Named by the key and its members: the same held alerts always make the same id (a
    composition repeated after a crash queues nothing twice), and an alert held for a day
    whose digest already exists (a window of that day run late: a catch-up, a backfill) gets
    a digest of its own, delivered, rather than being carried inside a message composed
    before it existed. `late`: an earlier digest of the key exists."""
    day_key = "digest-" + hashlib.sha256(key.encode()).hexdigest()[:20]
    members = "|".join(sorted(r.message_id for r in rows))
    digest_id = f"{day_key}-{hashlib.sha256(members.encode()).hexdigest()[:12]}"
    earlier = [i for i in outbox.ids_with_prefix(f"{day_key}-") if i != digest_id]
    return digest_id, bool(earlier)


def _owner_stub(message: Message):  # type: ignore[no-untyped-def]
    """An Owner-like carrier of a message's mentions (the digest mentions as its items do)."""
    from lookout.config.models import Owner

    users = [m.id for m in message.mentions if m.kind == "slack_user"]
    groups = [m.id for m in message.mentions if m.kind == "slack_group"]
    return Owner(slack_users=users, slack_group=groups[0] if groups else None)


def deliver(
    outbox: Outbox,
    channels: Mapping[str, Channel],
    *,
    now: datetime | None = None,
    limit: int = 500,
    types: Collection[str] | None = None,
    compose: bool = True,
) -> DeliveryReport:
    """Compose finished days' digests, then send what is ready, oldest first. `types`: only
    messages of these channel types (an acknowledgement goes to PagerDuty at once);
    `compose=False`: no digest (a command outside the runs, which know the day's as-of)."""
    now = now or datetime.now(UTC)
    if compose:
        compose_digests(outbox, now)
    sent: list[OutboxRow] = []
    carried: list[OutboxRow] = []
    skipped: list[OutboxRow] = []
    failed: list[tuple[OutboxRow, str]] = []
    failing: set[tuple[str, str]] = set()  # queues with a failure in this delivery
    done: set[str] = set()
    pending = outbox.rows(status="pending", limit=limit)
    if types is not None:
        pending = [row for row in pending if row.channel_type in types]
    for _ in range(4):  # later passes: members of groups sent in an earlier pass
        progress = False
        blocked = set(failing)
        for row in pending:
            if row.message_id in done or row.queue in blocked:
                continue
            outcome, error = _deliver_one(outbox, channels, row)
            if outcome == "wait":
                blocked.add(row.queue)
                continue
            done.add(row.message_id)
            if outcome == "failed":
                failed.append((row, error or "failed"))
                failing.add(row.queue)
                blocked.add(row.queue)
                continue
            progress = True
            {"sent": sent, "carried": carried, "skipped": skipped}[outcome].append(row)
        if not progress:
            break
    via = ",".join(sorted(getattr(c, "name", "?") for c in channels.values()))
    return DeliveryReport(tuple(sent), tuple(failed), via, tuple(carried), tuple(skipped))


def _deliver_one(
    outbox: Outbox, channels: Mapping[str, Channel], row: OutboxRow
) -> tuple[Outcome, str | None]:
    if row.digest_day and not row.group_id:
        return "wait", None  # held for its day's digest
    if row.group_id:  # delivered inside its group or digest message
        leader = outbox.row(row.group_id)
        if leader is None or leader.status != "sent":
            return "wait", None
        outbox.mark_sent(row.message_id, leader.remote_id, leader.remote_channel, attempt=False)
        return "carried", None
    reply_to = _target(outbox, row.reply_to)
    edits = _target(outbox, row.edits)
    if reply_to == "wait" or edits == "wait":
        return "wait", None
    channel = channels.get(row.channel_type)
    if channel is None:
        error = f"message {row.message_id}: no {row.channel_type} channel configured"
        outbox.mark_failed(row.message_id, error)
        return "failed", error
    delivery = Delivery(
        row.message_id,
        message_of(row),
        row.channel or "",
        reply_to=reply_to if channel.supports_reply else None,  # type: ignore[arg-type]
        edits=edits,  # type: ignore[arg-type]
    )
    if isinstance(channel, FileChannel):
        channel.created = row.created_at
    if row.kind == "update":
        if not channel.supports_edit or edits is None:
            outbox.mark_skipped(row.message_id, f"{channel.name} cannot edit a message")
            return "skipped", None
        try:
            channel.edit(delivery)
        except DeliveryError as exc:
            outbox.mark_failed(row.message_id, str(exc))
            return "failed", str(exc)
        outbox.mark_sent(row.message_id, edits.ts, edits.channel)  # type: ignore[union-attr]
        return "sent", None
    posted = _post_once(outbox, channel, row, delivery)
    if isinstance(posted, str):
        return "failed", posted
    outbox.mark_sent(row.message_id, posted.ts, posted.channel)
    return "sent", None


def _target(outbox: Outbox, message_id: str | None) -> Sent | Literal["wait"] | None:
    """Where a referenced message landed; "wait" while it may still be sent; None when there
    is nothing to refer to (no reference, or a message that will never be sent)."""
    if message_id is None:
        return None
    target = outbox.row(message_id)
    if target is None or target.status in _GONE:
        return None
    if target.status != "sent":
        return "wait"
    return Sent(target.remote_channel, target.remote_id)


def _post_once(outbox: Outbox, channel: Channel, row: OutboxRow, delivery: Delivery) -> Sent | str:
    """Where the message now is, or the error (recorded).

    A message whose earlier send may have reached the channel is looked up first and, found,
    not posted again. The outbox records that a send is under way (in its own transaction)
    before the request, so a process killed mid-send leaves that mark behind.
    """
    earlier = row.sending_at  # an earlier send that may have reached the channel started then
    if earlier is not None:
        try:
            found = channel.find(delivery, earlier)
        except LookupUnavailable as exc:
            log.warning(
                "message %s: an earlier send may have reached %s and cannot be looked up "
                "(%s); sending it again, so it may show twice",
                row.message_id,
                channel.name,
                exc,
            )
        except DeliveryError as exc:  # cannot tell for now: wait rather than risk a duplicate
            outbox.mark_failed(row.message_id, str(exc), in_doubt_since=earlier)
            return str(exc)
        else:
            if found is not None:
                log.info("message %s: already in %s, not sent again", row.message_id, channel.name)
                return found
            earlier = None  # ruled out
    started = earlier or datetime.now(UTC)
    if not outbox.mark_sending(row.message_id, started):
        return f"message {row.message_id}: no longer pending (withdrawn); not sent"
    try:
        return channel.send(delivery)
    except SendInDoubt as exc:
        outbox.mark_failed(row.message_id, str(exc), in_doubt_since=started)
        return str(exc)
    except DeliveryError as exc:  # not sent now; an earlier send not ruled out stays in doubt
        outbox.mark_failed(row.message_id, str(exc), in_doubt_since=earlier)
        return str(exc)
