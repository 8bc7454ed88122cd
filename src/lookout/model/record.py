"""The record contract: canonical column names, accepted aliases, identifier rules.

Monitors map their table's columns onto these names; only `record_id` and `ts` are required,
the rest switch on the checks that need them. Span tables exported by tracing tools keep their
OpenTelemetry GenAI / OpenInference attribute names, which are accepted as aliases.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

__all__ = [
    "CANONICAL_ALIASES",
    "CANONICAL_FIELDS",
    "COST_UNITS",
    "DURATION_FIELDS",
    "DURATION_UNITS",
    "FIELD_UNIT",
    "IDENTIFIER_PATTERN",
    "NOT_A_NUMBER",
    "NUMBER_TEXT",
    "NUMERIC_FIELDS",
    "REQUIRED_FIELDS",
    "TEXT_FIELDS",
    "TIME_FIELDS",
    "TIME_UNITS",
    "UNIT_FIELDS",
    "UNIT_WORDS",
    "CostUnit",
    "DurationUnit",
    "LoggedUnit",
    "TimeUnit",
    "canonical_name",
    "check_identifier",
    "epoch_bound",
    "from_epoch",
    "is_missing",
    "not_a_number_reason",
    "parse_numbers",
    "to_field_unit",
    "unit_factor",
]

REQUIRED_FIELDS = ("record_id", "ts")

CANONICAL_FIELDS: tuple[str, ...] = (
    "record_id",
    "ts",
    "ingested_at",
    "model_version",
    "prompt_version",
    "route",
    "input",
    "output",
    "context",
    "expected",
    "latency_ms",
    "ttft_ms",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "status",
    "is_fallback",
    "retry_count",
    "tool_calls",
    "feedback",
    "trace_id",
    "span_id",
    "parent_span_id",
    "step",
)

# Numeric measurements: coerced to float on read; never negative in a valid record.
NUMERIC_FIELDS = (
    "latency_ms",
    "ttft_ms",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "retry_count",
)

# Durations: read in milliseconds whatever unit the column logs them in (`source.units`).
DURATION_FIELDS = ("latency_ms", "ttft_ms")
# The units a duration column may log (OTel's gen_ai durations are in seconds, a span's
# `Duration` in nanoseconds).
DurationUnit = Literal["s", "ms", "us", "ns"]
DURATION_UNITS: tuple[str, ...] = get_args(DurationUnit)
# The units a cost column may log, read in US dollars: cents (Anthropic's cost report, OpenAI's
# spend limits), micro-dollars (integer ledgers: `cost_micro_usd BIGINT`), nano-dollars
# (Helicone stores its costs as integers x 1e9).
CostUnit = Literal["usd", "cents", "micro_usd", "nano_usd"]
COST_UNITS: tuple[str, ...] = get_args(CostUnit)
# Event and ingestion times: read as UTC timestamps, whether the column holds timestamps or a
# Unix epoch integer (`created_at BIGINT` in milliseconds: Kafka, ClickHouse, DynamoDB exports;
# in nanoseconds: OpenTelemetry's `StartTimeUnixNano`).
TIME_FIELDS = ("ts", "ingested_at")
TimeUnit = Literal["epoch_s", "epoch_ms", "epoch_us", "epoch_ns"]
TIME_UNITS: tuple[str, ...] = get_args(TimeUnit)
LoggedUnit = Literal[DurationUnit, CostUnit, TimeUnit]
# The fields a column's unit applies to (`source.units`): field -> the units it may log, and
# the unit every query reads it in ("utc": a timestamp, the column's own type when no unit).
UNIT_FIELDS: dict[str, tuple[str, ...]] = {
    "latency_ms": DURATION_UNITS,
    "ttft_ms": DURATION_UNITS,
    "cost_usd": COST_UNITS,
    "ts": TIME_UNITS,
    "ingested_at": TIME_UNITS,
}
FIELD_UNIT: dict[str, str] = {
    "latency_ms": "ms",
    "ttft_ms": "ms",
    "cost_usd": "usd",
    "ts": "utc",
    "ingested_at": "utc",
}
UNIT_WORDS: dict[str, str] = {
    "utc": "UTC timestamps",
    "epoch_s": "seconds since 1970-01-01 UTC",
    "epoch_ms": "milliseconds since 1970-01-01 UTC",
    "epoch_us": "microseconds since 1970-01-01 UTC",
    "epoch_ns": "nanoseconds since 1970-01-01 UTC",
    "s": "seconds",
    "ms": "milliseconds",
    "us": "microseconds",
    "ns": "nanoseconds",
    "usd": "US dollars",
    "cents": "cents",
    "micro_usd": "micro-dollars",
    "nano_usd": "nano-dollars",
}
# A value logged in a unit, times `a / b`, is in its field's unit (as whole numbers: exact).
_FACTORS: dict[str, tuple[int, int]] = {
    "s": (1000, 1),
    "ms": (1, 1),
    "us": (1, 1000),
    "ns": (1, 10**6),
    "usd": (1, 1),
    "cents": (1, 100),
    "micro_usd": (1, 10**6),
    "nano_usd": (1, 10**9),
}
# Steps of an epoch time unit in one second; epochs count from 1970-01-01 UTC.
_EPOCH_PER_SECOND: dict[str, int] = {
    "epoch_s": 1,
    "epoch_ms": 1000,
    "epoch_us": 10**6,
    "epoch_ns": 10**9,
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NANOS_LIMIT = 9_000_000_000_000_000_000  # pandas' nanoseconds in int64: years 1685 to 2255

# The quarantine reason (and validation outcome name) of a record whose numeric field holds a
# value that is not a number: `not_a_number:latency_ms`.
NOT_A_NUMBER = "not_a_number"

# Text that is a number: one decimal literal (sign, digits, point, exponent), surrounding
# spaces, tabs and line breaks ignored; ASCII digits only. `NaN`, `inf`, `12ms`, `1,000`, `0x1f`
# are not numbers; neither is a literal whose value overflows a double (`1e999`).
NUMBER_TEXT = re.compile(
    r"[ \t\n\r]*([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)[ \t\n\r]*"
)
_BLANK = re.compile(r"[ \t\n\r]*")

# Long text columns: never read unless a stage needs them (they dominate read time).
TEXT_FIELDS = frozenset({"input", "output", "context", "expected", "tool_calls"})

CANONICAL_ALIASES: dict[str, str] = {
    # OpenTelemetry GenAI semantic conventions
    "gen_ai.request.model": "model_version",
    "gen_ai.response.model": "model_version",
    "gen_ai.usage.input_tokens": "prompt_tokens",
    "gen_ai.usage.output_tokens": "completion_tokens",
    "gen_ai.server.time_to_first_token": "ttft_ms",
    "gen_ai.server.request.duration": "latency_ms",
    "gen_ai.prompt": "input",
    "gen_ai.completion": "output",
    "trace_id": "trace_id",
    "span_id": "span_id",
    # OpenInference
    "llm.model_name": "model_version",
    "llm.token_count.prompt": "prompt_tokens",
    "llm.token_count.completion": "completion_tokens",
    "input.value": "input",
    "output.value": "output",
    "retrieval.documents": "context",
    "context.trace_id": "trace_id",
    "context.span_id": "span_id",
    "parent_id": "parent_span_id",
}

# Plain SQL identifiers only: letters, digits, underscore, not starting with a digit, and the
# 63-byte limit of PostgreSQL. Anything else is rejected at config load, before any SQL exists;
# accepted names are still quoted by SQLAlchemy when statements are compiled.
IDENTIFIER_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}\Z")  # \Z: no trailing newline


def canonical_name(name: str) -> str | None:
    """The canonical field a config key means (itself, or the field an alias stands for)."""
    if name in CANONICAL_FIELDS:
        return name
    return CANONICAL_ALIASES.get(name)


def unit_factor(unit: str) -> tuple[int, int]:
    """(times, divided by): what turns a value logged in `unit` into its field's unit
    (milliseconds, US dollars): `(1000, 1)` for seconds, `(1, 1_000_000)` for micro-dollars."""
    try:
        return _FACTORS[unit]
    except KeyError:
        raise ValueError(f"unknown unit {unit!r}; known: {', '.join(_FACTORS)}") from None


def to_field_unit(value: Any, unit: str) -> Any:
    """`value` (a Series or a number) logged in `unit`, in its field's unit: milliseconds for
    a duration, US dollars for a cost. The factor the warehouse applies in SQL
    (`WarehouseTables.column`), for what reads values outside it (init's sample)."""
    times, divisor = unit_factor(unit)
    if times != 1:
        value = value * times
    if divisor != 1:
        value = value / divisor
    return value


def _per_second(unit: str) -> int:
    try:
        return _EPOCH_PER_SECOND[unit]
    except KeyError:
        raise ValueError(f"unknown time unit {unit!r}; known: {', '.join(TIME_UNITS)}") from None


def epoch_bound(moment: datetime, unit: str, *, down: bool = False) -> int:
    """`moment` (aware, or naive UTC) as the integer an epoch column in `unit` compares with:
    rounded up (`column >= bound`, `column < bound` keep exactly the instants at or after,
    before `moment`), or `down` for `column > bound`. Integer arithmetic: exact at any unit."""
    moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    nanos = (moment - _EPOCH) // timedelta(microseconds=1) * 1000  # datetimes hold microseconds
    per_step = 10**9 // _per_second(unit)  # nanoseconds in one step of the unit
    whole, rest = divmod(nanos, per_step)
    return whole + 1 if rest and not down else whole


def from_epoch(values: pd.Series, unit: str) -> pd.Series:
    """Epoch numbers logged in `unit` as aware UTC timestamps, equal to the instants a
    TIMESTAMP column of them reads as. pandas converts the integer part exactly (nanoseconds in
    int64); NULL, a value that is not a number and one beyond the years pandas holds (about
    1685-2255 here) read as NaT, a missing time."""
    numbers = pd.to_numeric(values, errors="coerce")
    if not isinstance(numbers.dtype, np.dtype):  # nullable and Arrow numbers (and NA)
        # integers stay integers: an epoch in nanoseconds is past 2**53, a double's exact range
        whole = getattr(numbers.dtype, "kind", "f") in "iu"
        numbers = numbers.astype("Int64" if whole else float)
    in_range = numbers.abs() < _NANOS_LIMIT // (10**9 // _per_second(unit))
    if not in_range.all():  # floats of integers below 2**53 (any epoch in us) are exact
        numbers = numbers.where(in_range)
    step = unit.removeprefix("epoch_")
    moments = pd.to_datetime(numbers, unit=step, utc=True, errors="coerce")
    return moments.astype("datetime64[ns, UTC]")


def check_identifier(value: str) -> str:
    """Return `value` if it is a safe SQL identifier, else raise ValueError saying why."""
    if not isinstance(value, str) or not IDENTIFIER_PATTERN.match(value):
        raise ValueError(
            f"{value!r} is not a plain SQL identifier (letters, digits and _, "
            "not starting with a digit, at most 63 characters)"
        )
    return value


def is_missing(value: object) -> bool:
    """A logged value that is not there: None, pandas' NA, or a float NaN (how pandas and
    the drivers hand back a NULL, depending on the column's dtype)."""
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def not_a_number_reason(field: str) -> str:
    """`not_a_number:<field>`: why a record with such a value is quarantined."""
    return f"{NOT_A_NUMBER}:{field}"


def _scalar_number(value: object) -> float | None:
    """A logged value as a finite float; None when it is missing; NaN (as a marker) when it is
    not a number. Blank text is missing, as is a float NaN (what a NULL reads as)."""
    if isinstance(value, str):
        if _BLANK.fullmatch(value):
            return None
        match = NUMBER_TEXT.fullmatch(value)
        number = float(match.group(1)) if match else math.inf
    elif isinstance(value, bool | np.bool_ | int | float | Decimal | np.number):
        try:
            number = float(value)
        except (OverflowError, ValueError):  # an integer beyond any double, a signaling NaN
            number = math.inf
        if math.isnan(number):
            return None
    elif is_missing(value):
        return None
    else:  # bytes, dates, containers: not a number whatever they hold
        number = math.inf
    return number if math.isfinite(number) else math.nan


def parse_numbers(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(floats, not_numbers) of one numeric field's values, the same on every warehouse.

    A value is missing (NaN, not flagged): NULL, blank text, or a float NaN (drivers hand a
    NULL back as NaN, so a NaN stored in a float column reads as missing too). A number: a
    finite int, float or decimal, or text `NUMBER_TEXT` accepts whose value is finite. Anything
    else is not a number: NaN in `floats` and True in `not_numbers` (text such as `fast`,
    `12ms`, `NaN`, `1e999`, and infinities stored in float columns).
    """
    if pd.api.types.is_bool_dtype(values.dtype) or pd.api.types.is_numeric_dtype(values.dtype):
        floats = values.to_numpy(dtype=float, na_value=np.nan)
        bad = np.isinf(floats)
        floats[bad] = np.nan
        return floats, bad
    parsed = [_scalar_number(v) for v in values.to_numpy(dtype=object)]
    floats = np.array([np.nan if v is None else v for v in parsed], dtype=float)
    bad = np.array([v is not None and v != v for v in parsed], dtype=bool)
    return floats, bad
