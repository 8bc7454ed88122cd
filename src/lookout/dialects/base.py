"""The generic dialect: what Lookout assumes of an engine it has no module for.

Every engine-specific question (how to compute a quantile, sample a table, measure bytes, fetch a
frame fast, open read-only, bound a wait, which expectations GX can run in SQL) is a method or
attribute here; an engine module overrides what differs. The generic answers are the safe ones:
no pushdown (windows are read with plain `SELECT`s and aggregated in pandas, validation runs on
pandas), no sampling, no session settings, `pd.read_sql` for frames. So a warehouse with any
SQLAlchemy dialect works, only slower; the log says so once per engine (`Warehouse.engine`).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import URL

from lookout.model.json_path import JsonStep

__all__ = [
    "ConnectSettings",
    "Dialect",
    "file_database",
    "milliseconds",
    "seconds",
    "time_comparison",
]

QuantileMode = Literal["aggregate", "window"]


_TIME_COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<": operator.lt,
    "<=": operator.le,
}


def time_comparison(op: str) -> Callable[[Any, Any], Any]:
    """The comparison a time bound's `op` names; anything else is a programming error."""
    try:
        return _TIME_COMPARISONS[op]
    except KeyError:
        raise ValueError(f"no time comparison {op!r}") from None


@dataclass(frozen=True)
class ConnectSettings:
    """What every connection to one database gets. `None` leaves the server's default.

    `key` is where these settings live in profiles.yml (`store`, `warehouse`), for messages.
    """

    read_only: bool = False
    lock_timeout: timedelta | None = None
    statement_timeout: timedelta | None = None
    key: str = "store"


def seconds(value: timedelta | None) -> str:
    """`0.3s`, `30s`, `5m`, `2m30s`: a wait as the messages show it."""
    if value is None:
        return "no limit"
    total = value.total_seconds()
    if total < 60:
        return f"{total:g}s"
    minutes, rest = divmod(int(total), 60)
    return f"{minutes}m{rest}s" if rest else f"{minutes}m"


def milliseconds(value: timedelta) -> int:
    return max(1, int(value.total_seconds() * 1000))


def file_database(url: URL) -> bool:
    """A database in a local file (not in memory, not MotherDuck)."""
    database = url.database or ""
    return database not in ("", ":memory:") and not database.startswith(("md:", "motherduck:"))


class Dialect:
    """Capabilities of one engine. One shared instance per engine (`dialect_for`)."""

    #: SQLAlchemy's backend name(s) this module answers for (`URL.get_backend_name()`).
    names: ClassVar[tuple[str, ...]] = ()
    #: How the engine computes `percentile_cont`: an ordered-set aggregate, only a window
    #: function (MySQL/MariaDB), or not at all (None: quantiles come from pandas).
    quantiles: ClassVar[QuantileMode | None] = None
    #: `metrics.pushdown: auto`: aggregate in SQL (measured faster than reading the rows).
    metrics_pushdown_default: ClassVar[bool] = False
    #: `validation.pushdown: auto`: run GX on the SQL engine.
    validation_pushdown_default: ClassVar[bool] = False
    #: Expectation kinds GX's SQL engine cannot evaluate here; None: GX does not run on it
    #: (validation always reads the window into pandas).
    not_in_sql: ClassVar[frozenset[str] | None] = None
    #: GX copies each batch into a narrow TEMP table first (one pooled session), and the
    #: static SQL that drops this session's GX temp tables afterwards.
    gx_temp_tables: ClassVar[bool] = False
    drop_gx_temp_tables: ClassVar[str | None] = None
    #: Drift summaries may be computed by GROUP BYs (needs `ln`, `ceil` and CASE).
    drift_in_sql: ClassVar[bool] = False
    #: Float columns can hold NaN / ±infinity (tested for in SQL, read as not-a-number).
    stores_nan: ClassVar[bool] = True
    #: Decimal columns can hold ±infinity (PostgreSQL 14's `numeric`).
    decimal_infinity: ClassVar[bool] = False
    #: Init reads a sample in `pages` (PostgreSQL) or `rows` (DuckDB); None: newest rows.
    sample_unit: ClassVar[Literal["pages", "rows"] | None] = None
    #: Times may be stored as ISO 8601 text and read with the engine's date functions (SQLite
    #: has no datetime type), so a text column can fill a time role.
    text_times: ClassVar[bool] = False
    #: What the engine calls the namespace a table lives in (MySQL/MariaDB: a database), and
    #: the engine's own namespaces, which hold no user's table (`lookout init`'s lookups).
    schema_word: ClassVar[str] = "schema"
    system_schemas: ClassVar[frozenset[str]] = frozenset({"information_schema"})
    #: The catalog read without a schema lists the tables of every schema (duckdb_engine),
    #: though a query without one reads the default schema only: a table is looked up there by
    #: name, or a check would pass for a table no window can read.
    catalog_spans_schemas: ClassVar[bool] = False
    #: Record ids are looked up by their text (`toString(id) IN (...)`): ClickHouse reflects a
    #: UUID column as text and refuses a value that is none, and reads a column that is not
    #: its sorting key whole for an IN anyway.
    ids_as_text: ClassVar[bool] = False

    @property
    def name(self) -> str:
        return self.names[0] if self.names else "generic"

    def __repr__(self) -> str:
        return f"<dialect {self.name}>"

    # -- SQL expressions ---------------------------------------------------------------------

    def column_type(self, reflected: Any) -> Any:
        """The type to read a reflected column as (MySQL's BOOLEAN is a TINYINT(1))."""
        return reflected

    def reflected(
        self, inspector: Any, table: str, schema: str | None, columns: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """The inspector's columns with what its driver reflects wrongly put right (DuckDB:
        a TIMESTAMPTZ reflected without its zone)."""
        return columns

    def quantile(self, q: float, value: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        """`percentile_cont(q)` of `value` (continuous, as pandas' linear interpolation)."""
        return sa.func.percentile_cont(q).within_group(value)

    def special_float(self, value: float) -> sa.ColumnElement[Any]:
        """NaN or ±infinity as a SQL value (a bound parameter where the driver sends one)."""
        return sa.literal(value, sa.Double)

    def as_double(self, value: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        """A numeric value as a SQL double (NULL stays NULL), for arithmetic that must not be
        done in the column's decimal or integer type."""
        return sa.cast(value, sa.Double)

    def as_number(self, value: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        """A column as a SQL double; a NaN stored in a float column is missing."""
        number = self.as_double(value)
        return (
            sa.func.nullif(number, self.special_float(float("nan"))) if self.stores_nan else number
        )

    def integer_limit(self, type_: Any) -> int | None:
        """The largest integer a column of whole numbers can be compared with, where a bound
        parameter beyond it is an error (None: any; a `UInt64` or `BIGINT UNSIGNED` id holds
        up to 2**64 - 1, a `NUMERIC(38, 0)` one more)."""
        return None

    def as_text(self, value: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        """A column as text (NULL stays NULL)."""
        return sa.cast(value, sa.String)

    def contains(self, text: sa.ColumnElement[Any], part: str) -> sa.ColumnElement[Any]:
        """`part` occurs in `text`, literally (LIKE with its wildcards escaped)."""
        return text.contains(part, autoescape=True)

    def milliseconds_between(
        self, start: sa.ColumnElement[Any], end: sa.ColumnElement[Any]
    ) -> sa.ColumnElement[Any]:
        """The milliseconds from one timestamp to another, fractions kept (a duration a table
        implies by its start and end times); NULL when either time is. Every engine spells it
        its own way (the SQL standard's `EXTRACT(epoch FROM interval)` fails on SQL Server and
        Oracle): an engine without a module has none, and `source.durations` is refused.
        Modules build the call as a plain `Function`, not `sa.func.<name>`: a library may
        register a SQLAlchemy function of that name (Prefect's server registers `date_diff`
        with two arguments)."""
        raise NotImplementedError(f"{self.name} cannot compute a duration in SQL")

    def json_text(
        self, document: sa.ColumnElement[Any], keys: tuple[JsonStep, ...]
    ) -> sa.ColumnElement[Any]:
        """The value at `keys` (object keys, and ints for array indexes from 0) inside the
        JSON `document` (a JSON or text column) as text:
        `"acme"` as acme, `5` as 5, `true` as true; NULL for a missing key, a JSON null or a
        NULL document (`source.json_fields`). Each engine has its own function and path
        syntax; an engine without a module has none, and json fields are refused. Keys are
        bound as parameters, never pasted; a key may hold `.` and `/` (a flat OTel
        attribute, `gen_ai.request.model`), never a quote, `\\` or `$` (see
        `lookout.model.json_path`), so a path syntax takes it inside its quotes as is."""
        raise NotImplementedError(f"{self.name} cannot read a value inside JSON in SQL")

    def char_length(self, text: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        return sa.func.length(text)

    def octet_length(self, text: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        return sa.func.octet_length(text)

    def period_sample(self, table: sa.Table, percent: float) -> Any | None:
        """A FROM clause reading about `percent` of the table's pages, or None (no sampling:
        the whole period is read)."""
        return None

    def table_sample(self, table: sa.Table, fraction: float, seed: int) -> Any:
        """`TABLESAMPLE SYSTEM` of `fraction` of the table (only where `sample_unit`)."""
        raise NotImplementedError(f"{self.name} has no table sampling")

    def table_size(self, conn: sa.Connection, table: sa.Table) -> float:
        """The table's size in `sample_unit`."""
        return float(conn.scalar(sa.select(sa.func.count()).select_from(table)) or 0)

    def unreadable_time(self, ts: sa.ColumnElement[Any]) -> Any | None:
        """Beyond NULL, a condition on a stored event time the engine cannot read as one."""
        return None

    def time_compared(
        self,
        column: sa.ColumnElement[Any],
        op: str,
        bound: datetime | int,
        instant: datetime | None = None,
    ) -> sa.ColumnElement[bool]:
        """`column <op> bound` (`>=`, `>`, `<` or `<=`) as the engine must compare a stored
        time: as it is, unless the engine keeps times in a way that compares wrongly (SQLite
        keeps whatever text was written: `2026-11-02T14:03:11+00:00` sorts after
        `2026-11-02 23:00:00`). `instant`: the bound as naive UTC, for a value that says its
        own offset when `bound` is a local wall time (`source.timezone`)."""
        return time_comparison(op)(column, bound)

    def stored_not_number(self, column: sa.ColumnElement[Any]) -> Any | None:
        """A condition that a value is stored as something else than a number, for engines
        whose numeric columns accept text (SQLite); None: the column type decides."""
        return None

    def stored_as_number(self, column: sa.ColumnElement[Any]) -> Any | None:
        """A condition that a value is stored as a number (SQL arithmetic on it is sound), for
        engines whose numeric columns accept text (SQLite: `'12ms' * 1000` is 12000); None:
        the column type decides."""
        return None

    def newest_order(self, conn: sa.Connection, table: sa.Table) -> tuple[Any, int, str] | None:
        """(ORDER BY newest-inserted-first, rows, how it was read) when the engine has a cheap
        one (SQLite's rowid), else None."""
        return None

    def reads_map(self, type_: Any) -> bool:
        """Whether a column of this type is a map of keys to values that `json_text` reads by
        key like a JSON object (ClickHouse's `Map(String, T)`); False elsewhere."""
        return False

    def random_order(self) -> Any:
        """An ORDER BY that shuffles rows (`random()`), for a sample that must not follow the
        table's storage order."""
        return sa.func.random()

    # -- connections -------------------------------------------------------------------------

    def fetch_frame(self, conn: sa.Connection, query: sa.Select[Any]) -> pd.DataFrame:
        """The rows of `query` as a DataFrame, through the engine's fastest sound path."""
        return pd.read_sql(query, conn)

    def connect_arguments(self, url: URL, settings: ConnectSettings) -> tuple[URL, dict[str, Any]]:
        """(URL, `connect_args`) applying `settings` on every connection. The generic engine
        takes none: it opens as the URL says, waits as the server says."""
        return url, {}

    def configure_engine(self, engine: sa.Engine, settings: ConnectSettings) -> None:
        """Hooks on a new engine (connection events)."""

    def timeout_message(self, exc: BaseException, settings: ConnectSettings) -> str | None:
        """What an on-call engineer needs when a wait ran out; None when `exc` is no timeout."""
        return None

    def settings_timeout(self, engine: sa.Engine, settings: ConnectSettings) -> ConnectSettings:
        """The settings a URL overrides (SQLite's `?timeout=`), for messages."""
        return settings


def first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip()
    return text.splitlines()[0] if text else ""


def running(exc: BaseException) -> str:
    statement = " ".join(str(getattr(exc, "statement", "") or "").split())
    return f"; it was running: {statement[:200]}" if statement else ""
