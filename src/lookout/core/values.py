"""Configured values against logged values, whatever the column's type (pure).

Status, feedback and `in_set` values are written in monitors.yml as numbers, booleans or text,
and the column they are compared with may be integer, boolean, a float or text, depending on
how the team logs. One rule decides how they match, used by every path (pandas metrics, SQL
pushdown, validation, the evaluator sampler, human labels), so the paths cannot disagree:

- `coerce(value, kind)` turns a configured value into the column's type (`"200"` is 200 for an
  integer column, `1` is true for a boolean one), or raises ValueError saying why it cannot be
  (`"abc"` for an integer column): `validate-config --check-warehouse` reports that with its
  key path, and the SQL and GX paths compare typed values, never text with numbers.
- `value_key(value)` is the comparison key of any value: `200`, `200.0` and `"200"` are `200`;
  `True` is `true`. `matches(series, values, kind)` compares a column with configured values
  by those keys.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Literal

import numpy as np
import pandas as pd

__all__ = [
    "ConfiguredValue",
    "ValueKind",
    "coerce",
    "coerce_all",
    "describe",
    "infer_kind",
    "matches",
    "value_key",
    "value_keys",
]

# What a column holds, as far as matching configured values goes.
ValueKind = Literal["integer", "boolean", "number", "text"]
ConfiguredValue = bool | int | float | str

_INTEGER = re.compile(r"\s*[+-]?[0-9]+(?:\.0*)?\s*")
_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})


def describe(value: object) -> str:
    """A configured value as the YAML file spells it: `"200"` (text), 200, true."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def coerce(value: ConfiguredValue, kind: ValueKind) -> bool | int | float | str:
    """`value` as a value of a `kind` column; ValueError when it cannot be one."""
    if kind == "integer":
        return _as_integer(value)
    if kind == "boolean":
        return _as_boolean(value)
    if kind == "number":
        return _as_number(value)
    return value_key(value) if not isinstance(value, str) else value


def coerce_all(
    values: Iterable[ConfiguredValue], kind: ValueKind
) -> tuple[list[bool | int | float | str], list[tuple[int, str]]]:
    """(the values that coerce, in order and without repeats; (position, why) of the others)."""
    out: list[bool | int | float | str] = []
    problems: list[tuple[int, str]] = []
    for position, value in enumerate(values):
        try:
            typed = coerce(value, kind)
        except ValueError as exc:
            problems.append((position, str(exc)))
            continue
        if typed not in out or type(typed) is not type(out[out.index(typed)]):
            out.append(typed)
    return out, problems


def _as_integer(value: ConfiguredValue) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INTEGER.fullmatch(value):
        return int(float(value)) if "." in value else int(value)
    raise ValueError(f"{describe(value)} is not an integer (the column holds integers)")


def _as_boolean(value: ConfiguredValue) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise ValueError(f"{describe(value)} is not true or false (the column holds booleans)")


def _as_number(value: ConfiguredValue) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{describe(value)} is not a number (the column holds numbers)")
    if isinstance(value, int | float):
        return float(value)
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise ValueError(f"{describe(value)} is not a number (the column holds numbers)")
    return number


def value_key(value: object) -> str:
    """The comparison key of a value of any type: integral numbers as integers (an integer
    column read as floats because of NULLs still matches 200), booleans as true/false."""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating | Decimal):
        number = float(value)
        if math.isfinite(number) and number.is_integer():
            return str(int(number))
        return repr(number)
    return str(value)


def value_keys(
    values: Iterable[ConfiguredValue], kind: ValueKind | None, *, fold_case: bool = False
) -> frozenset[str]:
    """The keys configured values match: each coerced to the column's `kind` (values that
    cannot be of that kind match nothing), lower-cased when `fold_case`."""
    typed: list[object] = list(values)
    if kind is not None:
        typed = coerce_all(values, kind)[0]
    keys = (value_key(v) for v in typed)
    return frozenset(k.lower() for k in keys) if fold_case else frozenset(keys)


def matches(
    series: pd.Series,
    values: Iterable[ConfiguredValue],
    kind: ValueKind | None = None,
    *,
    fold_case: bool = False,
) -> np.ndarray:
    """Which non-null entries of `series` equal one of `values` (by `value_key`), the values
    read in the column's `kind` (default: what the series' dtype says). Each distinct value
    is keyed once."""
    wanted = value_keys(values, kind or infer_kind(series), fold_case=fold_case)
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    keys = [value_key(u) for u in uniques]
    hit = np.array([(k.lower() if fold_case else k) in wanted for k in keys] + [False], dtype=bool)
    return hit[codes]


def negative_votes(
    feedback: pd.Series, values: Iterable[ConfiguredValue], below: float | None = None
) -> np.ndarray:
    """Which votes are negative: one of `values` (without case), or a score under `below`
    (`source.negative_feedback_below`); a missing vote is none."""
    hit = feedback.notna().to_numpy() & matches(feedback, values, fold_case=True)
    if below is not None:
        scores = pd.to_numeric(feedback, errors="coerce").to_numpy(dtype=float)
        hit |= np.nan_to_num(scores, nan=np.inf) < below
    return hit


def infer_kind(series: pd.Series) -> ValueKind:
    """A column's kind from its dtype (where no table type is known: files, fixtures)."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    if pd.api.types.is_numeric_dtype(dtype):
        return "number"
    return "text"
