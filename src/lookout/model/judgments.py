"""One evaluator's verdict on one record (a pure type): what evaluators return, the store keeps as
the judge cache and the pages show. A judge error is `status="error"`, never a fail or a 0."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Judgment", "JudgmentStatus"]

JudgmentStatus = Literal["judged", "skipped", "error"]


@dataclass(frozen=True)
class Judgment:
    """One evaluator's verdict on one record, with what it cost."""

    record_id: str
    evaluator: str
    evaluator_version: str
    status: JudgmentStatus
    score: float | None = None  # in [0, 1], higher is better; None unless judged
    label: Literal["pass", "fail"] | None = None  # score >= threshold -> pass
    reason: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0

    def __post_init__(self) -> None:
        if self.status == "judged":
            if self.score is None or not 0.0 <= self.score <= 1.0:
                raise ValueError(f"{self.evaluator}: score {self.score!r} is not in [0, 1]")
            if self.label not in ("pass", "fail"):
                raise ValueError(f"{self.evaluator}: a judged record needs a pass/fail label")
        elif self.score is not None or self.label is not None:
            raise ValueError(f"{self.evaluator}: a {self.status} judgment has no score or label")
