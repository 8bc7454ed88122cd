"""monitors.yml: a monitor's table of records and how its columns map onto the record
contract (release fields, cohorts, status and feedback values)."""

from __future__ import annotations

from datetime import UTC, timedelta, tzinfo
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from lookout.config.models.base import (
    Identifier,
    Model,
    PositiveDuration,
    raise_problems,
    values_as_lists,
)
from lookout.config.models.feedback import FeedbackTable, mapping_problems
from lookout.config.validation import ColumnValue
from lookout.model.json_path import JsonStep, check_json_path, split_json_path
from lookout.model.record import (
    CANONICAL_FIELDS,
    COST_UNITS,
    DURATION_FIELDS,
    DURATION_UNITS,
    FIELD_UNIT,
    REQUIRED_FIELDS,
    TIME_FIELDS,
    TIME_UNITS,
    UNIT_FIELDS,
    UNIT_WORDS,
    LoggedUnit,
    canonical_name,
)

__all__ = ["Elapsed", "JsonPath", "SourceConfig"]

JsonPath = Annotated[str, AfterValidator(check_json_path)]

# The kinds of units, each with the fields that take one: (what, units, fields).
_KINDS = (
    ("a duration", DURATION_UNITS, tuple(f for f, u in UNIT_FIELDS.items() if u == DURATION_UNITS)),
    ("a cost", COST_UNITS, tuple(f for f, u in UNIT_FIELDS.items() if u == COST_UNITS)),
    ("a time", TIME_UNITS, TIME_FIELDS),
)


def _unit_problem(field: object, unit: object) -> str | None:
    """What is wrong with `units: {field: unit}`: a field that takes no unit, an unknown
    unit, or a unit of another kind (`cost_usd: s`, `latency_ms: cents`); None when it fits."""
    known = UNIT_FIELDS.get(field) if isinstance(field, str) else None
    if known is None:
        kinds = [f"{', '.join(fields)} ({', '.join(units)})" for _, units, fields in _KINDS]
        return f"{field!r} takes no unit: units apply to {', '.join(kinds[:-1])} and {kinds[-1]}"
    if unit in known:
        return None
    what = next((what for what, units, _ in _KINDS if unit in units), None)
    if what is None:
        return f"unknown unit {unit!r}; known: {', '.join(known)}"
    kind = next(what for what, units, _ in _KINDS if units == known)
    read = "read as" if field in TIME_FIELDS else "read in"
    return (
        f"{unit!r} is {what} unit; {field} is {kind}, {read} {UNIT_WORDS[FIELD_UNIT[field]]}: "
        f"its column may log {', '.join(known[:-1])} or {known[-1]}"
    )


class Elapsed(Model):
    """A duration the table does not log but implies: the time from one timestamp column to
    another (`startTime` to `endTime`, as LiteLLM's and Langfuse's logs and span tables keep
    it)."""

    start: Identifier = Field(description="the column holding when the duration starts")
    end: Identifier = Field(description="the column holding when it ends")

    @model_validator(mode="after")
    def _two_columns(self) -> Elapsed:
        if self.start == self.end:
            raise ValueError(f"start and end are the same column {self.start!r}: always 0 ms")
        return self


class SourceConfig(Model):
    """Where a monitor's records live and how their columns map onto the record contract."""

    table: Identifier = Field(description="the table of records (quoted by SQLAlchemy)")
    schema_: Identifier | None = Field(
        default=None, alias="schema", description="the table's schema; null: the default one"
    )
    columns: dict[str, Identifier] = Field(
        description="canonical field (or OTel/OpenInference alias) -> column in the table"
    )
    units: dict[str, LoggedUnit] = Field(
        default={},
        description="field -> the unit its column logs, when not the field's own: a duration "
        "(latency_ms, ttft_ms) in s, ms (the default) or us; cost_usd in usd (the default), "
        "cents, micro_usd or nano_usd; an event or ingestion time (ts, ingested_at) as a Unix "
        "epoch number in epoch_s, epoch_ms or epoch_us instead of a timestamp. Every query "
        "reads the field in its own unit (the warehouse computes `column * 1000` for s, "
        "`column / 1000000` for micro_usd), so rules, expectations and results are in ms and "
        "USD; an epoch time is compared with integer bounds (`created_at >= 1793491200000`, "
        "so the table's index or partitions still prune) and read as UTC timestamps. The "
        "column must be of a numeric type",
    )
    durations: dict[str, Elapsed] = Field(
        default={},
        description="duration field (latency_ms, ttft_ms) -> the two timestamp columns it is "
        "the time between, for tables that log when a request started and ended instead of "
        "how long it took: `latency_ms: {start: startTime, end: endTime}`. The warehouse "
        "computes the milliseconds in every query; a row without an end reads as missing",
    )
    json_fields: dict[Identifier, JsonPath] = Field(
        default={},
        description="name -> `<json column>.<key>[.<key>...]`: a value inside a JSON column "
        "(Langfuse's and LiteLLM's `metadata`, OpenTelemetry `attributes`, Helicone's "
        "`properties`), usable by this name wherever a column is (columns, cohorts, release, "
        "where, drift features): `tenant: metadata.tenant`. A key with dots (a flat OTel "
        'attribute) goes in double quotes: `model: attributes."gen_ai.request.model"`. '
        "Every query extracts it in SQL as "
        "text (NULL for a missing key or a JSON null); the name must not be a column of the "
        "table, the JSON column must be of a JSON or text type",
    )
    timezone: str | None = Field(
        default=None,
        description="the IANA time zone (`America/New_York`, `Europe/Berlin`) in which the "
        "table writes its timestamps that carry no zone (`ts`, `ingested_at`, duration "
        "columns), when it is not UTC: a MySQL DATETIME or a PostgreSQL `timestamp` filled with "
        "a server's local time. Window bounds are written in it in every query and the values "
        "read back as UTC, so windows, freshness and lateness stay UTC. Columns with a time "
        "zone and epoch numbers are absolute and do not use it. The local hour that repeats in "
        "autumn is read as its second occurrence (one window holds both)",
    )
    where: dict[Identifier, list[ColumnValue | None]] = Field(
        default={},
        description="column -> the values a row must hold there to be monitored, for a table "
        "that logs more than one service's traffic: `{environment: production}`, "
        "`{span_kind: [llm, chain]}`. Every query reads only those rows (the others are not "
        "counted, validated or alerted on); a row whose column is NULL is left out unless "
        "`null` is listed (`{parent_run_id: null}`: a trace table's root spans). Canonical "
        "fields or other columns of the table",
    )
    where_not: dict[Identifier, list[ColumnValue | None]] = Field(
        default={},
        description="column -> values whose rows are not monitored (health checks, synthetic "
        "probes, a load test): `{route: [/healthz]}`, `{user: [loadtest]}`; a NULL is kept "
        "unless `null` is listed (`{parent_run_id: null}`: child spans only)",
    )
    release: list[Identifier] = Field(
        default=["model_version", "prompt_version"],
        description="the fields whose values, joined with @, name a release: mapped canonical "
        "fields or any other column of the table (text, integer...)",
    )
    cohorts: list[Identifier] = Field(
        default=[],
        description="columns whose values each get their metrics (canonical fields or other "
        "columns of the table); every column on its own, not the cross product",
    )
    max_cohort_values: int = Field(
        default=50,
        ge=1,
        description="per cohort column, the values with the most traffic (over "
        "cohort_lookback and the window) that get a cohort of their own; the rest are pooled "
        "as `(other)`",
    )
    cohort_lookback: PositiveDuration = Field(
        default=timedelta(days=7),
        description="the trailing period whose traffic ranks cohort values for the cap",
    )
    ok_statuses: list[ColumnValue] = Field(
        default=["ok", "success"],
        description="status values that are not errors: numbers (HTTP codes: [200, 201]), "
        "true/false or text, matched in the status column's type",
    )
    null_status: Literal["unknown", "ok"] = Field(
        default="unknown",
        description="what a NULL status means: `unknown` (the default: the row counts in no "
        "error rate) or `ok`, for a table whose status column is an error column, NULL when "
        "the request succeeded and the error (a message, a code) when it failed: map it as "
        "`status` and every non-NULL value that is not in ok_statuses is an error",
    )
    fallback_statuses: list[ColumnValue] = Field(
        default=[],
        description="status values that mean a fallback answered (a rules engine, a cached "
        "answer, a smaller model): not errors, and, when no is_fallback column is mapped, what "
        "the fallback rate counts: `[FALLBACK_RULES]`, `[206]`",
    )
    status_rates: dict[Identifier, list[ColumnValue]] = Field(
        default={},
        description="a rate of its own for some status values: `status_rate.<name>` is the "
        "share of the records `error_rate` counts whose status is one of them, as it counts "
        "errors: a status neither ok nor an error (`{blocked: [guardrail_block]}`), or errors "
        "worth their own rule (`{rate_limited: [429]}`)",
    )
    negative_feedback: list[ColumnValue] = Field(
        default=["thumbs_down", "negative", "-1"],
        description="feedback values that count as negative: numbers ([-1], [0]), true/false "
        "or text (without case), matched in the feedback column's type",
    )
    negative_feedback_below: float | None = Field(
        default=None,
        description="a feedback score below this counts as negative too: a 0-1 score "
        "(LangSmith's and Langfuse's numeric scores) `0.5`, a 1-10 rating `5`; the feedback "
        "column must be numeric",
    )
    feedback_table: FeedbackTable | None = Field(
        default=None,
        description="votes logged in a table of their own, each naming the record it rates: a "
        "window counts those given in it, under their records' release and cohorts",
    )

    model_config = ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, populate_by_name=True
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            why = f"unknown time zone {value!r}: an IANA name such as Europe/Berlin, or UTC"
            raise ValueError(why) from None
        return value

    @property
    def zone(self) -> tzinfo:
        """The zone of the table's timestamps without one (UTC unless `timezone` says)."""
        return ZoneInfo(self.timezone) if self.timezone else UTC

    def unit(self, field: str) -> str | None:
        """The unit `field`'s column logs: `units`' or the field's own (ms, usd, utc for a
        timestamp); None for a field without units (read as stored)."""
        return self.units.get(field, FIELD_UNIT.get(field))

    def epoch_unit(self, field: str) -> str | None:
        """The epoch unit of a time field whose column logs a Unix epoch number (`epoch_ms`);
        None for a timestamp column (and any other field)."""
        unit = self.units.get(field)
        return unit if unit in TIME_UNITS else None

    @property
    def fields(self) -> tuple[str, ...]:
        """The canonical fields this table gives: mapped to a column, or computed from two
        (`durations`), or from the status (`is_fallback`, by `fallback_statuses`). What
        checks ask before they run ("is latency logged?")."""
        derived = ("is_fallback",) if self.fallback_from_status else ()
        return (*self.columns, *self.durations, *derived)

    def maps(self, field: str) -> bool:
        """`field` is given by the table (a mapped column or a computed one)."""
        return field in self.fields

    @property
    def fallback_from_status(self) -> bool:
        """`is_fallback` is read from the status (no column of its own is mapped)."""
        return bool(self.fallback_statuses) and "is_fallback" not in self.columns

    @property
    def reading(self) -> str:
        """What decides which rows are read and the values their fields read as (filters,
        computed durations, units, fallback statuses, paths into JSON), as text: a summary or
        a cached profile made under another reading stands for other rows. Empty for a source
        that reads its columns as they are (keys made before this existed stay valid)."""
        parts = {
            "timezone": self.timezone,
            "where": self.where,
            "where_not": self.where_not,
            "durations": {f: [e.start, e.end] for f, e in self.durations.items()},
            "units": self.units,
            "fallback": self.fallback_statuses,
            "json_fields": self.json_fields,
        }
        kept = sorted((k, repr(v)) for k, v in parts.items() if v)
        return repr(kept) if kept else ""

    def json_path(self, column: str) -> tuple[str, tuple[JsonStep, ...]] | None:
        """(JSON column, keys and array indexes) when `column` names a value inside a JSON column
        (`json_fields`), else None: a column of the table."""
        path = self.json_fields.get(column)
        return split_json_path(path) if path is not None else None

    def votes_source(self) -> SourceConfig:
        """The votes' table as a source: this one's zone and, by default, its schema."""
        fields = {"schema_": self.schema_, "timezone": self.timezone}
        fields |= self.feedback_table.source_fields() if self.feedback_table else {}
        return SourceConfig.model_construct(**fields)

    @property
    def ok_values(self) -> tuple[ColumnValue, ...]:
        """Status values that are no error: the ok ones and the fallback ones."""
        return (*self.ok_statuses, *self.fallback_statuses)

    def selectable(self, name: str) -> bool:
        """A name a window query can select: a mapped canonical field, a release field or
        cohort that is a column of the table under its own name, or a value inside JSON."""
        return (
            self.maps(name)
            or name in self.release
            or name in self.cohorts
            or name in self.json_fields
        )

    _values_as_lists = field_validator("where", "where_not", "status_rates", mode="before")(
        values_as_lists
    )

    @field_validator("durations", mode="before")
    @classmethod
    def _duration_keys(cls, durations: object) -> object:
        """Only a duration field can be computed from two times (aliases accepted)."""
        if not isinstance(durations, dict):
            return durations
        keyed: dict[str, object] = {}
        problems = []
        for key, value in durations.items():
            field = canonical_name(key) if isinstance(key, str) else None
            if field in DURATION_FIELDS:
                keyed[field] = value
                continue
            why = f"{key!r} is no duration; durations apply to {', '.join(DURATION_FIELDS)}"
            problems.append(((str(key),), why, value))
        raise_problems("durations", problems)
        return keyed

    @model_validator(mode="after")
    def _computed_or_mapped(self) -> SourceConfig:
        """A duration comes from one column or from two times, not both; and a unit is the
        unit of a column, so a computed duration (always milliseconds) takes none."""
        problems = []
        for key in ("fallback_statuses", "status_rates"):
            if getattr(self, key) and "status" not in self.columns:
                why = f"{key} are values of the status column, which is not mapped"
                problems.append(((key,), why))
        problems += mapping_problems(self.feedback_table, self.columns)
        for key in ("where", "where_not"):
            for column in getattr(self, key):
                if column in self.durations:
                    why = f"{column} is computed from two times: filter on a column of the table"
                    problems.append(((key, column), why))
        for field, elapsed in self.durations.items():
            for end in ("start", "end"):
                if getattr(elapsed, end) in self.json_fields:
                    why = f"{getattr(elapsed, end)} is a value inside JSON: name a timestamp column"
                    problems.append((("durations", field, end), why))
            if field in self.columns:
                why = f"{field} is both mapped in columns and computed here: keep one"
                problems.append((("durations", field), why))
            if field in self.units:
                why = f"{field} is computed from two timestamps (in milliseconds): no unit"
                problems.append((("units", field), why))
        raise_problems("source", [(loc, why, None) for loc, why in problems])
        return self

    @field_validator("units", mode="before")
    @classmethod
    def _units_fit_their_fields(cls, units: object) -> object:
        """Each unit is one its field's column may log, each problem at its own key."""
        if not isinstance(units, dict):
            return units  # pydantic says it expects a mapping
        problems = [
            ((str(field),), problem, unit)
            for field, unit in units.items()
            if (problem := _unit_problem(field, unit)) is not None
        ]
        raise_problems("units", problems)
        return units

    @field_validator("columns")
    @classmethod
    def _canonical_keys(cls, columns: dict[str, str]) -> dict[str, str]:
        mapped: dict[str, str] = {}
        for key, column in columns.items():
            field = canonical_name(key)
            if field is None:
                raise ValueError(
                    f"{key!r} is not a canonical field; known: {', '.join(CANONICAL_FIELDS)}"
                )
            if field in mapped:
                raise ValueError(f"{field!r} is mapped twice")
            mapped[field] = column
        missing = [field for field in REQUIRED_FIELDS if field not in mapped]
        if missing:
            raise ValueError(f"required field(s) not mapped: {', '.join(missing)}")
        return mapped
