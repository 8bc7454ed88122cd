"""Metric rows of the results store: the per-window values of every release x cohort, and the
reads built on them (release summaries, series for rules, cohort traffic for the cap)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from lookout.model.aggregates import MetricValue
from lookout.model.families.pooling import pool
from lookout.store import schema
from lookout.store.times import db_time, utc
from lookout.windows import Window

__all__ = [
    "ReleaseTraffic",
    "cohort_traffic",
    "metric_points",
    "read_metrics",
    "release_first_seen",
    "release_summary",
    "release_traffic",
    "replace_metrics",
    "window_metrics",
]


def replace_metrics(
    conn: sa.Connection,
    monitor: str,
    start: datetime,
    end: datetime,
    values: Sequence[MetricValue],
    run_id: str,
) -> None:
    """The window's metrics as a whole: a re-run replaces, never adds."""
    m = schema.metrics
    conn.execute(sa.delete(m).where(m.c.monitor == monitor, m.c.window_start == start))
    if values:
        conn.execute(
            sa.insert(m),
            [
                {
                    "monitor": monitor,
                    "window_start": start,
                    "window_end": end,
                    "release": v.release,
                    "cohort": v.cohort,
                    "metric": v.metric,
                    "value": float(v.value),
                    "n": int(v.n),
                    "ci_low": v.ci_low,
                    "ci_high": v.ci_high,
                    "run_id": run_id,
                }
                for v in values
            ],
        )


def read_metrics(
    conn: sa.Connection,
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
        query = query.where(m.c.window_start >= db_time(since))
    if until is not None:
        query = query.where(m.c.window_start < db_time(until))
    return [dict(row) for row in conn.execute(query).mappings()]


def release_summary(conn: sa.Connection, monitor: str) -> list[dict[str, Any]]:
    """Per release: windows, records, period, and pooled headline metrics (whole release)."""
    m = schema.metrics
    query = _per_release(monitor).order_by(m.c.release)
    headline = ("error_rate", "latency_p99_ms", "cost_per_trace_usd")
    values = (
        sa.select(m.c.release, m.c.metric, m.c.value, m.c.n)
        .where(m.c.monitor == monitor, m.c.cohort == "*", m.c.metric.in_(headline))
        .order_by(m.c.release, m.c.metric, m.c.window_start)
    )
    rows = [
        {k: row[k] for k in ("release", "windows", "records", "first_window", "last_window")}
        for row in conn.execute(query).mappings()
    ]
    series: dict[tuple[str, str], list[tuple[float, int]]] = {}
    for r in conn.execute(values):
        series.setdefault((r.release, r.metric), []).append((r.value, r.n))
    for row in rows:
        row.update(_headline(series, row["release"]))
    return rows


def metric_points(
    conn: sa.Connection,
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
        m.c.window_start >= db_time(start),
        m.c.window_start < db_time(end),
    )
    if release is not None:
        query = query.where(m.c.release == release)
    out: dict[str, list[tuple[float, int]]] = {}
    for row in conn.execute(query.order_by(m.c.window_start)):
        out.setdefault(row.cohort, []).append((row.value, row.n))
    return out


def window_metrics(
    conn: sa.Connection, monitor: str, window: Window, families: Callable[[str], bool]
) -> list[MetricValue]:
    """The stored metrics of one window whose names `families` accepts (kept stages)."""
    m = schema.metrics
    query = sa.select(m).where(m.c.monitor == monitor, m.c.window_start == db_time(window.start))
    rows = conn.execute(query.order_by(m.c.release, m.c.cohort, m.c.metric)).mappings()
    return [
        MetricValue(
            r["release"], r["cohort"], r["metric"], r["value"], r["n"], r["ci_low"], r["ci_high"]
        )
        for r in rows
        if families(r["metric"])
    ]


def cohort_traffic(
    conn: sa.Connection, monitor: str, since: datetime, until: datetime
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
            m.c.window_start >= db_time(since),
            m.c.window_start < db_time(until),
        )
        .group_by(m.c.cohort)
    )
    out: dict[str, dict[str, int]] = {}
    for cohort, rows in conn.execute(query):
        dimension, _, value = str(cohort).partition("=")
        if value != "(other)":
            out.setdefault(dimension, {})[value] = int(rows or 0)
    return out


def release_first_seen(conn: sa.Connection, monitor: str) -> dict[str, datetime]:
    """Release -> start of the first processed window it had records in."""
    return {row.release: utc(row.first_window) for row in conn.execute(_per_release(monitor))}  # type: ignore[misc]


@dataclass(frozen=True)
class ReleaseTraffic:
    """One release of one monitor: its windows with records, and their span."""

    release: str
    windows: int
    records: int
    first_seen: datetime  # start of the first window it had records in
    last_seen: datetime  # end of the last one


def release_traffic(conn: sa.Connection, monitor: str) -> list[ReleaseTraffic]:
    """Every release of `monitor` with stored results, first seen first."""
    out = [
        ReleaseTraffic(
            str(row.release),
            int(row.windows),
            int(row.records or 0),
            utc(row.first_window),  # type: ignore[arg-type]
            utc(row.last_end),  # type: ignore[arg-type]
        )
        for row in conn.execute(_per_release(monitor))
    ]
    return sorted(out, key=lambda r: (r.first_seen, r.release))


def _per_release(monitor: str) -> sa.Select[Any]:
    """Per release of `monitor`, from its whole-release request counts: windows with records,
    records, the first and last window start, and the last window end."""
    m = schema.metrics
    return (
        sa.select(
            m.c.release,
            sa.func.count().label("windows"),
            sa.func.sum(m.c.n).label("records"),
            sa.func.min(m.c.window_start).label("first_window"),
            sa.func.max(m.c.window_start).label("last_window"),
            sa.func.max(m.c.window_end).label("last_end"),
        )
        .where(m.c.monitor == monitor, m.c.metric == "request_count", m.c.cohort == "*")
        .group_by(m.c.release)
    )


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
