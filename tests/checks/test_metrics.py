"""Ops metric math against a hand-computed example."""

from __future__ import annotations

import pandas as pd
import pytest

from lookout.checks.metrics import compute_ops_metrics
from lookout.checks.stats import wilson_interval
from lookout.model.aggregates import MetricSettings, release_labels


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "model_version": ["m", "m", "m", "m", "m"],
            "prompt_version": ["v1"] * 5,
            "region": ["eu", "eu", "us", "us", "us"],
            "latency_ms": [100.0, 200.0, 300.0, 400.0, 1000.0],
            "ttft_ms": [10.0, None, 30.0, 40.0, 50.0],
            "status": ["ok", "ok", "error", "ok", "timeout"],
            "cost_usd": [0.01, 0.02, None, 0.03, 0.04],
            "trace_id": ["t1", "t1", "t2", "t3", "t3"],
            "prompt_tokens": [10, 20, 30, 40, 50],
            "completion_tokens": [5, 5, 0, 5, 0],
            "is_fallback": [False, False, False, True, False],
            "retry_count": [0, 1, 0, 2, 0],
            "feedback": [None, "thumbs_down", "thumbs_up", None, "THUMBS_DOWN"],
        }
    )


SETTINGS = MetricSettings(ok_statuses=("ok",), negative_feedback=("thumbs_down",))


def _by_key(values):
    return {(v.release, v.cohort, v.metric): v for v in values}


def test_hand_computed_release_metrics():
    got = _by_key(
        compute_ops_metrics(_frame(), ["model_version", "prompt_version"], ["region"], SETTINGS)
    )
    r = "m@v1"
    assert got[(r, "*", "request_count")].value == 5
    # linear interpolation: p95 at rank 3.8 -> 400 + 0.8 * 600; p99 at 3.96
    assert got[(r, "*", "latency_p50_ms")].value == 300
    assert got[(r, "*", "latency_p95_ms")].value == pytest.approx(880)
    assert got[(r, "*", "latency_p99_ms")].value == pytest.approx(976)
    # ttft ignores the null: [10, 30, 40, 50] -> median 35, n = 4
    assert got[(r, "*", "ttft_p50_ms")].value == 35 and got[(r, "*", "ttft_p50_ms")].n == 4
    error = got[(r, "*", "error_rate")]
    assert (error.value, error.n) == (0.4, 5)
    assert error.ci_low == pytest.approx(0.1176, abs=1e-4)
    assert error.ci_high == pytest.approx(0.7693, abs=1e-4)
    # cost: 4 priced rows summing 0.10, in traces t1 and t3 (t2's row has no cost)
    assert got[(r, "*", "cost_per_request_usd")].value == pytest.approx(0.025)
    assert got[(r, "*", "cost_per_trace_usd")].value == pytest.approx(0.05)
    assert got[(r, "*", "cost_per_trace_usd")].n == 2
    assert got[(r, "*", "prompt_tokens_mean")].value == 30
    assert got[(r, "*", "completion_tokens_mean")].value == 3
    assert got[(r, "*", "fallback_rate")].value == pytest.approx(0.2)
    assert got[(r, "*", "retry_rate")].value == pytest.approx(0.4)
    feedback = got[(r, "*", "negative_feedback_rate")]
    assert (feedback.value, feedback.n) == (pytest.approx(2 / 3), 3)


def test_cohort_split_and_counts():
    got = _by_key(
        compute_ops_metrics(_frame(), ["model_version", "prompt_version"], ["region"], SETTINGS)
    )
    assert got[("m@v1", "region=eu", "request_count")].value == 2
    assert got[("m@v1", "region=us", "error_rate")].value == pytest.approx(2 / 3)
    assert got[("m@v1", "region=eu", "error_rate")].value == 0
    assert got[("m@v1", "region=eu", "latency_p50_ms")].value == 150


def test_cost_from_price_table_when_cost_is_not_logged():
    frame = _frame().drop(columns=["cost_usd"])
    frame["prompt_tokens"] = 1_000_000
    frame["completion_tokens"] = 500_000
    settings = MetricSettings(prices={"m": (1.0, 2.0)})
    got = _by_key(compute_ops_metrics(frame, ["model_version"], [], settings))
    assert got[("m", "*", "cost_per_request_usd")].value == pytest.approx(2.0)
    assert got[("m", "*", "cost_per_trace_usd")].value == pytest.approx(10.0 / 3)
    unknown = frame.assign(model_version="other")
    assert "cost_per_request_usd" not in {
        m.metric for m in compute_ops_metrics(unknown, ["model_version"], [], settings)
    }


def test_absent_inputs_give_no_metric_rather_than_zero():
    frame = pd.DataFrame({"model_version": ["m", "m"]})
    metrics = {m.metric for m in compute_ops_metrics(frame, ["model_version"], [])}
    assert metrics == {"request_count"}
    assert compute_ops_metrics(frame.iloc[0:0], ["model_version"], []) == []


def test_release_labels_keep_nulls_visible():
    frame = pd.DataFrame({"model_version": ["a", None], "prompt_version": [1.0, 2.0]})
    assert list(release_labels(frame, ["model_version", "prompt_version"])) == ["a@1", "(null)@2"]


@pytest.mark.parametrize(
    ("hits", "n", "low", "high"),
    [
        (0, 10, 0.0, 0.2775),
        (10, 10, 0.7225, 1.0),
        (2, 5, 0.1176, 0.7693),
        (50, 100, 0.4038, 0.5962),
    ],
)
def test_wilson_interval_matches_published_values(hits, n, low, high):
    got_low, got_high = wilson_interval(hits, n)
    assert got_low == pytest.approx(low, abs=1e-4)
    assert got_high == pytest.approx(high, abs=1e-4)


def test_wilson_rejects_impossible_counts():
    with pytest.raises(ValueError):
        wilson_interval(3, 2)
    with pytest.raises(ValueError):
        wilson_interval(0, 0)
