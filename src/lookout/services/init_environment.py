"""Which environment a shared table's monitor watches, for `lookout init` (pure).

Tracing tables and proxy logs keep every environment in one table (Langfuse's `environment`,
OpenTelemetry's `deployment.environment`, a LiteLLM proxy's `env` tag): staging's failures and
a developer's slow laptop would page production's on-call. When a column named like an
environment holds a production value and others, init proposes `source.where` for the
production rows, and sizes everything else on those rows only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from lookout.model.aggregates import label_text
from lookout.services.init_columns import ColumnProfile
from lookout.services.init_names import normalized_name

__all__ = ["EnvironmentFilter", "production_filter"]

_ENVIRONMENT_NAMES = frozenset(
    {"environment", "env", "deployment_environment", "deploy_env", "app_env", "stage",
     "environment_name", "env_name", "resource_deployment_environment"}
)  # fmt: skip
_PRODUCTION = ("production", "prod", "prd", "live")  # in order of preference


@dataclass(frozen=True)
class EnvironmentFilter:
    """`where: {column: values}`, which sampled rows it keeps, and why, in words."""

    column: str
    values: tuple[str, ...]  # every spelling of production the sample holds
    kept: pd.Series  # per sampled row: monitored or not
    reason: str


def production_filter(
    profiles: Sequence[ColumnProfile], sample: pd.DataFrame
) -> EnvironmentFilter | None:
    """The production rows of a table that logs several environments; None when no column
    named like an environment holds a production value next to another value."""
    for p in profiles:
        named = normalized_name(p.name) in _ENVIRONMENT_NAMES
        if not named or not p.info.mappable or p.name not in sample:
            continue
        words = {value.strip().lower() for value, _ in p.top}
        word = next((w for w in _PRODUCTION if w in words), None)
        if word is None or len(words) < 2:
            continue
        spellings = tuple(v for v, _ in p.top if v.strip().lower() == word)  # Production, prod
        labels = sample[p.name].map(lambda v: None if pd.isna(v) else label_text(v))
        kept = labels.isin(spellings)
        others = [f"{v} {count / p.rows:.0%}" for v, count in p.top if v not in spellings]
        reason = f"only {word}: {', '.join(others[:3])} of sampled rows are left out"
        return EnvironmentFilter(p.name, spellings, kept, reason)
    return None
