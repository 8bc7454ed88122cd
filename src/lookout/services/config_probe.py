"""What a monitor's newest rows read as under its config, for `validate-config
--check-warehouse`: a mapping that loads and whose columns type-check can still read nonsense,
and then every run succeeds on it.

Trials on unseen tables met each of these, with `validate-config` saying "ok":
- a `where` value spelled otherwise than the rows write it (`production` for `prod`), or an
  epoch unit 1000x off: every window read 0 rows, silently;
- a table whose newest row is a week old: the first runs read empty windows and said only
  "0 rows";
- `ok_statuses` that match no value the rows hold (`[default, debug]` for `DEFAULT`, or none
  set on a `level` column): 100% errors, and an error alert that never resolves;
- a duration or cost unit off by a factor (`micro_usd` on dollars: 8e-09 USD a request).

The last day's rows the monitor keeps are read once, at most `PROBE_ROWS` of them, through the
same window query and the same aggregation as a run; the checks only warn: a real table may be
quiet, or fail that much.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd
import sqlalchemy as sa

from lookout.checks.metrics import aggregate_frame
from lookout.core.durations import format_duration
from lookout.errors import SourceError, database_error
from lookout.model.aggregates import as_labels
from lookout.sources.window_reads import epoch_units, normalize_frame, normalize_numbers
from lookout.stages.ops.stage import metric_settings
from lookout.windows import Window

if TYPE_CHECKING:
    from lookout.config.models import Monitor, SourceConfig
    from lookout.sources.warehouse import Warehouse

__all__ = ["PROBE_ROWS", "RECENT", "implausible_rows"]

RECENT = timedelta(days=1)  # the rows a new monitor's first runs read
PROBE_ROWS = 2_000
MIN_ROWS = 20  # rows a share or a median is judged on
ERROR_SHARE = 0.5  # of the rows, read as errors: more likely a wrong ok_statuses
LATENCY_MS = (0.01, 600_000.0)  # a median latency outside this is a unit off, not a request
COST_USD = (1e-7, 10.0)  # a mean cost per request outside this is a unit off
_SHOWN = 5
_STEP = timedelta(microseconds=1)  # a day's window ends just after its newest row


def implausible_rows(
    warehouse: Warehouse, monitor: Monitor, where: str, now: datetime
) -> list[str]:
    """Warnings about what the newest day's rows read as (none: nothing looks off)."""
    source = monitor.source
    table = warehouse.table(source)
    at = f"monitors.yml: {where}.source"
    newest = _newest(warehouse, source, table, now, at, kept=True)
    if newest is None:  # none before tomorrow: all in the future, or read in the wrong unit
        newest = _newest(warehouse, source, table, None, at, kept=True)
    if newest is None:
        return _none_kept(warehouse, source, table, now, at)
    if pd.isna(newest) or newest.year < 2000 or newest > pd.Timestamp(now + RECENT):
        read = "beyond the year 2262" if pd.isna(newest) else f"{newest:%Y-%m-%d %H:%M} UTC"
        return [
            f"{at}.units.ts: the newest event time reads as {read}: check the unit its column "
            f"logs (units: {{ts: epoch_s | epoch_ms | epoch_us | epoch_ns}}, now "
            f"{source.epoch_unit('ts') or 'a timestamp'})"
        ]
    out = []
    if (age := now - newest.to_pydatetime()) > RECENT:
        out.append(
            f"{at}: the newest row is from {newest:%Y-%m-%d %H:%M} UTC, {_age(age)} ago: "
            "runs read "
            "empty windows (and no_data alerts) until rows arrive; to process the rows the "
            "table holds, set window.start before it, or run lookout backfill"
        )
    day = Window(newest.to_pydatetime() - RECENT, newest.to_pydatetime() + _STEP)
    query = warehouse.window_query(monitor, day, cohorts=False).limit(PROBE_ROWS)
    frame = _read(warehouse, query, at)
    normalize_numbers(frame, epoch_units(source), source.zone)
    settings = metric_settings(monitor, warehouse)
    [whole] = [a for a in aggregate_frame(frame, [], [], settings) if a.cohort == "*"]
    if whole.status_n >= MIN_ROWS and whole.errors / whole.status_n >= ERROR_SHARE:
        out.append(
            f"{at}.ok_statuses: {whole.errors / whole.status_n:.0%} of the {whole.status_n:,} "
            f"rows read from the newest day are errors with ok_statuses "
            f"{list(source.ok_values)}; the statuses they hold: {_top(frame['status'])}. "
            "List every value that means ok, or every error rule fires for good"
        )
    median = whole.latency_q.get("p50")
    if whole.latency_n >= MIN_ROWS and median is not None and not _inside(median, LATENCY_MS):
        out.append(
            f"{at}.units.latency_ms: the median latency of the newest day's rows reads as "
            f"{median:,.6g} ms: check the unit its column logs "
            f"(units: {{latency_ms: s | ms | us | ns}}, now {source.unit('latency_ms')})"
        )
    if whole.cost_n >= MIN_ROWS and not _inside(whole.cost_sum / whole.cost_n, COST_USD):
        out.append(
            f"{at}.units.cost_usd: the mean cost of the newest day's requests reads as "
            f"{whole.cost_sum / whole.cost_n:.3g} USD: check the unit its column logs "
            f"(units: {{cost_usd: usd | cents | micro_usd | nano_usd}}, now "
            f"{source.unit('cost_usd')})"
        )
    return out


def _newest(
    warehouse: Warehouse,
    source: SourceConfig,
    table: sa.Table,
    now: datetime | None,
    at: str,
    *,
    kept: bool,
) -> pd.Timestamp | None:
    """The newest event time before `now` + `RECENT` (a row dated in 2027 is no newest day;
    `now` None: any), of the rows the monitor keeps (or of all); NaT when it cannot be read
    as a time; None when there is no such row."""
    ts = warehouse.column(table, source, "ts")
    conditions = [] if now is None else [ts < warehouse.bind_time(source, "ts", now + RECENT)]
    if kept:
        conditions += warehouse.kept_rows(table, source)
    frame = _read(warehouse, sa.select(sa.func.max(ts).label("ts")).where(*conditions), at)
    if frame.empty or frame["ts"].isna().all():
        return None
    return normalize_frame(frame, epoch_units(source), source.zone)["ts"].iloc[0]


def _none_kept(
    warehouse: Warehouse, source: SourceConfig, table: sa.Table, now: datetime, at: str
) -> list[str]:
    """Why no row is kept: the table is empty, or its `where` keeps none of the rows of the
    table's newest day (a value spelled otherwise than the rows write it), with the values
    they hold."""
    filtered = bool(source.where or source.where_not)
    newest = _newest(warehouse, source, table, now, at, kept=False) if filtered else None
    if newest is None or pd.isna(newest):
        which = " that where/where_not keeps" if filtered else ""
        return [f"{at}: the table holds no row{which}: every window reads 0 rows"]
    day = Window(newest.to_pydatetime() - RECENT, newest.to_pydatetime() + _STEP)
    bounds = warehouse.in_period(table, source, day)
    there = _count(warehouse, bounds, at)
    held = "; ".join(
        f"{name} holds {_top(_column_values(warehouse, source, table, name, bounds, at))}"
        for name in (*source.where, *source.where_not)
    )
    return [
        f"{at}.where: none of the rows passes where/where_not ({_filters(source)}): every "
        f"window reads 0 rows. In the table's newest day ({there:,} rows read) {held}"
    ]


def _age(age: timedelta) -> str:
    if age >= 2 * RECENT:
        return f"{age // RECENT} days"
    return format_duration(timedelta(hours=age // timedelta(hours=1)))


def _filters(source: SourceConfig) -> str:
    kept = [f"{name} in {list(values)}" for name, values in source.where.items()]
    kept += [f"{name} not in {list(values)}" for name, values in source.where_not.items()]
    return ", ".join(kept)


def _column_values(
    warehouse: Warehouse, source: SourceConfig, table: sa.Table, name: str, bounds: Any, at: str
) -> pd.Series:
    column = warehouse.column(table, source, name)
    query = sa.select(column.label("value")).where(bounds).limit(PROBE_ROWS)
    return _read(warehouse, query, at)["value"]


def _top(values: pd.Series) -> str:
    """`DEFAULT (88%), WARNING (5%)`: the most frequent values and their shares."""
    counts = as_labels(values).value_counts()
    total = int(counts.sum()) or 1
    shown = [f"{value} ({n / total:.0%})" for value, n in counts.head(_SHOWN).items()]
    more = f" and {len(counts) - _SHOWN} more" if len(counts) > _SHOWN else ""
    return ", ".join(shown) + more if shown else "no value"


def _inside(value: float, bounds: tuple[float, float]) -> bool:
    return value == 0 or bounds[0] <= abs(value) <= bounds[1]


def _count(warehouse: Warehouse, condition: Any, at: str) -> int:
    table_query = sa.select(sa.literal(1).label("one")).where(condition).limit(PROBE_ROWS)
    sample = table_query.subquery()
    query = sa.select(sa.func.count()).select_from(sample)
    try:
        with warehouse.engine.connect() as conn:
            return int(conn.execute(query).scalar() or 0)
    except sa.exc.SQLAlchemyError as exc:
        raise database_error(exc, f"{at}: cannot be read", SourceError) from None


def _read(warehouse: Warehouse, query: sa.Select[Any], at: str) -> pd.DataFrame:
    try:
        return warehouse.fetch_frame(query)
    except SourceError:
        raise
    except sa.exc.SQLAlchemyError as exc:
        raise database_error(exc, f"{at}: cannot be read", SourceError) from None
