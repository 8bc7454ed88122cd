"""What `lookout init` reads from the warehouse, bounded in time and memory on any table size.

Four reads, all through SQLAlchemy `Table` objects (names quoted by the dialect), read-only,
each statement bounded by a 60 s timeout on PostgreSQL:

1. the reflected columns (the catalog, no row);
2. a probe of `PROBE_ROWS` rows, to find the event-time column when only values tell (SQLite
   keeps timestamps as text);
3. event times, to estimate the traffic: a page sample on PostgreSQL (`TABLESAMPLE SYSTEM`,
   at most `TS_PAGES` pages) and a vector sample on DuckDB (`TABLESAMPLE`, at most `TS_VECTORS`
   vectors of 2,048 rows), the newest `NEWEST_ROWS` rows by `rowid` on SQLite and by an index
   on the event time elsewhere (without one, the first rows the database returns, said so);
   the rate is taken over the newest day, or the shortest newer period the sample covers
   with enough pages or vectors to be steady;
4. up to `SAMPLE_ROWS` rows of the newest day with every column, text cut to `TEXT_CHARS`
   characters: from a page sample sized for them (at most `DETAIL_PAGES` pages on PostgreSQL,
   `DETAIL_ROWS` rows on DuckDB), the newest of each hour through an index on the event time
   (PostgreSQL), or the newest rows as above; always bounded to the newest day in the query,
   before its LIMIT.

No read counts or scans the whole table (DuckDB's `count(*)` is read from its metadata).
Reads 3 and 4 are `lookout.services.init_sample`'s; the engine is `lookout.services.init_engine`'s.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from lookout.connections import ConnectSettings
from lookout.dialects import Dialect, dialect_for
from lookout.errors import map_exceptions
from lookout.services.init_columns import ColumnInfo, column_kind, profile_column
from lookout.services.init_engine import INIT_SETTINGS, InitError, open_engine
from lookout.services.init_lookup import catalog, not_found
from lookout.services.init_mapping import choose_time_column
from lookout.services.init_sample import (
    DETAIL_PAGES,
    DETAIL_ROWS,
    DUCKDB_VECTOR,
    NEWEST_ROWS,
    SAMPLE_ROWS,
    TEXT_CHARS,
    TS_PAGES,
    TS_VECTORS,
    SampleReader,
    frame_of,
    selected_columns,
)
from lookout.services.init_traffic import Traffic
from lookout.services.init_votes import VotesTable, find_votes_table
from lookout.sources.catalog_hints import lookup_schema
from lookout.urls import display_url

__all__ = [
    "DETAIL_PAGES",
    "DETAIL_ROWS",
    "DUCKDB_VECTOR",
    "INIT_SETTINGS",
    "NEWEST_ROWS",
    "PROBE_ROWS",
    "SAMPLE_ROWS",
    "TEXT_CHARS",
    "TS_PAGES",
    "TS_VECTORS",
    "InitError",
    "TableRead",
    "read_table",
]

PROBE_ROWS = 200


@dataclass(frozen=True)
class TableRead:
    """The table as `propose` needs it."""

    columns: list[ColumnInfo]
    sample: pd.DataFrame  # up to SAMPLE_ROWS rows of the newest day, columns as named
    traffic: Traffic
    ts_column: str
    display_url: str
    ts_unit: str | None = None  # the event time's epoch unit (an integer column of them)
    votes: VotesTable | None = None  # a table of votes on these records, found beside them


def read_table(
    url: str,
    table: str,
    schema: str | None = None,
    *,
    settings: ConnectSettings = INIT_SETTINGS,
) -> TableRead:
    """Reflect `table`, find its event time, estimate its traffic and sample its newest day."""
    engine = open_engine(url, settings)
    display = display_url(url)
    where = f"{schema}.{table}" if schema else table
    try:
        connecting = map_exceptions(f"cannot connect to warehouse {display}", InitError)
        with connecting, engine.connect() as conn:
            conn.execute(sa.select(sa.literal(1)))
        with map_exceptions(f"warehouse {display}: cannot read table {where!r}", InitError):
            return _read(engine, table, schema, display, where)
    finally:
        engine.dispose()


def _read(engine: Engine, table: str, schema: str | None, display: str, where: str) -> TableRead:
    inspector = sa.inspect(engine)
    caps = dialect_for(engine)
    reflected = [  # types as `Warehouse.table_columns` reads them
        {**c, "type": caps.column_type(c["type"])}
        for c in _reflect(inspector, caps, table, schema, display)
    ]
    infos = [
        ColumnInfo(c["name"], _type_text(c["type"], engine), column_kind(c["type"]),
                   bool(getattr(c["type"], "timezone", False)), isinstance(c["type"], sa.JSON))
        for c in reflected
    ]  # fmt: skip
    handle = sa.Table(
        table, sa.MetaData(), *(sa.Column(c["name"], c["type"]) for c in reflected), schema=schema
    )
    is_view = table in catalog(lambda: inspector.get_view_names(schema=schema), [])
    indexed = _ts_indexes(inspector, table, schema)
    with engine.connect() as conn:
        probe = frame_of(
            conn.execute(sa.select(*selected_columns(handle, infos)).limit(PROBE_ROWS))
        )
        if probe.empty:
            raise InitError(f"table {where!r} has no rows: nothing to propose from")
        profiles = [profile_column(i, probe[i.name]) for i in infos]
        ts, unit = choose_time_column(profiles)
        if ts is None:
            listed = ", ".join(f"{i.name} {i.sql_type}" for i in infos)
            raise InitError(
                f"table {where!r} has no timestamp column for the event time ({listed}); "
                "Lookout cuts windows on one: add it, or a view with one (an integer column "
                "of Unix epoch seconds, milliseconds or microseconds named like a time, such "
                "as created_at, is read as one)"
            )
        reader = SampleReader(conn, handle, infos, ts, caps, is_view, ts in indexed, unit)
        traffic, sample = reader.read()
    votes = find_votes_table(engine, handle, schema)
    return TableRead(infos, sample, traffic, ts, display, unit, votes)


def _reflect(
    inspector: Any, caps: Dialect, table: str, schema: str | None, display: str
) -> list[dict[str, Any]]:
    try:
        home = lookup_schema(inspector, caps, schema)
        found = caps.reflected(inspector, table, home, inspector.get_columns(table, schema=home))
    except sa.exc.NoSuchTableError:
        found = []
    except sa.exc.DBAPIError:  # MySQL/MariaDB without a database in the URL: none selected
        if schema is not None or catalog(lambda: inspector.default_schema_name, None):
            raise
        found = []
    if found:
        return list(found)
    raise not_found(inspector, caps, table, schema, display)


def _type_text(type_: Any, engine: Engine) -> str:
    try:
        return str(type_.compile(dialect=engine.dialect))
    except Exception:
        return type(type_).__name__


def _ts_indexes(inspector: Any, table: str, schema: str | None) -> set[str]:
    """Columns that lead an index (an ORDER BY on them reads only the rows it returns)."""
    with warnings.catch_warnings():  # duckdb-engine warns that it cannot reflect indexes
        warnings.simplefilter("ignore")
        indexes = catalog(lambda: inspector.get_indexes(table, schema=schema), [])
    leading = {i["column_names"][0] for i in indexes if i.get("column_names")}
    primary = catalog(lambda: inspector.get_pk_constraint(table, schema=schema), {}) or {}
    if primary.get("constrained_columns"):
        leading.add(primary["constrained_columns"][0])
    return {c for c in leading if c}
