"""The judge summary of one window: pass rates per evaluator x release x cohort (random sample
with its 95% interval, flagged records, mean score, judge errors) and, per evaluator, records
that failed or errored with the evaluator's reason. What an evaluator alert links.

jinja2, autoescaped: releases, cohorts, record ids and reasons are logged data (a judge's
reason may quote the logged answer); reasons are clipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from lookout.checks.evaluators.summary import EXAMPLES_PER_GROUP
from lookout.model.aggregates import MetricValue
from lookout.notify.findings import clip
from lookout.reports.paths import anchor, window_page_path
from lookout.reports.templating import ENV
from lookout.stages.evaluators.findings import EvaluatorFindings
from lookout.windows import Window

__all__ = ["MAX_REASON_CHARS", "render_judge_page", "write_judge_page"]

MAX_REASON_CHARS = 1000


@dataclass(frozen=True)
class _Rate:
    evaluator: str
    release: str
    cohort: str
    passed: str
    n: str
    interval: str
    flagged: str
    score: str
    errors: str


@dataclass(frozen=True)
class _Example:
    record_id: str
    release: str
    cohorts: str
    status: str
    score: str
    sample: str
    reason: str


@dataclass(frozen=True)
class _Evaluator:
    name: str
    anchor: str
    examples: tuple[_Example, ...]


def _share(value: MetricValue | None, with_n: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value.value:.2%} (n={value.n:,})" if with_n else f"{value.value:.2%}"


def _interval(value: MetricValue | None) -> str:
    if value is None or value.ci_low is None or value.ci_high is None:
        return "-"
    return f"{value.ci_low:.2%}–{value.ci_high:.2%}"


def render_judge_page(
    monitor: str, window: Window, found: EvaluatorFindings, now: datetime | None = None
) -> str:
    rates = []
    for row in found.rates():
        passed = row.values.get("eval.")
        score = row.values.get("eval_score.")
        rates.append(
            _Rate(
                row.evaluator,
                row.release,
                row.cohort,
                _share(passed),
                "-" if passed is None else f"{passed.n:,}",
                _interval(passed),
                _share(row.values.get("eval_flagged."), with_n=True),
                "-" if score is None else f"{score.value:.3f}",
                _share(row.values.get("eval_errors."), with_n=True),
            )
        )
    evaluators = []
    for name in found.evaluators():
        examples = tuple(
            _Example(
                e.record_id,
                e.release,
                ", ".join(e.cohorts) or "-",
                "fail" if e.status == "judged" else e.status,
                "-" if e.score is None else f"{e.score:.2f}",
                e.sample or "-",
                clip(e.reason, MAX_REASON_CHARS) or "-",
            )
            for e in found.examples
            if e.evaluator == name
        )
        evaluators.append(_Evaluator(name, anchor("eval", name), examples))
    return ENV.get_template("judges.html.j2").render(
        monitor=monitor,
        window=f"{window.start:%Y-%m-%d %H:%M}–{window.end:%H:%M} UTC",
        label=window.label,
        rates=rates,
        evaluators=evaluators,
        cohorts_known=found.cohorts_known,
        per_group=EXAMPLES_PER_GROUP,
        generated=f"{(now or datetime.now(UTC)):%Y-%m-%d %H:%M} UTC",
    )


def write_judge_page(out_dir: Path, monitor: str, window: Window, found: EvaluatorFindings) -> str:
    """Write the page; its path relative to `out_dir`."""
    relative = window_page_path("judges", monitor, window)
    target = out_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_judge_page(monitor, window, found), encoding="utf-8")
    return relative
