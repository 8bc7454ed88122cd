"""One value for a metric over several windows, from the stored per-window values (pure).

Rates and means pool as sum(value * n) / sum(n), which is exact for rates. Quantiles do not pool
that way: the median of the windows' quantiles stands in, a robust "typical hour". Counts and
drift flags are per window: their mean over the windows.
"""

from __future__ import annotations

from collections.abc import Sequence

from lookout.checks.catalog import is_quantile_metric

__all__ = ["pool"]

_PER_WINDOW = frozenset({"request_count", "window_rows", "validation_failed_expectations"})


def pool(metric: str, points: Sequence[tuple[float, int]]) -> tuple[float, int] | None:
    """One value and the total n for a metric over several windows."""
    points = [(v, n) for v, n in points if n > 0]
    if not points:
        return None
    total = sum(n for _, n in points)
    if metric in _PER_WINDOW or metric.startswith("drift."):
        # counts and 0/1 flags are per window: their n is not a weight (a count's value is n)
        return sum(v for v, _ in points) / len(points), total
    if is_quantile_metric(metric):
        ordered = sorted(v for v, _ in points)
        middle = len(ordered) // 2
        value = (
            ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2.0
        )
        return value, total
    return sum(v * n for v, n in points) / total, total
