"""Alert rules on metric values (pure): which release x cohort breaches which rule.

A rule looks at one metric; it is evaluated on every cohort it splits by, so a regression in
one cohort raises one alert for that cohort instead of hiding in the release's average. A rule
with a `reference` compares with the same metric of the previous release (or a pinned baseline)
for the same cohort: its threshold is then the allowed change, absolute or relative.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from lookout.config.models import AlertRule
from lookout.core.stats import exact_interval, exact_tail
from lookout.model.aggregates import ALL_COHORTS, MetricValue, cohort_dimension
from lookout.model.families.registry import FAMILIES

__all__ = [
    "Evaluation",
    "Outcome",
    "Reference",
    "RuleSettings",
    "breaches",
    "conservative",
    "effective_threshold",
    "evaluate_rules",
    "evidence_of",
    "in_split",
    "past_threshold",
    "renews_pending",
    "settings_of",
    "split_level",
    "split_levels",
]

# `inconclusive`: a significance rule whose point value is past the threshold but whose interval
# is not. It neither opens nor resolves: alerts open on evidence and resolve on recovery, which
# is the hysteresis band that keeps a real but noisy incident from flapping. `explained`: a
# cohort's breach that its release's breach accounts for (`lookout.alerts.folding`); it neither
# opens nor resolves either, and the release's alert names it.
Outcome = Literal["breach", "ok", "not_enough_data", "inconclusive", "explained"]

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


def past_threshold(op: str, value: float, threshold: float) -> bool:
    """Whether `value` is on the alerting side of `threshold` (the point value, no test)."""
    return _OPS[op](value, threshold)


def renews_pending(ev: Evaluation, own: MetricValue | None) -> bool:
    """Whether a pooled breach brings new evidence for a pending alert: the window's own
    records lean past the threshold. Consecutive pools share most of their records (seven
    errors in 17 records, then the same seven in 18), so without it `for: 2` counted one
    chance event twice and paged on a healthy cohort; with it, each evaluation that counts
    toward `for` adds records that point the same way."""
    if own is None or own.n <= 0:
        return False
    return past_threshold(ev.rule.op, own.value, ev.threshold)


@dataclass(frozen=True)
class Reference:
    """The value a change rule compares with: pooled over the reference period."""

    value: float
    n: int
    label: str  # "release v1, 2026-01-01 00:00–2026-01-02 00:00 UTC"


@dataclass(frozen=True)
class RuleSettings:
    """A rule's knobs with the defaults of its metric's family filled in."""

    min_n: int
    persistence: int  # `for`
    keep_firing_for: timedelta | None
    over: Literal["auto"] | timedelta
    max_over: timedelta
    poolable: bool  # its metric can be computed from merged summaries
    significance: bool  # a rate: the whole interval must be past the threshold
    # what a firing alert needs to resolve: the few records that may open a significant alert
    # do not show that it is over (a night's ten samples pass by chance)
    resolve_min_n: int = 0

    def needed(self, firing: bool) -> int:
        return max(self.min_n, self.resolve_min_n) if firing else self.min_n


# Default min_n of a rate rule with `significance`: its interval decides when there is enough.
SIGNIFICANT_MIN_N = 10


def settings_of(rule: AlertRule) -> RuleSettings:
    """Defaults by metric family: tail quantiles need more records, deterministic counts
    open at once, sampled statistics need two breaching evaluations in a row."""
    rate = FAMILIES.is_rate(rule.metric)
    significance = rate and (rule.significance if rule.significance is not None else True)
    family_min_n = FAMILIES.min_n(rule.metric)
    min_n = rule.min_n if rule.min_n is not None else family_min_n
    if rule.min_n is None and significance:
        # the Wilson interval already demands the evidence: a few records may be enough
        min_n = min(min_n, SIGNIFICANT_MIN_N)
    return RuleSettings(
        min_n=min_n,
        persistence=rule.for_ if rule.for_ is not None else FAMILIES.persistence(rule.metric),
        keep_firing_for=rule.keep_firing_for,
        over=rule.over if rule.over is not None else "auto",
        max_over=rule.max_over,
        poolable=FAMILIES.poolable(rule.metric),
        significance=significance,
        resolve_min_n=max(min_n, family_min_n) if significance else min_n,
    )


@dataclass(frozen=True)
class Evaluation:
    """One rule on one release x cohort of one window: what it saw and what it concluded."""

    rule: AlertRule
    value: MetricValue
    outcome: Outcome
    severity: str = ""  # the rule's, or the escalation level the value is past
    threshold: float = float("nan")  # the one compared with (reference + allowed change)
    reference: Reference | None = None
    persistence: int = 1  # breaching evaluations in a row before it opens (`for`)
    keep_firing_for: timedelta | None = None
    # a fresh breach: the windows right before it whose own records leaned past the threshold
    # (they count toward `for`), and the start of the first of them
    leaning: int = 0
    leaning_since: datetime | None = None
    # how many of `for`'s breaching evaluations this breach is worth on its own (`evidence_of`)
    evidence: int = 1

    def __post_init__(self) -> None:
        if not self.severity:
            object.__setattr__(self, "severity", self.rule.severity)
        if self.threshold != self.threshold:  # NaN: not given
            object.__setattr__(self, "threshold", self.rule.threshold)

    @property
    def release(self) -> str:
        return self.value.release

    @property
    def cohort(self) -> str:
        return self.value.cohort


def in_split(rule: AlertRule, cohort: str) -> bool:
    """Does `rule` look at `cohort`? (`*` is the release overall, `region=eu` a cohort value.)"""
    if rule.split_by is None:
        return True
    if cohort == ALL_COHORTS:
        return ALL_COHORTS in rule.split_by
    return cohort_dimension(cohort) in rule.split_by


def effective_threshold(rule: AlertRule, allowed: float, reference: Reference | None) -> float:
    """`allowed` as a threshold on the value: itself, or the reference moved by it."""
    if rule.reference is None or reference is None:
        return allowed
    if rule.reference.change == "absolute":
        return reference.value + allowed
    return reference.value * (1.0 + allowed)


def conservative(
    rule: AlertRule, reference: Reference | None, significance: bool
) -> Reference | None:
    """With `significance` (the rule's settings), a rate reference counts at the bound of its
    own exact interval on the far side (its high bound for `>`, its low bound for `<`): a
    reference pooled from few records is uncertain too, and a current rate must clear all of
    that uncertainty."""
    if reference is None or reference.n <= 0 or not significance:
        return reference
    if not FAMILIES.is_proportion(rule.metric):
        return reference  # no interval of its own to take (not a share of its n)
    hits = min(max(reference.value, 0.0), 1.0) * reference.n
    low, high = exact_interval(hits, reference.n)
    bound = high if rule.op in (">", ">=") else low
    return replace(reference, value=bound)


# Each bound of the exact 95% interval: a significant breach is one at this one-sided level.
ONE_SIDED = 0.025

# A split's false-alarm budget, in cohorts (`alerting.split_budget`, off by default; this is the
# value measured): per release and cohort column, a column with at most this many cohorts
# tested in a window tests each at ONE_SIDED; a wider one shares the budget (each at ONE_SIDED
# x budget / cohorts, Bonferroni past it), so a rule split by 30 tenants breaches by chance in
# a window no more often than one split by 8 (a bound: exact intervals are discrete, and the
# real rate falls further). Off by default: on a trial's 40 customers it found no false alert
# to remove and missed a customer's 3-hour error burst (8 failures in 23 records) that 2.5%
# opens 2 windows after onset; on benchmarks/soak/tenants.py it halves the chance pages.
SPLIT_BUDGET = 8


def split_level(cohorts: int, budget: int = SPLIT_BUDGET) -> float:
    """The one-sided level of each cohort's test in a column of `cohorts` tested cohorts
    (`budget`: `alerting.split_budget`)."""
    return ONE_SIDED * min(1.0, budget / max(cohorts, 1))


def breaches(
    rule: AlertRule, value: MetricValue, threshold: float | None = None, level: float = ONE_SIDED
) -> bool:
    """Past the threshold; with `significance`, the whole interval must be past it. A share of
    records: its exact bound on the threshold's side at the one-sided `level` (2.5%, the 95%
    interval's, or a wide split's share of it: `split_level`). Another rate (rows over the
    rows expected, the release's own) keeps its stored 95% interval."""
    compare = _OPS[rule.op]
    limit = rule.threshold if threshold is None else threshold
    if settings_of(rule).significance and value.ci_low is not None and value.n > 0:
        # The bound nearest to the threshold must clear it: low bound for >, high bound for <.
        # A share of records: exact (Clopper-Pearson) bounds from the rate and its n, whatever
        # interval was stored. Another rate (rows over the rows expected): the stored interval,
        # which the clamp to [0, 1] and a binomial of "expected" trials would not be (94 rows
        # where 245 were expected paged as a gap on a binomial bound of 0.45, though the
        # count's own interval reaches 0.56).
        if FAMILIES.is_proportion(rule.metric):
            hits = min(max(value.value, 0.0), 1.0) * value.n
            low, high = exact_interval(hits, value.n, confidence=1.0 - 2.0 * level)
        else:
            low = value.ci_low
            high = value.ci_high if value.ci_high is not None else value.value
        bound = low if rule.op in (">", ">=") else high
        return compare(bound, limit)
    return compare(value.value, limit)


def split_levels(
    rule: AlertRule,
    values: Iterable[MetricValue],
    open_groups: Collection[tuple[str, str]] = (),
    budget: int | None = None,
) -> dict[tuple[str, str, str], float]:
    """(rule, release, cohort) -> the one-sided level of that cohort's test, where it is not
    ONE_SIDED: the cohorts of a column wider than the budget (`split_level` of the cohorts
    with the `min_n` records a test needs: a tenant too quiet to be tested spends nothing).
    A cohort whose alert is open (pending or firing, `open_groups` as (release, cohort)) was
    already picked out of its split: its next test is one cohort's, at ONE_SIDED, so `for: 2`
    over 30 tenants opens by chance no more often than over 8 (each first breach at 2.5% x
    8 / 30, its confirmations at 2.5%). No `budget` (the default): every test at ONE_SIDED."""
    if budget is None:
        return {}
    values = [
        v
        for v in values
        if v.metric == rule.metric and v.cohort != ALL_COHORTS and in_split(rule, v.cohort)
    ]
    min_n = settings_of(rule).min_n
    tested: dict[tuple[str, str], int] = {}
    for value in values:
        if value.n >= min_n:
            key = (value.release, cohort_dimension(value.cohort))
            tested[key] = tested.get(key, 0) + 1
    levels = {}
    for value in values:
        column = cohort_dimension(value.cohort)
        level = split_level(tested.get((value.release, column), 0), budget)
        if level < ONE_SIDED and (value.release, value.cohort) not in open_groups:
            levels[(rule.name, value.release, value.cohort)] = level
    return levels


def evidence_of(
    rule: AlertRule,
    value: MetricValue,
    threshold: float,
    persistence: int,
    level: float = ONE_SIDED,
) -> int:
    """How many of `for`'s breaching evaluations a significant breach is worth: all of them
    when its exact one-sided p-value against the threshold is at most `level` x ONE_SIDED **
    (`for` - 1) (ONE_SIDED ** `for`, or a wide split's first breach at its share and the
    rest at 2.5%: `split_levels`), else one. `for: 2` asks for two breaches on separate
    records, each at 2.5%: at a rate exactly at the threshold both happen by chance 0.0625% of
    the time (L looks a window at each, (L x 2.5%) squared at most). One test on all the
    records at 0.0625% is as unlikely by chance (at most L x 0.0625%), counts each record once,
    and is the stronger test: 12 errors in 75 against 5% (p 0.0003) need not wait an hour for
    a second piece of evidence. Rates with `significance` only (and a stored interval, as
    `breaches` decides): other families have no exact test."""
    if persistence <= 1 or value.n <= 0 or value.ci_low is None:
        return 1
    if not settings_of(rule).significance or not FAMILIES.is_proportion(rule.metric):
        return 1
    hits = min(max(value.value, 0.0), 1.0) * value.n
    tail = exact_tail(hits, value.n, threshold, above=rule.op in (">", ">="))
    return persistence if tail <= level * ONE_SIDED ** (persistence - 1) else 1


def _severity(
    rule: AlertRule, value: MetricValue, reference: Reference | None, level: float
) -> str:
    severity = rule.severity
    for level_ in rule.escalate:
        if breaches(rule, value, effective_threshold(rule, level_.threshold, reference), level):
            severity = level_.severity
    return severity


def evaluate_rules(
    rules: Iterable[AlertRule],
    values: Iterable[MetricValue],
    references: Mapping[tuple[str, str, str], Reference] | None = None,
    levels: Mapping[tuple[str, str, str], float] | None = None,
) -> list[Evaluation]:
    """Every (rule, release, cohort) the window has data for, with its outcome.

    `references[(rule, release, cohort)]` is what a change rule compares with; a change rule
    without one, or with one on fewer than `min_n` records, has `not_enough_data`.
    `levels[(rule, release, cohort)]` is a test's one-sided level where it is not ONE_SIDED
    (`split_levels`; a re-evaluation of one cohort's longer pool keeps its window's).
    """
    rules, values = list(rules), list(values)
    references = references or {}
    levels = levels or {}
    by_metric: dict[str, list[MetricValue]] = {}
    for value in values:
        by_metric.setdefault(value.metric, []).append(value)
    out: list[Evaluation] = []
    for rule in rules:
        settings = settings_of(rule)
        for value in by_metric.get(rule.metric, []):
            if not in_split(rule, value.cohort):
                continue
            level = levels.get((rule.name, value.release, value.cohort), ONE_SIDED)
            reference = references.get((rule.name, value.release, value.cohort))
            out.append(_evaluate(rule, settings, value, reference, level))
    return out


def _evaluate(
    rule: AlertRule,
    settings: RuleSettings,
    value: MetricValue,
    reference: Reference | None,
    level: float,
) -> Evaluation:
    """One rule on one value: not enough data, a breach (how severe, how strong), an
    inconclusive point past the threshold, or ok."""
    compared = conservative(rule, reference, settings.significance)
    threshold = effective_threshold(rule, rule.threshold, compared)
    severity, evidence = rule.severity, 1
    if value.n < settings.min_n or (
        rule.reference is not None
        and (
            reference is None
            or reference.n < settings.min_n
            # a relative change of a zero reference means nothing (0 * anything = 0)
            or (rule.reference.change == "relative" and reference.value == 0)
        )
    ):
        outcome: Outcome = "not_enough_data"
    elif breaches(rule, value, threshold, level):
        outcome = "breach"
        severity = _severity(rule, value, compared, level)
        evidence = evidence_of(rule, value, threshold, settings.persistence, level)
    elif settings.significance and _OPS[rule.op](value.value, threshold):
        outcome = "inconclusive"
    else:
        outcome = "ok"
    return Evaluation(
        rule,
        value,
        outcome,
        severity,
        threshold,
        reference,
        settings.persistence,
        settings.keep_firing_for,
        evidence=evidence,
    )
