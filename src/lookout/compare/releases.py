"""Compare two releases of a monitor over one period, cohort by cohort.

Rates (errors, retries, fallbacks, negative feedback, quarantine, each expectation's failure
share, each evaluator's pass rate) come from the stored per-window results, pooled by `n`:
exact for rates and no warehouse read. Latency, TTFT and cost per trace need the records: they
are read once for the period (narrow columns, a bounded random sample per release and cohort)
and compared by bootstrap. Every test of the comparison is one family for Holm's correction.
Drift of the candidate against its reference is shown from the stored drift results.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from lookout.checks.metrics import row_cost
from lookout.compare.stats import Difference, Verdict, bootstrap_differences, holm, proportions
from lookout.compare.stats import verdict as decide
from lookout.config.models import Monitor
from lookout.core.cohorts import CohortCap, choose_cohorts
from lookout.core.releases import previous_release as replaced
from lookout.model.aggregates import ALL_COHORTS, as_labels, cohort_label, release_labels
from lookout.model.families.catalog import RATE_METRICS, describe_metric
from lookout.sources.warehouse import Warehouse
from lookout.stages.ops.stage import metric_settings
from lookout.store.results import ResultsStore
from lookout.windows import Window

__all__ = [
    "Comparison",
    "DriftLine",
    "Line",
    "compare_releases",
    "is_compared_rate",
    "lower_is_better",
    "previous_release",
]

CORRECTION = "Holm"
_RATE_PREFIXES = ("validation.", "eval.", "status_rate.")


def _quantile(q: float) -> Callable[[np.ndarray], np.ndarray]:
    return lambda values: np.quantile(values, q, axis=1)


def _mean(values: np.ndarray) -> np.ndarray:
    return values.mean(axis=1)


# metric -> (column of the sample, statistic over axis 1)
NUMERIC: dict[str, tuple[str, Callable[[np.ndarray], np.ndarray]]] = {
    "latency_p50_ms": ("latency_ms", _quantile(0.5)),
    "latency_p95_ms": ("latency_ms", _quantile(0.95)),
    "latency_p99_ms": ("latency_ms", _quantile(0.99)),
    "ttft_p50_ms": ("ttft_ms", _quantile(0.5)),
    "ttft_p95_ms": ("ttft_ms", _quantile(0.95)),
    "cost_per_trace_usd": ("trace_cost", _mean),
    # what `lookout init`'s spend rule watches (a gate on it was refused as "not compared")
    "cost_per_request_usd": ("request_cost", _mean),
    "prompt_tokens_mean": ("prompt_tokens", _mean),
    "completion_tokens_mean": ("completion_tokens", _mean),
}


# volumes: a significant difference is `changed`, neither better nor worse (R2 of the demo
# answers apac's failures and account's improvised answers in fewer tokens); a gate on one
# still holds its rise against the margin, as for a cost
VOLUMES = ("prompt_tokens_mean", "completion_tokens_mean")


def lower_is_better(metric: str) -> bool:
    """Pass rates and agreement go up when things improve; everything else goes down."""
    return not metric.startswith(("eval.", "eval_agreement."))


def is_compared_rate(metric: str) -> bool:
    """A share compared with its pooled counts: the ops rates, each expectation's failure
    share, each evaluator's pass rate, each `source.status_rates` rate."""
    return metric in RATE_METRICS or metric.startswith(_RATE_PREFIXES)


@dataclass(frozen=True)
class Line:
    """One metric for one cohort: both releases, the difference and the verdict."""

    metric: str
    cohort: str
    baseline_n: int
    candidate_n: int
    diff: Difference | None
    adjusted_p: float | None
    verdict: Verdict
    test: str  # "two proportions" | "bootstrap"

    @property
    def meaning(self) -> str:
        return describe_metric(self.metric)


@dataclass(frozen=True)
class DriftLine:
    """How often a column of the candidate drifted against its reference in the period."""

    cohort: str
    column: str
    reference: str
    windows: int
    drifted: int


@dataclass
class Comparison:
    monitor: str
    baseline: str
    candidate: str
    since: datetime
    until: datetime
    min_n: int
    alpha: float
    lines: list[Line] = field(default_factory=list)
    drift: list[DriftLine] = field(default_factory=list)
    correction: str = CORRECTION
    # the two served apart for much of the period (`services.compare_period.side_by_side`)
    period_note: str | None = None

    def flagged(self, verdict: Verdict) -> list[Line]:
        return [line for line in self.lines if line.verdict == verdict]


def previous_release(store: ResultsStore, monitor: str, candidate: str) -> str | None:
    """The release `candidate` replaced, by the stored results (`core.releases`)."""
    return replaced(candidate, store.release_first_seen(monitor))


def _rate_points(
    store: ResultsStore, monitor: str, release: str, since: datetime, until: datetime
) -> dict[tuple[str, str], list[tuple[float, int]]]:
    """(metric, cohort) -> the (value, n) of each window in the period, from the store."""
    out: dict[tuple[str, str], list[tuple[float, int]]] = {}
    for row in store.metrics(monitor, release=release, since=since, until=until):
        if is_compared_rate(row["metric"]) and row["n"] > 0:
            out.setdefault((row["metric"], row["cohort"]), []).append(
                (float(row["value"]), int(row["n"]))
            )
    return out


def _pool_pair(
    metric: str, base: list[tuple[float, int]], cand: list[tuple[float, int]]
) -> tuple[tuple[int, int], tuple[int, int]]:
    """(successes, n) of each side. An expectation whose values are only 0 and 1 passes or
    fails per window (not a share of rows): its windows are counted instead, on both sides."""
    values = {v for v, _ in base + cand}
    if metric.startswith("validation.") and values <= {0.0, 1.0} and 1.0 in values:
        return (
            (sum(1 for v, _ in base if v >= 1.0), len(base)),
            (sum(1 for v, _ in cand if v >= 1.0), len(cand)),
        )

    def pooled(points: list[tuple[float, int]]) -> tuple[int, int]:
        return round(sum(v * n for v, n in points)), sum(n for _, n in points)

    return pooled(base), pooled(cand)


def _samples(
    warehouse: Warehouse,
    monitor: Monitor,
    releases: tuple[str, str],
    period: Window,
    dimensions: Sequence[str],
    max_sample: int,
    seed: int,
    cap: CohortCap | None = None,
) -> dict[tuple[str, str, str], np.ndarray]:
    """(release, cohort, column) -> values: latency, TTFT, tokens, cost per record and per
    trace of the period (cohort values beyond `cap` pooled as `(other)`, as the stored results
    are)."""
    cap = cap or CohortCap()
    wanted = [
        f
        for f in ("latency_ms", "ttft_ms", "cost_usd", "prompt_tokens", "completion_tokens")
        if monitor.source.maps(f)
    ]
    extra = [f for f in ("model_version", "trace_id") if f in monitor.source.columns]
    fields = sorted({*monitor.source.release, *wanted, *extra})
    frame = warehouse.read_window(monitor, period, fields)
    frame = frame.assign(_release=release_labels(frame, monitor.source.release))
    frame = frame[frame["_release"].isin(releases)]
    cost = row_cost(frame, metric_settings(monitor))
    if cost is not None:
        frame = frame.assign(_cost=cost)
        trace = frame["trace_id"] if "trace_id" in frame else pd.Series(frame.index, frame.index)
        frame = frame.assign(_trace=as_labels(trace))
    rng = np.random.default_rng(seed)
    out: dict[tuple[str, str, str], np.ndarray] = {}
    for dimension in [None, *dimensions]:
        labels = (
            pd.Series(ALL_COHORTS, index=frame.index)
            if dimension is None
            else pd.Series(
                cap.apply(dimension, as_labels(frame[dimension]).to_numpy()), index=frame.index
            ).map(lambda v, d=dimension: cohort_label(d, v))
        )
        for (release, cohort), group in frame.groupby([frame["_release"], labels], sort=False):
            for column in ("latency_ms", "ttft_ms", "prompt_tokens", "completion_tokens"):
                if column in group:
                    values = _measured(group[column])
                    out[(release, cohort, column)] = _cap(values, max_sample, rng)
            if "_cost" in group:
                per_record = _measured(group["_cost"])
                out[(release, cohort, "request_cost")] = _cap(per_record, max_sample, rng)
                per_trace = group.groupby("_trace")["_cost"].sum(min_count=1).dropna()
                out[(release, cohort, "trace_cost")] = _cap(
                    per_trace.to_numpy(float), max_sample, rng
                )
    return out


def _measured(column: pd.Series) -> np.ndarray:
    """A column's values that are measurements: numbers, finite, not negative (a latency of
    -1 is a logging bug that validation quarantines; it is no sample of the release)."""
    values = pd.to_numeric(column, errors="coerce").to_numpy(float)
    return values[np.isfinite(values) & (values >= 0)]


def _cap(values: np.ndarray, limit: int, rng: np.random.Generator) -> np.ndarray:
    return values if len(values) <= limit else rng.choice(values, limit, replace=False)


def compare_releases(
    store: ResultsStore,
    warehouse: Warehouse,
    monitor: Monitor,
    baseline: str,
    candidate: str,
    since: datetime,
    until: datetime,
    *,
    cohorts: Sequence[str] | None = None,
    min_n: int = 100,
    alpha: float = 0.05,
    max_sample: int = 5000,
    resamples: int = 400,
    seed: int = 0,
) -> Comparison:
    """Every compared metric of `candidate` against `baseline`, overall and per cohort value
    of `cohorts` (default: the monitor's cohort columns)."""
    dimensions = list(monitor.source.cohorts if cohorts is None else cohorts)

    def wanted(cohort: str) -> bool:
        return cohort == ALL_COHORTS or cohort.split("=", 1)[0] in dimensions

    pair = (baseline, candidate)
    drafts = _rate_drafts(store, monitor.name, pair, since, until, wanted, min_n)
    samples = _samples(
        warehouse,
        monitor,
        pair,
        Window(since, until),
        dimensions,
        max_sample,
        seed,
        choose_cohorts(
            {},
            store.cohort_traffic(monitor.name, since, until),
            monitor.source.max_cohort_values,
        ),
    )
    drafts += _numeric_drafts(samples, pair, min_n, resamples, seed)
    tested = [i for i, d in enumerate(drafts) if d[4] is not None]
    adjusted = dict(
        zip(tested, holm([drafts[i][4].p_value for i in tested]), strict=True)  # type: ignore[union-attr]
    )
    result = Comparison(monitor.name, baseline, candidate, since, until, min_n, alpha)
    for index, (metric, cohort, n1, n2, diff, test) in enumerate(drafts):
        p = adjusted.get(index)
        direction = None if metric in VOLUMES else lower_is_better(metric)
        verdict = decide(diff, 1.0 if p is None else p, direction, alpha)
        result.lines.append(Line(metric, cohort, n1, n2, diff, p, verdict, test))
    result.lines.sort(key=lambda line: (line.metric, line.cohort != ALL_COHORTS, line.cohort))
    result.drift = _drift_lines(store, monitor.name, candidate, since, until, wanted)
    return result


# metric, cohort, n baseline, n candidate, the difference (None: too few), the test's name
_Draft = tuple[str, str, int, int, Difference | None, str]


def _rate_drafts(
    store: ResultsStore,
    monitor: str,
    pair: tuple[str, str],
    since: datetime,
    until: datetime,
    wanted: Callable[[str], bool],
    min_n: int,
) -> list[_Draft]:
    """Rates pooled from the stored windows of both releases: two-proportion differences."""
    base_rates = _rate_points(store, monitor, pair[0], since, until)
    cand_rates = _rate_points(store, monitor, pair[1], since, until)
    drafts: list[_Draft] = []
    for metric, cohort in sorted(set(base_rates) | set(cand_rates)):
        if not wanted(cohort):
            continue
        (x1, n1), (x2, n2) = _pool_pair(
            metric, base_rates.get((metric, cohort), []), cand_rates.get((metric, cohort), [])
        )
        diff = proportions(x1, n1, x2, n2) if min(n1, n2) >= min_n else None
        drafts.append((metric, cohort, n1, n2, diff, "two proportions"))
    return drafts


def _numeric_drafts(
    samples: Mapping[tuple[str, str, str], np.ndarray],
    pair: tuple[str, str],
    min_n: int,
    resamples: int,
    seed: int,
) -> list[_Draft]:
    """Latency, tokens and cost from the releases' row samples: bootstrap differences of
    each metric's statistic (a median, a p95, a mean); the metrics of one column share its
    resamples (`bootstrap_differences`)."""
    by_column: dict[str, dict[str, Callable[[np.ndarray], np.ndarray]]] = {}
    for metric, (column, statistic) in NUMERIC.items():
        by_column.setdefault(column, {})[metric] = statistic
    found: dict[tuple[str, str], Difference] = {}
    cohort_names = sorted({cohort for _, cohort, _ in samples})
    for column, statistics in by_column.items():
        for cohort in cohort_names:
            b = samples.get((pair[0], cohort, column))
            c = samples.get((pair[1], cohort, column))
            if b is not None and c is not None and min(len(b), len(c)) >= min_n:
                diffs = bootstrap_differences(b, c, statistics, resamples=resamples, seed=seed)
                found.update({(metric, cohort): diff for metric, diff in diffs.items()})
    drafts: list[_Draft] = []
    for metric, (column, _) in NUMERIC.items():
        for cohort in cohort_names:
            b = samples.get((pair[0], cohort, column))
            c = samples.get((pair[1], cohort, column))
            if b is None and c is None:
                continue
            n1 = 0 if b is None else len(b)
            n2 = 0 if c is None else len(c)
            drafts.append((metric, cohort, n1, n2, found.get((metric, cohort)), "bootstrap"))
    return drafts


def _drift_lines(
    store: ResultsStore,
    monitor: str,
    candidate: str,
    since: datetime,
    until: datetime,
    wanted: Callable[[str], bool],
) -> list[DriftLine]:
    counts: dict[tuple[str, str, str], list[int]] = {}
    for row in store.drift(monitor, since=since):
        if row["window_start"] >= until or row["release"] != candidate:
            continue
        if row["drifted"] is None or not wanted(row["cohort"]):
            continue
        acc = counts.setdefault((row["cohort"], row["column_name"], row["reference"]), [0, 0])
        acc[0] += 1
        acc[1] += int(bool(row["drifted"]))
    return [
        DriftLine(cohort, column, reference, windows, drifted)
        for (cohort, column, reference), (windows, drifted) in sorted(counts.items())
        if drifted
    ]
