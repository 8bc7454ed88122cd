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
from typing import Any, Protocol, runtime_checkable

from lookout.model.judgments import Judgment

__all__ = [
    "Budget",
    "Evaluator",
    "missing_fields",
    "version_hash",
]

Record = Mapping[str, Any]


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
