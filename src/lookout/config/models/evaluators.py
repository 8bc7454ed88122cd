"""monitors.yml: the evaluator stage: offline evaluators and LLM judges, checked against
the evaluator registry when the config loads, the failure-biased sample and the judge budget."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from lookout.config.models.base import Identifier, Model

__all__ = ["EvaluatorSpec", "EvaluatorsConfig", "JudgeBudget", "SamplingConfig"]


class EvaluatorSpec(Model):
    """One evaluator of a monitor: an offline one by name, or an LLM judge (a prompt template)."""

    name: Identifier = Field(
        description="the id in results and metrics (eval.<name>); also the evaluator or "
        "template when `evaluator` is not given"
    )
    kind: Literal["offline", "llm"] = Field(
        default="offline",
        description="offline: built in, no key, no model; llm: a judge over the profile's "
        "OpenAI-compatible endpoint",
    )
    evaluator: str | None = Field(
        default=None, description="offline: registry name; llm: template (default: `name`)"
    )
    threshold: float | None = Field(default=None, ge=0, le=1, description="score >= passes")
    params: dict[str, Any] = Field(default={}, description="offline evaluator parameters")
    sample: Literal["sampled", "all"] = Field(
        default="sampled",
        description="all: every record of the window (cheap checks; their failures bias the "
        "sample of the others); sampled: the failure-biased sample",
    )

    @field_validator("params")
    @classmethod
    def _typed_params(cls, params: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        """Offline parameters checked and converted against the evaluator's own field types,
        so `window: "3"` works and `window: x` or `question_credit: .nan` fails here, not
        halfway through a run."""
        from lookout.checks.evaluators.offline_registry import OFFLINE_EVALUATORS

        name = info.data.get("evaluator") or info.data.get("name")
        factory = OFFLINE_EVALUATORS.get(name) if isinstance(name, str) else None
        if info.data.get("kind") != "offline" or not dataclasses.is_dataclass(factory):
            return params  # `_buildable` reports the unknown evaluator or the llm params
        hints = typing.get_type_hints(factory)
        typed = dict(params)
        for key, value in params.items():
            if key in hints and key != "name":
                typed[key] = _param_value(str(name), key, hints[key], value)
        return typed

    @model_validator(mode="after")
    def _buildable(self) -> EvaluatorSpec:
        """Unknown evaluators, templates and parameters fail when the config loads."""
        if self.kind == "offline":
            from lookout.checks.evaluators.offline_registry import make_offline

            params = dict(self.params)
            if self.threshold is not None:
                params["threshold"] = self.threshold
            try:
                make_offline(self.evaluator or self.name, **params)
            except TypeError as exc:  # a value of the right type the evaluator still refuses
                raise ValueError(f"offline evaluator parameters: {exc}") from None
        else:
            from lookout.checks.evaluators.prompts import template_names

            template = self.evaluator or self.name
            if template not in template_names():
                known = ", ".join(template_names())
                raise ValueError(f"unknown judge template {template!r}; known: {known}")
            if self.params:
                raise ValueError("an LLM judge takes no params (use threshold and evaluator)")
        return self


def _param_value(evaluator: str, key: str, hint: Any, value: Any) -> Any:
    """One offline parameter validated as its declared type (finite floats only)."""
    try:
        adapter: TypeAdapter[Any] = TypeAdapter(hint, config=ConfigDict(allow_inf_nan=False))
        return adapter.validate_python(value)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        raise ValueError(f"offline evaluator {evaluator!r}: {key}: {first['msg']}") from None


class SamplingConfig(Model):
    """Which records are graded: every suspicious one, plus a stable share of the rest."""

    share: float = Field(default=0.05, ge=0, le=1, description="of the other records")
    errors: bool = Field(default=True, description="every record whose status is not ok")
    negative_feedback: bool = Field(default=True, description="every record with negative feedback")
    latency_quantile: float | None = Field(
        default=0.99, gt=0, lt=1, description="records above this latency quantile of the window"
    )
    offline_failures: bool = Field(
        default=True, description="records failing an evaluator with `sample: all`"
    )
    salt: str = Field(default="", description="change to draw a different stable sample")
    max_records: int | None = Field(
        default=20_000,
        ge=1,
        description="per window: a larger sample is thinned to about this many records "
        "(the random part keeps at least half); null: no cap",
    )


class JudgeBudget(Model):
    """What LLM judges may spend per flow run and monitor; once reached, judging stops cleanly
    (the rest is skipped, not cached) and the run says which cap stopped it."""

    max_judgments: int | None = Field(default=None, ge=0, description="per flow run and monitor")
    max_usd: float | None = Field(
        default=None, ge=0, description="USD per flow run and monitor (from judge.prices)"
    )


class EvaluatorsConfig(Model):
    """Offline evaluators and LLM judges on a failure-biased sample of each window."""

    enabled: bool = Field(default=False, description="run the evaluator stage")
    checks: list[EvaluatorSpec] = Field(default=[], description="the evaluators, by name")
    sampling: SamplingConfig = SamplingConfig()
    budget: JudgeBudget = JudgeBudget()

    @model_validator(mode="after")
    def _unique(self) -> EvaluatorsConfig:
        seen: set[str] = set()
        for spec in self.checks:
            if spec.name in seen:
                raise ValueError(f"evaluator name {spec.name!r} is used twice")
            seen.add(spec.name)
        return self
