"""What the validation stage asks of the warehouse: each release's rows as SQL text for a GX
query asset, records no window selects (unreadable event time), and values that may not be
numbers."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pandas as pd
import sqlalchemy as sa

from lookout.config.models import Monitor, SourceConfig
from lookout.errors import SourceError, database_error
from lookout.model.aggregates import label_text
from lookout.model.record import NUMERIC_FIELDS
from lookout.sources.window_reads import WindowReads
from lookout.windows import Window

__all__ = ["ValidationReads"]


# Per thread (windows run in threads of one process): the release values asked for within the
# window run under way (`holding_release_values`), by warehouse, monitor and window.
_HELD = threading.local()


class ValidationReads(WindowReads):
    """The validation stage's queries (GX query assets, quarantine candidates)."""

    @contextmanager
    def holding_release_values(self) -> Iterator[None]:
        """Within: a window's release values are asked of the warehouse once, however many
        stages need them (validation and metrics weigh the window's size by them, drift
        batches by them): one GROUP BY over the window's rows instead of three, and every
        stage of the run sees the same releases. Outside, every call asks again (a re-run of
        a window sees the rows that arrived since)."""
        before = getattr(_HELD, "releases", None)
        _HELD.releases = {}
        try:
            yield
        finally:
            _HELD.releases = before

    def naive_times(self, source: SourceConfig, field: str = "ts") -> bool:
        """Does `field`'s column hold timestamps without a zone (wall times in
        `source.timezone`, UTC by default)? A field that is no column of the table (computed,
        inside JSON) is judged by `ts`."""
        column = source.columns.get(field, source.columns["ts"])
        column_type = self.table_columns(source).get(column)
        if column_type is None:
            column_type = self.table_columns(source)[source.columns["ts"]]
        return not getattr(column_type, "timezone", False)

    def release_values(
        self, monitor: Monitor, window: Window
    ) -> list[tuple[str, tuple[Any, ...], int]]:
        """(release label, raw release values, rows) of every release in the window."""
        held = getattr(_HELD, "releases", None)
        key = (id(self), monitor.name, monitor.source.reading, window)
        if held is not None and key in held:
            return list(held[key])
        out = self._release_values(monitor, window)
        if held is not None:
            held[key] = out
        return list(out)

    def _release_values(
        self, monitor: Monitor, window: Window
    ) -> list[tuple[str, tuple[Any, ...], int]]:
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
        read (text that is not a date, a bare number) counts as unreadable too; in an epoch
        column (`units: {ts: epoch_ms}`), a value stored as something else than a number.
        """
        source = monitor.source
        wanted = [f for f in fields if source.selectable(f)]
        if "ingested_at" not in source.columns:
            return pd.DataFrame(columns=wanted)
        table = self.table(source)
        ts = self.column(table, source, "ts")
        ingested = self.column(table, source, "ingested_at")
        unreadable: Any = ts.is_(None)
        garbled = (
            self.capabilities.stored_not_number(ts)
            if source.epoch_unit("ts") is not None
            else self.capabilities.unreadable_time(ts)
        )
        if garbled is not None:
            unreadable = sa.or_(unreadable, garbled)
        query = (
            sa.select(*(self.column(table, source, f).label(f) for f in wanted))
            .where(
                self.time_compared(source, "ingested_at", ingested, ">=", window.start),
                self.time_compared(source, "ingested_at", ingested, "<", window.end),
                unreadable,
                *self.kept_rows(table, source),
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
            self.capabilities.stored_not_number(self.stored_column(table, source, f))
            for f in numeric
        ]
        suspects: list[Any] = [condition for condition in stored if condition is not None]
        if not suspects:  # the column's type says what it holds
            loose = self.loose_numeric_fields(source)
            suspects += [self.stored_column(table, source, f).isnot(None) for f in sorted(loose)]
            suspects += self._infinities(table, source)
        if not suspects:
            return pd.DataFrame(columns=[*wanted, *numeric])
        query = (
            sa.select(*(self.column(table, source, f).label(f) for f in [*wanted, *numeric]))
            .where(self.in_window(table, source, window), sa.or_(*suspects))
            .order_by(self.column(table, source, "record_id"), self.column(table, source, "ts"))
        )
        return self.fetch_frame(query)
