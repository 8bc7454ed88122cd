"""Sketches read back and merged by Lookout's own fast paths equal the ddsketch library's.

Drift verdicts read a day of stored summaries every window (thousands of sketches), so
`Sketch.from_json` writes a store's bins as one slice and `Sketch.merge` adds overlapping bins
as one slice instead of key by key; both fall back to the library where a store collapses.
"""

from __future__ import annotations

import numpy as np
import pytest

from lookout.core.sketch import ALPHA, BIN_LIMIT, Sketch


def _values(rng: np.random.Generator, kind: int) -> np.ndarray:
    n = int(rng.integers(0, 400))
    if kind == 0:  # latencies, any scale
        return rng.lognormal(rng.uniform(-5, 10), rng.uniform(0.1, 3), n)
    if kind == 1:  # signed, with zeros
        return np.concatenate([rng.normal(0, rng.uniform(0.1, 100), n), np.zeros(n % 3)])
    if kind == 2:  # few distinct values
        return rng.integers(0, 5, n).astype(float)
    return np.exp(rng.uniform(-40, 40, n))  # wider than BIN_LIMIT buckets: collapses


def _library_merge(a: Sketch, b: Sketch) -> Sketch:
    out = Sketch.from_json(a.to_json())
    out._sketch.merge(Sketch.from_json(b.to_json())._sketch)  # ddsketch's own merge
    return out


@pytest.mark.parametrize("seed", range(4))
def test_read_back_and_merges_equal_the_librarys(seed):
    rng = np.random.default_rng(seed)
    collapsed = 0
    for _ in range(80):
        a = Sketch.of(_values(rng, int(rng.integers(0, 4))))
        b = Sketch.of(_values(rng, int(rng.integers(0, 4))))
        again = Sketch.from_json(a.to_json())
        assert again.to_json() == a.to_json()
        assert again.count == a.count
        ours = Sketch.from_json(a.to_json()).merge(Sketch.from_json(b.to_json()))
        theirs = _library_merge(a, b)
        assert ours.to_json() == theirs.to_json()
        assert ours.count == theirs.count == a.count + b.count
        for q in (0.0, 0.01, 0.5, 0.99, 1.0):
            assert ours.quantile(q) == theirs.quantile(q)
        collapsed += ours._sketch._store.is_collapsed
    assert collapsed  # the fallback was exercised too
    assert BIN_LIMIT == 2048


@pytest.mark.parametrize(
    "stored",
    [{"p": [3, 1, -1]}, {"p": [3, "x"]}, {"p": [3, float("nan")]}, {"p": "zz"}, {"z": -1}],
)
def test_a_stored_sketch_that_is_not_one_is_refused(stored):
    with pytest.raises(ValueError, match="not a stored sketch"):
        Sketch.from_json(stored)


@pytest.mark.parametrize("n", [1, 2, 7, 83, 1000])
@pytest.mark.parametrize("q", [0.0, 0.5, 0.95, 0.99, 1.0])
def test_a_quantile_is_interpolated_between_ranks_as_percentile_cont(n, q):
    """The stored per-window quantile is SQL's `percentile_cont` (interpolated); the sketch's
    must agree on the same rows, or a pooled p95 over one small window reads 12% under the
    window's own (trial J: 83 latencies with a tail)."""
    values = np.random.default_rng(n).lognormal(8, 0.6, n)
    exact = float(np.quantile(values, q))  # numpy's default is percentile_cont's
    assert Sketch.of(values).quantile(q) == pytest.approx(exact, rel=2 * ALPHA)


def test_the_ends_of_a_sketch_of_weights_are_its_first_and_last_buckets():
    """Counts need not be whole (a sketch of weights): q 0 and 1 are still the ends."""
    weighted = Sketch.from_keys({100: 2.5, 200: 0.5})
    low, high = weighted.quantile(0.0), weighted.quantile(1.0)
    assert low is not None and high is not None and low < high
    assert high == pytest.approx(Sketch.from_keys({200: 1}).quantile(0.5))
