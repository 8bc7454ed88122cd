"""The results store: one transaction per window, replacing that window's results as a whole.

`commit_window` deletes and re-inserts the window's metrics, records the run, applies alert
transitions, queues messages in the outbox and moves the watermark, all in one transaction. A
re-run never doubles anything; a crash before the commit changes nothing.

`ResultsStore` is the facade the rest of Lookout uses; each aggregate's SQL lives in its own
repository module (`window_rows`, `metric_rows`, `summary_rows`, `validation_rows`,
`drift_rows`, `judgment_rows`, `alert_rows`, `outbox`), and connections, migrations and the
monitor lock in `engine`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from lookout.connections import MONITOR_LOCK_TIMEOUT, STORE_DEFAULTS, ConnectSettings
from lookout.core.summary import Summary
from lookout.errors import StoreError, database_error
from lookout.model.aggregates import MetricValue
from lookout.model.alerts import AlertState, Silence, Transition
from lookout.model.expectations import ExpectationOutcome
from lookout.model.judgments import Judgment
from lookout.store import (
    alert_rows,
    metric_rows,
    schema,
    summary_rows,
    validation_rows,
    window_rows,
)
from lookout.store.drift_rows import DriftRow, load_profile, read_drift, replace_drift, save_profile
from lookout.store.engine import MonitorLocks, lock_key, make_engine, migrate
from lookout.store.history import AlertHistory, record_transitions
from lookout.store.judgment_rows import cached_judgments, read_judgments, save_judgments
from lookout.store.outbox import Outbox, OutboxMessage, OutboxRow, enqueue
from lookout.store.times import db_time, utc
from lookout.windows import Window

if TYPE_CHECKING:
    from lookout.config.models import StoreTarget

__all__ = ["OutboxMessage", "OutboxRow", "ResultsStore", "WindowCommit"]

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
        self.engine: Engine = make_engine(url, settings, self.display_url)
        self._locks = MonitorLocks(self.engine, self.display_url, monitor_lock_timeout)
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
        migrate(self.engine, self.display_url)

    @contextmanager
    def monitor_lock(self, monitor: str, purpose: str = "alert state") -> Iterator[None]:
        """One writer of a monitor's alert state at a time (see `engine.MonitorLocks`)."""
        with self._locks.monitor_lock(monitor, purpose):
            yield

    # -- windows, runs, watermark -----------------------------------------------------------

    def watermark(self, monitor: str) -> datetime | None:
        with self.engine.connect() as conn:
            return window_rows.read_watermark(conn, monitor)

    def processed_windows(self, monitor: str, since: datetime) -> dict[Window, datetime | None]:
        """Windows with results from `since` on, with the newest `ingested_at` each one saw."""
        with self.engine.connect() as conn:
            return window_rows.processed_windows(conn, monitor, since)

    def runs(self, monitor: str | None = None) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return window_rows.read_runs(conn, monitor)

    def window_rows(self, monitor: str, starts: Iterable[datetime]) -> dict[datetime, int]:
        """Rows of the processed windows starting at `starts` (the seasonal baseline)."""
        with self.engine.connect() as conn:
            return window_rows.window_rows(conn, monitor, starts)

    # -- metrics and summaries --------------------------------------------------------------

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
        with self.engine.connect() as conn:
            return metric_rows.read_metrics(
                conn,
                monitor,
                release=release,
                metric=metric,
                cohort=cohort,
                names=names,
                since=since,
                until=until,
            )

    def release_summary(self, monitor: str) -> list[dict[str, Any]]:
        """Per release: windows, records, period, and pooled headline metrics (whole release)."""
        with self.engine.connect() as conn:
            return metric_rows.release_summary(conn, monitor)

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
        with self.engine.connect() as conn:
            return metric_rows.metric_points(conn, monitor, metric, start, end, release=release)

    def window_metrics(
        self, monitor: str, window: Window, families: Callable[[str], bool]
    ) -> list[MetricValue]:
        """The stored metrics of one window whose names `families` accepts (kept stages)."""
        with self.engine.connect() as conn:
            return metric_rows.window_metrics(conn, monitor, window, families)

    def cohort_traffic(
        self, monitor: str, since: datetime, until: datetime
    ) -> dict[str, dict[str, int]]:
        """Cohort column -> value label -> records in [since, until) (the cohort cap's history)."""
        with self.engine.connect() as conn:
            return metric_rows.cohort_traffic(conn, monitor, since, until)

    def release_first_seen(self, monitor: str) -> dict[str, datetime]:
        """Release -> start of the first processed window it had records in."""
        with self.engine.connect() as conn:
            return metric_rows.release_first_seen(conn, monitor)

    def summaries(
        self,
        monitor: str,
        since: datetime,
        until: datetime,
        *,
        releases: Iterable[str] | None = None,
        stages: Iterable[str] | None = None,
        cohorts: Iterable[str] | None = None,
    ) -> dict[tuple[str, str], list[tuple[datetime, Summary]]]:
        """(release, cohort) -> [(window start, summary)] in [since, until), oldest first; a
        row that cannot be read fails with a StoreError naming it."""
        with self.engine.connect() as conn:
            return summary_rows.read_summaries(
                conn,
                self.display_url,
                monitor,
                since,
                until,
                releases=releases,
                stages=stages,
                cohorts=cohorts,
            )

    def summary_versions(
        self,
        monitor: str,
        since: datetime,
        until: datetime,
        *,
        stages: Iterable[str],
        cohorts: Iterable[str],
    ) -> frozenset[tuple[datetime, str]]:
        """What identifies the stored summaries of [since, until) (see `summary_versions`)."""
        with self.engine.connect() as conn:
            return summary_rows.summary_versions(
                conn, monitor, since, until, stages=stages, cohorts=cohorts
            )

    def summary_gaps(
        self, monitor: str, stage: str, since: datetime, until: datetime, size: timedelta
    ) -> list[datetime]:
        """Window starts of [since, until) whose stored summaries of `stage` cannot stand."""
        with self.engine.connect() as conn:
            return summary_rows.summary_gaps(conn, monitor, stage, since, until, size)

    # -- validation -------------------------------------------------------------------------

    def validations(
        self, monitor: str, status: str | None = None, *, window_start: datetime | None = None
    ) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return validation_rows.read_validations(
                conn, monitor, status, window_start=window_start
            )

    def quarantined(
        self, monitor: str, *, window_start: datetime | None = None
    ) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return validation_rows.read_quarantined(conn, monitor, window_start=window_start)

    def quarantined_ids(self, monitor: str, window: Window) -> set[str]:
        """Record ids a window's stored validation quarantined."""
        with self.engine.connect() as conn:
            return validation_rows.quarantined_ids(conn, monitor, window)

    # -- drift and judgments ----------------------------------------------------------------

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

    # -- alerts and silences ----------------------------------------------------------------

    def alerts(self, monitor: str | None = None, state: str | None = None) -> list[AlertState]:
        with self.engine.connect() as conn:
            return alert_rows.read_alerts(conn, monitor, state)

    def silences(self, active_at: datetime | None = None) -> list[Silence]:
        """Every silence (or only those active at `active_at`), newest first."""
        with self.engine.connect() as conn:
            return alert_rows.read_silences(conn, active_at)

    def add_silence(self, silence: Silence) -> None:
        with self.engine.begin() as conn:
            alert_rows.add_silence(conn, silence)

    def expire_silence(self, silence_id: str, now: datetime) -> bool:
        """End a silence now; False when there is no such silence."""
        with self.engine.begin() as conn:
            return alert_rows.expire_silence(conn, silence_id, now)

    @property
    def history(self) -> AlertHistory:
        """Every alert transition, as episodes (see `lookout.store.history`)."""
        return AlertHistory(self.engine)

    # -- outbox (see lookout.store.outbox) --------------------------------------------------

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

    # -- the window's one transaction -------------------------------------------------------

    def commit_window(self, commit: WindowCommit) -> datetime:
        """Replace the window's results and move the watermark; returns the new frontier."""
        window = commit.window
        start, end = _db_time(window.start), _db_time(window.end)
        try:
            with self.engine.begin() as conn:
                _window_guard(conn, commit.monitor, window)
                frontier = window_rows.locked_frontier(
                    conn, commit.monitor, commit.initial_frontier
                )
                _write_window(conn, commit, start, end)  # type: ignore[arg-type]
                new_frontier = window_rows.advance(conn, commit.monitor, frontier, commit.run_id)
        except StoreError as exc:  # a timeout, explained by the engine
            detail = str(exc).removeprefix(f"results store {self.display_url}: ")
            raise StoreError(
                f"results store {self.display_url}: commit of {commit.monitor} {window.label} "
                f"failed: {detail}. Nothing was written and the watermark did not move; the "
                "next run retries the window"
            ) from None
        except sa.exc.SQLAlchemyError as exc:
            raise database_error(
                exc,
                f"results store {self.display_url}: commit of {commit.monitor} "
                f"{window.label} failed",
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
            _window_guard(conn, monitor, window)
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
            enqueue(conn, messages, now)
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


def _write_window(
    conn: sa.Connection, commit: WindowCommit, start: datetime, end: datetime
) -> None:
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


def _window_guard(conn: sa.Connection, monitor: str, window: Window) -> None:
    """PostgreSQL: one transaction at a time about this window's results and failure notice
    (a transaction-level advisory lock). SQLite serializes writers by itself."""
    if conn.dialect.name == "postgresql":
        key = lock_key(f"lookout:{monitor}:window:{window.start.isoformat()}")
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
