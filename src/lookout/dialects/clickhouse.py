"""ClickHouse (and chDB, its in-process engine) through clickhouse-connect's SQLAlchemy dialect.

Quantiles are `quantileExactInclusive(q)(x)`, which equals `percentile_cont` (linear
interpolation). Aggregate functions skip NULLs. There is no TABLESAMPLE (`SAMPLE` needs a table
declared with `SAMPLE BY`), so periods are read whole and `lookout init` reads the newest rows.
GX has no ClickHouse SQL engine: validation reads the window. Session settings are not sent
(use a `readonly` user profile and the server's `max_execution_time`). Tested with chDB 4.4
(ClickHouse 26.9) as `clickhousedb:///?dsn=chdb:///path/to/dir`; a server URL
(`clickhousedb://user:pw@host:8123/db`) uses the same SQL but is not tested here.
"""

from __future__ import annotations

from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import Function

from lookout.dialects.base import Dialect
from lookout.model.json_path import JsonStep

__all__ = ["ClickHouse"]


class _ExactQuantile(sa.sql.expression.ColumnElement[float]):
    """`quantileExactInclusive(q)(value)`: a parametric aggregate SQLAlchemy has no form for."""

    inherit_cache = False
    type = sa.Double()

    def __init__(self, q: float, value: sa.ColumnElement[Any]) -> None:
        self.q = float(q)
        self.value = value


@compiles(_ExactQuantile)
def _compile_quantile(element: _ExactQuantile, compiler: Any, **kw: Any) -> str:
    return f"quantileExactInclusive({element.q!r})({compiler.process(element.value, **kw)})"


def _unwrap(name: str) -> str:
    """`Nullable(T)` or `LowCardinality(T)` -> `T`; any other type name as it is."""
    for wrapper in ("Nullable(", "LowCardinality("):
        if name.startswith(wrapper) and name.endswith(")"):
            return name[len(wrapper) : -1]
    return name


class ClickHouse(Dialect):
    names = ("clickhousedb", "clickhouse")
    ids_as_text = True
    quantiles = "aggregate"
    drift_in_sql = True
    not_in_sql: ClassVar[frozenset[str] | None] = None

    def quantile(self, q: float, value: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        return _ExactQuantile(q, value)

    def column_type(self, reflected: Any) -> Any:
        """clickhouse-connect reflects `String` (also inside `Nullable(...)` or
        `LowCardinality(...)`), `FixedString(n)`, enums and UUIDs as its own user-defined types,
        not `sa.String`: read those as text, so roles and configured values see a text column.
        Containers (`Array(String)`, `Map(...)`, `Tuple(...)`) stay what they are."""
        name = str(getattr(reflected, "name", "") or "")
        while (inner := _unwrap(name)) != name:
            name = inner
        if name in ("String", "UUID") or name.startswith(("FixedString(", "Enum8(", "Enum16(")):
            return sa.String()
        return reflected

    def as_double(self, value: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        # CAST to a non-Nullable type fails on NULL; functions keep the column's nullability
        return sa.func.toFloat64(value)

    def as_number(self, value: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        return sa.func.nullIf(self.as_double(value), float("nan"))

    def as_text(self, value: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        return sa.func.toString(value)

    def contains(self, text: sa.ColumnElement[Any], part: str) -> sa.ColumnElement[Any]:
        return sa.func.position(text, part) > 0  # its LIKE has no ESCAPE clause

    def milliseconds_between(
        self, start: sa.ColumnElement[Any], end: sa.ColumnElement[Any]
    ) -> sa.ColumnElement[Any]:
        return Function("dateDiff", "microsecond", start, end) / 1000.0

    def reads_map(self, type_: Any) -> bool:
        name = str(getattr(type_, "name", "") or "")
        while (inner := _unwrap(name)) != name:
            name = inner
        return name.startswith("Map(")

    def json_text(
        self, document: sa.ColumnElement[Any], keys: tuple[JsonStep, ...]
    ) -> sa.ColumnElement[Any]:
        if keys and isinstance(keys[0], str) and self.reads_map(getattr(document, "type", None)):
            # a Map (Langfuse's `metadata`, `usage_details`): its first key by key, as text
            # (NULL where the row has no such key, not the value type's default), the rest
            # a path into that text as JSON
            value = sa.case(
                (
                    sa.func.mapContains(document, keys[0]),
                    sa.func.toString(sa.func.arrayElement(document, keys[0])),
                ),
                else_=sa.null(),
            )
            return self.json_text(value, keys[1:]) if len(keys) > 1 else value
        # Nullable(String): NULL for a missing key or a JSON null, where JSONExtractString
        # gives ''; numbers and booleans as their text (5, true); an index is an integer
        # argument, counted from 1 (from -1 at the end, as Lookout's)
        path = [
            sa.literal(k + 1 if k >= 0 else k, sa.Integer)
            if isinstance(k, int)
            else sa.literal(k, sa.String)
            for k in keys
        ]
        value = Function("JSONExtract", document, *path, "Nullable(String)", type_=sa.String)
        # an index of an object reads its n-th member here, where the other engines read NULL:
        # each index applies only to an array
        arrays = [
            Function("JSONType", document, *path[:i], type_=sa.String) == "Array"
            for i, key in enumerate(keys)
            if isinstance(key, int)
        ]
        return sa.case((sa.and_(*arrays), value)) if arrays else value

    def char_length(self, text: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        return sa.func.lengthUTF8(text)

    def octet_length(self, text: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        return sa.func.length(text)  # bytes

    def random_order(self) -> Any:
        return sa.func.rand()  # ClickHouse has no random()
