"""The bounded reads of `lookout init`: event times for the traffic, and the newest day's rows.

Event times: a page sample on PostgreSQL (`TABLESAMPLE SYSTEM`, at most `TS_PAGES` pages) and
a vector sample on DuckDB (`TABLESAMPLE`, at most `TS_VECTORS` vectors of 2,048 rows), the
newest `NEWEST_ROWS` rows by `rowid` on SQLite and by an index on the event time elsewhere
(without one, the first rows the database returns, said so); the rate is taken over the newest
day, or the shortest newer period the sample covers with enough pages or vectors to be steady.
Then up to `SAMPLE_ROWS` rows of the newest day with every column, text cut to `TEXT_CHARS`
characters; the day's bound is in the query, before its LIMIT, on every path (a view or a table
without an index on the event time returns its rows in no useful order).
`lookout.services.init_table` reflects the table and picks the event time first.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import sqlalchemy as sa

from lookout.dialects import Dialect
from lookout.model.record import epoch_bound
from lookout.services.init_columns import TEXT_CHARS, ColumnInfo
from lookout.services.init_engine import InitError
from lookout.services.init_epochs import sample_times
from lookout.services.init_traffic import Traffic

__all__ = [
    "DETAIL_PAGES",
    "DETAIL_ROWS",
    "DUCKDB_VECTOR",
    "NEWEST_ROWS",
    "SAMPLE_ROWS",
    "TEXT_CHARS",
    "TS_PAGES",
    "TS_VECTORS",
    "SampleReader",
    "frame_of",
    "selected_columns",
]

NEWEST_ROWS = 50_000  # event times read newest first (SQLite, views, other dialects)
SAMPLE_ROWS = 5_000
TS_PAGES = 2_000  # PostgreSQL pages (8 kB each by default) sampled for the event times
TS_VECTORS = 100  # DuckDB vectors (2,048 rows each) sampled for the event times
DUCKDB_VECTOR = 2_048
STEADY_CLUSTERS = 30  # sampled pages or vectors a period needs for its rate (~±20%)
_PERIODS = tuple(timedelta(days=d) for d in (1, 2, 4, 7, 14, 30, 60, 120, 365))
DETAIL_PAGES = 20_000  # PostgreSQL pages sampled at most for the newest day's rows
DETAIL_ROWS = 2_000_000  # DuckDB rows sampled at most for the newest day's rows
DAY = timedelta(days=1)
# event times past now by more than any zone's offset (Kiribati, +14): a client's clock or a bad
# default, left out of the traffic and the sample (one row of 2027 made a table's newest day)
FUTURE = timedelta(hours=14, minutes=15)
FUTURE_PEEK = 1_000  # newest rows read unbounded, to count the future ones for the note


def selected_columns(handle: sa.Table, infos: Sequence[ColumnInfo]) -> list[Any]:
    """Every column, text cut to TEXT_CHARS characters (memory stays bounded)."""
    out = []
    for info in infos:
        column = handle.c[info.name]
        typed_text = isinstance(column.type, sa.String) and not isinstance(column.type, sa.Enum)
        if info.kind == "other" or (info.kind == "text" and not typed_text):
            # JSON, arrays, UUIDs, untyped, and enums (PostgreSQL has no substr of an ENUM
            # type: init failed on a table whose status was one): as text
            column = sa.cast(column, sa.Text)
        if info.kind in ("text", "other"):
            out.append(sa.func.substr(column, 1, TEXT_CHARS).label(info.name))
        else:
            out.append(column.label(info.name))
    return out


def frame_of(result: Any) -> pd.DataFrame:
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


class SampleReader:
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
        epoch: str | None = None,
        now: datetime | None = None,
    ) -> None:
        self.conn, self.handle, self.infos, self.ts = conn, handle, infos, ts
        self.caps, self.is_view, self.ts_indexed = caps, is_view, ts_indexed
        self.epoch = epoch  # the event time's epoch unit, for an integer column of them
        self.dialect = conn.dialect.name  # for the words in the proposal
        self.latest = pd.Timestamp((now or datetime.now(UTC)) + FUTURE)  # read no later
        self.future: pd.Series = pd.Series([], dtype="datetime64[ns, UTC]")

    def _utc(self, values: pd.Series) -> pd.Series:
        """Event times read as UTC timestamps (epoch numbers in their unit), none missing,
        none in the future (kept apart in `future`, for the proposal's note)."""
        times = sample_times(values, self.epoch).dropna()
        ahead = times > self.latest
        if ahead.any():
            self.future = times[ahead]
        return times[~ahead]

    def _traffic(self, **fields: Any) -> Traffic:
        return Traffic(
            **fields,
            future_rows=len(self.future),
            future_newest=self.future.max().to_pydatetime() if len(self.future) else None,
        )

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
        times = self._utc(self._times(fraction))
        if times.empty:
            return self._newest()
        estimate = len(times) / fraction if unit == "pages" else size
        newest = times.max()
        per_cluster = len(times) / max(1.0, fraction * units)  # rows a sampled page holds
        rate, period = _rate(times, fraction, per_cluster if fraction < 1 else 1.0)
        traffic = self._traffic(
            rows_per_hour=rate,
            newest=newest.to_pydatetime(),
            rows_estimate=int(estimate),
            timestamps_read=len(times),
            method=self._method(fraction, unit),
            period=period,
            rows_exact=unit != "pages" or fraction >= 1.0,  # DuckDB's count is metadata
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
            sa.select(*selected_columns(source, self.infos))
            .where(self._compared(source.c[self.ts], ">", newest - DAY))
            .where(self._compared(source.c[self.ts], "<=", self.latest))
            .order_by(sa.func.random())  # any of the sampled rows, not the first pages'
            .limit(SAMPLE_ROWS)
        )
        return frame_of(self.conn.execute(query))

    def _method(self, fraction: float, unit: str) -> str:
        if fraction >= 1.0:
            return f"every event time: a small table ({self.dialect})"
        what = "pages" if unit == "pages" else "2,048-row vectors"
        return f"TABLESAMPLE SYSTEM {fraction:.4%} of its {what} ({self.dialect})"

    # -- newest rows (SQLite, views, other dialects) ----------------------------------------

    def _newest(self) -> tuple[Traffic, pd.DataFrame]:
        order, estimate, method = self._order()
        if order is not None:  # the newest rows first: future ones, if any, lead (the note)
            peek = sa.select(self.handle.c[self.ts]).order_by(order).limit(FUTURE_PEEK)
            self._utc(pd.Series(self.conn.execute(peek).scalars().all(), dtype=object))
        # bounded above in the query: 50,000 rows dated 9999-12-31 read newest first would be
        # every row read, and none left to propose from
        query = sa.select(self.handle.c[self.ts]).where(
            self._compared(self.handle.c[self.ts], "<=", self.latest)
        )
        if order is not None:
            query = query.order_by(order)
        times_raw = self.conn.execute(query.limit(NEWEST_ROWS)).scalars().all()
        times = self._utc(pd.Series(times_raw, dtype=object))
        if times.empty:
            raise InitError(f"no row of {self.handle.name!r} has a readable {self.ts}")
        newest = times.max()
        rate, period = _rate(times, 1.0, 1.0)
        every = len(times_raw) < NEWEST_ROWS  # fewer than asked for: every row, in any order
        if order is None and not every and (counted := self._newest_by_max()) is not None:
            newest, rate, period = counted
            method = (
                f"the newest event time by max({self.ts}) (no order reads the newest rows first: "
                "a view, no index), the rows of the day before it counted, then rows within "
                f"that day, filtered on {self.ts} in the query"
            )
        sample = self._newest_day(order, newest)
        if every and order is None:  # not "may not be the newest": there is nothing newer
            method = (
                f"every event time, {len(times_raw):,} rows (fewer than the {NEWEST_ROWS:,} it "
                f"reads at most), then rows within a day of the newest of them, filtered on "
                f"{self.ts} in the query"
            )
        traffic = self._traffic(
            rows_per_hour=rate,
            newest=newest.to_pydatetime(),
            rows_estimate=len(times_raw) if every else estimate,
            timestamps_read=len(times),
            method=method,
            period=period,
            rows_exact=every,
        )
        return traffic, sample

    def _newest_by_max(self) -> tuple[pd.Timestamp, float, timedelta] | None:
        """The newest event time and the rows per hour of the day before it, by two aggregate
        queries, where the first rows read follow the storage order: a view over a table
        filled oldest first gave a trial the oldest 50,000 rows, a rate 2.4x too low and a
        'newest day' four days old, with an incident in it."""
        ts = self.handle.c[self.ts]
        bounded = self._compared(ts, "<=", self.latest)
        top = self.conn.execute(sa.select(sa.func.max(ts)).where(bounded)).scalar()
        found = sample_times(pd.Series([top], dtype=object), self.epoch).dropna()
        if found.empty:
            return None
        newest = found.iloc[0]
        rows = self.conn.execute(
            sa.select(sa.func.count()).where(bounded, self._compared(ts, ">", newest - DAY))
        ).scalar()
        return newest, float(rows or 0) / 24.0, DAY

    def _newest_day(self, order: Any, newest: pd.Timestamp) -> pd.DataFrame:
        """Up to SAMPLE_ROWS rows newer than `newest` less a day. The bound is in the SQL,
        before the LIMIT: without an order (a view, no index on the event time) the first
        rows the database returns may all be older, and filtering them afterwards left none.
        Without an order the day's rows are shuffled: the first ones follow the storage
        order (a ClickHouse table sorted by `type` gave a sample of one type; trial J)."""
        ts = self.handle.c[self.ts]
        detail = sa.select(*selected_columns(self.handle, self.infos)).where(
            self._compared(ts, ">", newest - DAY), self._compared(ts, "<=", self.latest)
        )
        detail = detail.order_by(order if order is not None else self.caps.random_order())
        sample = frame_of(self.conn.execute(detail.limit(SAMPLE_ROWS)))
        moments = sample_times(sample[self.ts], self.epoch)
        kept = (moments > newest - DAY) & (moments <= self.latest)
        return sample[kept].reset_index(drop=True)  # times kept as stored

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
            f"the first event times {self.dialect} returns (no sampling here and no index on "
            f"{self.ts}: may not be the newest), then rows within a day of the newest of them, "
            f"filtered on {self.ts} in the query",
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
                sa.select(*selected_columns(self.handle, self.infos))
                .where(self._compared(ts, ">", start), self._compared(ts, "<=", end))
                .order_by(ts.desc())
                .limit(per_hour)
            )
            frames.append(frame_of(self.conn.execute(query)))
        found = [f for f in frames if not f.empty]
        if not found:
            return frames[0]
        with warnings.catch_warnings():
            # an hour whose sampled rows hold a column only as NULLs: pandas warns that it will
            # keep that column's dtype in future, the first line init printed to a new user
            warnings.filterwarnings(
                "ignore", "The behavior of DataFrame concatenation", FutureWarning
            )
            return pd.concat(found, ignore_index=True)

    def _compared(self, column: Any, op: str, moment: pd.Timestamp) -> Any:
        """`column <op> moment`, as the engine compares a stored time (SQLite's ISO text with a
        `T` or an offset: `Dialect.time_compared`)."""
        return self.caps.time_compared(column, op, self._bound(moment))

    def _bound(self, moment: pd.Timestamp) -> Any:
        """A time bound typed like the column: naive UTC for naive columns, an integer for
        epoch numbers (used in `>` and `<=` bounds: rounded down)."""
        info = next(i for i in self.infos if i.name == self.ts)
        value = moment.to_pydatetime()
        if self.epoch is not None:
            return epoch_bound(value, self.epoch, down=True)
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
