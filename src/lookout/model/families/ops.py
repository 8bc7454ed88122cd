"""The ops metric families and how each is computed from a (merged) summary.

Summary keys written by the ops stage: `n`, `status_n`, `errors`, `status_rate:<name>` and
`status_n:<name>` (of `source.status_rates`), `fallback_n`, `fallbacks`,
`retry_n`, `retried`, `feedback_n`, `negative_feedback`, `<field>_n` and `<field>_sum` for
tokens and cost, `traces`; sketches `latency_ms`, `ttft_ms`, `prompt_tokens`,
`completion_tokens`, `cost_usd`.
"""

from __future__ import annotations

from collections.abc import Callable

from lookout.core.stats import wilson_interval
from lookout.core.summary import Summary
from lookout.model.families.base import Estimate, MetricFamily

__all__ = ["FAMILIES", "QUANTILES", "rate_of"]

QUANTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99}
# What a rule on a tail quantile needs by default: about ten records beyond the quantile, so two
# or three timeouts in a small window do not move "p95" by themselves (pooled over `over`).
_QUANTILE_MIN_N = {"p50": 30, "p95": 200, "p99": 1000}


def rate_of(hits_key: str, n_key: str) -> Callable[[Summary, str], Estimate | None]:
    def rate(summary: Summary, _: str) -> Estimate | None:
        n = summary.count(n_key)
        if n <= 0:
            return None
        hits = min(summary.count(hits_key), n)
        low, high = wilson_interval(hits, n)
        return Estimate(hits / n, int(n), low, high)

    return rate


def _status_rate(summary: Summary, name: str) -> Estimate | None:
    """`status_rate.<name>` over the windows that counted it (a rate added later does not
    pool the windows before it as zeros)."""
    return rate_of(f"status_rate:{name}", f"status_n:{name}")(summary, name)


def _quantile(sketch_key: str, q: float) -> Callable[[Summary, str], Estimate | None]:
    def quantile(summary: Summary, _: str) -> Estimate | None:
        sketch = summary.sketches.get(sketch_key)
        if sketch is None or sketch.count <= 0:
            return None
        value = sketch.quantile(q)
        return None if value is None else Estimate(value, int(sketch.count))

    return quantile


def _mean(sum_key: str, n_key: str) -> Callable[[Summary, str], Estimate | None]:
    def mean(summary: Summary, _: str) -> Estimate | None:
        n = summary.count(n_key)
        return None if n <= 0 else Estimate(summary.count(sum_key) / n, int(n))

    return mean


def _per_window(key: str) -> Callable[[Summary, str], Estimate | None]:
    def per_window(summary: Summary, _: str) -> Estimate | None:
        total = summary.count(key)
        windows = max(1, summary.windows)
        return Estimate(total / windows, int(total))

    return per_window


def _counts_and_rates() -> list[MetricFamily]:
    """Records, and shares with a numerator and a denominator (exact when pooled)."""
    return [
        MetricFamily(
            "request_count",
            "ops",
            "records in the window",
            "count",
            min_n=1,
            persistence=1,
            per_window=True,
            from_summary=_per_window("n"),
        ),
        MetricFamily(
            "error_rate",
            "ops",
            "share of records whose status is not an ok status",
            "share",
            rate=True,
            min_n=50,
            better="lower",
            from_summary=rate_of("errors", "status_n"),
        ),
        MetricFamily(
            "fallback_rate",
            "ops",
            "share of records served by a fallback",
            "share",
            rate=True,
            min_n=50,
            better="lower",
            from_summary=rate_of("fallbacks", "fallback_n"),
        ),
        MetricFamily(
            "retry_rate",
            "ops",
            "share of records retried at least once",
            "share",
            rate=True,
            min_n=50,
            better="lower",
            from_summary=rate_of("retried", "retry_n"),
        ),
        MetricFamily(
            "negative_feedback_rate",
            "ops",
            "share of negative feedback among records with feedback",
            "share",
            rate=True,
            min_n=30,
            better="lower",
            from_summary=rate_of("negative_feedback", "feedback_n"),
        ),
    ]


def _means() -> list[MetricFamily]:
    """Tokens and cost: exact means merged from sums and counts."""
    return [
        MetricFamily(
            "prompt_tokens_mean",
            "ops",
            "mean prompt (input) tokens per record",
            "tokens",
            better="lower",
            from_summary=_mean("prompt_tokens_sum", "prompt_tokens_n"),
        ),
        MetricFamily(
            "completion_tokens_mean",
            "ops",
            "mean completion (output) tokens per record",
            "tokens",
            better="lower",
            from_summary=_mean("completion_tokens_sum", "completion_tokens_n"),
        ),
        MetricFamily(
            "cost_per_request_usd",
            "ops",
            "mean cost per record",
            "usd",
            better="lower",
            from_summary=_mean("cost_sum", "cost_n"),
        ),
        MetricFamily(
            "cost_per_trace_usd",
            "ops",
            "total cost / distinct traces (records when no trace id)",
            "usd",
            better="lower",
            from_summary=_mean("cost_sum", "traces"),
        ),
    ]


def _quantiles() -> list[MetricFamily]:
    """Latency and TTFT percentiles, from the mergeable sketches (tails need more records)."""
    out = []
    for prefix, sketch_key, what in (
        ("latency", "latency_ms", "latency"),
        ("ttft", "ttft_ms", "time to first token"),
    ):
        for name, q in QUANTILES.items():
            label = "median" if name == "p50" else f"{round(q * 100)}th percentile"
            out.append(
                MetricFamily(
                    f"{prefix}_{name}_ms",
                    "ops",
                    f"{label} {what}",
                    "ms",
                    quantile=q,
                    min_n=_QUANTILE_MIN_N[name],
                    better="lower",
                    from_summary=_quantile(sketch_key, q),
                )
            )
    return out


# `source.status_rates`: a rate per named group of status values
STATUS_RATE = MetricFamily(
    "status_rate.",
    "ops",
    "share of records whose status is one of the values of status_rates.{name}",
    "share",
    rate=True,
    min_n=50,
    better="lower",
    from_summary=_status_rate,
)

FAMILIES: tuple[MetricFamily, ...] = (
    *_counts_and_rates(),
    STATUS_RATE,
    *_means(),
    *_quantiles(),
)
