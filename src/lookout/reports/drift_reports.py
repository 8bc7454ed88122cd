"""Build the Evidently report of a release x cohort x day, once, and keep the index current."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, time
from pathlib import Path
from typing import Any

from lookout.checks.drift.columns import drift_columns
from lookout.checks.drift.reference import Reference
from lookout.config.models import Monitor
from lookout.reports.evidently_report import sample_frame, write_drift_report
from lookout.reports.paths import report_path
from lookout.sources.warehouse import Warehouse
from lookout.windows import Window

__all__ = ["ensure_report"]

log = logging.getLogger("lookout.reports")


def ensure_report(
    warehouse: Warehouse,
    monitor: Monitor,
    out_dir: Path,
    window: Window,
    release: str,
    release_values: Sequence[Any],
    cohort: str,
    reference: Reference,
    *,
    rebuild: bool = False,
) -> str:
    """The report's relative path; built from the day's rows up to the window end if missing.

    The first drifted window of a day writes it, so an alert's link works when it is sent;
    `rebuild` (nightly, `lookout reports build`) refreshes it with the whole day.
    """
    day = window.start.date()
    relative = report_path(monitor.name, day, release, cohort)
    target = out_dir / relative
    if target.exists() and not rebuild:
        return relative
    columns = drift_columns(monitor)
    day_start = datetime.combine(day, time(0), tzinfo=window.start.tzinfo)
    current_period = Window(day_start, window.end)
    limit = monitor.drift.reports.sample_rows
    current = sample_frame(
        warehouse, monitor, columns, current_period, release_values, cohort, limit
    )
    ref = sample_frame(
        warehouse, monitor, columns, reference.period, reference.release_values, cohort, limit
    )
    if current.empty or ref.empty:
        raise ValueError(f"no rows to report for {release} {cohort} on {day}")
    whole = "whole release" if cohort == "*" else cohort
    facts = (
        ("Monitor", monitor.name),
        ("Release", release),
        ("Cohort", whole),
        ("Current", f"{current_period.label}: {len(current):,} rows (sampled, at most {limit:,})"),
        ("Reference", f"{reference.description}: {len(ref):,} rows"),
    )
    title = f"Drift of {release} ({whole}) on {day.isoformat()}: {monitor.name}"
    write_drift_report(target, ref, current, columns, title=title, facts=facts)
    log.info("drift report %s (%d current, %d reference rows)", relative, len(current), len(ref))
    return relative
