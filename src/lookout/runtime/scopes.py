"""Records whose release fields are NULL: their data-quality alert is about the monitor.

A record without a prompt version is labelled `model@(null)`; that label is not a release
anyone ships, and once the logging bug is fixed it never appears again, so an alert on it
could never resolve on data. Here the validation metrics of such phantom releases fold into
the monitor's own scope (release `*`), which every window that validates evaluates, so the
data-quality alert fires while NULL-release rows arrive and resolves once they stop; other
rules do not evaluate phantom releases (their metrics are still stored). The alert's message
names the affected rows' real release values where one field is known
(`model_version=gpt-4o, prompt_version NULL`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from lookout.model.aggregates import ALL_COHORTS, UNKNOWN, MetricValue
from lookout.model.alerts import AlertState
from lookout.model.families.registry import FAMILIES
from lookout.notify.findings import Finding, Findings, page_kind
from lookout.notify.message import Fact

__all__ = [
    "MonitorScopedFindings",
    "describe_release",
    "is_phantom",
    "monitor_scoped",
    "phantom_rows",
]

_FAILED = "validation_failed_expectations"


def is_phantom(release: str) -> bool:
    """A release label built from at least one NULL release field."""
    return UNKNOWN in release.split("@")


def describe_release(release: str, fields: Sequence[str]) -> str:
    """`model_version=m1, prompt_version NULL`: what is known of a phantom release's rows."""
    parts = release.split("@")
    if len(parts) != len(fields):
        return release
    return ", ".join(
        f"{name} NULL" if value == UNKNOWN else f"{name}={value}"
        for name, value in zip(fields, parts, strict=True)
    )


def _is_validation(metric: str) -> bool:
    family = FAMILIES.family(metric)
    return family is not None and family.stage == "validate"


def monitor_scoped(values: Sequence[MetricValue]) -> list[MetricValue]:
    """The values the rules evaluate: phantom releases' validation values folded into the
    monitor's scope (release `*`; counts add up, shares weigh by n), their other values left
    out. When the window was validated, the monitor-level failed-expectations count is always
    there (0 when nothing failed), so its alert can resolve."""
    kept: list[MetricValue] = []
    folded: dict[tuple[str, str], list[MetricValue]] = {}
    validated = False
    for value in values:
        validation = _is_validation(value.metric)
        validated = validated or validation
        if value.release == ALL_COHORTS and value.cohort == ALL_COHORTS and validation:
            folded.setdefault((value.cohort, value.metric), []).append(value)
        elif not is_phantom(value.release):
            kept.append(value)
        elif validation:
            folded.setdefault((value.cohort, value.metric), []).append(value)
    if validated:
        folded.setdefault((ALL_COHORTS, _FAILED), [])
    for (cohort, metric), parts in sorted(folded.items()):
        kept.append(_fold(cohort, metric, parts))
    return kept


def _fold(cohort: str, metric: str, parts: list[MetricValue]) -> MetricValue:
    if len(parts) == 1 and parts[0].release == ALL_COHORTS:
        return parts[0]
    n = sum(p.n for p in parts)
    if metric == _FAILED:
        value = sum(p.value for p in parts)
        n = max(n, 1)  # validated with nothing to check at the monitor level: still a count
    else:
        value = sum(p.value * p.n for p in parts) / n if n else 0.0
    return MetricValue(ALL_COHORTS, cohort, metric, value, n)


def phantom_rows(values: Sequence[MetricValue]) -> dict[str, int]:
    """Phantom release -> its records in the window (the ops request count, else the rows
    validation saw)."""
    out: dict[str, int] = {}
    for metric in ("request_count", "quarantine_rate"):
        for value in values:
            if value.metric == metric and value.cohort == ALL_COHORTS and is_phantom(value.release):
                out.setdefault(value.release, int(value.n))
    return out


class MonitorScopedFindings:
    """What a monitor-level data-quality alert's message says: the failing checks of the
    NULL-release rows (from the phantom release with the most rows) and which releases those
    rows belong to, as far as their known fields tell."""

    def __init__(self, inner: Findings, rows: dict[str, int], fields: Sequence[str]) -> None:
        self._inner = inner
        self._rows = rows
        self._fields = list(fields)

    def about(self, alert: AlertState) -> Finding:
        scoped = alert.release == ALL_COHORTS and page_kind(alert.metric) == "validation"
        if not scoped or not self._rows:
            return self._inner.about(alert)
        ranked = sorted(self._rows.items(), key=lambda kv: (-kv[1], kv[0]))
        main = self._inner.about(replace(alert, release=ranked[0][0]))
        affected = "; ".join(
            f"{describe_release(release, self._fields)}: {rows:,} rows" for release, rows in ranked
        )
        total = sum(rows for _, rows in ranked)
        headline = f"{total:,} records with NULL release fields ({affected})"
        if main.headline:
            headline = f"{headline}; {main.headline}"
        facts = (Fact("Rows without a release", affected), *main.facts)
        return Finding(headline, facts, main.tables, main.link)
