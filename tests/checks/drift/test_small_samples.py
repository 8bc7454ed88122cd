"""Drift verdicts on a few rows: the KS p-value is exact where both sides are small, a numeric
column under its KS gate is judged from 10 rows a side (a canary's first hours), categories and
few-valued columns still wait for 30, and unchanged traffic on 10 rows drifts no more often
than the test's level."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps
from tests.checks.drift.test_stats import numeric_histogram

from lookout.checks.drift.stats import EXACT_KS_MAX, ks_test_p
from lookout.checks.drift.verdict import MIN_N, MIN_N_KS, Criteria, judge_all
from lookout.core.sketch import Sketch
from lookout.sources.drift_columns import DriftColumn

LENGTH = DriftColumn("input_length", "numeric", "input", "length")
ROUTE = DriftColumn("route", "categorical", "route")


@pytest.mark.parametrize(
    ("n", "m"), [(10, 10), (10, 30), (12, 800), (20, 400), (200, 200), (300, 400), (30, 12_000)]
)
def test_the_ks_p_value_is_scipys_on_the_raw_values(n, m):
    """With every value in its own bucket the histogram test is scipy's on the raw data: the
    exact lattice-path count up to EXACT_KS_MAX rows a side (scipy's own 'auto' switch), the
    asymptotic form past it."""
    rng = np.random.default_rng(n * m)
    reference, current = rng.normal(0, 1, m), rng.normal(0.9, 1, n)
    edges = tuple(np.sort(np.concatenate([reference, current])))
    got = ks_test_p(numeric_histogram(reference, edges), numeric_histogram(current, edges))
    method = "exact" if max(n, m) <= EXACT_KS_MAX else "asymp"
    assert got == pytest.approx(sps.ks_2samp(reference, current, method=method).pvalue, rel=1e-9)


def test_the_asymptotic_form_would_call_ten_rows_a_side_too_often():
    """Why the exact count: at 10 rows a side and D 0.7 the asymptotic p is under half the
    exact one (0.0056 against 0.012), so a 1% level would reject what chance does 1.2% of
    the time."""
    from lookout.checks.drift.stats import ks_p_value

    reference = np.arange(10.0)
    current = np.arange(10.0) + 6.5  # 7 reference values below every current one: D = 0.7
    edges = tuple(np.sort(np.concatenate([reference, current])))
    exact = ks_test_p(numeric_histogram(reference, edges), numeric_histogram(current, edges))
    assert exact == pytest.approx(sps.ks_2samp(reference, current, method="exact").pvalue)
    assert ks_p_value(0.7, 10, 10) < 0.5 * exact
    assert 0.01 < exact < 0.02


def test_a_large_shift_on_ten_rows_is_called_and_a_category_waits_for_thirty():
    rng = np.random.default_rng(5)
    reference = {
        "input_length": Sketch.of(rng.lognormal(5.0, 0.5, 600)),
        "route": {"faq": 300.0, "search": 300.0},
    }
    current = {
        "input_length": Sketch.of(rng.lognormal(5.0 + np.log(2.6), 0.5, MIN_N_KS)),
        "route": {"billing": float(MIN_N_KS)},  # a route never seen: drift, given rows
    }
    length, route = judge_all([LENGTH, ROUTE], reference, current, Criteria())
    assert (length.status, length.gate) == ("drifted", "ks")
    assert length.gate_p < 1e-5 and length.n_current == MIN_N_KS
    assert route.status == "not_enough_data"
    # one row fewer, or a min_n the config sets, or no gate (small_sample 0): not enough data
    fewer = {"input_length": Sketch.of(rng.lognormal(6.0, 0.5, MIN_N_KS - 1))}
    assert judge_all([LENGTH], reference, fewer, Criteria())[0].status == "not_enough_data"
    for criteria in (Criteria(min_n=MIN_N), Criteria(small_sample=0)):
        (verdict,) = judge_all([LENGTH], reference, current, criteria)
        assert verdict.status == "not_enough_data"
    current["route"] = {"billing": float(MIN_N)}
    assert judge_all([ROUTE], reference, current, Criteria())[0].status == "drifted"


@pytest.mark.parametrize("reference_rows", [300, 20_000])  # the exact path, the asymptotic one
def test_ten_unchanged_rows_drift_no_more_often_than_the_level(reference_rows):
    """2,000 canaries' first 10 rows against a reference of the same traffic (lognormal
    lengths; a small reference drawn anew each time, as the level is over both samples): the
    effect floor alone would call many of them (10 rows move a Wasserstein distance a lot);
    with the KS gate at 0.05 about that share drifts (4.0-5.5% over three seeds against 300
    rows), here at most the level plus two standard errors."""
    rng = np.random.default_rng(11)
    trials, drifted, past_floor = 2000, 0, 0
    reference = {"input_length": Sketch.of(rng.lognormal(5.0, 0.6, reference_rows))}
    for _ in range(trials):
        if reference_rows < 1000:
            reference = {"input_length": Sketch.of(rng.lognormal(5.0, 0.6, reference_rows))}
        current = {"input_length": Sketch.of(rng.lognormal(5.0, 0.6, MIN_N_KS))}
        (verdict,) = judge_all([LENGTH], reference, current, Criteria())
        drifted += bool(verdict.drifted)
        past_floor += verdict.score >= Criteria().floor("wasserstein")
    assert past_floor > 0.5 * trials
    assert drifted <= 0.05 * trials + 2 * (trials * 0.05 * 0.95) ** 0.5
