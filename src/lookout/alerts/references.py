"""What change rules compare with: a metric of the previous release, or of a pinned baseline
period, pooled from the stored per-window results (so no warehouse read is needed)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from lookout.alerts.rules import Reference, in_split
from lookout.checks.metrics import MetricValue
from lookout.checks.pooling import pool
from lookout.config.models import AlertRule
from lookout.store.results import ResultsStore
from lookout.windows import Window

__all__ = ["ReferencePeriod", "reference_period", "rule_references"]


@dataclass(frozen=True)
class ReferencePeriod:
    release: str | None  # None: every release in the period
    start: datetime
    end: datetime

    @property
    def label(self) -> str:
        span = f"{self.start:%Y-%m-%d %H:%M}–{self.end:%Y-%m-%d %H:%M} UTC"
        return f"release {self.release}, {span}" if self.release else f"baseline {span}"


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
