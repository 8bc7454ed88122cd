"""What change rules compare with: a metric of the previous release, of a pinned baseline
period, or of the cohort's own history, pooled from the stored per-window summaries (so no
warehouse read is needed): a p95 of the reference period is the p95 of its merged sketches, a
rate its pooled counts. Metrics that do not pool from summaries fall back to pooling the stored
per-window values.

The own history (`kind: history`) is every release's records of the cohort over `lookback`,
ending where the rule's longest pool begins (`max_over` before the window's end), floored to a
whole day (or to the lookback, when shorter): the records a rule evaluates are never part of
what they are compared with, so an incident of a few hours does not raise its own bar; and the
period moves once a day, so the windows of a day (a catch-up, a backfill) share one merge of a
week of summaries, kept while the stored summaries under it stay the same."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from cachetools import LRUCache

from lookout.alerts.rules import Reference, in_split
from lookout.config.models import AlertRule
from lookout.core.summary import Summary, merge_all
from lookout.model.aggregates import MetricValue
from lookout.model.families.pooling import pool
from lookout.model.families.registry import FAMILIES
from lookout.store.results import ResultsStore
from lookout.windows import Window, floor_time

__all__ = ["HISTORY_STEP", "ReferencePeriod", "reference_period", "rule_references"]

# How often an own-history period moves: once a day (a lookback shorter than that moves by it).
HISTORY_STEP = timedelta(days=1)


@dataclass(frozen=True)
class ReferencePeriod:
    release: str | None  # None: every release in the period
    start: datetime
    end: datetime
    own_history: bool = False

    @property
    def label(self) -> str:
        span = f"{self.start:%Y-%m-%d %H:%M}–{self.end:%Y-%m-%d %H:%M} UTC"
        if self.release:
            return f"release {self.release}, {span}"
        return f"own history {span}" if self.own_history else f"baseline {span}"


def reference_period(
    rule: AlertRule, release: str, first_seen: dict[str, datetime], window: Window
) -> ReferencePeriod | None:
    """Where a change rule looks for `release`: the release that came before it, over the
    lookback before `release` first appeared; the pinned baseline period; or the cohort's own
    history, every release, before the rule's longest pool."""
    ref = rule.reference
    if ref is None:
        return None
    if ref.kind == "baseline":
        assert ref.start is not None and ref.end is not None  # checked by the config model
        return ReferencePeriod(None, ref.start, ref.end)
    if ref.kind == "history":
        longest = rule.over if isinstance(rule.over, timedelta) else rule.max_over
        step = min(HISTORY_STEP, ref.lookback)
        end = floor_time(window.end - max(longest, window.end - window.start), step)
        return ReferencePeriod(None, end - ref.lookback, end, own_history=True)
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
        periods = {
            release: reference_period(rule, release, first_seen, window)
            for release in sorted({release for release, _ in wanted})
        }
        # a baseline or own-history period is the same for every release: pooled once
        for period in dict.fromkeys(p for p in periods.values() if p is not None):
            groups = sorted((r, c) for r, c in wanted if periods[r] == period)
            pooled = _pooled(store, monitor, rule.metric, period, sorted({c for _, c in groups}))
            for release, cohort in groups:
                if cohort in pooled:
                    out[(rule.name, release, cohort)] = Reference(*pooled[cohort], period.label)
    return out


def _pooled(
    store: ResultsStore, monitor: str, metric: str, period: ReferencePeriod, cohorts: list[str]
) -> dict[str, tuple[float, int]]:
    """Cohort -> (value, n) of `metric` over the reference period."""
    out: dict[str, tuple[float, int]] = {}
    family = FAMILIES.family(metric)
    if family is not None and FAMILIES.poolable(metric):
        merged = _MERGED.get(store, monitor, family.stage, period, cohorts)
        for cohort in cohorts:
            summary = merged.get(cohort)
            estimate = None if summary is None else FAMILIES.pooled(metric, summary)
            if estimate is not None and estimate.n > 0:
                out[cohort] = (estimate.value, estimate.n)
        if out:
            return out
    # no summaries stored for the period (results written before summaries existed)
    series = store.metric_points(monitor, metric, period.start, period.end, release=period.release)
    for cohort in cohorts:
        pooled = pool(metric, series.get(cohort, []))
        if pooled is not None:
            out[cohort] = pooled
    return out


class _MergedPeriods:
    """The merged summaries of recent reference periods, per cohort, in this process.

    A week of hourly summaries is over a thousand stored parts per cohort group; every window
    of a day asks for the same period. An entry is reused only while the store holds the same
    parts under it (`summary_versions`: a re-run of a window writes a new run id), so a
    backfill that rewrites a reference window is seen at once."""

    def __init__(self, size: int = 32) -> None:
        self._entries: LRUCache[tuple, tuple[frozenset, dict[str, Summary]]] = LRUCache(size)
        self._lock = threading.Lock()

    def get(
        self,
        store: ResultsStore,
        monitor: str,
        stage: str,
        period: ReferencePeriod,
        cohorts: list[str],
    ) -> dict[str, Summary]:
        wanted = tuple(sorted(set(cohorts)))
        key = (store.display_url, monitor, stage, period.release, period.start, period.end, wanted)
        versions = store.summary_versions(
            monitor, period.start, period.end, stages=[stage], cohorts=wanted
        )
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None and hit[0] == versions:
                return hit[1]
        releases = None if period.release is None else [period.release]
        stored = store.summaries(  # merged once here and kept: its parts need no cache
            monitor,
            period.start,
            period.end,
            releases=releases,
            stages=[stage],
            cohorts=wanted,
            cached=False,
        )
        merged: dict[str, Summary] = {}
        for cohort in wanted:
            parts = [s for (_, c), series in stored.items() if c == cohort for _, s in series]
            summary = merge_all(parts)
            if summary is not None:
                merged[cohort] = summary
        with self._lock:
            self._entries[key] = (versions, merged)
        return merged


_MERGED = _MergedPeriods()
