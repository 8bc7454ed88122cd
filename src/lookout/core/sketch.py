"""Quantile sketches that merge: DDSketch (Masson et al., VLDB 2019) via the `ddsketch` library.

Why DDSketch: its buckets are a fixed function of the value (bucket `ceil(ln v / ln gamma)`),
so the warehouse can build a sketch with a GROUP BY on that expression and only bucket counts
leave the database; sketches of windows, releases and cohorts merge exactly (counts add); and a
quantile is within `ALPHA` relative error of a value of the data at that rank, whatever the
distribution. (t-digest and KLL cannot be built in SQL, and their merges are approximate.)

Values are bucketed here with numpy (the library adds one value at a time in Python), with the
library's own mapping parameters; a test holds the keys equal to `LogarithmicMapping.key`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from ddsketch.ddsketch import BaseDDSketch
from ddsketch.mapping import LogarithmicMapping
from ddsketch.store import CollapsingLowestDenseStore

__all__ = ["ALPHA", "BIN_LIMIT", "Sketch", "bucket_keys", "key_multiplier"]

# Relative accuracy: a quantile is within 0.5% of a value of the data at that rank (pooled
# p50/p95/p99 land within 1% of percentile_cont, see benchmarks/bench_sketch.py).
ALPHA = 0.005
# Buckets kept per sign; beyond it the lowest buckets are merged (only the bottom quantiles of
# a distribution spanning more than ~9 decades lose accuracy). Bounds memory on hostile values.
BIN_LIMIT = 2048
# |v| below this is counted as zero (a latency of 1e-300 must not allocate 70,000 buckets).
MIN_VALUE = 1e-9


def key_multiplier(alpha: float = ALPHA) -> float:
    """1 / ln(gamma), gamma = (1 + alpha) / (1 - alpha): key(v) = ceil(ln(v) * multiplier)."""
    return 1.0 / math.log1p(2 * alpha / (1 - alpha))


def bucket_keys(values: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """The bucket key of each positive value (the same formula the SQL pushdown uses)."""
    return np.ceil(np.log(values) * key_multiplier(alpha)).astype(np.int64)


def _new(alpha: float) -> BaseDDSketch:
    return BaseDDSketch(
        LogarithmicMapping(alpha),
        CollapsingLowestDenseStore(BIN_LIMIT),
        CollapsingLowestDenseStore(BIN_LIMIT),
        0.0,
    )


def _fill(store: CollapsingLowestDenseStore, keys: Iterable[int], counts: Iterable[float]) -> None:
    for key, count in zip(keys, counts, strict=True):
        if count:
            store.add(int(key), float(count))


def _dump(store: CollapsingLowestDenseStore) -> list[Any]:
    """[first key, counts...] over the store's non-empty range ([] when empty)."""
    if store.count == 0:
        return []
    counts = [store.bins[k - store.offset] for k in range(store.min_key, store.max_key + 1)]
    return [store.min_key, *(int(c) if float(c).is_integer() else c for c in counts)]


class Sketch:
    """A mergeable quantile sketch of one numeric column (count, buckets, zero count)."""

    __slots__ = ("_sketch", "alpha")

    def __init__(self, alpha: float = ALPHA) -> None:
        self.alpha = alpha
        self._sketch = _new(alpha)

    # -- building ------------------------------------------------------------------------------

    @classmethod
    def of(cls, values: Any, alpha: float = ALPHA) -> Sketch:
        """A sketch of the finite values of an array (NaN and inf are not values)."""
        array = np.asarray(values, dtype=float)
        array = array[np.isfinite(array)]
        positive = array[array >= MIN_VALUE]
        negative = -array[array <= -MIN_VALUE]
        zeros = float(array.size - positive.size - negative.size)
        return cls.from_keys(
            _counted(bucket_keys(positive, alpha)),
            _counted(bucket_keys(negative, alpha)),
            zeros,
            alpha,
        )

    @classmethod
    def from_keys(
        cls,
        positive: Mapping[int, float],
        negative: Mapping[int, float] | None = None,
        zeros: float = 0.0,
        alpha: float = ALPHA,
    ) -> Sketch:
        """From bucket counts (what a GROUP BY on the bucket key returns)."""
        out = cls(alpha)
        store, negative_store = CollapsingLowestDenseStore(BIN_LIMIT), None
        _fill(store, positive.keys(), positive.values())
        negative_store = CollapsingLowestDenseStore(BIN_LIMIT)
        if negative:
            _fill(negative_store, negative.keys(), negative.values())
        out._sketch = BaseDDSketch(LogarithmicMapping(alpha), store, negative_store, float(zeros))
        return out

    # -- reading -------------------------------------------------------------------------------

    @property
    def count(self) -> float:
        return float(self._sketch.count)

    def quantile(self, q: float) -> float | None:
        """The value at quantile `q` (within `alpha` relative error), None when empty."""
        value = self._sketch.get_quantile_value(q)
        return None if value is None else float(value)

    def buckets(self) -> list[tuple[float, float]]:
        """(representative value, count) of every non-empty bucket, ascending: what drift
        histograms are rebinned from."""
        mapping = self._sketch._mapping
        out: list[tuple[float, float]] = []
        negative = self._sketch._negative_store
        if negative.count:
            for key in range(negative.max_key, negative.min_key - 1, -1):
                count = negative.bins[key - negative.offset]
                if count:
                    out.append((-mapping.value(key), float(count)))
        if self._sketch._zero_count:
            out.append((0.0, float(self._sketch._zero_count)))
        store = self._sketch._store
        if store.count:
            for key in range(store.min_key, store.max_key + 1):
                count = store.bins[key - store.offset]
                if count:
                    out.append((mapping.value(key), float(count)))
        return out

    # -- combining -----------------------------------------------------------------------------

    def merge(self, other: Sketch) -> Sketch:
        """Add `other`'s values to this sketch (in place; returns self)."""
        if other.alpha != self.alpha:
            raise ValueError(f"cannot merge sketches of accuracy {self.alpha} and {other.alpha}")
        self._sketch.merge(other._sketch)
        return self

    def copy(self) -> Sketch:
        return Sketch(self.alpha).merge(self)

    # -- storage -------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"p": _dump(self._sketch._store)}
        if self.alpha != ALPHA:
            data["a"] = self.alpha
        if self._sketch._negative_store.count:
            data["m"] = _dump(self._sketch._negative_store)
        if self._sketch._zero_count:
            data["z"] = self._sketch._zero_count
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Sketch:
        """Raises ValueError on anything that is not a stored sketch (a corrupted row)."""
        try:
            alpha = float(data.get("a", ALPHA))
            positive = _undump(data.get("p", []))
            negative = _undump(data.get("m", []))
            zeros = float(data.get("z", 0.0))
        except (TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"not a stored sketch: {exc}") from None
        if not 0 < alpha < 1 or zeros < 0 or not math.isfinite(zeros):
            raise ValueError("not a stored sketch: bad accuracy or zero count")
        return cls.from_keys(positive, negative, zeros, alpha)

    def __repr__(self) -> str:
        return f"Sketch(count={self.count:g}, alpha={self.alpha})"


def _counted(keys: np.ndarray) -> dict[int, float]:
    if keys.size == 0:
        return {}
    unique, counts = np.unique(keys, return_counts=True)
    return dict(zip(unique.tolist(), counts.astype(float).tolist(), strict=True))


def _undump(dumped: list[Any]) -> dict[int, float]:
    if not dumped:
        return {}
    first = int(dumped[0])
    out: dict[int, float] = {}
    for offset, count in enumerate(dumped[1:]):
        count = float(count)
        if count < 0 or not math.isfinite(count):
            raise ValueError("negative or non-finite bucket count")
        if count:
            out[first + offset] = count
    return out
