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
   (PostgreSQL), or the newest rows as above.

No read counts or scans the whole table (DuckDB's `count(*)` is read from its metadata).
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from lookout.connections import ConnectSettings, engine_arguments
from lookout.drivers import MissingDriverError, default_driver, require_driver
from lookout.errors import LookoutError, map_exceptions
from lookout.services.init import Traffic, choose_time_column
from lookout.services.init_columns import ColumnInfo, column_kind, profile_column
from lookout.sources.dialects import Dialect, dialect_for

__all__ = [
    "DETAIL_PAGES",
    "DETAIL_ROWS",
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
NEWEST_ROWS = 50_000  # event times read newest first (SQLite, views, other dialects)
SAMPLE_ROWS = 5_000
TEXT_CHARS = 2_000
TS_PAGES = 2_000  # PostgreSQL pages (8 kB each by default) sampled for the event times
TS_VECTORS = 100  # DuckDB vectors (2,048 rows each) sampled for the event times
DUCKDB_VECTOR = 2_048
STEADY_CLUSTERS = 30  # sampled pages or vectors a period needs for its rate (~±20%)
_PERIODS = tuple(timedelta(days=d) for d in (1, 2, 4, 7, 14, 30, 60, 120, 365))
DETAIL_PAGES = 20_000  # PostgreSQL pages sampled at most for the newest day's rows
DETAIL_ROWS = 2_000_000  # DuckDB rows sampled at most for the newest day's rows
DAY = timedelta(days=1)
# Read-only, and every wait short: init is interactive.
INIT_SETTINGS = ConnectSettings(
    read_only=True,
    lock_timeout=timedelta(seconds=10),
    statement_timeout=timedelta(seconds=60),
    key="warehouse",
)


class InitError(LookoutError):
    """`lookout init` cannot propose a monitor for this table (one line, exit 2)."""


@dataclass(frozen=True)
class TableRead:
    """The table as `propose` needs it."""

    columns: list[ColumnInfo]
    sample: pd.DataFrame  # up to SAMPLE_ROWS rows of the newest day, columns as named
    traffic: Traffic
    ts_column: str
    display_url: str


def open_engine(url: str, settings: ConnectSettings = INIT_SETTINGS) -> Engine:
    """The warehouse engine, read-only; a missing driver or a bad URL is one clear line."""
    try:
        url = default_driver(url)  # postgresql:// is psycopg 3, as the postgres extra installs
        parsed = make_url(url)
    except Exception:
        raise InitError("not a SQLAlchemy database URL (e.g. duckdb:///file.duckdb)") from None
    display = parsed.render_as_string(hide_password=True)
    try:
        require_driver(parsed, "warehouse")  # one line naming the pip extra
    except MissingDriverError as exc:
        raise InitError(str(exc)) from None
    try:
        final, options = engine_arguments(url, settings)
    except ValueError:  # a driver that takes no session settings: no timeouts, no read-only
        final, options = engine_arguments(
            url, replace(settings, lock_timeout=None, statement_timeout=None, read_only=False)
        )
    try:
        engine = sa.create_engine(final, **options)
    except sa.exc.ArgumentError as exc:
        raise InitError(f"warehouse {display}: {exc}") from None
    dialect_for(engine).configure_engine(engine, settings)  # session settings (MySQL)
    return engine


def read_table(
    url: str,
    table: str,
    schema: str | None = None,
    *,
    settings: ConnectSettings = INIT_SETTINGS,
) -> TableRead:
    """Reflect `table`, find its event time, estimate its traffic and sample its newest day."""
    engine = open_engine(url, settings)
    display = make_url(url).render_as_string(hide_password=True)
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
    read_as = dialect_for(engine).column_type  # types as `Warehouse.table_columns` reads them
    reflected = [
        {**c, "type": read_as(c["type"])}
        for c in _reflect(inspector, table, schema, display, where)
    ]
    infos = [
        ColumnInfo(c["name"], _type_text(c["type"], engine), column_kind(c["type"]),
                   bool(getattr(c["type"], "timezone", False)))
        for c in reflected
    ]  # fmt: skip
    handle = sa.Table(
        table, sa.MetaData(), *(sa.Column(c["name"], c["type"]) for c in reflected), schema=schema
    )
    is_view = table in _safe(lambda: inspector.get_view_names(schema=schema), [])
    indexed = _ts_indexes(inspector, table, schema)
    with engine.connect() as conn:
        probe = _frame(conn.execute(sa.select(*_selected(handle, infos)).limit(PROBE_ROWS)))
        if probe.empty:
            raise InitError(f"table {where!r} has no rows: nothing to propose from")
        ts = choose_time_column([profile_column(i, probe[i.name]) for i in infos])
        if ts is None:
            listed = ", ".join(f"{i.name} {i.sql_type}" for i in infos)
            raise InitError(
                f"table {where!r} has no timestamp column for the event time ({listed}); "
                "Lookout cuts windows on one: add it, or a view with one"
            )
        reader = _Reader(conn, handle, infos, ts, dialect_for(engine), is_view, ts in indexed)
        traffic, sample = reader.read()
    return TableRead(infos, sample, traffic, ts, display)


def _safe(call: Any, default: Any) -> Any:
    try:
        return call()
    except (sa.exc.SQLAlchemyError, NotImplementedError):
        return default


def _reflect(
    inspector: Any, table: str, schema: str | None, display: str, where: str
) -> list[dict[str, Any]]:
    try:
        found = inspector.get_columns(table, schema=schema)
    except sa.exc.NoSuchTableError:
        found = []
    if found:
        return list(found)
    names = sorted(
        set(_safe(lambda: inspector.get_table_names(schema=schema), []))
        | set(_safe(lambda: inspector.get_view_names(schema=schema), []))
    )
    similar = difflib.get_close_matches(table, names, n=5, cutoff=0.5)
    similar += [n for n in names if n.lower() == table.lower() and n not in similar]
    if similar:
        hint = f"similar: {', '.join(similar)}"
    elif names:
        hint = f"tables: {', '.join(names[:10])}{', …' if len(names) > 10 else ''}"
    else:
        hint = f"schema {schema!r} has no tables" if schema else "no tables"
    raise InitError(f"table {where!r} not found in warehouse {display} ({hint})")


def _type_text(type_: Any, engine: Engine) -> str:
    try:
        return str(type_.compile(dialect=engine.dialect))
    except Exception:
        return type(type_).__name__


def _ts_indexes(inspector: Any, table: str, schema: str | None) -> set[str]:
    """Columns that lead an index (an ORDER BY on them reads only the rows it returns)."""
    with warnings.catch_warnings():  # duckdb-engine warns that it cannot reflect indexes
        warnings.simplefilter("ignore")
        indexes = _safe(lambda: inspector.get_indexes(table, schema=schema), [])
    leading = {i["column_names"][0] for i in indexes if i.get("column_names")}
    primary = _safe(lambda: inspector.get_pk_constraint(table, schema=schema), {}) or {}
    if primary.get("constrained_columns"):
        leading.add(primary["constrained_columns"][0])
    return {c for c in leading if c}


def _selected(handle: sa.Table, infos: Sequence[ColumnInfo]) -> list[Any]:
    """Every column, text cut to TEXT_CHARS characters (memory stays bounded)."""
    out = []
    for info in infos:
        column = handle.c[info.name]
        if info.kind == "other" or (info.kind == "text" and not isinstance(column.type, sa.String)):
            column = sa.cast(column, sa.Text)  # JSON, arrays, UUIDs, untyped: as text
        if info.kind in ("text", "other"):
            out.append(sa.func.substr(column, 1, TEXT_CHARS).label(info.name))
        else:
            out.append(column.label(info.name))
    return out


def _frame(result: Any) -> pd.DataFrame:
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def _utc(values: pd.Series) -> pd.Series:
    moments = pd.to_datetime(values, utc=True, errors="coerce", format="mixed")
    return moments.dropna()


class _Reader:
    """The bounded reads of one table on one connection, by what the dialect offers."""

    def __init__(
        self,
        conn: sa.Connection,
        handle: sa.Table,
        infos: Sequence[ColumnInfo],
        ts: str,
        caps: Dialect,
        is_view: bool,
        ts_indexed: bool,
    ) -> None:
        self.conn, self.handle, self.infos, self.ts = conn, handle, infos, ts
        self.caps, self.is_view, self.ts_indexed = caps, is_view, ts_indexed
        self.dialect = conn.dialect.name  # for the words in the proposal

    def read(self) -> tuple[Traffic, pd.DataFrame]:
        if self.caps.sample_unit is not None and not self.is_view:
            return self._sampled()
        return self._newest()

    # -- page / vector samples (PostgreSQL, DuckDB) -----------------------------------------

    def _sampled(self) -> tuple[Traffic, pd.DataFrame]:
        size, unit = self._size()
        if size == 0:
            return self._newest()
        units = size if unit == "pages" else size / DUCKDB_VECTOR
        fraction = min(1.0, (TS_PAGES if unit == "pages" else TS_VECTORS) / max(units, 1.0))
        times = _utc(self._times(fraction))
        if times.empty:
            return self._newest()
        estimate = len(times) / fraction if unit == "pages" else size
        newest = times.max()
        per_cluster = len(times) / max(1.0, fraction * units)  # rows a sampled page holds
        rate, period = _rate(times, fraction, per_cluster if fraction < 1 else 1.0)
        traffic = Traffic(
            rows_per_hour=rate,
            newest=newest.to_pydatetime(),
            rows_estimate=int(estimate),
            timestamps_read=len(times),
            method=self._method(fraction, unit),
            period=period,
        )
        if self.ts_indexed:
            return traffic, self._recent_by_index(newest)
        # enough of the newest day's pages or vectors that the rows are spread over the day
        wanted = max(4 * SAMPLE_ROWS, 2 * STEADY_CLUSTERS * per_cluster)
        day_rows = max(1.0, rate * 24)
        limit = DETAIL_PAGES if unit == "pages" else DETAIL_ROWS
        detail = min(1.0, max(fraction, wanted / day_rows), limit / size)
        return traffic, self._recent_sampled(detail, newest)

    def _size(self) -> tuple[float, str]:
        """The table's size in the dialect's sample unit (PostgreSQL pages from the catalog,
        DuckDB rows from metadata)."""
        return self.caps.table_size(self.conn, self.handle), self.caps.sample_unit or "rows"

    def _sample_of(self, fraction: float, seed: int) -> Any:
        if fraction >= 1.0:
            return self.handle
        return self.caps.table_sample(self.handle, fraction, seed)

    def _times(self, fraction: float) -> pd.Series:
        source = self._sample_of(fraction, 1)
        rows = self.conn.execute(sa.select(source.c[self.ts])).scalars().all()
        return pd.Series(rows, dtype=object)

    def _recent_sampled(self, fraction: float, newest: pd.Timestamp) -> pd.DataFrame:
        source = self._sample_of(fraction, 2)
        query = (
            sa.select(*_selected(source, self.infos))
            .where(source.c[self.ts] > self._bound(newest - DAY))
            .order_by(sa.func.random())  # any of the sampled rows, not the first pages'
            .limit(SAMPLE_ROWS)
        )
        return _frame(self.conn.execute(query))

    def _method(self, fraction: float, unit: str) -> str:
        if fraction >= 1.0:
            return f"every event time: a small table ({self.dialect})"
        what = "pages" if unit == "pages" else "2,048-row vectors"
        return f"TABLESAMPLE SYSTEM {fraction:.4%} of its {what} ({self.dialect})"

    # -- newest rows (SQLite, views, other dialects) ----------------------------------------

    def _newest(self) -> tuple[Traffic, pd.DataFrame]:
        order, estimate, method = self._order()
        query = sa.select(self.handle.c[self.ts])
        if order is not None:
            query = query.order_by(order)
        times_raw = self.conn.execute(query.limit(NEWEST_ROWS)).scalars().all()
        times = _utc(pd.Series(times_raw, dtype=object))
        if times.empty:
            raise InitError(f"no row of {self.handle.name!r} has a readable {self.ts}")
        newest = times.max()
        detail = sa.select(*_selected(self.handle, self.infos))
        if order is not None:
            detail = detail.order_by(order)
        sample = _frame(self.conn.execute(detail.limit(SAMPLE_ROWS)))
        moments = pd.to_datetime(sample[self.ts], utc=True, errors="coerce", format="mixed")
        sample = sample[moments > newest - DAY].reset_index(drop=True)
        rate, period = _rate(times, 1.0, 1.0)
        traffic = Traffic(
            rows_per_hour=rate,
            newest=newest.to_pydatetime(),
            rows_estimate=estimate,
            timestamps_read=len(times),
            method=method,
            period=period,
        )
        return traffic, sample

    def _order(self) -> tuple[Any, int | None, str]:
        """How to read the newest rows first, an estimate of the rows, and the words for it."""
        newest = None if self.is_view else self.caps.newest_order(self.conn, self.handle)
        if newest is not None:
            return newest
        if self.ts_indexed:
            return self.handle.c[self.ts].desc(), None, f"the newest rows by the index on {self.ts}"
        return (
            None,
            None,
            f"the first rows {self.dialect} returns (no sampling here and no index on "
            f"{self.ts}): may not be the newest",
        )

    def _recent_by_index(self, newest: pd.Timestamp) -> pd.DataFrame:
        """The newest rows of each hour of the newest day, through the index on the event
        time: bounded like one LIMIT, and spread over the day rather than its last minutes."""
        ts = self.handle.c[self.ts]
        per_hour = SAMPLE_ROWS // 24
        frames = []
        for hour in range(24):
            end, start = newest - timedelta(hours=hour), newest - timedelta(hours=hour + 1)
            query = (
                sa.select(*_selected(self.handle, self.infos))
                .where(ts > self._bound(start), ts <= self._bound(end))
                .order_by(ts.desc())
                .limit(per_hour)
            )
            frames.append(_frame(self.conn.execute(query)))
        found = [f for f in frames if not f.empty]
        return pd.concat(found, ignore_index=True) if found else frames[0]

    def _bound(self, moment: pd.Timestamp) -> Any:
        """A time bound typed like the column: naive UTC for naive columns."""
        info = next(i for i in self.infos if i.name == self.ts)
        value = moment.to_pydatetime()
        return value if info.timezone else value.replace(tzinfo=None)


def _rate(times: pd.Series, fraction: float, per_cluster: float) -> tuple[float, timedelta]:
    """Rows per hour (and over what) from event times that are a `fraction` sample of the rows,
    drawn in clusters of `per_cluster` rows (pages, vectors; 1 for rows read newest first).

    Over the newest day when the sample holds enough clusters there to be steady, else over the
    shortest newer period that does; over the sample's whole span when shorter (an hour at
    least). A cluster sample of a time-ordered table puts whole pages of neighbouring times
    into it: one page more or less in a day would swing a day's estimate by its share.
    """
    newest, oldest = times.max(), times.min()
    need = min(len(times) / 2, STEADY_CLUSTERS * per_cluster)
    for period in _PERIODS:
        if newest - period <= oldest:
            break
        inside = int((times > newest - period).sum())
        if inside >= need:
            return inside / fraction / (period.total_seconds() / 3600), period
    span = newest - oldest
    hours = max(span.total_seconds() / 3600, 1.0)
    return len(times) / fraction / hours, span.to_pytimedelta()
