"""Two-sample statistics for comparing releases (pure, numpy/scipy only).

- Rates: difference of two proportions with the Newcombe hybrid-score interval (built from the
  two Wilson intervals; it behaves near 0 and 1 where the Wald interval does not) and the pooled
  two-proportion z-test.
- Latency, TTFT, cost: a bootstrap of the difference of the statistic shown (a quantile or a
  mean): the percentile interval, and a z-test with the bootstrap standard error for the
  p-value (no normality of the data assumed; a tail-only change of p99 is tested as such,
  which a rank test of the whole distribution would miss).
- Holm's step-down correction over every test of one comparison.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats as sps

from lookout.checks.stats import wilson_interval

__all__ = [
    "Difference",
    "Verdict",
    "bootstrap_difference",
    "bootstrap_differences",
    "holm",
    "proportions",
    "verdict",
]

# `changed`: a significant difference of a volume with no better side (tokens per record: fewer
# may be a truncation as well as a saving)
Verdict = Literal["better", "worse", "changed", "no significant change", "not enough data"]
_Z95 = 1.959963984540054


@dataclass(frozen=True)
class Difference:
    """candidate - baseline, with a 95% interval and the test's (unadjusted) p-value."""

    baseline: float
    candidate: float
    diff: float
    ci_low: float
    ci_high: float
    p_value: float


def proportions(x1: int, n1: int, x2: int, n2: int) -> Difference:
    """Baseline x1/n1 against candidate x2/n2 (Newcombe interval, pooled z-test)."""
    if n1 <= 0 or n2 <= 0:
        raise ValueError("both samples need at least one record")
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson_interval(x1, n1)
    l2, u2 = wilson_interval(x2, n2)
    diff = p2 - p1
    low = diff - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)
    high = diff + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    p_value = 1.0 if se == 0 else float(2 * sps.norm.sf(abs(diff) / se))
    return Difference(p1, p2, diff, low, high, p_value)


def bootstrap_difference(
    baseline: np.ndarray,
    candidate: np.ndarray,
    statistic: Callable[[np.ndarray], np.ndarray],
    *,
    resamples: int = 1000,
    seed: int = 0,
) -> Difference:
    """statistic(candidate) - statistic(baseline) with a 95% percentile bootstrap interval and
    a two-sided p-value from z = difference / bootstrap standard error.

    `statistic` maps a (resamples, n) array to (resamples,) along axis 1.
    """
    found = bootstrap_differences(
        baseline, candidate, {"": statistic}, resamples=resamples, seed=seed
    )
    return found[""]


def bootstrap_differences(
    baseline: np.ndarray,
    candidate: np.ndarray,
    statistics: Mapping[str, Callable[[np.ndarray], np.ndarray]],
    *,
    resamples: int = 1000,
    seed: int = 0,
) -> dict[str, Difference]:
    """`bootstrap_difference` of several statistics of the same samples (a p50, p95 and p99),
    all on the same resamples: drawing and gathering them costs more than a statistic, and
    each is what `bootstrap_difference` with the same seed gives it alone."""
    if len(baseline) == 0 or len(candidate) == 0:
        raise ValueError("both samples need at least one value")
    rng = np.random.default_rng(seed)
    b = np.asarray(baseline, dtype=float)
    c = np.asarray(candidate, dtype=float)
    diffs = {name: np.empty(resamples) for name in statistics}
    chunk = max(1, 2_000_000 // max(len(b), len(c), 1))  # bounded memory per step
    for start in range(0, resamples, chunk):
        k = min(chunk, resamples - start)
        rb = b[rng.integers(0, len(b), size=(k, len(b)))]
        rc = c[rng.integers(0, len(c), size=(k, len(c)))]
        for name, statistic in statistics.items():
            diffs[name][start : start + k] = statistic(rc) - statistic(rb)
    out = {}
    for name, statistic in statistics.items():
        point_b = float(statistic(b[np.newaxis, :])[0])
        point_c = float(statistic(c[np.newaxis, :])[0])
        out[name] = _percentile_interval(point_b, point_c, diffs[name])
    return out


def _percentile_interval(point_b: float, point_c: float, diffs: np.ndarray) -> Difference:
    """The difference of the points, its 95% percentile interval and z-test p-value."""
    low, high = np.percentile(diffs, [2.5, 97.5])
    diff = point_c - point_b
    se = float(np.std(diffs, ddof=1))
    if se == 0:  # every resample gave the same difference
        return Difference(point_b, point_c, diff, float(low), float(high), float(diff == 0))
    p = float(2 * sps.norm.sf(abs(diff) / se))
    return Difference(point_b, point_c, diff, float(low), float(high), p)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values (same order): controls the family-wise error rate."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [1.0] * m
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def verdict(
    diff: Difference | None, adjusted_p: float, lower_is_better: bool | None, alpha: float = 0.05
) -> Verdict:
    """Better or worse only when significant after correction and the interval excludes 0
    (`changed` for a metric with no better side: `lower_is_better` None)."""
    if diff is None:
        return "not enough data"
    if adjusted_p >= alpha or diff.ci_low <= 0 <= diff.ci_high:
        return "no significant change"
    if lower_is_better is None:
        return "changed"
    worse = diff.diff > 0 if lower_is_better else diff.diff < 0
    return "worse" if worse else "better"
