"""`lookout init`'s proposal (pure): a monitor for a table, from its columns and a sample.

`propose` takes what the I/O part read (`lookout.services.init_table`): the reflected columns,
a bounded sample of the most recent day's rows and a traffic estimate. It returns a `Proposal`:
the column mapping with a reason per column, the release and cohorts, which statuses are ok and
which feedback is negative, a window size and pooling that let typical evaluations reach their
`min_n`, starter rules with thresholds from the sample, validation, drift and evaluators, and
what it could not map. `lookout.services.init_yaml` writes it as a commented monitors.yml.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from lookout.model.record import CANONICAL_FIELDS, TEXT_FIELDS
from lookout.services.init_columns import (
    NAMED_LOOSELY,
    Candidate,
    ColumnInfo,
    ColumnProfile,
    candidates,
    describe,
    low_cardinality,
    normalized_name,
    profile_column,
    value_shares,
)
from lookout.services.init_rules import (
    EvaluatorPlan,
    RulePlan,
    Sizing,
    evaluator_plan,
    grace_for,
    rule_plans,
    size_window,
)

__all__ = [
    "ColumnRole",
    "Proposal",
    "Traffic",
    "choose_time_column",
    "propose",
]

MAX_COHORTS = 4  # cohort columns proposed (each multiplies the metrics stored per window)
_COHORT_WORDS = frozenset(
    {"region", "tier", "plan", "country", "locale", "language", "lang", "platform", "channel",
     "env", "environment", "device", "client", "segment", "market", "product", "app", "source",
     "surface", "geo", "zone", "customer", "tenant", "org", "team", "sku", "edition"}
)  # fmt: skip
_OK_WORDS = frozenset(
    {"ok", "success", "succeeded", "successful", "completed", "complete", "done", "pass",
     "passed", "unset", "status_code_ok", "status_code_unset", "true", "finished", "stop"}
)  # fmt: skip
_NEGATIVE_WORDS = frozenset(
    {"thumbs_down", "thumbsdown", "thumb_down", "down", "negative", "bad", "dislike", "-1",
     "no", "unhelpful", "not_helpful", "false", "0", "👎", "poor", "wrong"}
)  # fmt: skip
HTTP_OK = tuple(str(code) for code in range(200, 207))


@dataclass(frozen=True)
class Traffic:
    """What the table's traffic looks like and how it was read (for the proposal and docs)."""

    rows_per_hour: float | None  # over `period` up to the newest row (None: unknown)
    newest: datetime | None  # the newest event time seen
    rows_estimate: int | None  # rows in the whole table (an estimate on large tables)
    timestamps_read: int  # event times read to estimate the traffic
    method: str  # how the rows were read, in words
    period: timedelta | None = None  # what the rate is over: the newest day, or longer

    @property
    def over(self) -> str:
        """`the newest day`, `the newest 14 days`: what the rate is an average of."""
        if self.period is None:
            return "the newest rows"
        days = self.period.total_seconds() / 86400
        if days >= 1 and days.is_integer():
            return "the newest day" if days == 1 else f"the newest {days:.0f} days"
        return f"the newest {self.period.total_seconds() / 3600:.1f} hours"


@dataclass(frozen=True)
class ColumnRole:
    """One column of the table in the proposal: what it became and why."""

    column: str
    sql_type: str
    role: str  # a canonical field, `cohort`, both, or `-`
    reason: str


@dataclass(frozen=True)
class Proposal:
    """A monitor for one table, with the reasons, ready to be shown and written."""

    monitor: str
    table: str
    schema: str | None
    columns: dict[str, str]  # canonical field -> column, in contract order
    roles: tuple[ColumnRole, ...]  # every column of the table, in table order
    release: tuple[str, ...]
    cohorts: tuple[str, ...]
    ok_statuses: tuple[str, ...] | None
    negative_feedback: tuple[str, ...] | None
    sizing: Sizing
    grace: timedelta
    rules: tuple[RulePlan, ...]
    expectations: tuple[dict[str, Any], ...]
    drift: bool
    drift_cohorts: bool
    evaluators: EvaluatorPlan
    traffic: Traffic
    sample_rows: int
    notes: tuple[str, ...]  # what it could not map or do, and why
    missing: tuple[str, ...] = field(default=())  # required fields it found no column for

    @property
    def unmapped(self) -> list[ColumnRole]:
        return [role for role in self.roles if role.role == "-"]


def choose_time_column(profiles: Sequence[ColumnProfile]) -> str | None:
    """The event-time column: the best `ts` candidate (a timestamp, by name first)."""
    assigned, _ = _assign(profiles)
    return assigned.get("ts", (None,))[0] if "ts" in assigned else None


def propose(
    columns: Sequence[ColumnInfo],
    sample: pd.DataFrame,
    traffic: Traffic,
    *,
    table: str,
    schema: str | None = None,
    monitor: str | None = None,
    owner: str = "oncall",
) -> Proposal:
    """The proposal for `table` from its columns, a sample of recent rows and its traffic."""
    profiles = [
        profile_column(c, sample[c.name] if c.name in sample else pd.Series([], dtype=object))
        for c in columns
    ]
    by_name = {p.name: p for p in profiles}
    assigned, refused = _assign(profiles)
    notes: list[str] = []
    _fill_long_text(assigned, profiles, notes)
    mapping = {f: assigned[f][0] for f in CANONICAL_FIELDS if f in assigned}
    reasons = {assigned[f][0]: (f, assigned[f][1]) for f in CANONICAL_FIELDS if f in assigned}
    if "record_id" not in mapping and "span_id" in mapping and by_name[mapping["span_id"]].unique:
        mapping = {"record_id": mapping["span_id"], **mapping}
        notes.append(f"record_id is the span id ({mapping['span_id']}): unique in the sample")
    missing = tuple(f for f in ("record_id", "ts") if f not in mapping)
    ok = _ok_statuses(by_name[mapping["status"]], notes) if "status" in mapping else None
    negative = (
        _negative_feedback(by_name[mapping["feedback"]], notes) if "feedback" in mapping else None
    )
    release = tuple(f for f in ("model_version", "prompt_version") if f in mapping)
    _release_notes(mapping, notes)
    _unit_notes(mapping, by_name, notes)
    cohorts, cohort_notes = _cohorts(profiles, mapping)
    frame = _canonical(sample, mapping, cohorts)
    sizing = size_window(traffic.rows_per_hour)
    if traffic.rows_per_hour is None:
        notes.append("traffic unknown (no timestamps read): 1h windows, rules as if busy")
    shares = {c: _typical_share(by_name[mapping.get(c, c)]) for c in cohorts}
    rules, rule_notes = rule_plans(frame, mapping, sizing, shares, ok, negative, owner)
    evaluators = evaluator_plan(frame, mapping, sizing, owner)
    drift = not sizing.known or sizing.rows_per_window >= 100
    drift_cohorts = drift and all(sizing.rows_per_window * s >= 100 for s in shares.values())
    if not drift:
        notes.append(
            f"drift off: about {sizing.rows_per_window:,.0f} rows per window, fewer than the "
            "100 a drift test needs on each side"
        )
    if drift:
        rules = (*rules, *_drift_rule(owner))
    rules = (*rules, *evaluators.rules)
    notes += [*rule_notes, *evaluators.notes]
    roles = _roles(columns, by_name, reasons, cohorts, refused, cohort_notes, mapping)
    return Proposal(
        monitor=monitor or table,
        table=table,
        schema=schema,
        columns=mapping,
        roles=roles,
        release=release,
        cohorts=cohorts,
        ok_statuses=ok,
        negative_feedback=negative,
        sizing=sizing,
        grace=grace_for(frame),
        rules=tuple(rules),
        expectations=_expectations(mapping, release, by_name, negative),
        drift=drift,
        drift_cohorts=drift_cohorts,
        evaluators=evaluators,
        traffic=traffic,
        sample_rows=len(sample),
        notes=tuple(notes),
        missing=missing,
    )


def _assign(
    profiles: Sequence[ColumnProfile],
) -> tuple[dict[str, tuple[str, str]], dict[str, list[str]]]:
    """field -> (column, reason), best candidates first, one field per column."""
    found: list[tuple[int, Candidate]] = []
    refused: dict[str, list[str]] = {}
    by_name = {p.name: p for p in profiles}
    for index, profile in enumerate(profiles):
        if not profile.info.mappable:
            continue
        cands, turned_down = candidates(profile)
        found += [(index, c) for c in cands]
        if turned_down:
            refused[profile.name] = turned_down
    order = {f: i for i, f in enumerate(CANONICAL_FIELDS)}
    found.sort(key=lambda item: (-item[1].score, item[0], order[item[1].field]))
    assigned: dict[str, tuple[str, str]] = {}
    taken: dict[str, str] = {}
    for _, cand in found:
        if cand.field in assigned:
            if cand.column not in taken:
                refused.setdefault(cand.column, []).append(
                    f"also fits {cand.field}, which is {assigned[cand.field][0]}"
                )
            continue
        if cand.column in taken:
            continue
        reason = cand.reason
        if cand.score >= NAMED_LOOSELY:  # the name said it: say what the values look like
            reason = f"{reason}; {describe(cand.field, by_name[cand.column])}"
        assigned[cand.field] = (cand.column, reason)
        taken[cand.column] = cand.field
    if "ts" not in assigned and "ingested_at" in assigned:
        column, _ = assigned.pop("ingested_at")
        assigned["ts"] = (column, "the only timestamp: used as the event time")
    return assigned, refused


def _fill_long_text(
    assigned: dict[str, tuple[str, str]], profiles: Sequence[ColumnProfile], notes: list[str]
) -> None:
    """Input and output from long text columns the names did not place, in table order."""
    taken = {column for column, _ in assigned.values()}
    loose = [p for p in profiles if p.info.mappable and p.is_long_text and p.name not in taken]
    for target in ("input", "output"):
        if target in assigned or not loose:
            continue
        column = loose.pop(0)
        assigned[target] = (column.name, f"long text (~{column.mean_length:.0f} chars), by order")
        notes.append(f"{target} is {column.name} only by column order: check it")


def _ok_statuses(p: ColumnProfile, notes: list[str]) -> tuple[str, ...] | None:
    """2xx for HTTP codes, 0 for gRPC-style codes, ok words for text; None: cannot tell."""
    values = p.values
    if p.info.kind == "integer" and p.minimum is not None and p.minimum >= 100:
        seen = {str(int(v)) for v in values if 200 <= v < 300}
        return tuple(sorted(set(HTTP_OK) | seen, key=int))
    if p.info.kind == "integer" and values and 0.0 in values:
        return ("0",)
    ok = tuple(value for value, _ in p.top if value.strip().lower() in _OK_WORDS)
    if ok:
        return ok
    notes.append(
        f"status {p.name}: none of its values ({p.shown(5)}) reads as ok; set ok_statuses "
        "(no error_rate rule until then)"
    )
    return None


def _negative_feedback(p: ColumnProfile, notes: list[str]) -> tuple[str, ...] | None:
    """-1 for thumbs, 0 for 0/1, 1-2 of a 1-5 rating, negative words of text."""
    values = p.values
    if p.info.kind == "boolean":
        return ("false", "0")
    if p.is_number and values:
        if -1.0 in values:
            return ("-1",)
        if values <= {0.0, 1.0}:
            return ("0",)
        if values <= {1.0, 2.0, 3.0, 4.0, 5.0}:
            return ("1", "2")
    negative = tuple(
        value.lower() for value, _ in p.top if value.strip().lower() in _NEGATIVE_WORDS
    )
    if negative:
        return negative
    notes.append(
        f"feedback {p.name}: none of its values ({p.shown(5)}) reads as negative; set "
        "negative_feedback (no negative_feedback_rate rule until then)"
    )
    return None


def _release_notes(mapping: dict[str, str], notes: list[str]) -> None:
    column = mapping.get("prompt_version")
    if column is not None and normalized_name(column) != "prompt_version":
        notes.append(
            f"release: {column} is mapped as prompt_version, so a release reads "
            f"<model>@<{column}>; `release:` may name any columns instead, e.g. "
            f"release: [{mapping.get('model_version', '<model column>')}, {column}]"
        )
    if not mapping.keys() & {"model_version", "prompt_version"}:
        notes.append("no model or version column: every row is one release (`default`)")


def _unit_notes(
    mapping: dict[str, str], by_name: dict[str, ColumnProfile], notes: list[str]
) -> None:
    """Durations that look like seconds (OTel's gen_ai.server.request.duration is in seconds)
    mapped to a field in milliseconds: thresholds follow the values, but not the units shown."""
    for field_name in ("latency_ms", "ttft_ms"):
        column = mapping.get(field_name)
        if column is None or normalized_name(column).endswith("ms"):
            continue
        p = by_name[column]
        if p.maximum is not None and p.maximum < 100:
            notes.append(
                f"{column} looks like seconds (at most {p.maximum:g}); {field_name} is in "
                "milliseconds: map a view with the column x 1000"
            )


def _cohorts(
    profiles: Sequence[ColumnProfile], mapping: dict[str, str]
) -> tuple[tuple[str, ...], dict[str, str]]:
    """Route (when mapped) and the unmapped low-cardinality columns, names like `region` first."""
    mapped_columns = set(mapping.values())
    chosen: list[str] = ["route"] if "route" in mapping else []
    why: dict[str, str] = {}
    ranked = []
    for p in profiles:
        if not p.info.mappable or p.name in mapped_columns or p.name in CANONICAL_FIELDS:
            continue
        if low_cardinality(p):
            words = set(normalized_name(p.name).split("_"))
            ranked.append((0 if words & _COHORT_WORDS else 1, p.distinct, p.name))
        elif p.is_text and not p.is_long_text and p.distinct > 50:
            why[p.name] = f"{p.distinct} distinct values in {p.rows:,} rows: too many for a cohort"
    for _, _, name in sorted(ranked):
        if len(chosen) < MAX_COHORTS:
            chosen.append(name)
        else:
            why[name] = f"low-cardinality too; cohorts kept to {MAX_COHORTS}: add it if it matters"
    return tuple(chosen), why


def _typical_share(p: ColumnProfile) -> float:
    """The traffic share of a typical value of a cohort column (the median value's)."""
    shares = value_shares(p)
    return float(np.median(shares)) if shares else 1.0


def _canonical(
    sample: pd.DataFrame, mapping: dict[str, str], cohorts: tuple[str, ...]
) -> pd.DataFrame:
    """The sample as a window reads it: mapped fields by canonical name, cohort columns."""
    wanted = {f: column for f, column in mapping.items() if column in sample}
    wanted.update({c: c for c in cohorts if c not in wanted and c in sample})
    return pd.DataFrame({name: sample[column] for name, column in wanted.items()})


def _drift_rule(owner: str) -> list[RulePlan]:
    return [
        RulePlan(
            name="drift",
            metric="drift_share",
            op=">",
            threshold=0.5,
            severity="P2",
            owner=owner,
            split_by=("*",),
            comment="half the compared columns drifted from the previous release",
        )
    ]


def _expectations(
    mapping: dict[str, str],
    release: tuple[str, ...],
    by_name: dict[str, ColumnProfile],
    negative: tuple[str, ...] | None,
) -> tuple[dict[str, Any], ...]:
    """The contract suite written out (so it can be edited), plus checks of coded columns."""
    from lookout.config.validation import default_suite

    suite = [
        spec.model_dump(exclude_defaults=True, exclude_none=True)
        for spec in default_suite(set(mapping), list(release), None)
    ]
    status = by_name.get(mapping.get("status", ""))
    if status is not None and status.info.kind == "integer" and (status.minimum or 0) >= 100:
        suite.append({"kind": "between", "column": "status", "min": 100, "max": 599})
    feedback = by_name.get(mapping.get("feedback", ""))
    if feedback is not None and negative == ("-1",) and feedback.info.kind == "integer":
        suite.append({"kind": "in_set", "column": "feedback", "values": [-1, 1]})
    for text in TEXT_FIELDS & {"tool_calls"} & set(mapping):
        suite.append({"kind": "json_parses", "column": text, "mostly": 0.99})
    return tuple(suite)


def _roles(
    columns: Sequence[ColumnInfo],
    by_name: dict[str, ColumnProfile],
    reasons: dict[str, tuple[str, str]],
    cohorts: tuple[str, ...],
    refused: dict[str, list[str]],
    cohort_notes: dict[str, str],
    mapping: dict[str, str],
) -> tuple[ColumnRole, ...]:
    out = []
    also = {column: f for f, column in mapping.items() if reasons.get(column, ("",))[0] != f}
    for info in columns:
        p = by_name[info.name]
        if info.name in reasons:
            f, why = reasons[info.name]
            role = f
            if f in cohorts:
                role, why = f"{f} + cohort", f"{why}; cohort"
            if info.name in also:
                role = f"{role} + {also[info.name]}"
            out.append(ColumnRole(info.name, info.sql_type, role, why))
        elif info.name in cohorts:
            why = f"{p.distinct} values ({p.shown()})"
            out.append(ColumnRole(info.name, info.sql_type, "cohort", f"low-cardinality: {why}"))
        else:
            out.append(
                ColumnRole(info.name, info.sql_type, "-", _why_not(p, refused, cohort_notes))
            )
    return tuple(out)


def _why_not(p: ColumnProfile, refused: dict[str, list[str]], cohort_notes: dict[str, str]) -> str:
    if not p.info.mappable:
        return "not a plain SQL identifier (letters, digits, _): rename it in a view to map it"
    if p.name in refused:
        return refused[p.name][0]
    if p.name in cohort_notes:
        return cohort_notes[p.name]
    if p.non_null == 0:
        return "no value in the sample"
    if p.is_time:
        return "another timestamp"
    if p.is_long_text:
        return "long text the name does not place: map it as input, output or context"
    if p.is_number:
        return "numbers the name does not place"
    if p.name in CANONICAL_FIELDS:
        return f"named {p.name} but its values do not fit"
    return f"{p.distinct} distinct values ({p.shown()}): the name does not place it"


def hours(value: timedelta) -> float:
    return value.total_seconds() / 3600


def ceil_to(value: float, step: float) -> float:
    return math.ceil(value / step - 1e-9) * step
