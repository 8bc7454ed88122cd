"""What a window's evaluators found, as alert messages and the judge summary page show it: the
pass rates per evaluator x release x cohort, and records that failed (or errored) with the
evaluator's reason.

Built from the stage's outcome in memory, or from the stored judgments of a window whose
evaluators were not re-run; stored judgments carry no cohort, so their examples are the
release's (`cohorts_known` is False then).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lookout.checks.evaluators.summary import EXAMPLES_PER_GROUP, JudgedExample
from lookout.model.aggregates import ALL_COHORTS, MetricValue

__all__ = ["EVAL_PREFIXES", "EvaluatorFindings", "RateRow"]

# the metric prefixes of the evaluator stage, as the page's columns show them
EVAL_PREFIXES = ("eval.", "eval_flagged.", "eval_score.", "eval_errors.", "eval_agreement.")


@dataclass(frozen=True)
class RateRow:
    """One evaluator x release x cohort of the window: its metrics by prefix."""

    evaluator: str
    release: str
    cohort: str
    values: Mapping[str, MetricValue]  # prefix ("eval.", "eval_errors.", ...) -> value


@dataclass(frozen=True)
class EvaluatorFindings:
    values: tuple[MetricValue, ...]  # the window's evaluator metrics
    examples: tuple[JudgedExample, ...]
    cohorts_known: bool = True

    @classmethod
    def from_outcome(
        cls, examples: Iterable[JudgedExample], values: Iterable[MetricValue]
    ) -> EvaluatorFindings:
        return cls(_eval_values(values), tuple(examples))

    @classmethod
    def from_rows(
        cls, judgments: Iterable[Mapping[str, Any]], values: Iterable[MetricValue]
    ) -> EvaluatorFindings:
        """From the store's judgment rows of one window (fails and errors, release-wide)."""
        bad = [r for r in judgments if r["label"] == "fail" or r["status"] == "error"]
        bad.sort(key=lambda r: (r["score"] or 0.0, r["record_id"], r["evaluator"]))
        taken: dict[tuple[str, str, str], int] = {}
        examples = []
        for row in bad:
            key = (row["evaluator"], row["release"], row["status"])
            if taken.get(key, 0) >= EXAMPLES_PER_GROUP:
                continue
            taken[key] = taken.get(key, 0) + 1
            examples.append(
                JudgedExample(
                    record_id=row["record_id"],
                    evaluator=row["evaluator"],
                    release=row["release"],
                    cohorts=(),
                    status=row["status"],
                    score=row["score"],
                    reason=row["reason"] or "",
                    sample="",
                )
            )
        return cls(_eval_values(values), tuple(examples), cohorts_known=False)

    def value(self, metric: str, release: str, cohort: str) -> MetricValue | None:
        for v in self.values:
            if (v.metric, v.release, v.cohort) == (metric, release, cohort):
                return v
        return None

    def examples_of(
        self, evaluator: str, release: str, cohort: str, status: str
    ) -> list[JudgedExample]:
        """Failed (`judged`) or errored examples of one evaluator, release and cohort (the
        release's when cohorts are not known)."""
        return [
            e
            for e in self.examples
            if e.evaluator == evaluator
            and e.release == release
            and e.status == status
            and (cohort == ALL_COHORTS or not self.cohorts_known or cohort in e.cohorts)
        ]

    def rates(self) -> list[RateRow]:
        """Per evaluator x release x cohort (whole release first), its metrics by prefix."""
        rows: dict[tuple[str, str, str], dict[str, MetricValue]] = {}
        for v in self.values:
            prefix = _prefix(v.metric)
            if prefix is None:
                continue
            evaluator = v.metric.removeprefix(prefix)
            rows.setdefault((evaluator, v.release, v.cohort), {})[prefix] = v
        order = sorted(rows, key=lambda k: (k[0], k[1], k[2] != ALL_COHORTS, k[2]))
        return [RateRow(*key, rows[key]) for key in order]

    def evaluators(self) -> list[str]:
        names = {row.evaluator for row in self.rates()} | {e.evaluator for e in self.examples}
        return sorted(names)


def _prefix(metric: str) -> str | None:
    return next((p for p in EVAL_PREFIXES if metric.startswith(p)), None)


def _eval_values(values: Iterable[MetricValue]) -> tuple[MetricValue, ...]:
    return tuple(v for v in values if v.metric.startswith("eval"))
