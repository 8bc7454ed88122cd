"""Quantile sketches as the histograms the drift statistics take (pure).

A drift summary keeps one DDSketch per numeric feature (`lookout.core.sketch`): its buckets are
the values to within 0.5%, and they merge exactly over windows. Two ways to compare two of them:

- `paired`: one bin per bucket value either side holds, so the Wasserstein distance and the KS
  statistic are exact on the bucketed values (each value moved by at most 0.5% of itself), and
  a column with few distinct values keeps them apart (chi-square, z, Jensen-Shannon on them);
- `rebinned`: bins at the reference's quantiles (37 levels, as Evidently bins for PSI and
  Jensen-Shannon on numbers), for the binned effect sizes of a continuous column.
"""

from __future__ import annotations

import math

import numpy as np

from lookout.checks.drift.stats import NumericHistogram
from lookout.core.sketch import Sketch

__all__ = ["LEVELS", "distinct_values", "paired", "rebinned"]

# Quantile levels of the reference that become bin edges for the binned effect sizes.
LEVELS = tuple(sorted({*(i / 32 for i in range(33)), 0.001, 0.005, 0.995, 0.999}))


def _values(sketch: Sketch) -> tuple[np.ndarray, np.ndarray]:
    return sketch.arrays()


def _histogram(values: np.ndarray, counts: np.ndarray, edges: np.ndarray) -> NumericHistogram:
    """The sketch's buckets binned at `edges` (bin 0 below the first edge)."""
    size = len(edges) + 1
    index = np.searchsorted(edges, values, side="right")
    binned = np.bincount(index, weights=counts, minlength=size)
    sums = np.bincount(index, weights=counts * values, minlength=size)
    sumsq = float(np.sum(counts * values * values))
    low = float(values.min()) if len(values) else math.nan
    high = float(values.max()) if len(values) else math.nan
    return NumericHistogram(
        tuple(float(e) for e in edges),
        tuple(round(float(c)) for c in binned),
        tuple(float(s) for s in sums),
        sumsq,
        low,
        high,
    )


def distinct_values(reference: Sketch, current: Sketch) -> int:
    """Bucket values either side holds: the distinct values of a column with few of them."""
    return len(np.union1d(_values(reference)[0], _values(current)[0]))


def paired(reference: Sketch, current: Sketch) -> tuple[NumericHistogram, NumericHistogram]:
    """Both sketches over one bin per bucket value either side holds."""
    ref_values, ref_counts = _values(reference)
    cur_values, cur_counts = _values(current)
    support = np.unique(np.concatenate([ref_values, cur_values]))
    edges = support[1:]  # bin k holds exactly support[k]
    return (
        _histogram(ref_values, ref_counts, edges),
        _histogram(cur_values, cur_counts, edges),
    )


def rebinned(reference: Sketch, current: Sketch) -> tuple[NumericHistogram, NumericHistogram]:
    """Both sketches binned at the reference's quantiles (`LEVELS`, duplicates merged)."""
    quantiles = [reference.quantile(q) for q in LEVELS]
    edges = np.asarray(sorted({q for q in quantiles if q is not None}), dtype=float)
    ref_values, ref_counts = _values(reference)
    cur_values, cur_counts = _values(current)
    return (
        _histogram(ref_values, ref_counts, edges),
        _histogram(cur_values, cur_counts, edges),
    )
