"""The evaluator stage: offline evaluators and LLM judges on the window's failure-biased
sample; pass rates per release x cohort."""

from __future__ import annotations

import logging

from lookout.checks.evaluators.stage import run_evaluators
from lookout.config.models import Monitor
from lookout.stages.base import StageOutcome, WindowRun

__all__ = ["EvaluatorStage"]

log = logging.getLogger("lookout.evaluators")


class EvaluatorStage:
    name = "evaluate"

    def enabled(self, monitor: Monitor) -> bool:
        return monitor.evaluators.enabled and bool(monitor.evaluators.checks)

    def run(self, run: WindowRun) -> StageOutcome:
        ctx, monitor, window = run.ctx, run.monitor, run.window
        validated = run.outcomes.get("validate")
        excluded = (
            validated.detail.quarantined
            if validated is not None
            else ctx.store.quarantined_ids(monitor.name, window)
        )
        with ctx.serial:  # the judge budget is shared by the windows of a run
            outcome = run_evaluators(
                ctx.warehouse,
                ctx.store,
                monitor,
                window,
                ctx.evaluators(monitor),
                ctx.judge_budget(monitor),
                run.started,
                exclude=excluded,
                cap=run.cap,
            )
        if outcome.budget_exhausted:
            log.warning(
                "monitor %s window %s: judge budget reached (%s); the rest was not judged",
                monitor.name,
                window.label,
                outcome.budget_exhausted,
            )
        return StageOutcome(
            metrics=outcome.metrics,
            summaries=outcome.summaries,
            stats={
                "judged": outcome.judged,
                "judge_cached": outcome.cached,
                "judge_errors": outcome.errors,
                "judge_cost_usd": outcome.cost_usd,
                "judge_budget_exhausted": outcome.budget_exhausted,
            },
            detail=outcome,
        )
