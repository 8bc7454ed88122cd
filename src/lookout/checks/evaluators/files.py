"""`lookout eval`: score a JSONL file of records offline, outside any schedule.

Each input line is a JSON object of canonical fields (`record_id`, `input`, `output`,
`context`, ...). A malformed line, or one without `record_id`, is reported with its line number
and left out; a line missing a field an evaluator needs is reported and gets a `skipped` row;
every other line is scored. Output lines: record_id, evaluator, evaluator_version, status,
score, label, reason, tokens, cost_usd, latency_ms, line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

from lookout.checks.evaluators.base import Budget, Evaluator, missing_fields
from lookout.checks.evaluators.summary import Calibration, calibration, human_label
from lookout.model.judgments import Judgment

__all__ = ["FileScore", "LineError", "read_records", "score_file"]


@dataclass(frozen=True)
class LineError:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass
class FileScore:
    records: int = 0
    errors: list[LineError] = field(default_factory=list)
    judgments: list[Judgment] = field(default_factory=list)
    calibration: list[Calibration] = field(default_factory=list)
    budget_exhausted: str | None = None


def read_records(stream: TextIO, path: str) -> Iterator[tuple[int, dict[str, Any] | LineError]]:
    for number, text in enumerate(stream, start=1):
        if not text.strip():
            continue
        try:
            value = json.loads(text)
        except ValueError as exc:
            yield number, LineError(path, number, f"not valid JSON ({exc.msg}, column {exc.colno})")
            continue
        if not isinstance(value, dict):
            yield number, LineError(path, number, "expected a JSON object")
        elif value.get("record_id") in (None, ""):
            yield number, LineError(path, number, "missing record_id")
        else:
            value["record_id"] = str(value["record_id"])
            yield number, value


def score_file(
    source: Path,
    target: Path,
    evaluators: Sequence[Evaluator],
    budget: Budget | None = None,
    negative_feedback: Sequence[str] = ("thumbs_down", "negative", "down"),
) -> FileScore:
    """Score `source` into `target` (written whole, then renamed: never half a file)."""
    outcome = FileScore()
    records: list[dict[str, Any]] = []
    lines: list[int] = []
    with source.open(encoding="utf-8", errors="replace") as stream:
        for number, item in read_records(stream, str(source)):
            if isinstance(item, LineError):
                outcome.errors.append(item)
            else:
                records.append(item)
                lines.append(number)
    outcome.records = len(records)
    for evaluator in evaluators:
        for record, number in zip(records, lines, strict=True):
            missing = missing_fields(record, evaluator.needs)
            if missing:
                outcome.errors.append(
                    LineError(
                        str(source), number, f"{evaluator.name}: missing {', '.join(missing)}"
                    )
                )
    budget = budget or Budget()
    partial = target.with_name(target.name + ".partial")
    pairs = []
    with partial.open("w", encoding="utf-8") as out:
        for evaluator in evaluators:
            judgments = evaluator.evaluate(records, budget)
            for judgment, number, record in zip(judgments, lines, records, strict=True):
                row = {**asdict(judgment), "line": number}
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
                human = human_label(
                    record.get("feedback"), record.get("expected"), negative_feedback
                )
                if human is None:
                    human = human_label(None, record.get("label"), negative_feedback)
                if human and judgment.label:
                    pairs.append((judgment.evaluator, judgment.label, human))
            outcome.judgments += judgments
    partial.replace(target)
    outcome.calibration = calibration(pairs)
    outcome.budget_exhausted = budget.exhausted
    return outcome
