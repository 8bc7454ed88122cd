"""Which cohort explains which drift (pure): the shift lives in one cohort, in the intersection
of two, everywhere, or in a cohort too small to move the release."""

from __future__ import annotations

from itertools import product

from lookout.core.sketch import Sketch
from lookout.core.summary import Summary
from lookout.stages.drift.attribution import attribute, complement

PLANS = ("free", "pro", "enterprise")
REGIONS = ("us", "eu")


def world(shifted: set[tuple[str, str]]):
    """`still_drifts` and the drifted groups when the rows of the (plan, region) cells in
    `shifted` moved: a group drifts while it holds a shifted cell."""

    def cells(group: str) -> set[tuple[str, str]]:
        every = set(product(PLANS, REGIONS))
        if group == "*":
            return every
        column, _, value = group.partition("=")
        return {c for c in every if c[0 if column == "plan" else 1] == value}

    def still_drifts(parent: str, source: str) -> bool:
        return bool((cells(parent) - cells(source)) & shifted)

    groups = ["*", *(f"plan={p}" for p in PLANS), *(f"region={r}" for r in REGIONS)]
    drifted = [g for g in groups if cells(g) & shifted]
    return drifted, still_drifts


def test_a_shift_in_one_plan_explains_the_release_and_every_region():
    drifted, still = world({("enterprise", "us"), ("enterprise", "eu")})
    assert set(drifted) == {"*", "plan=enterprise", "region=us", "region=eu"}
    found = attribute(drifted, still, {"plan=enterprise": 30.0, "region=us": 3, "region=eu": 3})
    assert found == {
        "*": "plan=enterprise",
        "region=us": "plan=enterprise",
        "region=eu": ("plan=enterprise"),
    }


def test_a_shift_in_an_intersection_hides_neither_cohort():
    """enterprise in eu only: each of the two explains the other; both alert, the release is
    explained by the stronger."""
    drifted, still = world({("enterprise", "eu")})
    assert set(drifted) == {"*", "plan=enterprise", "region=eu"}
    found = attribute(drifted, still, {"plan=enterprise": 9.0, "region=eu": 4.0})
    assert found == {"*": "plan=enterprise"}


def test_a_shift_everywhere_is_explained_by_nothing():
    drifted, still = world(set(product(PLANS, REGIONS)))
    assert attribute(drifted, still, {}) == {}


def test_without_the_release_drifting_the_direction_is_tested_both_ways():
    """The release did not drift (the shifted plan is small); enterprise and eu both did:
    eu without enterprise is clean, enterprise without eu is not (us enterprise moved too)."""
    drifted, still = world({("enterprise", "us"), ("enterprise", "eu")})
    drifted = [g for g in drifted if g != "*"]
    assert attribute(drifted, still, {}) == {
        "region=us": "plan=enterprise",
        "region=eu": "plan=enterprise",
    }


def test_a_complement_is_a_merge_of_the_other_values_of_the_sources_column():
    def part(n: int) -> Summary:
        return Summary(sketches={"drift:x": Sketch.of([float(n)] * n)})

    singles = {("plan=free",): part(1), ("plan=pro",): part(2), ("plan=enterprise",): part(4)}
    pairs = {
        ("plan=free", "region=eu"): part(8),
        ("plan=enterprise", "region=eu"): part(16),
        ("plan=pro", "region=us"): part(32),
    }
    whole = complement(singles, "*", "plan=enterprise")
    assert whole is not None and whole.sketches["drift:x"].count == 1 + 2
    eu = complement(pairs, "region=eu", "plan=enterprise")
    assert eu is not None and eu.sketches["drift:x"].count == 8
    assert complement(pairs, "region=us", "plan=pro") is None  # nothing of us outside pro
    assert singles[("plan=free",)].sketches["drift:x"].count == 1  # parts left as they were


def test_a_remainder_too_small_to_judge_keeps_the_parents_own_alert():
    """The release-wide drift is explained by a cohort only when the release without it is
    judged clean. A remainder below the drift `min_n` (28 rows of the other routes in the
    hour) cannot be judged: the doubt keeps the release's alert (it had been "explained by
    route=chat" while every route had shifted). A large clean remainder still explains it,
    and a parent that is all source rows is explained by it."""
    import numpy as np

    from lookout.checks.drift.verdict import Criteria
    from lookout.sources.drift_columns import DriftColumn
    from lookout.sources.drift_summaries import feature_key
    from lookout.stages.drift.stage import _Parts, _still_drifts

    rng = np.random.default_rng(2)
    column = DriftColumn("completion_tokens", "numeric", "completion_tokens")

    def summary(values) -> Summary:
        out = Summary(windows=1)
        out.sketches[feature_key(column.name)] = Sketch.of(np.asarray(values, dtype=float))
        return out

    def parts(other_rows: int, other_shift: float) -> _Parts:
        current = {
            ("route=chat",): summary(rng.lognormal(6.0 + 0.7, 0.3, 600)),
            ("route=search",): summary(rng.lognormal(6.0 + other_shift, 0.3, other_rows)),
        }
        reference = {
            ("route=chat",): summary(rng.lognormal(6.0, 0.3, 2000)),
            ("route=search",): summary(rng.lognormal(6.0, 0.3, 2000)),
        }
        return _Parts(current, reference, lambda: ({}, {}))

    criteria = Criteria(min_n=30)
    assert _still_drifts(parts(28, 0.7), column, criteria, "*", "route=chat")  # doubt: kept
    assert _still_drifts(parts(400, 0.7), column, criteria, "*", "route=chat")  # shifted too
    assert not _still_drifts(parts(400, 0.0), column, criteria, "*", "route=chat")  # clean
    alone = _Parts({("route=chat",): summary(rng.lognormal(6.7, 0.3, 600))}, {}, lambda: ({}, {}))
    assert not _still_drifts(alone, column, criteria, "*", "route=chat")
