"""`parse_numbers`: the one rule for what a numeric field's value is (a number, missing, or not
a number), whatever the warehouse handed back: text, mixed objects, or a float column."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from lookout.model.record import parse_numbers

NAN = float("nan")
CASES = [  # value, parsed (NaN: missing or not a number), not a number
    ("120.5", 120.5, False),
    (" 12 ", 12.0, False),
    ("\t7\n", 7.0, False),
    ("-.5e-3", -0.0005, False),
    ("+3.", 3.0, False),
    ("1e-999", 0.0, False),  # underflows to zero: still a number
    ("", NAN, False),  # blank text is missing
    ("   ", NAN, False),
    (None, NAN, False),
    (NAN, NAN, False),  # how a NULL reads in a float column
    (3, 3.0, False),
    (Decimal("1.25"), 1.25, False),
    (True, 1.0, False),
    ("fast", NAN, True),
    ("12ms", NAN, True),
    ("NaN", NAN, True),
    ("inf", NAN, True),
    ("1e999", NAN, True),  # overflows a double
    ("1,000", NAN, True),
    ("1_000", NAN, True),
    ("0x1f", NAN, True),
    (".", NAN, True),
    ("\u0661\u0662", NAN, True),  # Arabic-Indic digits: not ASCII
    (float("inf"), NAN, True),
    (10**400, NAN, True),
    (b"12", NAN, True),
]


def test_each_kind_of_value_in_a_text_column():
    values = pd.Series([c[0] for c in CASES], dtype=object)
    floats, bad = parse_numbers(values)
    for (value, expected, flagged), got, is_bad in zip(CASES, floats, bad, strict=True):
        assert bool(is_bad) == flagged, repr(value)
        if np.isnan(expected):
            assert np.isnan(got), repr(value)
        else:
            assert got == expected, repr(value)


@pytest.mark.parametrize("dtype", ["float64", "Float64"])
def test_a_float_column_flags_only_infinities(dtype):
    floats, bad = parse_numbers(pd.Series([1.5, None, float("inf"), -float("inf")], dtype=dtype))
    assert bad.tolist() == [False, False, True, True]
    assert floats[0] == 1.5 and np.isnan(floats[1:]).all()


def test_text_parses_exactly_as_the_float_literal():
    texts = ["0.1", "1096.6", "2.2250738585072014e-308", "1.7976931348623157e308"]
    floats, bad = parse_numbers(pd.Series(texts, dtype=object))
    assert not bad.any() and floats.tolist() == [float(t) for t in texts]
