"""The results store: one transaction per window, replacing that window's results as a whole.

`commit_window` deletes and re-inserts the window's metrics, records the run, applies alert
transitions, queues Slack messages in the outbox and moves the watermark, all in one
transaction. A re-run never doubles anything; a crash before the commit changes nothing.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy.engine import Engine, make_url

from lookout.alerts.lifecycle import AlertState, Transition
from lookout.alerts.silences import Silence
from lookout.checks.evaluators.base import Judgment
from lookout.checks.metrics import MetricValue
from lookout.checks.pooling import pool
from lookout.checks.validation.runner import ExpectationOutcome
from lookout.connections import (
    MONITOR_LOCK_TIMEOUT,
    STORE_DEFAULTS,
    ConnectSettings,
    engine_arguments,
    explain_timeouts,
    seconds,
)
from lookout.core.summary import Summary, SummaryError
from lookout.errors import StoreError
from lookout.sources.drivers import require_driver
from lookout.store import schema
from lookout.store.drift_rows import DriftRow, load_profile, read_drift, replace_drift, save_profile
from lookout.store.judgment_rows import cached_judgments, read_judgments, save_judgments
from lookout.store.outbox import Outbox, OutboxMessage, OutboxRow, enqueue
from lookout.store.times import db_time, utc
from lookout.windows import Window

if TYPE_CHECKING:
    from lookout.config.models import StoreTarget

__all__ = ["OutboxMessage", "OutboxRow", "ResultsStore", "WindowCommit"]

_MIGRATIONS = Path(__file__).parent / "migrations"


_db_time = db_time
_utc = utc


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


class ResultsStore:
    """SQLite file by default, PostgreSQL in production; migrated to head on open.

    Every wait is bounded: lock and statement timeouts on every connection (`settings`), and
    `monitor_lock_timeout` for the lock one monitor's alert state is written under.
    """

    def __init__(
        self,
        url: str,
        *,
        migrate: bool = True,
        settings: ConnectSettings = STORE_DEFAULTS,
        monitor_lock_timeout: timedelta = MONITOR_LOCK_TIMEOUT,
    ) -> None:
        self.display_url = make_url(url).render_as_string(hide_password=True)
        self.settings = settings
        self.monitor_lock_timeout = monitor_lock_timeout
        self.engine: Engine = _make_engine(url, settings, self.display_url)
        if migrate:
            self.migrate()

    @classmethod
    def from_target(cls, target: StoreTarget, *, migrate: bool = True) -> ResultsStore:
        """The store of a profile target, with its timeouts."""
        return cls(
            target.url.get_secret_value(),
            migrate=migrate,
            settings=target.settings,
            monitor_lock_timeout=target.monitor_lock_timeout,
        )

    def dispose(self) -> None:
        self.engine.dispose()

    def migrate(self) -> None:
        config = AlembicConfig()
        config.set_main_option("script_location", str(_MIGRATIONS))
        try:
            with self.engine.begin() as conn:
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"results store {self.display_url}: migration failed: {exc}") from None

    # -- reads ------------------------------------------------------------------------------

    def watermark(self, monitor: str) -> datetime | None:
        with self.engine.connect() as conn:
            value = conn.scalar(
                sa.select(schema.watermarks.c.frontier).where(
                    schema.watermarks.c.monitor == monitor
                )
            )
        return _utc(value)

    def processed_windows(self, monitor: str, since: datetime) -> dict[Window, datetime | None]:
        """Windows with results from `since` on, with the newest `ingested_at` each one saw."""
        w = schema.windows
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(w.c.window_start, w.c.window_end, w.c.max_ingested_at).where(
                    w.c.monitor == monitor, w.c.window_start >= _db_time(since)
                )
            ).all()
        return {
            Window(_utc(r.window_start), _utc(r.window_end)): _utc(r.max_ingested_at)  # type: ignore[arg-type]
            for r in rows
        }

    def alerts(self, monitor: str | None = None, state: str | None = None) -> list[AlertState]:
        a = schema.alerts
        query = sa.select(a).order_by(a.c.monitor, a.c.opened_at, a.c.fingerprint)
        if monitor is not None:
            query = query.where(a.c.monitor == monitor)
        if state is not None:
            query = query.where(a.c.state == state)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [_alert_from_row(row) for row in rows]

    def metrics(
        self,
        monitor: str | None = None,
        *,
        release: str | None = None,
        metric: str | None = None,
        cohort: str | None = None,
        names: Sequence[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """Stored metric rows, filtered; `since`/`until` bound the window start [since, until)."""
        m = schema.metrics
        query = sa.select(m).order_by(m.c.window_start, m.c.release, m.c.cohort, m.c.metric)
        for column, value in (
            ("monitor", monitor),
            ("release", release),
            ("metric", metric),
            ("cohort", cohort),
        ):
            if value is not None:
                query = query.where(m.c[column] == value)
        if names is not None:
            query = query.where(m.c.metric.in_(list(names)))
        if since is not None:
            query = query.where(m.c.window_start >= _db_time(since))
        if until is not None:
            query = query.where(m.c.window_start < _db_time(until))
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def release_summary(self, monitor: str) -> list[dict[str, Any]]:
        """Per release: windows, records, period, and pooled headline metrics (whole release)."""
        m = schema.metrics
        query = (
            sa.select(
                m.c.release,
                sa.func.count().label("windows"),
                sa.func.sum(m.c.n).label("records"),
                sa.func.min(m.c.window_start).label("first_window"),
                sa.func.max(m.c.window_start).label("last_window"),
            )
            .where(m.c.monitor == monitor, m.c.metric == "request_count", m.c.cohort == "*")
            .group_by(m.c.release)
            .order_by(m.c.release)
        )
        headline = ("error_rate", "latency_p99_ms", "cost_per_trace_usd")
        values = (
            sa.select(m.c.release, m.c.metric, m.c.value, m.c.n)
            .where(m.c.monitor == monitor, m.c.cohort == "*", m.c.metric.in_(headline))
            .order_by(m.c.release, m.c.metric, m.c.window_start)
        )
        with self.engine.connect() as conn:
            rows = [dict(row) for row in conn.execute(query).mappings()]
            series: dict[tuple[str, str], list[tuple[float, int]]] = {}
            for r in conn.execute(values):
                series.setdefault((r.release, r.metric), []).append((r.value, r.n))
        for row in rows:
            row.update(_headline(series, row["release"]))
        return rows

    def runs(self, monitor: str | None = None) -> list[dict[str, Any]]:
        r = schema.runs
        query = sa.select(r).order_by(r.c.started_at)
        if monitor is not None:
            query = query.where(r.c.monitor == monitor)
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def silences(self, active_at: datetime | None = None) -> list[Silence]:
        """Every silence (or only those active at `active_at`), newest first."""
        t = schema.silences
        query = sa.select(t).order_by(t.c.starts_at.desc(), t.c.silence_id)
        if active_at is not None:
            at = _db_time(active_at)
            query = query.where(t.c.starts_at <= at, t.c.ends_at > at)
        with self.engine.connect() as conn:
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

    def add_silence(self, silence: Silence) -> None:
        with self.engine.begin() as conn:
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

    def expire_silence(self, silence_id: str, now: datetime) -> bool:
        """End a silence now; False when there is no such silence."""
        t = schema.silences
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.update(t).where(t.c.silence_id == silence_id).values(ends_at=_db_time(now))
            )
        return bool(result.rowcount)

    def commit_window(self, commit: WindowCommit) -> datetime:
        """Replace the window's results and move the watermark; returns the new frontier."""
        window = commit.window
        start, end = _db_time(window.start), _db_time(window.end)
        try:
            with self.engine.begin() as conn:
                self._window_guard(conn, commit.monitor, window)
                frontier = self._locked_frontier(conn, commit.monitor, commit.initial_frontier)
                m = schema.metrics
                conn.execute(
                    sa.delete(m).where(m.c.monitor == commit.monitor, m.c.window_start == start)
                )
                if commit.metrics:
                    conn.execute(
                        sa.insert(m),
                        [
                            {
                                "monitor": commit.monitor,
                                "window_start": start,
                                "window_end": end,
                                "release": v.release,
                                "cohort": v.cohort,
                                "metric": v.metric,
                                "value": float(v.value),
                                "n": int(v.n),
                                "ci_low": v.ci_low,
                                "ci_high": v.ci_high,
                                "run_id": commit.run_id,
                            }
                            for v in commit.metrics
                        ],
                    )
                w = schema.windows
                quarantined, flag = len(commit.quarantine), commit.flag
                if "validation" in commit.keep:
                    before = conn.execute(
                        sa.select(w.c.quarantined, w.c.flag).where(
                            w.c.monitor == commit.monitor, w.c.window_start == start
                        )
                    ).first()
                    if before is not None:
                        quarantined, flag = before.quarantined, before.flag
                conn.execute(
                    sa.delete(w).where(w.c.monitor == commit.monitor, w.c.window_start == start)
                )
                conn.execute(
                    sa.insert(w).values(
                        monitor=commit.monitor,
                        window_start=start,
                        window_end=end,
                        run_id=commit.run_id,
                        rows=commit.rows_read,
                        max_ingested_at=_db_time(commit.max_ingested_at),
                        computed_at=_db_time(commit.finished_at),
                        quarantined=quarantined,
                        flag=flag,
                    )
                )
                if "validation" not in commit.keep:
                    self._replace_validation(conn, commit, start, end)
                if "drift" not in commit.keep:
                    replace_drift(conn, commit.monitor, start, end, commit.drift, commit.run_id)
                conn.execute(
                    sa.insert(schema.runs).values(
                        run_id=commit.run_id,
                        monitor=commit.monitor,
                        window_start=start,
                        window_end=end,
                        status="succeeded",
                        started_at=_db_time(commit.started_at),
                        finished_at=_db_time(commit.finished_at),
                        rows_read=commit.rows_read,
                        metric_path=commit.metric_path,
                        flow_run_id=commit.flow_run_id,
                    )
                )
                self._apply_transitions(conn, commit.transitions)
                self._enqueue(conn, commit.messages, commit.finished_at)
                o = schema.outbox
                if commit.withdraw:
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
                self._replace_summaries(conn, commit, start, end)
                new_frontier = self._advance(conn, commit.monitor, frontier, commit.run_id)
        except StoreError as exc:  # a timeout, explained by the engine
            detail = str(exc).removeprefix(f"results store {self.display_url}: ")
            raise StoreError(
                f"results store {self.display_url}: commit of {commit.monitor} {window.label} "
                f"failed: {detail}. Nothing was written and the watermark did not move; the "
                "next run retries the window"
            ) from None
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(
                f"results store {self.display_url}: commit of {commit.monitor} "
                f"{window.label} failed: {type(exc).__name__}: {str(exc).splitlines()[0]}"
            ) from None
        return new_frontier

    def enqueue_failure(
        self, monitor: str, window: Window, since: datetime, messages: Sequence[OutboxMessage]
    ) -> bool:
        """Queue a failed window's notice, unless the window was stored since `since` (the
        failing run's first attempt): then another process, or a retry, stored it and the
        failure does not stand. Returns whether it was queued.

        Serialized with `commit_window` of the same window, which withdraws a pending notice:
        whichever comes second sees the other, across processes. A notice that was withdrawn
        is queued again (a new failure that stands); one already sent is not sent twice.
        """
        w, o = schema.windows, schema.outbox
        now = datetime.now(UTC)
        with self.engine.connect() as conn:
            if self.engine.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock before the check
            self._window_guard(conn, monitor, window)
            stored_at = conn.scalar(
                sa.select(w.c.computed_at).where(
                    w.c.monitor == monitor, w.c.window_start == _db_time(window.start)
                )
            )
            if stored_at is not None and _utc(stored_at) >= since:  # type: ignore[operator]
                conn.rollback()
                return False
            for message in messages:
                conn.execute(
                    sa.update(o)
                    .where(o.c.message_id == message.message_id, o.c.status == "withdrawn")
                    .values(
                        status="pending",
                        created_at=_db_time(now),
                        payload=json.dumps(message.payload, sort_keys=True, ensure_ascii=False),
                        channel=message.channel,
                    )
                )
            self._enqueue(conn, messages, now)
            conn.commit()
        return True

    def record_failure(
        self,
        run_id: str,
        monitor: str,
        window: Window,
        started_at: datetime,
        error: str,
        flow_run_id: str | None = None,
    ) -> None:
        """A failed run is recorded (best effort); results and watermark stay untouched."""
        with self.engine.begin() as conn:
            conn.execute(
                sa.insert(schema.runs).values(
                    run_id=run_id,
                    monitor=monitor,
                    window_start=_db_time(window.start),
                    window_end=_db_time(window.end),
                    status="failed",
                    started_at=_db_time(started_at),
                    finished_at=_db_time(datetime.now(UTC)),
                    error=error[:4000],
                    flow_run_id=flow_run_id,
                )
            )

    # -- transaction helpers ----------------------------------------------------------------

    def _window_guard(self, conn: sa.Connection, monitor: str, window: Window) -> None:
        """PostgreSQL: one transaction at a time about this window's results and failure notice
        (a transaction-level advisory lock). SQLite serializes writers by itself."""
        if self.engine.dialect.name == "postgresql":
            key = _lock_key(f"lookout:{monitor}:window:{window.start.isoformat()}")
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})

    def _locked_frontier(self, conn: sa.Connection, monitor: str, initial: datetime) -> datetime:
        wm = schema.watermarks
        current = conn.scalar(
            sa.select(wm.c.frontier).where(wm.c.monitor == monitor).with_for_update()
        )
        if current is None:
            conn.execute(
                sa.insert(wm).values(
                    monitor=monitor,
                    frontier=_db_time(initial),
                    updated_at=_db_time(datetime.now(UTC)),
                )
            )
            return initial
        return _utc(current)  # type: ignore[return-value]

    def _advance(
        self, conn: sa.Connection, monitor: str, frontier: datetime, run_id: str
    ) -> datetime:
        """Move the frontier over every contiguous processed window; never past a gap."""
        w = schema.windows
        rows = conn.execute(
            sa.select(w.c.window_start, w.c.window_end)
            .where(w.c.monitor == monitor, w.c.window_start >= _db_time(frontier))
            .order_by(w.c.window_start)
        ).all()
        cursor = _db_time(frontier)
        for row in rows:
            if row.window_start != cursor:
                break
            cursor = row.window_end
        new_frontier = _utc(cursor)
        if new_frontier != frontier:
            wm = schema.watermarks
            conn.execute(
                sa.update(wm)
                .where(wm.c.monitor == monitor)
                .values(frontier=cursor, updated_at=_db_time(datetime.now(UTC)), run_id=run_id)
            )
        return new_frontier  # type: ignore[return-value]

    def _replace_summaries(
        self, conn: sa.Connection, commit: WindowCommit, start: Any, end: Any
    ) -> None:
        """The window's summaries of the stages that ran (a stage not re-run keeps its own)."""
        t = schema.summaries
        stages = set(commit.stages_run) | {stage for stage, _, _ in commit.summaries}
        if not stages:
            return
        conn.execute(
            sa.delete(t).where(
                t.c.monitor == commit.monitor,
                t.c.window_start == start,
                t.c.stage.in_(sorted(stages)),
            )
        )
        if commit.summaries:
            conn.execute(
                sa.insert(t),
                [
                    {
                        "monitor": commit.monitor,
                        "window_start": start,
                        "window_end": end,
                        "release": release,
                        "cohort": cohort,
                        "stage": stage,
                        "payload": summary.to_bytes(),
                        "run_id": commit.run_id,
                    }
                    for (stage, release, cohort), summary in commit.summaries.items()
                ],
            )

    def summaries(
        self,
        monitor: str,
        since: datetime,
        until: datetime,
        *,
        releases: Iterable[str] | None = None,
        stages: Iterable[str] | None = None,
    ) -> dict[tuple[str, str], list[tuple[datetime, Summary]]]:
        """(release, cohort) -> [(window start, summary)] of the windows in [since, until),
        oldest first, the stages' parts of a window merged. A row that cannot be read fails
        with a StoreError naming it (never a silently smaller pool)."""
        t = schema.summaries
        query = sa.select(t.c.window_start, t.c.release, t.c.cohort, t.c.stage, t.c.payload).where(
            t.c.monitor == monitor,
            t.c.window_start >= _db_time(since),
            t.c.window_start < _db_time(until),
        )
        if releases is not None:
            query = query.where(t.c.release.in_(sorted(set(releases))))
        if stages is not None:
            query = query.where(t.c.stage.in_(sorted(set(stages))))
        out: dict[tuple[str, str], dict[datetime, Summary]] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(query.order_by(t.c.window_start)):
                try:
                    part = Summary.from_bytes(row.payload)
                except SummaryError as exc:
                    raise StoreError(
                        f"results store {self.display_url}: summary of {monitor} "
                        f"{row.window_start:%Y-%m-%d %H:%M} {row.release} {row.cohort} "
                        f"({row.stage}): {exc}"
                    ) from None
                windows = out.setdefault((row.release, row.cohort), {})
                start = _utc(row.window_start)
                if start in windows:
                    windows[start].merge(part, same_window=True)  # type: ignore[index]
                else:
                    windows[start] = part  # type: ignore[index]
        return {group: sorted(parts.items()) for group, parts in out.items()}

    def summary_gaps(
        self, monitor: str, stage: str, since: datetime, until: datetime, size: timedelta
    ) -> list[datetime]:
        """Starts of the windows of [since, until) (every `size` from `since`) whose stored
        summaries of `stage` cannot stand for them: not processed, or processed with rows and
        no summary of that stage (it was off, or not run then). Empty: the store covers it."""
        w, t = schema.windows, schema.summaries
        low, high = _db_time(since), _db_time(until)
        with self.engine.connect() as conn:
            rows = {
                _utc(r.window_start): int(r.rows)
                for r in conn.execute(
                    sa.select(w.c.window_start, w.c.rows).where(
                        w.c.monitor == monitor, w.c.window_start >= low, w.c.window_start < high
                    )
                )
            }
            summarised = {
                _utc(r[0])
                for r in conn.execute(
                    sa.select(t.c.window_start)
                    .where(
                        t.c.monitor == monitor,
                        t.c.stage == stage,
                        t.c.window_start >= low,
                        t.c.window_start < high,
                    )
                    .distinct()
                )
            }
        gaps = []
        start = since
        while start < until:
            if start not in rows or (rows[start] and start not in summarised):
                gaps.append(start)
            start += size
        return gaps

    def _replace_validation(
        self, conn: sa.Connection, commit: WindowCommit, start: Any, end: Any
    ) -> None:
        for table in (schema.validations, schema.quarantine):
            conn.execute(
                sa.delete(table).where(
                    table.c.monitor == commit.monitor, table.c.window_start == start
                )
            )
        if commit.validations:
            conn.execute(
                sa.insert(schema.validations),
                [
                    {
                        "monitor": commit.monitor,
                        "window_start": start,
                        "window_end": end,
                        "release": o.release,
                        "expectation": o.name,
                        "kind": o.kind,
                        "column_name": o.column,
                        "severity": o.severity,
                        "status": o.status,
                        "element_count": o.element_count,
                        "unexpected_count": o.unexpected_count,
                        "unexpected_percent": o.unexpected_percent,
                        "observed": o.observed,
                        "examples": json.dumps(list(o.examples)),
                        "path": o.path,
                        "error": o.error,
                        "run_id": commit.run_id,
                    }
                    for o in commit.validations
                ],
            )
        if commit.quarantine:
            conn.execute(
                sa.insert(schema.quarantine),
                [
                    {
                        "monitor": commit.monitor,
                        "window_start": start,
                        "record_id": record_id,
                        "release": release,
                        "reasons": ",".join(reasons),
                        "run_id": commit.run_id,
                    }
                    for record_id, (release, reasons) in commit.quarantine.items()
                ],
            )

    # -- drift ------------------------------------------------------------------------------

    def drift(self, monitor: str, since: datetime | None = None) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = read_drift(conn, monitor, _db_time(since))
        for row in rows:
            row["window_start"] = _utc(row["window_start"])
            row["window_end"] = _utc(row["window_end"])
            row["period_start"] = _utc(row.get("period_start"))
        return rows

    def drift_profile(self, monitor: str, key: str) -> dict | None:
        with self.engine.connect() as conn:
            return load_profile(conn, monitor, key)

    def cached_judgments(
        self, monitor: str, evaluator: str, version: str, record_ids: Iterable[str]
    ) -> dict[str, Judgment]:
        with self.engine.connect() as conn:
            return cached_judgments(conn, monitor, evaluator, version, record_ids)

    def save_judgments(
        self,
        monitor: str,
        window_start: datetime,
        releases: dict[str, str],
        judgments: Sequence[Judgment],
        judged_at: datetime,
    ) -> None:
        """The judge cache, written on its own as soon as judgments are paid for."""
        if not judgments:
            return
        with self.engine.begin() as conn:
            save_judgments(
                conn, monitor, _db_time(window_start), releases, judgments, _db_time(judged_at)
            )

    def judgments(
        self, monitor: str, evaluator: str | None = None, *, window_start: datetime | None = None
    ) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = read_judgments(conn, monitor, evaluator, _db_time(window_start))
        for row in rows:
            row["window_start"] = _utc(row["window_start"])
        return rows

    def save_drift_profile(
        self, monitor: str, key: str, description: str, profile: dict, now: datetime
    ) -> None:
        """A cache entry, written on its own: losing it only costs a recomputation. Windows
        running side by side may compute the same profile: the first one stored wins."""
        try:
            with self.engine.begin() as conn:
                save_profile(conn, monitor, key, description, profile, _db_time(now))
        except sa.exc.IntegrityError:
            pass  # another window stored this key meanwhile (same inputs, same profile)

    def metric_points(
        self,
        monitor: str,
        metric: str,
        start: datetime,
        end: datetime,
        *,
        release: str | None = None,
    ) -> dict[str, list[tuple[float, int]]]:
        """Cohort -> (value, n) of every window in [start, end), of one release or all."""
        m = schema.metrics
        query = sa.select(m.c.cohort, m.c.value, m.c.n).where(
            m.c.monitor == monitor,
            m.c.metric == metric,
            m.c.window_start >= _db_time(start),
            m.c.window_start < _db_time(end),
        )
        if release is not None:
            query = query.where(m.c.release == release)
        out: dict[str, list[tuple[float, int]]] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(query.order_by(m.c.window_start)):
                out.setdefault(row.cohort, []).append((row.value, row.n))
        return out

    def window_metrics(
        self, monitor: str, window: Window, families: Callable[[str], bool]
    ) -> list[MetricValue]:
        """The stored metrics of one window whose names `families` accepts (kept stages)."""
        m = schema.metrics
        query = sa.select(m).where(
            m.c.monitor == monitor, m.c.window_start == _db_time(window.start)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(m.c.release, m.c.cohort, m.c.metric)).mappings()
            return [
                MetricValue(
                    r["release"],
                    r["cohort"],
                    r["metric"],
                    r["value"],
                    r["n"],
                    r["ci_low"],
                    r["ci_high"],
                )
                for r in rows
                if families(r["metric"])
            ]

    def quarantined_ids(self, monitor: str, window: Window) -> set[str]:
        """Record ids a window's stored validation quarantined."""
        q = schema.quarantine
        query = sa.select(q.c.record_id).where(
            q.c.monitor == monitor, q.c.window_start == _db_time(window.start)
        )
        with self.engine.connect() as conn:
            return set(conn.scalars(query))

    @contextmanager
    def monitor_lock(self, monitor: str, purpose: str = "alert state") -> Iterator[None]:
        """One writer of a monitor's alert state at a time, across threads, processes and (on
        PostgreSQL) machines: alert transitions read the stored alerts, then commit.

        Waits at most `monitor_lock_timeout` in all, then raises a StoreError that says which
        lock, where, how long it waited and what to check; nothing is written then.
        """
        deadline = time.monotonic() + self.monitor_lock_timeout.total_seconds()
        local = _thread_lock(self.display_url, monitor)
        if not local.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise self._lock_timeout(
                monitor, purpose, "another window of it in this process held it all that time"
            )
        try:
            dialect = self.engine.dialect.name
            if dialect == "postgresql":
                with self._advisory_lock(monitor, purpose, deadline):
                    yield
            elif dialect == "sqlite" and self.engine.url.database not in (None, "", ":memory:"):
                with self._file_lock(monitor, purpose, deadline):
                    yield
            else:
                yield
        finally:
            local.release()

    @contextmanager
    def _advisory_lock(self, monitor: str, purpose: str, deadline: float) -> Iterator[None]:
        """A session-level advisory lock, waited for in PostgreSQL's own (fair) lock queue with
        a transaction-local `lock_timeout` (it applies to advisory locks too)."""
        key = _lock_key(f"lookout:{monitor}")
        wait_ms = max(1, int((deadline - time.monotonic()) * 1000))
        with self.engine.connect() as conn:
            raw = conn.connection.dbapi_connection  # the driver's own error, not a wrapped one
            cursor = raw.cursor()  # type: ignore[union-attr]
            try:
                cursor.execute(
                    "SELECT set_config('lock_timeout', %s, true), "
                    "set_config('statement_timeout', %s, true), pg_advisory_lock(%s)",
                    (str(wait_ms), str(wait_ms + 1000), key),
                )
                raw.commit()  # type: ignore[union-attr]
            except Exception as exc:
                raw.rollback()  # type: ignore[union-attr]
                if getattr(exc, "sqlstate", None) not in ("55P03", "57014"):
                    raise
                holder = _advisory_holder(cursor, key)
                raise self._lock_timeout(
                    monitor,
                    purpose,
                    f"PostgreSQL advisory lock {key} (pg_locks: classid {_classid(key)}, objid "
                    f"{key & 0xFFFFFFFF}) is held by {holder}. Another run of this monitor "
                    "(hourly, nightly, a backfill) may be writing, or a session kept the lock "
                    "after its run died: check pg_stat_activity for that pid "
                    "(pg_terminate_backend(pid) ends a stuck one)",
                ) from None
            finally:
                cursor.close()
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()

    @contextmanager
    def _file_lock(self, monitor: str, purpose: str, deadline: float) -> Iterator[None]:
        """An exclusive `flock` on `<store file>.<monitor>.lock`, tried with backoff until the
        deadline (a blocking flock has no timeout)."""
        path = Path(f"{self.engine.url.database}.{monitor}.lock")
        with path.open("a") as handle:
            pause = 0.01
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise self._lock_timeout(
                            monitor,
                            purpose,
                            f"another process holds the lock file {path}. Another run of "
                            "this monitor (hourly, nightly, a backfill) may be writing: check "
                            f"the running lookout processes (fuser {path})",
                        ) from None
                    time.sleep(min(pause, left))
                    pause = min(pause * 2, 0.25)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _lock_timeout(self, monitor: str, purpose: str, detail: str) -> StoreError:
        return StoreError(
            f"results store {self.display_url}: could not take the {purpose} lock of "
            f"{monitor!r} within {seconds(self.monitor_lock_timeout)} "
            f"(store.monitor_lock_timeout): {detail}. Nothing was written"
        )

    def window_rows(self, monitor: str, starts: Iterable[datetime]) -> dict[datetime, int]:
        """Rows of the processed windows starting at `starts` (the seasonal baseline)."""
        w = schema.windows
        wanted = [_db_time(s) for s in starts]
        if not wanted:
            return {}
        query = sa.select(w.c.window_start, w.c.rows).where(
            w.c.monitor == monitor, w.c.window_start.in_(wanted)
        )
        with self.engine.connect() as conn:
            return {_utc(r.window_start): int(r.rows) for r in conn.execute(query)}  # type: ignore[misc]

    def cohort_traffic(
        self, monitor: str, since: datetime, until: datetime
    ) -> dict[str, dict[str, int]]:
        """Cohort column -> value label -> records in the stored windows of [since, until), all
        releases together: the history the cohort cap ranks values by. Pooled `(other)` rows
        are left out (they are not a value)."""
        m = schema.metrics
        query = (
            sa.select(m.c.cohort, sa.func.sum(m.c.n))
            .where(
                m.c.monitor == monitor,
                m.c.metric == "request_count",
                m.c.cohort != "*",
                m.c.window_start >= _db_time(since),
                m.c.window_start < _db_time(until),
            )
            .group_by(m.c.cohort)
        )
        out: dict[str, dict[str, int]] = {}
        with self.engine.connect() as conn:
            for cohort, rows in conn.execute(query):
                dimension, _, value = str(cohort).partition("=")
                if value != "(other)":
                    out.setdefault(dimension, {})[value] = int(rows or 0)
        return out

    def release_first_seen(self, monitor: str) -> dict[str, datetime]:
        """Release -> start of the first processed window it had records in."""
        m = schema.metrics
        query = (
            sa.select(m.c.release, sa.func.min(m.c.window_start))
            .where(m.c.monitor == monitor, m.c.cohort == "*", m.c.metric == "request_count")
            .group_by(m.c.release)
        )
        with self.engine.connect() as conn:
            return {row[0]: _utc(row[1]) for row in conn.execute(query)}  # type: ignore[misc]

    def validations(
        self, monitor: str, status: str | None = None, *, window_start: datetime | None = None
    ) -> list[dict[str, Any]]:
        v = schema.validations
        query = sa.select(v).where(v.c.monitor == monitor)
        if status is not None:
            query = query.where(v.c.status == status)
        if window_start is not None:
            query = query.where(v.c.window_start == _db_time(window_start))
        query = query.order_by(v.c.window_start, v.c.release, v.c.expectation)
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def quarantined(
        self, monitor: str, *, window_start: datetime | None = None
    ) -> list[dict[str, Any]]:
        q = schema.quarantine
        query = sa.select(q).where(q.c.monitor == monitor).order_by(q.c.window_start, q.c.record_id)
        if window_start is not None:
            query = query.where(q.c.window_start == _db_time(window_start))
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def _apply_transitions(self, conn: sa.Connection, transitions: Iterable[Transition]) -> None:
        a = schema.alerts
        for transition in transitions:
            row = _alert_to_row(transition.alert)
            conn.execute(sa.delete(a).where(a.c.fingerprint == row["fingerprint"]))
            conn.execute(sa.insert(a).values(**row))

    # -- outbox (see lookout.store.outbox) ------------------------------------------------

    @property
    def outbox_repo(self) -> Outbox:
        return Outbox(self.engine)

    def outbox(self, status: str | None = None, limit: int | None = None) -> list[OutboxRow]:
        return self.outbox_repo.rows(status, limit)

    def outbox_row(self, message_id: str) -> OutboxRow | None:
        return self.outbox_repo.row(message_id)

    def enqueue(self, messages: Iterable[OutboxMessage]) -> None:
        """Queue messages outside a window commit (the daily digest); same id: no-op."""
        self.outbox_repo.enqueue(messages)

    def _enqueue(
        self, conn: sa.Connection, messages: Iterable[OutboxMessage], now: datetime
    ) -> None:
        enqueue(conn, messages, now)


_THREAD_LOCKS: dict[tuple[str, str], threading.Lock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


def _thread_lock(store: str, monitor: str) -> threading.Lock:
    """The in-process part of `monitor_lock` (flock and advisory locks are per process or
    session, so threads of one process take turns here first)."""
    with _THREAD_LOCKS_GUARD:
        return _THREAD_LOCKS.setdefault((store, monitor), threading.Lock())


def _pooled(metric: str, points: list[tuple[float, int]]) -> float | None:
    pooled = pool(metric, points)
    return None if pooled is None else pooled[0]


def _headline(series: dict[tuple[str, str], list[tuple[float, int]]], release: str) -> dict:
    """Whole-period headline numbers of a release. Quantiles do not pool: the median of the
    windows' p99s is shown instead (and named so)."""
    p99 = sorted(v for v, _ in series.get((release, "latency_p99_ms"), []))
    return {
        "error_rate": _pooled("error_rate", series.get((release, "error_rate"), [])),
        "median_window_p99_ms": p99[len(p99) // 2] if p99 else None,
        "cost_per_trace_usd": _pooled(
            "cost_per_trace_usd", series.get((release, "cost_per_trace_usd"), [])
        ),
    }


def _alert_to_row(alert: AlertState) -> dict[str, Any]:
    row = asdict(alert)
    for key in (
        "first_window_start",
        "last_window_start",
        "opened_at",
        "updated_at",
        "resolved_at",
        "last_notified_window",
        "last_breach_window",
    ):
        row[key] = _db_time(row[key])
    return row


def _alert_from_row(row: Any) -> AlertState:
    data = dict(row)
    for key in (
        "first_window_start",
        "last_window_start",
        "opened_at",
        "updated_at",
        "resolved_at",
        "last_notified_window",
        "last_breach_window",
    ):
        data[key] = _utc(data[key])
    data["resolved_before"] = bool(data.get("resolved_before"))
    return AlertState(**data)


def _make_engine(url: str, settings: ConnectSettings, display_url: str) -> Engine:
    url, options = engine_arguments(url, settings)
    require_driver(url, "store")  # one line naming the pip extra, not an ImportError
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        # a writer waits `lock_timeout` for another (or `?timeout=` seconds from the URL)
        engine = sa.create_engine(url, **options)

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

    else:
        engine = sa.create_engine(url, pool_pre_ping=True, **options)
    explain_timeouts(
        engine, settings, lambda text: StoreError(f"results store {display_url}: {text}")
    )
    return engine


def _lock_key(name: str) -> int:
    """A signed 64-bit advisory lock key, stable across processes and machines."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def _classid(key: int) -> int:
    return (key & 0xFFFFFFFFFFFFFFFF) >> 32


def _advisory_holder(cursor: Any, key: int) -> str:
    """Who holds an advisory lock, for the error message (best effort)."""
    try:
        cursor.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid = %s AND objid = %s AND objsubid = 1",
            (_classid(key), key & 0xFFFFFFFF),
        )
        pids = [str(row[0]) for row in cursor.fetchall()]
        cursor.connection.rollback()
    except Exception:
        return "another session"
    return f"backend pid {', '.join(pids)}" if pids else "another session (now gone)"
