"""What change rules compare with: a metric of the previous release, of a pinned baseline
period, or of the cohort's own history, pooled from the stored per-window summaries (so no
warehouse read is needed): a p95 of the reference period is the p95 of its merged sketches, a
rate its pooled counts. Metrics that do not pool from summaries fall back to pooling the stored
per-window values.

The own history (`kind: history`) is the release's own records of the cohort over `lookback`
when they hold as many as a resolve needs (and are not 0 for a relative change), else every
release's records of the cohort (a release in its first day has none of its own): two models
served side by side (a fast one and a slow one, by plan or by route) are each compared with
themselves, where a pool of every release held the slow one 60% "above its history" on every
clean day of a user's table. The
period ends where the rule's longest pool begins (`max_over` before the window's end), floored to a
whole day (or to the lookback, when shorter): the records a rule evaluates are never part of
what they are compared with, so an incident of a few hours does not raise its own bar; and the
period moves once a day, so the windows of a day (a catch-up, a backfill) share one merge of a
week of summaries, kept while the stored summaries under it stay the same.

An open alert's own history (pending or firing) ends no later than the period its first
window was compared with: the records since are the incident's, and a slower canary compared
with a week that more and more holds its own slow records became "its own normal" and resolved
34 hours into a regression that went on (a trial's table). It resolves when its records are
back to what they were before it started; a lasting change the team accepts is not absorbed
(a silence mutes it, and the rule's reference or threshold is the user's to change).

With `hours: same` the own history keeps only the windows at the same hours of the day as the
one evaluated (its hours and one either side): a metric with a daily cycle (latency that rises
with load) is compared with the same part of the cycle, so an ordinary afternoon is not "40%
above the week" and a slow night is not hidden by the week's busier hours."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from cachetools import LRUCache

from lookout.alerts.rules import Reference, in_split, settings_of
from lookout.config.models import AlertRule
from lookout.core.releases import previous_release
from lookout.core.summary import Summary, merge_all
from lookout.model.aggregates import MetricValue
from lookout.model.families.pooling import pool
from lookout.model.families.registry import FAMILIES
from lookout.store.results import ResultsStore
from lookout.windows import Window, floor_time

__all__ = ["HISTORY_STEP", "ReferencePeriod", "reference_period", "rule_references", "same_hours"]

# How often an own-history period moves: once a day (a lookback shorter than that moves by it).
HISTORY_STEP = timedelta(days=1)


@dataclass(frozen=True)
class ReferencePeriod:
    release: str | None  # None: every release in the period
    start: datetime
    end: datetime
    own_history: bool = False
    # `hours: same`: only windows starting in these UTC hours of the day, in order
    hours: tuple[int, ...] | None = None

    @property
    def label(self) -> str:
        span = f"{self.start:%Y-%m-%d %H:%M}–{self.end:%Y-%m-%d %H:%M} UTC"
        if self.release:
            return f"release {self.release}, {span}"
        if self.hours is not None:
            first, end = self.hours[0], (self.hours[-1] + 1) % 24
            return f"own history {span}, {first:02d}:00–{end:02d}:00 each day"
        return f"own history {span}" if self.own_history else f"baseline {span}"

    @property
    def own_label(self) -> str:
        """The label of the release's own records of an own-history period."""
        return self.label.replace("own history", "own history of this release", 1)

    def holds(self, window_start: datetime) -> bool:
        """Does a stored window belong to the period's hours?"""
        return self.hours is None or window_start.hour in self.hours


def same_hours(window: Window) -> tuple[int, ...]:
    """The window's UTC hours and one either side, in order (a 15-minute window at 13:15:
    12, 13, 14; an hour at 23:00: 22, 23, 0): the hours an own history with `hours: same`
    pools."""
    hour = timedelta(hours=1)
    first = floor_time(window.start, hour) - hour
    end = floor_time(window.end - timedelta(microseconds=1), hour) + 2 * hour
    return tuple((first + k * hour).hour for k in range(int((end - first) / hour)))


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
        end = _history_end(rule, window)
        hours = same_hours(window) if ref.hours == "same" else None
        return ReferencePeriod(None, end - ref.lookback, end, own_history=True, hours=hours)
    appeared = first_seen.get(release, window.start)
    previous = previous_release(release, {**first_seen, release: appeared})
    if previous is None:
        return None
    return ReferencePeriod(previous, appeared - ref.lookback, appeared)


def _history_end(rule: AlertRule, window: Window) -> datetime:
    """Where an own history judged at `window` ends: where the rule's longest pool begins,
    floored to a whole step."""
    assert rule.reference is not None
    longest = rule.over if isinstance(rule.over, timedelta) else rule.max_over
    step = min(HISTORY_STEP, rule.reference.lookback)
    return floor_time(window.end - max(longest, window.end - window.start), step)


def rule_references(
    store: ResultsStore,
    monitor: str,
    rules: Iterable[AlertRule],
    values: Iterable[MetricValue],
    window: Window,
    first_seen: Mapping[str, datetime] | None = None,
    open_since: Mapping[tuple[str, str], datetime] | None = None,
) -> dict[tuple[str, str, str], Reference]:
    """(rule, release, cohort) -> reference, for every change rule and value it will see
    (`first_seen`: when each release appeared, if the caller read it already; `open_since`:
    (release, cohort) -> start of its open alert, whose own history it freezes)."""
    change_rules = [rule for rule in rules if rule.reference is not None]
    if not change_rules:
        return {}
    values = list(values)
    if first_seen is None:
        first_seen = store.release_first_seen(monitor)
    out: dict[tuple[str, str, str], Reference] = {}
    for rule in change_rules:
        wanted = {
            (v.release, v.cohort)
            for v in values
            if v.metric == rule.metric and in_split(rule, v.cohort)
        }
        size = window.end - window.start
        by_release = {
            release: reference_period(rule, release, first_seen, window)
            for release in sorted({release for release, _ in wanted})
        }
        periods = {
            group: _frozen(rule, by_release[group[0]], (open_since or {}).get(group), size)
            for group in wanted
        }
        # a baseline or own-history period is the same for every release: pooled once
        for period in dict.fromkeys(p for p in periods.values() if p is not None):
            groups = sorted(g for g in wanted if periods[g] == period)
            cohorts = sorted({c for _, c in groups})
            pooled = _pooled(store, monitor, rule.metric, period, cohorts)
            own = _own_history(store, monitor, rule, period, cohorts) if period.own_history else {}
            for release, cohort in groups:
                mine = own.get((release, cohort))
                if mine is not None:
                    out[(rule.name, release, cohort)] = Reference(*mine, period.own_label)
                elif cohort in pooled:
                    out[(rule.name, release, cohort)] = Reference(*pooled[cohort], period.label)
    return out


def _frozen(
    rule: AlertRule, period: ReferencePeriod | None, since: datetime | None, size: timedelta
) -> ReferencePeriod | None:
    """An own-history period that ends no later than the one the open alert's first window
    (starting `since`, `size` long) was compared with: before that window's longest pool, so
    none of the records it opened on are in it. Other periods, and groups without an open
    alert, as they are."""
    if period is None or not period.own_history or since is None:
        return period
    end = _history_end(rule, Window(since, since + size))
    if end >= period.end:
        return period
    return replace(period, start=end - (period.end - period.start), end=end)


def _own_history(
    store: ResultsStore, monitor: str, rule: AlertRule, period: ReferencePeriod, cohorts: list[str]
) -> dict[tuple[str, str], tuple[float, int]]:
    """(release, cohort) -> (value, n) of the rule's metric over an own-history period, for
    the releases that hold as many records of the cohort in it as a resolve needs (the
    family's `min_n`, 50 for an error rate; not the 10 a significant breach may open on: a
    3x rule against the high bound of 1 error in 10, 44%, could never fire), and, for a
    relative change, a value that is not 0 (no threshold can be a multiple of it)."""
    family = FAMILIES.family(rule.metric)
    if family is None or not FAMILIES.poolable(rule.metric):
        return {}
    needed = settings_of(rule).needed(firing=True)
    relative = rule.reference is not None and rule.reference.change == "relative"
    merged = _MERGED.get(store, monitor, family.stage, period, cohorts)
    asked = set(cohorts)
    out = {}
    for (release, cohort), summary in merged.items():
        if release is None or cohort not in asked:
            continue
        estimate = FAMILIES.pooled(rule.metric, summary)
        if estimate is None or estimate.n < max(needed, 1):
            continue
        if relative and estimate.value == 0:
            continue
        out[(release, cohort)] = (estimate.value, estimate.n)
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
            summary = merged.get((None, cohort))
            estimate = None if summary is None else FAMILIES.pooled(metric, summary)
            if estimate is not None and estimate.n > 0:
                out[cohort] = (estimate.value, estimate.n)
        if out or period.hours is not None:
            return out
    # no summaries stored for the period (results written before summaries existed; their
    # per-window values carry no hour, so `hours: same` has no reference there)
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
    parts under it (`summary_versions` of the whole period: a re-run of a window writes a new
    run id), so a backfill that rewrites a reference window is seen at once. An entry is per
    period, not per set of cohorts asked: a window whose quiet tenant had no rows asks for one
    cohort fewer, and keying on the set made every such night window re-read and re-decode
    the whole week (3,000-3,900 parts, ~3 s a window on a trial's table of 30 tenants); now a
    cohort not merged yet is read alone and added."""

    def __init__(self, size: int = 64) -> None:
        # key -> (versions, cohorts merged, merged summaries)
        self._entries: LRUCache[tuple, tuple[frozenset, frozenset[str], dict]] = LRUCache(size)
        self._lock = threading.Lock()

    def get(
        self,
        store: ResultsStore,
        monitor: str,
        stage: str,
        period: ReferencePeriod,
        cohorts: list[str],
    ) -> dict[tuple[str | None, str], Summary]:
        """(None, cohort): every release's parts merged; (release, cohort): that release's
        (and the entry's other cohorts: callers look theirs up)."""
        key = (store.display_url, monitor, stage, period)
        versions = store.summary_versions(monitor, period.start, period.end, stages=[stage])
        with self._lock:
            hit = self._entries.get(key)
        done: frozenset[str] = frozenset()
        merged: dict[tuple[str | None, str], Summary] = {}
        if hit is not None and hit[0] == versions:
            done, merged = hit[1], hit[2]
        missing = sorted(set(cohorts) - done)
        if not missing:
            return merged
        merged = {**merged, **self._merge(store, monitor, stage, period, missing)}
        with self._lock:
            self._entries[key] = (versions, done | set(missing), merged)
        return merged

    @staticmethod
    def _merge(
        store: ResultsStore,
        monitor: str,
        stage: str,
        period: ReferencePeriod,
        wanted: list[str],
    ) -> dict[tuple[str | None, str], Summary]:
        releases = None if period.release is None else [period.release]
        stored = store.summaries(
            monitor,
            period.start,
            period.end,
            releases=releases,
            stages=[stage],
            cohorts=wanted,
            # a whole period is merged once here and kept; the same parts filtered by hours
            # are asked for 24 times a day, so the store's decoded-part cache keeps them
            cached=period.hours is not None,
        )
        merged: dict[tuple[str | None, str], Summary] = {}
        for (release, cohort), series in stored.items():
            if cohort not in wanted:
                continue
            summary = merge_all([s for start, s in series if period.holds(start)])
            if summary is not None:
                merged[(release, cohort)] = summary
        for cohort in wanted:
            summary = merge_all([s for (_, c), s in list(merged.items()) if c == cohort])
            if summary is not None:
                merged[(None, cohort)] = summary
        return merged


_MERGED = _MergedPeriods()
