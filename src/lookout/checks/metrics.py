"""Ops metrics per release x cohort, as pure functions of a window's records.

Two steps keep the SQL pushdown honest: records (or a GROUP BY in the warehouse) become
`GroupAggregates` (counts, sums, quantiles), and one function turns aggregates into metric values.
Both paths share that second step, so they cannot disagree on what a metric means.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lookout.checks.stats import wilson_interval

__all__ = [
    "ALL_COHORTS",
    "QUANTILES",
    "GroupAggregates",
    "MetricSettings",
    "MetricValue",
    "aggregate_frame",
    "as_labels",
    "cohort_label",
    "compute_ops_metrics",
    "label_text",
    "metrics_from_aggregates",
    "release_labels",
]

ALL_COHORTS = "*"
UNKNOWN = "(null)"
QUANTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99}


@dataclass(frozen=True)
class MetricValue:
    """One number about one release x cohort in one window, with its sample size."""

    release: str
    cohort: str
    metric: str
    value: float
    n: int
    ci_low: float | None = None
    ci_high: float | None = None


@dataclass(frozen=True)
class MetricSettings:
    """What the metrics need to know about a source (from monitors.yml)."""

    ok_statuses: tuple[str, ...] = ("ok", "success")
    negative_feedback: tuple[str, ...] = ("thumbs_down", "negative", "-1")
    # model_version -> (USD per 1M input tokens, USD per 1M output tokens)
    prices: Mapping[str, tuple[float, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class GroupAggregates:
    """Everything the metrics of one release x cohort are derived from."""

    release: str
    cohort: str
    n: int
    status_n: int = 0
    errors: int = 0
    fallback_n: int = 0
    fallbacks: int = 0
    retry_n: int = 0
    retried: int = 0
    feedback_n: int = 0
    negative_feedback: int = 0
    latency_n: int = 0
    latency_q: Mapping[str, float] = field(default_factory=dict)
    ttft_n: int = 0
    ttft_q: Mapping[str, float] = field(default_factory=dict)
    prompt_tokens_n: int = 0
    prompt_tokens_sum: float = 0.0
    completion_tokens_n: int = 0
    completion_tokens_sum: float = 0.0
    cost_n: int = 0
    cost_sum: float = 0.0
    traces: int = 0


def cohort_label(dimension: str | None, value: object) -> str:
    """`region=apac`; the whole release is `*`. Nulls become `(null)` so they stay visible."""
    if dimension is None:
        return ALL_COHORTS
    return f"{dimension}={label_text(value)}"


def label_text(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return UNKNOWN
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def as_labels(values: pd.Series) -> pd.Series:
    """Vectorised `_text`: format each distinct value once (windows have few distinct values)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    table = np.array([label_text(u) for u in uniques] + [UNKNOWN], dtype=object)
    return pd.Series(table[codes], index=values.index, dtype=object)


def release_labels(frame: pd.DataFrame, release_fields: Sequence[str]) -> pd.Series:
    """The release of each record: its release fields joined with `@` (`gpt-4o@support-v7`)."""
    if not release_fields:
        return pd.Series("default", index=frame.index, dtype=object)
    parts = [as_labels(frame[name]) for name in release_fields]
    label = parts[0]
    for part in parts[1:]:
        label = label + "@" + part
    return label.astype(object)


def _row_cost(frame: pd.DataFrame, settings: MetricSettings) -> pd.Series | None:
    if "cost_usd" in frame:
        return pd.to_numeric(frame["cost_usd"], errors="coerce")
    needed = {"model_version", "prompt_tokens", "completion_tokens"}
    if not settings.prices or not needed <= set(frame.columns):
        return None
    price_in = frame["model_version"].map(lambda m: settings.prices.get(m, (np.nan, np.nan))[0])
    price_out = frame["model_version"].map(lambda m: settings.prices.get(m, (np.nan, np.nan))[1])
    prompt = pd.to_numeric(frame["prompt_tokens"], errors="coerce")
    completion = pd.to_numeric(frame["completion_tokens"], errors="coerce")
    return (prompt * price_in.astype(float) + completion * price_out.astype(float)) / 1_000_000


def _quantiles(values: pd.Series) -> tuple[int, dict[str, float]]:
    clean = values.dropna()
    if clean.empty:
        return 0, {}
    # numpy's default (linear) method equals SQL percentile_cont / quantile_cont.
    points = np.quantile(clean.to_numpy(dtype=float), list(QUANTILES.values()))
    return len(clean), {name: float(v) for name, v in zip(QUANTILES, points, strict=True)}


def _aggregate_group(
    release: str, cohort: str, group: pd.DataFrame, cost: pd.Series | None, s: MetricSettings
) -> GroupAggregates:
    agg: dict[str, object] = {"release": release, "cohort": cohort, "n": len(group)}
    if "status" in group:
        status = as_labels(group["status"].dropna())
        agg["status_n"] = len(status)
        agg["errors"] = int((~status.isin(s.ok_statuses)).sum())
    if "is_fallback" in group:
        flags = group["is_fallback"].dropna().astype(bool)
        agg["fallback_n"], agg["fallbacks"] = len(flags), int(flags.sum())
    if "retry_count" in group:
        retries = pd.to_numeric(group["retry_count"], errors="coerce").dropna()
        agg["retry_n"], agg["retried"] = len(retries), int((retries > 0).sum())
    if "feedback" in group:
        feedback = as_labels(group["feedback"].dropna()).str.lower()
        agg["feedback_n"] = len(feedback)
        agg["negative_feedback"] = int(
            feedback.isin([v.lower() for v in s.negative_feedback]).sum()
        )
    if "latency_ms" in group:
        agg["latency_n"], agg["latency_q"] = _quantiles(pd.to_numeric(group["latency_ms"]))
    if "ttft_ms" in group:
        agg["ttft_n"], agg["ttft_q"] = _quantiles(pd.to_numeric(group["ttft_ms"]))
    for name in ("prompt_tokens", "completion_tokens"):
        if name in group:
            values = pd.to_numeric(group[name], errors="coerce").dropna()
            agg[f"{name}_n"], agg[f"{name}_sum"] = len(values), float(values.sum())
    if cost is not None:
        group_cost = cost.loc[group.index]
        priced = group_cost.notna()
        agg["cost_n"], agg["cost_sum"] = int(priced.sum()), float(group_cost[priced].sum())
        if "trace_id" in group:
            agg["traces"] = int(group.loc[priced, "trace_id"].nunique(dropna=True))
        else:
            agg["traces"] = int(priced.sum())
    return GroupAggregates(**agg)  # type: ignore[arg-type]


def aggregate_frame(
    frame: pd.DataFrame,
    release_fields: Sequence[str],
    cohort_columns: Sequence[str],
    settings: MetricSettings,
) -> list[GroupAggregates]:
    """Per release: the whole release (`*`) and every value of every cohort column."""
    if frame.empty:
        return []
    releases = release_labels(frame, release_fields)
    cost = _row_cost(frame, settings)
    out: list[GroupAggregates] = []
    for release, part in frame.groupby(releases, sort=True):
        out.append(_aggregate_group(str(release), ALL_COHORTS, part, cost, settings))
        for dimension in cohort_columns:
            keys = as_labels(part[dimension])
            for value, cohort_part in part.groupby(keys, sort=True):
                label = f"{dimension}={value}"
                out.append(_aggregate_group(str(release), label, cohort_part, cost, settings))
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
) -> list[MetricValue]:
    """Records of one window -> ops metrics per release x cohort."""
    aggregates = aggregate_frame(
        frame, release_fields, cohort_columns, settings or MetricSettings()
    )
    return metrics_from_aggregates(aggregates)
