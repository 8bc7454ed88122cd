"""The drift stage: each release x cohort of the window against its reference."""

from __future__ import annotations

from lookout.checks.drift.stage import run_drift
from lookout.config.models import Monitor
from lookout.stages.base import StageOutcome, WindowRun

__all__ = ["DriftStage"]


class DriftStage:
    name = "drift"

    def enabled(self, monitor: Monitor) -> bool:
        return monitor.drift.enabled

    def run(self, run: WindowRun) -> StageOutcome:
        outcome = run_drift(
            run.ctx.warehouse, run.ctx.store, run.monitor, run.window, run.started, run.cap
        )
        return StageOutcome(
            metrics=outcome.metrics,
            summaries=outcome.summaries,
            stats={
                "drifted": tuple(
                    f"{r.release} {r.cohort} {r.column}" for r in outcome.rows if r.drifted
                )
            },
            detail=outcome,
        )
