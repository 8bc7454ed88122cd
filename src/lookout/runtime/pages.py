"""The pages a window's alerts link, written before their messages are queued, and what each
message says about what its stage found.

The queue asks `about(alert)` once per alert it messages. The alert's metric family picks the
page (`lookout.notify.findings.page_kind`): the window's validation details or judge summary
(written here, once per window run), the cohort's drift report (written by the alert stage's
`attach_reports`; linked only when it exists), or the release timeline (written here when it
does not exist yet; the site refresh keeps it current). A page that cannot be written is
logged and not linked: a link never points at a page that does not exist. Links need
`report_base_url`, as the drift reports' do; the pages are written either way.

What a stage found comes from its outcome in memory, or, when the stage was not re-run for
this window (a backfill of other stages), from the store.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lookout.config.models import Monitor
from lookout.model.aggregates import ALL_COHORTS, MetricValue
from lookout.model.alerts import AlertState
from lookout.model.families.registry import FAMILIES
from lookout.notify.findings import (
    NO_FINDING,
    PAGE_LABELS,
    Finding,
    PageKind,
    drift_finding,
    evaluator_finding,
    page_kind,
    validation_finding,
)
from lookout.notify.message import Link
from lookout.reports.judge_page import write_judge_page
from lookout.reports.paths import anchor, releases_path, report_url
from lookout.reports.validation_page import write_validation_page
from lookout.runtime.redact import redact_secrets
from lookout.stages.base import StageOutcome
from lookout.stages.drift.outcome import DriftOutcome
from lookout.stages.evaluators.findings import EvaluatorFindings
from lookout.stages.validation.findings import ValidationFindings
from lookout.windows import Window

if TYPE_CHECKING:
    from lookout.runtime.run_context import Context

__all__ = ["WindowPages"]

log = logging.getLogger("lookout.pipeline")

_UNSET: Any = object()


class WindowPages:
    """What the queue's messages of one window say about their alerts, and the pages they link
    (see the module docstring)."""

    def __init__(
        self,
        ctx: Context,
        monitor: Monitor,
        window: Window,
        outcomes: Mapping[str, StageOutcome],
        values: list[MetricValue],
        kept: Collection[str] = (),
    ) -> None:
        self._ctx = ctx
        self._monitor = monitor
        self._window = window
        self._outcomes = outcomes
        self._values = values
        self._kept = set(kept)
        self._validation: ValidationFindings | None = _UNSET
        self._evaluators: EvaluatorFindings | None = _UNSET
        self._written: dict[PageKind, str | None] = {}  # page -> relative path (None: failed)

    def about(self, alert: AlertState) -> Finding:
        """The alert's headline, facts, table and page link (the page written if needed)."""
        kind = page_kind(alert.metric)
        if kind == "validation":
            found = self.validation()
            finding = (
                NO_FINDING if found is None else validation_finding(alert, found, self._window)
            )
            fragment = anchor("release", alert.release)
        elif kind == "judges":
            found_eval = self.evaluators()
            finding = NO_FINDING if found_eval is None else evaluator_finding(alert, found_eval)
            family = FAMILIES.family(alert.metric)
            fragment = anchor("eval", family.part(alert.metric)) if family else None
        elif kind == "drift":
            finding, fragment = drift_finding(alert, self._drift().rows), None
        else:
            finding, fragment = NO_FINDING, None
        url = self._url(kind, alert, fragment) if kind is not None else None
        if url is None:
            return finding
        return Finding(
            finding.headline, finding.facts, finding.tables, Link(PAGE_LABELS[kind], url)
        )

    # -- what the stages found ---------------------------------------------------------------

    def validation(self) -> ValidationFindings | None:
        if self._validation is _UNSET:
            self._validation = self._load_validation()
        return self._validation

    def evaluators(self) -> EvaluatorFindings | None:
        if self._evaluators is _UNSET:
            self._evaluators = self._load_evaluators()
        return self._evaluators

    def _load_validation(self) -> ValidationFindings | None:
        outcome = self._outcomes.get("validate")
        if outcome is not None:
            return ValidationFindings.from_result(outcome.detail)
        if "validate" not in self._kept:
            return None
        store, name = self._ctx.store, self._monitor.name
        rows = {
            v.release: v.n
            for v in self._values
            if v.metric == "quarantine_rate" and v.cohort == ALL_COHORTS
        }
        return ValidationFindings.from_rows(
            store.validations(name, window_start=self._window.start),
            store.quarantined(name, window_start=self._window.start),
            rows,
        )

    def _load_evaluators(self) -> EvaluatorFindings | None:
        outcome = self._outcomes.get("evaluate")
        if outcome is not None:
            return EvaluatorFindings.from_outcome(outcome.detail.examples, self._values)
        if "evaluate" not in self._kept:
            return None
        judgments = self._ctx.store.judgments(self._monitor.name, window_start=self._window.start)
        return EvaluatorFindings.from_rows(judgments, self._values)

    def _drift(self) -> DriftOutcome:
        outcome = self._outcomes.get("drift")
        return outcome.detail if outcome is not None else DriftOutcome()

    # -- pages ---------------------------------------------------------------------------------

    def _url(self, kind: PageKind, alert: AlertState, fragment: str | None) -> str | None:
        base = self._ctx.config.target.report_base_url
        relative = self._drift_report(alert) if kind == "drift" else self._page(kind)
        if relative is None or not (self._ctx.out_dir / relative).exists():
            return None
        return report_url(relative, self._ctx.out_dir, base, fragment)

    def _drift_report(self, alert: AlertState) -> str | None:
        """The alert's cohort report, else its release's (a pooled `(other)` cohort has none)."""
        paths = {(r.release, r.cohort): r.report_path for r in self._drift().rows if r.report_path}
        return paths.get((alert.release, alert.cohort)) or paths.get((alert.release, ALL_COHORTS))

    def _page(self, kind: PageKind) -> str | None:
        if kind not in self._written:
            writers: dict[PageKind, Callable[[], str | None]] = {
                "validation": self._write_validation,
                "judges": self._write_judges,
                "releases": self._write_releases,
            }
            try:
                self._written[kind] = writers[kind]()
            except Exception as exc:  # a page must not sink the window: its link is left out
                log.warning(
                    "%s page of %s %s failed: %s",
                    kind,
                    self._monitor.name,
                    self._window.label,
                    redact_secrets(repr(exc), self._ctx.config),
                )
                self._written[kind] = None
        return self._written[kind]

    def _write_validation(self) -> str | None:
        found = self.validation()
        if found is None:
            return None
        return write_validation_page(self._ctx.out_dir, self._monitor.name, self._window, found)

    def _write_judges(self) -> str | None:
        found = self.evaluators()
        if found is None:
            return None
        return write_judge_page(self._ctx.out_dir, self._monitor.name, self._window, found)

    def _write_releases(self) -> str:
        """Written when missing; the site refresh (nightly, `lookout reports`) keeps it current."""
        # imported here: the scorecard module imports compare, which imports the pipeline
        from lookout.reports.scorecard import write_release_page

        relative = releases_path(self._monitor.name)
        if not (self._ctx.out_dir / relative).exists():
            store, name = self._ctx.store, self._monitor.name
            write_release_page(
                self._ctx.out_dir,
                name,
                store.release_summary(name),
                store.alerts(name),
                datetime.now(UTC),
                self._ctx.config.monitors.alerting.stale_after,
            )
        return relative
