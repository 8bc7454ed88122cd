"""The evaluator contract: what every offline check and LLM judge takes and returns.

An evaluator grades records one by one. A record is a mapping of canonical field names
(`record_id`, `input`, `output`, `context`, `expected`, `tool_calls`, `status`, ...) to values.
The result is a `Judgment` per record. An evaluator that cannot judge a record (a needed field is
missing, the judge endpoint failed, its reply could not be parsed) returns `status="skipped"` or
`status="error"` with no score and no label: a judge error is never a fail or a 0.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

__all__ = [
    "Budget",
    "Evaluator",
    "Judgment",
    "JudgmentStatus",
    "missing_fields",
    "version_hash",
]

JudgmentStatus = Literal["judged", "skipped", "error"]
Record = Mapping[str, Any]


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


@runtime_checkable
class Evaluator(Protocol):
    """Grades records. `version` changes whenever its prompt, model or code changes."""

    name: str
    version: str
    needs: tuple[str, ...]  # canonical fields it reads (besides record_id)
    threshold: float  # score >= threshold passes

    def evaluate(self, records: Sequence[Record], budget: Budget | None = None) -> list[Judgment]:
        """One judgment per record, in the input order."""
        ...


def missing_fields(record: Record, needs: Sequence[str]) -> list[str]:
    """Needed fields that are absent, None or blank text."""
    out = []
    for name in needs:
        value = record.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            out.append(name)
    return out


def version_hash(*parts: str | bytes) -> str:
    """A short stable hash of what defines an evaluator (code version, prompt text, model)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\x00")
    return digest.hexdigest()[:12]


class Budget:
    """A per-run cap on judgments and USD, shared by every paid evaluator of the run.

    `try_spend_judgment()` reserves one judgment before a request is sent; `add_cost()` books its
    USD afterwards. Once either cap is reached, no further judgment is reserved and `exhausted`
    says which cap stopped the run. Thread-safe (judges may run in a worker thread).
    """

    def __init__(self, max_judgments: int | None = None, max_usd: float | None = None) -> None:
        self.max_judgments = max_judgments
        self.max_usd = max_usd
        self.judgments = 0
        self.usd = 0.0
        self.exhausted: str | None = None
        self._lock = threading.Lock()

    def try_spend_judgment(self) -> bool:
        with self._lock:
            if self.max_judgments is not None and self.judgments >= self.max_judgments:
                self.exhausted = self.exhausted or "max_judgments"
                return False
            if self.max_usd is not None and self.usd >= self.max_usd:
                self.exhausted = self.exhausted or "max_usd"
                return False
            self.judgments += 1
            return True

    def add_cost(self, usd: float) -> None:
        with self._lock:
            self.usd += usd
