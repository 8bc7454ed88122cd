"""The exact interval alerts decide on: its guarantee at small n, where Wilson's slips."""

from __future__ import annotations

import pytest
from scipy.stats import binom, nbinom

from lookout.core.stats import (
    count_interval,
    exact_interval,
    exact_tail,
    poisson_interval,
    wilson_interval,
)


@pytest.mark.parametrize(("hits", "n"), [(2, 10), (6, 10), (3, 16), (12, 100), (0, 7), (9, 9)])
def test_the_exact_low_bound_is_where_the_upper_tail_is_two_and_a_half_percent(hits, n):
    low, high = exact_interval(hits, n)
    if hits:
        assert binom.sf(hits - 1, n, low) == pytest.approx(0.025, abs=1e-9)
    else:
        assert low == 0.0
    if hits < n:
        assert binom.cdf(hits, n, high) == pytest.approx(0.025, abs=1e-9)
    else:
        assert high == 1.0


def test_at_ten_records_wilson_clears_thresholds_the_exact_bound_does_not():
    # the soak's false alerts at low traffic: 2 errors in 10 against 5%, 6 thumbs-down in 10
    # against 30%
    assert wilson_interval(2, 10)[0] > 0.05 > exact_interval(2, 10)[0]
    assert wilson_interval(6, 10)[0] > 0.30 > exact_interval(6, 10)[0]


def test_the_exact_bound_holds_its_level_where_wilson_does_not():
    """The chance that a rate exactly at the threshold shows a low bound past it: at most 2.5%
    for the exact bound at every n; Wilson's is above that at some small n."""

    def false_rate(bound, n: int, p: float) -> float:
        return sum(binom.pmf(k, n, p) for k in range(n + 1) if bound(k, n)[0] > p)

    ns = range(5, 60)
    assert max(false_rate(exact_interval, n, 0.05) for n in ns) <= 0.025
    assert max(false_rate(wilson_interval, n, 0.05) for n in ns) > 0.025


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="n must be positive"):
        exact_interval(0, 0)
    with pytest.raises(ValueError, match="outside"):
        exact_interval(11, 10)


@pytest.mark.parametrize(("hits", "n", "rate"), [(12, 75, 0.05), (6, 59, 0.037), (0, 10, 0.1)])
def test_the_exact_tail_is_where_the_exact_bound_meets_the_rate(hits, n, rate):
    """The one-sided p-value of a count against a rate: the exact low bound clears the rate
    exactly when this tail is under 2.5% (the level alerts decide at)."""
    tail = exact_tail(hits, n, rate)
    assert tail == pytest.approx(binom.sf(hits - 1, n, rate), abs=1e-12)
    assert (tail < 0.025) == (exact_interval(hits, n)[0] > rate)
    assert exact_tail(hits, n, rate, above=False) == pytest.approx(binom.cdf(hits, n, rate))


def test_the_exact_tail_refuses_bad_input():
    with pytest.raises(ValueError, match="n must be positive"):
        exact_tail(0, 0, 0.1)
    with pytest.raises(ValueError, match="outside"):
        exact_tail(11, 10, 0.1)


@pytest.mark.parametrize("count", [0, 1, 9, 94, 2_000])
def test_a_count_interval_bounds_are_where_the_gamma_poisson_tails_are_two_and_a_half_percent(
    count,
):
    cv = 0.15
    r = 1 / cv**2
    low, high = count_interval(count, cv)
    assert nbinom.cdf(count, r, r / (r + high)) == pytest.approx(0.025, abs=1e-7)
    if count:
        assert nbinom.sf(count - 1, r, r / (r + low)) == pytest.approx(0.025, abs=1e-7)
    else:
        assert low == 0.0
    # a higher upper bound than Poisson's (the rate varies too), and Poisson's when it does not
    plow, phigh = poisson_interval(count)
    assert high > phigh
    assert count_interval(count, 0.0) == (plow, phigh)
