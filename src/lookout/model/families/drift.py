"""The drift metric families. Drift verdicts are computed by the drift stage over its own
rolling period (`drift.period`), so they are not pooled again from summaries. `drift.<name>`
covers columns and feature groups (`drift.output`: any feature derived from the output)."""

from __future__ import annotations

from lookout.model.families.base import MetricFamily

__all__ = ["FAMILIES"]

FAMILIES: tuple[MetricFamily, ...] = (
    MetricFamily(
        "drift_share",
        "drift",
        "share of drifted feature groups among those with enough data (a drift a cohort "
        "explains does not count)",
        "share",
        min_n=1,
        persistence=1,
        better="lower",
    ),
    MetricFamily(
        "drift.",
        "drift",
        "1 when {name} drifted from the reference and no cohort explains it, else 0",
        "flag",
        min_n=1,
        persistence=1,
        better="lower",
    ),
    MetricFamily(
        "drift_score.",
        "drift",
        "drift score of {name} against the reference",
        "score",
        min_n=1,
        persistence=1,
        better="lower",
    ),
)
