"""Which column of the table is which field, for `lookout init` (pure).

Each canonical field goes to its best candidate (`lookout.services.init_candidates`), one
field per column; long text the names did not place becomes input and output by column order;
low-cardinality columns become cohorts, names like `region` first, never text named like text
(`ctx`, `question`) however few values a sample shows. Every column of the table
gets a role and the reason for it, or the reason it has none.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from lookout.model.record import CANONICAL_FIELDS, DURATION_FIELDS
from lookout.services.init_candidates import NAMED_LOOSELY, Candidate, candidates, describe
from lookout.services.init_columns import ColumnInfo, ColumnProfile, low_cardinality
from lookout.services.init_costs import cost_unit
from lookout.services.init_epochs import epoch_ingestion_column, epoch_time_column
from lookout.services.init_names import normalized_name, says_text

__all__ = [
    "MAX_COHORTS",
    "ColumnRole",
    "assign_fields",
    "capped",
    "choose_cohorts",
    "choose_time_column",
    "column_roles",
    "fill_long_text",
    "logged_units",
    "named_duration_unit",
]

MAX_COHORTS = 4  # cohort columns proposed (each multiplies the metrics stored per window)
SHORT_LABEL = 20  # mean characters up to which text named like prose may still be a label
_PROSE = 0.5  # share of one-token values below which long text unplaced by name is prose
# Names of long text that is data about a request, not its prompt or answer (a classic
# model's JSON of input features, a span's attributes).
_NOT_PROSE_WORDS = frozenset(
    {"features", "feature", "metadata", "meta", "attributes", "attrs", "tags", "params",
     "parameters", "properties", "props", "labels", "config", "settings", "headers", "extra",
     "resource", "usage", "stats"}
)  # fmt: skip
_COHORT_WORDS = frozenset(
    {"region", "tier", "plan", "country", "locale", "language", "lang", "platform", "channel",
     "env", "environment", "device", "client", "segment", "market", "product", "app", "source",
     "surface", "geo", "zone", "customer", "tenant", "org", "team", "sku", "edition"}
)  # fmt: skip
# The last word of a duration column's name that says its unit (`duration_s`, `latency_ms`).
_MS_WORDS = frozenset({"ms", "msec", "msecs", "millis", "milliseconds"})
_SECONDS_WORDS = frozenset({"s", "sec", "secs", "second", "seconds"})
_MICROS_WORDS = frozenset({"us", "usec", "usecs", "micros", "microseconds"})
_NANOS_WORDS = frozenset({"ns", "nsec", "nsecs", "nano", "nanos", "nanoseconds"})
# A duration's median past these is no request's in milliseconds (5 minutes) or microseconds
# (16 minutes); in a span table (a span id mapped) past 30 s in microseconds, where an
# OpenTelemetry span's `Duration` in nanoseconds is 30 ms: a reasoning model's 30 s median
# in microseconds elsewhere stays microseconds
_MEDIAN_NOT_MS = 300_000
_MEDIAN_NOT_US = 1_000_000_000
_MEDIAN_NOT_US_IN_SPANS = 30_000_000


@dataclass(frozen=True)
class ColumnRole:
    """One column of the table in the proposal: what it became and why."""

    column: str
    sql_type: str
    role: str  # a canonical field, `cohort`, both, or `-`
    reason: str


def choose_time_column(profiles: Sequence[ColumnProfile]) -> tuple[str | None, str | None]:
    """The event-time column and its epoch unit: a timestamp named or typed as the event time
    first; else an integer of Unix epoch numbers named like a time (`created_at` BIGINT); only
    then a timestamp named as an ingestion time (`inserted_at`), and last an integer of epoch
    numbers named so (`inserted_at_ms`), which would otherwise cut windows on when rows were
    loaded (`propose` maps the same column: `map_epoch_times`)."""
    assigned, _ = assign_fields(profiles, promote_ingestion=False)
    if "ts" in assigned:
        return assigned["ts"][0], None
    if (epoch := epoch_time_column(profiles)) is not None:
        return epoch.column, epoch.unit
    if "ingested_at" in assigned:
        return assigned["ingested_at"][0], None
    taken = {column for column, _ in assigned.values()}
    ingestion = epoch_ingestion_column([p for p in profiles if p.name not in taken])
    return (ingestion.column, ingestion.unit) if ingestion is not None else (None, None)


def assign_fields(
    profiles: Sequence[ColumnProfile], *, promote_ingestion: bool = True
) -> tuple[dict[str, tuple[str, str]], dict[str, list[str]]]:
    """field -> (column, reason), best candidates first, one field per column; without a
    timestamp for the event time, the ingestion time is one (`promote_ingestion`)."""
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
    if promote_ingestion and "ts" not in assigned and "ingested_at" in assigned:
        column, _ = assigned.pop("ingested_at")
        assigned["ts"] = (column, "the only timestamp: used as the event time")
    return assigned, refused


def fill_long_text(
    assigned: dict[str, tuple[str, str]], profiles: Sequence[ColumnProfile], notes: list[str]
) -> None:
    """Input and output from long text columns the names did not place, in table order.
    Only prose: a long value that is one token of ASCII is a key or a hash (LiteLLM's hashed
    `api_key`, 64 hex characters), a URL or base64, never what a user asked (Japanese or
    Chinese prose has no spaces either, and is prose)."""
    taken = {column for column, _ in assigned.values()}
    loose = [
        p
        for p in profiles
        if p.info.mappable
        and p.is_long_text
        and (p.token_share < _PROSE or p.info.json)
        and not set(normalized_name(p.name).split("_")) & _NOT_PROSE_WORDS
        and p.name not in taken
    ]
    for target in ("input", "output"):
        if target in assigned or not loose:
            continue
        column = loose.pop(0)
        assigned[target] = (column.name, f"long text (~{column.mean_length:.0f} chars), by order")
        notes.append(f"{target} is {column.name} only by column order: check it")


def logged_units(
    mapping: dict[str, str], by_name: dict[str, ColumnProfile], notes: list[str]
) -> dict[str, str]:
    """The unit of each mapped duration whose column does not log milliseconds, and of a cost
    column named in cents or micro-dollars (`source.units`, so every query reads them in ms
    and USD: thresholds are sized on the sample converted the same way). Seconds or
    microseconds by the name's last word (`duration_s`, `ttft_us`), or seconds by values that
    are all under 100 in a column not named in ms (OpenTelemetry's
    gen_ai.server.request.duration is in seconds), microseconds or nanoseconds by a median no
    request's milliseconds reach (a span's `Duration`); the cost's by its name only
    (`init_costs`)."""
    units: dict[str, str] = {}
    for field_name in DURATION_FIELDS:
        column = mapping.get(field_name)
        if column is None:
            continue
        p = by_name[column]
        unit, why = _logged_unit(column, p, spans="span_id" in mapping)
        if unit == "ms":
            continue
        if p.info.kind not in ("integer", "number"):
            notes.append(
                f"{column} {why}, but holds text: a unit converts only a numeric column, so "
                f"{field_name} would be 1000x off; log milliseconds, or map a view that casts it"
            )
            continue
        units[field_name] = unit
        factor = {"s": "x 1000", "us": "/ 1000", "ns": "/ 1,000,000"}[unit]
        notes.append(
            f"{column} {why}: `units: {{{field_name}: {unit}}}` reads it in milliseconds "
            f"({factor}, in the warehouse), so thresholds and results are in ms; if it logs "
            f"another unit, set it (s, ms, us, ns)"
        )
    if "cost_usd" in mapping:
        column = mapping["cost_usd"]
        if (logged := cost_unit(column, by_name[column], notes)) is not None:
            units["cost_usd"] = logged
    return units


def named_duration_unit(column: str) -> str | None:
    """The unit a duration column's name says by its last word (`duration_s`, `ttft_us`,
    `inferenceNs`), or None."""
    tail = normalized_name(column).split("_")[-1]
    for unit, words in _DURATION_WORDS.items():
        if tail in words:
            return unit
    return None


_DURATION_WORDS = {"ms": _MS_WORDS, "s": _SECONDS_WORDS, "us": _MICROS_WORDS, "ns": _NANOS_WORDS}
_NAMED_IN = {"s": "seconds", "us": "microseconds", "ns": "nanoseconds"}


def _logged_unit(column: str, p: ColumnProfile, *, spans: bool = False) -> tuple[str, str]:
    """(unit a duration column logs, why) by its name's last word, else by its values."""
    named = named_duration_unit(column)
    if named == "ms" or normalized_name(column).endswith("ms"):
        return "ms", ""
    if named is not None:
        return named, f"is named in {_NAMED_IN[named]}"
    if p.maximum is not None and p.maximum < 100:
        return "s", f"looks like seconds (at most {p.maximum:g})"
    not_us = _MEDIAN_NOT_US_IN_SPANS if spans else _MEDIAN_NOT_US
    if p.median is not None and p.median >= not_us:
        return "ns", f"looks like nanoseconds (median {p.median:,.0f})"
    if p.median is not None and p.median >= _MEDIAN_NOT_MS:
        return "us", f"looks like microseconds (median {p.median:,.0f})"
    return "ms", ""


def choose_cohorts(
    profiles: Sequence[ColumnProfile], mapping: dict[str, str]
) -> tuple[tuple[str, ...], dict[str, str]]:
    """Route (when mapped) and the unmapped low-cardinality columns, names like `region` first:
    every candidate, ranked; `capped` keeps `MAX_COHORTS` of those the other checks leave (a
    candidate dropped as the release again or a twin makes room for the next)."""
    mapped_columns = set(mapping.values())
    chosen: list[str] = ["route"] if "route" in mapping else []
    why: dict[str, str] = {}
    ranked = []
    for p in profiles:
        if not p.info.mappable or p.name in mapped_columns or p.name in CANONICAL_FIELDS:
            continue
        if p.info.kind == "other" and p.info.path is None:  # JSON, arrays: no single value
            continue
        prose = _named_prose(p)
        if prose is not None:
            why[p.name] = prose
        elif low_cardinality(p):
            words = set(normalized_name(p.name).split("_"))
            ranked.append((0 if words & _COHORT_WORDS else 1, p.distinct, p.name))
        elif p.is_text and not p.is_long_text and p.distinct > 50:
            why[p.name] = f"{p.distinct} distinct values in {p.rows:,} rows: too many for a cohort"
    chosen += [name for _, _, name in sorted(ranked)]
    return tuple(chosen), why


def capped(cohorts: tuple[str, ...], why: dict[str, str]) -> tuple[str, ...]:
    """The first `MAX_COHORTS` cohorts; each other one says why it was left out."""
    for name in cohorts[MAX_COHORTS:]:
        why[name] = f"low-cardinality too; cohorts kept to {MAX_COHORTS}: add it if it matters"
    return cohorts[:MAX_COHORTS]


def _named_prose(p: ColumnProfile) -> str | None:
    """Why a column named like text (`ctx`, `question_body`) holding more than a short label
    is no cohort, however few values a small sample shows; None when it may be one."""
    word = says_text(normalized_name(p.name))
    if word is None or p.mean_length < SHORT_LABEL:
        return None
    return f"named like text ({word!r}), ~{p.mean_length:.0f} characters a value: not a cohort"


_ID_NAME = re.compile(r"(^id$|_id$|[a-z]Id$|_key$)")


def drift_features(
    profiles: Sequence[ColumnProfile], mapping: dict[str, str], cohorts: tuple[str, ...]
) -> tuple[str, ...]:
    """Numeric columns no field or cohort took: a classic model's score and input features,
    which drift compares only when named under `drift.features` (ids left out: named like
    one, or unique in the sample)."""
    taken = set(mapping.values()) | set(cohorts)
    return tuple(
        p.name
        for p in profiles
        if p.info.kind in ("integer", "number")
        and p.info.mappable
        and p.non_null > 0
        and p.name not in taken
        and p.name not in CANONICAL_FIELDS
        and not _ID_NAME.search(p.name)
        and not (p.unique and p.integral)
    )


def column_roles(
    columns: Sequence[ColumnInfo],
    by_name: dict[str, ColumnProfile],
    reasons: dict[str, tuple[str, str]],
    cohorts: tuple[str, ...],
    refused: dict[str, list[str]],
    cohort_notes: dict[str, str],
    mapping: dict[str, str],
    features: tuple[str, ...] = (),
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
        elif info.name in features:
            why = f"numbers the name does not place ({_range(p)}): drift compares them"
            out.append(ColumnRole(info.name, info.sql_type, "drift feature", why))
        else:
            out.append(
                ColumnRole(info.name, info.sql_type, "-", _why_not(p, refused, cohort_notes))
            )
    return tuple(out)


def _range(p: ColumnProfile) -> str:
    return f"{p.minimum:g} to {p.maximum:g}" if p.minimum is not None else "no number"


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
