"""Judgments -> metrics per evaluator x release x cohort, and agreement with human labels. Pure.

`eval.<name>` is the pass rate on the stratified random sample (Wilson interval, `n` = records
judged), the unbiased estimate rules should alert on; `eval_flagged.<name>` is the pass rate on
records picked because they looked suspicious; `eval_score.<name>` the mean score on the random
sample; `eval_errors.<name>` the share of attempts that errored (skipped records do not count).
Calibration compares pass/fail with a human label (negative feedback = fail, other feedback =
pass, or an `expected` of pass/fail) where one exists: accuracy, Cohen's kappa, confusion counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from lookout.checks.stats import wilson_interval
from lookout.core.summary import Summary
from lookout.core.values import ConfiguredValue, value_key, value_keys
from lookout.model.aggregates import ALL_COHORTS, MetricValue
from lookout.model.judgments import Judgment
from lookout.model.record import is_missing

__all__ = [
    "EXAMPLES_PER_GROUP",
    "Calibration",
    "Graded",
    "JudgedExample",
    "auroc",
    "calibration",
    "calibration_metrics",
    "failing_examples",
    "human_label",
    "judgment_metrics",
    "judgment_summaries",
]

_PASS_WORDS = {"pass", "passed", "true", "yes", "1", "correct", "good", "grounded"}
_FAIL_WORDS = {"fail", "failed", "false", "no", "0", "incorrect", "bad", "hallucinated"}


@dataclass(frozen=True)
class Graded:
    """A judgment with where its record belongs."""

    judgment: Judgment
    release: str
    cohorts: tuple[str, ...]  # cohort labels of the record, e.g. ("route=faq", "region=eu")
    random: bool  # in the stratified random sample (else: flagged only)
    human: str | None = None  # "pass" / "fail" from feedback or `expected`


EXAMPLES_PER_GROUP = 10  # failing (and errored) records kept per evaluator x release x cohort


@dataclass(frozen=True)
class JudgedExample:
    """A record an evaluator failed (or could not judge), for the judge page and alerts."""

    record_id: str
    evaluator: str
    release: str
    cohorts: tuple[str, ...]  # the record's cohort labels; () when not known (stored rows)
    status: str  # "judged" (a fail) or "error"
    score: float | None
    reason: str
    sample: str  # "random", "flagged", or "" when not known


def failing_examples(
    graded: Iterable[Graded], per_group: int = EXAMPLES_PER_GROUP
) -> list[JudgedExample]:
    """Up to `per_group` failed and up to `per_group` errored records per evaluator x release x
    cohort (`*` included), lowest scores first, then by record id: every alert on a pass rate
    or an error share can show records of its own cohort."""
    bad = [g for g in graded if g.judgment.label == "fail" or g.judgment.status == "error"]
    bad.sort(key=lambda g: (g.judgment.score or 0.0, g.judgment.record_id, g.judgment.evaluator))
    taken: dict[tuple[str, str, str, str], int] = {}
    out: list[JudgedExample] = []
    for item in bad:
        j = item.judgment
        keys = [(j.evaluator, item.release, cohort, j.status) for cohort in ("*", *item.cohorts)]
        if all(taken.get(key, 0) >= per_group for key in keys):
            continue
        for key in keys:
            taken[key] = taken.get(key, 0) + 1
        out.append(
            JudgedExample(
                record_id=j.record_id,
                evaluator=j.evaluator,
                release=item.release,
                cohorts=item.cohorts,
                status=j.status,
                score=j.score,
                reason=j.reason,
                sample="random" if item.random else "flagged",
            )
        )
    return out


def human_label(
    feedback: object, expected: object, negative_feedback: Iterable[ConfiguredValue]
) -> str | None:
    """A human verdict of the record: `expected` when it reads as pass/fail, else feedback."""
    if isinstance(expected, str | bool | int) and not isinstance(expected, float):
        word = str(expected).strip().lower()
        if word in _PASS_WORDS:
            return "pass"
        if word in _FAIL_WORDS:
            return "fail"
    if is_missing(feedback) or feedback == "":
        return None
    # compared as the negative-feedback rate compares it (`lookout.core.values`): -1 is "-1",
    # false is false, text without case
    negative = value_keys(negative_feedback, None, fold_case=True)
    return "fail" if value_key(feedback).lower() in negative else "pass"


def judgment_metrics(graded: Iterable[Graded]) -> list[MetricValue]:
    """Pass rates, flagged pass rates, mean scores and error shares per group."""
    groups: dict[tuple[str, str, str], list[Graded]] = {}
    for item in graded:
        for cohort in (ALL_COHORTS, *item.cohorts):
            groups.setdefault((item.judgment.evaluator, item.release, cohort), []).append(item)
    out: list[MetricValue] = []
    for (name, release, cohort), items in sorted(groups.items()):
        attempted = [g for g in items if g.judgment.status in ("judged", "error")]
        if attempted:
            errors = sum(g.judgment.status == "error" for g in attempted)
            out.append(_rate(release, cohort, f"eval_errors.{name}", errors, len(attempted)))
        random = [g.judgment for g in items if g.random and g.judgment.status == "judged"]
        if random:
            passed = sum(j.label == "pass" for j in random)
            out.append(_rate(release, cohort, f"eval.{name}", passed, len(random)))
            mean = sum(j.score or 0.0 for j in random) / len(random)
            out.append(MetricValue(release, cohort, f"eval_score.{name}", mean, len(random)))
        flagged = [g.judgment for g in items if not g.random and g.judgment.status == "judged"]
        if flagged:
            passed = sum(j.label == "pass" for j in flagged)
            out.append(_rate(release, cohort, f"eval_flagged.{name}", passed, len(flagged)))
    return out


def judgment_summaries(graded: Iterable[Graded]) -> dict[tuple[str, str], Summary]:
    """Per release x cohort, the mergeable counts behind every evaluator metric (see
    `lookout.model.families.evaluators`): pooled pass rates and kappas over any lookback
    equal those of the pooled judgments."""
    out: dict[tuple[str, str], Summary] = {}
    for item in graded:
        judgment = item.judgment
        prefix = f"eval.{judgment.evaluator}."
        counts: dict[str, float] = {}
        if judgment.status in ("judged", "error"):
            counts["attempts"] = 1
            counts["errors"] = 1.0 if judgment.status == "error" else 0.0
        if judgment.status == "judged":
            passed = 1.0 if judgment.label == "pass" else 0.0
            if item.random:
                counts.update(random_n=1, random_pass=passed, score_sum=judgment.score or 0.0)
            else:
                counts.update(flagged_n=1, flagged_pass=passed)
        groups = [(item.release, ALL_COHORTS), *((item.release, c) for c in item.cohorts)]
        human = item.human if judgment.status == "judged" and judgment.label else None
        for group in groups:
            summary = out.setdefault(group, Summary())
            for key, value in counts.items():
                summary.add(prefix + key, value)
            if human is not None and group[1] == ALL_COHORTS:
                cell = ("p" if judgment.label == "pass" else "f") + (
                    "p" if human == "pass" else "f"
                )
                summary.add(f"{prefix}h_{cell}", 1)
    return out


def _rate(release: str, cohort: str, metric: str, hits: int, n: int) -> MetricValue:
    low, high = wilson_interval(hits, n)
    return MetricValue(release, cohort, metric, hits / n, n, low, high)


@dataclass(frozen=True)
class Calibration:
    """Agreement of one evaluator's labels with human labels."""

    evaluator: str
    n: int
    accuracy: float
    kappa: float | None  # None when chance agreement is 1 (one class only on both sides)
    confusion: Mapping[str, int]  # "pass/pass" (judge/human), "pass/fail", "fail/pass", "fail/fail"


def calibration(pairs: Iterable[tuple[str, str, str]]) -> list[Calibration]:
    """From (evaluator, judge label, human label) triples, one Calibration per evaluator."""
    by_name: dict[str, dict[str, int]] = {}
    for name, judge, human in pairs:
        counts = by_name.setdefault(name, dict.fromkeys(_CELLS, 0))
        counts[f"{judge}/{human}"] += 1
    return [_calibrate(name, counts) for name, counts in sorted(by_name.items())]


_CELLS = ("pass/pass", "pass/fail", "fail/pass", "fail/fail")


def _calibrate(name: str, counts: dict[str, int]) -> Calibration:
    n = sum(counts.values())
    agree = counts["pass/pass"] + counts["fail/fail"]
    accuracy = agree / n
    judge_pass = (counts["pass/pass"] + counts["pass/fail"]) / n
    human_pass = (counts["pass/pass"] + counts["fail/pass"]) / n
    chance = judge_pass * human_pass + (1 - judge_pass) * (1 - human_pass)
    kappa = None if chance >= 1 else (accuracy - chance) / (1 - chance)
    return Calibration(name, n, accuracy, kappa, dict(counts))


def calibration_metrics(graded: Iterable[Graded]) -> list[MetricValue]:
    """`eval_agreement.<name>` (Wilson) and `eval_kappa.<name>` per release, cohort `*`."""
    by_release: dict[str, list[tuple[str, str, str]]] = {}
    for g in graded:
        if g.human and g.judgment.status == "judged" and g.judgment.label:
            triple = (g.judgment.evaluator, g.judgment.label, g.human)
            by_release.setdefault(g.release, []).append(triple)
    out: list[MetricValue] = []
    for release, triples in sorted(by_release.items()):
        for cal in calibration(triples):
            agree = cal.confusion["pass/pass"] + cal.confusion["fail/fail"]
            out.append(_rate(release, ALL_COHORTS, f"eval_agreement.{cal.evaluator}", agree, cal.n))
            if cal.kappa is not None:
                out.append(
                    MetricValue(
                        release, ALL_COHORTS, f"eval_kappa.{cal.evaluator}", cal.kappa, cal.n
                    )
                )
    return out


def auroc(scores: Sequence[float], labels: Sequence[int]) -> float:
    """Rank-based AUROC (Mann-Whitney U), tied scores sharing their average rank; labels 1/0."""
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    ranks = [0.0] * len(scores)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and scores[order[end + 1]] == scores[order[start]]:
            end += 1
        for k in range(start, end + 1):
            ranks[order[k]] = (start + end) / 2 + 1
        start = end + 1
    positives = sum(labels)
    negatives = len(labels) - positives
    if not positives or not negatives:
        raise ValueError("AUROC needs both classes")
    rank_sum = sum(r for r, label in zip(ranks, labels, strict=True) if label == 1)
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)
