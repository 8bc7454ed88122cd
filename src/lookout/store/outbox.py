"""The outbox repository: neutral messages queued with their destination and references, and
what delivery records about each (sending, sent where, failed with what).

Messages are queued in the window's commit (`enqueue` on its connection) or on their own (a
failed window's notice, a digest, an acknowledgement); a message id is queued once. Delivery
reads pending messages in order and records each outcome in its own transaction before the
next send.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from lookout.store import schema
from lookout.store.times import db_time, utc

__all__ = ["Outbox", "OutboxMessage", "OutboxRow", "enqueue"]

# Fingerprints bound in one IN list: well under SQLite's bound-parameter limit (999 before
# 3.32) with the query's own few parameters beside them.
_IN_CHUNK = 500


def _thread_roots(channel_type: str) -> tuple[sa.ColumnElement[bool], ...]:
    """The messages that root an alert's thread on a channel type: its openings, sent or
    not, not superseded (`thread_root` and `announced` ask the same)."""
    o = schema.outbox
    return (
        o.c.channel_type == channel_type,
        o.c.kind.in_(("open", "reopen")),
        o.c.status != "superseded",
    )


@dataclass(frozen=True)
class OutboxMessage:
    """A message to queue: its neutral payload (or a legacy rendered one), where it goes, and
    the messages it refers to."""

    message_id: str
    kind: str
    monitor: str
    payload: dict[str, Any]
    channel: str | None = None  # the Slack channel, the email list name...: the route's target
    fingerprint: str | None = None
    channel_type: str = "slack"
    owner: str | None = None
    severity: str | None = None
    group_id: str | None = None
    digest_day: str | None = None
    reply_to: str | None = None
    edits: str | None = None
    format: str = "neutral"


@dataclass(frozen=True)
class OutboxRow:
    message_id: str
    kind: str
    monitor: str
    channel: str | None
    payload: dict[str, Any]
    status: str
    attempts: int
    created_at: datetime
    remote_id: str | None
    fingerprint: str | None = None
    remote_channel: str | None = None
    # set: a send that may have reached the channel started then and its outcome is unknown
    sending_at: datetime | None = None
    channel_type: str = "slack"
    owner: str | None = None
    severity: str | None = None
    seq: int = 0
    group_id: str | None = None
    digest_day: str | None = None
    reply_to: str | None = None
    edits: str | None = None
    format: str = "neutral"
    last_error: str | None = None

    @property
    def queue(self) -> tuple[str, str]:
        """Messages of one queue go out in order: an alert's messages per channel type; a
        message about no alert (a group, a digest, a failure notice, whose fingerprint names
        its error, not an alert) is a queue of its own."""
        alert = self.fingerprint if self.kind != "failure" else None
        return (alert or self.message_id, self.channel_type)


def _row(row: Mapping[str, Any]) -> OutboxRow:
    return OutboxRow(
        message_id=row["message_id"],
        kind=row["kind"],
        monitor=row["monitor"],
        channel=row["channel"],
        payload=json.loads(row["payload"]),
        status=row["status"],
        attempts=row["attempts"],
        created_at=utc(row["created_at"]),  # type: ignore[arg-type]
        remote_id=row["remote_id"],
        fingerprint=row["fingerprint"],
        remote_channel=row["remote_channel"],
        sending_at=utc(row["sending_at"]),
        channel_type=row["channel_type"],
        owner=row["owner"],
        severity=row["severity"],
        seq=row["seq"],
        group_id=row["group_id"],
        digest_day=row["digest_day"],
        reply_to=row["reply_to"],
        edits=row["edits"],
        format=row["format"],
        last_error=row["last_error"],
    )


def _values(message: OutboxMessage, now: datetime, seq: int) -> dict[str, Any]:
    return {
        "message_id": message.message_id,
        "created_at": db_time(now),
        "kind": message.kind,
        "monitor": message.monitor,
        "fingerprint": message.fingerprint,
        "channel": message.channel,
        "payload": json.dumps(message.payload, sort_keys=True, ensure_ascii=False),
        "status": "pending",
        "attempts": 0,
        "channel_type": message.channel_type,
        "owner": message.owner,
        "severity": message.severity,
        "seq": seq,
        "group_id": message.group_id,
        "digest_day": message.digest_day,
        "reply_to": message.reply_to,
        "edits": message.edits,
        "format": message.format,
    }


def enqueue(conn: sa.Connection, messages: Iterable[OutboxMessage], now: datetime) -> int:
    """Queue messages on `conn` (inside a window's commit); an id already queued is skipped.
    Returns how many were queued."""
    o = schema.outbox
    queued = 0
    for seq, message in enumerate(messages):
        exists = conn.scalar(sa.select(sa.func.count()).where(o.c.message_id == message.message_id))
        if exists:
            continue
        conn.execute(sa.insert(o).values(**_values(message, now, seq)))
        queued += 1
    return queued


class Outbox:
    """Reads and delivery bookkeeping of the outbox of one results store."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- reads ------------------------------------------------------------------------------

    def rows(
        self,
        status: str | None = None,
        limit: int | None = None,
        *,
        fingerprint: str | None = None,
    ) -> list[OutboxRow]:
        """In queue order: when queued, then the order within one enqueue."""
        o = schema.outbox
        query = sa.select(o).order_by(o.c.created_at, o.c.seq, o.c.message_id)
        if status is not None:
            query = query.where(o.c.status == status)
        if fingerprint is not None:
            query = query.where(o.c.fingerprint == fingerprint)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(query).mappings()]

    def row(self, message_id: str) -> OutboxRow | None:
        o = schema.outbox
        with self.engine.connect() as conn:
            found = conn.execute(sa.select(o).where(o.c.message_id == message_id)).mappings()
            first = found.first()
        return None if first is None else _row(first)

    def held_count(self) -> int:
        """How many pending openings wait for a day's P2 digest (any day)."""
        query = sa.select(sa.func.count()).where(*_held())
        with self.engine.connect() as conn:
            return int(conn.scalar(query) or 0)

    def ids_with_prefix(self, prefix: str) -> list[str]:
        """Message ids starting with `prefix` (a day's digests share one)."""
        o = schema.outbox
        query = sa.select(o.c.message_id).where(o.c.message_id.startswith(prefix, autoescape=True))
        with self.engine.connect() as conn:
            return list(conn.scalars(query))

    def members(self, group_id: str) -> list[OutboxRow]:
        """The messages delivered inside a group or digest message."""
        o = schema.outbox
        query = sa.select(o).where(o.c.group_id == group_id).order_by(o.c.created_at, o.c.seq)
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(query).mappings()]

    def thread_root(
        self, fingerprint: str, channel_type: str, conn: sa.Connection | None = None
    ) -> OutboxRow | None:
        """The newest opening message of an alert on a channel type (its current episode's
        thread), sent or not, not superseded."""
        o = schema.outbox
        query = (
            sa.select(o)
            .where(o.c.fingerprint == fingerprint, *_thread_roots(channel_type))
            .order_by(o.c.created_at.desc(), o.c.seq.desc(), o.c.message_id.desc())
            .limit(1)
        )
        if conn is not None:
            found = conn.execute(query).mappings().first()
        else:
            with self.engine.connect() as own:
                found = own.execute(query).mappings().first()
        return None if found is None else _row(found)

    def announced(
        self, fingerprints: Iterable[str], channel_type: str, conn: sa.Connection | None = None
    ) -> set[str]:
        """The fingerprints among `fingerprints` whose alert has a thread root on the channel
        type (those `thread_root` finds a row for), in one query per `_IN_CHUNK` of them
        rather than one per alert (a window of hundreds of firing cohorts asks for all)."""
        wanted = sorted(set(fingerprints))
        if not wanted:
            return set()
        if conn is None:
            with self.engine.connect() as own:
                return self.announced(wanted, channel_type, own)
        o = schema.outbox
        found: set[str] = set()
        for start in range(0, len(wanted), _IN_CHUNK):
            query = (
                sa.select(o.c.fingerprint)
                .where(
                    o.c.fingerprint.in_(wanted[start : start + _IN_CHUNK]),
                    *_thread_roots(channel_type),
                )
                .distinct()
            )
            found.update(conn.execute(query).scalars())
        return found

    def held_for_digest(self, before_day: str) -> list[OutboxRow]:
        """Pending openings waiting for a digest of a day before `before_day` (YYYY-MM-DD)."""
        o = schema.outbox
        query = (
            sa.select(o)
            .where(*_held(), o.c.digest_day < before_day)
            .order_by(o.c.created_at, o.c.seq)
        )
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(query).mappings()]

    # -- writes -----------------------------------------------------------------------------

    def enqueue(self, messages: Iterable[OutboxMessage]) -> int:
        with self.engine.begin() as conn:
            return enqueue(conn, messages, datetime.now(UTC))

    def compose_group(self, group: OutboxMessage, message_ids: list[str]) -> bool:
        """Queue `group` (a digest) with the held messages it lists delivered inside it, in one
        transaction, only if every one of them is still pending and in no group: a message is
        never carried inside a digest that does not list it, nor listed by two (two composers
        at once, a crash between queueing and grouping). False: nothing was changed."""
        o = schema.outbox
        with self.engine.begin() as conn:
            claimed = conn.execute(
                sa.update(o)
                .where(
                    o.c.message_id.in_(message_ids),
                    o.c.status == "pending",
                    o.c.group_id.is_(None),
                )
                .values(group_id=group.message_id)
            ).rowcount
            if claimed != len(message_ids):
                conn.rollback()
                return False
            enqueue(conn, [group], datetime.now(UTC))
        return True

    def mark_sending(self, message_id: str, since: datetime) -> bool:
        """Committed before a send: a process that dies mid-send leaves this mark, and the next
        delivery looks for the message before sending it again. False: no longer pending
        (withdrawn since the delivery read it): do not send it."""
        o = schema.outbox
        with self.engine.begin() as conn:
            marked = conn.execute(
                sa.update(o)
                .where(o.c.message_id == message_id, o.c.status == "pending")
                .values(sending_at=db_time(since))
            )
        return bool(marked.rowcount)

    def mark_sent(
        self,
        message_id: str,
        remote_id: str | None,
        remote_channel: str | None = None,
        *,
        attempt: bool = True,
    ) -> None:
        """Sent (or delivered inside its group message: `attempt=False`)."""
        o = schema.outbox
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(o)
                .where(o.c.message_id == message_id)
                .values(
                    status="sent",
                    sent_at=db_time(datetime.now(UTC)),
                    remote_id=remote_id,
                    remote_channel=remote_channel,
                    attempts=o.c.attempts + (1 if attempt else 0),
                    last_error=None,
                    sending_at=None,
                )
            )

    def mark_failed(
        self, message_id: str, error: str, *, in_doubt_since: datetime | None = None
    ) -> None:
        """Stays pending for the next delivery; the attempt is counted. `in_doubt_since`: the
        message may be in the channel since then; the next delivery looks for it first."""
        o = schema.outbox
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(o)
                .where(o.c.message_id == message_id)
                .values(
                    attempts=o.c.attempts + 1,
                    last_error=error[:2000],
                    sending_at=db_time(in_doubt_since),
                )
            )

    def mark_skipped(self, message_id: str, why: str) -> None:
        """Nothing to send on this channel for this message (a PagerDuty reminder)."""
        o = schema.outbox
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(o)
                .where(o.c.message_id == message_id, o.c.status == "pending")
                .values(status="skipped", last_error=why[:2000], sent_at=db_time(datetime.now(UTC)))
            )


def _held() -> tuple[Any, ...]:
    """A pending opening held for a day's digest, not in one yet (`notify.queue`'s
    `_held_for_digest`, in SQL)."""
    o = schema.outbox
    return (o.c.status == "pending", o.c.digest_day.is_not(None), o.c.group_id.is_(None))
