"""monitors.yml: alert rules: a metric, a threshold or an allowed change, what is pooled
(`over`), who is told, and the escalation levels."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BeforeValidator, ConfigDict, Field, model_validator

from lookout.config.models.base import Duration, Identifier, Model, PositiveDuration
from lookout.config.models.references import RuleReference
from lookout.core.durations import parse_duration

__all__ = ["AlertRule", "Escalation", "Over"]


class Escalation(Model):
    """A higher severity for the same alert past a further threshold (one alert, one thread)."""

    severity: Literal["P0", "P1"] = Field(description="more severe than the level before")
    threshold: float = Field(description="further past the threshold than the level before")


_SEVERITY_RANK = {"P0": 0, "P1": 1, "P2": 2}


def _over(value: object) -> object:
    """`over: auto` stays a word; anything else is a duration."""
    if value is None or (isinstance(value, str) and value.strip().lower() == "auto"):
        return "auto" if value is not None else None
    return parse_duration(value)


Over = Annotated[Literal["auto"] | timedelta, BeforeValidator(_over)]


class AlertRule(Model):
    """One rule: a metric, a threshold, who is told; evaluated per release x cohort."""

    name: Identifier = Field(
        description="the rule's id: part of each alert's fingerprint and of its runbook link"
    )
    metric: str = Field(
        description="any metric Lookout computes (error_rate, latency_p99_ms, "
        "eval.<evaluator>, drift.<column>, validation.<expectation>...)"
    )
    op: Literal[">", ">=", "<", "<="] = Field(description="breach when value op threshold")
    threshold: float = Field(
        description="the limit; with a `reference`, the allowed change from it"
    )
    min_n: int | None = Field(
        default=None,
        ge=1,
        description="records the evaluated value needs (pooled over `over`); default by "
        "metric: 50 for ops rates, 200 for p95, 1000 for p99, 30 for means and pass rates, "
        "1 for validation and health",
    )
    over: Over | None = Field(
        default=None,
        description="what the rule evaluates: `auto` (default) pools the shortest run of "
        "whole windows ending now that reaches min_n (at most max_over); a duration (6h) "
        "pools exactly that much; the window's own value when it equals the window size",
    )
    max_over: PositiveDuration = Field(
        default=timedelta(days=1), description="the longest `over: auto` pools"
    )
    for_: int | None = Field(
        default=None,
        alias="for",
        ge=1,
        description="breaching evaluations in a row before the alert opens (Prometheus' "
        "`for`); default 2 for ops and evaluator metrics, 1 for validation, drift and health",
    )
    keep_firing_for: Duration | None = Field(
        default=None,
        description="a firing alert resolves only after this long without a breach "
        "(hysteresis); default: `for` windows (two normal windows resolve what two breaching "
        "ones opened); 0s: at the first normal evaluation",
    )
    severity: Literal["P0", "P1", "P2"] = Field(
        default="P1",
        description="P0 is the most urgent (while it fires, P1/P2 alerts sharing its labels "
        "are held back); P2 opens into a daily digest",
    )
    owner: str = Field(description="a key of `owners`: who is told")
    runbook: str | None = Field(
        default=None, description="a link; null: the owner's <runbook_base>/<rule name>"
    )
    split_by: list[str] | None = Field(
        default=None,
        description="cohort columns to alert per value; '*' is the release overall; "
        "default: overall and every cohort",
    )
    significance: bool | None = Field(
        default=None,
        description="rates: fire only when the whole 95% interval is past the threshold; "
        "default on for rates (so a few records decide nothing), `false` for a point threshold",
    )
    notify_resolved: bool = Field(
        default=True, description="reply in the alert's thread and mark it resolved"
    )
    remind_after: PositiveDuration | None = Field(
        default=timedelta(days=1),
        description="while firing, one reminder in the thread per this much window time; "
        "null: never",
    )
    reference: RuleReference | None = Field(
        default=None,
        description="compare with the previous release, a baseline period or the cohort's "
        "own history instead of a fixed threshold; threshold is then the allowed change",
    )
    escalate: list[Escalation] = Field(
        default=[], description="more severe levels past further thresholds, e.g. P0 at 0.2"
    )

    @model_validator(mode="after")
    def _escalations_escalate(self) -> AlertRule:
        """Each level is more severe than the last and further past the base threshold."""
        previous_rank, previous_threshold = _SEVERITY_RANK[self.severity], self.threshold
        upward = self.op in (">", ">=")
        for index, level in enumerate(self.escalate):
            rank = _SEVERITY_RANK[level.severity]
            further = (
                level.threshold > previous_threshold
                if upward
                else level.threshold < previous_threshold
            )
            if rank >= previous_rank or not further:
                raise ValueError(
                    f"escalate[{index}]: {level.severity} at {level.threshold} must be more "
                    f"severe than P{previous_rank} and further past "
                    f"{previous_threshold} in the direction of {self.op!r}"
                )
            previous_rank, previous_threshold = rank, level.threshold
        return self

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
