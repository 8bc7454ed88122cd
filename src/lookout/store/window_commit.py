"""The one transaction per window: what a window run writes, and writing it all at once.

`commit_window` deletes and re-inserts the window's metrics, records the run, applies alert
transitions, queues messages in the outbox and moves the watermark, all in one transaction. A
re-run never doubles anything; a crash before the commit changes nothing. A failed window's
notice (`enqueue_failure`) is serialized with that commit, so whichever comes second sees the
other.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from lookout.core.summary import Summary
from lookout.errors import StoreError, database_error
from lookout.model.aggregates import MetricValue
from lookout.model.alerts import Transition
from lookout.model.expectations import ExpectationOutcome
from lookout.store import (
    alert_rows,
    metric_rows,
    schema,
    summary_rows,
    validation_rows,
    window_rows,
)
from lookout.store.drift_rows import DriftRow, replace_drift
from lookout.store.engine import lock_key
from lookout.store.history import record_transitions
from lookout.store.outbox import OutboxMessage, enqueue
from lookout.store.times import db_time, utc
from lookout.windows import Window

__all__ = [
    "FAILURE_REPEAT",
    "FailureNotice",
    "WindowCommit",
    "commit_window",
    "enqueue_failure",
    "record_failure",
    "window_guard",
    "write_window",
]


FailureNotice = Literal["queued", "stored", "repeat"]


@dataclass(frozen=True)
class WindowCommit:
    """Everything one successful window run writes, committed together."""

    run_id: str
    monitor: str
    window: Window
    started_at: datetime
    finished_at: datetime
    rows_read: int
    metric_path: str
    metrics: Sequence[MetricValue]
    initial_frontier: datetime
    max_ingested_at: datetime | None = None
    transitions: Sequence[Transition] = ()
    messages: Sequence[OutboxMessage] = ()
    flow_run_id: str | None = None
    validations: Sequence[ExpectationOutcome] = ()
    # record id -> (release, names of the critical expectations it failed)
    quarantine: Mapping[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    flag: str | None = None
    drift: Sequence[DriftRow] = ()
    # stages not re-run (a backfill of some stages): their stored rows stay as they are
    keep: frozenset[str] = frozenset()  # "validation", "drift"
    # pending messages a message of this commit announces instead (a P2 opening held for the
    # digest whose alert escalated: the escalation is the opening now, the digest must not)
    supersede: Sequence[str] = ()
    # (stage, release, cohort) -> the window's mergeable summary; the stages run replace theirs
    summaries: Mapping[tuple[str, str, str], Summary] = field(default_factory=dict)
    stages_run: frozenset[str] = frozenset()
    # ids of pending messages this commit makes moot (the window's own failure notice, queued
    # by a run that failed while this one, or a retry, stored the window): not sent
    withdraw: Sequence[str] = ()


def commit_window(engine: Engine, display_url: str, commit: WindowCommit) -> datetime:
    """Replace the window's results and move the watermark; returns the new frontier."""
    window = commit.window
    start, end = db_time(window.start), db_time(window.end)
    try:
        with engine.begin() as conn:
            window_guard(conn, commit.monitor, window)
            frontier = window_rows.locked_frontier(conn, commit.monitor, commit.initial_frontier)
            write_window(conn, commit, start, end)  # type: ignore[arg-type]
            new_frontier = window_rows.advance(conn, commit.monitor, frontier, commit.run_id)
    except StoreError as exc:  # a timeout, explained by the engine
        detail = str(exc).removeprefix(f"results store {display_url}: ")
        raise StoreError(
            f"results store {display_url}: commit of {commit.monitor} {window.label} "
            f"failed: {detail}. Nothing was written and the watermark did not move; the "
            "next run retries the window"
        ) from None
    except sa.exc.SQLAlchemyError as exc:
        raise database_error(
            exc,
            f"results store {display_url}: commit of {commit.monitor} {window.label} failed",
        ) from None
    return new_frontier


def enqueue_failure(
    engine: Engine,
    monitor: str,
    window: Window,
    since: datetime,
    messages: Sequence[OutboxMessage],
) -> FailureNotice:
    """Queue a failed window's notice, unless the window was stored since `since` (the
    failing run's first attempt): then another process, or a retry, stored it and the
    failure does not stand ("stored"); nor when another window's notice of the same error
    went out in the last day ("repeat", `_said_today`). Else "queued".

    Serialized with `commit_window` of the same window, which withdraws a pending notice:
    whichever comes second sees the other, across processes. A notice that was withdrawn
    is queued again (a new failure that stands); one already sent is not sent twice.
    """
    w, o = schema.windows, schema.outbox
    now = datetime.now(UTC)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock before the check
        window_guard(conn, monitor, window)
        stored_at = conn.scalar(
            sa.select(w.c.computed_at).where(
                w.c.monitor == monitor, w.c.window_start == db_time(window.start)
            )
        )
        if stored_at is not None and utc(stored_at) >= since:  # type: ignore[operator]
            conn.rollback()
            return "stored"
        fresh = [m for m in messages if not _said_today(conn, m, now)]
        if not fresh:
            conn.rollback()
            return "repeat"
        for message in fresh:
            conn.execute(
                sa.update(o)
                .where(o.c.message_id == message.message_id, o.c.status == "withdrawn")
                .values(
                    status="pending",
                    created_at=db_time(now),
                    payload=json.dumps(message.payload, sort_keys=True, ensure_ascii=False),
                    channel=message.channel,
                )
            )
        enqueue(conn, fresh, now)
        conn.commit()
    return "queued"


FAILURE_REPEAT = timedelta(days=1)  # the same error of a monitor pages once in this long


def _said_today(conn: sa.Connection, message: OutboxMessage, now: datetime) -> bool:
    """Another window's notice of the same error to the same channel type (`fingerprint`) was
    queued in the last `FAILURE_REPEAT` and not withdrawn: a table that stopped fitting its
    config fails every hour, and its owner hears once a day, not each hour."""
    if message.fingerprint is None:
        return False
    o = schema.outbox
    found = conn.scalar(
        sa.select(sa.func.count()).where(
            o.c.fingerprint == message.fingerprint,
            o.c.channel_type == message.channel_type,
            o.c.message_id != message.message_id,
            o.c.kind == "failure",
            o.c.status.in_(("pending", "sent")),
            o.c.created_at >= db_time(now - FAILURE_REPEAT),
        )
    )
    return bool(found)


def record_failure(
    engine: Engine,
    run_id: str,
    monitor: str,
    window: Window,
    started_at: datetime,
    error: str,
    flow_run_id: str | None = None,
) -> None:
    """A failed run is recorded (best effort); results and watermark stay untouched."""
    with engine.begin() as conn:
        window_rows.insert_run(
            conn,
            run_id=run_id,
            monitor=monitor,
            window_start=window.start,
            window_end=window.end,
            status="failed",
            started_at=started_at,
            finished_at=datetime.now(UTC),
            error=error[:4000],
            flow_run_id=flow_run_id,
        )


def write_window(conn: sa.Connection, commit: WindowCommit, start: datetime, end: datetime) -> None:
    """Every write of one window run, in the caller's transaction; stages not re-run
    (`commit.keep`) keep their stored rows."""
    metric_rows.replace_metrics(conn, commit.monitor, start, end, commit.metrics, commit.run_id)
    window_rows.replace_window(
        conn,
        monitor=commit.monitor,
        start=start,
        end=end,
        run_id=commit.run_id,
        rows=commit.rows_read,
        max_ingested_at=commit.max_ingested_at,
        computed_at=commit.finished_at,
        quarantined=len(commit.quarantine),
        flag=commit.flag,
        keep_validation="validation" in commit.keep,
    )
    if "validation" not in commit.keep:
        validation_rows.replace_validation(
            conn, commit.monitor, start, end, commit.validations, commit.quarantine, commit.run_id
        )
    if "drift" not in commit.keep:
        replace_drift(conn, commit.monitor, start, end, commit.drift, commit.run_id)
    window_rows.insert_run(
        conn,
        run_id=commit.run_id,
        monitor=commit.monitor,
        window_start=start,
        window_end=end,
        status="succeeded",
        started_at=commit.started_at,
        finished_at=commit.finished_at,
        rows_read=commit.rows_read,
        metric_path=commit.metric_path,
        flow_run_id=commit.flow_run_id,
    )
    alert_rows.apply_transitions(conn, commit.transitions)
    record_transitions(conn, commit.transitions, commit.messages)
    enqueue(conn, commit.messages, commit.finished_at)
    o = schema.outbox
    if commit.withdraw:  # the window's own failure notice, made moot by this commit
        conn.execute(
            sa.update(o)
            .where(o.c.message_id.in_(list(commit.withdraw)), o.c.status == "pending")
            .values(status="withdrawn")
        )
    if commit.supersede:  # held openings a new message announces instead
        conn.execute(
            sa.update(o)
            .where(o.c.message_id.in_(list(commit.supersede)), o.c.status == "pending")
            .values(status="superseded")
        )
    summary_rows.replace_summaries(
        conn, commit.monitor, start, end, commit.summaries, commit.stages_run, commit.run_id
    )


def window_guard(conn: sa.Connection, monitor: str, window: Window) -> None:
    """PostgreSQL: one transaction at a time about this window's results and failure notice
    (a transaction-level advisory lock). SQLite serializes writers by itself."""
    if conn.dialect.name == "postgresql":
        key = lock_key(f"lookout:{monitor}:window:{window.start.isoformat()}")
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
