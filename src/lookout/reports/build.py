"""`lookout reports build`: (re)write a day's drift reports from the stored drift results.

The hourly run writes a report the first time a release or cohort drifts on a day (so an alert's
link works when it is sent), on the period that window's verdicts pooled. Rebuilding after the
day is over gives each report the period of the day's last window of that release and cohort
(with the default 24-hour period and hourly windows: the whole day), configured by that window's
verdicts, which the index then lists. Only (release, cohort) pairs whose stored results drifted
that day (not explained by a cohort) get a report; each is compared with the reference its
verdicts were computed against.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from lookout.config.models import Monitor
from lookout.reports.drift_reports import ensure_report
from lookout.sources.warehouse import Warehouse
from lookout.stages.drift.reference import resolve_reference
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
    """Rewrite the reports of every drifted release x cohort of `day` on the period of its
    last window of the day."""
    start = datetime.combine(day, time(0), tzinfo=UTC)
    whole_day = Window(start, start + timedelta(days=1))
    rows = [r for r in store.drift(monitor.name, since=start) if r["window_start"] < whole_day.end]
    wanted = sorted(
        {(r["release"], r["cohort"]) for r in rows if r["drifted"] and not r.get("explained_by")}
    )
    wanted += sorted({(release, "*") for release, _ in wanted} - set(wanted))
    values = {label: tuple(v) for label, v, _ in warehouse.release_values(monitor, whole_day)}
    first_seen = store.release_first_seen(monitor.name)
    outcome = BuildOutcome()
    for release, cohort in sorted(wanted):
        try:
            mine = [r for r in rows if (r["release"], r["cohort"]) == (release, cohort)]
            if release not in values or not mine:
                raise ValueError("no rows of the release that day")
            last = max(r["window_start"] for r in mine)
            verdicts = [r for r in mine if r["window_start"] == last]
            window = Window(last, verdicts[0]["window_end"])
            period = Window(verdicts[0]["period_start"] or window.start, window.end)
            reference = resolve_reference(
                monitor,
                period,
                release,
                first_seen,
                lambda span: warehouse.release_values(monitor, span),
            )
            if reference is None:
                raise ValueError("no reference")
            outcome.written.append(
                ensure_report(
                    warehouse,
                    monitor,
                    out_dir,
                    window,
                    release,
                    values[release],
                    cohort,
                    reference,
                    verdicts,
                    period,
                    rebuild=True,
                )
            )
        except Exception as exc:  # one report must not stop the others
            log.warning("report of %s %s on %s failed: %s", release, cohort, day, exc)
            outcome.failed.append(f"{release} {cohort}: {type(exc).__name__}: {exc}")
    return outcome
