"""monitors.yml: what a change rule or the drift stage compares with (the previous release,
a pinned baseline, the cohort's own history, the same hours a week earlier)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal, Self

from pydantic import Field, field_validator, model_validator

from lookout.config.models.base import Model, PositiveDuration, utc

__all__ = ["HISTORY_LOOKBACK", "DriftReference", "RuleReference"]


class _ReferencePeriod(Model):
    """Where a comparison looks: the previous release over a lookback, or a pinned period
    (subclasses say which kinds they allow)."""

    lookback: PositiveDuration = Field(
        default=timedelta(days=1),
        description="previous_release: how much of the previous release's traffic before the "
        "new release first appeared",
    )
    start: datetime | None = Field(default=None, description="baseline: pinned period start")
    end: datetime | None = Field(default=None, description="baseline: pinned period end")

    @field_validator("start", "end")
    @classmethod
    def _as_utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else utc(value)

    @model_validator(mode="after")
    def _baseline_period(self) -> Self:
        if getattr(self, "kind", None) == "baseline" and (self.start is None or self.end is None):
            raise ValueError("a baseline reference needs start and end")
        if self.start and self.end and self.end <= self.start:
            raise ValueError("reference end must be after its start")
        return self


# How much of its own past a `history` reference pools when no lookback is given: a week
# holds every hour of the day and every day of the week, so the weekly cycle averages out.
HISTORY_LOOKBACK = timedelta(days=7)


class RuleReference(_ReferencePeriod):
    """What a change rule compares a window's value with (a pooled value of stored metrics)."""

    kind: Literal["previous_release", "baseline", "history"] = Field(
        default="previous_release",
        description="the release that appeared before this one (over `lookback`), a pinned "
        "period of every release (`start`, `end`), or the cohort's own history: every release "
        "over `lookback` (default 7d) ending where the rule's longest pool (`max_over`) begins",
    )

    @model_validator(mode="before")
    @classmethod
    def _history_lookback(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("kind") == "history" and "lookback" not in data:
            return {**data, "lookback": HISTORY_LOOKBACK}
        return data

    change: Literal["absolute", "relative"] = Field(
        default="relative",
        description="threshold is the allowed change: value op ref + t (absolute) or "
        "value op ref * (1 + t) (relative)",
    )
    hours: Literal["all", "same"] = Field(
        default="all",
        description="history: `same` pools only the same hours of each day of the lookback "
        "(the window's hours and one either side), for a metric with a daily cycle (latency "
        "that rises with load, error rates at peak): the afternoon is compared with "
        "afternoons, the night with nights; windows shorter than a day",
    )

    @model_validator(mode="after")
    def _same_hours_of_history(self) -> Self:
        if self.hours == "same" and self.kind != "history":
            raise ValueError("hours: same is for kind: history (the cohort's own past)")
        return self


class DriftReference(_ReferencePeriod):
    """What a window is compared with."""

    kind: Literal["previous_release", "baseline", "week_ago"] = Field(
        default="previous_release",
        description="the previous release (its last `lookback` before this one appeared), a "
        "pinned period (`start`, `end`), or the same hours a week earlier",
    )
