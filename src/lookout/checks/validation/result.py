"""What a window's validation found, as the store and the alert rules take it: outcomes,
quarantine, and per release the metrics and mergeable summaries behind them (pure).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lookout.checks.stats import wilson_interval
from lookout.core.summary import Summary
from lookout.model.aggregates import ALL_COHORTS, MetricValue
from lookout.model.expectations import ExpectationOutcome

__all__ = ["ValidationResult"]


@dataclass(frozen=True)
class ValidationResult:
    outcomes: list[ExpectationOutcome]
    quarantined: dict[str, tuple[str, ...]]  # record id -> failed critical expectations
    quarantined_release: dict[str, str]  # record id -> release
    rows_by_release: dict[str, int]
    path: str
    max_share: float
    reasons: dict[str, int] = field(default_factory=dict)

    @classmethod
    def skipped(cls) -> ValidationResult:
        """What a monitor with validation disabled reports: nothing checked, nothing held."""
        return cls(
            outcomes=[],
            quarantined={},
            quarantined_release={},
            rows_by_release={},
            path="off",
            max_share=1.0,
        )

    @property
    def rows(self) -> int:
        return sum(self.rows_by_release.values())

    @property
    def failed(self) -> int:
        """Expectations that failed, those that errored included: a check that could not run
        is never reported as passed."""
        return sum(o.status in ("failed", "error") for o in self.outcomes)

    @property
    def errored(self) -> int:
        """Of `failed`, the expectations that raised instead of judging (status `error`)."""
        return sum(o.status == "error" for o in self.outcomes)

    def quarantine_records(self) -> dict[str, tuple[str, tuple[str, ...]]]:
        """record id -> (release, failed critical expectations), as the store keeps them."""
        return {
            record_id: (self.quarantined_release[record_id], reasons)
            for record_id, reasons in self.quarantined.items()
        }

    @property
    def quarantine_share(self) -> float:
        return len(self.quarantined) / self.rows if self.rows else 0.0

    @property
    def flag(self) -> str | None:
        """Set when too much of the window is quarantined to trust the rest of it."""
        if self.rows and self.quarantine_share > self.max_share:
            return (
                f"quarantined {len(self.quarantined)} of {self.rows} rows "
                f"({self.quarantine_share:.1%} > {self.max_share:.0%})"
            )
        return None

    def metrics(self) -> list[MetricValue]:
        """Per release: failed expectations (errored ones count as failed: the data-quality
        rule pages on them), each judged expectation's unexpected share, quarantine."""
        out: list[MetricValue] = []
        by_release: dict[str, list[ExpectationOutcome]] = {}
        for outcome in self.outcomes:
            by_release.setdefault(outcome.release, []).append(outcome)
        for release, outcomes in sorted(by_release.items()):
            judged = [o for o in outcomes if o.status != "error"]  # an error has no share
            failed = sum(o.status in ("failed", "error") for o in outcomes)
            out.append(
                MetricValue(
                    release,
                    ALL_COHORTS,
                    "validation_failed_expectations",
                    float(failed),
                    len(outcomes),
                )
            )
            rows = self.rows_by_release.get(release, 0)
            for o in judged:
                if o.unexpected_percent is not None:
                    value = o.unexpected_percent / 100
                else:
                    value = 0.0 if o.status == "passed" else 1.0
                n = o.element_count if o.element_count is not None else rows
                out.append(MetricValue(release, ALL_COHORTS, f"validation.{o.name}", value, n))
            if rows:
                hits = sum(1 for r in self.quarantined_release.values() if r == release)
                low, high = wilson_interval(hits, rows)
                out.append(
                    MetricValue(
                        release, ALL_COHORTS, "quarantine_rate", hits / rows, rows, low, high
                    )
                )
        return out

    def summaries(self) -> dict[tuple[str, str], Summary]:
        """Per release (cohort `*`), the mergeable counts behind the validation metrics (see
        `lookout.model.families.validation`)."""
        out: dict[tuple[str, str], Summary] = {}
        for o in self.outcomes:
            summary = out.setdefault((o.release, ALL_COHORTS), Summary())
            if o.status in ("failed", "error"):
                summary.add("validation.failed", 1)
            if o.status == "error":
                continue
            rows = self.rows_by_release.get(o.release, 0)
            elements = o.element_count if o.element_count is not None else rows
            if o.unexpected_count is not None:
                unexpected = float(o.unexpected_count)
            else:  # a batch-level expectation: all or nothing
                unexpected = 0.0 if o.status == "passed" else float(elements)
            summary.add(f"validation.{o.name}.elements", elements)
            summary.add(f"validation.{o.name}.unexpected", min(unexpected, elements))
        for release, rows in self.rows_by_release.items():
            summary = out.setdefault((release, ALL_COHORTS), Summary())
            summary.add("validation.rows", rows)
            hits = sum(1 for r in self.quarantined_release.values() if r == release)
            summary.add("validation.quarantined", hits)
        return out
