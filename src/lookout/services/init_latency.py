"""The latency shape of `lookout init`'s sample, for its latency rules: which route is slowest
at p95 (the fixed rule's threshold), and whether a route's median swings over the day (a mix
that changes with the hour), which a median compared with its own whole week would page on."""

from __future__ import annotations

import pandas as pd

from lookout.model.aggregates import as_labels

__all__ = ["daily_median_swing", "slowest_p95"]

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


def daily_median_swing(frame: pd.DataFrame) -> tuple[str, float] | None:
    """(route, max/min of its hourly medians) for the route whose median latency swings most
    over the sample's day, when past `_SWING_MAX`; None otherwise."""
    if "ts" not in frame or "route" not in frame:
        return None
    latency = pd.to_numeric(frame["latency_ms"], errors="coerce")
    hours = pd.to_datetime(frame["ts"], errors="coerce", utc=True).dt.floor("h")
    table = pd.DataFrame({"route": as_labels(frame["route"]), "hour": hours, "ms": latency})
    grouped = table.dropna().groupby(["route", "hour"])["ms"]
    medians = grouped.median()[grouped.size() >= _SWING_HOUR_MIN]
    swings = {
        str(route)[:24]: float(per_hour.max()) / float(per_hour.min())
        for route, per_hour in medians.groupby(level=0)
        if len(per_hour) >= 2 and float(per_hour.min()) > 0
    }
    route = max(swings, key=lambda r: swings[r], default=None)
    return (route, swings[route]) if route is not None and swings[route] > _SWING_MAX else None
