"""One value for a metric over several windows, from the stored per-window values (pure).

Rates and means pool as sum(value * n) / sum(n), which is exact for rates. Quantiles do not pool
that way: the median of the windows' quantiles stands in, a robust "typical hour". Counts and
drift flags are per window: their mean over the windows.
"""

from __future__ import annotations

from collections.abc import Sequence

from lookout.model.families.registry import FAMILIES

__all__ = ["pool"]


def pool(metric: str, points: Sequence[tuple[float, int]]) -> tuple[float, int] | None:
    """One value and the total n for a metric over several windows."""
    points = [(v, n) for v, n in points if n > 0]
    if not points:
        return None
    total = sum(n for _, n in points)
    family = FAMILIES.family(metric)
    if family is not None and (family.per_window or family.unit == "flag"):
        # counts and 0/1 flags are per window: their n is not a weight (a count's value is n)
        return sum(v for v, _ in points) / len(points), total
    if FAMILIES.is_quantile(metric):
        ordered = sorted(v for v, _ in points)
        middle = len(ordered) // 2
        value = (
            ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2.0
        )
        return value, total
    return sum(v * n for v, n in points) / total, total
