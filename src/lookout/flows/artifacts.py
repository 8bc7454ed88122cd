"""What a flow run leaves on its Prefect run page: a markdown summary, a table of metrics per
release, links to the HTML reports, and (for backfills) a progress bar.

Keys are stable (`lookout-hourly-summary`, `lookout-<monitor>-metrics`, ...), so each artifact
versions across runs in the UI. Text that comes from logged data (release and cohort names) is
escaped for markdown; building the content is pure, publishing is the only I/O.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from lookout.model.alerts import AlertState
from lookout.model.families.pooling import pool
from lookout.pipeline import Context, RunResult
from lookout.reports.paths import report_url

__all__ = [
    "artifact_key",
    "judge_rows",
    "md",
    "metric_rows",
    "publish_run_artifacts",
    "summary_markdown",
]

log = logging.getLogger("lookout.flows")

HEADLINE = (
    "request_count",
    "error_rate",
    "latency_p95_ms",
    "ttft_p95_ms",
    "cost_per_trace_usd",
    "fallback_rate",
)
MAX_TABLE_ROWS = 500
MAX_REPORT_LINKS = 20
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~])")


def md(text: object) -> str:
    """Logged text as literal markdown: no links, no HTML, no table breaks."""
    return _MD_SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ")


def artifact_key(*parts: str) -> str:
    """Prefect keys are lowercase letters, digits and dashes."""
    raw = "-".join(("lookout", *parts)).lower()
    return re.sub(r"[^a-z0-9]+", "-", raw).strip("-")[:200]


def summary_markdown(
    title: str,
    as_of: datetime,
    results: Sequence[RunResult],
    failures: Sequence[str],
    alerts: Mapping[str, AlertState],
    delivery: Mapping[str, int] | None = None,
    extra: Sequence[str] = (),
) -> str:
    """The run in a few lines: windows, rows, checks, alerts with owners, failures."""
    lines = [f"# {md(title)}", "", f"As of **{as_of:%Y-%m-%d %H:%M} UTC**.", ""]
    by_monitor: dict[str, list[RunResult]] = {}
    for result in results:
        by_monitor.setdefault(result.monitor, []).append(result)
    lines += [
        "| monitor | windows | rows | quarantined | failed checks | checks errored | drifted "
        "| judged | alerts opened | alerts resolved |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for monitor, items in sorted(by_monitor.items()):
        lines.append(
            f"| {md(monitor)} | {len(items)} | {sum(r.rows for r in items):,} "
            f"| {sum(r.quarantined for r in items):,} "
            f"| {sum(r.failed_expectations for r in items):,} "
            f"| {sum(r.errored_expectations for r in items):,} "
            f"| {sum(len(r.drifted) for r in items):,} | {sum(r.judged for r in items):,} "
            f"| {sum(len(r.alerts_opened) for r in items)} "
            f"| {sum(len(r.alerts_resolved) for r in items)} |"
        )
    if not results:
        lines.append("| (no window to run) | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 |")
    errored = [r for r in results if r.errored_expectations]
    if errored:
        # a check that raised is counted as failed above; say so, it is not a data problem
        lines += ["", "## Checks that errored", ""]
        lines += [
            f"- {md(r.monitor)} {md(r.window.label)}: {r.errored_expectations} expectation(s) "
            "could not run (status error, counted as failed; see the stored validations)"
            for r in errored[:50]
        ]
    changed = [
        (event, alerts[fp])
        for r in results
        for event, fps in (("opened", r.alerts_opened), ("resolved", r.alerts_resolved))
        for fp in fps
        if fp in alerts
    ]
    if changed:
        lines += ["", "## Alerts", ""]
        for event, a in changed:
            cohort = "all traffic" if a.cohort == "*" else a.cohort
            lines.append(
                f"- **{event}** [{a.severity}] {md(a.rule)} on {md(a.monitor)}: "
                f"release {md(a.release)}, {md(cohort)}; owner **{md(a.owner)}**"
            )
    if failures:
        lines += ["", f"## Failed windows ({len(failures)})", ""]
        lines += [f"- {md(f)}" for f in failures[:50]]
    if delivery is not None:
        lines += [
            "",
            f"Slack: {delivery.get('sent', 0)} sent, {delivery.get('failed', 0)} failed "
            "(failed messages stay in the outbox for the next run).",
        ]
    lines += ["", *extra] if extra else []
    return "\n".join(lines) + "\n"


def metric_rows(
    metrics: Iterable[Mapping[str, Any]], windows: set[datetime]
) -> list[dict[str, Any]]:
    """One row per window x release (whole release): the headline metrics, rounded."""
    rows: dict[tuple[datetime, str], dict[str, Any]] = {}
    for m in metrics:
        if m["cohort"] != "*" or m["metric"] not in HEADLINE or m["window_start"] not in windows:
            continue
        key = (m["window_start"], m["release"])
        row = rows.setdefault(
            key, {"window": f"{m['window_start']:%Y-%m-%d %H:%M}", "release": m["release"]}
        )
        row[m["metric"]] = round(float(m["value"]), 6)
    ordered = [rows[k] for k in sorted(rows)]
    return ordered[:MAX_TABLE_ROWS]


def judge_rows(metrics: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per release x evaluator: the pass rate over a period, pooled by n (whole release)."""
    series: dict[tuple[str, str], list[tuple[float, int]]] = {}
    for m in metrics:
        if m["cohort"] == "*" and m["metric"].startswith("eval."):
            name = m["metric"].removeprefix("eval.")
            series.setdefault((m["release"], name), []).append((float(m["value"]), int(m["n"])))
    rows = []
    for (release, name), points in sorted(series.items()):
        pooled = pool(f"eval.{name}", points)
        if pooled is not None:
            rows.append(
                {
                    "release": release,
                    "evaluator": name,
                    "pass_rate": round(pooled[0], 4),
                    "n": pooled[1],
                    "windows": len(points),
                }
            )
    return rows


def _report_links(ctx: Context, results: Sequence[RunResult]) -> list[tuple[str, str, str]]:
    """(key, url, text) of each report a run wrote or linked, newest day wins per key."""
    base = ctx.config.target.report_base_url
    links: dict[str, tuple[str, str, str]] = {}
    for result in results:
        for relative in result.reports:
            parts = relative.split("/")  # reports/<monitor>/<day>/<release>/<cohort>.html
            stable = "/".join(parts[1:2] + parts[3:])
            digest = hashlib.sha256(stable.encode()).hexdigest()[:12]
            url = (
                report_url(relative, ctx.out_dir, base)
                or Path(ctx.out_dir / relative).resolve().as_uri()
            )
            text = " / ".join(parts[1:]).removesuffix(".html")
            links[artifact_key(result.monitor, "report", digest)] = (
                artifact_key(result.monitor, "report", digest),
                url,
                text,
            )
    return list(links.values())[:MAX_REPORT_LINKS]


def publish_run_artifacts(
    ctx: Context,
    flow: str,
    as_of: datetime,
    results: Sequence[RunResult],
    failures: Sequence[str],
    delivery: Mapping[str, int] | None = None,
    extra: Sequence[str] = (),
) -> None:
    """Summary, metrics tables and report links on the current flow run (never fails it)."""
    from prefect.artifacts import (
        create_link_artifact,
        create_markdown_artifact,
        create_table_artifact,
    )

    try:
        alerts = {a.fingerprint: a for a in ctx.store.alerts()}
        create_markdown_artifact(
            summary_markdown(
                f"Lookout {flow} run", as_of, results, failures, alerts, delivery, extra
            ),
            key=artifact_key(flow, "summary"),
            description=f"Lookout {flow}: windows, rows, checks and alerts",
        )
        for monitor in sorted({r.monitor for r in results}):
            windows = {r.window.start for r in results if r.monitor == monitor}
            stored = [
                {**m, "window_start": _aware(m["window_start"])}
                for m in ctx.store.metrics(
                    monitor,
                    cohort="*",
                    names=HEADLINE,
                    since=min(windows),
                    until=max(windows) + timedelta(seconds=1),
                )
            ]
            rows = metric_rows(stored, windows)
            if rows:
                create_table_artifact(
                    rows,
                    key=artifact_key(monitor, "metrics"),
                    description=f"{monitor}: headline metrics per window and release",
                )
        for key, url, text in _report_links(ctx, results):
            create_link_artifact(url, link_text=text, key=key, description="drift report")
    except Exception:  # artifacts are a view; the results are already committed
        log.warning("could not publish the run's artifacts", exc_info=True)


def _aware(moment: datetime) -> datetime:
    from lookout.windows import as_utc

    return as_utc(moment)
