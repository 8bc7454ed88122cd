"""The release gate: policy conditions on a comparison, for CI pipelines and flows.

A condition fails for a cohort when the candidate is worse than the baseline by more than the
allowed margin *and* the difference is significant (Holm over the gated lines), so noise does
not block a rollout and a regression past the margin does once the data show it. Cohorts
without enough data on either side are listed as skipped, not passed silently; a condition
with no data at all, or a cohort it names without a line in either release, is unchecked, and
the gate does not pass on it. A cohort the monitor does not split by (a typo next to `"*"`) is
a policy error when the policy is loaded against its monitor.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from lookout.compare.releases import (
    NUMERIC,
    VOLUMES,
    Comparison,
    Line,
    is_compared_rate,
    lower_is_better,
)
from lookout.compare.stats import holm
from lookout.core.durations import parse_duration
from lookout.model.aggregates import ALL_COHORTS
from lookout.model.families.catalog import is_known_metric

__all__ = ["Condition", "GateOutcome", "GatePolicy", "Unchecked", "check_gate", "unchecked"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Condition(_Model):
    """One condition: how much worse the candidate may be on one metric."""

    metric: str = Field(
        description="a rate (error_rate, eval.<evaluator>, validation.<expectation>...) or "
        "a latency, TTFT, token or cost metric"
    )
    max_worse: float | None = Field(
        default=None, ge=0, description="allowed worsening in the metric's unit (0.02 = 2 points)"
    )
    max_worse_relative: float | None = Field(
        default=None, ge=0, description="allowed worsening as a share of the baseline value"
    )
    cohorts: list[str] | None = Field(
        default=None,
        description="cohort columns checked ('*' = overall), each one the monitor splits by; "
        "default: all",
    )

    @field_validator("metric")
    @classmethod
    def _comparable(cls, value: str) -> str:
        if not (is_known_metric(value) and (is_compared_rate(value) or value in NUMERIC)):
            raise ValueError(
                f"{value!r} is not compared; use a rate (error_rate, eval.<evaluator>, "
                f"validation.<expectation>, status_rate.<name>, ...) or one of "
                f"{', '.join(NUMERIC)}"
            )
        return value

    @field_validator("cohorts")
    @classmethod
    def _known_cohorts(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        """With the monitor's cohorts in the validation context (`lookout gate`), a cohort it
        does not split by is refused: a typo would otherwise check nothing and pass."""
        context = info.context or {}
        known = context.get("cohorts")
        if value is None or known is None:
            return value
        unknown = [c for c in value if c != ALL_COHORTS and c not in known]
        if unknown:
            names = ", ".join(map(repr, unknown))
            verb = "is not a cohort" if len(unknown) == 1 else "are not cohorts"
            listed = ", ".join(["'*' (overall)", *known])
            raise ValueError(
                f"{names} {verb} of monitor {context.get('monitor', '?')} (its cohorts: {listed})"
            )
        return value

    @model_validator(mode="after")
    def _one_margin(self) -> Condition:
        if (self.max_worse is None) == (self.max_worse_relative is None):
            raise ValueError("give exactly one of max_worse and max_worse_relative")
        return self

    def margin(self, baseline: float) -> float:
        if self.max_worse is not None:
            return self.max_worse
        return (self.max_worse_relative or 0.0) * abs(baseline)

    def covers(self, cohort: str) -> bool:
        return self.cohorts is None or _named(self.cohorts, cohort)


def _named(names: list[str], cohort: str) -> bool:
    """`region=eu` is in `[region]`, `*` (overall) in `["*"]`."""
    if cohort == ALL_COHORTS:
        return ALL_COHORTS in names
    return cohort.split("=", 1)[0] in names


class GatePolicy(_Model):
    """A gate policy (`lookout gate --policy gate.yml`): conditions the candidate must pass."""

    baseline: str = Field(
        default="previous", description="'previous' (the release seen before) or a release"
    )
    period: Annotated[timedelta, BeforeValidator(parse_duration)] = Field(
        default=timedelta(days=7), description="the stored results of this long before now"
    )
    min_n: int = Field(
        default=200,
        ge=1,
        description="cohorts with fewer records on a side are skipped (and listed)",
    )
    alpha: float = Field(
        default=0.05, gt=0, lt=1, description="significance level, after Holm's correction"
    )
    conditions: list[Condition] = Field(min_length=1, description="every one must pass")


@dataclass(frozen=True)
class GateOutcome:
    condition: Condition
    line: Line
    status: Literal["failed", "passed", "skipped"]
    worse_by: float | None
    margin: float | None

    @property
    def reason(self) -> str:
        line = self.line
        if self.status == "skipped":
            return f"not enough data ({line.baseline_n} / {line.candidate_n} records)"
        assert line.diff is not None and self.worse_by is not None and self.margin is not None
        verb = "worse" if self.worse_by > 0 else "better"
        if line.metric in VOLUMES:  # more tokens fail a gate on them, fewer are no better
            verb = "higher" if self.worse_by > 0 else "lower"
        return (
            f"{verb} by {abs(self.worse_by):.4g} (allowed {self.margin:.4g}), "
            f"corrected p={line.adjusted_p:.2g}"
        )


def check_gate(policy: GatePolicy, comparison: Comparison) -> list[GateOutcome]:
    """Every (condition, cohort) the comparison has, with its status.

    Holm's correction runs over the gated lines only (not every line of the comparison), so
    the gate keeps its power however much else the scorecard shows.
    """
    covered = [
        (condition, line)
        for condition in policy.conditions
        for line in comparison.lines
        if line.metric == condition.metric and condition.covers(line.cohort)
    ]
    tested = {id(line): line for _, line in covered if line.diff is not None}
    adjusted = dict(
        zip(tested, holm([line.diff.p_value for line in tested.values()]), strict=True)  # type: ignore[union-attr]
    )
    out: list[GateOutcome] = []
    for condition, line in covered:
        if line.diff is None:
            out.append(GateOutcome(condition, line, "skipped", None, None))
            continue
        p = adjusted[id(line)]
        line = replace(line, adjusted_p=p)
        sign = 1.0 if lower_is_better(line.metric) else -1.0
        worse_by = sign * line.diff.diff  # type: ignore[union-attr]
        margin = condition.margin(line.diff.baseline)  # type: ignore[union-attr]
        failed = worse_by > margin and p < comparison.alpha
        out.append(GateOutcome(condition, line, "failed" if failed else "passed", worse_by, margin))
    return out


@dataclass(frozen=True)
class Unchecked:
    """A condition, or one cohort a condition names, that the comparison has no line for: no
    data in either release over the period. The gate cannot pass on it."""

    condition: Condition
    cohort: str | None  # None: the condition has no line at all

    @property
    def reason(self) -> str:
        metric = self.condition.metric
        if self.cohort is None:
            return f"{metric}: no data in either release"
        where = "overall (*)" if self.cohort == ALL_COHORTS else f"cohort {self.cohort}"
        return f"{metric} {where}: no data in either release"


def unchecked(policy: GatePolicy, outcomes: list[GateOutcome]) -> list[Unchecked]:
    """What the policy asks that the comparison had no line for: a condition with none at all
    (an evaluator that never ran, a metric of another monitor), or a cohort a condition names
    (`cohorts: ["*", region]`) without a line of its own. A gate must not pass on them
    silently."""
    out = []
    for condition in policy.conditions:
        cohorts = {o.line.cohort for o in outcomes if o.condition is condition}
        if not cohorts:
            out.append(Unchecked(condition, None))
            continue
        for name in condition.cohorts or ():
            if not any(_named([name], cohort) for cohort in cohorts):
                out.append(Unchecked(condition, name))
    return out
