"""Failure-biased stable sampling, pass-rate metrics and calibration (pure)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from lookout.checks.evaluators.sampling import select_records, stable_unit
from lookout.checks.evaluators.summary import (
    Graded,
    calibration,
    calibration_metrics,
    human_label,
    judgment_metrics,
)
from lookout.model.judgments import Judgment


def _frame(n: int = 2000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "record_id": [f"id{i}" for i in range(n)],
            "status": np.where(rng.random(n) < 0.02, "error", "ok"),
            "feedback": rng.choice(
                np.array(["up", "down", None], dtype=object), n, p=[0.1, 0.05, 0.85]
            ),
            "latency_ms": rng.lognormal(6, 0.5, n),
            "release": rng.choice(["r1", "r2"], n, p=[0.9, 0.1]),
            "region": rng.choice(["us", "eu"], n),
        }
    )


def _select(frame, **kw):
    args = dict(
        share=0.05,
        strata=[["release", "region"]],
        negative_feedback=["down"],
        latency_quantile=0.99,
    )
    return select_records(frame, **{**args, **kw})


def test_every_suspicious_record_is_selected_with_its_reasons():
    frame = _frame()
    chosen = _select(frame, failed_ids=["id7"])
    reasons = chosen.reasons
    for record_id in frame.loc[frame.status == "error", "record_id"]:
        assert "error" in reasons[record_id]
    for record_id in frame.loc[frame.feedback == "down", "record_id"]:
        assert "negative_feedback" in reasons[record_id]
    slow = frame.loc[frame.latency_ms > frame.latency_ms.quantile(0.99), "record_id"]
    assert len(slow) == 20 and all("latency_outlier" in reasons[r] for r in slow)
    assert "offline_failure" in reasons["id7"]


def test_the_random_part_is_stratified_stable_and_salted():
    frame = _frame()
    first, second = _select(frame), _select(frame.sample(frac=1, random_state=3))
    assert first.random == second.random  # row order does not matter: a hash of the id decides
    for (release, region), group in frame.groupby(["release", "region"]):
        picked = sum(r in first.random for r in group.record_id)
        # at least the share of every stratum, small ones too, and not far past it
        wanted = math.ceil(0.05 * len(group))
        assert wanted <= picked <= wanted + 3 * math.sqrt(wanted) + 2, (release, region)
    below = {r for r in frame.record_id if stable_unit(r) < 0.05}
    assert below <= first.random  # every record under the share is in, whatever its stratum
    salted = _select(frame, salt="other")
    assert salted.random != first.random
    assert len(salted.random) == pytest.approx(len(first.random), rel=0.2)
    assert 0 <= stable_unit("x") < 1 and stable_unit("x") == stable_unit("x") != stable_unit("y")


def test_each_cohort_column_stratifies_on_its_own_so_the_sample_stays_near_its_share():
    """Four cohort columns of a small window: their cross product has about one record per
    cell, and a minimum per cell took most of the window (78% at a 20% share, a user's table).
    Strata per cohort column keep the random part near the share, and still give every value
    of every column (per release) at least its share."""
    rng = np.random.default_rng(4)
    n = 164
    frame = pd.DataFrame(
        {
            "record_id": [f"r{i}" for i in range(n)],
            "release": rng.choice(["m1", "m2"], n, p=[0.8, 0.2]),
            "tenant": rng.choice([f"t{i}" for i in range(6)], n),
            "channel": rng.choice(["web", "api", "slack"], n),
            "region": rng.choice(["us", "eu", "apac", "latam"], n),
            "topic": rng.choice([f"k{i}" for i in range(7)], n),
        }
    )
    cohorts = ["tenant", "channel", "region", "topic"]
    per_column = select_records(frame, share=0.2, strata=[["release", c] for c in cohorts])
    cross = select_records(frame, share=0.2, strata=[["release", *cohorts]])
    assert len(cross.random) > 0.9 * n  # the old stratification: nearly the whole window
    assert len(per_column.random) < 0.4 * n
    for column in cohorts:
        for _, group in frame.groupby(["release", column]):
            picked = sum(r in per_column.random for r in group.record_id)
            assert picked >= math.ceil(0.2 * len(group)) >= 1
    smaller = select_records(frame, share=0.1, strata=[["release", c] for c in cohorts])
    assert smaller.random <= per_column.random  # nested: cached judgments stay hits


def test_share_zero_selects_only_flagged_and_share_one_everything():
    frame = _frame(300)
    assert _select(frame, share=0.0).random == frozenset()
    assert _select(frame, share=1.0).record_ids == tuple(frame.record_id)
    assert _select(frame.iloc[0:0]).record_ids == ()


def test_a_large_sample_is_thinned_to_the_cap_stratified_and_nested():
    frame = _frame(20_000)
    full = _select(frame, share=0.5)
    capped = _select(frame, share=0.5, max_records=2_000)
    assert full.uncapped == len(full) > 10_000 and capped.uncapped == len(full)
    # about the cap (one record of rounding per stratum at most)
    assert 2_000 <= len(capped) <= 2_000 + 4
    assert len(capped.random) >= 1_000  # the random part keeps at least half
    assert capped.random < full.random  # a subset: judgments of the larger sample stay cached
    flagged = [r for r in capped.record_ids if capped.reasons[r]]
    assert flagged and all(r in full.reasons and full.reasons[r] for r in flagged)
    for _, group in frame.groupby(["release", "region"]):  # every stratum thinned alike
        kept = sum(r in capped.random for r in group.record_id)
        assert kept / len(group) == pytest.approx(len(capped.random) / len(frame), abs=0.01)
    shuffled = _select(frame.sample(frac=1, random_state=5), share=0.5, max_records=2_000)
    assert set(shuffled.record_ids) == set(capped.record_ids)  # row order does not matter
    small = _select(_frame(300), share=0.5, max_records=2_000)
    assert small.uncapped == len(small)  # under the cap: untouched


def _j(record_id, status="judged", score=1.0, name="g"):
    label = None if status != "judged" else ("pass" if score >= 0.5 else "fail")
    return Judgment(record_id, name, "v1", status, score if status == "judged" else None, label)


def test_pass_rates_use_the_random_sample_and_errors_are_not_fails():
    graded = [
        Graded(_j(f"a{i}", score=1.0 if i < 8 else 0.0), "r1", ("region=eu",), True)
        for i in range(10)
    ]
    graded += [Graded(_j(f"f{i}", score=0.0), "r1", ("region=eu",), False) for i in range(5)]
    graded += [Graded(_j(f"e{i}", status="error"), "r1", ("region=us",), True) for i in range(3)]
    metrics = {(m.cohort, m.metric): m for m in judgment_metrics(graded)}
    rate = metrics[("*", "eval.g")]
    assert (rate.value, rate.n) == (0.8, 10)
    assert rate.ci_low == pytest.approx(0.4902, abs=1e-4) and rate.ci_high == pytest.approx(
        0.9433, abs=1e-4
    )
    assert metrics[("*", "eval_flagged.g")].value == 0.0 and metrics[("*", "eval_flagged.g")].n == 5
    assert metrics[("*", "eval_errors.g")].value == pytest.approx(3 / 18)
    assert metrics[("region=us", "eval_errors.g")].value == 1.0
    assert ("region=us", "eval.g") not in metrics  # errors give no pass rate at all
    assert metrics[("*", "eval_score.g")].value == pytest.approx(0.8)


def test_calibration_against_hand_computed_kappa():
    # judge/human: 20 pass/pass, 5 pass/fail, 10 fail/pass, 15 fail/fail (n=50)
    pairs = [("g", "pass", "pass")] * 20 + [("g", "pass", "fail")] * 5
    pairs += [("g", "fail", "pass")] * 10 + [("g", "fail", "fail")] * 15
    (cal,) = calibration(pairs)
    # p_o = 35/50 = 0.7; p_e = 0.5*0.6 + 0.5*0.4 = 0.5; kappa = 0.2/0.5 = 0.4
    assert cal.accuracy == pytest.approx(0.7) and cal.kappa == pytest.approx(0.4)
    assert cal.confusion == {"pass/pass": 20, "pass/fail": 5, "fail/pass": 10, "fail/fail": 15}
    (only,) = calibration([("g", "pass", "pass")] * 3)
    assert only.kappa is None and only.accuracy == 1.0


def test_integer_status_and_feedback_columns_are_flagged_like_the_ops_metrics_count_them():
    """HTTP codes and +1/-1 thumbs logged as integers (or floats, when NULLs make pandas read
    them so) match `ok_statuses: ["200"]` and `negative_feedback: ["-1"]` as the error and
    negative-feedback rates do: only the 500 is an error and only the -1 is negative."""
    frame = pd.DataFrame(
        {
            "record_id": ["a", "b", "c", "d"],
            "status": [200, 500, 200, 204],
            "feedback": pd.array([-1, 1, None, None], dtype="Int64"),
        }
    )
    selection = select_records(
        frame, share=0.0, strata=[], ok_statuses=("200", "204"), negative_feedback=("-1",)
    )
    assert dict(selection.reasons) == {"a": ("negative_feedback",), "b": ("error",)}
    floats = frame.assign(feedback=[-1.0, 1.0, math.nan, math.nan])
    again = select_records(
        floats, share=0.0, strata=[], ok_statuses=("200", "204"), negative_feedback=("-1",)
    )
    assert dict(again.reasons) == dict(selection.reasons)


def test_integer_feedback_is_a_human_label():
    assert human_label(-1, None, ["-1"]) == "fail"
    assert human_label(-1.0, None, ["-1"]) == "fail"
    assert human_label(1, None, ["-1"]) == "pass"
    assert human_label("Thumbs_Down", None, ["thumbs_down"]) == "fail"
    assert human_label(None, None, ["-1"]) is None
    assert human_label(math.nan, None, ["-1"]) is None


def test_human_labels_from_expected_or_feedback():
    assert human_label(None, "PASS", ["down"]) == "pass"
    assert human_label("up", "hallucinated", ["down"]) == "fail"  # expected wins
    assert human_label("down", None, ["down"]) == "fail"
    assert human_label("up", "some reference answer", ["down"]) == "pass"
    assert human_label(None, None, ["down"]) is None
    graded = [Graded(_j("a"), "r1", (), True, "fail"), Graded(_j("b"), "r1", (), True, "pass")]
    metrics = {m.metric: m for m in calibration_metrics(graded)}
    assert metrics["eval_agreement.g"].value == 0.5 and metrics["eval_agreement.g"].n == 2
