"""Compact expectations as declared in monitors.yml, and the built-in default suite (pure).

Each kind maps onto one Great Expectations 1.x expectation (see `gx_suite.py`). Columns are
canonical field names (or cohort columns), so the same suite runs on the window's DataFrame and
on a SQL query asset that labels the table's columns with those names.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    field_validator,
    model_validator,
)

from lookout.core.durations import parse_duration
from lookout.model.record import NUMERIC_FIELDS, check_identifier

__all__ = [
    "ROW_LEVEL_KINDS",
    "ColumnValue",
    "ExpectationSpec",
    "ValidationConfig",
    "default_suite",
    "spec_name",
]

ROW_LEVEL_KINDS = frozenset(
    {"not_null", "between", "in_set", "unique", "regex", "max_length", "json_parses"}
)

Severity = Literal["critical", "warning"]
# A value compared with a column's values (statuses, feedback, `in_set`): a number, true/false
# or text, kept as written (true stays a boolean, 200 an integer); how it matches a column of
# each type is `lookout.core.values`.
ColumnValue = StrictBool | StrictInt | StrictFloat | StrictStr
Mostly = Annotated[
    float, Field(ge=0.0, le=1.0, description="the share of rows that must pass (0-1)")
]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: Annotated[str, BeforeValidator(check_identifier)] | None = Field(
        default=None,
        description="the id in results and in validation.<name> metrics; default <kind>_<column>",
    )
    severity: Severity = Field(
        default="warning",
        description="critical (row-level kinds only): failing records are quarantined; "
        "warning: reported",
    )


class _ColumnSpec(_Spec):
    column: str = Field(description="a canonical field or a cohort column")


class NotNull(_ColumnSpec):
    """Row-level: no nulls (GX `ExpectColumnValuesToNotBeNull`)."""

    kind: Literal["not_null"]
    mostly: Mostly = 1.0


class Between(_ColumnSpec):
    """Row-level: values within bounds (GX `ExpectColumnValuesToBeBetween`)."""

    kind: Literal["between"]
    min: float | None = Field(default=None, description="lowest allowed value (inclusive)")
    max: float | None = Field(default=None, description="highest allowed value (inclusive)")
    mostly: Mostly = 1.0

    @model_validator(mode="after")
    def _bounds(self) -> Between:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is greater than max {self.max}")
        return self


class InSet(_ColumnSpec):
    """Row-level: values from a set (GX `ExpectColumnValuesToBeInSet`)."""

    kind: Literal["in_set"]
    values: list[ColumnValue] = Field(
        min_length=1, description="allowed values (numbers, true/false or text)"
    )
    mostly: Mostly = 1.0


class Unique(_ColumnSpec):
    """Row-level: no value twice in the batch (GX `ExpectColumnValuesToBeUnique`)."""

    kind: Literal["unique"]
    mostly: Mostly = 1.0


class Regex(_ColumnSpec):
    """Row-level: values match a regular expression (GX `ExpectColumnValuesToMatchRegex`)."""

    kind: Literal["regex"]
    pattern: str = Field(description="a Python regular expression each value must match")
    mostly: Mostly = 1.0

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        return value


class MaxLength(_ColumnSpec):
    """Row-level: text no longer than `max` (GX `ExpectColumnValueLengthsToBeBetween`)."""

    kind: Literal["max_length"]
    max: int = Field(ge=0, description="longest allowed text, in characters")
    mostly: Mostly = 1.0


class JsonParses(_ColumnSpec):
    """Row-level: values parse as JSON (GX `ExpectColumnValuesToBeJsonParseable`)."""

    kind: Literal["json_parses"]
    mostly: Mostly = 1.0


class MeanBetween(_ColumnSpec):
    """The column's mean within bounds (GX `ExpectColumnMeanToBeBetween`)."""

    kind: Literal["mean_between"]
    min: float | None = Field(default=None, description="lowest allowed mean")
    max: float | None = Field(default=None, description="highest allowed mean")


class QuantileBetween(_ColumnSpec):
    """A quantile of the column within bounds (GX `ExpectColumnQuantileValuesToBeBetween`)."""

    kind: Literal["quantile_between"]
    quantile: float = Field(ge=0.0, le=1.0, description="which quantile (0.99: p99)")
    min: float | None = Field(default=None, description="lowest allowed value of the quantile")
    max: float | None = Field(default=None, description="highest allowed value of the quantile")


class RowCountBetween(_Spec):
    """Rows in the batch within bounds (GX `ExpectTableRowCountToBeBetween`)."""

    kind: Literal["row_count_between"]
    min: int | None = Field(default=None, ge=0, description="fewest rows allowed")
    max: int | None = Field(default=None, ge=0, description="most rows allowed")


class ColumnsPresent(_Spec):
    """The warehouse table still has these columns (its own names, mapped or not); with
    `exact`, no others either. Checked once per window on the table's schema, so a logging
    pipeline that drops or renames a column is caught even where no monitor maps it."""

    kind: Literal["columns_present"]
    columns: list[Annotated[str, BeforeValidator(check_identifier)]] = Field(
        min_length=1, description="the table's own column names (mapped or not)"
    )
    exact: bool = Field(default=False, description="no other columns either")


class Fresh(_Spec):
    """The newest `ts` of the window is at most `max_age` before the window's end."""

    kind: Literal["fresh"]
    column: str = Field(default="ts", description="the time column checked")
    max_age: Annotated[timedelta, BeforeValidator(parse_duration)] = Field(
        description="the newest value is at most this long before the window's end"
    )


ExpectationSpec = Annotated[
    NotNull
    | Between
    | InSet
    | Unique
    | Regex
    | MaxLength
    | JsonParses
    | MeanBetween
    | QuantileBetween
    | RowCountBetween
    | ColumnsPresent
    | Fresh,
    Field(discriminator="kind"),
]

KINDS = (
    "not_null", "between", "in_set", "unique", "regex", "max_length", "json_parses",
    "mean_between", "quantile_between", "row_count_between", "columns_present", "fresh",
)  # fmt: skip


class ValidationConfig(BaseModel):
    """`monitors[].validation`: the suite, where it runs, and how much quarantine is too much."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    enabled: bool = Field(default=True, description="run the validation stage")
    expectations: list[ExpectationSpec] = Field(
        default=[], description="none listed: the default suite (the record contract) runs"
    )
    suite_file: str | None = Field(
        default=None, description="a GX ExpectationSuite JSON, run in addition (columns canonical)"
    )
    statuses: list[ColumnValue] | None = Field(
        default=None,
        description="every valid status value, numbers, true/false or text (the default suite "
        "checks status in it)",
    )
    max_quarantine_share: float = Field(
        default=0.2,
        ge=0.0,
        le=1.0,
        description="a window quarantining a larger share is stored with a flag",
    )
    pushdown: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="auto: GX on the warehouse for DuckDB and PostgreSQL windows of 50,000 "
        "rows or more, else on the window's DataFrame; on; off: on the window's DataFrame",
    )

    @field_validator("pushdown", mode="before")
    @classmethod
    def _yaml_switch(cls, value: object) -> object:
        return {True: "on", False: "off"}.get(value, value) if isinstance(value, bool) else value


def spec_name(spec: ExpectationSpec) -> str:
    """The expectation's id in results and metrics: its `name`, else `<kind>_<column>`."""
    if spec.name:
        return spec.name
    column = getattr(spec, "column", None)
    return f"{spec.kind}_{column}" if column else spec.kind


def default_suite(
    mapped: set[str], release_fields: list[str], statuses: list[ColumnValue] | None
) -> list[ExpectationSpec]:
    """The record contract: ids present and unique, times present, numbers non-negative,
    status in its set, release fields present. Only fields the monitor maps are checked."""
    out: list[ExpectationSpec] = [
        NotNull(kind="not_null", column="record_id", severity="critical"),
        Unique(kind="unique", column="record_id"),
        NotNull(kind="not_null", column="ts", severity="critical"),
    ]
    for field in NUMERIC_FIELDS:
        if field in mapped:
            out.append(Between(kind="between", column=field, min=0, severity="critical"))
    if statuses and "status" in mapped:
        out.append(InSet(kind="in_set", column="status", values=list(statuses)))
    for field in release_fields:
        out.append(NotNull(kind="not_null", column=field))
    return out
