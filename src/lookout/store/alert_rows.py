"""Alert state and silences in the results store: one row per alert fingerprint (its current
episode), and the silences that mute matching alerts for a while."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from lookout.model.alerts import AlertState, Silence, Transition
from lookout.store import schema
from lookout.store.times import db_time, utc

__all__ = ["add_silence", "apply_transitions", "expire_silence", "read_alerts", "read_silences"]

_db_time = db_time
_utc = utc


def read_alerts(
    conn: sa.Connection, monitor: str | None = None, state: str | None = None
) -> list[AlertState]:
    a = schema.alerts
    query = sa.select(a).order_by(a.c.monitor, a.c.opened_at, a.c.fingerprint)
    if monitor is not None:
        query = query.where(a.c.monitor == monitor)
    if state is not None:
        query = query.where(a.c.state == state)
    rows = conn.execute(query).mappings().all()
    return [_alert_from_row(row) for row in rows]


def apply_transitions(conn: sa.Connection, transitions: Iterable[Transition]) -> None:
    """Each transition's alert replaces its stored state (one row per fingerprint)."""
    a = schema.alerts
    for transition in transitions:
        row = _alert_to_row(transition.alert)
        conn.execute(sa.delete(a).where(a.c.fingerprint == row["fingerprint"]))
        conn.execute(sa.insert(a).values(**row))


def read_silences(conn: sa.Connection, active_at: datetime | None = None) -> list[Silence]:
    """Every silence (or only those active at `active_at`), newest first."""
    t = schema.silences
    query = sa.select(t).order_by(t.c.starts_at.desc(), t.c.silence_id)
    if active_at is not None:
        at = _db_time(active_at)
        query = query.where(t.c.starts_at <= at, t.c.ends_at > at)
    rows = conn.execute(query).mappings().all()
    return [
        Silence(
            silence_id=row["silence_id"],
            matchers=json.loads(row["matchers"]),
            starts_at=_utc(row["starts_at"]),  # type: ignore[arg-type]
            ends_at=_utc(row["ends_at"]),  # type: ignore[arg-type]
            created_by=row["created_by"],
            comment=row["comment"],
        )
        for row in rows
    ]


def add_silence(conn: sa.Connection, silence: Silence) -> None:
    conn.execute(
        sa.insert(schema.silences).values(
            silence_id=silence.silence_id,
            matchers=json.dumps(dict(silence.matchers), sort_keys=True),
            starts_at=_db_time(silence.starts_at),
            ends_at=_db_time(silence.ends_at),
            created_by=silence.created_by,
            comment=silence.comment,
        )
    )


def expire_silence(conn: sa.Connection, silence_id: str, now: datetime) -> bool:
    """End a silence now; False when there is no such silence."""
    t = schema.silences
    result = conn.execute(
        sa.update(t).where(t.c.silence_id == silence_id).values(ends_at=_db_time(now))
    )
    return bool(result.rowcount)


_TIMES = (  # AlertState's datetimes: aware UTC in Lookout, naive UTC in the store
    "first_window_start",
    "last_window_start",
    "opened_at",
    "updated_at",
    "resolved_at",
    "last_notified_window",
    "last_breach_window",
    "pooled_from",
)


def _alert_to_row(alert: AlertState) -> dict[str, Any]:
    row = asdict(alert)
    for key in _TIMES:
        row[key] = _db_time(row[key])
    return row


def _alert_from_row(row: Any) -> AlertState:
    data = dict(row)
    for key in _TIMES:
        data[key] = _utc(data[key])
    data["resolved_before"] = bool(data.get("resolved_before"))
    return AlertState(**data)
