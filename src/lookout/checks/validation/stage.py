"""The validation stage of a window: run the planned suite per release, collect quarantine.

Pushdown runs each release's batch as a GX SQL query asset the warehouse evaluates; the
expectations a dialect cannot evaluate (`Dialect.not_in_sql`: JSON parsing everywhere, regex on
DuckDB) run on a
DataFrame of just their columns. Without pushdown everything runs on the window's DataFrame.
Records that arrived in the window without a usable event time are quarantined here too, and
so are records with a value that is not a number in a numeric field (`not_a_number:<field>`).

Planning the suite is `plan`, finding the records quarantined outside GX `quarantine`, and
what the run found, with its metrics and summaries, `result` (their names are re-exported
here).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from lookout.checks.ports import ValidationQueries, ValidationSource, WindowReader
from lookout.checks.validation.plan import PlannedExpectation, plan_suite, validation_columns
from lookout.checks.validation.quarantine import (
    UNPLACEABLE_TS,
    not_a_number_outcomes,
    not_a_number_records,
    unplaceable_records,
)
from lookout.checks.validation.result import ValidationResult
from lookout.checks.validation.runner import (
    BatchResult,
    ExpectationOutcome,
    GxRunner,
    runs_as_written,
)
from lookout.config.models import Monitor
from lookout.model.aggregates import ALL_COHORTS, release_labels
from lookout.model.local_times import reads_no_wall_time
from lookout.model.record import NOT_A_NUMBER, not_a_number_reason
from lookout.sources.column_types import typed_values
from lookout.windows import Window

__all__ = [
    "NOT_A_NUMBER",
    "UNPLACEABLE_TS",
    "PlannedExpectation",
    "ValidationResult",
    "plan_suite",
    "run_validation",
    "validation_columns",
]

log = logging.getLogger("lookout.pipeline")

# `pushdown: auto` validates a window of at least this many rows in SQL and a smaller one on
# its DataFrame: GX in SQL sends a query per metric, a fixed cost that reading a small window
# beats (measured with benchmarks/bench_validation.py; the figures are in docs/validation.md).
SQL_FROM_ROWS = 50_000

# Expectations whose outcome is the same on a value as stored and as read (NULL, repeats).
_AS_STORED = frozenset({"not_null", "unique"})

Releases = list[tuple[str, tuple[Any, ...], int]]  # (label, raw values, rows)
NotANumbers = list[tuple[str | None, str, tuple[str, ...]]]


def _typed(
    planned: list[PlannedExpectation], monitor: Monitor, table: Mapping[str, Any]
) -> list[PlannedExpectation]:
    """`in_set` values in the type of their column (`"200"` is 200 for an integer status), so
    SQL compares integers with integers and pandas' `isin` matches on either path."""
    out = []
    for p in planned:
        if p.spec is not None and p.spec.kind == "in_set":
            typed = typed_values(monitor.source, table, p.spec.column, p.spec.values)
            if typed:  # none fits: refused before the run (`role_problems`)
                p = replace(p, spec=p.spec.model_copy(update={"values": list(typed)}))
        out.append(p)
    return out


def _sql_releases(
    monitor: Monitor, warehouse: ValidationSource, window: Window, pushdown: bool | None
) -> Releases | None:
    """The window's releases, each a batch GX validates in SQL, or None to validate the
    window's DataFrame: `validation.pushdown` (or the caller's choice), where the dialect
    supports GX in SQL (`Dialect.not_in_sql`; elsewhere pandas, said in the log when `on`
    asked for SQL). `auto` weighs the window too: GX in SQL sends a query per metric, a cost
    that reading a window of fewer than `SQL_FROM_ROWS` rows beats."""
    mode = monitor.validation.pushdown
    caps = warehouse.capabilities
    if pushdown is None and mode == "auto":
        if not caps.validation_pushdown_default or caps.not_in_sql is None:
            return None
        releases = warehouse.release_values(monitor, window)
        return releases if sum(rows for _, _, rows in releases) >= SQL_FROM_ROWS else None
    if not (pushdown if pushdown is not None else mode == "on"):
        return None
    if caps.not_in_sql is None:
        log.warning(
            "monitor %s: GX cannot validate in SQL on %s: validating the window in pandas",
            monitor.name,
            warehouse.dialect,
        )
        return None
    return warehouse.release_values(monitor, window)


@dataclass
class _Findings:
    """What the window's batches found, gathered release by release into one result."""

    outcomes: list[ExpectationOutcome] = field(default_factory=list)
    quarantined: dict[str, list[str]] = field(default_factory=dict)
    quarantined_release: dict[str, str] = field(default_factory=dict)
    rows_by_release: dict[str, int] = field(default_factory=dict)

    def collect(self, result: BatchResult, release: str) -> None:
        """Keep a batch's outcomes and hold the records its critical checks failed."""
        self.outcomes.extend(result.outcomes)
        for record_id, names in result.quarantined.items():
            self.hold(record_id, release, names)

    def hold(self, record_id: str, release: str, reasons: Iterable[str]) -> None:
        """Quarantine a record of `release` for `reasons`, added to those it has already."""
        self.quarantined.setdefault(record_id, []).extend(reasons)
        self.quarantined_release[record_id] = release


def run_validation(
    warehouse: ValidationSource,
    monitor: Monitor,
    window: Window,
    *,
    planned: list[PlannedExpectation],
    runner: GxRunner | None = None,
    connection_string: str | None = None,
    pushdown: bool | None = None,
) -> ValidationResult:
    """Validate every release of the window; results are plain data for the store."""
    if reads_no_wall_time(window.start, window.end, monitor.source.zone):
        # no row can fall in it (the first pass through an autumn's repeated hour of a table
        # in local time): no table-level check (freshness, row count) reports on it either
        return _result(_Findings(), monitor, [], "pandas")
    runner = runner or GxRunner()
    planned = _typed(planned, monitor, warehouse.table_columns(monitor.source))
    columns = validation_columns(monitor, planned)
    batches = (
        _sql_batches(monitor, warehouse, window, columns, pushdown)
        if connection_string is not None
        else None
    )
    findings = _Findings()
    schema_checks = [p for p in planned if p.kind == "columns_present"]
    planned = [p for p in planned if p.kind != "columns_present"]
    if schema_checks:
        url = connection_string if batches is not None else None
        _check_schema(runner, warehouse, monitor, window, schema_checks, url, findings)
    found = not_a_number_records(warehouse, monitor, window)
    # An empty window has no release to batch by in SQL: its (empty) DataFrame is validated
    # instead, so table-level expectations (row count, freshness) still report on it.
    use_sql = bool(batches)
    frame_only = planned
    if use_sql:
        in_sql, frame_only = _split_for_sql(warehouse, monitor, planned, found)
        _validate_in_sql(
            runner, connection_string, warehouse, monitor, window, in_sql, batches or [], findings
        )
    if frame_only:
        needed = validation_columns(monitor, frame_only) if use_sql else columns
        _validate_frames(runner, warehouse, monitor, window, frame_only, needed, findings)
    path = "sql" if use_sql else "pandas"
    _quarantine_unplaceable(warehouse, monitor, window, findings)
    findings.outcomes.extend(not_a_number_outcomes(found, findings.rows_by_release, path))
    _quarantine_not_a_number(found, findings)
    return _result(findings, monitor, [*planned, *schema_checks], path)


def _sql_batches(
    monitor: Monitor,
    warehouse: ValidationSource,
    window: Window,
    columns: list[str],
    pushdown: bool | None,
) -> list[tuple[str, str, int]] | None:
    """(release, its rows as SQL text, rows) of each release GX validates in SQL, or None to
    validate the window's DataFrame: where `_sql_releases` says so, or where a release's query
    holds what GX would not run as written (a value with `:name` in it)."""
    releases = _sql_releases(monitor, warehouse, window, pushdown)
    if releases is None:
        return None
    batches = [
        (release, warehouse.validation_sql(monitor, window, columns, values), rows)
        for release, values, rows in releases
    ]
    unsafe = [release for release, query, _ in batches if not runs_as_written(query)]
    if unsafe:
        log.info(
            "monitor %s: the query of release %r holds ':name' (in a release or `where` value,"
            " or a json_fields key), which GX would read as a bind parameter in SQL:"
            " validating the window in pandas",
            monitor.name,
            unsafe[0],
        )
        return None
    return batches


def _check_schema(
    runner: GxRunner,
    warehouse: ValidationSource,
    monitor: Monitor,
    window: Window,
    schema_checks: list[PlannedExpectation],
    connection_string: str | None,
    findings: _Findings,
) -> None:
    """Schema checks look at the table itself, once per window, not at a release's rows."""
    columns = warehouse.table_columns(monitor.source)
    if connection_string is not None:
        batch = runner.sql_batch(connection_string, warehouse.schema_sql(monitor))
        path = "sql"
    else:
        batch = runner.frame_batch(
            # the table's own columns: a json field is no column of it (`columns_present`)
            pd.DataFrame(columns=[c for c in columns if c not in monitor.source.json_fields])
        )
        path = "pandas"
    pairs = [(p, p.build(window, naive_zone=None)) for p in schema_checks]
    result = runner.validate(batch, pairs, release=ALL_COHORTS, path=path, rows=0)
    findings.collect(result, ALL_COHORTS)


def _split_for_sql(
    warehouse: ValidationSource,
    monitor: Monitor,
    planned: list[PlannedExpectation],
    found: NotANumbers,
) -> tuple[list[PlannedExpectation], list[PlannedExpectation]]:
    """(in SQL, on the DataFrame): what the warehouse cannot evaluate runs on parsed values."""
    not_in_sql = warehouse.capabilities.not_in_sql or frozenset()
    # a numeric field in a column that is not numeric, or that holds something that is not
    # a number in this window (SQLite keeps text in any column), cannot be compared as a
    # number in SQL: its expectations run on the parsed DataFrame
    loose = warehouse.loose_numeric_fields(monitor.source) | {
        name for _, _, fields in found for name in fields
    }
    # an epoch time (`units: {ts: epoch_ms}`) is a number in SQL: what compares its values
    # with times (`fresh`) runs on the DataFrame, where it is read as a timestamp
    in_sql = [
        p
        for p in planned
        if p.kind not in not_in_sql
        and p.column not in loose
        and not (p.column and monitor.source.epoch_unit(p.column) and p.kind not in _AS_STORED)
    ]
    return in_sql, [p for p in planned if p not in in_sql]


def _validate_in_sql(
    runner: GxRunner,
    connection_string: str | None,
    warehouse: ValidationSource,
    monitor: Monitor,
    window: Window,
    in_sql: list[PlannedExpectation],
    batches: list[tuple[str, str, int]],
    findings: _Findings,
) -> None:
    """Each release's batch as a query the warehouse evaluates, so its rows stay there."""
    source = monitor.source
    # a time bound is written as its column holds times: wall time in the source's zone for a
    # column without one (each column's own type: `fresh` may be on ingested_at)
    zones = {
        p.name: source.zone if warehouse.naive_times(source, p.column or "ts") else None
        for p in in_sql
    }
    for release, query, rows in batches:
        findings.rows_by_release[release] = rows
        batch = runner.sql_batch(connection_string, query)  # type: ignore[arg-type]
        pairs = [(p, p.build(window, naive_zone=zones[p.name])) for p in in_sql]
        result = runner.validate(batch, pairs, release=release, path="sql", rows=rows)
        findings.collect(result, release)


def _validate_frames(
    runner: GxRunner,
    warehouse: WindowReader,
    monitor: Monitor,
    window: Window,
    frame_only: list[PlannedExpectation],
    columns: list[str],
    findings: _Findings,
) -> None:
    """Each release's rows as a DataFrame, for what SQL cannot evaluate or without pushdown."""
    frame = warehouse.read_window(monitor, window, columns, cohorts=False)
    frame = _parsed_json_as_text(frame, [p.column for p in frame_only if p.kind == "json_parses"])
    labels = release_labels(frame, monitor.source.release)
    parts = list(frame.groupby(labels, sort=True)) if len(frame) else [("*", frame)]
    for release, part in parts:
        release = str(release)
        findings.rows_by_release.setdefault(release, len(part))
        pairs = [(p, p.build(window, naive_zone=None)) for p in frame_only]
        batch = runner.frame_batch(part.reset_index(drop=True))
        result = runner.validate(batch, pairs, release=release, path="pandas", rows=len(part))
        findings.collect(result, release)


def _parsed_json_as_text(frame: pd.DataFrame, columns: list[str | None]) -> pd.DataFrame:
    """A JSON column the driver already parsed (psycopg hands JSONB over as dicts and lists)
    holds JSON by construction: its values go back to JSON text, so `json_parses` passes them
    instead of failing every row on a value that is not a string."""
    names = [c for c in dict.fromkeys(columns) if c is not None and c in frame]
    if not names:
        return frame
    frame = frame.copy()
    for name in names:
        frame[name] = frame[name].map(
            lambda v: json.dumps(v) if isinstance(v, dict | list) else v, na_action="ignore"
        )
    return frame


def _quarantine_unplaceable(
    warehouse: ValidationQueries, monitor: Monitor, window: Window, findings: _Findings
) -> None:
    """Records without a usable event time are counted here, the one place that sees them."""
    for record_id, release in unplaceable_records(warehouse, monitor, window):
        findings.hold(record_id, release, [UNPLACEABLE_TS])
        findings.rows_by_release[release] = findings.rows_by_release.get(release, 0) + 1


def _quarantine_not_a_number(found: NotANumbers, findings: _Findings) -> None:
    """Hold each record with a value that is not a number, an id-less one only once."""
    # A record without an id is quarantined once: a critical not-null check on the id that
    # failed has quarantined every id-less record of its release already (under stand-ins we
    # cannot tell apart); elsewhere it gets a stand-in of its own.
    covered = {
        findings.quarantined_release[k]
        for k in findings.quarantined
        if k.startswith("(null record_id #")
    }
    nulls: dict[str, int] = {}
    for record_id, release, fields in found:
        if record_id is None:
            if release in covered:
                continue
            nulls[release] = nulls.get(release, 0) + 1
            record_id = f"(null record_id, not a number #{nulls[release]} of {release})"
        findings.hold(record_id, release, (not_a_number_reason(f) for f in fields))


def _result(
    findings: _Findings, monitor: Monitor, planned: list[PlannedExpectation], path: str
) -> ValidationResult:
    """The findings as the store keeps them: outcomes in plan order, reasons counted."""
    reasons: dict[str, int] = {}
    for names in findings.quarantined.values():
        for name in set(names):
            reasons[name] = reasons.get(name, 0) + 1
    order = {p.name: i for i, p in enumerate(planned)}
    outcomes = findings.outcomes
    outcomes.sort(key=lambda o: (o.release, order.get(o.name, len(order)), o.name))
    return ValidationResult(
        outcomes=outcomes,
        quarantined={k: tuple(dict.fromkeys(v)) for k, v in sorted(findings.quarantined.items())},
        quarantined_release=findings.quarantined_release,
        rows_by_release=findings.rows_by_release,
        path=path,
        max_share=monitor.validation.max_quarantine_share,
        reasons=reasons,
    )
