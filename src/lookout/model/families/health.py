"""Monitoring the monitor: rows per window, and rows against what the same hours usually hold.
No stage writes these: the window run does, for every monitor."""

from __future__ import annotations

from lookout.model.families.base import MetricFamily

__all__ = ["FAMILIES"]

FAMILIES: tuple[MetricFamily, ...] = (
    MetricFamily(
        "window_rows",
        "health",
        "rows read in the window, all releases together (release and cohort `*`)",
        "count",
        min_n=1,
        persistence=1,
        per_window=True,
    ),
    MetricFamily(
        "traffic_ratio",
        "health",
        "rows in the window / rows the same hours usually hold (seasonal baseline; "
        "interval from the gamma-Poisson interval of the count)",
        "ratio",
        rate=True,
        min_n=1,
        persistence=1,
        better="higher",
    ),
)
