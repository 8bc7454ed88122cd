"""Keep the reports folder current: each monitor's index, the root index, retention."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from lookout.config.models import Monitor
from lookout.reports.index import write_index, write_root_index
from lookout.reports.retention import clean_reports
from lookout.reports.scorecard import write_release_page
from lookout.store.results import ResultsStore

__all__ = ["refresh_site"]


def refresh_site(
    store: ResultsStore,
    out_dir: Path,
    monitors: list[Monitor],
    now: datetime,
    stale_after: timedelta = timedelta(hours=24),
    *,
    clean: bool = True,
) -> list[Path]:
    """Delete reports and window pages past retention (`drift.reports.retention`, unless not
    `clean`), then rewrite the release pages and the index pages (they mark expired links)."""
    written = []
    for monitor in monitors:
        written.append(
            write_release_page(
                out_dir,
                monitor.name,
                store.release_summary(monitor.name),
                store.alerts(monitor.name),
                now,
                stale_after,
            )
        )
        # drift reports and the window pages alerts link (validation, judges) alike
        if clean:
            clean_reports(out_dir, monitor.name, now, monitor.drift.reports.retention)
        if not monitor.drift.enabled:
            continue
        written.append(
            write_index(
                out_dir,
                monitor.name,
                store.drift(monitor.name),
                monitor.drift.dataset_drift_share,
            )
        )
    if written:
        written.append(write_root_index(out_dir))
    return written
