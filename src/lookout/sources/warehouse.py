"""Read a monitor's window from the warehouse (SQLAlchemy 2; any engine, see `dialects`).

Table and column names come from config; they were checked against a plain-identifier pattern at
load time, are checked again against the reflected table here, and only ever reach SQL as
SQLAlchemy `Table`/`Column` objects, which the dialect quotes. No string is formatted into SQL.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from lookout.checks.metrics import (
    ALL_COHORTS,
    QUANTILES,
    GroupAggregates,
    MetricSettings,
    cohort_label,
    label_text,
)
from lookout.config.models import Monitor, SourceConfig, WarehouseTarget
from lookout.connections import (
    WAREHOUSE_DEFAULTS,
    ConnectSettings,
    engine_arguments,
    explain_timeouts,
)
from lookout.core.cohorts import OTHER, CohortCap
from lookout.core.sketch import MIN_VALUE as SKETCH_MIN_VALUE
from lookout.core.sketch import Sketch, key_multiplier
from lookout.errors import SourceError, database_error
from lookout.sources.column_types import role_problems, sql_matches
from lookout.sources.contract import NUMERIC_FIELDS, TEXT_FIELDS, parse_numbers
from lookout.sources.dialects import GENERIC, Dialect, describe_fallback, dialect_for
from lookout.sources.drivers import require_driver
from lookout.windows import Window, as_utc

__all__ = [
    "CohortKey",
    "Warehouse",
    "error_line",
    "metric_fields",
    "normalize_frame",
    "sketch_buckets",
]

log = logging.getLogger("lookout.sources")
_INFINITIES = (float("inf"), float("-inf"))


def metric_fields(source: SourceConfig) -> list[str]:
    """Mapped canonical fields the ops metrics need: everything but the long text columns."""
    return [field for field in source.columns if field not in TEXT_FIELDS]


def error_line(exc: BaseException) -> str:
    """`Type: first line` of a driver error, for one-line messages."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return f"{type(orig).__name__}: {text[0] if text else ''}"


@dataclass(frozen=True)
class CohortKey:
    """How a query groups by one cohort column: the raw column, or (capped) the column where
    its value is kept plus a 0/1 flag for the pooled `(other)` rows."""

    dimension: str
    columns: tuple[sa.ColumnElement[Any], ...]

    def label(self, parts: Sequence[Any]) -> str:
        """The cohort label of a result row's key parts (as many as `columns`)."""
        if len(self.columns) == 2 and parts[1]:
            return f"{self.dimension}={OTHER}"
        return cohort_label(self.dimension, parts[0])


class Warehouse:
    """One warehouse connection (lazy), its reflected tables, and the window queries.

    Opened read-only by default (`settings`): on DuckDB a read-write open locks the file for
    one process, so an hourly run and a backfill in two processes would fail each other.
    """

    def __init__(
        self,
        url: str,
        *,
        engine: Engine | None = None,
        settings: ConnectSettings = WAREHOUSE_DEFAULTS,
    ) -> None:
        self._url = url
        self._engine = engine
        self.settings = settings
        self._columns: dict[tuple[str | None, str], dict[str, Any]] = {}
        self._tables: dict[tuple[str | None, str], sa.Table] = {}
        self.display_url = make_url(url).render_as_string(hide_password=True)
        self.capabilities: Dialect = dialect_for(engine if engine is not None else url)

    @classmethod
    def from_target(cls, target: WarehouseTarget) -> Warehouse:
        """The warehouse of a profile target: read-only unless it opts out, its timeouts."""
        return cls(target.url.get_secret_value(), settings=target.settings)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            url, options = engine_arguments(self._url, self.settings)
            require_driver(url, "warehouse")  # one line naming the pip extra, not an ImportError
            self._engine = sa.create_engine(url, pool_pre_ping=True, **options)
            self.capabilities.configure_engine(self._engine, self.settings)
            if self.capabilities is GENERIC:
                log.info(describe_fallback(self._engine.dialect.name))
            display = self.display_url
            explain_timeouts(
                self._engine,
                self.settings,
                lambda text: SourceError(f"warehouse {display}: {text}"),
            )
        return self._engine

    @property
    def dialect(self) -> str:
        """The engine's name as SQLAlchemy reports it (for messages; ask `capabilities`)."""
        return self.engine.dialect.name

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    # -- table shape ------------------------------------------------------------------------

    def table_columns(self, source: SourceConfig) -> dict[str, Any]:
        """Column name -> SQLAlchemy type of the source table, reflected once and cached."""
        key = (source.schema_, source.table)
        if key not in self._columns:
            try:
                inspector = sa.inspect(self.engine)
                found = inspector.get_columns(source.table, schema=source.schema_)
            except sa.exc.NoSuchTableError:
                found = []
            except sa.exc.SQLAlchemyError as exc:
                raise database_error(
                    exc,
                    f"warehouse {self.display_url}: cannot read table {source.table!r}",
                    SourceError,
                ) from None
            if not found:
                where = f"{source.schema_}.{source.table}" if source.schema_ else source.table
                raise SourceError(f"warehouse {self.display_url}: table {where!r} not found")
            read_as = self.capabilities.column_type
            self._columns[key] = {column["name"]: read_as(column["type"]) for column in found}
        return self._columns[key]

    def check_monitor(self, monitor: Monitor, index: int | None = None) -> None:
        """Every mapped, release and cohort column exists and has a type its role can use, and
        configured values fit their columns; every problem at once, each naming its key."""
        columns = self.table_columns(monitor.source)
        where = f"monitors[{index}]" if index is not None else f"monitor {monitor.name}"
        known = ", ".join(sorted(columns))
        problems = []
        for field, column in monitor.source.columns.items():
            if column not in columns:
                problems.append(
                    f"monitors.yml: {where}.source.columns.{field}: column {column!r} "
                    f"is not in table {monitor.source.table!r} (columns: {known})"
                )
        for position, cohort in enumerate(monitor.source.cohorts):
            column = monitor.source.columns.get(cohort, cohort)
            if column not in columns:
                problems.append(
                    f"monitors.yml: {where}.source.cohorts[{position}]: column {column!r} "
                    f"is not in table {monitor.source.table!r} (columns: {known})"
                )
        for position, name in enumerate(monitor.source.release):
            if name not in monitor.source.columns and name not in columns:
                problems.append(
                    f"monitors.yml: {where}.source.release[{position}]: column {name!r} "
                    f"is not in table {monitor.source.table!r} (columns: {known})"
                )
        problems += role_problems(
            monitor, columns, where, text_times=self.capabilities.text_times
        )  # types vs roles
        if problems:
            raise SourceError("\n".join(problems))

    def loose_numeric_fields(self, source: SourceConfig) -> frozenset[str]:
        """Mapped numeric fields whose column is not of a numeric type (teams do log latencies
        into TEXT columns). SQL cannot compare or aggregate them as numbers without failing
        (PostgreSQL, DuckDB) or reading `12ms` as 12 (SQLite): they are read and parsed by
        `parse_numbers` instead. (On SQLite a numeric column can hold text too: see
        `not_a_number_suspects`.)
        """
        mapped = [f for f in NUMERIC_FIELDS if f in source.columns]
        columns = self.table_columns(source)
        return frozenset(
            f for f in mapped if not isinstance(columns[source.columns[f]], sa.Integer | sa.Numeric)
        )

    def _infinities(self, table: sa.Table, source: SourceConfig) -> list[Any]:
        """Per typed numeric field that can hold ±infinity, the condition that it does: float
        columns, and PostgreSQL `numeric` (infinite since PostgreSQL 14; compared as text, so
        a huge finite value is never cast to a double). Integers and other decimals cannot."""
        columns = self.table_columns(source)
        out = []
        for field in NUMERIC_FIELDS:
            if field not in source.columns:
                continue
            type_ = columns[source.columns[field]]
            column = self.column(table, source, field)
            if isinstance(type_, sa.Float) and self.capabilities.stores_nan:
                out.append(column.in_([self.capabilities.special_float(v) for v in _INFINITIES]))
            elif (
                isinstance(type_, sa.Numeric)
                and not isinstance(type_, sa.Integer)
                and self.capabilities.decimal_infinity
            ):
                out.append(sa.cast(column, sa.Text).in_(("Infinity", "-Infinity")))
        return out

    def table(self, source: SourceConfig) -> sa.Table:
        """One Table object per source, so every clause of a query refers to the same FROM."""
        key = (source.schema_, source.table)
        if key not in self._tables:
            columns = self.table_columns(source)
            self._tables[key] = sa.Table(
                source.table,
                sa.MetaData(),
                *(sa.Column(name, type_) for name, type_ in columns.items()),
                schema=source.schema_,
            )
        return self._tables[key]

    def _bind_time(self, source: SourceConfig, field: str, moment: datetime) -> datetime:
        """Naive timestamp columns hold UTC; bind naive UTC there and aware UTC elsewhere."""
        column_type = self.table_columns(source)[source.columns[field]]
        moment = as_utc(moment)
        return moment if getattr(column_type, "timezone", False) else moment.replace(tzinfo=None)

    def column(self, table: sa.Table, source: SourceConfig, name: str) -> sa.ColumnElement[Any]:
        """The table column a canonical field (or a cohort column) is mapped to."""
        return table.c[source.columns.get(name, name)]

    def in_window(self, table: sa.Table, source: SourceConfig, window: Window) -> Any:
        """The condition that a row's event time is inside `window` (bound as the column is)."""
        ts = self.column(table, source, "ts")
        return sa.and_(
            ts >= self._bind_time(source, "ts", window.start),
            ts < self._bind_time(source, "ts", window.end),
        )

    # -- reads ------------------------------------------------------------------------------

    def window_query(
        self,
        monitor: Monitor,
        window: Window,
        fields: Sequence[str] | None = None,
        *,
        cohorts: bool = True,
    ) -> sa.Select[Any]:
        """SELECT the window's rows as canonical fields (+ cohort columns), never `*`."""
        source = monitor.source
        table = self.table(source)
        wanted = list(fields) if fields is not None else metric_fields(source)
        wanted += [f for f in source.release if f not in wanted]  # every record's release
        selected = [self.column(table, source, f).label(f) for f in wanted if source.selectable(f)]
        for cohort in source.cohorts if cohorts else ():
            if cohort not in wanted:
                selected.append(self.column(table, source, cohort).label(cohort))
        return sa.select(*selected).where(self.in_window(table, source, window))

    def read_window(
        self,
        monitor: Monitor,
        window: Window,
        fields: Sequence[str] | None = None,
        *,
        cohorts: bool = True,
    ) -> pd.DataFrame:
        """The window's records, canonical columns, timestamps as UTC."""
        return self.read_window_checked(monitor, window, fields, cohorts=cohorts)[0]

    def read_window_checked(
        self,
        monitor: Monitor,
        window: Window,
        fields: Sequence[str] | None = None,
        *,
        cohorts: bool = True,
    ) -> tuple[pd.DataFrame, np.ndarray]:
        """`read_window`, and which rows hold a value that is not a number in a numeric field
        (NaN in the frame): the ops metrics leave those records out, the validation stage
        quarantines them."""
        query = self.window_query(monitor, window, fields, cohorts=cohorts)
        frame = self.fetch_frame(query)
        not_numbers = _normalize(frame)
        return frame, not_numbers

    def fetch_frame(self, query: sa.Select[Any]) -> pd.DataFrame:
        """The rows of a query built on `table`, raw, through the dialect's fastest path."""
        try:
            with self.engine.connect() as conn:
                return self.capabilities.fetch_frame(conn, query)
        except sa.exc.SQLAlchemyError as exc:
            raise database_error(
                exc, f"warehouse {self.display_url}: read failed", SourceError
            ) from None

    def late_windows(
        self, monitor: Monitor, processed: dict[Window, datetime | None], frontier: datetime
    ) -> set[Window]:
        """Processed windows that received rows after they were read (needs `ingested_at`).

        `processed` maps each processed window within the late lookback to the highest
        `ingested_at` it saw. Only the (ts, ingested_at) pairs of newer rows are fetched.
        """
        source = monitor.source
        if "ingested_at" not in source.columns or not processed:
            return set()
        table = self.table(source)
        ts = self.column(table, source, "ts")
        ingested = self.column(table, source, "ingested_at")
        first = min(processed)
        in_lookback = [
            ts >= self._bind_time(source, "ts", first.start),
            ts < self._bind_time(source, "ts", frontier),
        ]
        # Rows newer than what a window saw, or any row at all in a window that was empty.
        seen = [moment for moment in processed.values() if moment is not None]
        newer: list[Any] = []
        if seen:
            newer.append(ingested > self._bind_time(source, "ingested_at", min(seen)))
        for window, high in processed.items():
            if high is None:
                newer.append(self.in_window(table, source, window))
        query = sa.select(ts.label("ts"), ingested.label("ingested_at")).where(
            *in_lookback, sa.or_(*newer)
        )
        rows = normalize_frame(self.fetch_frame(query))
        late: set[Window] = set()
        for window, high in processed.items():
            inside = rows[(rows["ts"] >= window.start) & (rows["ts"] < window.end)]
            if high is None:
                late_here = not inside.empty
            else:
                late_here = bool((inside["ingested_at"] > pd.Timestamp(high)).any())
            if late_here:
                late.add(window)
        return late

    # -- validation (GX query assets) ---------------------------------------------------------

    def naive_times(self, source: SourceConfig) -> bool:
        """Does the `ts` column hold naive timestamps (taken as UTC)?"""
        column_type = self.table_columns(source)[source.columns["ts"]]
        return not getattr(column_type, "timezone", False)

    def release_values(
        self, monitor: Monitor, window: Window
    ) -> list[tuple[str, tuple[Any, ...], int]]:
        """(release label, raw release values, rows) of every release in the window."""
        source = monitor.source
        table = self.table(source)
        keys = [self.column(table, source, f).label(f"k{i}") for i, f in enumerate(source.release)]
        query = (
            sa.select(*keys, sa.func.count().label("n"))
            .where(self.in_window(table, source, window))
            .group_by(*keys)
        )
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(query).all()
        except sa.exc.SQLAlchemyError as exc:
            raise database_error(
                exc, f"warehouse {self.display_url}: read failed", SourceError
            ) from None
        out = []
        for row in rows:
            values = tuple(row[: len(keys)])
            label = "@".join(label_text(v) for v in values) or "default"
            out.append((label, values, int(row[-1])))
        return sorted(out, key=lambda item: item[0])

    def validation_sql(
        self,
        monitor: Monitor,
        window: Window,
        fields: Sequence[str],
        release: tuple[Any, ...],
    ) -> str:
        """The SQL text of one release's window for a GX query asset.

        Identifiers are quoted by the dialect's compiler; values are rendered by its literal
        processors (the same escaping SQLAlchemy applies to every literal), never by formatting.
        """
        source = monitor.source
        table = self.table(source)
        query = self.window_query(monitor, window, fields, cohorts=False)
        for field, value in zip(source.release, release, strict=True):
            column = self.column(table, source, field)
            query = query.where(column.is_(None) if value is None else column == value)
        # Wrapped so the batch's columns are exactly the canonical names (GX re-selects them).
        wrapped = sa.select(query.subquery("lookout_window"))
        compiled = wrapped.compile(
            dialect=self.engine.dialect, compile_kwargs={"literal_binds": True}
        )
        return str(compiled)

    def schema_sql(self, monitor: Monitor) -> str:
        """Every column of the table and no row: what a schema expectation looks at."""
        table = self.table(monitor.source)
        query = sa.select(*table.c).where(sa.false())
        compiled = query.compile(
            dialect=self.engine.dialect, compile_kwargs={"literal_binds": True}
        )
        return str(compiled)

    def unplaceable_rows(
        self, monitor: Monitor, window: Window, fields: Sequence[str]
    ) -> pd.DataFrame:
        """Records ingested during the window whose event time is missing or unreadable.

        No window's read selects such a record (its `ts` is in no range), so without this it
        would never be counted; the window it arrived in reports it instead. Needs
        `ingested_at`. SQLite keeps any value in a timestamp column: one `datetime()` cannot
        read (text that is not a date, a bare number) counts as unreadable too.
        """
        source = monitor.source
        wanted = [f for f in fields if source.selectable(f)]
        if "ingested_at" not in source.columns:
            return pd.DataFrame(columns=wanted)
        table = self.table(source)
        ts = self.column(table, source, "ts")
        ingested = self.column(table, source, "ingested_at")
        unreadable: Any = ts.is_(None)
        if (garbled := self.capabilities.unreadable_time(ts)) is not None:
            unreadable = sa.or_(unreadable, garbled)
        query = (
            sa.select(*(self.column(table, source, f).label(f) for f in wanted))
            .where(
                ingested >= self._bind_time(source, "ingested_at", window.start),
                ingested < self._bind_time(source, "ingested_at", window.end),
                unreadable,
            )
            .order_by(ingested, self.column(table, source, "record_id"))
        )
        return self.fetch_frame(query)

    def not_a_number_suspects(
        self, monitor: Monitor, window: Window, fields: Sequence[str]
    ) -> pd.DataFrame:
        """The window's records whose numeric fields may hold something that is not a number,
        raw (`fields` plus every mapped numeric field, unparsed), for `parse_numbers` to judge.

        The warehouse only narrows the read: on SQLite, values stored as text or blob, and
        infinities; elsewhere every non-null value of a column that is not of a numeric type,
        and infinities in float columns. Integer and decimal columns hold numbers by type.
        """
        source = monitor.source
        numeric = [f for f in NUMERIC_FIELDS if f in source.columns]
        wanted = [f for f in fields if source.selectable(f) and f not in numeric]
        table = self.table(source)
        stored = [
            self.capabilities.stored_not_number(self.column(table, source, f)) for f in numeric
        ]
        suspects: list[Any] = [condition for condition in stored if condition is not None]
        if not suspects:  # the column's type says what it holds
            loose = self.loose_numeric_fields(source)
            suspects += [self.column(table, source, f).isnot(None) for f in sorted(loose)]
            suspects += self._infinities(table, source)
        if not suspects:
            return pd.DataFrame(columns=[*wanted, *numeric])
        query = (
            sa.select(*(self.column(table, source, f).label(f) for f in [*wanted, *numeric]))
            .where(self.in_window(table, source, window), sa.or_(*suspects))
            .order_by(self.column(table, source, "record_id"), self.column(table, source, "ts"))
        )
        return self.fetch_frame(query)

    def max_ingested_in(self, monitor: Monitor, window: Window) -> datetime | None:
        """Newest `ingested_at` of the window, asked of the warehouse (pushdown path)."""
        source = monitor.source
        if "ingested_at" not in source.columns:
            return None
        table = self.table(source)
        query = sa.select(sa.func.max(self.column(table, source, "ingested_at"))).where(
            self.in_window(table, source, window)
        )
        try:
            with self.engine.connect() as conn:
                value = conn.scalar(query)
        except sa.exc.SQLAlchemyError as exc:
            raise database_error(
                exc, f"warehouse {self.display_url}: read failed", SourceError
            ) from None
        return None if value is None else as_utc(pd.Timestamp(value).to_pydatetime())

    def max_ingested(self, frame: pd.DataFrame) -> datetime | None:
        if "ingested_at" not in frame or frame["ingested_at"].dropna().empty:
            return None
        return frame["ingested_at"].max().to_pydatetime()

    # -- cohorts ------------------------------------------------------------------------------

    def cohort_counts(self, monitor: Monitor, window: Window) -> dict[str, dict[str, int]]:
        """Rows per value label of each cohort column in the window (one GROUP BY per column):
        what the cohort cap ranks values by, without reading the rows."""
        source = monitor.source
        table = self.table(source)
        where = self.in_window(table, source, window)
        out: dict[str, dict[str, int]] = {}
        try:
            with self.engine.connect() as conn:
                for dimension in source.cohorts:
                    column = self.column(table, source, dimension)
                    query = sa.select(column, sa.func.count()).where(where).group_by(column)
                    counts: dict[str, int] = {}
                    for raw, rows in conn.execute(query):
                        label = label_text(raw)
                        counts[label] = counts.get(label, 0) + int(rows)
                    out[dimension] = counts
        except sa.exc.SQLAlchemyError as exc:
            raise database_error(
                exc, f"warehouse {self.display_url}: read failed", SourceError
            ) from None
        return out

    def cohort_key(
        self,
        conn: sa.Connection,
        table: sa.Table,
        source: SourceConfig,
        dimension: str,
        cap: CohortCap | None,
        where: Any,
    ) -> CohortKey:
        """The GROUP BY key of a cohort column over the rows `where` selects; with a cap, the
        values kept are matched as they are stored (their raw values are looked up first, so
        a value's label is the same whatever the column's type)."""
        column = self.column(table, source, dimension)
        if cap is None or not cap.capped(dimension):
            return CohortKey(dimension, (column,))
        raws = conn.execute(sa.select(column).where(where).group_by(column)).scalars()
        kept, null_kept = cap.kept_raw(dimension, raws, label_text)
        inside: Any = column.in_(kept) if kept else sa.false()
        if null_kept:
            inside = sa.or_(inside, column.is_(None))
        value = sa.case((inside, column), else_=None)
        other = sa.case((inside, 0), else_=1)
        return CohortKey(dimension, (value, other))

    # -- aggregation pushdown -----------------------------------------------------------------

    @property
    def supports_pushdown(self) -> bool:
        """Can the engine compute the ops aggregates, quantiles included?"""
        return self.capabilities.quantiles is not None

    def aggregate_window(
        self,
        monitor: Monitor,
        window: Window,
        settings: MetricSettings,
        cap: CohortCap | None = None,
    ) -> list[GroupAggregates]:
        """The same `GroupAggregates` as `aggregate_frame`, computed by the warehouse."""
        if not self.supports_pushdown:
            raise SourceError(f"warehouse dialect {self.dialect!r} cannot aggregate quantiles")
        source = monitor.source
        table = self.table(source)
        loose = self.loose_numeric_fields(source)
        if loose:  # the pipeline reads such a window instead (see `loose_numeric_fields`)
            raise SourceError(
                f"warehouse {self.display_url}: cannot aggregate {', '.join(sorted(loose))} "
                "in SQL: not numeric columns"
            )
        where = sa.and_(self.in_window(table, source, window), self._finite_rows(table, source))
        caps = self.capabilities
        measures = _measures(table, source, settings, self.column, caps)
        releases = [self.column(table, source, f) for f in source.release]
        out: list[GroupAggregates] = []
        groupings: list[str | None] = [None, *source.cohorts]
        sketched = _sketched_fields(table, source, settings, self.column, caps)
        try:
            with self.engine.connect() as conn:
                for dimension in groupings:
                    keys = list(releases)
                    cohort = None
                    if dimension is not None:
                        cohort = self.cohort_key(conn, table, source, dimension, cap, where)
                        keys.extend(cohort.columns)
                    labelled = [key.label(f"k{i}") for i, key in enumerate(keys)]
                    query = sa.select(*labelled, *measures).where(where).group_by(*labelled)
                    rows = [dict(row) for row in conn.execute(query).mappings()]
                    if caps.quantiles == "window":
                        _add_window_quantiles(
                            conn, rows, keys, where, self._quantile_values(source)
                        )
                    found = [_row_to_aggregates(row, len(releases), cohort) for row in rows]
                    sketches = sketch_buckets(
                        conn, labelled, sketched, where, len(releases), cohort
                    )
                    out += [
                        replace(a, sketches=sketches.get((a.release, a.cohort), {})) for a in found
                    ]
        except sa.exc.SQLAlchemyError as exc:
            raise database_error(
                exc, f"warehouse {self.display_url}: aggregation failed", SourceError
            ) from None
        out.sort(key=lambda a: (a.release, a.cohort != ALL_COHORTS, a.cohort))
        return out

    def _quantile_values(
        self, source: SourceConfig
    ) -> tuple[Dialect, dict[str, sa.ColumnElement[Any]]]:
        """The dialect and, per quantile prefix, the SQL number it is computed over."""
        number = _sql_number(self.table(source), source, self.column, self.capabilities)
        return self.capabilities, {p: number(f) for p, f in _quantile_fields(source)}

    def _finite_rows(self, table: sa.Table, source: SourceConfig) -> Any:
        """Rows without an infinity in a numeric field (a NaN reads as missing)."""
        return sa.not_(self._infinite_rows(table, source))

    def _infinite_rows(self, table: sa.Table, source: SourceConfig) -> Any:
        """Rows with an infinity in a numeric field: not a number for `parse_numbers`."""
        # coalesce: a NULL field is no infinity (and NOT NULL would drop the row)
        return sa.or_(
            sa.false(), *(sa.func.coalesce(c, sa.false()) for c in self._infinities(table, source))
        )

    def count_not_numbers(self, monitor: Monitor, window: Window) -> int:
        """Rows of the window that `aggregate_window` leaves out (an infinity in a float
        numeric field), so the window's row count still counts them."""
        source = monitor.source
        table = self.table(source)
        if not self._infinities(table, source):
            return 0
        query = sa.select(sa.func.count()).where(
            self.in_window(table, source, window), self._infinite_rows(table, source)
        )
        try:
            with self.engine.connect() as conn:
                return int(conn.scalar(query) or 0)
        except sa.exc.SQLAlchemyError as exc:
            raise database_error(
                exc, f"warehouse {self.display_url}: read failed", SourceError
            ) from None


def _quantile_fields(source: SourceConfig) -> list[tuple[str, str]]:
    return [
        (p, f) for p, f in (("latency", "latency_ms"), ("ttft", "ttft_ms")) if f in source.columns
    ]


def _add_window_quantiles(
    conn: sa.Connection,
    rows: list[dict[str, Any]],
    keys: list[Any],
    where: Any,
    values: tuple[Dialect, dict[str, sa.ColumnElement[Any]]],
) -> None:
    """Quantiles where `percentile_cont` is a window function only (MySQL, MariaDB): computed
    over each group's partition in a subquery, then one row per group, merged into `rows`."""
    caps, numbers = values
    if not numbers:
        return
    labelled = [key.label(f"k{i}") for i, key in enumerate(keys)]
    over = {"partition_by": keys} if keys else {}
    windowed = [
        caps.quantile(q, value).over(**over).label(f"{prefix}_{name}")
        for prefix, value in numbers.items()
        for name, q in QUANTILES.items()
    ]
    inner = sa.select(*labelled, *windowed).where(where).subquery("lookout_quantiles")
    grouped = [inner.c[f"k{i}"] for i in range(len(keys))]
    names = [f"{prefix}_{name}" for prefix in numbers for name in QUANTILES]
    query = sa.select(*grouped, *(sa.func.max(inner.c[n]).label(n) for n in names))
    if grouped:
        query = query.group_by(*grouped)
    found = {tuple(r[: len(keys)]): r for r in conn.execute(query)}
    for row in rows:
        match = found.get(tuple(row[f"k{i}"] for i in range(len(keys))))
        for position, name in enumerate(names):
            row[name] = None if match is None else match[len(keys) + position]


def _measures(
    table: sa.Table, source: SourceConfig, settings: MetricSettings, column: Any, caps: Dialect
) -> list[sa.ColumnElement[Any]]:
    mapped = source.columns

    def col(name: str) -> sa.ColumnElement[Any]:
        return column(table, source, name)

    number = _sql_number(table, source, column, caps)

    def count_if(condition: Any) -> sa.ColumnElement[Any]:
        return sa.func.sum(sa.case((condition, 1), else_=0))

    out: list[sa.ColumnElement[Any]] = [sa.func.count().label("n")]
    if "status" in mapped:
        ok = sql_matches(
            col("status"), col("status").type, settings.ok_statuses, as_text=caps.as_text
        )
        out.append(sa.func.count(col("status")).label("status_n"))
        out.append(count_if(sa.and_(col("status").isnot(None), sa.not_(ok))).label("errors"))
    if "is_fallback" in mapped:
        out.append(sa.func.count(col("is_fallback")).label("fallback_n"))
        out.append(count_if(col("is_fallback") == sa.true()).label("fallbacks"))
    if "retry_count" in mapped:
        out.append(sa.func.count(number("retry_count")).label("retry_n"))
        out.append(count_if(number("retry_count") > 0).label("retried"))
    if "feedback" in mapped:
        feedback = col("feedback")
        negative = sql_matches(
            feedback,
            feedback.type,
            settings.negative_feedback,
            fold_case=True,
            as_text=caps.as_text,
        )
        out.append(sa.func.count(feedback).label("feedback_n"))
        out.append(count_if(negative).label("negative_feedback"))
    for prefix, field in _quantile_fields(source):
        value = number(field)
        out.append(sa.func.count(value).label(f"{prefix}_n"))
        if caps.quantiles == "aggregate":  # "window": see `_add_window_quantiles`
            for name, q in QUANTILES.items():
                out.append(caps.quantile(q, value).label(f"{prefix}_{name}"))
    for field in ("prompt_tokens", "completion_tokens"):
        if field in mapped:
            out.append(sa.func.count(number(field)).label(f"{field}_n"))
            out.append(sa.func.sum(number(field)).label(f"{field}_sum"))
    cost = _cost_expression(source, settings, col, number)
    if cost is not None:
        out.append(sa.func.count(cost).label("cost_n"))
        out.append(sa.func.sum(cost).label("cost_sum"))
        if "trace_id" in mapped:
            traced = sa.case((cost.isnot(None), col("trace_id")), else_=None)
            out.append(sa.func.count(sa.distinct(traced)).label("traces"))
        else:
            out.append(sa.func.count(cost).label("traces"))
    return out


def _sql_number(table: sa.Table, source: SourceConfig, column: Any, caps: Dialect) -> Any:
    """A mapped field as a SQL double; a NaN stored in a float column is missing, as it reads
    in pandas (infinities are filtered out of the rows by `aggregate_window`)."""

    def number(name: str) -> sa.ColumnElement[Any]:
        return caps.as_number(column(table, source, name))

    return number


def _sketched_fields(
    table: sa.Table, source: SourceConfig, settings: MetricSettings, column: Any, caps: Dialect
) -> dict[str, sa.ColumnElement[Any]]:
    """The numeric fields whose quantile sketches the ops summary keeps, as SQL numbers."""
    number = _sql_number(table, source, column, caps)
    out: dict[str, sa.ColumnElement[Any]] = {}
    for field in ("latency_ms", "ttft_ms", "prompt_tokens", "completion_tokens"):
        if field in source.columns:
            out[field] = number(field)
    cost = _cost_expression(source, settings, lambda name: column(table, source, name), number)
    if cost is not None:
        out["cost_usd"] = cost
    return out


def sketch_buckets(
    conn: sa.Connection,
    labelled: list[Any],
    fields: dict[str, sa.ColumnElement[Any]],
    where: Any,
    release_width: int,
    cohort: CohortKey | None,
) -> dict[tuple[str, str], dict[str, Sketch]]:
    """(release, cohort) -> field -> sketch, bucketed by the warehouse: one GROUP BY on the
    DDSketch bucket key (`ceil(ln |x| / ln gamma)`, sign apart, zero apart) per field, so only
    bucket counts leave the database."""
    if not fields:
        return {}
    multiplier = sa.literal(key_multiplier(), sa.Double)
    tiny = sa.literal(SKETCH_MIN_VALUE, sa.Double)
    parts = []
    for name, x in fields.items():
        sign = sa.case((x >= tiny, 1), (x <= -tiny, -1), else_=0).label("sgn")
        bucket = sa.case(
            (sa.or_(x >= tiny, x <= -tiny), sa.func.ceil(sa.func.ln(sa.func.abs(x)) * multiplier)),
            else_=0,
        ).label("b")
        parts.append(
            sa.select(*labelled, sa.literal(name).label("f"), sign, bucket, sa.func.count())
            .where(where, x.isnot(None))
            .group_by(*labelled, sign, bucket)
        )
    collected: dict[tuple[str, str, str], tuple[dict[int, float], dict[int, float], list]] = {}
    width = len(labelled)
    for row in conn.execute(sa.union_all(*parts)):
        release = "@".join(label_text(row[i]) for i in range(release_width)) or "default"
        label = ALL_COHORTS
        if cohort is not None:
            label = cohort.label([row[release_width + i] for i in range(len(cohort.columns))])
        name, sign, key, count = row[width], int(row[width + 1]), row[width + 2], row[width + 3]
        positive, negative, zero = collected.setdefault((release, label, name), ({}, {}, [0.0]))
        if sign > 0:
            positive[int(key)] = positive.get(int(key), 0.0) + float(count)
        elif sign < 0:
            negative[int(key)] = negative.get(int(key), 0.0) + float(count)
        else:
            zero[0] += float(count)
    out: dict[tuple[str, str], dict[str, Sketch]] = {}
    for (release, label, name), (positive, negative, zero) in collected.items():
        out.setdefault((release, label), {})[name] = Sketch.from_keys(positive, negative, zero[0])
    return out


def _cost_expression(
    source: SourceConfig, settings: MetricSettings, col: Any, number: Any
) -> sa.ColumnElement[Any] | None:
    mapped = source.columns
    if "cost_usd" in mapped:
        return number("cost_usd")
    if not settings.prices or not {"model_version", "prompt_tokens", "completion_tokens"} <= set(
        mapped
    ):
        return None
    prompt = number("prompt_tokens")
    completion = number("completion_tokens")
    whens = [
        (col("model_version") == model, (prompt * p_in + completion * p_out) / 1_000_000)
        for model, (p_in, p_out) in sorted(settings.prices.items())
    ]
    return sa.case(*whens, else_=None)


def _row_to_aggregates(
    row: Any, release_width: int, cohort_key: CohortKey | None
) -> GroupAggregates:
    release = "@".join(label_text(row[f"k{i}"]) for i in range(release_width)) or "default"
    cohort = ALL_COHORTS
    if cohort_key is not None:
        width = len(cohort_key.columns)
        cohort = cohort_key.label([row[f"k{release_width + i}"] for i in range(width)])
    data: dict[str, Any] = {"release": release, "cohort": cohort, "n": int(row["n"])}
    for key in (
        "status_n",
        "errors",
        "fallback_n",
        "fallbacks",
        "retry_n",
        "retried",
        "feedback_n",
        "negative_feedback",
        "latency_n",
        "ttft_n",
        "prompt_tokens_n",
        "completion_tokens_n",
        "cost_n",
        "traces",
    ):
        if key in row:
            data[key] = int(row[key] or 0)
    for key in ("prompt_tokens_sum", "completion_tokens_sum", "cost_sum"):
        if key in row:
            data[key] = float(row[key] or 0.0)
    for prefix in ("latency", "ttft"):
        if row.get(f"{prefix}_n"):
            data[f"{prefix}_q"] = {name: float(row[f"{prefix}_{name}"]) for name in QUANTILES}
    return GroupAggregates(**data)


def normalize_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Same dtypes whatever the dialect: UTC timestamps, float numbers (a value that is not a
    number is NaN here; `Warehouse.read_window_checked` says which rows had one)."""
    _normalize(frame)
    return frame


def _normalize(frame: pd.DataFrame) -> np.ndarray:
    """`normalize_frame` in place; returns the rows with a value that is not a number."""
    for field in ("ts", "ingested_at"):
        if field in frame:
            moments = pd.to_datetime(frame[field], utc=True, errors="coerce")
            frame[field] = moments.astype("datetime64[ns, UTC]")
    not_numbers = np.zeros(len(frame), dtype=bool)
    for field in NUMERIC_FIELDS:
        if field in frame:
            numbers, bad = parse_numbers(frame[field])
            frame[field] = numbers
            not_numbers |= bad
    return not_numbers
