"""The plain result of one expectation on one release of one window: what the validation
stage produces, the store keeps and the pages show (no Great Expectations types here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["ExpectationOutcome", "Status"]

Status = Literal["passed", "failed", "error"]


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation on one release of one window."""

    name: str
    kind: str
    column: str | None
    severity: str
    release: str
    status: Status
    element_count: int | None = None
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    observed: str | None = None
    examples: tuple[str, ...] = ()
    path: str = "pandas"
    error: str | None = None
