"""What change rules compare with: a metric of the previous release, or of a pinned baseline
period, pooled from the stored per-window results (so no warehouse read is needed).

Rates and means pool across windows as sum(value * n) / sum(n), which is exact for rates. Quantiles
do not pool that way: the median of the windows' quantiles stands in, a robust "typical hour".
Counts and drift flags are per window: their mean over the windows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from lookout.alerts.rules import Reference, in_split
from lookout.checks.catalog import is_quantile_metric
from lookout.checks.metrics import MetricValue
from lookout.config.models import AlertRule
from lookout.store.results import ResultsStore
from lookout.windows import Window

__all__ = ["ReferencePeriod", "pool", "reference_period", "rule_references"]


@dataclass(frozen=True)
class ReferencePeriod:
    release: str | None  # None: every release in the period
    start: datetime
    end: datetime

    @property
    def label(self) -> str:
        span = f"{self.start:%Y-%m-%d %H:%M}–{self.end:%Y-%m-%d %H:%M} UTC"
        return f"release {self.release}, {span}" if self.release else f"baseline {span}"


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


def reference_period(
    rule: AlertRule, release: str, first_seen: dict[str, datetime], window: Window
) -> ReferencePeriod | None:
    """Where a change rule looks for `release`: the release that came before it, over the
    lookback before `release` first appeared; or the pinned baseline period."""
    ref = rule.reference
    if ref is None:
        return None
    if ref.kind == "baseline":
        assert ref.start is not None and ref.end is not None  # checked by the config model
        return ReferencePeriod(None, ref.start, ref.end)
    appeared = first_seen.get(release, window.start)
    earlier = [(seen, name) for name, seen in first_seen.items() if seen < appeared]
    if not earlier:
        return None
    _, previous = max(earlier)
    return ReferencePeriod(previous, appeared - ref.lookback, appeared)


def rule_references(
    store: ResultsStore,
    monitor: str,
    rules: Iterable[AlertRule],
    values: Iterable[MetricValue],
    window: Window,
) -> dict[tuple[str, str, str], Reference]:
    """(rule, release, cohort) -> reference, for every change rule and value it will see."""
    change_rules = [rule for rule in rules if rule.reference is not None]
    if not change_rules:
        return {}
    values = list(values)
    first_seen = store.release_first_seen(monitor)
    out: dict[tuple[str, str, str], Reference] = {}
    for rule in change_rules:
        wanted = {
            (v.release, v.cohort)
            for v in values
            if v.metric == rule.metric and in_split(rule, v.cohort)
        }
        for release in sorted({release for release, _ in wanted}):
            period = reference_period(rule, release, first_seen, window)
            if period is None:
                continue
            series = store.metric_points(
                monitor, rule.metric, period.start, period.end, release=period.release
            )
            for cohort_release, cohort in wanted:
                if cohort_release != release:
                    continue
                pooled = pool(rule.metric, series.get(cohort, []))
                if pooled is not None:
                    out[(rule.name, release, cohort)] = Reference(*pooled, period.label)
    return out
