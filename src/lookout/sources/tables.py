"""The source table as the warehouse holds it: reflected columns and their types, and the
clauses every query shares (column, window, bound times); `table_checks` checks the config
against them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from lookout.config.models import SourceConfig
from lookout.errors import SourceError, database_error
from lookout.model.local_times import local_naive
from lookout.model.record import NUMERIC_FIELDS, TIME_FIELDS, epoch_bound, unit_factor
from lookout.sources.catalog_hints import lookup_schema, where_instead
from lookout.sources.column_types import sql_matches
from lookout.sources.connection import WarehouseConnection
from lookout.windows import Window, as_utc

__all__ = ["WarehouseTables"]

_INFINITIES = (float("inf"), float("-inf"))


class WarehouseTables(WarehouseConnection):
    """The connection, plus each source table reflected once and cached."""

    def table_columns(self, source: SourceConfig) -> dict[str, Any]:
        """Column name -> type, as queries read the table: its reflected columns, and each
        value inside a JSON column (`source.json_fields`) as a text column of its own name."""
        columns = self.reflected_columns(source)
        if not source.json_fields:
            return columns
        return {**columns, **{name: sa.String() for name in source.json_fields}}

    def reflected_columns(self, source: SourceConfig) -> dict[str, Any]:
        """Column name -> SQLAlchemy type of the source table, reflected once and cached."""
        key = (source.schema_, source.table)
        if key not in self._columns:
            try:
                inspector = sa.inspect(self.engine)
                schema = lookup_schema(inspector, self.capabilities, source.schema_)
                found = inspector.get_columns(source.table, schema=schema)
                found = self.capabilities.reflected(inspector, source.table, schema, found)
            except sa.exc.NoSuchTableError:
                found = []
            except sa.exc.SQLAlchemyError as exc:
                raise database_error(
                    exc,
                    f"warehouse {self.display_url}: cannot read table {source.table!r}",
                    SourceError,
                ) from None
            if not found:
                raise SourceError(self._not_found(source))
            read_as = self.capabilities.column_type
            self._columns[key] = {column["name"]: read_as(column["type"]) for column in found}
        return self._columns[key]

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
            column = self.stored_column(table, source, field)
            if isinstance(type_, sa.Float) and self.capabilities.stores_nan:
                out.append(column.in_([self.capabilities.special_float(v) for v in _INFINITIES]))
            elif (
                isinstance(type_, sa.Numeric)
                and not isinstance(type_, sa.Integer)
                and self.capabilities.decimal_infinity
            ):
                out.append(sa.cast(column, sa.Text).in_(("Infinity", "-Infinity")))
        return out

    def _not_found(self, source: SourceConfig) -> str:
        """`table 'x' not found: schema public holds a, b (did you mean x_v2?)`: a typo or a
        wrong schema in monitors.yml is fixed from the message (read from the catalog)."""
        where = f"{source.schema_}.{source.table}" if source.schema_ else source.table
        said = f"warehouse {self.display_url}: table {where!r} not found"
        try:
            inspector = sa.inspect(self.engine)
        except sa.exc.SQLAlchemyError:
            return said
        instead = where_instead(
            inspector,
            self.capabilities,
            source.table,
            source.schema_,
            lambda s, name: (
                f"set source.schema: {s}"
                + (f" and source.table: {name}" if name != source.table else "")
            ),
            no_schema_fix="name one in the URL, or set source.schema",
        )
        return f"{said}: {instead}"

    def table(self, source: SourceConfig) -> sa.Table:
        """One Table object per source, so every clause of a query refers to the same FROM."""
        key = (source.schema_, source.table)
        if key not in self._tables:
            columns = self.reflected_columns(source)
            self._tables[key] = sa.Table(
                source.table,
                sa.MetaData(),
                *(sa.Column(name, type_) for name, type_ in columns.items()),
                schema=source.schema_,
            )
        return self._tables[key]

    def bind_time(
        self, source: SourceConfig, field: str, moment: datetime, *, down: bool = False
    ) -> datetime | int:
        """`moment` as the time column compares with it: a timestamp column without a zone holds
        wall times in `source.timezone` (UTC by default: bind naive wall time there, aware UTC
        elsewhere); an epoch column (`units: {ts: epoch_ms}`)
        an integer in its unit, so the raw column is compared and its index or partitions
        still prune. Rounded up for `>=` and `<`; `down` for `>`."""
        unit = source.epoch_unit(field)
        if unit is not None:
            return epoch_bound(moment, unit, down=down)
        column_type = self.table_columns(source)[source.columns[field]]
        if getattr(column_type, "timezone", False):
            return as_utc(moment)
        return local_naive(moment, source.zone)

    def time_compared(
        self,
        source: SourceConfig,
        field: str,
        column: sa.ColumnElement[Any],
        op: str,
        moment: datetime,
    ) -> sa.ColumnElement[bool]:
        """`column <op> moment` for a time field (`>=`, `<`, `>` or `<=`), bound as the column
        compares (`bind_time`), as the engine must compare it (`Dialect.time_compared`)."""
        bound = self.bind_time(source, field, moment, down=op in (">", "<="))
        return self.capabilities.time_compared(column, op, bound, as_utc(moment))

    def stored_column(
        self, table: sa.Table, source: SourceConfig, name: str
    ) -> sa.ColumnElement[Any]:
        """The table column a canonical field (or a cohort column) is mapped to, as stored:
        for what asks how a value is stored (its type, text in a numeric column, infinity).
        A value inside a JSON column (`source.json_fields`) is extracted as text here, once
        for every query (reads, pushdown, validation batches, drift, cohorts, row filters)."""
        column = source.columns.get(name, name)
        inside = source.json_path(column)
        if inside is not None:
            document, keys = inside
            extracted = self.capabilities.json_text(table.c[document], keys)
            return sa.type_coerce(extracted, sa.String)
        return table.c[column]

    def column(self, table: sa.Table, source: SourceConfig, name: str) -> sa.ColumnElement[Any]:
        """A canonical field (or a cohort column) as every query reads its values: the mapped
        column, a duration in milliseconds and a cost in US dollars whatever unit the column
        logs (`source.units`: `duration_s * 1000`, `cost_micro_usd / 1000000`). The one place
        a field becomes a column expression, so window reads, validation batches, pushdown
        metrics and drift all see the same milliseconds and dollars. A duration the table
        implies by two times (`source.durations`) is computed here too. A time is the
        column as stored: an epoch number (`units: {ts: epoch_ms}`) is compared with integer
        bounds (`bind_time`) and becomes a timestamp after the read (`normalize_numbers`).

        A product is exact in the column's type; a quotient is taken of the value as a double,
        because MySQL and MariaDB divide integers to 4 decimals (`div_precision_increment`):
        108 micro-dollars would read as $0.0001. A value stored as something else than a
        number (SQLite keeps text in any column) is passed as stored, for `parse_numbers` to
        judge (`'12ms' * 1000` would read as 12000).
        """
        if name == "is_fallback" and source.fallback_from_status:
            return self._fallback_from_status(table, source)
        elapsed = source.durations.get(name)
        if elapsed is not None:
            start, end = table.c[elapsed.start], table.c[elapsed.end]
            return sa.type_coerce(self.capabilities.milliseconds_between(start, end), sa.Double)
        stored = self.stored_column(table, source, name)
        if name in TIME_FIELDS:
            return stored
        unit = source.unit(name)
        times, divisor = unit_factor(unit) if unit is not None else (1, 1)
        if times == divisor == 1:
            return stored
        converted: sa.ColumnElement[Any] = stored * times if times != 1 else stored
        if divisor != 1:
            converted = self.capabilities.as_double(converted) / divisor
        number = self.capabilities.stored_as_number(stored)
        if number is not None:
            converted = sa.case((number, converted), else_=stored)
        # read as a double: a decimal's scale (NUMERIC(10, 0) in microseconds) is not the ms'
        return sa.type_coerce(converted, sa.Double)

    def _fallback_from_status(self, table: sa.Table, source: SourceConfig) -> Any:
        """`is_fallback` of a table that says "a fallback answered" in its status column
        (`FALLBACK_RULES`): true for those values, false for the others, NULL without one
        (false where a NULL status is a success: `null_status: ok`)."""
        status = self.column(table, source, "status")
        type_ = self.table_columns(source)[source.columns["status"]]
        fallback = sql_matches(
            status, type_, source.fallback_statuses, as_text=self.capabilities.as_text
        )
        unlogged = sa.false() if source.null_status == "ok" else sa.null()
        flag = sa.case((status.is_(None), unlogged), (fallback, sa.true()), else_=sa.false())
        return sa.type_coerce(flag, sa.Boolean)

    def in_window(self, table: sa.Table, source: SourceConfig, window: Window) -> Any:
        """The condition that a row is monitored (`kept_rows`) and its event time is inside
        `window` (bound as the column is)."""
        return sa.and_(self.in_period(table, source, window), *self.kept_rows(table, source))

    def in_period(self, table: sa.Table, source: SourceConfig, window: Window) -> Any:
        """The condition that a row's event time is inside `window`, whether the monitor
        keeps the row or not."""
        ts = self.column(table, source, "ts")
        return sa.and_(
            self.time_compared(source, "ts", ts, ">=", window.start),
            self.time_compared(source, "ts", ts, "<", window.end),
        )

    def kept_rows(self, table: sa.Table, source: SourceConfig) -> list[Any]:
        """The conditions of `source.where` and `where_not`: the rows this monitor watches in
        a table other traffic shares. Part of every window's condition, so no query (read,
        pushdown, validation batch, drift summary, cohort ranking) sees the others. Values are
        typed for their column, as status values are; a NULL is kept by `where_not` and left
        out by `where`, unless `null` is one of the values."""
        columns = self.table_columns(source)
        out: list[Any] = []
        for negate, kept in ((False, source.where), (True, source.where_not)):
            for name, values in kept.items():
                column = self.column(table, source, name)
                type_ = columns.get(source.columns.get(name, name))
                present = [v for v in values if v is not None]
                match = (
                    sql_matches(column, type_, present, as_text=self.capabilities.as_text)
                    if present
                    else sa.false()
                )
                if len(present) < len(values):  # `null` listed: NULL is one of the values
                    match = sa.or_(column.is_(None), match)
                    out.append(sa.not_(match) if negate else match)
                else:
                    out.append(sa.or_(column.is_(None), sa.not_(match)) if negate else match)
        return out
