"""The timing of `lookout init`'s sample: how late rows arrive (the window's grace), which
route is slowest at p95 (the fixed rule's threshold), and whether a route's median swings over
the day (a mix that changes with the hour), which a median compared with its own whole week
would page on."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import timedelta

import pandas as pd

from lookout.model.aggregates import as_labels

__all__ = ["daily_swing", "grace_for", "route_like", "slowest_p95"]

_P95_ROUTE_MIN = 20  # sampled rows a route needs for its p95 to count
# An hour's median needs this many rows to count; past this ratio between a route's highest and
# lowest hourly median the day's own cycle is beyond a median rule (lognormal noise at 20 rows
# an hour spans well under 2x over 24 hours).
_SWING_HOUR_MIN = 20
_SWING_MAX = 2.5


def slowest_p95(frame: pd.DataFrame) -> tuple[float | None, str]:
    """The p95 latency of the slowest route with enough rows (or of all rows), and where."""
    latency = pd.to_numeric(frame["latency_ms"], errors="coerce")
    if latency.notna().sum() < _P95_ROUTE_MIN:
        return None, ""
    overall = float(latency.quantile(0.95))
    if "route" not in frame:
        return overall, ""
    grouped = latency.groupby(as_labels(frame["route"]))
    p95s = {
        route: float(values.quantile(0.95))
        for route, values in grouped
        if values.notna().sum() >= _P95_ROUTE_MIN
    }
    if not p95s:
        return overall, ""
    route = max(p95s, key=lambda r: p95s[r])
    if p95s[route] <= overall:
        return overall, ""
    return p95s[route], f"of its slowest route, {str(route)[:24]} "


def daily_swing(frame: pd.DataFrame, quantile: float = 0.5) -> tuple[str, float] | None:
    """(route, max/min of its hourly `quantile`s) for the route whose latency at that quantile
    swings most over the sample's day, when past `_SWING_MAX`; None otherwise. Without a
    route column the table's records are one route, `*`."""
    if "ts" not in frame:
        return None
    latency = pd.to_numeric(frame["latency_ms"], errors="coerce")
    hours = pd.to_datetime(frame["ts"], errors="coerce", utc=True).dt.floor("h")
    routes = as_labels(frame["route"]) if "route" in frame else pd.Series("*", index=frame.index)
    table = pd.DataFrame({"route": routes, "hour": hours, "ms": latency})
    grouped = table.dropna().groupby(["route", "hour"])["ms"]
    medians = grouped.quantile(quantile)[grouped.size() >= _SWING_HOUR_MIN]
    swings = {
        str(route)[:24]: float(per_hour.max()) / float(per_hour.min())
        for route, per_hour in medians.groupby(level=0)
        if len(per_hour) >= 2 and float(per_hour.min()) > 0
    }
    route = max(swings, key=lambda r: swings[r], default=None)
    return (route, swings[route]) if route is not None and swings[route] > _SWING_MAX else None


ROUTE_LIKE_VALUES = 8  # a cohort column of at most this many values may stand in for routes


def route_like(
    frame: pd.DataFrame, shares: Mapping[str, float], fed: Callable[[float], bool]
) -> tuple[str, ...]:
    """Without a route, the cohort columns of a few values (a channel, a client, an
    environment) whose every value's median is steady over the day (`daily_swing`) and whose
    typical share is `fed` within a day: a trial's `slack` channel tripled its latency for
    four hours, and the rule on the whole release (whose median rose less than 40%) never saw
    it. A column of many values (30 tenants) stays out: a few rows an hour each."""
    out = []
    for cohort, share in shares.items():
        values = frame[cohort].nunique(dropna=False) if cohort in frame else 0
        if cohort not in frame or values > ROUTE_LIKE_VALUES or not fed(share):
            continue
        as_route = frame.drop(columns="route", errors="ignore").assign(route=frame[cohort])
        if daily_swing(as_route) is None:
            out.append(cohort)
    return tuple(out)


def grace_for(frame: pd.DataFrame) -> timedelta:
    """How long a window waits for late rows: the sample's p99 ingestion lag, rounded up to
    5 minutes, between 15 minutes (the default) and 6 hours."""
    default = timedelta(minutes=15)
    if "ingested_at" not in frame or "ts" not in frame:
        return default
    ts = pd.to_datetime(frame["ts"], utc=True, errors="coerce")
    ingested = pd.to_datetime(frame["ingested_at"], utc=True, errors="coerce")
    lag = (ingested - ts).dt.total_seconds().dropna()
    if lag.empty:
        return default
    p99 = max(0.0, float(lag.quantile(0.99)))
    minutes = math.ceil(p99 / 300 - 1e-9) * 5
    return min(timedelta(hours=6), max(default, timedelta(minutes=minutes)))
