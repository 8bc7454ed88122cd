"""The validation stage: the monitor's expectation suite on each release of the window (GX),
and the quarantine of records that fail a critical expectation."""

from __future__ import annotations

from lookout.checks.validation.stage import run_validation
from lookout.config.models import Monitor
from lookout.stages.base import StageOutcome, WindowRun

__all__ = ["ValidationStage"]


class ValidationStage:
    name = "validate"

    def enabled(self, monitor: Monitor) -> bool:
        return monitor.validation.enabled

    def run(self, run: WindowRun) -> StageOutcome:
        ctx = run.ctx
        with ctx.serial:  # GX is shared state: windows running side by side take turns
            result = run_validation(
                ctx.warehouse,
                run.monitor,
                run.window,
                planned=ctx.suite(run.monitor),
                runner=ctx.gx,
                connection_string=ctx.config.target.warehouse.url.get_secret_value(),
            )
        return StageOutcome(
            metrics=result.metrics(),
            summaries=result.summaries(),
            writes={
                "validations": result.outcomes,
                "quarantine": result.quarantine_records(),
                "flag": result.flag,
            },
            stats={
                "quarantined": len(result.quarantined),
                "quarantine_reasons": dict(result.reasons),
                "failed_expectations": result.failed,
                "errored_expectations": result.errored,
                "validation_path": result.path,
                "flag": result.flag,
            },
            detail=result,
        )
