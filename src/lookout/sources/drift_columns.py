"""Drift's columns as SQL expressions: the derived text features, and the values as read.

Which columns drift compares is config alone (`lookout.config.drift_columns`, re-exported here).

Text is never compared as text: each text field becomes cheap features (length, empty, refusal,
JSON-looking, non-ASCII script) computed by the warehouse, once, for the summaries and the
Evidently report's sample alike, so raw text never leaves the warehouse. Features derived from
one field carry one signal (an outage empties answers: `output_length`, `output_empty`,
`output_json`... all move), so they form one feature group: drift counts groups, not columns.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from lookout.config.drift_columns import DriftColumn, drift_columns, groups_of
from lookout.dialects import Dialect
from lookout.model.aggregates import label_text

__all__ = [
    "REFUSAL_PHRASES",
    "DriftColumn",
    "category_label",
    "drift_columns",
    "groups_of",
    "sql_feature",
]

# Lower-case substrings; a refusal is an output containing any of them. Phrases with an
# apostrophe are listed with the typographic one too (models write both).
_REFUSALS = (
    "i can't help",
    "i cannot help",
    "i'm unable to",
    "i am unable to",
    "i can't assist",
    "i cannot assist",
    "as an ai",
    "i'm sorry, but i can",
)
REFUSAL_PHRASES = _REFUSALS + tuple(p.replace("'", "’") for p in _REFUSALS if "'" in p)


def sql_feature(
    column: DriftColumn, value: sa.ColumnElement[Any], dialect: Dialect, *, raw: bool = False
) -> sa.ColumnElement[Any]:
    """The SQL expression of the column's feature over the raw table column `value`.

    A logged number (`numeric_value`) is, with `raw`, the column as stored, for
    `parse_numbers` to read (text such as `fast` is missing, never 0; SQLite keeps text in any
    column); without it, a double with NaN and infinities as NULL, for SQL aggregation of a
    column of a numeric type (`Warehouse.loose_numeric_fields` lists the others)."""
    if column.feature == "value":
        if column.kind != "numeric" or raw:
            return value
        number = dialect.as_number(value)
        if not dialect.stores_nan:
            return number
        infinite = number.in_([dialect.special_float(v) for v in (float("inf"), float("-inf"))])
        return sa.case((infinite, sa.null()), else_=number)
    text = dialect.as_text(value)
    empty = sa.or_(text.is_(None), sa.func.length(sa.func.trim(text)) == 0)
    if column.feature == "length":
        return sa.cast(sa.func.coalesce(dialect.char_length(text), 0), sa.Double)
    if column.feature == "empty":
        return sa.case((empty, "empty"), else_="non-empty")
    if column.feature == "refusal":
        lowered = sa.func.lower(text)
        hits = [dialect.contains(lowered, phrase) for phrase in REFUSAL_PHRASES]
        return sa.case((empty, "empty"), (sa.or_(*hits), "refusal"), else_="answer")
    if column.feature == "json":
        stripped = sa.func.ltrim(text)
        looks = sa.or_(stripped.startswith("{"), stripped.startswith("["))
        return sa.case((empty, "empty"), (looks, "json"), else_="text")
    # script: non-ASCII when the byte length exceeds the character length.
    octets = dialect.octet_length(text)
    non_ascii = octets > dialect.char_length(text)
    return sa.case((empty, "empty"), (non_ascii, "non-ascii"), else_="ascii")


def category_label(value: object) -> str:
    """How a categorical value from SQL is labelled (booleans as true/false, nulls visible)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return label_text(value)
