"""monitors.yml: a monitor's time windows, and the alerts about the monitor itself."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import Field, field_validator

from lookout.config.models.base import Duration, Model, utc

__all__ = ["HealthConfig", "WindowConfig"]


class WindowConfig(Model):
    """The monitor's time windows: `[start, end)`, aligned to the epoch in UTC."""

    size: Duration = Field(
        default=timedelta(hours=1),
        description="a window's length: divides a day (5m, 15m, 1h...) or is whole days",
    )
    grace: Duration = Field(
        default=timedelta(minutes=15),
        description="a window is processed once end + grace has passed (late logs arrive)",
    )
    late_lookback: Duration = Field(
        default=timedelta(days=1),
        description="with ingested_at mapped: rows arriving later for a window this recent "
        "make the next run recompute it",
    )
    start: datetime | None = Field(
        default=None, description="first window start; default: one day before the first run"
    )
    max_backfill_windows: int = Field(
        default=2208,
        ge=1,
        description="a backfill of more windows than this is refused (2,208: 92 days of hourly "
        "windows); split the range or raise it",
    )

    @field_validator("start")
    @classmethod
    def _as_utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else utc(value)

    @field_validator("size")
    @classmethod
    def _divides_a_day(cls, value: timedelta) -> timedelta:
        seconds = int(value.total_seconds())
        if seconds < 60 or (86400 % seconds and seconds % 86400):
            raise ValueError("window size must divide a day (5m, 15m, 1h...) or be whole days")
        return value


class HealthConfig(Model):
    """Alerts about the monitor itself, to its owner."""

    no_data: bool = Field(
        default=True,
        description="the `no_data` alert (P1): a window holds far fewer rows than the same "
        "hours usually hold (the same hour of the week over the last 4 weeks, or the quietest "
        "of the same hour over the last 7 days), by an interval of the row count that allows "
        "for an hour's rate varying beyond Poisson chance (gamma-Poisson)",
    )
    min_traffic_ratio: float = Field(
        default=0.5,
        gt=0,
        lt=1,
        description="`no_data` fires when the whole interval of rows / expected rows is below this",
    )
    min_rows: int | None = Field(
        default=None,
        ge=1,
        description="a fixed floor as well: fewer rows in a window opens `min_rows` (P1)",
    )
    max_judge_error_share: float | None = Field(
        default=0.2, gt=0, le=1, description="judge errors above this share: `judge_errors` (P2)"
    )
    notify_failures: bool = Field(
        default=True, description="a window that fails at any stage messages the owner once"
    )
