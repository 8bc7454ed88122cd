"""The evaluators `lookout init` proposes (pure): the offline checks the mapped text supports,
a sampling share that gives a window `min_n` judged records, and rules whose thresholds come
from scoring the sample."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from lookout.model.families.registry import FAMILIES
from lookout.services.init_rules import (
    DEFAULT_MAX_OVER,
    RulePlan,
    Sizing,
    pooled_words,
    round_up,
)

__all__ = ["EVALUATED_RECORDS", "EvaluatorPlan", "evaluator_plan"]

EVALUATED_RECORDS = 500  # sampled records the offline evaluators score to set thresholds


@dataclass(frozen=True)
class EvaluatorPlan:
    """Offline evaluators the mapped text supports, their sampling share and rules."""

    checks: tuple[tuple[str, str], ...]  # (evaluator, comment)
    share: float
    rules: tuple[RulePlan, ...]
    notes: tuple[str, ...]

    @property
    def enabled(self) -> bool:
        return bool(self.checks)


def evaluator_plan(
    frame: pd.DataFrame, mapping: dict[str, str], sizing: Sizing, owner: str
) -> EvaluatorPlan:
    """pii and refusal on the output, groundedness with a context, tool_calls when mapped; the
    sampling share gives a window `min_n` judged records; thresholds from scoring the sample."""
    names = []
    if "output" in mapping:
        names += ["pii", "refusal"]
        if "context" in mapping:
            names.append("groundedness")
    if "tool_calls" in mapping:
        names.append("tool_calls")
    if not names:
        return EvaluatorPlan((), 0.05, (), ("no output column: no evaluators",))
    min_n = FAMILIES.min_n(f"eval.{names[0]}")
    share = 0.05
    if sizing.known and sizing.rows_per_window > 0:
        share = min(1.0, max(0.05, round_up(min_n / sizing.rows_per_window, 0.01)))
    checks: list[tuple[str, str]] = []
    rules: list[RulePlan] = []
    notes: list[str] = []
    records = _records(frame)
    for name in names:
        passed, judged = _pass_rate(name, records)
        if judged == 0:
            checks.append((name, "nothing in the sample could be judged"))
            continue
        fails = 1 - passed
        threshold = max(0.0, round(1 - max(2 * fails, 0.05) - 0.005, 2))
        checks.append((name, f"passes {passed:.1%} of {judged} sampled records"))
        judged_share = share * judged / max(1, len(records))
        span = sizing.pool(min_n, judged_share)
        if span is None:
            notes.append(f"no eval.{name} rule: too few records to judge {min_n} within 7 days")
            continue
        why = f"the sample passes {passed:.1%}, fires below 1 - max(2x its failures, 5%)"
        rules.append(
            RulePlan(
                f"eval_{name}",
                f"eval.{name}",
                "<",
                threshold,
                "P2",
                owner,
                ("*",),
                f"{why}; {pooled_words(sizing, span, min_n, judged_share)}",
                span if span > DEFAULT_MAX_OVER else None,
            )
        )
    return EvaluatorPlan(tuple(checks), share, tuple(rules), tuple(notes))


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    fields = [f for f in ("record_id", "input", "output", "context", "tool_calls") if f in frame]
    head = frame[fields].head(EVALUATED_RECORDS)
    return [
        {k: (None if _missing(v) else v) for k, v in row.items()} for row in head.to_dict("records")
    ]


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _pass_rate(name: str, records: list[dict[str, object]]) -> tuple[float, int]:
    from lookout.checks.evaluators.offline_registry import make_offline

    judgments = [j for j in make_offline(name).evaluate(records) if j.status == "judged"]
    if not judgments:
        return 1.0, 0
    return sum(j.label == "pass" for j in judgments) / len(judgments), len(judgments)
