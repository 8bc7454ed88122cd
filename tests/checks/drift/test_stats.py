"""Drift statistics from histograms against Evidently 0.7 and scipy on the same raw data."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from scipy.spatial import distance

from lookout.checks.drift.sketches import LEVELS
from lookout.checks.drift.stats import (
    ColumnDrift,
    NumericHistogram,
    choose_method,
    column_drift,
    holm,
    jensen_shannon,
    ks_statistic,
    psi,
    wasserstein,
)

EVIDENTLY_METHODS = {
    "Wasserstein distance (normed)": "wasserstein",
    "Jensen-Shannon distance": "jensenshannon",
    "K-S p_value": "ks",
    "chi-square p_value": "chisquare",
    "Z-test p_value": "z",
}


def reference_edges(reference: np.ndarray) -> tuple[float, ...]:
    """The distinct quantiles (linear) of the reference at the drift LEVELS."""
    return tuple(sorted({float(v) for v in np.quantile(reference, LEVELS)}))


def numeric_histogram(values: np.ndarray, edges: tuple[float, ...]) -> NumericHistogram:
    """Counts, sums, sums of squares, min and max per bucket of the raw values (bucket i is
    [edges[i-1], edges[i]))."""
    values = np.asarray(values, dtype=float)
    bucket = np.searchsorted(np.asarray(edges, dtype=float), values, side="right")
    buckets = {
        int(b): (
            int((bucket == b).sum()),
            float(values[bucket == b].sum()),
            float((values[bucket == b] ** 2).sum()),
            float(values[bucket == b].min()),
            float(values[bucket == b].max()),
        )
        for b in np.unique(bucket)
    }
    return NumericHistogram.from_buckets(edges, buckets)


def lookout_verdict(name: str, reference: pd.Series, current: pd.Series) -> ColumnDrift:
    if pd.api.types.is_numeric_dtype(reference):
        edges = reference_edges(reference.to_numpy())
        ref: object = numeric_histogram(reference.to_numpy(), edges)
        cur: object = numeric_histogram(current.to_numpy(), edges)
        kind = "numeric"
    else:
        ref, cur, kind = dict(Counter(reference)), dict(Counter(current)), "categorical"
    return column_drift(name, kind, ref, cur, min_n=100)  # type: ignore[arg-type]


def regime_data(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Equal-size reference and current (Evidently keys on the reference size, Lookout on the
    smaller side): one shifted and one unshifted column of each kind."""
    rng = np.random.default_rng(seed)
    routes = ["faq", "search", "fallback"]
    before, after = [0.5, 0.3, 0.2], [0.3, 0.3, 0.4]

    def frame(shift: float, mix: list[float], flag: float) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "latency_shifted": rng.lognormal(7 + shift, 0.5, n),
                "latency_same": rng.normal(100, 15, n),
                "route_shifted": rng.choice(routes, n, p=mix),
                "route_same": rng.choice(routes, n, p=before),
                "flag_shifted": rng.choice(["true", "false"], n, p=[flag, 1 - flag]),
                "flag_same": rng.choice(["true", "false"], n, p=[0.1, 0.9]),
            }
        )

    return frame(0.0, before, 0.1), frame(0.15, after, 0.3)


@pytest.fixture(scope="module")
def evidently_results():
    """Evidently's per-column (method, score, drifted) for both regimes (one report each)."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    out = {}
    for n in (3000, 600):
        reference, current = regime_data(n)
        definition = DataDefinition(
            numerical_columns=[c for c in reference if c.startswith("latency")],
            categorical_columns=[c for c in reference if not c.startswith("latency")],
        )
        snapshot = (
            Report([DataDriftPreset()], include_tests=True)
            .run(
                Dataset.from_pandas(current, data_definition=definition),
                Dataset.from_pandas(reference, data_definition=definition),
            )
            .dict()
        )
        scores = {
            m["config"]["column"]: (EVIDENTLY_METHODS[m["config"]["method"]], float(m["value"]))
            for m in snapshot["metrics"]
            if m["config"]["type"] == "evidently:metric_v2:ValueDrift"
        }
        # The ValueDrift test fails exactly when Evidently flags the column as drifted.
        flags = {
            t["metric_config"]["params"]["column"]: t["status"] == "FAIL"
            for t in snapshot["tests"]
            if t["metric_config"]["params"]["type"] == "evidently:metric_v2:ValueDrift"
        }
        assert set(scores) == set(flags) == set(reference.columns)
        out[n] = (reference, current, {c: (*scores[c], flags[c]) for c in scores})
    return out


@pytest.mark.parametrize(
    ("n", "methods"),
    [
        (3000, {"latency": "wasserstein", "route": "jensenshannon", "flag": "jensenshannon"}),
        (600, {"latency": "ks", "route": "chisquare", "flag": "z"}),
    ],
)
def test_verdicts_agree_with_evidently(evidently_results, n, methods):
    reference, current, theirs = evidently_results[n]
    for column in reference.columns:
        method, score, drifted = theirs[column]
        ours = lookout_verdict(column, reference[column], current[column])
        assert ours.method == method == methods[column.split("_")[0]], column
        # the data is built so that Evidently flags exactly the shifted columns
        assert drifted is column.endswith("_shifted"), (column, score)
        assert ours.drifted is drifted, (column, ours.score, score)
        assert ours.status == ("drifted" if drifted else "ok")
        assert (ours.n_reference, ours.n_current) == (n, n)
        if ours.kind == "categorical":
            # Value counts are the same data Evidently counts: the score is exact, except that
            # Evidently's Z-test p-value is 1 - cdf, which rounds to 0 below ~1e-16.
            assert ours.score == pytest.approx(score, rel=1e-9, abs=1e-15), column
        elif method == "wasserstein":
            # Histogram approximation: exact per bucket unless the two CDFs cross inside it,
            # and never above the exact distance; 37 quantile buckets keep the normed error
            # under 0.01 (a tenth of the 0.1 threshold).
            assert score - 0.01 <= ours.score <= score + 1e-9, column
        else:
            # KS: the statistic is read at the reference's quantile edges (a lower bound of the
            # exact one) with scipy's asymptotic p-value where Evidently takes the exact one;
            # the p-value is on the same side of 0.05 and within 0.2 (drift: both tiny).
            assert ours.score == pytest.approx(score, abs=0.2), column
            if drifted:
                assert ours.score < 1e-3 and score < 1e-3


def test_ks_statistic_is_within_one_bucket_of_the_exact_one():
    rng = np.random.default_rng(3)
    reference, current = rng.lognormal(7, 0.5, 800), rng.lognormal(7.1, 0.6, 700)
    edges = reference_edges(reference)
    ref, cur = numeric_histogram(reference, edges), numeric_histogram(current, edges)
    exact = sps.ks_2samp(reference, current).statistic
    at_edges = ks_statistic(ref, cur)
    widest = max(max(ref.counts) / ref.n, max(cur.counts) / cur.n)
    assert at_edges <= exact + 1e-12
    assert exact - at_edges <= widest
    assert at_edges > 0.05  # a real gap, not a degenerate zero


# --------------------------------------------------------------------------- Wasserstein


@pytest.mark.parametrize("data", ["integers", "floats", "disjoint"])
def test_wasserstein_is_exact_when_every_value_has_its_own_bucket(data):
    rng = np.random.default_rng(7)
    if data == "integers":  # many ties
        reference, current = rng.integers(0, 40, 900), rng.integers(5, 60, 400)
    elif data == "floats":
        reference, current = rng.normal(0, 1, 300), rng.normal(0.3, 2, 250)
    else:  # current entirely above the reference
        reference, current = rng.uniform(0, 1, 200), rng.uniform(5, 6, 150)
    reference, current = reference.astype(float), current.astype(float)
    edges = tuple(sorted({*reference.tolist(), *current.tolist()}))
    ref, cur = numeric_histogram(reference, edges), numeric_histogram(current, edges)
    assert ref.n == len(reference) and cur.n == len(current)
    exact = sps.wasserstein_distance(reference, current)
    assert wasserstein(ref, cur) == pytest.approx(exact, rel=1e-9)
    assert wasserstein(cur, ref) == pytest.approx(exact, rel=1e-9)


@pytest.mark.parametrize("shift", [0.0, 0.05, 0.3])
def test_wasserstein_with_quantile_buckets_is_close_and_never_above(shift):
    rng = np.random.default_rng(11)
    reference, current = rng.lognormal(7, 0.5, 3000), rng.lognormal(7 + shift, 0.5, 2000)
    edges = reference_edges(reference)
    assert len(edges) == len(LEVELS) == 37  # continuous data: no duplicate quantile
    got = wasserstein(numeric_histogram(reference, edges), numeric_histogram(current, edges))
    exact = sps.wasserstein_distance(reference, current)
    # |integral of (F_ref - F_cur)| <= integral |F_ref - F_cur| per bucket: a lower bound
    assert got <= exact * (1 + 1e-12)
    assert exact - got <= 0.01 * reference.std()
    if shift >= 0.3:  # the CDFs cross only in the sparse tails: within 0.1 %
        assert got == pytest.approx(exact, rel=1e-3)


def test_histogram_moments_and_json_round_trip():
    values = np.array([1.0, 2.0, 2.0, 3.5, 10.0])
    hist = numeric_histogram(values, (2.0, 3.0))
    assert hist.counts == (1, 2, 2)  # [<2], [2, 3), [>=3]
    assert hist.sums == (1.0, 4.0, 13.5)
    assert (hist.minimum, hist.maximum, hist.n) == (1.0, 10.0, 5)
    assert hist.mean == pytest.approx(values.mean())
    assert hist.std == pytest.approx(values.std())  # population std, as Evidently (numpy)
    assert NumericHistogram.from_json(hist.to_json()) == hist


# --------------------------------------------------------------------------- min_n


@pytest.mark.parametrize(("n_ref", "n_cur"), [(99, 500), (500, 99), (50, 50)])
def test_below_min_n_is_not_enough_data(n_ref, n_cur):
    rng = np.random.default_rng(1)
    reference, current = rng.normal(0, 1, n_ref), rng.normal(5, 1, n_cur)  # obvious drift
    edges = reference_edges(reference)
    numeric = column_drift(
        "latency_ms",
        "numeric",
        numeric_histogram(reference, edges),
        numeric_histogram(current, edges),
        min_n=100,
    )
    categorical = column_drift(
        "route", "categorical", {"a": n_ref}, {"b": n_cur}, min_n=100
    )  # disjoint categories: would be drifted with enough rows
    for verdict in (numeric, categorical):
        assert verdict.status == "not_enough_data"
        assert verdict.drifted is None and verdict.score is None
        assert (verdict.n_reference, verdict.n_current) == (n_ref, n_cur)
    assert numeric.method == "ks" and numeric.p_value


def test_at_min_n_the_verdict_is_given():
    rng = np.random.default_rng(1)
    reference, current = rng.normal(0, 1, 100), rng.normal(5, 1, 100)
    edges = reference_edges(reference)
    verdict = column_drift(
        "x",
        "numeric",
        numeric_histogram(reference, edges),
        numeric_histogram(current, edges),
        min_n=100,
    )
    assert verdict.status == "drifted" and verdict.drifted is True
    assert verdict.score is not None and verdict.score < 1e-6
    both = column_drift("route", "categorical", {"a": 60, "b": 40}, {"a": 100}, min_n=100)
    assert both.method == "z" and both.drifted is True


def test_no_reference():
    verdict = column_drift("route", "categorical", None, {"a": 500}, min_n=100)
    assert verdict.status == "no_reference"
    assert verdict.drifted is None and verdict.score is None and verdict.n_current == 500


def test_choose_method_follows_evidentlys_defaults_on_the_smaller_side():
    assert choose_method("numeric", 5000, 5000, 50) == "wasserstein"
    assert choose_method("numeric", 5000, 1000, 50) == "ks"  # a small window is small
    assert choose_method("numeric", 1000, 5000, 50) == "ks"
    assert choose_method("numeric", 5000, 5000, 4) == "jensenshannon"
    assert choose_method("numeric", 500, 500, 4) == "chisquare"
    assert choose_method("numeric", 500, 500, 2) == "z"
    assert choose_method("categorical", 1001, 1001, 2) == "jensenshannon"
    assert choose_method("categorical", 1000, 5000, 3) == "chisquare"
    assert choose_method("categorical", 1000, 5000, 2) == "z"


def test_configured_threshold_and_method_are_used():
    ref, cur = {"a": 500, "b": 500}, {"a": 450, "b": 550}
    js = jensen_shannon([500, 500], [450, 550])
    loose = column_drift("c", "categorical", ref, cur, min_n=10, method="jensenshannon")
    assert loose.score == pytest.approx(js) and loose.threshold == 0.1 and not loose.drifted
    tight = column_drift(
        "c", "categorical", ref, cur, min_n=10, method="jensenshannon", threshold=js / 2
    )
    assert tight.drifted is True and not tight.p_value
    with pytest.raises(ValueError, match="does not apply"):
        column_drift("c", "categorical", ref, cur, min_n=10, method="ks")


# --------------------------------------------------------------------------- corrections


def p_verdict(column: str, p: float, threshold: float = 0.05) -> ColumnDrift:
    drifted = p < threshold
    status = "drifted" if drifted else "ok"
    return ColumnDrift(column, "numeric", "ks", p, threshold, drifted, 500, 500, status, True)


def distance_verdict(column: str, score: float) -> ColumnDrift:
    drifted = score >= 0.1
    status = "drifted" if drifted else "ok"
    return ColumnDrift(column, "numeric", "wasserstein", score, 0.1, drifted, 5000, 5000, status)


def test_holm_steps_down_and_stops_at_the_first_acceptance():
    # m = 4 p-values; Holm levels 0.05/4, 0.05/3, 0.05/2, 0.05/1 in ascending p order:
    # 0.001 < 0.0125 reject; 0.015 < 0.01667 reject; 0.03 >= 0.025 accept, and so does
    # everything after it, even 0.04 < 0.05.
    results = [
        p_verdict("c", 0.03),
        p_verdict("a", 0.001),
        distance_verdict("w", 0.5),
        p_verdict("d", 0.04),
        p_verdict("b", 0.015),
        distance_verdict("v", 0.02),
        ColumnDrift("e", "numeric", "ks", None, 0.05, None, 5, 5, "not_enough_data", True),
    ]
    out = holm(results, "holm")
    assert [r.column for r in out] == [r.column for r in results]  # order kept
    got = {r.column: r.drifted for r in out}
    assert got == {"a": True, "b": True, "c": False, "d": False, "w": True, "v": False, "e": None}
    by_name = {r.column: r for r in out}
    assert by_name["c"].status == "ok" and by_name["a"].status == "drifted"
    assert by_name["a"].details == {"correction": "holm", "tests": 4}
    assert by_name["a"].score == 0.001  # p-values are not adjusted, only the verdicts
    # distance methods and untested columns are returned untouched
    for name in ("w", "v", "e"):
        assert by_name[name] is next(r for r in results if r.column == name)


def test_bonferroni_uses_one_level_for_all():
    results = [p_verdict("a", 0.001), p_verdict("b", 0.015), p_verdict("c", 0.03)]
    # level 0.05/3 = 0.01667 for every test
    assert [r.drifted for r in holm(results, "bonferroni")] == [True, True, False]
    # Holm: 0.001 < 0.0167, 0.015 < 0.025, 0.03 < 0.05: all three
    assert [r.drifted for r in holm(results, "holm")] == [True, True, True]
    assert holm(results, "bonferroni")[2].details == {"correction": "bonferroni", "tests": 3}


def test_no_correction_for_none_or_a_single_test():
    results = [p_verdict("a", 0.03), distance_verdict("w", 0.5)]
    assert holm(results, "holm") == results  # one p-value: nothing to correct
    many = [p_verdict("a", 0.03), p_verdict("b", 0.04)]
    assert holm(many, "none") == many
    assert [r.drifted for r in holm(many, "holm")] == [False, False]


# --------------------------------------------------------------------------- PSI / JS


def test_psi_hand_computed():
    # shares (0.5, 0.5) -> (0.25, 0.75)
    expected = (0.5 - 0.25) * math.log(0.5 / 0.25) + (0.5 - 0.75) * math.log(0.5 / 0.75)
    assert psi([50, 50], [25, 75]) == pytest.approx(expected, rel=1e-12)
    assert psi([50, 50], [25, 75]) == pytest.approx(0.2746530722, rel=1e-9)
    assert psi([3, 7], [30, 70]) == pytest.approx(0.0, abs=1e-15)
    # an empty bucket gets Evidently's floor share 0.0001 (smallest share > 0.0001)
    floor = 0.0001
    expected = (1 - 0.5) * math.log(1 / 0.5) + (floor - 0.5) * math.log(floor / 0.5)
    assert psi([10, 0], [5, 5]) == pytest.approx(expected, rel=1e-12)
    # ...or a millionth of the smallest share when that is tiny
    tiny = 1 / 20001
    ref = [1, 20000, 0]
    cur = [1, 1, 1]
    r = np.array([tiny, 20000 / 20001, tiny / 10**6])
    c = np.array([1 / 3] * 3)
    assert psi(ref, cur) == pytest.approx(float(np.sum((r - c) * np.log(r / c))), rel=1e-9)


def test_psi_matches_evidently_on_categories():
    from evidently.legacy.calculations.stattests.psi import _psi
    from evidently.legacy.core import ColumnType

    reference = pd.Series(["a"] * 50 + ["b"] * 30 + ["c"] * 20)
    current = pd.Series(["a"] * 20 + ["b"] * 30 + ["d"] * 10)
    theirs, _ = _psi(reference, current, ColumnType.Categorical, 0.1)
    keys = ["a", "b", "c", "d"]
    ours = psi(
        [reference.tolist().count(k) for k in keys], [current.tolist().count(k) for k in keys]
    )
    assert ours == pytest.approx(theirs, rel=1e-12)


def test_jensen_shannon_hand_computed():
    p, q = np.array([0.5, 0.5]), np.array([0.25, 0.75])
    m = (p + q) / 2
    kl = lambda a, b: float(np.sum(a * np.log(a / b)))  # noqa: E731
    expected = math.sqrt((kl(p, m) + kl(q, m)) / 2)  # natural log, scipy's default base
    assert jensen_shannon([50, 50], [25, 75]) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(0.18390, abs=1e-5)
    assert jensen_shannon([1, 0], [0, 1]) == pytest.approx(math.sqrt(math.log(2)), rel=1e-12)
    assert jensen_shannon([2, 6], [1, 3]) == pytest.approx(0.0, abs=1e-7)
    assert jensen_shannon([50, 50], [25, 75]) == pytest.approx(
        distance.jensenshannon([2, 2], [1, 3]), rel=1e-12
    )


def test_the_small_sample_test_is_corrected_over_the_groups_of_a_release():
    """A modest shift on ~300 rows a side (KS p of a few per mille, effect past the floor) is
    drift for a release judged alone, and chance among the 14 cohort groups of a release
    judged every hour; a 2.6x shift is drift either way."""
    from lookout.checks.drift.verdict import Criteria, judge_all
    from lookout.core.sketch import Sketch
    from lookout.sources.drift_columns import DriftColumn

    rng = np.random.default_rng(3)
    column = DriftColumn("input_length", "numeric", "input", "length")
    ref = {"input_length": Sketch.of(rng.lognormal(5.0, 0.6, 320))}
    modest = {"input_length": Sketch.of(rng.lognormal(5.1, 0.6, 300))}
    large = {"input_length": Sketch.of(rng.lognormal(5.0 + np.log(2.6), 0.6, 300))}
    base = Criteria()
    (alone,) = judge_all([column], ref, modest, base)
    (among,) = judge_all([column], ref, modest, base.across(14))
    assert alone.score > base.floor("wasserstein")  # past the effect floor either way
    assert base.across(14).level("ks") < alone.gate_p < base.level("ks")
    assert alone.drifted and not among.drifted
    assert among.gate_level == pytest.approx(0.05 / 14)
    assert judge_all([column], ref, large, base.across(14))[0].drifted
    assert Criteria(correction="none").across(14).level("ks") == 0.05
