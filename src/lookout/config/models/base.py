"""What every config model shares: the strict base model, durations, identifiers, UTC
timestamps, email addresses and token prices (both files use them)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from lookout.core.durations import parse_duration
from lookout.model.record import check_identifier

__all__ = [
    "Duration",
    "EmailAddress",
    "Identifier",
    "Model",
    "PositiveDuration",
    "Price",
    "check_email_address",
    "raise_problems",
    "utc",
    "values_as_lists",
]


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def _longer_than_zero(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("must be longer than zero (e.g. 1h)")
    return value


# a span something waits, pools or keeps for: `0h` would mean "never" or "nothing" by accident
PositiveDuration = Annotated[
    timedelta, BeforeValidator(parse_duration), AfterValidator(_longer_than_zero)
]
Identifier = Annotated[str, AfterValidator(check_identifier)]


def utc(value: datetime) -> datetime:
    """A timestamp in UTC; one written without an offset is taken as UTC already."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def values_as_lists(kept: object) -> object:
    """A row filter's values as lists (`where`, `where_not`): `{environment: production}` is
    `{environment: [production]}`; an empty list would keep (or drop) nothing, which no one
    means."""
    if not isinstance(kept, dict):
        return kept  # pydantic says it expects a mapping
    out: dict[object, object] = {}
    for column, values in kept.items():
        values = values if isinstance(values, list) else [values]
        if not values:
            raise ValueError(f"{column}: list at least one value")
        out[column] = values
    return out


class Model(BaseModel):
    """Every config model: unknown keys are errors, values are frozen, no inf or NaN."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Price(Model):
    """A model's token prices in USD."""

    input_per_1m: float = Field(ge=0, description="USD per 1M prompt (input) tokens")
    output_per_1m: float = Field(ge=0, description="USD per 1M completion (output) tokens")


_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")


def check_email_address(value: str) -> str:
    """A bare address (`name@example.com`): nothing that could add a header or a recipient
    (no spaces, commas, angle brackets, CR or LF). Case and form are kept as written."""
    if not isinstance(value, str) or not _EMAIL.fullmatch(value) or ".." in value:
        raise ValueError("expected an email address like oncall@example.com")
    return value


EmailAddress = Annotated[str, AfterValidator(check_email_address)]


def raise_problems(title: str, problems: Sequence[tuple[tuple[str, ...], str, Any]]) -> None:
    """One ValidationError of every (key path, why, value) found, each at its own key (so
    the loader names each one's file:line:col); nothing when there are none."""
    if problems:
        raise ValidationError.from_exception_data(
            title,
            [
                InitErrorDetails(type=PydanticCustomError("value_error", why), loc=loc, input=value)
                for loc, why, value in problems
            ],
        )
