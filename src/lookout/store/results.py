"""The results store: the facade the rest of Lookout uses (`ResultsStore`).

Each aggregate's SQL lives in its own repository module (`window_rows`, `metric_rows`,
`summary_rows`, `validation_rows`, `drift_rows`, `judgment_rows`, `alert_rows`, `outbox`),
connections, migrations and the monitor lock in `engine`, and the one transaction per window
(`commit_window`: a window's results replaced as a whole, with the watermark) in
`window_commit`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from lookout.connections import MONITOR_LOCK_TIMEOUT, STORE_DEFAULTS, ConnectSettings
from lookout.core.summary import Summary
from lookout.model.aggregates import MetricValue
from lookout.model.alerts import AlertState, Silence
from lookout.model.judgments import Judgment
from lookout.store import (
    alert_rows,
    metric_rows,
    summary_rows,
    validation_rows,
    window_commit,
    window_rows,
)
from lookout.store.drift_rows import load_profile, read_drift, save_profile
from lookout.store.engine import MonitorLocks, make_engine, migrate
from lookout.store.history import AlertHistory
from lookout.store.judgment_rows import cached_judgments, read_judgments, save_judgments
from lookout.store.outbox import Outbox, OutboxMessage, OutboxRow
from lookout.store.summary_cache import DecodedSummaries
from lookout.store.times import db_time, utc
from lookout.store.window_commit import WindowCommit
from lookout.urls import display_url
from lookout.windows import Window

if TYPE_CHECKING:
    from lookout.config.models import StoreTarget

__all__ = ["OutboxMessage", "OutboxRow", "ResultsStore", "WindowCommit"]

_db_time = db_time
_utc = utc


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
        self.display_url = display_url(url)
        self.settings = settings
        self.monitor_lock_timeout = monitor_lock_timeout
        self.engine: Engine = make_engine(url, settings, self.display_url)
        self._locks = MonitorLocks(self.engine, self.display_url, monitor_lock_timeout)
        self.decoded = DecodedSummaries()  # summary parts between windows (summary_cache.py)
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
        cached: bool = True,
    ) -> dict[tuple[str, str], list[tuple[datetime, Summary]]]:
        """(release, cohort) -> [(window start, summary)] in [since, until), oldest first; a
        row that cannot be read fails with a StoreError naming it. `cached`: keep the decoded
        parts for the next windows (the rolling lookbacks of every run); the summaries may
        then be shared, so merge them into your own and never change them. A one-off read of
        a long period passes False so it does not push the day's parts out."""
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
                cache=self.decoded if cached else None,
            )

    def summary_versions(
        self,
        monitor: str,
        since: datetime,
        until: datetime,
        *,
        stages: Iterable[str],
        cohorts: Iterable[str] | None = None,
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
        return window_commit.commit_window(self.engine, self.display_url, commit)

    def enqueue_failure(
        self, monitor: str, window: Window, since: datetime, messages: Sequence[OutboxMessage]
    ) -> window_commit.FailureNotice:
        """Queue a failed window's notice unless the window was stored since `since` or the
        same error was notified within a day (see `window_commit.enqueue_failure`)."""
        return window_commit.enqueue_failure(self.engine, monitor, window, since, messages)

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
        window_commit.record_failure(
            self.engine, run_id, monitor, window, started_at, error, flow_run_id
        )
