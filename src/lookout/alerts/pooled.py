"""What a rule evaluates (pure): the window's own value, or a value pooled over a lookback from
the merged summaries of the windows in it.

`over: auto` (the default) evaluates the shortest run of whole windows ending with this one that
holds `min_n` records, at most `max_over`: at busy hours that is the window itself (its exact
value), at night or on a small table the last few hours, so low traffic still alerts, and
resolves, on enough data. `over: 6h` pools exactly the last six hours. Metrics that do not pool
from summaries (drift verdicts, which pool over their own period) are always the window's.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from lookout.alerts.rules import RuleSettings, in_split, past_threshold
from lookout.config.models import AlertRule
from lookout.core.summary import Summary
from lookout.model.aggregates import FEEDBACK_RATE, MetricValue, votes_only
from lookout.model.families.registry import FAMILIES
from lookout.windows import Window

__all__ = [
    "History",
    "leaning_before",
    "longer_pools",
    "pooled_since",
    "pooled_without",
    "rule_values",
]

Group = tuple[str, str]  # (release, cohort)


@dataclass(frozen=True)
class History:
    """Per release x cohort, the summaries of the recent windows, oldest first (the window
    being evaluated last, when it has data for the group)."""

    windows: Mapping[Group, Sequence[tuple[datetime, Summary]]] = field(default_factory=dict)

    def pooled_by(self, metric: str) -> History:
        """The windows a rule on `metric` looks at: for every metric but the feedback rate,
        only those in which the group had records. Votes logged apart from their records
        (`source.feedback_table`) give a group a summary of feedback counts alone in a window
        with no record of its own, which would make a traffic or error rule evaluate a retired
        release again, and count that window in a per-window mean."""
        return self if metric == FEEDBACK_RATE else self._with_records

    @cached_property
    def _with_records(self) -> History:
        """This history without the windows of votes alone (itself when it has none: made
        once a window, not once a rule)."""
        if not any(votes_only(s) for series in self.windows.values() for _, s in series):
            return self
        return History(
            {
                group: kept
                for group, series in self.windows.items()
                if (kept := [(at, s) for at, s in series if not votes_only(s)])
            }
        )


def _pooled(rule: AlertRule, group: Group, summary: Summary, since: datetime) -> MetricValue | None:
    estimate = FAMILIES.pooled(rule.metric, summary)
    if estimate is None:
        return None
    release, cohort = group
    return MetricValue(
        release,
        cohort,
        rule.metric,
        estimate.value,
        estimate.n,
        estimate.ci_low,
        estimate.ci_high,
        pooled_from=since,
    )


def rule_values(
    rule: AlertRule,
    settings: RuleSettings,
    window: Window,
    window_values: Sequence[MetricValue],
    history: History,
    open_groups: Collection[Group] = (),
    firing_groups: Collection[Group] = (),
) -> list[MetricValue]:
    """The values `rule` evaluates this window, one per release x cohort it looks at.

    Groups are those with data in this window plus `open_groups` (its pending and firing
    alerts): an alert whose cohort went quiet is still evaluated on the pooled data, so it
    can resolve on enough evidence instead of waiting for traffic to come back. A firing
    alert's group pools until its settings' resolve `needed` records.
    """
    own = {(v.release, v.cohort): v for v in window_values if v.metric == rule.metric}
    size = window.end - window.start
    fixed = settings.over if settings.over != "auto" else None
    if not settings.poolable or (fixed is not None and fixed <= size):
        return list(own.values())
    groups = set(own) | {g for g in open_groups if in_split(rule, g[1])}
    groups |= {
        g
        for g, series in history.windows.items()
        if series and series[-1][0] == window.start and in_split(rule, g[1])
    }
    out: list[MetricValue] = []
    for group in sorted(groups):
        series = [item for item in history.windows.get(group, ()) if item[0] <= window.start]
        needed = settings.needed(firing=group in firing_groups)
        value = (
            _fixed(rule, group, series, window, fixed)
            if fixed is not None
            else _auto(rule, settings, group, series, window, own.get(group), needed)
        )
        if value is not None:
            out.append(value)
    return out


def longer_pools(
    rule: AlertRule,
    settings: RuleSettings,
    window: Window,
    history: History,
    value: MetricValue,
) -> Iterator[MetricValue]:
    """Longer looks at a group whose value is inconclusive: its last 2, 4, 8... windows
    pooled, at most `max_over`, shortest first, each only if it holds more records than the
    look before (the value itself, whether the window alone or the shortest pool of `min_n`).

    A window can hold too few records for its rate to clear a threshold it really is past (an
    apac gateway at 12% errors on 35 rows an hour: no hour alone says "above 5%", two do), and
    so can the shortest pool of `min_n` records (ten thumbs-down votes at 50% do not say
    "above 30%", thirty do); a few doubling looks, each an exact test on its own pool, decide
    it without a pooled look on every group every hour. Only for `over: auto` and poolable
    metrics. Lazy and incremental: each look merges only the windows the one before did not
    hold, and a caller that stops at the first breach merges nothing further."""
    if settings.over != "auto" or not settings.poolable:
        return
    group = (value.release, value.cohort)
    newest_first = [
        item for item in reversed(history.windows.get(group, ())) if item[0] <= window.start
    ]
    if not newest_first:
        return
    oldest = newest_first[-1][0]
    size = window.end - window.start
    merged = Summary(windows=0)
    taken = 0
    last_n = value.n
    windows = 2
    while size * windows <= settings.max_over:
        since = window.end - size * windows
        while taken < len(newest_first) and newest_first[taken][0] >= since:
            merged.merge(newest_first[taken][1])
            taken += 1
        pooled = _pooled(rule, group, merged, since) if taken else None
        if pooled is not None and pooled.n > last_n:
            last_n = pooled.n
            yield pooled
        if since <= oldest:
            return  # the group has no older windows
        windows *= 2


def pooled_without(
    rule: AlertRule,
    settings: RuleSettings,
    window: Window,
    history: History,
    group: Group,
    left_out: Collection[datetime],
) -> MetricValue | None:
    """The group's pooled value this window with the windows starting at `left_out` left
    out: whether a pending alert's breach still holds without the window that made its last
    one, or a fresh breach without the windows that leaned before it (new evidence, not the
    same records counted again)."""
    series = [
        item
        for item in history.windows.get(group, ())
        if item[0] <= window.start and item[0] not in left_out
    ]
    return _as_evaluated(rule, settings, group, series, window)


def pooled_since(
    rule: AlertRule, window: Window, history: History, group: Group, after: datetime
) -> MetricValue | None:
    """The group's records of the windows after the one starting at `after`, up to this one,
    pooled: what a pending alert's clear is judged on (the records since its last breach)."""
    parts = [s for start, s in history.windows.get(group, ()) if after < start <= window.start]
    return _merged(rule, group, parts, after + (window.end - window.start))


def leaning_before(
    rule: AlertRule,
    settings: RuleSettings,
    window: Window,
    history: History,
    group: Group,
    threshold: float,
) -> tuple[int, datetime | None]:
    """How many evaluations right before this window's (at most `for` - 1) leaned past
    `threshold` (the value each evaluated then, pooled to `min_n` as `over: auto` does, past
    it; the window with records of its own), and the start of the first of them. A breach
    that follows them ends a run that was too sparse to be significant sooner (a cohort at
    12% errors on 30 records an hour against 5%: three hours inconclusive, significant on the
    fourth) rather than starting one. A chance burst in a sparse cohort follows pools that
    were not past the threshold (2 errors in 12), and still waits for `for`."""
    series = list(history.windows.get(group, ()))
    own = dict(series)
    size = window.end - window.start
    count, since = 0, None
    for k in range(1, settings.persistence):
        before = Window(window.start - k * size, window.start - (k - 1) * size)
        mine = own.get(before.start)
        estimate = FAMILIES.pooled(rule.metric, mine) if mine is not None else None
        if estimate is None or estimate.n <= 0:
            break
        earlier = [item for item in series if item[0] <= before.start]
        value = _as_evaluated(rule, settings, group, earlier, before)
        if value is None or not past_threshold(rule.op, value.value, threshold):
            break
        count, since = k, before.start
    return count, since


def _fixed(rule, group, series, window, over) -> MetricValue | None:
    since = window.end - over
    return _merged(rule, group, [summary for start, summary in series if start >= since], since)


def _merged(rule, group, parts, since) -> MetricValue | None:
    """`parts` merged into one summary and pooled; None without any."""
    if not parts:
        return None
    merged = Summary(windows=0)
    for part in parts:
        merged.merge(part)
    return _pooled(rule, group, merged, since)


def _as_evaluated(rule, settings, group, series, window) -> MetricValue | None:
    """What the rule evaluates on `series` at `window` for a group with no open alert: the
    fixed `over`, or the shortest pool reaching `min_n`."""
    if settings.over != "auto":
        return _fixed(rule, group, series, window, settings.over)
    return _auto(rule, settings, group, series, window, None, settings.needed(firing=False))


def _auto(rule, settings, group, series, window, own, needed) -> MetricValue | None:
    """The shortest trailing run of windows that reaches `needed` records (the window's exact
    value when it does alone), at most max_over; the longest one tried when none does."""
    if own is not None and own.n >= needed:
        return own
    limit = window.end - settings.max_over
    merged = Summary(windows=0)
    best: MetricValue | None = own
    for start, summary in reversed(series):
        if start < limit:
            break
        merged.merge(summary)
        value = _pooled(rule, group, merged, start)
        if value is None:
            continue
        if start == window.start and own is not None:
            value = own  # the window alone: its exact value
        best = value
        if value.n >= needed:
            break
    return best
