"""Which columns drift compares for a monitor, from its config alone (pure).

The mapped numeric and categorical fields, every cohort column, features derived from each text
field, and the table columns `drift.features` names (a classic model's score and inputs), then
narrowed by `drift.columns` and `drift.exclude`. The config checks use the same list to refuse a
name drift would never compare; the warehouse turns each column into SQL
(`lookout.sources.drift_columns`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lookout.config.models import Monitor

__all__ = [
    "CATEGORICAL_FIELDS",
    "NUMERIC_FIELDS",
    "TEXT_FIELDS",
    "DriftColumn",
    "drift_columns",
    "groups_of",
    "known_column_names",
]

Kind = Literal["numeric", "categorical"]
Feature = Literal["value", "length", "empty", "refusal", "json", "script"]

NUMERIC_FIELDS = ("latency_ms", "ttft_ms", "prompt_tokens", "completion_tokens", "cost_usd")
CATEGORICAL_FIELDS = ("route", "status", "is_fallback")
TEXT_FIELDS = {"input": "input", "output": "output", "context": "context"}


@dataclass(frozen=True)
class DriftColumn:
    """One compared column: `name` as reported, built from `field` by `feature`."""

    name: str
    kind: Kind
    field: str
    feature: Feature = "value"

    @property
    def group(self) -> str:
        """The feature group: the text field a derived feature comes from (`input`,
        `output`, `context`), else the column itself."""
        return self.name if self.feature == "value" else self.field

    @property
    def numeric_value(self) -> bool:
        """A logged number read as it is (parsed by `parse_numbers`, never cast in SQL)."""
        return self.kind == "numeric" and self.feature == "value"


def groups_of(columns: list[DriftColumn]) -> dict[str, list[str]]:
    """Feature group -> its columns' names, in column order."""
    out: dict[str, list[str]] = {}
    for column in columns:
        out.setdefault(column.group, []).append(column.name)
    return out


def _everything(monitor: Monitor) -> list[DriftColumn]:
    """Every column drift could compare for what the monitor maps and names."""
    mapped = monitor.source.fields
    out = [DriftColumn(f, "numeric", f) for f in NUMERIC_FIELDS if f in mapped]
    out += [DriftColumn(f, "categorical", f) for f in CATEGORICAL_FIELDS if f in mapped]
    named = {c.name for c in out}
    out += [DriftColumn(c, "categorical", c) for c in monitor.source.cohorts if c not in named]
    named = {c.name for c in out}
    features = monitor.drift.features
    out += [DriftColumn(c, "numeric", c) for c in features.numeric if c not in named]
    out += [DriftColumn(c, "categorical", c) for c in features.categorical if c not in named]
    for prefix, field in TEXT_FIELDS.items():
        if field in mapped:
            out.append(DriftColumn(f"{prefix}_length", "numeric", field, "length"))
    if "output" in mapped:
        out += [
            DriftColumn("output_empty", "categorical", "output", "empty"),
            DriftColumn("output_refusal", "categorical", "output", "refusal"),
            DriftColumn("output_json", "categorical", "output", "json"),
            DriftColumn("output_script", "categorical", "output", "script"),
        ]
    return out


def drift_columns(monitor: Monitor) -> list[DriftColumn]:
    """The columns compared: every one drift knows, narrowed by `drift.columns`/`exclude`."""
    out = _everything(monitor)
    config = monitor.drift
    if config.columns:
        wanted = set(config.columns)
        out = [c for c in out if c.name in wanted]
    return [c for c in out if c.name not in set(config.exclude)]


def known_column_names(monitor: Monitor) -> list[str]:
    """Every column name drift could compare for this monitor (for the config checks)."""
    return [c.name for c in _everything(monitor)]
