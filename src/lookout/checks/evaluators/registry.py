"""Evaluators of a monitor, built from its config: offline ones by name, LLM judges by template."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from lookout.checks.evaluators.base import Evaluator
from lookout.checks.evaluators.offline_registry import make_offline
from lookout.config.models import EvaluatorSpec, JudgeTarget, Monitor
from lookout.errors import LookoutError

__all__ = [
    "ConfiguredEvaluator",
    "build_evaluators",
    "judge_client",
    "judge_settings",
    "make_judge",
]


@dataclass(frozen=True)
class ConfiguredEvaluator:
    spec: EvaluatorSpec
    evaluator: Evaluator


def judge_settings(judge: JudgeTarget):
    """The judge client's settings from the profile's `judge:` (the key stays a secret)."""
    from lookout.checks.evaluators.judge_client import JudgeSettings

    if not judge.base_url or not judge.model:
        raise LookoutError(
            "profiles.yml: judge.base_url and judge.model are needed by LLM judges "
            "(evaluators with kind: llm)"
        )
    return JudgeSettings(
        base_url=judge.base_url,
        model=judge.model,
        api_key=judge.api_key,
        concurrency=judge.concurrency,
        rpm=judge.rpm,
        timeout_s=judge.timeout_s,
        max_retries=judge.max_retries,
        prices=judge.prices,
        temperature=judge.temperature,
        max_tokens=judge.max_tokens,
        structured_output=judge.structured_output,
    )


def judge_client(judge: JudgeTarget, throttle: Callable[[], Awaitable[None]] | None = None):
    """One client for every LLM judge of a run (one concurrency cap, one rate limit)."""
    from lookout.checks.evaluators.judge_client import JudgeClient

    return JudgeClient(judge_settings(judge), throttle)


def make_judge(name: str, client, template: str, threshold: float | None = None) -> Evaluator:
    """An LLM judge over `client` with a prompt `template`; passes at 0.5 unless told."""
    from lookout.checks.evaluators.llm_judge import LLMJudge

    return LLMJudge(
        name, client, template=template, threshold=0.5 if threshold is None else threshold
    )


def build_evaluators(
    monitor: Monitor,
    judge: JudgeTarget,
    throttle: Callable[[], Awaitable[None]] | None = None,
) -> list[ConfiguredEvaluator]:
    """One evaluator per configured check; LLM judges share one client (one concurrency cap).
    `throttle` is awaited before every judge request (a limit shared across processes)."""
    out: list[ConfiguredEvaluator] = []
    client = None
    for spec in monitor.evaluators.checks:
        if spec.kind == "offline":
            params = dict(spec.params)
            if spec.threshold is not None:
                params["threshold"] = spec.threshold
            evaluator = make_offline(spec.evaluator or spec.name, **params)
            evaluator = dataclasses.replace(evaluator, name=spec.name)
        else:
            client = client or judge_client(judge, throttle)
            evaluator = make_judge(spec.name, client, spec.evaluator or spec.name, spec.threshold)
        missing = [f for f in evaluator.needs if not monitor.source.maps(f)]
        if len(missing) == len(evaluator.needs):
            raise LookoutError(
                f"monitors.yml: monitor {monitor.name}: evaluator {spec.name} needs "
                f"{', '.join(evaluator.needs)}, none of which is mapped in source.columns"
            )
        out.append(ConfiguredEvaluator(spec, evaluator))
    return out
