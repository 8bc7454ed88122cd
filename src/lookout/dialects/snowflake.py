"""Snowflake through snowflake-sqlalchemy (`snowflake://`): ordered-set `percentile_cont`,
block sampling, waits as session parameters, Arrow fetches.

Quantiles are `percentile_cont(q) WITHIN GROUP (ORDER BY x)`, as on PostgreSQL. Metrics are
pushed down by default: Snowflake aggregates in parallel next to the data, and the rows
otherwise cross the network to the runner. A drift period above the local size is read through
`SAMPLE SYSTEM (p)` (micro-partition sampling: it cuts the scan). `lookout init` reads the
first rows the warehouse returns (no sample unit it can size cheaply; the proposal says they
may not be the newest). `OCTET_LENGTH` is spelt `LENGTH(TO_BINARY(x,
'UTF-8'))`, which both Snowflake and the emulator the tests use read as bytes.

GX's SQL engine runs every expectation kind but `json_parses` there (tested against the
emulator), but only with `validation.pushdown: on`: by default validation reads the window into
pandas, one query, where GX in SQL sends one query per metric, each a warehouse round trip
(not measured on a real warehouse). There is no read-only session in Snowflake: give
Lookout a role with only SELECT. `lock_timeout` and `statement_timeout` are sent as the
session parameters `LOCK_TIMEOUT` and `STATEMENT_TIMEOUT_IN_SECONDS` at login.

Tested against fakesnow (a Snowflake emulator on DuckDB) in server mode; see
docs/warehouses.md for the URL forms tested and the ones that are not.
"""

from __future__ import annotations

import math
import re
from typing import Any, ClassVar

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.sql.functions import Function

from lookout.dialects.base import ConnectSettings, Dialect, first_line, running, seconds
from lookout.model.json_path import JsonStep

__all__ = ["Snowflake"]

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _whole_seconds(value: Any) -> int:
    """Snowflake takes both waits in whole seconds; 0 would mean "no limit" there."""
    return max(1, math.ceil(value.total_seconds()))


class Snowflake(Dialect):
    names = ("snowflake",)
    quantiles = "aggregate"
    metrics_pushdown_default = True
    drift_in_sql = True
    # GX runs every kind in SQL but JSON parsing; only when asked (`validation.pushdown: on`)
    not_in_sql: ClassVar[frozenset[str] | None] = frozenset({"json_parses"})

    def column_type(self, reflected: Any) -> Any:
        """snowflake-sqlalchemy reflects `TIMESTAMP_NTZ`, `_LTZ` and `_TZ` as types of its own,
        not `sa.DateTime`: read them as timestamps (naive NTZ is UTC, as everywhere). Integers
        are `NUMBER(38, 0)`: read them as integers (roles such as `status` need one)."""
        name = type(reflected).__name__
        if name in ("VARIANT", "OBJECT"):
            return sa.JSON()  # semi-structured: what `source.json_fields` read into
        if name == "TIMESTAMP_NTZ":
            return sa.DateTime()
        if name in ("TIMESTAMP_LTZ", "TIMESTAMP_TZ"):
            return sa.DateTime(timezone=True)
        integral = getattr(reflected, "scale", None) == 0  # INTEGER is NUMBER(38, 0) there
        if isinstance(reflected, sa.Numeric) and not isinstance(reflected, sa.Float) and integral:
            return sa.BigInteger()
        return reflected

    def special_float(self, value: float) -> sa.ColumnElement[Any]:
        """`CAST('NaN' AS DOUBLE)`: the connector's client-side binding pastes a float NaN or
        infinity as a bare word (`nan`, `inf`), which Snowflake reads as a column name."""
        text = "NaN" if math.isnan(value) else ("inf" if value > 0 else "-inf")
        return sa.cast(sa.literal(text, sa.String), sa.Double)

    def milliseconds_between(
        self, start: sa.ColumnElement[Any], end: sa.ColumnElement[Any]
    ) -> sa.ColumnElement[Any]:
        return Function("datediff", sa.text("microsecond"), start, end) / 1000.0

    def json_text(
        self, document: sa.ColumnElement[Any], keys: tuple[JsonStep, ...]
    ) -> sa.ColumnElement[Any]:
        # a key that is not a plain word (`k-1`) is quoted in the path, an index in brackets
        path = ""
        for k in keys:
            if isinstance(k, int) and k < 0:
                raise NotImplementedError(
                    f"{self.name} paths have no index from the end ([{k}]): map a view that "
                    "has the value as a column"
                )
            if isinstance(k, int):
                path += f"[{k}]"
            else:
                path += ("." if path else "") + (k if _PLAIN_KEY.fullmatch(k) else f'"{k}"')
        value = Function("json_extract_path_text", document, sa.literal(path), type_=sa.String)
        # a document that is not JSON ('' where nothing was logged) reads as NULL instead of
        # failing every query of the window (json_extract_path_text raises on it)
        parsed = Function("try_parse_json", document)
        return sa.case((parsed.is_not(None), value))

    def octet_length(self, text: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        return sa.func.length(sa.func.to_binary(text, "UTF-8"))

    def period_sample(self, table: sa.Table, percent: float) -> Any | None:
        return sa.tablesample(table, sa.func.system(percent), name="sampled")

    def connect_arguments(self, url: URL, settings: ConnectSettings) -> tuple[URL, dict[str, Any]]:
        parameters: dict[str, Any] = {}
        if settings.lock_timeout is not None:
            parameters["LOCK_TIMEOUT"] = _whole_seconds(settings.lock_timeout)
        if settings.statement_timeout is not None:
            seconds_ = _whole_seconds(settings.statement_timeout)
            parameters["STATEMENT_TIMEOUT_IN_SECONDS"] = seconds_
        return url, ({"session_parameters": parameters} if parameters else {})

    def configure_engine(self, engine: sa.Engine, settings: ConnectSettings) -> None:
        """`force_div_is_floordiv` off: snowflake-sqlalchemy turns it on by default, where it
        no longer changes `/` (a true division on Snowflake either way) but warns each time a
        division is compiled (a unit's `cost_micro_usd / 1000000`). `initialize` copies it."""
        engine.dialect.force_div_is_floordiv = False
        engine.dialect.div_is_floordiv = False

    def fetch_frame(self, conn: sa.Connection, query: sa.Select[Any]) -> pd.DataFrame:
        """The connector's Arrow result straight into pandas (`fetch_pandas_all`), not row by
        row through the DBAPI (measured at 100k rows against the emulator in
        `benchmarks/RESULTS.md`). SQLAlchemy still compiles and binds the query and names
        the columns (Snowflake returns them in upper case). A result that did not come as
        Arrow (older accounts' JSON format) is read row by row, as `pd.read_sql` would."""
        from snowflake.connector.errors import Error, NotSupportedError

        result = conn.execute(query)
        try:
            names = list(result.keys())
            try:
                frame = result.cursor.fetch_pandas_all()
            except NotSupportedError:
                rows = result.fetchall()
                return pd.DataFrame.from_records(rows, columns=names, coerce_float=True)
            except Error as exc:  # as SQLAlchemy would have raised it: callers catch those
                raise sa.exc.DBAPIError.instance(None, None, exc, Error) from None
            if len(frame.columns) != len(names):  # no rows: no Arrow batch to name them
                return pd.DataFrame(columns=names)
            frame.columns = names
            return frame
        finally:
            result.close()

    def timeout_message(self, exc: BaseException, settings: ConnectSettings) -> str | None:
        first, key = first_line(exc), settings.key
        lowered = first.lower()
        if "statement reached its statement or warehouse timeout" in lowered:
            return (
                f"{first}: the statement ran longer than {seconds(settings.statement_timeout)} "
                f"({key}.statement_timeout) or the warehouse's own timeout{running(exc)}. Check "
                f"the warehouse's load and QUERY_HISTORY; raise {key}.statement_timeout in "
                "profiles.yml if it is expected"
            )
        return None
