"""The validation stage of a window: plan the suite, run it per release, collect quarantine.

Pushdown runs each release's batch as a GX SQL query asset the warehouse evaluates; the
expectations a dialect cannot evaluate (`Dialect.not_in_sql`: JSON parsing everywhere, regex on
DuckDB) run on a
DataFrame of just their columns. Without pushdown everything runs on the window's DataFrame.
Records that arrived in the window without a usable event time are quarantined here too, and
so are records with a value that is not a number in a numeric field (`not_a_number:<field>`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from lookout.checks.stats import wilson_interval
from lookout.checks.validation.gx_suite import load_suite_file, referenced_columns, to_gx
from lookout.checks.validation.runner import EXAMPLES, ExpectationOutcome, GxRunner
from lookout.config.models import Monitor
from lookout.config.validation import default_suite, spec_name
from lookout.core.summary import Summary
from lookout.model.aggregates import ALL_COHORTS, MetricValue, release_labels
from lookout.model.record import (
    NOT_A_NUMBER,
    NUMERIC_FIELDS,
    is_missing,
    not_a_number_reason,
    parse_numbers,
)
from lookout.sources.column_types import typed_values
from lookout.sources.warehouse import Warehouse
from lookout.windows import Window

__all__ = [
    "NOT_A_NUMBER",
    "UNPLACEABLE_TS",
    "PlannedExpectation",
    "ValidationResult",
    "plan_suite",
    "run_validation",
]

log = logging.getLogger("lookout.pipeline")

# The quarantine reason of a record that arrived without a usable event time (see
# `Warehouse.unplaceable_rows`): no window would ever read it otherwise.
UNPLACEABLE_TS = "unplaceable_ts"


@dataclass(frozen=True)
class PlannedExpectation:
    name: str
    kind: str
    column: str | None
    severity: str
    spec: Any = None  # ExpectationSpec, or None for one from a GX suite file
    gx: Any = None  # the GX expectation when it comes from a suite file

    def build(self, window: Window, *, naive_times: bool) -> Any:
        if self.gx is not None:
            return self.gx
        return to_gx(self.spec, window, naive_times=naive_times)


def plan_suite(monitor: Monitor, base_dir: Path | None = None) -> list[PlannedExpectation]:
    """The monitor's declared expectations (or the default suite) plus its GX suite file."""
    config = monitor.validation
    specs = list(config.expectations) or default_suite(
        set(monitor.source.columns), list(monitor.source.release), config.statuses
    )
    planned = [
        PlannedExpectation(spec_name(s), s.kind, getattr(s, "column", None), s.severity, spec=s)
        for s in specs
    ]
    if config.suite_file:
        path = Path(config.suite_file)
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        for expectation in load_suite_file(path, 0):
            name = expectation.meta["lookout_name"]
            column = getattr(expectation, "column", None)
            kind = expectation.expectation_type.removeprefix("expect_")
            planned.append(PlannedExpectation(name, kind, column, "warning", gx=expectation))
    return planned


@dataclass(frozen=True)
class ValidationResult:
    outcomes: list[ExpectationOutcome]
    quarantined: dict[str, tuple[str, ...]]  # record id -> failed critical expectations
    quarantined_release: dict[str, str]  # record id -> release
    rows_by_release: dict[str, int]
    path: str
    max_share: float
    reasons: dict[str, int] = field(default_factory=dict)

    @classmethod
    def skipped(cls) -> ValidationResult:
        """What a monitor with validation disabled reports: nothing checked, nothing held."""
        return cls(
            outcomes=[],
            quarantined={},
            quarantined_release={},
            rows_by_release={},
            path="off",
            max_share=1.0,
        )

    @property
    def rows(self) -> int:
        return sum(self.rows_by_release.values())

    @property
    def failed(self) -> int:
        """Expectations that failed, those that errored included: a check that could not run
        is never reported as passed."""
        return sum(o.status in ("failed", "error") for o in self.outcomes)

    @property
    def errored(self) -> int:
        """Of `failed`, the expectations that raised instead of judging (status `error`)."""
        return sum(o.status == "error" for o in self.outcomes)

    def quarantine_records(self) -> dict[str, tuple[str, tuple[str, ...]]]:
        """record id -> (release, failed critical expectations), as the store keeps them."""
        return {
            record_id: (self.quarantined_release[record_id], reasons)
            for record_id, reasons in self.quarantined.items()
        }

    @property
    def quarantine_share(self) -> float:
        return len(self.quarantined) / self.rows if self.rows else 0.0

    @property
    def flag(self) -> str | None:
        """Set when too much of the window is quarantined to trust the rest of it."""
        if self.rows and self.quarantine_share > self.max_share:
            return (
                f"quarantined {len(self.quarantined)} of {self.rows} rows "
                f"({self.quarantine_share:.1%} > {self.max_share:.0%})"
            )
        return None

    def metrics(self) -> list[MetricValue]:
        """Per release: failed expectations (errored ones count as failed: the data-quality
        rule pages on them), each judged expectation's unexpected share, quarantine."""
        out: list[MetricValue] = []
        by_release: dict[str, list[ExpectationOutcome]] = {}
        for outcome in self.outcomes:
            by_release.setdefault(outcome.release, []).append(outcome)
        for release, outcomes in sorted(by_release.items()):
            judged = [o for o in outcomes if o.status != "error"]  # an error has no share
            failed = sum(o.status in ("failed", "error") for o in outcomes)
            out.append(
                MetricValue(
                    release,
                    ALL_COHORTS,
                    "validation_failed_expectations",
                    float(failed),
                    len(outcomes),
                )
            )
            rows = self.rows_by_release.get(release, 0)
            for o in judged:
                if o.unexpected_percent is not None:
                    value = o.unexpected_percent / 100
                else:
                    value = 0.0 if o.status == "passed" else 1.0
                n = o.element_count if o.element_count is not None else rows
                out.append(MetricValue(release, ALL_COHORTS, f"validation.{o.name}", value, n))
            if rows:
                hits = sum(1 for r in self.quarantined_release.values() if r == release)
                low, high = wilson_interval(hits, rows)
                out.append(
                    MetricValue(
                        release, ALL_COHORTS, "quarantine_rate", hits / rows, rows, low, high
                    )
                )
        return out

    def summaries(self) -> dict[tuple[str, str], Summary]:
        """Per release (cohort `*`), the mergeable counts behind the validation metrics (see
        `lookout.stages.validation.families`)."""
        out: dict[tuple[str, str], Summary] = {}
        for o in self.outcomes:
            summary = out.setdefault((o.release, ALL_COHORTS), Summary())
            if o.status in ("failed", "error"):
                summary.add("validation.failed", 1)
            if o.status == "error":
                continue
            rows = self.rows_by_release.get(o.release, 0)
            elements = o.element_count if o.element_count is not None else rows
            if o.unexpected_count is not None:
                unexpected = float(o.unexpected_count)
            else:  # a batch-level expectation: all or nothing
                unexpected = 0.0 if o.status == "passed" else float(elements)
            summary.add(f"validation.{o.name}.elements", elements)
            summary.add(f"validation.{o.name}.unexpected", min(unexpected, elements))
        for release, rows in self.rows_by_release.items():
            summary = out.setdefault((release, ALL_COHORTS), Summary())
            summary.add("validation.rows", rows)
            hits = sum(1 for r in self.quarantined_release.values() if r == release)
            summary.add("validation.quarantined", hits)
        return out


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


def _use_sql(monitor: Monitor, warehouse: Warehouse, pushdown: bool | None) -> bool:
    """Whether GX runs on the warehouse's SQL engine: `validation.pushdown` (or the caller's
    choice), where the dialect supports GX in SQL (`Dialect.not_in_sql`); elsewhere pandas,
    said in the log when `on` asked for SQL."""
    mode = monitor.validation.pushdown
    caps = warehouse.capabilities
    wanted = pushdown
    if wanted is None:
        wanted = caps.validation_pushdown_default if mode == "auto" else mode == "on"
    if wanted and caps.not_in_sql is None:
        log.warning(
            "monitor %s: GX cannot validate in SQL on %s: validating the window in pandas",
            monitor.name,
            warehouse.dialect,
        )
        return False
    return wanted


def validation_columns(monitor: Monitor, planned: list[PlannedExpectation]) -> list[str]:
    """Only what the suite reads: record ids, release fields and the expectations' columns."""
    wanted = {"record_id", *monitor.source.release}
    wanted |= referenced_columns([p.spec for p in planned if p.spec is not None])
    wanted |= {p.column for p in planned if p.column}
    mapped = [c for c in monitor.source.columns if c in wanted]
    extra = [*monitor.source.release, *monitor.source.cohorts]  # columns under their own names
    return mapped + [c for c in dict.fromkeys(extra) if c in wanted and c not in mapped]


def _unplaceable(warehouse: Warehouse, monitor: Monitor, window: Window) -> list[tuple[str, str]]:
    """(record id, release) of the records that arrived in the window without a usable event
    time: quarantined here, the one place they can be counted. A missing id gets a stand-in
    numbered in arrival order (stable, so a re-run stores the same rows)."""
    fields = ["record_id", *monitor.source.release]
    frame = warehouse.unplaceable_rows(monitor, window, fields)
    if frame.empty:
        return []
    labels = release_labels(frame, monitor.source.release)
    out = []
    nulls = 0
    for value, release in zip(frame["record_id"], labels, strict=True):
        if is_missing(value):
            nulls += 1
            value = f"(null record_id, unplaceable #{nulls})"
        out.append((str(value), str(release)))
    return out


def _not_numbers(
    warehouse: Warehouse, monitor: Monitor, window: Window
) -> list[tuple[str | None, str, tuple[str, ...]]]:
    """(record id or None, release, fields) of each record of the window with a value that is
    not a number in a numeric field, judged by `parse_numbers` (the rule the metrics use), in
    record id order."""
    frame = warehouse.not_a_number_suspects(monitor, window, ["record_id", *monitor.source.release])
    if frame.empty:
        return []
    numeric = [f for f in NUMERIC_FIELDS if f in frame]
    bad = {f: parse_numbers(frame[f])[1] for f in numeric}
    labels = release_labels(frame, monitor.source.release)
    out = []
    for i, (value, release) in enumerate(zip(frame["record_id"], labels, strict=True)):
        fields = tuple(f for f in numeric if bad[f][i])
        if fields:
            out.append((None if is_missing(value) else str(value), str(release), fields))
    return out


def _not_a_number_outcomes(
    found: list[tuple[str | None, str, tuple[str, ...]]],
    rows_by_release: dict[str, int],
    path: str,
) -> list[ExpectationOutcome]:
    """One failed critical outcome per release and field that held such values, with their
    count, share and up to five example ids, like a failed critical expectation."""
    ids: dict[tuple[str, str], list[str]] = {}
    for record_id, release, fields in found:
        for name in fields:
            ids.setdefault((release, name), []).append(record_id or "(null record_id)")
    out = []
    for (release, name), hits in sorted(ids.items()):
        rows = rows_by_release.get(release) or len(hits)
        out.append(
            ExpectationOutcome(
                name=not_a_number_reason(name),
                kind=NOT_A_NUMBER,
                column=name,
                severity="critical",
                release=release,
                status="failed",
                element_count=rows,
                unexpected_count=len(hits),
                unexpected_percent=100.0 * len(hits) / rows,
                observed=None,
                examples=tuple(hits[:EXAMPLES]),
                path=path,
            )
        )
    return out


def run_validation(
    warehouse: Warehouse,
    monitor: Monitor,
    window: Window,
    *,
    planned: list[PlannedExpectation],
    runner: GxRunner | None = None,
    connection_string: str | None = None,
    pushdown: bool | None = None,
) -> ValidationResult:
    """Validate every release of the window; results are plain data for the store."""
    runner = runner or GxRunner()
    planned = _typed(planned, monitor, warehouse.table_columns(monitor.source))
    columns = validation_columns(monitor, planned)
    use_sql = _use_sql(monitor, warehouse, pushdown) and connection_string is not None
    outcomes: list[ExpectationOutcome] = []
    quarantined: dict[str, list[str]] = {}
    quarantined_release: dict[str, str] = {}
    rows_by_release: dict[str, int] = {}

    def collect(result: Any, release: str) -> None:
        outcomes.extend(result.outcomes)
        for record_id, names in result.quarantined.items():
            quarantined.setdefault(record_id, []).extend(names)
            quarantined_release[record_id] = release

    # Schema checks look at the table itself, once per window, not at a release's rows.
    schema_checks = [p for p in planned if p.kind == "columns_present"]
    planned = [p for p in planned if p.kind != "columns_present"]
    if schema_checks:
        if use_sql:
            batch = runner.sql_batch(connection_string, warehouse.schema_sql(monitor))  # type: ignore[arg-type]
            path = "sql"
        else:
            batch = runner.frame_batch(
                pd.DataFrame(columns=list(warehouse.table_columns(monitor.source)))
            )
            path = "pandas"
        pairs = [(p, p.build(window, naive_times=False)) for p in schema_checks]
        collect(runner.validate(batch, pairs, release=ALL_COHORTS, path=path, rows=0), ALL_COHORTS)

    found = _not_numbers(warehouse, monitor, window)
    releases = warehouse.release_values(monitor, window) if use_sql else []
    # An empty window has no release to batch by in SQL: its (empty) DataFrame is validated
    # instead, so table-level expectations (row count, freshness) still report on it.
    use_sql = use_sql and bool(releases)
    frame_only = planned
    if use_sql:
        not_in_sql = warehouse.capabilities.not_in_sql or frozenset()
        # a numeric field in a column that is not numeric, or that holds something that is not
        # a number in this window (SQLite keeps text in any column), cannot be compared as a
        # number in SQL: its expectations run on the parsed DataFrame
        loose = warehouse.loose_numeric_fields(monitor.source) | {
            name for _, _, fields in found for name in fields
        }
        in_sql = [p for p in planned if p.kind not in not_in_sql and p.column not in loose]
        frame_only = [p for p in planned if p not in in_sql]
        naive = warehouse.naive_times(monitor.source)
        for release, values, rows in releases:
            rows_by_release[release] = rows
            query = warehouse.validation_sql(monitor, window, columns, values)
            batch = runner.sql_batch(connection_string, query)  # type: ignore[arg-type]
            pairs = [(p, p.build(window, naive_times=naive)) for p in in_sql]
            result = runner.validate(batch, pairs, release=release, path="sql", rows=rows)
            collect(result, release)
    if frame_only:
        needed = validation_columns(monitor, frame_only) if use_sql else columns
        frame = warehouse.read_window(monitor, window, needed, cohorts=False)
        labels = release_labels(frame, monitor.source.release)
        parts = list(frame.groupby(labels, sort=True)) if len(frame) else [("*", frame)]
        for release, part in parts:
            release = str(release)
            rows_by_release.setdefault(release, len(part))
            pairs = [(p, p.build(window, naive_times=False)) for p in frame_only]
            batch = runner.frame_batch(part.reset_index(drop=True))
            result = runner.validate(batch, pairs, release=release, path="pandas", rows=len(part))
            collect(result, release)
    for record_id, release in _unplaceable(warehouse, monitor, window):
        quarantined.setdefault(record_id, []).append(UNPLACEABLE_TS)
        quarantined_release[record_id] = release
        rows_by_release[release] = rows_by_release.get(release, 0) + 1
    outcomes.extend(_not_a_number_outcomes(found, rows_by_release, "sql" if use_sql else "pandas"))
    # A record without an id is quarantined once: a critical not-null check on the id that
    # failed has quarantined every id-less record of its release already (under stand-ins we
    # cannot tell apart); elsewhere it gets a stand-in of its own.
    covered = {quarantined_release[k] for k in quarantined if k.startswith("(null record_id #")}
    nulls: dict[str, int] = {}
    for record_id, release, fields in found:
        if record_id is None:
            if release in covered:
                continue
            nulls[release] = nulls.get(release, 0) + 1
            record_id = f"(null record_id, not a number #{nulls[release]} of {release})"
        quarantined.setdefault(record_id, []).extend(not_a_number_reason(f) for f in fields)
        quarantined_release[record_id] = release
    reasons: dict[str, int] = {}
    for names in quarantined.values():
        for name in set(names):
            reasons[name] = reasons.get(name, 0) + 1
    order = {p.name: i for i, p in enumerate([*planned, *schema_checks])}
    outcomes.sort(key=lambda o: (o.release, order.get(o.name, len(order)), o.name))
    return ValidationResult(
        outcomes=outcomes,
        quarantined={k: tuple(dict.fromkeys(v)) for k, v in sorted(quarantined.items())},
        quarantined_release=quarantined_release,
        rows_by_release=rows_by_release,
        path="sql" if use_sql else "pandas",
        max_share=monitor.validation.max_quarantine_share,
        reasons=reasons,
    )
