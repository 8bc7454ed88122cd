"""Drift statistics from histograms: the numbers Evidently computes, without the raw rows.

A numeric column is summarised by cumulative counts and sums at fixed edges (the reference's
quantiles), plus min, max and the sum of squares. From those the Wasserstein distance is exact
per segment wherever the two CDFs do not cross inside it (so near-exact with ~30 edges), and the
KS statistic, PSI and Jensen-Shannon come from the same bins. A categorical column is its value
counts. Method defaults follow Evidently 0.7 (`get_stattest`): Wasserstein (normed by the
reference's standard deviation, threshold 0.1) and Jensen-Shannon (0.1) for large samples; KS
and chi-square (p < 0.05, or a Z-test for two categories) for small ones. Pure functions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
from scipy import stats as sps
from scipy.spatial import distance

__all__ = [
    "ColumnDrift",
    "NumericHistogram",
    "choose_method",
    "column_drift",
    "holm",
]

Method = Literal["wasserstein", "psi", "jensenshannon", "ks", "chisquare", "z"]
P_VALUE_METHODS = frozenset({"ks", "chisquare", "z"})
DEFAULT_THRESHOLDS: dict[str, float] = {
    "wasserstein": 0.1,
    "psi": 0.1,
    "jensenshannon": 0.1,
    "ks": 0.05,
    "chisquare": 0.05,
    "z": 0.05,
}
# Evidently switches from tests to distances above this many reference rows.
SMALL_SAMPLE = 1000


@dataclass(frozen=True)
class NumericHistogram:
    """Counts and value sums per bucket at shared `edges`: bucket i is [edges[i-1], edges[i]).

    Bucket 0 is below the first edge, bucket len(edges) at or above the last one.
    """

    edges: tuple[float, ...]
    counts: tuple[int, ...]
    sums: tuple[float, ...]
    sumsq: float
    minimum: float
    maximum: float

    @property
    def n(self) -> int:
        return int(sum(self.counts))

    @property
    def mean(self) -> float:
        return float(sum(self.sums) / self.n) if self.n else math.nan

    @property
    def std(self) -> float:
        """Population standard deviation (numpy's default, as Evidently uses)."""
        if not self.n:
            return math.nan
        mean = self.mean
        return math.sqrt(max(self.sumsq / self.n - mean * mean, 0.0))

    @property
    def distinct_hint(self) -> int:
        """Non-empty buckets: a lower bound of distinct values (for method choice)."""
        return sum(1 for c in self.counts if c)

    def to_json(self) -> dict:
        return {
            "edges": list(self.edges),
            "counts": list(self.counts),
            "sums": list(self.sums),
            "sumsq": self.sumsq,
            "min": self.minimum,
            "max": self.maximum,
        }

    @classmethod
    def from_json(cls, data: Mapping) -> NumericHistogram:
        return cls(
            tuple(data["edges"]),
            tuple(int(c) for c in data["counts"]),
            tuple(float(s) for s in data["sums"]),
            float(data["sumsq"]),
            float(data["min"]),
            float(data["max"]),
        )

    @classmethod
    def from_buckets(
        cls, edges: Sequence[float], buckets: Mapping[int, tuple[int, float, float, float, float]]
    ) -> NumericHistogram:
        """From per-bucket (count, sum, sumsq, min, max) rows as SQL returns them."""
        size = len(edges) + 1
        counts = [0] * size
        sums = [0.0] * size
        sumsq, low, high = 0.0, math.inf, -math.inf
        for bucket, (count, total, squares, b_min, b_max) in buckets.items():
            counts[bucket] += int(count)
            sums[bucket] += float(total)
            sumsq += float(squares)
            low, high = min(low, float(b_min)), max(high, float(b_max))
        return cls(tuple(edges), tuple(counts), tuple(sums), sumsq, low, high)


@dataclass(frozen=True)
class ColumnDrift:
    """One column's verdict for one release x cohort; `drifted` is None without enough data."""

    column: str
    kind: str
    method: str
    score: float | None
    threshold: float
    drifted: bool | None
    n_reference: int
    n_current: int
    status: Literal["ok", "drifted", "not_enough_data", "no_reference"] = "ok"
    p_value: bool = False  # score is a p-value (smaller = more drift)
    details: dict = field(default_factory=dict)
    # the small-sample test a verdict also needed (method, p-value, level after correction)
    gate: str | None = None
    gate_p: float | None = None
    gate_level: float | None = None

    @property
    def decided_by(self) -> tuple[str, float]:
        """(method, threshold) of the test that settled the verdict: the effect size, unless
        it was past its floor and the small-sample test did not reject."""
        vetoed = self.drifted is False and self.gate is not None and self.gate_level is not None
        if vetoed and self.score is not None and self.score >= self.threshold:
            return self.gate, self.gate_level  # type: ignore[return-value]
        return self.method, self.threshold


def choose_method(kind: str, n_reference: int, n_current: int, distinct: int) -> Method:
    """Evidently's defaults, keyed on the smaller side (a small window is a small sample too)."""
    small = min(n_reference, n_current) <= SMALL_SAMPLE
    if kind == "numeric":
        if distinct <= 5:
            if small:
                return "chisquare" if distinct > 2 else "z"
            return "jensenshannon"
        return "ks" if small else "wasserstein"
    if small:
        return "chisquare" if distinct > 2 else "z"
    return "jensenshannon"


# --------------------------------------------------------------------------- numeric


def _cdf_points(ref: NumericHistogram, cur: NumericHistogram) -> list[float]:
    low = min(ref.minimum, cur.minimum)
    high = max(ref.maximum, cur.maximum)
    inner = [e for e in ref.edges if low < e < high]
    return [low, *inner, high]


def _cumulative(hist: NumericHistogram, points: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Share of values below each point, and the sum of the values below it / n (vectorised:
    a sketch's histogram has a bucket per distinct value, often a thousand)."""
    n = hist.n
    at = np.asarray(points, dtype=float)
    counts = np.concatenate(([0.0], np.cumsum(hist.counts, dtype=float)))
    sums = np.concatenate(([0.0], np.cumsum(hist.sums, dtype=float)))
    # buckets wholly below a point: those whose upper edge <= point
    k = np.searchsorted(np.asarray(hist.edges, dtype=float), at, side="right")
    below_n = counts[k] / n
    below_s = sums[k] / n
    low = at <= hist.minimum
    below_n[low], below_s[low] = 0.0, 0.0
    high = at >= hist.maximum
    below_n[high], below_s[high] = 1.0, sums[-1] / n
    return below_n, below_s


def wasserstein(ref: NumericHistogram, cur: NumericHistogram) -> float:
    """W1 = integral |F_ref - F_cur|, with each segment's CDF integral exact from value sums."""
    points = _cdf_points(ref, cur)
    if len(points) < 2 or points[-1] <= points[0]:
        return 0.0
    f_ref, s_ref = _cumulative(ref, points)
    f_cur, s_cur = _cumulative(cur, points)
    a, b = np.asarray(points[:-1]), np.asarray(points[1:])
    # integral_a^b F(x) dx = b F(b) - a F(a) - (sum of values in [a, b)) / n
    int_ref = b * f_ref[1:] - a * f_ref[:-1] - np.diff(s_ref)
    int_cur = b * f_cur[1:] - a * f_cur[:-1] - np.diff(s_cur)
    return float(np.abs(int_ref - int_cur).sum())


def ks_statistic(ref: NumericHistogram, cur: NumericHistogram) -> float:
    """Largest CDF gap at the shared edges (the exact KS statistic is at least this)."""
    f_ref = np.cumsum(ref.counts) / ref.n
    f_cur = np.cumsum(cur.counts) / cur.n
    return float(np.max(np.abs(f_ref - f_cur)))


def ks_p_value(d: float, n: int, m: int) -> float:
    """Two-sample KS p-value, scipy's asymptotic form (`ks_2samp(method='asymp')`)."""
    en = n * m / (n + m)
    return float(min(1.0, max(0.0, sps.kstwo.sf(d, np.round(en)))))


# Rows of the larger side up to which the KS p-value is exact (scipy's own switch in
# `ks_2samp(method='auto')`): the asymptotic form is anti-conservative on small and on equal
# sides (10 a side at D 0.7: 0.0056 where the exact chance is 0.012; 200 a side at D 0.135:
# 0.047 against 0.052); past it the small side's one-sample distribution is right. A few ms.
EXACT_KS_MAX = 10_000


def ks_test_p(ref: NumericHistogram, cur: NumericHistogram) -> float:
    """The KS p-value of two histograms on shared edges: exact (scipy's lattice-path count)
    up to EXACT_KS_MAX rows a side, else the asymptotic form. Each bucket stands for its values
    (one point), so the statistic is `ks_statistic`'s and the test only loses power."""
    if max(ref.n, cur.n) > EXACT_KS_MAX:
        return ks_p_value(ks_statistic(ref, cur), ref.n, cur.n)
    buckets = np.arange(len(ref.counts))
    result = sps.ks_2samp(
        np.repeat(buckets, ref.counts), np.repeat(buckets, cur.counts), method="exact"
    )
    return float(result.pvalue)


def _shares(counts: Sequence[float]) -> np.ndarray:
    arr = np.asarray(counts, dtype=float)
    return arr / arr.sum()


def _fill_zeroes(shares: np.ndarray) -> np.ndarray:
    """Evidently's `feel_zeroes` for PSI: empty buckets get a tiny share instead of 0."""
    nonzero = shares[shares != 0]
    if not len(nonzero):
        return shares
    floor = nonzero.min() / 10**6 if nonzero.min() <= 0.0001 else 0.0001
    return np.where(shares == 0, floor, shares)


def psi(ref_counts: Sequence[float], cur_counts: Sequence[float]) -> float:
    ref, cur = _fill_zeroes(_shares(ref_counts)), _fill_zeroes(_shares(cur_counts))
    return float(np.sum((ref - cur) * np.log(ref / cur)))


def jensen_shannon(ref_counts: Sequence[float], cur_counts: Sequence[float]) -> float:
    return float(distance.jensenshannon(_shares(ref_counts), _shares(cur_counts)))


def chi_square_p(ref_counts: Sequence[float], cur_counts: Sequence[float]) -> float:
    """Evidently's chi-square: current counts against the reference shares scaled to it."""
    ref = np.asarray(ref_counts, dtype=float)
    cur = np.asarray(cur_counts, dtype=float)
    expected = ref * (cur.sum() / ref.sum())
    keep = expected > 0
    if (cur[~keep] > 0).any():  # a value the reference never had: as far from it as can be
        return 0.0
    if keep.sum() < 2:
        return 1.0
    return float(sps.chisquare(cur[keep], expected[keep])[1])


def z_test_p(ref_counts: Sequence[float], cur_counts: Sequence[float]) -> float:
    """Two-proportion Z-test on the first category (Evidently's test for two categories)."""
    ref = np.asarray(ref_counts, dtype=float)
    cur = np.asarray(cur_counts, dtype=float)
    n1, n2 = ref.sum(), cur.sum()
    p1, p2 = ref[0] / n1, cur[0] / n2
    pooled = (ref[0] + cur[0]) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0 if p1 == p2 else 0.0
    return float(2 * sps.norm.sf(abs(p1 - p2) / se))


# --------------------------------------------------------------------------- verdicts


def wasserstein_norm(std: float, mean: float) -> float:
    """What the Wasserstein distance is divided by: the reference's standard deviation, as in
    Evidently, whose floor of 0.001 is in the column's own unit (a cost per request in USD,
    spread 3.5e-5, that doubled scored 0.075 against 0.1); here 0.001 only for a column
    without spread (past a millionth of its mean, the float error of the deviation)."""
    return std if std >= 0.001 or std > 1e-6 * abs(mean) else max(0.001, 1e-6 * abs(mean))


def _numeric_score(method: str, ref: NumericHistogram, cur: NumericHistogram) -> float:
    if method == "wasserstein":
        return wasserstein(ref, cur) / wasserstein_norm(ref.std, ref.mean)
    if method == "ks":
        return ks_test_p(ref, cur)
    if method == "psi":
        return psi(ref.counts, cur.counts)
    if method == "jensenshannon":
        return jensen_shannon(ref.counts, cur.counts)
    if method == "chisquare":
        return chi_square_p(ref.counts, cur.counts)
    if method == "z":
        keep = [i for i, (a, b) in enumerate(zip(ref.counts, cur.counts, strict=True)) if a or b]
        return z_test_p([ref.counts[i] for i in keep], [cur.counts[i] for i in keep])
    raise ValueError(f"unknown drift method {method!r}")


def _categorical_score(method: str, ref: Mapping[str, int], cur: Mapping[str, int]) -> float:
    keys = sorted(set(ref) | set(cur))
    r = [ref.get(k, 0) for k in keys]
    c = [cur.get(k, 0) for k in keys]
    if method == "jensenshannon":
        return jensen_shannon(r, c)
    if method == "psi":
        return psi(r, c)
    if method == "chisquare":
        return chi_square_p(r, c)
    if method == "z":
        return z_test_p(r, c) if len(keys) == 2 else (1.0 if len(keys) < 2 else chi_square_p(r, c))
    raise ValueError(f"drift method {method!r} does not apply to a categorical column")


def column_drift(
    name: str,
    kind: str,
    reference: NumericHistogram | Mapping[str, int] | None,
    current: NumericHistogram | Mapping[str, int],
    *,
    min_n: int,
    method: str = "auto",
    threshold: float | None = None,
) -> ColumnDrift:
    """The verdict for one column (before any multiple-testing correction)."""
    n_cur = current.n if isinstance(current, NumericHistogram) else int(sum(current.values()))
    if reference is None:
        return ColumnDrift(name, kind, "", None, 0.0, None, 0, n_cur, "no_reference")
    if isinstance(reference, NumericHistogram):
        n_ref, distinct = reference.n, max(reference.distinct_hint, 6)
        if isinstance(current, NumericHistogram) and reference.maximum == reference.minimum:
            distinct = len({reference.minimum, current.minimum, current.maximum})
    else:
        n_ref = int(sum(reference.values()))
        distinct = len(set(reference) | set(current))  # type: ignore[arg-type]
    chosen = choose_method(kind, n_ref, n_cur, distinct) if method == "auto" else method
    limit = DEFAULT_THRESHOLDS[chosen] if threshold is None else threshold
    is_p = chosen in P_VALUE_METHODS
    if min(n_ref, n_cur) < min_n:
        return ColumnDrift(
            name, kind, chosen, None, limit, None, n_ref, n_cur, "not_enough_data", is_p
        )
    if isinstance(reference, NumericHistogram):
        score = _numeric_score(chosen, reference, current)  # type: ignore[arg-type]
    else:
        score = _categorical_score(chosen, reference, current)  # type: ignore[arg-type]
    drifted = _rejects(method, score, limit) if is_p else score >= limit
    status = "drifted" if drifted else "ok"
    return ColumnDrift(name, kind, chosen, score, limit, drifted, n_ref, n_cur, status, is_p)


def _rejects(method: str, p_value: float, level: float) -> bool:
    """Evidently's boundaries: KS drifts at p <= level, chi-square and z at p < level."""
    return p_value <= level if method == "ks" else p_value < level


def holm(results: Sequence[ColumnDrift], correction: str) -> list[ColumnDrift]:
    """Correct the p-value verdicts of one release x cohort for the number of columns tested.

    Holm-Bonferroni (default) or Bonferroni; distance methods have fixed thresholds, no p-value,
    and are left as they are.
    """
    tested = [r for r in results if r.p_value and r.score is not None]
    if correction == "none" or len(tested) < 2:
        return list(results)
    m = len(tested)
    order = sorted(tested, key=lambda r: r.score)  # type: ignore[arg-type, return-value]
    verdict: dict[str, bool] = {}
    still_rejecting = True
    for rank, result in enumerate(order):
        level = result.threshold / (m - rank if correction == "holm" else m)
        reject = still_rejecting and _rejects(result.method, result.score, level)  # type: ignore[arg-type]
        if correction == "holm" and not reject:
            still_rejecting = False
        verdict[result.column] = reject
    out = []
    for r in results:
        if r.column in verdict:
            drifted = verdict[r.column]
            details = {**r.details, "correction": correction, "tests": m}
            status = "drifted" if drifted else "ok"
            r = replace(r, drifted=drifted, status=status, p_value=True, details=details)
        out.append(r)
    return out
