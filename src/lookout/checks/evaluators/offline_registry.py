"""The offline evaluators by name, for configuration: `make_offline("pii", kinds=("email",))`."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from lookout.checks.evaluators.groundedness import Groundedness, Hallucination
from lookout.checks.evaluators.offline import OfflineEvaluator
from lookout.checks.evaluators.relevance import AnswerRelevance, ContextRelevance
from lookout.checks.evaluators.safety import Pii, Refusal
from lookout.checks.evaluators.structure import JsonValidity, ToolCalls

__all__ = ["OFFLINE_EVALUATORS", "make_offline"]

OFFLINE_EVALUATORS: dict[str, Callable[..., OfflineEvaluator]] = {
    "groundedness": Groundedness,
    "hallucination": Hallucination,
    "context_relevance": ContextRelevance,
    "answer_relevance": AnswerRelevance,
    "pii": Pii,
    "refusal": Refusal,
    "json_validity": JsonValidity,
    "tool_calls": ToolCalls,
}


def make_offline(name: str, **params: Any) -> OfflineEvaluator:
    """Build the offline evaluator `name` with `params` (its dataclass fields).

    Raises ValueError for an unknown evaluator (listing the known ones) or an unknown
    parameter (listing that evaluator's parameters), so a typo in a config file is reported
    at load time rather than ignored.
    """
    factory = OFFLINE_EVALUATORS.get(name)
    if factory is None:
        raise ValueError(
            f"unknown offline evaluator {name!r}; known: {', '.join(sorted(OFFLINE_EVALUATORS))}"
        )
    allowed = (
        {f.name for f in dataclasses.fields(factory)} - {"name"}
        if isinstance(factory, type) and dataclasses.is_dataclass(factory)
        else None
    )
    if allowed is not None:
        unknown = sorted(set(params) - allowed)
        if unknown:
            raise ValueError(
                f"offline evaluator {name!r}: unknown parameter(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(allowed))}"
            )
    return factory(**params)
