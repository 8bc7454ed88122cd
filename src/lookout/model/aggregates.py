"""The ops aggregates of one release x cohort, the metric values made from them, and the labels
that name releases and cohorts (pure). The warehouse's pushdown and the pandas path both produce
`GroupAggregates`; the store keeps `MetricValue`s."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import numpy as np
import pandas as pd

from lookout.core.sketch import Sketch
from lookout.core.summary import Summary
from lookout.core.values import ConfiguredValue
from lookout.model.record import is_missing

__all__ = [
    "ALL_COHORTS",
    "FEEDBACK_RATE",
    "QUANTILES",
    "UNKNOWN",
    "GroupAggregates",
    "MetricSettings",
    "MetricValue",
    "as_labels",
    "cohort_dimension",
    "cohort_label",
    "label_text",
    "release_labels",
    "status_counts",
    "votes_only",
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
    # set when the value was pooled over several windows: the start of the pooled period
    pooled_from: datetime | None = None


@dataclass(frozen=True)
class MetricSettings:
    """What the metrics need to know about a source (from monitors.yml)."""

    # typed for their columns where the table is known (`lookout.sources.column_types`);
    # matched by `lookout.core.values` (200 is "200"; feedback without case)
    ok_statuses: tuple[ConfiguredValue, ...] = ("ok", "success")
    null_status_ok: bool = False  # a NULL status is a success (`source.null_status: ok`)
    negative_feedback: tuple[ConfiguredValue, ...] = ("thumbs_down", "negative", "-1")
    negative_below: float | None = (
        None  # a score below this is negative (`source.negative_feedback_below`)
    )
    # model_version -> (USD per 1M input tokens, USD per 1M output tokens)
    prices: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    # name -> status values whose share of the records is `status_rate.<name>`
    status_rates: Mapping[str, tuple[ConfiguredValue, ...]] = field(default_factory=dict)


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
    # `source.status_rates` name -> records whose status is one of its values (of status_n)
    status_hits: Mapping[str, int] = field(default_factory=dict)
    # mergeable quantile sketches of latency_ms, ttft_ms, prompt_tokens, completion_tokens,
    # cost_usd (what pooled quantiles over any lookback come from)
    sketches: Mapping[str, Sketch] = field(default_factory=dict)

    def summary(self) -> Summary:
        """The mergeable summary of this group (counts, sums, sketches)."""
        counts = {
            key: float(getattr(self, key))
            for key in (
                "n",
                "status_n",
                "errors",
                "fallback_n",
                "fallbacks",
                "retry_n",
                "retried",
                "feedback_n",
                "negative_feedback",
                "prompt_tokens_n",
                "prompt_tokens_sum",
                "completion_tokens_n",
                "completion_tokens_sum",
                "cost_n",
                "cost_sum",
                "traces",
            )
            if getattr(self, key)
        }
        for name, hits in self.status_hits.items():  # each with its own denominator: a
            # rate added later pools only the windows that counted it
            counts |= {key: float(v) for key, v in status_counts(name, hits, self.status_n)}
        # a group's votes alone, logged apart and given in a window without its records:
        # no window of its own, so per-window means (request_count) are not diluted
        windows = 1 if self.n else 0
        return Summary(counts, {k: v.copy() for k, v in self.sketches.items()}, windows=windows)


def status_counts(name: str, hits: int, n: int) -> list[tuple[str, int]]:
    """The summary counts of `status_rate.<name>`: its records among `n` with a status."""
    return [(key, v) for key, v in ((f"status_rate:{name}", hits), (f"status_n:{name}", n)) if v]


FEEDBACK_RATE = "negative_feedback_rate"
_VOTE_COUNTS = frozenset({"feedback_n", "negative_feedback"})


def votes_only(summary: Summary) -> bool:
    """A summary of votes on earlier records (`source.feedback_table`), with no record of its
    own window: what the windows a group had records in leave out."""
    return (
        summary.windows == 0
        and bool(summary.counts)
        and summary.counts.keys() <= _VOTE_COUNTS
        and not summary.sketches
        and not summary.categories
    )


def cohort_label(dimension: str | None, value: object) -> str:
    """`region=apac`; the whole release is `*`. Nulls become `(null)` so they stay visible."""
    if dimension is None:
        return ALL_COHORTS
    return f"{dimension}={label_text(value)}"


def cohort_dimension(cohort: str) -> str:
    """The column of a cohort label (`region` of `region=apac`; `*` of the whole release)."""
    return cohort.split("=", 1)[0]


def label_text(value: object) -> str:
    """A value as a cohort or release label: the same whether the engine hands back a float,
    an integer or a decimal (3.0, 3 and Decimal('3.0') are `3`; Decimal('2.50') is `2.5`),
    so labels from pandas frames and from raw SQL values match."""
    if is_missing(value):
        return UNKNOWN
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Decimal) and value.is_finite():
        if value == value.to_integral_value():
            return str(int(value))
        return format(value.normalize(), "f")
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
