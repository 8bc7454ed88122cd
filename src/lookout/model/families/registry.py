"""Every metric family in one registry, by the stage that writes it.

The families are vocabulary every layer shares (config checks the metric names a rule uses,
the store pools stored values, rules, messages and pages describe and format them), so they
live here, below all of them; `lookout.stages.registry` says which stage implementation
writes each tuple.
"""

from __future__ import annotations

from lookout.model.families import drift, evaluators, health, ops, validation
from lookout.model.families.base import MetricFamily, Registry

__all__ = ["BY_STAGE", "FAMILIES"]

# stage name -> the families it writes ("health": the window run itself)
BY_STAGE: dict[str, tuple[MetricFamily, ...]] = {
    "health": health.FAMILIES,
    "ops": ops.FAMILIES,
    "validate": validation.FAMILIES,
    "drift": drift.FAMILIES,
    "evaluate": evaluators.FAMILIES,
}

FAMILIES = Registry(family for families in BY_STAGE.values() for family in families)
