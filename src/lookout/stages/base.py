"""The stage seam: what every stage of a window run gets and gives back.

A stage reads the window (through the warehouse port it is handed), computes, and returns a
`StageOutcome`: its metric values, its mergeable summaries per release x cohort, the rows the
store keeps for it, and the numbers a run summary shows. Nothing is written by a stage: the run
commits every stage's outcome in one transaction, so a crash at any stage leaves the store as
it was. Stages run in the registry's order; a later stage reads what an earlier one found
through `WindowRun.outcomes` (evaluators skip what validation quarantined; every stage pools
the cohort values the ops stage chose to keep).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from lookout.checks.evaluators.base import Budget
from lookout.checks.evaluators.registry import ConfiguredEvaluator
from lookout.checks.validation.runner import GxRunner
from lookout.checks.validation.stage import PlannedExpectation
from lookout.config.loader import LookoutConfig
from lookout.config.models import Monitor
from lookout.core.cohorts import CohortCap
from lookout.core.summary import Summary
from lookout.model.aggregates import MetricValue
from lookout.stages.ports import StageResults, WindowSource
from lookout.windows import Window

__all__ = ["StageContext", "StageOutcome", "WindowRun", "WindowStage"]


class StageContext(Protocol):
    """The port stages run against: the adapters of a run and what is built once per run
    (the runtime's `Context` is the implementation; stages never import the runtime)."""

    @property
    def config(self) -> LookoutConfig: ...
    @property
    def warehouse(self) -> WindowSource: ...
    @property
    def store(self) -> StageResults: ...
    @property
    def serial(self) -> threading.Lock: ...  # stages with shared state (GX, budget) take turns

    def evaluators(self, monitor: Monitor) -> list[ConfiguredEvaluator]: ...
    def judge_budget(self, monitor: Monitor) -> Budget: ...
    def suite(self, monitor: Monitor) -> list[PlannedExpectation]: ...
    @property
    def gx(self) -> GxRunner: ...


@dataclass
class StageOutcome:
    """What one stage found in one window."""

    metrics: list[MetricValue] = field(default_factory=list)
    summaries: dict[tuple[str, str], Summary] = field(default_factory=dict)
    # what the store keeps for this stage (see `WindowCommit`): validation outcomes,
    # quarantine, drift rows...
    writes: dict[str, Any] = field(default_factory=dict)
    # numbers for the run's summary (RunResult): rows, quarantined, judged...
    stats: dict[str, Any] = field(default_factory=dict)
    # the stage's own result object, for later stages and the alert stage (reports, details)
    detail: Any = None


@dataclass
class WindowRun:
    """One window being run: the adapters, the monitor, and what earlier stages found."""

    ctx: StageContext
    monitor: Monitor
    window: Window
    started: datetime
    cap: CohortCap = field(default_factory=CohortCap)
    outcomes: dict[str, StageOutcome] = field(default_factory=dict)
    # called with a stage name before it runs (crash injection in tests)
    before: Callable[[str], None] | None = None


class WindowStage(Protocol):
    """A stage of the window run: one folder under `lookout.stages`, one registry line."""

    name: str

    def enabled(self, monitor: Monitor) -> bool:
        """Whether the monitor's config switches this stage on."""

    def run(self, run: WindowRun) -> StageOutcome:
        """Read and compute; write nothing (the run commits every outcome at once)."""
