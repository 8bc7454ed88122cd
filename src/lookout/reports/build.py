"""`lookout reports build`: (re)write a day's drift reports from the stored drift results.

The hourly run writes a report the first time a release or cohort drifts on a day (so an alert's
link works when it is sent), from the rows seen so far. Rebuilding after the day is over gives
the report the whole day. Only (release, cohort) pairs whose stored results drifted that day get a
report; each is compared with the reference its drift rows were computed against.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from lookout.checks.drift.reference import resolve_reference
from lookout.config.models import Monitor
from lookout.reports.drift_reports import ensure_report
from lookout.sources.warehouse import Warehouse
from lookout.store.results import ResultsStore
from lookout.windows import Window

__all__ = ["BuildOutcome", "build_day_reports"]

log = logging.getLogger("lookout.reports")


@dataclass
class BuildOutcome:
    written: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # "release cohort: reason"


def build_day_reports(
    warehouse: Warehouse, store: ResultsStore, monitor: Monitor, out_dir: Path, day: date
) -> BuildOutcome:
    """Rewrite the reports of every drifted release x cohort of `day` with the day's rows."""
    start = datetime.combine(day, time(0), tzinfo=UTC)
    whole_day = Window(start, start + timedelta(days=1))
    rows = [r for r in store.drift(monitor.name, since=start) if r["window_start"] < whole_day.end]
    wanted = sorted({(r["release"], r["cohort"]) for r in rows if r["drifted"]})
    values = {label: tuple(v) for label, v, _ in warehouse.release_values(monitor, whole_day)}
    first_seen = store.release_first_seen(monitor.name)
    outcome = BuildOutcome()
    for release, cohort in wanted:
        try:
            if release not in values:
                raise ValueError("no rows of the release that day")
            reference = resolve_reference(
                monitor,
                whole_day,
                release,
                first_seen,
                lambda period: warehouse.release_values(monitor, period),
            )
            if reference is None:
                raise ValueError("no reference")
            outcome.written.append(
                ensure_report(
                    warehouse,
                    monitor,
                    out_dir,
                    whole_day,
                    release,
                    values[release],
                    cohort,
                    reference,
                    rebuild=True,
                )
            )
        except Exception as exc:  # one report must not stop the others
            log.warning("report of %s %s on %s failed: %s", release, cohort, day, exc)
            outcome.failed.append(f"{release} {cohort}: {type(exc).__name__}: {exc}")
    return outcome
