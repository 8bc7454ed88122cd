"""Read a monitor's window as canonical fields (never `SELECT *`), normalised to the same
dtypes whatever the dialect; and which windows received rows late."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from lookout.config.models import Monitor, SourceConfig
from lookout.errors import SourceError, database_error
from lookout.model.local_times import times_as_utc
from lookout.model.record import NUMERIC_FIELDS, TEXT_FIELDS, TIME_FIELDS, from_epoch, parse_numbers
from lookout.sources.tables import WarehouseTables
from lookout.windows import Window, as_utc

__all__ = ["WindowReads", "epoch_units", "metric_fields", "normalize_frame", "normalize_numbers"]


def metric_fields(source: SourceConfig) -> list[str]:
    """Mapped canonical fields the ops metrics need: everything but the long text columns."""
    return [field for field in source.fields if field not in TEXT_FIELDS]


class WindowReads(WarehouseTables):
    """The window queries every stage starts from."""

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
        not_numbers = normalize_numbers(frame, epoch_units(monitor.source), monitor.source.zone)
        return frame, not_numbers

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
            self.time_compared(source, "ts", ts, ">=", first.start),
            self.time_compared(source, "ts", ts, "<", frontier),
            *self.kept_rows(table, source),  # another service's late rows re-run nothing
        ]
        # Rows newer than what a window saw, or any row at all in a window that was empty.
        seen = [moment for moment in processed.values() if moment is not None]
        newer: list[Any] = []
        if seen:
            newer.append(self.time_compared(source, "ingested_at", ingested, ">", min(seen)))
        for window, high in processed.items():
            if high is None:
                newer.append(self.in_window(table, source, window))
        query = sa.select(ts.label("ts"), ingested.label("ingested_at")).where(
            *in_lookback, sa.or_(*newer)
        )
        rows = normalize_frame(self.fetch_frame(query), epoch_units(source), source.zone)
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
        if value is None:
            return None
        unit = source.epoch_unit("ingested_at")
        read = pd.Series([value])
        moment = times_as_utc(read, source.zone)[0] if unit is None else from_epoch(read, unit)[0]
        return None if pd.isna(moment) else as_utc(moment.to_pydatetime())

    def max_ingested(self, frame: pd.DataFrame) -> datetime | None:
        if "ingested_at" not in frame or frame["ingested_at"].dropna().empty:
            return None
        return frame["ingested_at"].max().to_pydatetime()


def epoch_units(source: SourceConfig) -> dict[str, str]:
    """Time field -> its epoch unit, for the time fields whose column logs a Unix epoch."""
    return {f: u for f in TIME_FIELDS if (u := source.epoch_unit(f)) is not None}


def normalize_frame(
    frame: pd.DataFrame, epochs: Mapping[str, str], zone: tzinfo = UTC
) -> pd.DataFrame:
    """Same dtypes whatever the dialect: UTC timestamps, float numbers (a value that is not a
    number is NaN here; `Warehouse.read_window_checked` says which rows had one). `epochs`:
    the time fields read as epoch numbers, and their units (`epoch_units`; required, so no
    read of the source's rows can leave its times as numbers); `zone`: the one timestamps
    without a zone are written in (`source.zone`)."""
    normalize_numbers(frame, epochs, zone)
    return frame


def normalize_numbers(
    frame: pd.DataFrame, epochs: Mapping[str, str], zone: tzinfo = UTC
) -> np.ndarray:
    """`normalize_frame` in place; returns the rows with a value that is not a number.

    An epoch time becomes a timestamp here, after SQL, not in it: pandas' conversion of the
    integer is exact on every engine (nanoseconds in int64), where SQL would need one function
    per engine, some rounding through a double (`to_timestamp`), one depending on the
    session's time zone (MySQL's `FROM_UNIXTIME`), and none at all on the generic path."""
    for field in TIME_FIELDS:
        if field in frame:
            if field in epochs:
                frame[field] = from_epoch(frame[field], epochs[field])
                continue
            frame[field] = times_as_utc(frame[field], zone)
    not_numbers = np.zeros(len(frame), dtype=bool)
    for field in NUMERIC_FIELDS:
        if field in frame:
            numbers, bad = parse_numbers(frame[field])
            frame[field] = numbers
            not_numbers |= bad
    return not_numbers
