"""Names of the metrics Lookout computes, so config can be checked before any data is read.

Later stages (validation, drift, evaluators) register their metric families here too.
"""

from __future__ import annotations

__all__ = [
    "KNOWN_METRICS",
    "OPS_METRICS",
    "RATE_METRICS",
    "VALIDATION_METRICS",
    "describe_metric",
    "is_known_metric",
    "is_quantile_metric",
    "is_rate_metric",
]

# metric name -> what it means (shown by `lookout validate-config` on a typo).
OPS_METRICS: dict[str, str] = {
    "request_count": "records in the window",
    "window_rows": "rows read in the window, all releases together (release and cohort `*`)",
    "error_rate": "share of records whose status is not an ok status",
    "latency_p50_ms": "median latency",
    "latency_p95_ms": "95th percentile latency",
    "latency_p99_ms": "99th percentile latency",
    "ttft_p50_ms": "median time to first token",
    "ttft_p95_ms": "95th percentile time to first token",
    "ttft_p99_ms": "99th percentile time to first token",
    "prompt_tokens_mean": "mean prompt (input) tokens per record",
    "completion_tokens_mean": "mean completion (output) tokens per record",
    "cost_per_request_usd": "mean cost per record",
    "cost_per_trace_usd": "total cost / distinct traces (records when no trace id)",
    "fallback_rate": "share of records served by a fallback",
    "retry_rate": "share of records retried at least once",
    "negative_feedback_rate": "share of negative feedback among records with feedback",
}

VALIDATION_METRICS: dict[str, str] = {
    "validation_failed_expectations": "expectations that failed (per release)",
    "quarantine_rate": "share of records quarantined by critical expectations",
}
# plus "validation.<expectation name>": that expectation's unexpected share (0..1)
VALIDATION_PREFIX = "validation."

DRIFT_METRICS: dict[str, str] = {
    "drift_share": "share of drifted columns among those with enough data (per release x cohort)",
}
# plus "drift.<column>" (1 drifted / 0 not) and "drift_score.<column>" (the method's score)
DRIFT_PREFIXES = ("drift.", "drift_score.")

# Evaluator families, per evaluator name (`eval.groundedness`), per release x cohort:
EVAL_PREFIXES: dict[str, str] = {
    "eval.": "pass rate of {name} on the stratified random sample (unbiased; Wilson interval)",
    "eval_flagged.": "pass rate of {name} on records sampled because they looked suspicious",
    "eval_score.": "mean score of {name} (0..1) on the random sample",
    "eval_errors.": "share of {name} attempts that errored (judge failures, never fails)",
    "eval_agreement.": "share of {name} labels agreeing with human labels (feedback/expected)",
    "eval_kappa.": "Cohen's kappa of {name} labels against human labels",
}
EVAL_RATE_PREFIXES = ("eval.", "eval_flagged.", "eval_errors.", "eval_agreement.")

KNOWN_METRICS: dict[str, str] = {**OPS_METRICS, **VALIDATION_METRICS, **DRIFT_METRICS}

# Rates carry a Wilson 95% interval; rules may require the interval to clear the threshold.
RATE_METRICS = frozenset(
    {"error_rate", "fallback_rate", "retry_rate", "negative_feedback_rate", "quarantine_rate"}
)


def is_rate_metric(name: str) -> bool:
    """Rates carry a Wilson interval, so rules can ask for significance."""
    return name in RATE_METRICS or name.startswith(EVAL_RATE_PREFIXES)


def is_known_metric(name: str) -> bool:
    prefixes = (VALIDATION_PREFIX, *DRIFT_PREFIXES, *EVAL_PREFIXES)
    return name in KNOWN_METRICS or any(
        name.startswith(prefix) and len(name) > len(prefix) for prefix in prefixes
    )


def describe_metric(name: str) -> str:
    """What a metric means, for messages and pages."""
    if name in KNOWN_METRICS:
        return KNOWN_METRICS[name]
    if name.startswith("drift_score."):
        return f"drift score of {name.removeprefix('drift_score.')} against the reference"
    if name.startswith("drift."):
        return f"1 when {name.removeprefix('drift.')} drifted from the reference, else 0"
    if name.startswith(VALIDATION_PREFIX):
        return "unexpected share of the expectation"
    for prefix, text in EVAL_PREFIXES.items():
        if name.startswith(prefix):
            return text.format(name=name.removeprefix(prefix))
    return name


def is_quantile_metric(name: str) -> bool:
    """Quantiles (p50/p95/p99) do not pool across windows by averaging with weights."""
    return any(f"_{q}_" in name for q in ("p50", "p95", "p99"))
