"""The health values of a window (`window_rows`, `traffic_ratio`): what the built-in `no_data`
and `min_rows` rules evaluate, from the window's row count and the stored counts of the same
hours of earlier days and weeks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lookout.alerts.health import TRAFFIC_RATIO, WINDOW_ROWS
from lookout.config.models import Monitor
from lookout.core.seasonal import GAP_LOOKS, gap_look, history_starts, traffic_ratio
from lookout.model.aggregates import ALL_COHORTS, MetricValue
from lookout.model.local_times import reads_no_wall_time
from lookout.windows import Window

if TYPE_CHECKING:
    from lookout.runtime.run_context import Context

__all__ = ["health_values"]


def health_values(ctx: Context, monitor: Monitor, window: Window, rows: int) -> list[MetricValue]:
    """`window_rows`, and `traffic_ratio` against the seasonal expectation when the store
    holds enough history for one: the window's, or that of the run of windows ending with it
    that says most clearly it is short (`gap_look`). None for a window that no row can fall
    in: in a table that writes local times (`source.timezone`), the first pass through the
    autumn's repeated hour spans no wall time (its rows are read by the windows of the second)."""
    if reads_no_wall_time(window.start, window.end, monitor.source.zone):
        return []
    out = [MetricValue(ALL_COHORTS, ALL_COHORTS, WINDOW_ROWS, float(rows), 1)]
    if not monitor.health.no_data:
        return out
    size = window.end - window.start
    earlier = [window.start - k * size for k in range(1, max(GAP_LOOKS))]
    starts = {s for start in [window.start, *earlier] for s in history_starts(start)}
    stored = ctx.store.window_rows(monitor.name, sorted(starts | set(earlier)))
    gap = gap_look(window.start, size, rows, stored)
    if gap is not None:
        ratio, low, high = traffic_ratio(gap.observed, gap.expected)
        since = gap.since if gap.windows > 1 else None
        out.append(
            MetricValue(
                ALL_COHORTS,
                ALL_COHORTS,
                TRAFFIC_RATIO,
                ratio,
                round(gap.expected),
                low,
                high,
                pooled_from=since,
            )
        )
    return out
