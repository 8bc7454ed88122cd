"""Alert rules on metric values (pure): which release x cohort breaches which rule.

A rule looks at one metric; it is evaluated on every cohort it splits by, so a regression in
one cohort raises one alert for that cohort instead of hiding in the release's average.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from lookout.checks.catalog import is_rate_metric
from lookout.checks.metrics import ALL_COHORTS, MetricValue
from lookout.config.models import AlertRule

__all__ = ["Evaluation", "Outcome", "breaches", "evaluate_rules", "in_split"]

# `inconclusive`: a significance rule whose point value is past the threshold but whose interval
# is not. It neither opens nor resolves: alerts open on evidence and resolve on recovery, which
# is the hysteresis band that keeps a real but noisy incident from flapping.
Outcome = Literal["breach", "ok", "not_enough_data", "inconclusive"]

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


@dataclass(frozen=True)
class Evaluation:
    """One rule on one release x cohort of one window: what it saw and what it concluded."""

    rule: AlertRule
    value: MetricValue
    outcome: Outcome

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
    return cohort.split("=", 1)[0] in rule.split_by


def breaches(rule: AlertRule, value: MetricValue) -> bool:
    """Past the threshold; with `significance`, the whole 95% interval must be past it."""
    compare = _OPS[rule.op]
    if rule.significance and is_rate_metric(rule.metric) and value.ci_low is not None:
        # The bound nearest to the threshold must clear it: low bound for >, high bound for <.
        bound = value.ci_low if rule.op in (">", ">=") else value.ci_high
        return bound is not None and compare(bound, rule.threshold)
    return compare(value.value, rule.threshold)


def evaluate_rules(rules: Iterable[AlertRule], values: Iterable[MetricValue]) -> list[Evaluation]:
    """Every (rule, release, cohort) the window has data for, with its outcome."""
    by_metric: dict[str, list[MetricValue]] = {}
    for value in values:
        by_metric.setdefault(value.metric, []).append(value)
    out: list[Evaluation] = []
    for rule in rules:
        for value in by_metric.get(rule.metric, []):
            if not in_split(rule, value.cohort):
                continue
            if value.n < rule.min_n:
                outcome: Outcome = "not_enough_data"
            elif breaches(rule, value):
                outcome = "breach"
            elif rule.significance and _OPS[rule.op](value.value, rule.threshold):
                outcome = "inconclusive"
            else:
                outcome = "ok"
            out.append(Evaluation(rule, value, outcome))
    return out
