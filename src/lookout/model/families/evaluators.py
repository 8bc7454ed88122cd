"""The evaluator metric families, per evaluator name. Summary keys per evaluator `e`:
`eval.e.random_n` / `eval.e.random_pass` / `eval.e.score_sum` (the stratified random sample),
`eval.e.flagged_n` / `eval.e.flagged_pass`, `eval.e.attempts` / `eval.e.errors`, and the
agreement with human labels `eval.e.h_pp`, `h_pf`, `h_fp`, `h_ff` (judge/human)."""

from __future__ import annotations

from lookout.core.stats import wilson_interval
from lookout.core.summary import Summary
from lookout.model.families.base import Estimate, MetricFamily

__all__ = ["FAMILIES", "cohen_kappa"]


def _share(hits: str, total: str):
    def share(summary: Summary, name: str) -> Estimate | None:
        n = summary.count(f"eval.{name}.{total}")
        if n <= 0:
            return None
        x = min(summary.count(f"eval.{name}.{hits}"), n)
        low, high = wilson_interval(x, n)
        return Estimate(x / n, int(n), low, high)

    return share


def _score(summary: Summary, name: str) -> Estimate | None:
    n = summary.count(f"eval.{name}.random_n")
    return None if n <= 0 else Estimate(summary.count(f"eval.{name}.score_sum") / n, int(n))


def _agreement(summary: Summary, name: str) -> Estimate | None:
    cells = [summary.count(f"eval.{name}.h_{c}") for c in ("pp", "pf", "fp", "ff")]
    n = sum(cells)
    if n <= 0:
        return None
    agree = cells[0] + cells[3]
    low, high = wilson_interval(agree, n)
    return Estimate(agree / n, int(n), low, high)


def cohen_kappa(pp: float, pf: float, fp: float, ff: float) -> float | None:
    """Cohen's kappa of judge (first letter) against human (second) pass/fail counts."""
    n = pp + pf + fp + ff
    if n <= 0:
        return None
    observed = (pp + ff) / n
    judge_pass, human_pass = (pp + pf) / n, (pp + fp) / n
    expected = judge_pass * human_pass + (1 - judge_pass) * (1 - human_pass)
    return None if expected >= 1 else (observed - expected) / (1 - expected)


def _kappa(summary: Summary, name: str) -> Estimate | None:
    cells = [summary.count(f"eval.{name}.h_{c}") for c in ("pp", "pf", "fp", "ff")]
    kappa = cohen_kappa(*cells)
    return None if kappa is None else Estimate(kappa, int(sum(cells)))


FAMILIES: tuple[MetricFamily, ...] = (
    MetricFamily(
        "eval.",
        "evaluate",
        "pass rate of {name} on the stratified random sample (unbiased; Wilson interval)",
        "share",
        rate=True,
        min_n=30,
        better="higher",
        from_summary=_share("random_pass", "random_n"),
    ),
    MetricFamily(
        "eval_flagged.",
        "evaluate",
        "pass rate of {name} on records sampled because they looked suspicious",
        "share",
        rate=True,
        min_n=30,
        better="higher",
        from_summary=_share("flagged_pass", "flagged_n"),
    ),
    MetricFamily(
        "eval_score.",
        "evaluate",
        "mean score of {name} (0..1) on the random sample",
        "score",
        min_n=30,
        better="higher",
        from_summary=_score,
    ),
    MetricFamily(
        "eval_errors.",
        "evaluate",
        "share of {name} attempts that errored (judge failures, never fails)",
        "share",
        rate=True,
        min_n=10,
        better="lower",
        from_summary=_share("errors", "attempts"),
    ),
    MetricFamily(
        "eval_agreement.",
        "evaluate",
        "share of {name} labels agreeing with human labels (feedback/expected)",
        "share",
        rate=True,
        min_n=30,
        better="higher",
        from_summary=_agreement,
    ),
    MetricFamily(
        "eval_kappa.",
        "evaluate",
        "Cohen's kappa of {name} labels against human labels",
        "kappa",
        min_n=30,
        better="higher",
        from_summary=_kappa,
    ),
)
