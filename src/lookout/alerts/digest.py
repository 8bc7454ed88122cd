"""The daily P2 digest: low-severity alerts wait for one message per owner and day.

An opening P2 message is queued held (`payload["digest_day"]`); delivery skips it. Once its
day (UTC) is over, `compose_digests` writes one grouped message per owner and day and points the
held messages at it, so they are delivered with it (and their later replies go to its thread),
exactly like a group of alerts opened in one window.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import date, datetime
from typing import Any

from lookout.alerts.blockkit import to_group_block_kit
from lookout.alerts.messages import AlertMessage
from lookout.store.results import OutboxMessage, OutboxRow, ResultsStore

__all__ = ["DIGEST_KEY", "compose_digests", "held_for_digest"]

DIGEST_KEY = "digest_day"


def held_for_digest(payload: dict[str, Any], message: AlertMessage, day: date) -> dict[str, Any]:
    """The payload of a P2 opening message that waits for its day's digest."""
    return {
        DIGEST_KEY: day.isoformat(),
        "owner": message.owner_name,
        "message": {
            "title": message.title,
            "severity": message.severity,
            "summary": message.summary,
            "owner_name": message.owner_name,
            "mentions": list(message.mentions),
            "channel": message.channel,
            "facts": [[f.label, f.value] for f in message.facts],
            "links": [[link.label, link.url] for link in message.links],
        },
        "original": payload,
    }


def _message(data: dict[str, Any]) -> AlertMessage:
    from lookout.alerts.messages import Fact, Link

    return AlertMessage(
        message_id="",
        title=data["title"],
        severity=data["severity"],
        summary=data["summary"],
        owner_name=data["owner_name"],
        mentions=tuple(data["mentions"]),
        channel=data["channel"],
        facts=tuple(Fact(label, value) for label, value in data["facts"]),
        links=tuple(Link(label, url) for label, url in data["links"]),
    )


def compose_digests(store: ResultsStore, now: datetime) -> list[str]:
    """One digest per owner for every finished day with held P2 messages; their ids."""
    waiting: dict[tuple[str, str, str], list[OutboxRow]] = defaultdict(list)
    for row in store.outbox(status="pending"):
        day = row.payload.get(DIGEST_KEY)
        if day and date.fromisoformat(day) < now.date():
            waiting[(day, row.monitor, row.payload["owner"])].append(row)
    made = []
    for (day, monitor, owner), rows in sorted(waiting.items()):
        messages = [_message(r.payload["message"]) for r in rows]
        title = f"[P2] {monitor}: daily digest for {owner}, {day} ({len(rows)} alerts)"
        payload = to_group_block_kit(messages, title)
        # stable (composing twice is a no-op) and short whatever the names' length
        digest_id = "digest-" + hashlib.sha256(f"{monitor}|{owner}|{day}".encode()).hexdigest()[:32]
        store.enqueue(
            [
                OutboxMessage(
                    message_id=digest_id,
                    kind="alert_digest",
                    monitor=monitor,
                    payload=payload,
                    channel=messages[0].channel,
                )
            ]
        )
        store.point_at_group([r.message_id for r in rows], digest_id)
        made.append(digest_id)
    return made
