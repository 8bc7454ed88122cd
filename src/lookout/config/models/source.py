"""monitors.yml: a monitor's table of records and how its columns map onto the record
contract (release fields, cohorts, status and feedback values)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, field_validator

from lookout.config.models.base import Identifier, Model, PositiveDuration
from lookout.config.validation import ColumnValue
from lookout.model.record import (
    CANONICAL_FIELDS,
    DURATION_FIELDS,
    DURATION_UNITS,
    REQUIRED_FIELDS,
    DurationUnit,
    canonical_name,
)

__all__ = ["SourceConfig"]


def _duration_field(key: str) -> str:
    if key not in DURATION_FIELDS:
        raise ValueError(
            f"{key!r} is not a duration field: units apply to {', '.join(DURATION_FIELDS)}"
        )
    return key


def _duration_unit(unit: object) -> object:
    if unit not in DURATION_UNITS:
        raise ValueError(f"unknown unit {unit!r}; known: {', '.join(DURATION_UNITS)}")
    return unit


DurationField = Annotated[str, AfterValidator(_duration_field)]
Unit = Annotated[DurationUnit, BeforeValidator(_duration_unit)]


class SourceConfig(Model):
    """Where a monitor's records live and how their columns map onto the record contract."""

    table: Identifier = Field(description="the table of records (quoted by SQLAlchemy)")
    schema_: Identifier | None = Field(
        default=None, alias="schema", description="the table's schema; null: the default one"
    )
    columns: dict[str, Identifier] = Field(
        description="canonical field (or OTel/OpenInference alias) -> column in the table"
    )
    units: dict[DurationField, Unit] = Field(
        default={},
        description="duration field (latency_ms, ttft_ms) -> the unit its column logs: s, ms "
        "(the default) or us. Every query reads the field in milliseconds (the warehouse "
        "computes `column * 1000` for s), so rules, expectations and results are in ms; the "
        "column must be of a numeric type",
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
    negative_feedback: list[ColumnValue] = Field(
        default=["thumbs_down", "negative", "-1"],
        description="feedback values that count as negative: numbers ([-1], [0]), true/false "
        "or text (without case), matched in the feedback column's type",
    )

    model_config = ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, populate_by_name=True
    )

    def unit(self, field: str) -> str:
        """The unit `field`'s column logs (`ms` unless `units` says otherwise)."""
        return self.units.get(field, "ms")

    def selectable(self, name: str) -> bool:
        """A name a window query can select: a mapped canonical field, or a release field or
        cohort that is a column of the table under its own name."""
        return name in self.columns or name in self.release or name in self.cohorts

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
