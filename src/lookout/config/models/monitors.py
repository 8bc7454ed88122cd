"""monitors.yml: a monitor (its source, windows, stages and rules) and the file."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import Field, model_validator

from lookout.config.models.alerting import AlertingConfig, Owner
from lookout.config.models.base import Identifier, Model
from lookout.config.models.drift import DriftConfig
from lookout.config.models.evaluators import EvaluatorsConfig
from lookout.config.models.metrics import MetricsConfig
from lookout.config.models.rules import AlertRule
from lookout.config.models.source import SourceConfig
from lookout.config.models.window import HealthConfig, WindowConfig
from lookout.config.validation import ValidationConfig
from lookout.errors import UnknownMonitorError

__all__ = ["Monitor", "MonitorsFile"]


class Monitor(Model):
    """One table of production records: its mapping, windows, stages and rules."""

    name: Identifier = Field(description="the monitor's id in results, alerts and reports")
    description: str = Field(default="", description="for people reading the file")
    owner: str | None = Field(
        default=None, description="who owns the monitor itself; default: its first rule's owner"
    )
    source: SourceConfig
    window: WindowConfig = WindowConfig()
    metrics: MetricsConfig = MetricsConfig()
    validation: ValidationConfig = ValidationConfig()
    drift: DriftConfig = DriftConfig()
    evaluators: EvaluatorsConfig = EvaluatorsConfig()
    health: HealthConfig = HealthConfig()
    rules: list[AlertRule] = Field(default=[], description="the alert rules")

    @property
    def health_owner(self) -> str | None:
        """The owner of alerts about the monitor itself."""
        return self.owner or (self.rules[0].owner if self.rules else None)


class MonitorsFile(Model):
    """monitors.yml: who owns what, the alerting policy, and the monitors."""

    owners: dict[str, Owner] = Field(
        default={}, description="declared once by name, referenced by rules and monitors"
    )
    alerting: AlertingConfig = AlertingConfig()
    monitors: list[Monitor] = Field(description="one per table of records")

    @model_validator(mode="after")
    def _unique_names(self) -> MonitorsFile:
        seen: set[str] = set()
        for monitor in self.monitors:
            if monitor.name in seen:
                raise ValueError(f"monitor name {monitor.name!r} is used twice")
            seen.add(monitor.name)
        return self

    def chosen(self, names: Iterable[str] | None) -> list[Monitor]:
        """The monitors named (all when none is), in config order. An unknown name raises
        `UnknownMonitorError` listing the known ones; the CLI and the flows both ask here."""
        wanted = list(names or ())
        known = [m.name for m in self.monitors]
        unknown = [name for name in wanted if name not in known]
        if unknown:
            listed = ", ".join(repr(name) for name in unknown)
            raise UnknownMonitorError(
                f"unknown monitor {listed} (known: {', '.join(known) or 'none'})"
            )
        return [m for m in self.monitors if not wanted or m.name in wanted]

    def monitor(self, name: str) -> Monitor:
        for monitor in self.monitors:
            if monitor.name == name:
                return monitor
        raise KeyError(name)
