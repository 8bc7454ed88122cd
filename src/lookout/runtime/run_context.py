"""The run `Context`: the adapters one process runs windows with (config, warehouse, store,
output folder) and what is built once per process over them (expectation suites, the GX runner,
evaluators and their judge budget).

It implements the ports the layers below run against (`lookout.stages.base.StageContext`,
`lookout.notify.queue.QueueContext`), so stages and the outbox never import the runtime.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from lookout.checks.evaluators.base import Budget
from lookout.checks.evaluators.registry import ConfiguredEvaluator, build_evaluators
from lookout.checks.validation.runner import GxRunner
from lookout.checks.validation.stage import PlannedExpectation, plan_suite
from lookout.config.loader import LookoutConfig
from lookout.config.models import Monitor
from lookout.runtime.context import RuntimeContext
from lookout.sources.warehouse import Warehouse
from lookout.store.results import ResultsStore

__all__ = ["Context"]


@dataclass
class Context:
    """The adapters a run needs, built once per process from the active profile target."""

    config: LookoutConfig
    warehouse: Warehouse
    store: ResultsStore
    out_dir: Path
    # Test seam: called with a stage name before that stage runs (crash injection).
    before_stage: Callable[[str], None] | None = None
    # Awaited before each LLM judge request: a limit shared across processes (set by flows).
    judge_throttle: Callable[[], Awaitable[None]] | None = None
    _suites: dict[str, list[PlannedExpectation]] = field(default_factory=dict)
    _gx: GxRunner | None = None
    _evaluators: dict[str, list[ConfiguredEvaluator]] = field(default_factory=dict)
    _budgets: dict[str, Budget] = field(default_factory=dict)
    # Windows may run in threads (a backfill's fan-out): GX and the judge budget are shared
    # state, so their stages take turns; reading, metrics and drift run side by side.
    serial: threading.Lock = field(default_factory=threading.Lock)

    def evaluators(self, monitor: Monitor) -> list[ConfiguredEvaluator]:
        """The monitor's evaluators, built once per context (LLM judges share one client)."""
        if monitor.name not in self._evaluators:
            self._evaluators[monitor.name] = build_evaluators(
                monitor, self.config.target.judge, self.judge_throttle
            )
        return self._evaluators[monitor.name]

    def judge_budget(self, monitor: Monitor) -> Budget:
        """One budget per monitor for the life of the context (one flow run)."""
        if monitor.name not in self._budgets:
            cap = monitor.evaluators.budget
            self._budgets[monitor.name] = Budget(cap.max_judgments, cap.max_usd)
        return self._budgets[monitor.name]

    def suite(self, monitor: Monitor) -> list[PlannedExpectation]:
        """The monitor's planned expectations, built once per context."""
        if monitor.name not in self._suites:
            self._suites[monitor.name] = plan_suite(monitor, self.config.monitors_dir)
        return self._suites[monitor.name]

    @property
    def gx(self) -> GxRunner:
        if self._gx is None:
            self._gx = GxRunner(self.warehouse.settings)  # opens the warehouse the same way
        return self._gx

    @classmethod
    def from_runtime(cls, opened: RuntimeContext) -> Context:
        """Over what `open_context` opened (it disposes them; `close` may too, safely)."""
        return cls(
            config=opened.config,
            warehouse=opened.warehouse,
            store=opened.store,
            out_dir=opened.out_dir,
        )

    @classmethod
    def from_config(cls, config: LookoutConfig) -> Context:
        """The adapters `open_context` would open, for a caller that calls `close()` itself."""
        return cls.from_runtime(RuntimeContext(config))

    def release_warehouse(self) -> None:
        """Close every warehouse connection (the reader's and GX's); the next stage reopens.
        DuckDB allows one configuration of a file per process: a writer in this process (a
        test, a notebook) needs the read-only reader gone first."""
        if self._gx is not None:
            self._gx.close()
            self._gx = None
        self.warehouse.dispose()

    def close(self) -> None:
        self.release_warehouse()
        self.store.dispose()
