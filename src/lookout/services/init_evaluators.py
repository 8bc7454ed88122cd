"""The evaluators `lookout init` proposes (pure): the offline checks the mapped text supports,
a sampling share that gives a window `min_n` judged records, and rules whose thresholds come
from scoring the sample. A check the sample cannot work with is left out with a note that says
what to map instead: one that fails most of the sample (its rule, below 1 - 2x the failures,
could never fire, and a check that fails most of today's traffic describes the data's shape,
not an incident), and groundedness on a context that is not text (a JSON list of document ids
has no words an answer could be backed by)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import timedelta

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
MIN_PASS = 0.5  # a check the sample passes less often is left out: its rule could never fire
TEXT_WORDS = 3  # a context value holds text when some string in it has this many words


@dataclass(frozen=True)
class EvaluatorPlan:
    """Offline evaluators the mapped text supports, their sampling share and rules."""

    checks: tuple[tuple[str, str], ...]  # (evaluator, comment)
    share: float
    rules: tuple[RulePlan, ...]
    notes: tuple[str, ...]
    left_out: tuple[tuple[str, str], ...] = ()  # (evaluator, why) the sample cannot work with

    @property
    def enabled(self) -> bool:
        return bool(self.checks)


def evaluator_plan(
    frame: pd.DataFrame, mapping: dict[str, str], sizing: Sizing, owner: str
) -> EvaluatorPlan:
    """pii and refusal on the output, groundedness with a context, tool_calls when mapped; the
    sampling share gives a window `min_n` judged records; thresholds from scoring the sample.
    A check the sample cannot work with is left out, with a note (`_unworkable`)."""
    names = _names(mapping)
    if not names:
        return EvaluatorPlan((), 0.05, (), ("no output column: no evaluators",))
    min_n = FAMILIES.min_n(f"eval.{names[0]}")
    share = 0.05
    if sizing.known and sizing.rows_per_window > 0:
        share = min(1.0, max(0.05, round_up(min_n / sizing.rows_per_window, 0.01)))
    checks: list[tuple[str, str]] = []
    rules: list[RulePlan] = []
    notes: list[str] = []
    left_out: list[tuple[str, str]] = []
    records = _records(frame)
    for name in names:
        passed, judged = _pass_rate(name, records)
        if judged == 0:
            checks.append((name, "nothing in the sample could be judged"))
            continue
        why_not = _unworkable(name, passed, judged, records, mapping)
        if why_not is not None:
            left_out.append((name, why_not))
            notes.append(f"no {name} check (nor its rule): {why_not}")
            continue
        checks.append((name, f"passes {passed:.1%} of {judged} sampled records"))
        judged_share = share * judged / max(1, len(records))
        span = sizing.pool(min_n, judged_share)
        if span is None:
            notes.append(f"no eval.{name} rule: too few records to judge {min_n} within 7 days")
            continue
        rules.append(_rule(name, passed, sizing, span, min_n, judged_share, owner))
    return EvaluatorPlan(tuple(checks), share, tuple(rules), tuple(notes), tuple(left_out))


def _names(mapping: dict[str, str]) -> list[str]:
    names = []
    if "output" in mapping:
        names += ["pii", "refusal"]
        if "context" in mapping:
            names.append("groundedness")
    if "tool_calls" in mapping:
        names.append("tool_calls")
    return names


def _rule(
    name: str,
    passed: float,
    sizing: Sizing,
    span: timedelta,
    min_n: int,
    judged_share: float,
    owner: str,
) -> RulePlan:
    """Fires below 1 - max(2x the sample's failures, 5%)."""
    threshold = max(0.0, round(1 - max(2 * (1 - passed), 0.05) - 0.005, 2))
    why = f"the sample passes {passed:.1%}, fires below 1 - max(2x its failures, 5%)"
    return RulePlan(
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


def _unworkable(
    name: str, passed: float, judged: int, records: list[dict[str, object]], mapping: dict[str, str]
) -> str | None:
    """Why the sample shows `name` cannot work on this data, or None when it can."""
    field = {"groundedness": "context", "tool_calls": "tool_calls"}.get(name, "output")
    column = mapping.get(field, field)
    fails = f"it fails {1 - passed:.1%} of the {judged} sampled records"
    if name == "groundedness" and not _looks_like_text(records):
        return (
            f"{column} (context) holds no passages of text (ids or JSON lists of them, "
            f"say), so no answer can be backed by it and {fails}; map as context a column, "
            "or a view, with the text of the retrieved passages, then add the check"
        )
    if passed >= MIN_PASS:
        return None
    return (
        f"{fails}: a check that fails most of the sample describes the data, not an incident, "
        "and its rule (below 1 - 2x the failures) could never fire; check that "
        f"{column} holds what {name} reads ({_reads(name)}) before adding it"
    )


def _reads(name: str) -> str:
    return {
        "groundedness": "the answer as output, the retrieved passages' text as context",
        "tool_calls": "the JSON tool calls",
    }.get(name, "the answer's text as output")


def _looks_like_text(records: list[dict[str, object]]) -> bool:
    """Most context values hold some string of `TEXT_WORDS` words or more (in JSON too)."""
    values = [r["context"] for r in records if r.get("context") is not None]
    if not values:
        return True
    return sum(_has_words(v) for v in values) * 2 >= len(values)


def _has_words(value: object) -> bool:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return len(value.split()) >= TEXT_WORDS
    if isinstance(value, str):
        return len(value.split()) >= TEXT_WORDS
    if isinstance(value, dict):
        return any(_has_words(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_words(v) for v in value)
    return False


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
