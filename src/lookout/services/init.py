"""`lookout init`'s proposal (pure): a monitor for a table, from its columns and a sample.

`propose` takes what the I/O part read (`lookout.services.init_table`): the reflected columns,
a bounded sample of the most recent day's rows and a traffic estimate. It returns a `Proposal`:
the column mapping with a reason per column, the release and cohorts, which statuses are ok and
which feedback is negative, a window size and pooling that let typical evaluations reach their
`min_n`, starter rules with thresholds from the sample, validation, drift and evaluators, and
what it could not map. `lookout.services.init_yaml` writes it as a commented monitors.yml.

The parts, each a module: column figures (`init_columns`), the fields a column could be
(`init_candidates`, by the names in `init_names`), which column is which field and the cohorts
(`init_mapping`), which fields make the release (`init_release`: none NULL on many rows), status,
feedback and expectations (`init_expectations`, none the sample itself fails: `init_selfcheck`),
windows and rules (`init_rules`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from lookout.model.aggregates import as_labels, label_text, release_labels
from lookout.model.record import CANONICAL_FIELDS, to_field_unit
from lookout.services.init_clock import clock_notes, future_note
from lookout.services.init_columns import ColumnInfo, ColumnProfile, profile_column, value_shares
from lookout.services.init_drift import drift_rules, drift_sized, score_rules
from lookout.services.init_durations import computed_durations, milliseconds
from lookout.services.init_environment import EnvironmentFilter, production_filter
from lookout.services.init_epochs import epoch_time_column, map_epoch_times, sample_times
from lookout.services.init_errors import (
    as_rule_statuses,
    error_status,
    level_status,
    not_the_errors,
)
from lookout.services.init_evaluators import EvaluatorPlan, evaluator_plan
from lookout.services.init_expectations import (
    fallback_statuses,
    negative_feedback,
    ok_reason,
    ok_statuses,
    propose_expectations,
    status_groups,
    unknown_statuses,
)
from lookout.services.init_json import expand_json
from lookout.services.init_mapping import (
    ColumnRole,
    assign_fields,
    capped,
    choose_cohorts,
    choose_time_column,
    column_roles,
    drift_features,
    fill_long_text,
    logged_units,
)
from lookout.services.init_release import choose_release
from lookout.services.init_rules import (
    RulePlan,
    Sizing,
    rule_plans,
    size_window,
)
from lookout.services.init_selfcheck import without_failures
from lookout.services.init_timing import grace_for
from lookout.services.init_traffic import Traffic
from lookout.services.init_twins import without_twins
from lookout.services.init_votes import VotesTable, usable_votes, with_votes_column

__all__ = [
    "ColumnRole",
    "Proposal",
    "Traffic",
    "choose_time_column",
    "propose",
]


@dataclass(frozen=True)
class Proposal:
    """A monitor for one table, with the reasons, ready to be shown and written."""

    monitor: str
    table: str
    schema: str | None
    columns: dict[str, str]  # canonical field -> column, in contract order
    units: dict[str, str]  # field -> the unit its column logs, when not ms or USD
    durations: dict[str, tuple[str, str]]  # field -> (start, end) times it is computed from
    where: dict[str, str | list[str]]  # column -> the value(s) of the rows watched
    where_reason: str  # why, in words
    fallback_statuses: tuple[str, ...]  # status values that say a fallback answered
    roles: tuple[ColumnRole, ...]  # every column of the table, in table order
    release: tuple[str, ...]
    cohorts: tuple[str, ...]
    ok_statuses: tuple[str, ...] | None
    ok_reason: str  # why ok_statuses holds what it does
    status_warning: str | None  # init cannot tell the ok statuses: which column, values, key
    status_rates: dict[str, list[str] | list[int]]  # values with a rate of their own, by name
    negative_feedback: tuple[str, ...] | None
    negative_feedback_below: float | None  # a score under it is negative (a scale, no codes)
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
    release_comment: str = ""  # what the release is made of, and why, in a few words
    drift_features: tuple[str, ...] = ()  # numeric columns drift compares (a model's score)
    json_fields: dict[str, str] = field(default_factory=dict)  # name -> path inside JSON
    null_status: bool = False  # the status is an error column: NULL is a success
    feedback_table: dict[str, object] | None = None  # votes logged apart (`source.feedback_table`)

    @property
    def unmapped(self) -> list[ColumnRole]:
        return [role for role in self.roles if role.role == "-"]


def propose(
    columns: Sequence[ColumnInfo],
    sample: pd.DataFrame,
    traffic: Traffic,
    *,
    table: str,
    schema: str | None = None,
    monitor: str | None = None,
    owner: str = "oncall",
    now: datetime | None = None,
    votes: VotesTable | None = None,
) -> Proposal:
    """The proposal for `table` from its columns, a sample of recent rows and its traffic
    (the keys of a JSON metadata column judged as columns: `init_json`); `now` (UTC) to say
    when the event times look written in local time; `votes`, a table of votes on these
    records (`init_votes`), counted when the records log no feedback of their own."""
    expansion = expand_json(columns, sample)
    columns, sample = expansion.columns, expansion.sample
    environment = production_filter(_profiles(columns, sample), sample)
    where, sample, traffic = _watched_rows(environment, sample, traffic)
    profiles = _profiles(columns, sample)
    by_name = {p.name: p for p in profiles}
    epoch = epoch_time_column(profiles)  # an epoch event time wins over an ingestion time
    assigned, refused = assign_fields(profiles, promote_ingestion=epoch is None)
    notes: list[str] = []
    fill_long_text(assigned, profiles, notes)
    mapping = {f: assigned[f][0] for f in CANONICAL_FIELDS if f in assigned}
    reasons = {assigned[f][0]: (f, assigned[f][1]) for f in CANONICAL_FIELDS if f in assigned}
    if environment is not None:
        reasons.setdefault(environment.column, ("where", environment.reason))
    error = error_status(profiles, mapping, set(mapping.values()))  # NULL on success
    # a log level beats an error message, which warnings fill too (Langfuse)
    level = level_status(profiles) if "status" not in mapping or error is not None else None
    if level is not None:
        error = None
        mapping["status"], reasons[level[0]] = level[0], ("status", level[2])
    elif error is not None:
        mapping["status"], reasons[error[0]] = error[0], ("status", error[1])
    if "record_id" not in mapping and "span_id" in mapping and by_name[mapping["span_id"]].unique:
        mapping = {"record_id": mapping["span_id"], **mapping}
        notes.append(f"record_id is the span id ({mapping['span_id']}): unique in the sample")
    mapping, units = map_epoch_times(profiles, mapping, reasons, notes, epoch)
    notes += clock_notes(by_name.get(mapping.get("ts", "")), "ts" in units, traffic, now)
    notes += future_note(mapping.get("ts", "the event time"), traffic)
    missing = tuple(f for f in ("record_id", "ts") if f not in mapping)
    status = by_name[mapping["status"]] if "status" in mapping else None
    ok = () if error is not None else ok_statuses(status) if status is not None else None
    ok = level[1] if level is not None else ok
    fallbacks = ()
    if status is not None and "is_fallback" not in mapping:
        fallbacks = fallback_statuses(status)
    status_warning = unknown_statuses(status) if status is not None and ok is None else None
    votes = usable_votes(votes, mapping, notes)
    voted = votes.profile() if votes is not None else by_name.get(mapping.get("feedback", ""))
    negative, below = negative_feedback(voted, notes) if voted is not None else (None, None)
    release = choose_release(mapping, profiles, sample, notes)
    units = {**units, **logged_units(mapping, by_name, notes)}
    durations = computed_durations(profiles, mapping, sample, notes)
    for field_name, (start, end) in durations.items():
        why = f"{field_name} is the time from {start} to {end}"
        reasons.setdefault(end, (f"{field_name} (end)", why))
    given = {**mapping, **{f: end for f, (_, end) in durations.items()}}  # what checks ask
    if fallbacks:
        given["is_fallback"] = mapping["status"]
    cohorts, cohort_notes = choose_cohorts(profiles, mapping)
    cohorts = tuple(c for c in cohorts if c not in where)
    cohorts = _not_the_release(sample, mapping, release.fields, cohorts, cohort_notes)
    cohorts = without_twins(sample, mapping, cohorts, cohort_notes)
    errors_ok = (*ok, *fallbacks) if ok is not None else None  # a fallback is no error
    cohorts = not_the_errors(sample, mapping, cohorts, errors_ok, cohort_notes)
    cohorts = capped(cohorts, cohort_notes)
    frame = _canonical(sample, mapping, cohorts, units, durations)
    if fallbacks:  # as the warehouse will read them: no errors, the fallback rate's count
        frame["is_fallback"] = frame["status"].map(label_text).isin(fallbacks)
        ok = (*ok, *fallbacks) if ok is not None else None
    sizing = size_window(traffic.rows_per_hour)
    if traffic.rows_per_hour is None:
        notes.append("traffic unknown (no timestamps read): 1h windows, rules as if busy")
    shares = {c: _typical_share(by_name[mapping.get(c, c)]) for c in cohorts}
    ruled, rule_ok = as_rule_statuses(frame, ok, error is not None)
    if votes is not None:  # sized as a table logging its votes on the records would be
        ruled = with_votes_column(ruled, votes, traffic.rows_per_hour)
    voted = {"feedback": votes.value} if votes is not None else {}
    rules, rule_notes = rule_plans(
        ruled,
        {**given, **voted},
        sizing,
        shares,
        rule_ok,
        negative if below is None else below,
        owner,
        release=bool(release.fields),
    )
    evaluators = evaluator_plan(frame, mapping, sizing, owner)
    drift, drift_cohorts = drift_sized(sizing, shares, notes)
    features = drift_features(profiles, mapping, cohorts) if drift else ()
    if drift:
        rules = (
            *rules,
            *drift_rules(owner, release=bool(release.fields)),
            *score_rules(features, cohorts, shares, owner),
        )
    rules = (*rules, *evaluators.rules)
    notes += [*rule_notes, *evaluators.notes]
    suite = propose_expectations(given, release.fields, by_name, negative, notes)
    expectations = without_failures(suite, frame, notes)
    roles = column_roles(
        columns, by_name, reasons, cohorts, refused, cohort_notes, mapping, features
    )
    used = {*mapping.values(), *(mapping.get(c, c) for c in cohorts), *where}
    return Proposal(
        monitor=monitor or table,
        table=table,
        schema=schema,
        columns=mapping,
        units=units,
        durations=durations,
        where=where,
        where_reason=environment.reason if environment is not None else "",
        roles=expansion.roles(roles, used),
        json_fields=expansion.used(used),
        release=release.fields,
        release_comment=release.comment,
        cohorts=cohorts,
        ok_statuses=tuple(v for v in ok if v not in fallbacks) if ok is not None else None,
        ok_reason=ok_reason(status, ok),
        null_status=error is not None,
        feedback_table=votes.config() if votes is not None else None,
        fallback_statuses=fallbacks,
        status_warning=status_warning,
        status_rates=status_groups(status, ok) if status is not None and error is None else {},
        negative_feedback=negative,
        negative_feedback_below=below,
        sizing=sizing,
        grace=grace_for(frame),
        rules=tuple(rules),
        expectations=expectations,
        drift=drift,
        drift_cohorts=drift_cohorts,
        drift_features=features,
        evaluators=evaluators,
        traffic=traffic,
        sample_rows=len(sample),
        notes=tuple(notes),
        missing=missing,
    )


def _watched_rows(
    environment: EnvironmentFilter | None, sample: pd.DataFrame, traffic: Traffic
) -> tuple[dict[str, str | list[str]], pd.DataFrame, Traffic]:
    """The `where` of a table several environments share (`init_environment`), and the sample
    and traffic of the rows it keeps: sized, mapped and checked on the watched rows only."""
    if environment is None:
        return {}, sample, traffic
    values = environment.values
    where = {environment.column: values[0] if len(values) == 1 else list(values)}
    share = float(environment.kept.mean())
    sample = sample[environment.kept.to_numpy()].reset_index(drop=True)
    if traffic.rows_per_hour is not None:
        traffic = replace(traffic, rows_per_hour=traffic.rows_per_hour * share)
    return where, sample, traffic


_ECHO_ROWS = 20  # rows a release needs in the sample for its one value to say anything


def _not_the_release(
    sample: pd.DataFrame,
    mapping: dict[str, str],
    release_fields: Sequence[str],
    cohorts: tuple[str, ...],
    why_not: dict[str, str],
) -> tuple[str, ...]:
    """The cohorts that are not the release again. A column holding one value per release (a
    shadow flag when the shadow model has its own tag) splits nothing: each of the release's
    alerts came again as `is_shadow=false` (the classic-model trial paged three times)."""
    columns = [mapping.get(f, f) for f in release_fields]
    if not columns or any(c not in sample for c in columns):
        return cohorts
    labels = release_labels(sample[columns].set_axis(list(release_fields), axis=1), release_fields)
    sizes = labels.value_counts()
    seen = labels.isin(sizes[sizes >= _ECHO_ROWS].index)
    if seen.sum() == 0 or labels[seen].nunique() < 2:
        return cohorts
    kept = []
    for cohort in cohorts:
        values = as_labels(sample[mapping.get(cohort, cohort)])
        if values[seen].nunique() > 1 and values[seen].groupby(labels[seen]).nunique().max() == 1:
            why_not[mapping.get(cohort, cohort)] = (
                "one value per release in the sample: it repeats the release (each release's "
                "alerts would come twice)"
            )
            continue
        kept.append(cohort)
    return tuple(kept)


def _profiles(columns: Sequence[ColumnInfo], sample: pd.DataFrame) -> list[ColumnProfile]:
    return [
        profile_column(c, sample[c.name] if c.name in sample else pd.Series([], dtype=object))
        for c in columns
    ]


def _typical_share(p: ColumnProfile) -> float:
    """The traffic share of a typical value of a cohort column (the median value's)."""
    shares = value_shares(p)
    return float(np.median(shares)) if shares else 1.0


def _canonical(
    sample: pd.DataFrame,
    mapping: dict[str, str],
    cohorts: tuple[str, ...],
    units: dict[str, str],
    durations: dict[str, tuple[str, str]],
) -> pd.DataFrame:
    """The sample as a window reads it: mapped fields by canonical name (durations in
    milliseconds and costs in US dollars, as `units` will have the warehouse convert them;
    durations computed from two times), cohort columns."""
    wanted = {f: column for f, column in mapping.items() if column in sample}
    wanted.update({c: c for c in cohorts if c not in wanted and c in sample})
    frame = pd.DataFrame({name: sample[column] for name, column in wanted.items()})
    for field_name, unit in units.items():
        if field_name in ("ts", "ingested_at") and field_name in frame:
            frame[field_name] = sample_times(frame[field_name], unit)
        elif field_name in frame:
            numbers = pd.to_numeric(frame[field_name], errors="coerce")
            frame[field_name] = to_field_unit(numbers.astype(float), unit)
    for field_name, (start, end) in durations.items():
        frame[field_name] = milliseconds(sample, start, end).to_numpy()
    return frame


def hours(value: timedelta) -> float:
    return value.total_seconds() / 3600


def ceil_to(value: float, step: float) -> float:
    return math.ceil(value / step - 1e-9) * step
