"""Durations as written in config (`30s`, `15m`, `1h`, `1d`, `1w`)."""

from __future__ import annotations

import re
from datetime import timedelta

__all__ = ["format_duration", "format_span", "parse_duration"]

_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(value: object) -> object:
    """A pydantic before-validator: strings become timedeltas; timedeltas pass through."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, str):
        match = _DURATION.match(value)
        if not match:
            raise ValueError(f"expected a duration like 30m, 1h or 1d, got {value!r}")
        return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    raise ValueError("expected a duration like 30m, 1h or 1d")


def format_duration(value: timedelta) -> str:
    """`1d`, `6h`, `90m`, `45s`: a duration as config writes it (the largest whole unit), so
    a message can quote what the user may type back."""
    seconds = int(value.total_seconds())
    for unit, length in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % length == 0:
            return f"{seconds // length}{unit}"
    return f"{seconds}s"


def format_span(value: timedelta) -> str:
    """`45m`, `3h 5m`, `2d 4h`: a span as alerts and the history show it (negative: `0m`)."""
    minutes = max(0, int(value / timedelta(minutes=1)))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    return f"{minutes}m"
