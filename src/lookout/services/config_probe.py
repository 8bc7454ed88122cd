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
from lookout.services.init_mapping import named_duration_unit
from lookout.sources.column_types import sql_matches
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
    out = _named_units(source, at)
    newest = _newest(warehouse, source, table, now, kept=True)
    if newest is None:  # none before tomorrow: all in the future, or read in the wrong unit
        newest = _newest(warehouse, source, table, None, kept=True)
    if newest is None:
        return out + _none_kept(warehouse, source, table, now, at)
    if pd.isna(newest) or newest.year < 2000 or newest > pd.Timestamp(now + RECENT):
        read = "beyond the year 2262" if pd.isna(newest) else f"{newest:%Y-%m-%d %H:%M} UTC"
        out.append(
            f"{at}.units.ts: the newest event time reads as {read}: check the unit its column "
            f"logs (units: {{ts: epoch_s | epoch_ms | epoch_us | epoch_ns}}, now "
            f"{source.epoch_unit('ts') or 'a timestamp'})"
        )
        return out
    moment = newest.floor("us").to_pydatetime()
    if (age := now - moment) > RECENT:
        started = monitor.window.start is not None and monitor.window.start <= moment
        hint = "" if started else "set window.start before it, or "
        out.append(
            f"{at}: the newest row is from {newest:%Y-%m-%d %H:%M} UTC, {_age(age)} ago: runs "
            "read empty windows (and no_data alerts) until rows arrive; to process the rows "
            f"the table holds, {hint}run lookout backfill"
        )
    day = Window(moment - RECENT, moment + _STEP)
    out += _unmatched_filters(warehouse, source, table, day, at)
    query = warehouse.window_query(monitor, day, cohorts=False).limit(PROBE_ROWS)
    frame = warehouse.fetch_frame(query)
    if frame.empty:  # the newest row is in no window a run reads: the times do not compare
        out.append(
            f"{at}.columns.ts: the newest row ({newest:%Y-%m-%d %H:%M} UTC) is in no window "
            "a run reads: its event times do not compare as times with the window's bounds "
            "(text in another format?): every window reads 0 rows"
        )
        return out
    normalize_numbers(frame, epoch_units(source), source.zone)
    return out + _row_problems(monitor, warehouse, frame, at)


def _row_problems(
    monitor: Monitor, warehouse: Warehouse, frame: pd.DataFrame, at: str
) -> list[str]:
    """What the newest day's rows read as: errors, a status missing on most rows, a median
    latency or a mean cost no request has."""
    source = monitor.source
    settings = metric_settings(monitor, warehouse)
    whole = next(a for a in aggregate_frame(frame, [], [], settings) if a.cohort == "*")
    out = []
    missing = 1 - whole.status_n / len(frame)
    if "status" in source.columns and source.null_status != "ok" and missing >= ERROR_SHARE:
        out.append(
            f"{at}.null_status: the status is NULL on {missing:.0%} of the {len(frame):,} rows "
            "read from the newest day, and error rates count only the others (the errors, as "
            "an error column is filled): if NULL means success, set null_status: ok"
        )
    elif whole.status_n >= MIN_ROWS and whole.errors / whole.status_n >= ERROR_SHARE:
        out.append(
            f"{at}.ok_statuses: {whole.errors / whole.status_n:.0%} of the {whole.status_n:,} "
            f"rows read from the newest day are errors with ok_statuses "
            f"{list(source.ok_values)}; the statuses they hold: {_top(frame['status'])}. "
            "List every value that means ok, or every error rule fires for good"
        )
    out += _repeated_ids(frame, at)
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


def _repeated_ids(frame: pd.DataFrame, at: str) -> list[str]:
    """Record ids the newest day's rows repeat: a table that keeps versions of a row (an
    upsert log; ClickHouse's ReplacingMergeTree read without FINAL) counts every version in
    every count and rate (trial J: 387 rows of 381 records, 3.9% errors of 3.5%)."""
    ids = frame["record_id"].dropna().astype(str) if "record_id" in frame else pd.Series()
    repeated = ids[ids.duplicated()]
    if len(ids) < MIN_ROWS or repeated.empty:
        return []
    return [
        f"{at}.columns.record_id: {len(repeated):,} of the {len(ids):,} rows read from the "
        f"newest day repeat a record id (e.g. {repeated.iloc[0]!r}): a table that keeps "
        "versions of a row (an upsert log, a ClickHouse ReplacingMergeTree read without "
        "FINAL) counts each version in every count and rate; map a view that keeps one"
    ]


def _named_units(source: SourceConfig, at: str) -> list[str]:
    """A duration column named in one unit and read in another (`inference_us` read as
    milliseconds: a p95 of 13,028 ms paged where the requests took 13 ms)."""
    out = []
    for field in ("latency_ms", "ttft_ms"):
        column = source.columns.get(field)
        if column is None or field in source.durations:
            continue
        named = named_duration_unit(column)
        if named is not None and named != source.unit(field):
            out.append(
                f"{at}.units.{field}: column {column!r} is named in {named} and read as "
                f"{source.unit(field)}: if it logs {named}, set units: {{{field}: {named}}}"
            )
    return out


def _unmatched_filters(
    warehouse: Warehouse, source: SourceConfig, table: sa.Table, day: Window, at: str
) -> list[str]:
    """A `where` or `where_not` value that no row of the newest day holds: `[gpt-4o, Claude]`
    where the rows say `claude` dropped claude's rows, silently (the filter still kept some)."""
    out = []
    bounds = warehouse.in_period(table, source, day)
    columns = warehouse.table_columns(source)

    def matches(column: Any, type_: Any, value: Any) -> Any:
        return sql_matches(column, type_, [value], as_text=warehouse.capabilities.as_text)

    for key, kept in (("where", source.where), ("where_not", source.where_not)):
        for name, values in kept.items():
            column = warehouse.column(table, source, name)
            type_ = columns.get(source.columns.get(name, name))
            unmatched = [
                value
                for value in values
                if value is not None
                and not _count(warehouse, sa.and_(bounds, matches(column, type_, value)), at)
            ]
            if (unmatched and len(unmatched) < len(values)) or (unmatched and key == "where_not"):
                seen = _top(_column_values(warehouse, source, table, name, bounds))
                out.append(
                    f"{at}.{key}.{name}: no row of the newest day holds "
                    f"{', '.join(map(repr, unmatched))}; {name} holds {seen}"
                )
    return out


def _newest(
    warehouse: Warehouse,
    source: SourceConfig,
    table: sa.Table,
    now: datetime | None,
    *,
    kept: bool,
) -> pd.Timestamp | None:
    """The newest event time before `now` + `RECENT` (a row dated in 2027 is no newest day;
    `now` None: any), of the rows the monitor keeps (or of all); NaT when it cannot be read
    as a time; None when there is no such row."""
    ts = warehouse.column(table, source, "ts")
    conditions = (
        [] if now is None else [warehouse.time_compared(source, "ts", ts, "<", now + RECENT)]
    )
    if kept:
        conditions += warehouse.kept_rows(table, source)
    frame = warehouse.fetch_frame(sa.select(sa.func.max(ts).label("ts")).where(*conditions))
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
    newest = _newest(warehouse, source, table, now, kept=False) if filtered else None
    if newest is None or pd.isna(newest):
        which = " that where/where_not keeps" if filtered else ""
        return [f"{at}: the table holds no row{which}: every window reads 0 rows"]
    day = Window(newest.to_pydatetime() - RECENT, newest.to_pydatetime() + _STEP)
    bounds = warehouse.in_period(table, source, day)
    there = _count(warehouse, bounds, at)
    held = "; ".join(
        f"{name} holds {_top(_column_values(warehouse, source, table, name, bounds))}"
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
    def shown(values: list[Any]) -> str:
        return "[" + ", ".join("null" if v is None else repr(v) for v in values) + "]"

    kept = [f"{name} in {shown(values)}" for name, values in source.where.items()]
    kept += [f"{name} not in {shown(values)}" for name, values in source.where_not.items()]
    return ", ".join(kept)


def _column_values(
    warehouse: Warehouse, source: SourceConfig, table: sa.Table, name: str, bounds: Any
) -> pd.Series:
    column = warehouse.column(table, source, name)
    query = sa.select(column.label("value")).where(bounds).limit(PROBE_ROWS)
    return warehouse.fetch_frame(query)["value"]


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
