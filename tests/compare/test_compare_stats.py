"""Two-sample statistics against published and hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from lookout.compare.stats import (
    Difference,
    bootstrap_difference,
    bootstrap_differences,
    holm,
    proportions,
    verdict,
)


def test_newcombe_interval_matches_the_published_example():
    # Newcombe (1998), Statistics in Medicine 17:873, example (a): 56/70 vs 48/80, method 10
    d = proportions(48, 80, 56, 70)  # baseline 48/80, candidate 56/70
    assert d.diff == pytest.approx(0.2)
    assert d.ci_low == pytest.approx(0.0524, abs=1e-4)
    assert d.ci_high == pytest.approx(0.3339, abs=1e-4)


def test_pooled_z_test_by_hand():
    d = proportions(10, 100, 20, 100)
    pooled = 30 / 200
    z = 0.1 / math.sqrt(pooled * (1 - pooled) * (2 / 100))
    assert d.p_value == pytest.approx(math.erfc(z / math.sqrt(2)), rel=1e-9)
    assert d.p_value == pytest.approx(0.0477, abs=1e-4)
    assert proportions(0, 50, 0, 60).p_value == 1.0  # nothing happened on either side


def test_proportions_need_records():
    with pytest.raises(ValueError, match="at least one record"):
        proportions(0, 0, 1, 10)


def test_holm_by_hand():
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert holm([]) == []


def test_bootstrap_of_a_shifted_mean():
    base = np.arange(1000, dtype=float)
    d = bootstrap_difference(base, base + 50, lambda v: v.mean(axis=1), resamples=800, seed=1)
    assert d.diff == pytest.approx(50.0)
    se = math.sqrt(2 * base.var(ddof=1) / 1000)  # 12.9
    assert d.ci_low < 50 < d.ci_high
    assert (d.ci_high - d.ci_low) == pytest.approx(2 * 1.96 * se, rel=0.2)
    assert d.p_value < 0.01


def test_bootstrap_sees_a_tail_only_change_of_p99():
    rng = np.random.default_rng(3)
    base = rng.lognormal(7, 0.35, 5000)
    slow = base.copy()
    slow[:400] = rng.uniform(11000, 16000, 400)  # 8% of requests very slow: p99 moves a lot
    d = bootstrap_difference(base, slow, lambda v: np.quantile(v, 0.99, axis=1), seed=2)
    assert d.diff > 5000 and d.ci_low > 0 and d.p_value < 1e-6
    same = bootstrap_difference(base, base.copy(), lambda v: np.quantile(v, 0.5, axis=1))
    assert same.diff == 0 and same.ci_low <= 0 <= same.ci_high and same.p_value > 0.5


@pytest.mark.parametrize(
    ("diff", "p", "lower_is_better", "expected"),
    [
        (Difference(0.1, 0.2, 0.1, 0.05, 0.15, 0.001), 0.01, True, "worse"),
        (Difference(0.1, 0.2, 0.1, 0.05, 0.15, 0.001), 0.01, False, "better"),
        (Difference(0.1, 0.2, 0.1, 0.05, 0.15, 0.001), 0.06, True, "no significant change"),
        (Difference(0.1, 0.2, 0.1, -0.01, 0.15, 0.001), 0.01, True, "no significant change"),
        (None, 1.0, True, "not enough data"),
    ],
)
def test_verdicts(diff, p, lower_is_better, expected):
    assert verdict(diff, p, lower_is_better) == expected


def test_statistics_bootstrapped_together_are_each_what_it_gives_alone():
    """Several statistics of one column share its resamples (drawing them is the cost), and
    each is exactly what its own bootstrap with the same seed gives."""
    rng = np.random.default_rng(7)
    base, cand = rng.lognormal(6, 0.5, 900), rng.lognormal(6.1, 0.6, 1100)
    statistics = {
        "p50": lambda v: np.quantile(v, 0.5, axis=1),
        "p99": lambda v: np.quantile(v, 0.99, axis=1),
        "mean": lambda v: v.mean(axis=1),
    }
    together = bootstrap_differences(base, cand, statistics, resamples=300, seed=3)
    for name, statistic in statistics.items():
        alone = bootstrap_difference(base, cand, statistic, resamples=300, seed=3)
        assert together[name] == alone == _one_statistic_as_before(base, cand, statistic), name
    assert together["p99"] != together["p50"]


def _one_statistic_as_before(base, cand, statistic, resamples=300, seed=3) -> Difference:
    """The single-statistic bootstrap as it was before statistics shared their resamples
    (chunked draws of the baseline, then the candidate): what compare said then."""
    rng = np.random.default_rng(seed)
    diffs = np.empty(resamples)
    chunk = max(1, 2_000_000 // max(len(base), len(cand), 1))
    for start in range(0, resamples, chunk):
        k = min(chunk, resamples - start)
        rb = base[rng.integers(0, len(base), size=(k, len(base)))]
        rc = cand[rng.integers(0, len(cand), size=(k, len(cand)))]
        diffs[start : start + k] = statistic(rc) - statistic(rb)
    point_b = float(statistic(base[np.newaxis, :])[0])
    point_c = float(statistic(cand[np.newaxis, :])[0])
    low, high = np.percentile(diffs, [2.5, 97.5])
    se = float(np.std(diffs, ddof=1))
    p = float(2 * sps.norm.sf(abs(point_c - point_b) / se))
    return Difference(point_b, point_c, point_c - point_b, float(low), float(high), p)
