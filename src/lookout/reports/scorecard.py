"""The HTML scorecard of a comparison and the release timeline page of a monitor (jinja2,
autoescaped: release and cohort names are logged data)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from lookout.compare.releases import Comparison
from lookout.model.alerts import AlertState
from lookout.notify.builder import format_value
from lookout.reports.paths import REPORTS_DIR, slug
from lookout.reports.templating import ENV

__all__ = ["render_scorecard", "scorecard_path", "write_release_page", "write_scorecard"]

_SECTIONS = (
    ("Operations", lambda m: not m.startswith(("validation", "eval", "quarantine"))),
    ("Validation", lambda m: m.startswith("validation") or m == "quarantine_rate"),
    ("Evaluators", lambda m: m.startswith("eval")),
)


def _diff(metric: str, value: float) -> str:
    text = format_value(metric, abs(value))
    if metric.endswith("_rate") or metric.startswith(("eval.", "validation.")):
        text = f"{abs(value) * 100:.2f} pts"
    return ("+" if value > 0 else "-" if value < 0 else "±") + text


def render_scorecard(
    comparison: Comparison, *, max_sample: int = 5000, resamples: int = 400
) -> str:
    lines = comparison.lines
    sections = [(title, [line for line in lines if keep(line.metric)]) for title, keep in _SECTIONS]
    return ENV.get_template("scorecard.html.j2").render(
        c=comparison,
        sections=[(title, rows) for title, rows in sections if rows],
        worse=comparison.flagged("worse"),
        better=comparison.flagged("better"),
        changed=comparison.flagged("changed"),
        same=len(comparison.flagged("no significant change")),
        missing=len(comparison.flagged("not enough data")),
        tests=sum(1 for line in lines if line.diff is not None),
        fmt=format_value,
        fmt_diff=_diff,
        max_sample=max_sample,
        resamples=resamples,
    )


def scorecard_path(monitor: str, baseline: str, candidate: str) -> str:
    """reports/<monitor>/scorecards/<candidate>__vs__<baseline>.html (names made path-safe)."""
    name = f"{slug(candidate)}__vs__{slug(baseline)}.html"
    return f"{REPORTS_DIR}/{monitor}/scorecards/{name}"


def write_scorecard(out_dir: Path, comparison: Comparison, **options: Any) -> Path:
    target = out_dir / scorecard_path(comparison.monitor, comparison.baseline, comparison.candidate)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_scorecard(comparison, **options), encoding="utf-8")
    return target


def write_release_page(
    out_dir: Path,
    monitor: str,
    summary: list[dict[str, Any]],
    alerts: list[AlertState],
    now: datetime | None = None,
    stale_after: timedelta = timedelta(hours=24),
) -> Path:
    """reports/<monitor>/releases.html: one row per release with its headline numbers. A
    release not seen for `stale_after` before the monitor's newest window is marked retired
    (data time, so a catch-up or a backfill reads the same as a live run)."""
    total = sum(r["records"] or 0 for r in summary) or 1
    newest = max((r["last_window"] for r in summary if r["last_window"]), default=None)
    rows = []
    for r in summary:
        rows.append(
            {
                **r,
                "retired": newest is not None and newest - r["last_window"] >= stale_after,
                "share": (r["records"] or 0) / total,
                "alerts": [a for a in alerts if a.release == r["release"] and a.state == "firing"],
            }
        )
    target = out_dir / REPORTS_DIR / monitor / "releases.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    generated = f"{(now or datetime.now(UTC)):%Y-%m-%d %H:%M} UTC"
    target.write_text(
        ENV.get_template("releases.html.j2").render(
            monitor=monitor, releases=rows, generated=generated, stale_after=_span(stale_after)
        ),
        encoding="utf-8",
    )
    return target


def _span(value: timedelta) -> str:
    hours = int(value.total_seconds() // 3600)
    return f"{hours // 24}d" if hours % 24 == 0 and hours else f"{hours}h"
