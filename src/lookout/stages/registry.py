"""Every stage in one place: where its implementation lives and the metric families it writes.

Adding a stage is one folder under `lookout.stages`, one module of families under
`lookout.model.families` and one line here. The stage's implementation is imported only when a
window runs (config loading and the CLI stay light); its families live in `lookout.model`, so
config, the store and the rules know every metric name without importing a stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any

from lookout.model.families import MetricFamily
from lookout.model.families.registry import BY_STAGE

__all__ = ["STAGES", "StageEntry"]


@dataclass(frozen=True)
class StageEntry:
    """A stage by name: where its implementation lives and the metric families it writes."""

    name: str
    implementation: str  # "module:Class"
    families: tuple[MetricFamily, ...]

    def load(self) -> Any:
        module, _, attribute = self.implementation.partition(":")
        return getattr(import_module(module), attribute)()


STAGES: tuple[StageEntry, ...] = (
    StageEntry("ops", "lookout.stages.ops.stage:OpsStage", BY_STAGE["ops"]),
    StageEntry("validate", "lookout.stages.validation.stage:ValidationStage", BY_STAGE["validate"]),
    StageEntry("drift", "lookout.stages.drift.stage:DriftStage", BY_STAGE["drift"]),
    StageEntry("evaluate", "lookout.stages.evaluators.stage:EvaluatorStage", BY_STAGE["evaluate"]),
)
