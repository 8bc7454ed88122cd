"""The metric family registry in `lookout.model`: one declaration per stage, and pooling by
what each family is (a count per window, a flag, a rate, a quantile)."""

from __future__ import annotations

import pytest

from lookout.model.families.pooling import pool
from lookout.model.families.registry import BY_STAGE, FAMILIES
from lookout.stages.registry import STAGES


def test_each_stage_writes_exactly_the_families_declared_under_its_name():
    assert {entry.name for entry in STAGES} | {"health"} == set(BY_STAGE)
    for entry in STAGES:
        assert entry.families is BY_STAGE[entry.name]
    for stage, families in BY_STAGE.items():
        assert families and {family.stage for family in families} == {stage}


@pytest.mark.parametrize(
    ("metric", "expected_stage"),
    [
        ("error_rate", "ops"),
        ("latency_p95_ms", "ops"),
        ("window_rows", "health"),
        ("validation.between_latency_ms", "validate"),
        ("drift.input_length", "drift"),
        ("eval.groundedness", "evaluate"),
    ],
)
def test_the_registry_finds_a_stored_name_by_exact_name_or_prefix(metric, expected_stage):
    family = FAMILIES.family(metric)
    assert family is not None and family.stage == expected_stage


@pytest.mark.parametrize(
    "metric", ["request_count", "window_rows", "validation_failed_expectations", "drift.x"]
)
def test_counts_and_flags_pool_as_their_mean_per_window_not_weighted_by_n(metric):
    # two windows: 1 of 10 and 0 of 990; a weighted mean would say 0.01
    assert pool(metric, [(1.0, 10), (0.0, 990)]) == (0.5, 1000)


def test_rates_pool_weighted_by_n_and_quantiles_as_the_median_window():
    assert pool("error_rate", [(0.5, 10), (0.0, 990)]) == (0.005, 1000)
    assert pool("latency_p95_ms", [(100.0, 10), (900.0, 10), (200.0, 10)]) == (200.0, 30)
    assert pool("error_rate", [(0.5, 0)]) is None


def test_dollars_keep_three_significant_digits_so_a_doubled_cost_per_request_reads():
    """A trial's compare read `$0.00007 -> $0.00009` for costs of 7.3e-05 and 9.4e-05."""
    from lookout.model.families.base import dollars

    assert dollars(7.3e-5) == "$0.0000730"
    assert dollars(1.46e-4) == "$0.000146"
    assert dollars(0.0123) == "$0.0123"
    assert dollars(12.345) == "$12.35"
    assert dollars(1234.5) == "$1,234.50"
    assert dollars(0) == "$0.00"
    assert dollars(-0.00042) == "-$0.000420"
