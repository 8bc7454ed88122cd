"""The shared loop of the offline evaluators: skip, score, label, version.

An offline evaluator needs no model and no API key: it scores a record with plain code, costs
nothing and ignores the run's budget. Subclasses are frozen dataclasses whose fields are their
parameters; they implement `score(record) -> (score, reason)` and inherit the rest: a record
missing a needed field is skipped (never a fail), an unexpected exception becomes an `error`
judgment (never a 0), and `version` hashes the code version with every parameter, so a changed
parameter or a new `CODE_VERSION` starts a new series of results.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any, ClassVar

from lookout.checks.evaluators.base import Budget, missing_fields, version_hash
from lookout.checks.evaluators.text import LONG_DIGIT_RUN
from lookout.model.judgments import Judgment

__all__ = ["MAX_REASON", "OfflineEvaluator", "clip", "mask_digits"]

MAX_REASON = 200


def clip(text: str, limit: int = MAX_REASON) -> str:
    """One line, at most `limit` characters (an ellipsis marks the cut)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def mask_digits(text: str) -> str:
    """Replace runs of 7+ digits by their length, so a reason quoting an answer never carries a
    phone or card number: 'call 555 123 4567' -> 'call <10 digits>'."""

    def repl(match: re.Match[str]) -> str:
        digits = sum(ch.isdigit() for ch in match.group())
        return f"<{digits} digits>" if digits >= 7 else match.group()

    return LONG_DIGIT_RUN.sub(repl, text)


@dataclasses.dataclass(frozen=True)
class OfflineEvaluator:
    """Base class: subclasses add their parameters as fields and implement `score`."""

    CODE_VERSION: ClassVar[str] = "0"
    needs: ClassVar[tuple[str, ...]] = ()

    name: str = ""
    threshold: float = 0.5

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError(f"{type(self).__name__}: an evaluator needs a name")
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"{self.name}: threshold {self.threshold!r} is not in [0, 1]")

    @cached_property
    def version(self) -> str:
        """Changes with the code (`CODE_VERSION`) and with any parameter."""
        params = json.dumps(dataclasses.asdict(self), sort_keys=True, default=repr)
        return version_hash(self.name, type(self).__name__, self.CODE_VERSION, params)

    def score(self, record: Mapping[str, Any]) -> tuple[float | None, str]:
        """(score in [0, 1], reason); a None score means the record cannot be judged."""
        raise NotImplementedError

    def evaluate(
        self, records: Sequence[Mapping[str, Any]], budget: Budget | None = None
    ) -> list[Judgment]:
        """One judgment per record, in order. Free: the budget is not consulted."""
        return [self._judge(record) for record in records]

    def _judge(self, record: Mapping[str, Any]) -> Judgment:
        record_id = str(record.get("record_id", ""))
        missing = missing_fields(record, self.needs)
        if missing:
            return self._judgment(record_id, "skipped", reason="missing: " + ", ".join(missing))
        try:
            value, reason = self.score(record)
        except Exception as exc:  # a bug on one odd record must not sink the run
            return self._judgment(
                record_id, "error", reason=f"evaluator failed: {type(exc).__name__}"
            )
        if value is None:
            return self._judgment(record_id, "skipped", reason=clip(reason))
        value = round(min(1.0, max(0.0, float(value))), 4)
        label = "pass" if value >= self.threshold else "fail"
        return self._judgment(record_id, "judged", score=value, label=label, reason=clip(reason))

    def _judgment(self, record_id: str, status: Any, **fields: Any) -> Judgment:
        return Judgment(
            record_id=record_id,
            evaluator=self.name,
            evaluator_version=self.version,
            status=status,
            **fields,
        )
