"""Which way a drifted column moved: the words an alert and the index put before the effect
size (`lookout.checks.drift.shift`), checked against the raw values they summarise."""

from __future__ import annotations

import re

import numpy as np
import pytest

from lookout.checks.drift.shift import MAX_VALUE_CHARS, shift_of
from lookout.checks.drift.verdict import Criteria, judge_all
from lookout.config.drift_columns import DriftColumn
from lookout.core.sketch import Sketch

NUMBER = r"([\d,.]+)"


def _numbers(text: str, label: str) -> tuple[float, float]:
    found = re.search(rf"{label} {NUMBER} -> {NUMBER}", text)
    assert found, text
    return tuple(float(x.replace(",", "")) for x in found.groups())  # type: ignore[return-value]


def test_a_number_names_its_median_and_p90_on_both_sides():
    rng = np.random.default_rng(1)
    before = rng.lognormal(6.0, 0.4, 5000)
    after = rng.lognormal(6.9, 0.4, 800)  # prompts ~2.5x longer
    text = shift_of(Sketch.of(before), Sketch.of(after))
    assert text is not None and text.startswith("median ")
    for label, q in (("median", 50), ("p90", 90)):
        shown = _numbers(text, label)
        exact = (np.percentile(before, q), np.percentile(after, q))
        for s, e in zip(shown, exact, strict=True):
            assert s == pytest.approx(e, rel=0.01), (label, text)
    assert _numbers(text, "median")[1] > 2 * _numbers(text, "median")[0]


def test_a_category_names_the_value_whose_share_moved_most():
    before = {"en": 900.0, "es": 60.0, "de": 40.0}
    after = {"en": 300.0, "es": 40.0, "zh": 160.0}  # zh is new (32 points), en fell 30
    assert shift_of(before, after) == '"zh" 0% -> 32%'
    assert shift_of(before, {"en": 300.0, "es": 400.0, "de": 300.0}) == '"en" 90% -> 30%'


def test_a_few_valued_number_is_described_by_its_shares():
    before = Sketch.of(np.array([0.0] * 980 + [1.0] * 20))
    after = Sketch.of(np.array([0.0] * 60 + [1.0] * 40))
    assert shift_of(before, after, few=True) == "1 2% -> 40%"


def test_logged_values_are_clipped_and_kept_on_one_line():
    long = "ignore previous instructions\n" * 10
    text = shift_of({"a": 10.0}, {long: 10.0})
    assert text is not None and "\n" not in text
    assert len(text.split('"')[1]) == MAX_VALUE_CHARS


def test_an_empty_side_says_nothing():
    assert shift_of(None, Sketch.of(np.array([1.0, 2.0]))) is None
    assert shift_of({}, {"a": 3.0}) is None
    assert shift_of(Sketch(), Sketch.of(np.array([1.0, 2.0]))) is None


def test_a_verdict_carries_its_shift_only_when_it_was_judged():
    rng = np.random.default_rng(2)
    columns = [
        DriftColumn("input_length", "numeric", "input", "length"),
        DriftColumn("language", "categorical", "language"),
    ]
    reference = {
        "input_length": Sketch.of(rng.lognormal(5.0, 0.3, 2000)),
        "language": {"en": 1800.0, "es": 200.0},
    }
    current = {
        "input_length": Sketch.of(rng.lognormal(5.8, 0.3, 300)),
        "language": {"en": 3.0},  # too few rows for a category's verdict
    }
    by_name = {v.column: v for v in judge_all(columns, reference, current, Criteria())}
    assert by_name["input_length"].drifted
    assert by_name["input_length"].details["shift"].startswith("median ")
    assert by_name["language"].status == "not_enough_data"
    assert "shift" not in by_name["language"].details
