"""`lookout eval`: score a JSONL file with offline evaluators and LLM judges, built by the same
registry as a monitor's evaluators (`checks.evaluators.registry`), so a judge scores a file
exactly as it scores a window."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lookout.checks.evaluators.base import Evaluator
    from lookout.checks.evaluators.files import FileScore

__all__ = ["EvaluatorLine", "build_file_evaluators", "evaluator_lines", "score"]


def build_file_evaluators(
    offline: Sequence[str],
    judges: Sequence[str],
    *,
    base_url: str | None,
    model: str | None,
    api_key: str | None,
    concurrency: int = 8,
    threshold: float | None = None,
) -> list[Evaluator]:
    """Offline evaluators by name and LLM judges by template (sharing one client); ValueError
    names what is wrong (an unknown evaluator, a judge without endpoint)."""
    from lookout.checks.evaluators.offline_registry import make_offline

    built = []
    for name in offline:
        params = {} if threshold is None else {"threshold": threshold}
        built.append(make_offline(name, **params))
    if judges:
        from pydantic import SecretStr

        from lookout.checks.evaluators.registry import judge_client, make_judge
        from lookout.config.models import JudgeTarget

        if not base_url or not model:
            raise ValueError("--judge needs --base-url and --model (or LOOKOUT_JUDGE_*)")
        target = JudgeTarget(
            base_url=base_url,
            model=model,
            api_key=SecretStr(api_key) if api_key else None,
            concurrency=concurrency,
        )
        client = judge_client(target)
        built += [make_judge(template, client, template, threshold) for template in judges]
    return built


def score(
    input_path: Path,
    output_path: Path,
    evaluators: Sequence[Evaluator],
    max_judgments: int | None = None,
    max_usd: float | None = None,
) -> FileScore:
    """Judge every record of `input_path` into `output_path` within the budget."""
    from lookout.checks.evaluators.base import Budget
    from lookout.checks.evaluators.files import score_file

    return score_file(input_path, output_path, list(evaluators), Budget(max_judgments, max_usd))


@dataclass(frozen=True)
class EvaluatorLine:
    """One evaluator's totals over a scored file."""

    evaluator: str
    judged: int
    passed: int
    skipped: int
    errors: int
    cost_usd: float

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.judged if self.judged else None


def evaluator_lines(evaluators: Sequence[Evaluator], outcome: FileScore) -> list[EvaluatorLine]:
    lines = []
    for item in evaluators:
        rows = [j for j in outcome.judgments if j.evaluator == item.name]
        judged = [j for j in rows if j.status == "judged"]
        lines.append(
            EvaluatorLine(
                item.name,
                len(judged),
                sum(j.label == "pass" for j in judged),
                sum(j.status == "skipped" for j in rows),
                sum(j.status == "error" for j in rows),
                sum(j.cost_usd for j in rows),
            )
        )
    return lines
