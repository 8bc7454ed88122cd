"""Ops metrics per release x cohort, as pure functions of a window's records.

Two steps keep the SQL pushdown honest: records (or a GROUP BY in the warehouse) become
`GroupAggregates` (counts, sums, quantiles), and one function turns aggregates into metric values.
Both paths share that second step, so they cannot disagree on what a metric means.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from lookout.checks.stats import wilson_interval
from lookout.core.cohorts import CohortCap
from lookout.core.sketch import Sketch
from lookout.core.values import matches, negative_votes
from lookout.model.aggregates import (
    ALL_COHORTS,
    QUANTILES,
    GroupAggregates,
    MetricSettings,
    MetricValue,
    as_labels,
    release_labels,
)

__all__ = [
    "aggregate_frame",
    "compute_ops_metrics",
    "metrics_from_aggregates",
    "with_votes",
]


def row_cost(frame: pd.DataFrame, settings: MetricSettings) -> pd.Series | None:
    if "cost_usd" in frame:
        return pd.to_numeric(frame["cost_usd"], errors="coerce")
    needed = {"model_version", "prompt_tokens", "completion_tokens"}
    if not settings.prices or not needed <= set(frame.columns):
        return None
    models = frame["model_version"]
    price_in = models.map({m: p[0] for m, p in settings.prices.items()})
    price_out = models.map({m: p[1] for m, p in settings.prices.items()})
    prompt = pd.to_numeric(frame["prompt_tokens"], errors="coerce")
    completion = pd.to_numeric(frame["completion_tokens"], errors="coerce")
    return (prompt * price_in.astype(float) + completion * price_out.astype(float)) / 1_000_000


def _quantiles(values: np.ndarray) -> tuple[int, dict[str, float]]:
    clean = values[~np.isnan(values)]
    if clean.size == 0:
        return 0, {}
    # numpy's default (linear) method equals SQL percentile_cont / quantile_cont.
    points = np.quantile(clean, list(QUANTILES.values()))
    return int(clean.size), {name: float(v) for name, v in zip(QUANTILES, points, strict=True)}


def _numbers(frame: pd.DataFrame, name: str) -> np.ndarray | None:
    if name not in frame:
        return None
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


@dataclass(frozen=True)
class _RowFacts:
    """Per-record facts computed once per window as numpy arrays; groups only index them."""

    status_known: np.ndarray | None
    is_error: np.ndarray | None
    fallback_known: np.ndarray | None
    is_fallback: np.ndarray | None
    retry_known: np.ndarray | None
    retried: np.ndarray | None
    feedback_known: np.ndarray | None
    negative: np.ndarray | None
    latency: np.ndarray | None
    ttft: np.ndarray | None
    prompt_tokens: np.ndarray | None
    completion_tokens: np.ndarray | None
    cost: np.ndarray | None
    trace_codes: np.ndarray | None
    trace_count: int = 0
    status_hits: dict[str, np.ndarray] = field(default_factory=dict)  # `status_rates` name ->


def _row_facts(frame: pd.DataFrame, s: MetricSettings) -> _RowFacts:
    status_known = is_error = fallback_known = is_fallback = None
    retry_known = retried = feedback_known = negative = None
    hits: dict[str, np.ndarray] = {}
    if "status" in frame:
        logged = frame["status"].notna().to_numpy()
        is_error = logged & ~matches(frame["status"], s.ok_statuses)
        status_known = np.ones(len(frame), dtype=bool) if s.null_status_ok else logged
        hits = {name: logged & matches(frame["status"], v) for name, v in s.status_rates.items()}
    if "is_fallback" in frame:
        flags = frame["is_fallback"]
        fallback_known = flags.notna().to_numpy()
        is_fallback = fallback_known & flags.fillna(False).astype(bool).to_numpy()
    retries = _numbers(frame, "retry_count")
    if retries is not None:
        retry_known = ~np.isnan(retries)
        retried = retry_known & (np.nan_to_num(retries) > 0)
    if "feedback" in frame:
        feedback_known = frame["feedback"].notna().to_numpy()
        negative = negative_votes(frame["feedback"], s.negative_feedback, s.negative_below)
    cost = row_cost(frame, s)
    trace_codes, trace_count = None, 0
    if cost is not None and "trace_id" in frame:
        trace_codes, uniques = pd.factorize(frame["trace_id"], use_na_sentinel=True)
        trace_count = len(uniques)
    return _RowFacts(
        status_known=status_known,
        is_error=is_error,
        fallback_known=fallback_known,
        is_fallback=is_fallback,
        retry_known=retry_known,
        retried=retried,
        feedback_known=feedback_known,
        negative=negative,
        latency=_numbers(frame, "latency_ms"),
        ttft=_numbers(frame, "ttft_ms"),
        prompt_tokens=_numbers(frame, "prompt_tokens"),
        completion_tokens=_numbers(frame, "completion_tokens"),
        cost=None if cost is None else cost.to_numpy(dtype=float, na_value=np.nan),
        trace_codes=trace_codes,
        trace_count=trace_count,
        status_hits=hits,
    )


def _distinct(codes: np.ndarray, universe: int) -> int:
    """Distinct factorized codes by marking (O(n); np.unique sorts and dominated the profile)."""
    seen = np.zeros(universe, dtype=bool)
    seen[codes] = True
    return int(np.count_nonzero(seen))


def _count(flags: np.ndarray | None, rows: np.ndarray) -> int:
    return 0 if flags is None else int(np.count_nonzero(flags[rows]))


def _aggregate_group(release: str, cohort: str, rows: np.ndarray, f: _RowFacts) -> GroupAggregates:
    agg: dict[str, object] = {"release": release, "cohort": cohort, "n": int(rows.size)}
    agg["status_n"], agg["errors"] = _count(f.status_known, rows), _count(f.is_error, rows)
    agg["fallback_n"] = _count(f.fallback_known, rows)
    agg["fallbacks"] = _count(f.is_fallback, rows)
    agg["retry_n"], agg["retried"] = _count(f.retry_known, rows), _count(f.retried, rows)
    agg["feedback_n"] = _count(f.feedback_known, rows)
    agg["negative_feedback"] = _count(f.negative, rows)
    agg["status_hits"] = {name: _count(flags, rows) for name, flags in f.status_hits.items()}
    sketches: dict[str, Sketch] = {}
    if f.latency is not None:
        agg["latency_n"], agg["latency_q"] = _quantiles(f.latency[rows])
        sketches["latency_ms"] = Sketch.of(f.latency[rows])
    if f.ttft is not None:
        agg["ttft_n"], agg["ttft_q"] = _quantiles(f.ttft[rows])
        sketches["ttft_ms"] = Sketch.of(f.ttft[rows])
    for name, values in (
        ("prompt_tokens", f.prompt_tokens),
        ("completion_tokens", f.completion_tokens),
        ("cost_usd", f.cost),
    ):
        if values is not None:
            sketches[name] = Sketch.of(values[rows])
    agg["sketches"] = sketches
    for name, values in (
        ("prompt_tokens", f.prompt_tokens),
        ("completion_tokens", f.completion_tokens),
    ):
        if values is not None:
            part = values[rows]
            known = ~np.isnan(part)
            agg[f"{name}_n"], agg[f"{name}_sum"] = int(known.sum()), float(part[known].sum())
    if f.cost is not None:
        part = f.cost[rows]
        priced = ~np.isnan(part)
        agg["cost_n"], agg["cost_sum"] = int(priced.sum()), float(part[priced].sum())
        if f.trace_codes is not None:
            codes = f.trace_codes[rows][priced]
            agg["traces"] = _distinct(codes[codes >= 0], f.trace_count)
        else:
            agg["traces"] = int(priced.sum())
    return GroupAggregates(**agg)  # type: ignore[arg-type]


def aggregate_frame(
    frame: pd.DataFrame,
    release_fields: Sequence[str],
    cohort_columns: Sequence[str],
    settings: MetricSettings,
    cap: CohortCap | None = None,
) -> list[GroupAggregates]:
    """Per release: the whole release (`*`) and every value of every cohort column (values
    beyond the cap pooled as `(other)`)."""
    if frame.empty:
        return []
    facts = _row_facts(frame, settings)
    releases = release_labels(frame, release_fields).to_numpy()
    out: list[GroupAggregates] = []
    by_release = pd.Series(releases).groupby(releases, sort=True).indices
    cap = cap or CohortCap()
    cohort_labels = {
        dim: cap.apply(dim, as_labels(frame[dim]).to_numpy()) for dim in cohort_columns
    }
    for release, rows in by_release.items():
        out.append(_aggregate_group(str(release), ALL_COHORTS, rows, facts))
        for dimension in cohort_columns:
            values = cohort_labels[dimension][rows]
            for value, positions in pd.Series(values).groupby(values, sort=True).indices.items():
                label = f"{dimension}={value}"
                out.append(_aggregate_group(str(release), label, rows[positions], facts))
    return out


def with_votes(
    aggregates: Sequence[GroupAggregates],
    votes: pd.DataFrame,
    release_fields: Sequence[str],
    cohort_columns: Sequence[str],
    settings: MetricSettings,
    cap: CohortCap | None = None,
) -> list[GroupAggregates]:
    """The window's aggregates with their feedback counted from the votes given in it (logged
    in a table of their own: `source.feedback_table`), under the release and cohorts of the
    records they rate, capped as the records are. A group with votes and no record in this
    window (votes on yesterday's answers) joins with only its feedback counts (`n` 0)."""
    columns = [*dict.fromkeys([*release_fields, *cohort_columns]), "feedback"]
    counted = {
        (v.release, v.cohort): v
        for v in aggregate_frame(votes[columns], release_fields, cohort_columns, settings, cap)
    }
    out = [
        replace(a, feedback_n=v.feedback_n, negative_feedback=v.negative_feedback)
        if (v := counted.pop((a.release, a.cohort), None)) is not None
        else replace(a, feedback_n=0, negative_feedback=0)
        for a in aggregates
    ]
    out += [
        GroupAggregates(
            v.release, v.cohort, 0, feedback_n=v.feedback_n, negative_feedback=v.negative_feedback
        )
        for v in counted.values()
    ]
    return out


def _rate(release: str, cohort: str, metric: str, hits: int, n: int) -> MetricValue | None:
    if n <= 0:
        return None
    low, high = wilson_interval(hits, n)
    return MetricValue(release, cohort, metric, hits / n, n, low, high)


def metrics_from_aggregates(aggregates: Iterable[GroupAggregates]) -> list[MetricValue]:
    """The ops metrics of each group; a metric whose inputs are absent is left out, not zero."""
    out: list[MetricValue] = []
    for a in aggregates:
        r, c = a.release, a.cohort
        if a.n > 0:  # a group of votes on earlier records only has its feedback rate
            out.append(MetricValue(r, c, "request_count", float(a.n), a.n))
        for metric, hits, n in (
            ("error_rate", a.errors, a.status_n),
            ("fallback_rate", a.fallbacks, a.fallback_n),
            ("retry_rate", a.retried, a.retry_n),
            ("negative_feedback_rate", a.negative_feedback, a.feedback_n),
        ):
            rate = _rate(r, c, metric, hits, n)
            if rate is not None:
                out.append(rate)
        for name, count in sorted(a.status_hits.items()):
            if (rate := _rate(r, c, f"status_rate.{name}", count, a.status_n)) is not None:
                out.append(rate)
        for prefix, n, q in (("latency", a.latency_n, a.latency_q), ("ttft", a.ttft_n, a.ttft_q)):
            for name, value in sorted(q.items()):
                out.append(MetricValue(r, c, f"{prefix}_{name}_ms", value, n))
        for name, n, total in (
            ("prompt_tokens_mean", a.prompt_tokens_n, a.prompt_tokens_sum),
            ("completion_tokens_mean", a.completion_tokens_n, a.completion_tokens_sum),
            ("cost_per_request_usd", a.cost_n, a.cost_sum),
        ):
            if n > 0:
                out.append(MetricValue(r, c, name, total / n, n))
        if a.traces > 0:
            out.append(MetricValue(r, c, "cost_per_trace_usd", a.cost_sum / a.traces, a.traces))
    return out


def compute_ops_metrics(
    frame: pd.DataFrame,
    release_fields: Sequence[str],
    cohort_columns: Sequence[str],
    settings: MetricSettings | None = None,
    cap: CohortCap | None = None,
) -> list[MetricValue]:
    """Records of one window -> ops metrics per release x cohort."""
    aggregates = aggregate_frame(
        frame, release_fields, cohort_columns, settings or MetricSettings(), cap
    )
    return metrics_from_aggregates(aggregates)
