"""Build the Evidently report of a release x cohort x day, once, on the period of a verdict.

A report shows the rows of the period a window's verdicts pooled (`drift.period` ending with
that window) against the same reference, one column per feature group configured as Lookout
judged it, so the report and the verdicts the index lists agree. Next to the page a small JSON
file names the window whose verdicts it shows (the index lists that window's verdicts), the
features it shows drifted and its builds that day.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from lookout.config.models import Monitor
from lookout.reports.evidently_report import sample_frame, write_drift_report
from lookout.reports.paths import report_path
from lookout.sources.drift_columns import drift_columns
from lookout.sources.warehouse import Warehouse
from lookout.stages.drift.outcome import cohort_words, decided_by, group_view
from lookout.stages.drift.reference import Reference
from lookout.windows import Window

__all__ = ["DAY_BUILDS", "ensure_report", "period_text", "read_sidecar", "sidecar", "sidecar_path"]

log = logging.getLogger("lookout.reports")


def period_text(period: Window) -> str:
    """`2026-11-03 01:00 to 2026-11-04 01:00 UTC`."""
    return f"{period.start:%Y-%m-%d %H:%M} to {period.end:%Y-%m-%d %H:%M} UTC"


def sidecar_path(report: Path) -> Path:
    return report.with_suffix(".json")


def sidecar(report: Path) -> dict[str, Any] | None:
    """What the JSON file beside a report says (None: missing or unreadable): the window whose
    verdicts it shows, its period and reference, the methods it was configured with, and what
    Evidently said (`evidently.columns`: column -> drifted, `evidently.dataset_drift`)."""
    try:
        data = json.loads(sidecar_path(report).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_sidecar(report: Path) -> datetime | None:
    """The start of the window whose verdicts a report shows (None: unknown)."""
    data = sidecar(report)
    try:
        return None if data is None else datetime.fromisoformat(data["window_start"])
    except (ValueError, KeyError, TypeError):
        return None


# Builds of one page a day by the runs: a drift that moves between features hour to hour
# must not cost an Evidently report (~1 s) every hour; the nightly rebuild has the last word.
DAY_BUILDS = 4


def _built(report: Path) -> tuple[set[str], int] | None:
    """(the features the day's page shows drifted, its builds so far), None without a page;
    a page whose JSON file predates them shows none, so the next drift writes it once more."""
    if not report.exists():
        return None
    said = sidecar(report) or {}
    listed, builds = said.get("drifted", []), said.get("builds", 1)
    shown = {str(name) for name in listed} if isinstance(listed, list) else set()
    return shown, builds if isinstance(builds, int) else 1


def _verdict_text(groups: Sequence[Mapping[str, Any]]) -> str:
    parts = []
    for g in groups:
        top = g["top"]
        moved = f": {top['shift']}" if top.get("shift") else ""
        if g["drifted"]:
            parts.append(f"{g['group']} ({top['column_name']}) drifted{moved}")
        elif g["explained_by"]:
            parts.append(
                f"{g['group']} ({top['column_name']}) drifted, explained by {g['explained_by']}"
            )
    return "; ".join(parts) or "no feature drifted"


def _rows(frame: Any) -> str:
    total = int(frame.attrs.get("rows", len(frame)))
    if total <= len(frame):
        return f"{len(frame):,} rows"
    return f"{len(frame):,} of {total:,} rows (a uniform sample)"


def ensure_report(
    warehouse: Warehouse,
    monitor: Monitor,
    out_dir: Path,
    window: Window,
    release: str,
    release_values: Sequence[Any],
    cohort: str,
    reference: Reference,
    rows: Sequence[Mapping[str, Any]],
    period: Window,
    *,
    rebuild: bool = False,
) -> str:
    """The report's relative path; built if missing (`rebuild`: always) from `period`'s rows
    against `reference`, configured by `rows` (the window's verdict rows of this release x
    cohort, as `ResultsStore.drift` returns them).

    The first drifted window of a day writes it, so an alert's link works when it is sent; a
    later window whose verdicts call a feature drifted that the page does not show drifted
    writes it again (another feature drifting later that day, or a backfill's windows in turn:
    the link must show the drift it is sent for), up to `DAY_BUILDS` builds a day; `rebuild`
    (nightly, `lookout reports build`) refreshes it with the day's last window.
    """
    day = window.start.date()
    relative = report_path(monitor.name, day, release, cohort)
    target = out_dir / relative
    drifted = {str(r["column_name"]) for r in rows if r.get("drifted")}
    built = _built(target)
    if built is not None and not rebuild and (drifted <= built[0] or built[1] >= DAY_BUILDS):
        return relative
    groups = group_view(rows)
    shown = {g["top"]["column_name"] for g in groups}
    columns = [c for c in drift_columns(monitor) if c.name in shown]
    by_name = {r["column_name"]: r for r in rows}
    methods = {name: decided_by(by_name[name]) for name in shown}
    limit = monitor.drift.reports.sample_rows
    current = sample_frame(warehouse, monitor, columns, period, release_values, cohort, limit)
    ref = sample_frame(
        warehouse, monitor, columns, reference.period, reference.release_values, cohort, limit
    )
    if current.empty or ref.empty:
        raise ValueError(f"no rows to report for {release} {cohort} over {period.label}")
    whole = cohort_words(cohort)
    when = period_text(period)
    share = monitor.drift.dataset_drift_share
    facts = (
        ("Monitor", monitor.name),
        ("Release", release),
        ("Cohort", whole),
        ("Period", f"{when}: {_rows(current)}"),
        ("Reference", f"{reference.description}: {_rows(ref)}"),
        ("Lookout's verdict", _verdict_text(groups)),
        (
            "Columns",
            "one per feature group (the member that drifted most), each with the test and "
            f"threshold that settled Lookout's verdict; dataset drift at a share of {share:g}",
        ),
    )
    title = f"{monitor.name}: drift of {release}, {whole}, {when}, against {reference.description}"
    said = write_drift_report(
        target,
        ref,
        current,
        columns,
        title=title,
        facts=facts,
        methods=methods,
        drift_share=share,
    )
    sidecar_path(target).write_text(
        json.dumps(
            {
                "window_start": window.start.isoformat(),
                # what this build shows drifted, and how many builds the day's page had
                "drifted": sorted(drifted),
                "builds": (built[1] if built is not None else 0) + 1,
                "period": [period.start.isoformat(), period.end.isoformat()],
                "reference": reference.description,
                "rows": [len(current), len(ref)],
                "methods": {name: list(methods[name]) for name in sorted(shown)},
                "evidently": {"columns": said.columns, "dataset_drift": said.dataset_drift},
            }
        ),
        encoding="utf-8",
    )
    log.info("drift report %s (%d current, %d reference rows)", relative, len(current), len(ref))
    return relative
