"""Configured values against column values of any type (pure), and the config keeping the
type a value was written with."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from pydantic import ValidationError

from lookout.config.models import SourceConfig
from lookout.config.validation import ValidationConfig
from lookout.core.values import coerce, coerce_all, matches, value_key


def _source(**extra) -> SourceConfig:
    return SourceConfig.model_validate(
        {"table": "t", "columns": {"record_id": "id", "ts": "ts"}, **extra}
    )


def test_config_keeps_numbers_booleans_and_text_as_written():
    source = _source(ok_statuses=[200, "201", True, 2.5], negative_feedback=[-1, False, "Down"])
    assert source.ok_statuses == [200, "201", True, 2.5]
    assert [type(v) for v in source.ok_statuses] == [int, str, bool, float]  # true is no 1
    assert [type(v) for v in source.negative_feedback] == [int, bool, str]
    statuses = ValidationConfig.model_validate({"statuses": [200, "ok", False]}).statuses
    assert [type(v) for v in statuses or []] == [int, str, bool]
    with pytest.raises(ValidationError):
        _source(ok_statuses=[{"code": 200}])
    with pytest.raises(ValidationError):
        _source(ok_statuses=[math.nan])


@pytest.mark.parametrize(
    ("value", "kind", "typed"),
    [
        ("200", "integer", 200),
        (" 200 ", "integer", 200),
        ("200.0", "integer", 200),
        (200.0, "integer", 200),
        (True, "integer", 1),
        ("-1", "integer", -1),
        (1, "boolean", True),
        ("No", "boolean", False),
        ("false", "boolean", False),
        ("1.5", "number", 1.5),
        (200, "text", "200"),
        (True, "text", "true"),
        ("OK", "text", "OK"),
    ],
)
def test_a_configured_value_is_read_in_the_column_type(value, kind, typed):
    got = coerce(value, kind)
    assert got == typed and type(got) is type(typed)


@pytest.mark.parametrize(
    ("value", "kind", "why"),
    [
        ("abc", "integer", '"abc" is not an integer'),
        (2.5, "integer", "2.5 is not an integer"),
        ("2xx", "integer", '"2xx" is not an integer'),
        (-1, "boolean", "-1 is not true or false"),
        ("thumbs_down", "boolean", '"thumbs_down" is not true or false'),
        (True, "number", "true is not a number"),
        ("NaN", "number", '"NaN" is not a number'),
    ],
)
def test_a_value_that_cannot_be_of_the_column_type_says_why(value, kind, why):
    with pytest.raises(ValueError, match=why):
        coerce(value, kind)


def test_coerce_all_keeps_order_drops_repeats_and_reports_positions():
    typed, bad = coerce_all([200, "200", "abc", 201, True], "integer")
    assert typed == [200, 201, 1]
    assert bad == [(2, '"abc" is not an integer (the column holds integers)')]


def test_keys_match_across_representations():
    assert value_key(200) == value_key(200.0) == value_key("200") == "200"
    assert value_key(True) == "true" and value_key(False) == "false"
    assert value_key(1.5) == "1.5"


@pytest.mark.parametrize(
    "series",
    [
        pd.Series([200, 500, None, 201], dtype="Int64"),
        pd.Series([200.0, 500.0, math.nan, 201.0]),  # an integer column with NULLs, as floats
        pd.Series(["200", "500", None, "201"]),
        pd.Series([200, 500, None, 201], dtype=object),
    ],
)
def test_matches_an_integer_status_however_it_was_read(series):
    for configured in ([200, 201], ["200", "201"], ["200", 201]):
        assert matches(series, configured).tolist() == [True, False, False, True]


def test_boolean_and_text_feedback():
    thumbs_up = pd.Series([True, False, None], dtype="boolean")
    assert matches(thumbs_up, [False]).tolist() == [False, True, False]
    assert matches(thumbs_up, ["0"]).tolist() == [False, True, False]  # read as a boolean
    words = pd.Series(["Down", "up", None])
    assert matches(words, ["DOWN"], fold_case=True).tolist() == [True, False, False]
    assert matches(words, ["DOWN"]).tolist() == [False, False, False]  # statuses keep case
