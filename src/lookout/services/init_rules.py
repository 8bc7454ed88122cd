"""Sizing and starter rules for `lookout init` (pure): windows, pooling, thresholds.

The window is the shortest that holds an `error_rate`'s worth of records (its `min_n`, 50) at
the table's traffic; a rule whose metric needs more records (a p95 needs 200) pools whole
windows up to `max_over`, sized so a typical evaluation reaches its `min_n`. A rule that would
need more than a week of traffic is left out, saying so. Thresholds come from the sample: a rate
fires above max(2x what the sample shows, a floor), a p95 above 2x the slowest route's. With
cohorts, each cohort is also compared with its own last week (`reference: {kind: history}`):
a quiet cohort's incident is far below any fixed threshold but plain against its own past.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
import pandas as pd

from lookout.alerts.rules import SIGNIFICANT_MIN_N
from lookout.core.durations import format_duration
from lookout.model.aggregates import as_labels
from lookout.model.families.registry import FAMILIES
from lookout.services.init_errors import nulls_marking_errors
from lookout.services.init_timing import daily_swing, route_like, slowest_p95

__all__ = [
    "MAX_POOL",
    "WINDOW_SIZES",
    "RulePlan",
    "Sizing",
    "pooled_words",
    "round_up",
    "rule_plans",
    "size_window",
]

WINDOW_SIZES = tuple(timedelta(hours=h) for h in (1, 2, 3, 4, 6, 12, 24))
MAX_POOL = timedelta(days=7)  # the longest a starter rule pools; beyond it, no rule
DEFAULT_MAX_OVER = timedelta(days=1)  # AlertRule.max_over's default


@dataclass(frozen=True)
class Sizing:
    """The window size and how many records a window holds at the table's traffic."""

    window: timedelta
    rows_per_window: float
    known: bool = True  # False: traffic unknown, no pooling proposed

    def pool(self, min_n: int, share: float = 1.0) -> timedelta | None:
        """Whole windows a value needing `min_n` records of this share of rows pools over
        (one window at least); None when even `MAX_POOL` does not hold that many."""
        if not self.known:
            return self.window
        per_window = self.rows_per_window * share
        if per_window <= 0:
            return None
        span = math.ceil(min_n / per_window - 1e-9) * self.window
        return max(span, self.window) if span <= MAX_POOL else None


def size_window(rows_per_hour: float | None) -> Sizing:
    """The shortest window (of `WINDOW_SIZES`) that holds an error rate's `min_n` records."""
    if rows_per_hour is None:
        return Sizing(timedelta(hours=1), 0.0, known=False)
    target = FAMILIES.min_n("error_rate")
    for size in WINDOW_SIZES:
        if rows_per_hour * size.total_seconds() / 3600 >= target:
            return Sizing(size, rows_per_hour * size.total_seconds() / 3600)
    return Sizing(WINDOW_SIZES[-1], rows_per_hour * 24)


@dataclass(frozen=True)
class RulePlan:
    """One starter rule and the comment that says where its numbers come from."""

    name: str
    metric: str
    op: str
    threshold: float
    severity: str
    owner: str
    split_by: tuple[str, ...]
    comment: str
    max_over: timedelta | None = None  # set only beyond the default (1d)
    reference: str | None = None  # a change rule's reference, as monitors.yml writes it
    min_n: int | None = None  # set only beyond the metric family's


def _rate_threshold(observed: float, floor: float) -> float:
    return min(0.95, round_up(max(2 * observed, floor), 0.005))


def round_up(value: float, step: float) -> float:
    return round(math.ceil(value / step - 1e-9) * step, 6)


def _nice(value: float) -> float:
    """Two significant digits, rounded up (2,634 -> 2,700)."""
    if value <= 0:
        return 1.0
    step = 10 ** (math.floor(math.log10(value)) - 1)
    return float(round_up(value, step))


def _share(mask: np.ndarray, known: np.ndarray) -> float:
    return float(mask[known].mean()) if known.any() else 0.0


def _negative_share(feedback: pd.Series, negative: tuple[str, ...] | float) -> float:
    """The share of the sample's feedback that is negative: one of the `negative` values, or
    a score under the floor (`negative_feedback_below`)."""
    known = feedback.notna().to_numpy()
    if isinstance(negative, tuple):
        flagged = as_labels(feedback).str.lower().isin(negative).to_numpy()
    else:
        flagged = (pd.to_numeric(feedback, errors="coerce") < negative).to_numpy()
    return _share(known & flagged, known)


def rule_plans(
    frame: pd.DataFrame,
    mapping: dict[str, str],
    sizing: Sizing,
    cohort_shares: dict[str, float],
    ok: tuple[str, ...] | None,
    negative: tuple[str, ...] | float | None,
    owner: str,
    *,
    release: bool,
) -> tuple[list[RulePlan], list[str]]:
    """The starter rules that the sample and the traffic support, and notes on the others
    (`release`: the proposal has release fields, so a change rule can compare releases)."""
    plan = _Planner(frame, sizing, cohort_shares, owner)
    plan.rules.append(
        RulePlan(
            "data_quality",
            "validation_failed_expectations",
            ">",
            0,
            "P2",
            owner,
            ("*",),
            "an expectation of `validation` failed in the window",
        )
    )
    if "status" in mapping and ok:
        _error_rules(plan, ok)
    if "latency_ms" in mapping:
        _latency_rules(plan)
    _spend_rule(plan, mapping, release=release)
    if "feedback" in mapping and negative is not None and negative != ():
        observed = _negative_share(frame["feedback"], negative)
        threshold = _rate_threshold(observed, 0.1)
        why = _seen("negative feedback", observed)
        plan.add("negative_feedback", "negative_feedback_rate", threshold, "P2", "feedback", why)
    if "is_fallback" in mapping:
        known = frame["is_fallback"].notna().to_numpy()
        flags = frame["is_fallback"].fillna(False).astype(bool).to_numpy()
        observed = _share(flags & known, known)
        threshold = _rate_threshold(observed, 0.1)
        why = _seen("", observed)
        plan.add("fallback_rate", "fallback_rate", threshold, "P2", "is_fallback", why)
    return plan.rules, plan.notes


@dataclass
class _Planner:
    """The rules proposed so far, and a note for each the traffic cannot feed."""

    frame: pd.DataFrame
    sizing: Sizing
    cohort_shares: dict[str, float]
    owner: str
    rules: list[RulePlan] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(
        self,
        name: str,
        metric: str,
        threshold: float,
        severity: str,
        column: str,
        why: str,
        *,
        min_n: int | None = None,
        reference: str | None = None,
        without: tuple[str, ...] = (),
    ) -> bool:
        """Propose a rule (a fixed threshold, or a change against `reference`), split by the
        cohorts whose traffic reaches its min_n within the pool the release needs; a note
        instead when the table is too quiet for it. True when proposed."""
        sizing, rows = self.sizing, len(self.frame)
        share = float(self.frame[column].notna().mean()) if rows else 1.0
        needs = FAMILIES.min_n(metric) if min_n is None else min_n
        span = sizing.pool(needs, share)
        if span is None:
            per_day = sizing.rows_per_window * share * (timedelta(days=1) / sizing.window)
            self.notes.append(
                f"no {name} rule: {metric} needs {needs} records and the table has about "
                f"{per_day:,.0f} a day with {column}"
            )
            return False
        split = ["*"] + [
            c
            for c, s in self.cohort_shares.items()
            if not (metric.startswith("latency") and c != "route")
            and c not in without
            and (cohort_span := sizing.pool(needs, share * s)) is not None
            and cohort_span <= max(span, DEFAULT_MAX_OVER)
        ]
        pooled = pooled_words(sizing, span, needs, share, FAMILIES.is_rate(metric))
        self.rules.append(
            RulePlan(
                name,
                metric,
                ">",
                threshold,
                severity,
                self.owner,
                tuple(split),
                f"{why}; {pooled}",
                span if span > DEFAULT_MAX_OVER else None,
                reference,
                min_n,
            )
        )
        return True


SUSPECT_ERRORS = 0.25  # a sampled error share past this is more likely a wrong ok_statuses


def _error_rules(plan: _Planner, ok: tuple[str, ...]) -> None:
    """A fixed error-rate rule from the sample's rate and, where it is fed and there are
    cohorts, the cohorts' own-history rule: an incident in a quiet cohort that the fixed
    threshold never sees."""
    statuses = plan.frame["status"]
    known = statuses.notna().to_numpy()
    errors = known & ~as_labels(statuses).isin(ok).to_numpy()
    observed = _share(errors, known)
    if observed > SUSPECT_ERRORS:
        plan.notes.append(
            f"the sample shows {observed:.0%} errors with ok_statuses {list(ok)}: if most of "
            "those requests succeeded, list every value that means ok in source.ok_statuses "
            "(the error_rate rules below are sized on that share)"
        )
    threshold = _rate_threshold(observed, 0.05)
    why = _seen("errors", observed)
    marked = nulls_marking_errors(plan.frame, tuple(plan.cohort_shares), errors & known)
    for cohort, (share, rate) in marked.items():
        plan.notes.append(
            f"the error rules are not split by {cohort}: it is NULL on {share:.0%} of the "
            f"sampled errors (logged before a {cohort} is known), so {cohort}=(null) would fail "
            f"{rate:.0%} of its records and page in every window; {cohort} stays a cohort of "
            "the other rules"
        )
    split = tuple(c for c in plan.cohort_shares if c not in marked)
    if (
        plan.add("error_rate", "error_rate", threshold, "P1", "status", why, without=(*marked,))
        and split
    ):
        plan.rules.append(
            RulePlan(
                "error_rate_vs_own_history",
                "error_rate",
                ">",
                2,
                "P1",
                plan.owner,
                split,
                "3x the cohort's own rate of its last 7 days (every release), with significance: "
                "an incident in a quiet cohort that the fixed threshold never sees; it starts "
                "on the third UTC day stored (its history ends at a midnight a day before now)",
                reference="{kind: history}",
            )
        )


# A spend rule's records: a mean of a long-tailed cost needs more than the family's 30 to be
# steady (cost per record varies about as much as its mean, so 100 records put a 50% rise
# five standard errors out).
SPEND_MIN_N = 100


def _spend_rule(plan: _Planner, mapping: dict[str, str], release: bool) -> None:
    """The mean cost per request (tokens out where no cost is logged) 50% above the previous
    release's, per cohort: a release that doubles what each answer costs (a longer prompt, a
    chattier model, a lost cache) fails no threshold of its own, and drift shows only that
    some column moved. Without a release column, against the cohort's own last 7 days."""
    field = next((f for f in ("cost_usd", "completion_tokens") if f in mapping), None)
    if field is None:
        return
    metric = "cost_per_request_usd" if field == "cost_usd" else "completion_tokens_mean"
    what = "cost per request" if field == "cost_usd" else "completion tokens per request"
    if release:
        reference = "{kind: previous_release}"
        why = f"mean {what} 50% above the previous release's (its last day before this one)"
    else:
        reference = "{kind: history}"
        why = f"mean {what} 50% above the cohort's own last 7 days"
    plan.add(
        "spend_vs_previous_release" if release else "spend_vs_own_history",
        metric,
        0.5,
        "P2",
        field,
        why,
        min_n=SPEND_MIN_N,
        reference=reference,
    )


def _latency_rules(plan: _Planner) -> None:
    """A fixed p95 at twice the slowest route's, and the own-history median rule of each route
    (of each release, without a route cohort: a model that slows down under a threshold set
    on the mix of every model), unless a median swings over the day (`daily_swing`): then a
    note says why not."""
    p95, where = slowest_p95(plan.frame)
    if p95 is None:
        return
    why = f"2x the sample's p95 {where}({p95:,.0f} ms)"
    if not plan.add("latency_p95", "latency_p95_ms", _nice(2 * p95), "P2", "latency_ms", why):
        return
    routed = "route" in plan.cohort_shares
    frame = plan.frame if routed else plan.frame.drop(columns="route", errors="ignore")
    whose = "the route's" if routed else "the release's"

    def fed(share: float) -> bool:  # a cohort of this share reaches the median's min_n in a day
        span = plan.sizing.pool(FAMILIES.min_n("latency_p50_ms"), share)
        return span is not None and span <= DEFAULT_MAX_OVER

    split = ("route",) if routed else ("*", *route_like(plan.frame, plan.cohort_shares, fed))
    if not routed and len(split) > 1:
        whose = f"the release's, and each {' and each '.join(split[1:])}'s,"
    if (swing := daily_swing(frame)) is not None:
        route, ratio = swing
        plan.notes.append(
            f"no latency_vs_own_history rule: {f'route {route}' if routed else 'the table'}'s "
            f"hourly median latency swings {ratio:.0f}x over the sample's day (a mix of fast "
            "and slow requests that changes with the hour); against its whole week it would "
            "page on that cycle every night, so a slowdown that moves only the median (a "
            "broken cache) is not alerted on"
        )
        return
    plan.rules.append(
        RulePlan(
            "latency_vs_own_history",
            "latency_p50_ms",
            ">",
            0.4,
            "P2",
            plan.owner,
            split,
            f"the median 40% above {whose} own last 7 days: a slowdown whose p95 stays under "
            "the fixed threshold",
            reference="{kind: history}",
        )
    )


def _seen(what: str, observed: float) -> str:
    return f"the sample shows {observed:.1%} {what}".rstrip() + ", fires above max(2x that, floor)"


def pooled_words(
    sizing: Sizing, span: timedelta, min_n: int, share: float, significant: bool = False
) -> str:
    """How much a window holds against what the rule needs, in the words of its comment. A
    rate is tested for significance: it opens on as few as `SIGNIFICANT_MIN_N` records when
    the whole interval is past the threshold, and `min_n` is what a resolve needs."""
    need = f"min_n {min_n}"
    if significant:
        need = (
            f"min_n {min_n} to resolve; opens on {SIGNIFICANT_MIN_N}+ records only when "
            "significantly past"
        )
    if not sizing.known:
        return need
    per_window = sizing.rows_per_window * share
    if span <= sizing.window:
        return f"~{per_window:,.0f} records per window >= {need}"
    pools = format_duration(span)
    return f"~{per_window:,.0f} records per window: pools {pools} to reach {need}"
