"""Every stage and every metric family, in one place.

Adding a stage is one folder under `lookout.stages` and one line in `STAGES`. The stage's
implementation is imported only when a window runs (config loading and the CLI stay light);
its families are imported here, so config can check metric names before anything runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any

from lookout.model.families import MetricFamily, Registry
from lookout.stages.drift.families import FAMILIES as DRIFT
from lookout.stages.evaluators.families import FAMILIES as EVALUATORS
from lookout.stages.ops.families import FAMILIES as OPS
from lookout.stages.validation.families import FAMILIES as VALIDATION

__all__ = ["FAMILIES", "HEALTH", "STAGES", "StageEntry"]


@dataclass(frozen=True)
class StageEntry:
    """A stage by name: where its implementation lives and the metric families it writes."""

    name: str
    implementation: str  # "module:Class"
    families: tuple[MetricFamily, ...]

    def load(self) -> Any:
        module, _, attribute = self.implementation.partition(":")
        return getattr(import_module(module), attribute)()


# Monitoring the monitor: rows per window, and rows against what the same hours usually hold.
HEALTH: tuple[MetricFamily, ...] = (
    MetricFamily(
        "window_rows",
        "health",
        "rows read in the window, all releases together (release and cohort `*`)",
        "count",
        min_n=1,
        persistence=1,
        per_window=True,
    ),
    MetricFamily(
        "traffic_ratio",
        "health",
        "rows in the window / rows the same hours usually hold (seasonal baseline; "
        "interval from the Poisson interval of the count)",
        "ratio",
        rate=True,
        min_n=1,
        persistence=1,
        better="higher",
    ),
)

STAGES: tuple[StageEntry, ...] = (
    StageEntry("ops", "lookout.stages.ops.stage:OpsStage", OPS),
    StageEntry("validate", "lookout.stages.validation.stage:ValidationStage", VALIDATION),
    StageEntry("drift", "lookout.stages.drift.stage:DriftStage", DRIFT),
    StageEntry("evaluate", "lookout.stages.evaluators.stage:EvaluatorStage", EVALUATORS),
)

FAMILIES = Registry([*HEALTH, *(f for entry in STAGES for f in entry.families)])
