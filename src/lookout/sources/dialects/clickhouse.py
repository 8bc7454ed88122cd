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

from lookout.sources.dialects.base import Dialect

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


class ClickHouse(Dialect):
    names = ("clickhousedb", "clickhouse")
    quantiles = "aggregate"
    drift_in_sql = True
    not_in_sql: ClassVar[frozenset[str] | None] = None

    def quantile(self, q: float, value: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        return _ExactQuantile(q, value)

    def column_type(self, reflected: Any) -> Any:
        """clickhouse-connect reflects `String` (and `Nullable(String)`, `LowCardinality(...)`,
        `FixedString`, enums, UUIDs) as its own user-defined type, not `sa.String`: read them
        as text, so roles and configured values see a text column."""
        name = str(getattr(reflected, "name", "") or "")
        if any(part in name for part in ("String", "Enum", "UUID")):
            return sa.String()
        return reflected

    def as_number(self, value: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        # CAST to a non-Nullable type fails on NULL; functions keep the column's nullability
        return sa.func.nullIf(sa.func.toFloat64(value), float("nan"))

    def as_text(self, value: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        return sa.func.toString(value)

    def contains(self, text: sa.ColumnElement[Any], part: str) -> sa.ColumnElement[Any]:
        return sa.func.position(text, part) > 0  # its LIKE has no ESCAPE clause

    def char_length(self, text: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        return sa.func.lengthUTF8(text)

    def octet_length(self, text: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        return sa.func.length(text)  # bytes
