"""Small statistics helpers shared by stages, rules and comparisons (pure)."""

from __future__ import annotations

import math

from scipy.optimize import brentq
from scipy.stats import beta, binom, chi2, nbinom

__all__ = [
    "count_interval",
    "exact_interval",
    "exact_tail",
    "poisson_interval",
    "wilson_interval",
]

_Z95 = 1.959963984540054


def wilson_interval(successes: float, n: float, z: float = _Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion: sane at 0, at 1 and at small n (unlike Wald)."""
    if n <= 0:
        raise ValueError("n must be positive")
    if not 0 <= successes <= n:
        raise ValueError(f"successes={successes} outside [0, {n}]")
    p = successes / n
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def exact_interval(successes: float, n: float, confidence: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson interval of a proportion: each bound holds its one-sided level at every
    n, where Wilson's can miss it at a few records (2 errors in 10 has a Wilson low of 5.7%, an
    exact one of 2.5%). Alerts decide on it: hourly tests on ten-record pools run by the
    thousand, and a bound that is only approximately 97.5% pages people on chance."""
    if n <= 0:
        raise ValueError("n must be positive")
    if not 0 <= successes <= n:
        raise ValueError(f"successes={successes} outside [0, {n}]")
    tail = (1 - confidence) / 2
    low = 0.0 if successes <= 0 else float(beta.ppf(tail, successes, n - successes + 1))
    high = 1.0 if successes >= n else float(beta.ppf(1 - tail, successes + 1, n - successes))
    return low, high


def exact_tail(successes: float, n: float, rate: float, *, above: bool = True) -> float:
    """One-sided exact binomial p-value: the chance, at a true rate of exactly `rate`, of
    `successes` in `n` or more (`above`), or as few or fewer. It is the level at which the
    matching exact bound clears `rate` (the low bound of 12 in 75 clears 5% at 0.025, since
    this tail is 0.0003), so a rule can say how strong a breach is, not only that it is one."""
    if n <= 0:
        raise ValueError("n must be positive")
    if not 0 <= successes <= n:
        raise ValueError(f"successes={successes} outside [0, {n}]")
    k, m = round(successes), round(n)
    rate = min(max(rate, 0.0), 1.0)
    tail = binom.sf(k - 1, m, rate) if above else binom.cdf(k, m, rate)
    return float(min(1.0, max(0.0, tail)))


def poisson_interval(count: float, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Garwood) interval of a Poisson mean from one observed count: 0 rows where 3 are
    expected is ordinary, 0 where 50 are expected is not."""
    if count < 0:
        raise ValueError("a count is never negative")
    tail = (1 - confidence) / 2
    low = 0.0 if count == 0 else chi2.ppf(tail, 2 * count) / 2
    high = chi2.ppf(1 - tail, 2 * count + 2) / 2
    return float(low), float(high)


def count_interval(count: int, cv: float, confidence: float = 0.95) -> tuple[float, float]:
    """Interval of the mean of a count whose rate itself varies by `cv` (a coefficient of
    variation) around that mean: gamma-Poisson (negative binomial), the Garwood interval at
    `cv` 0. Hourly request counts vary beyond Poisson (a busy client, a campaign, a quiet
    Sunday morning): 94 rows where 245 are usual is a 1-in-250 chance for a Poisson count at
    half of that, and about 1 in 11 when the hour's rate varies by 15%."""
    if count < 0:
        raise ValueError("a count is never negative")
    if cv <= 0:
        return poisson_interval(count, confidence)
    tail = (1 - confidence) / 2
    r = 1 / cv**2

    def at_most(mu: float) -> float:  # P(X <= count) at mean mu, falling as mu grows
        return float(nbinom.cdf(count, r, r / (r + mu)))

    def at_least(mu: float) -> float:  # P(X >= count) at mean mu, rising as mu grows
        return float(nbinom.sf(count - 1, r, r / (r + mu)))

    top = max(1.0, poisson_interval(count, confidence)[1])
    while at_most(top) > tail:
        top *= 2
    high = brentq(lambda mu: at_most(mu) - tail, 0.0, top)
    low = 0.0 if count == 0 else brentq(lambda mu: at_least(mu) - tail, 1e-12, top)
    return float(low), float(high)
