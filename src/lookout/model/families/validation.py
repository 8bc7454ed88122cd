"""The validation metric families. Summary keys: `validation.rows`, `validation.quarantined`,
`validation.failed` (failed or errored expectations, per window), and per expectation
`validation.<name>.unexpected` / `validation.<name>.elements`."""

from __future__ import annotations

from lookout.core.stats import wilson_interval
from lookout.core.summary import Summary
from lookout.model.families.base import Estimate, MetricFamily
from lookout.model.families.ops import rate_of

__all__ = ["FAMILIES"]


def _failed(summary: Summary, _: str) -> Estimate | None:
    windows = max(1, summary.windows)
    failed = summary.count("validation.failed")
    return Estimate(failed / windows, int(summary.count("validation.rows")))


def _unexpected(summary: Summary, name: str) -> Estimate | None:
    elements = summary.count(f"validation.{name}.elements")
    if elements <= 0:
        return None
    unexpected = min(summary.count(f"validation.{name}.unexpected"), elements)
    low, high = wilson_interval(unexpected, elements)
    return Estimate(unexpected / elements, int(elements), low, high)


FAMILIES: tuple[MetricFamily, ...] = (
    MetricFamily(
        "validation_failed_expectations",
        "validate",
        "expectations that failed or errored (per release and window)",
        "count",
        min_n=1,
        persistence=1,
        better="lower",
        per_window=True,
        from_summary=_failed,
    ),
    MetricFamily(
        "quarantine_rate",
        "validate",
        "share of records quarantined by critical expectations",
        "share",
        rate=True,
        min_n=1,
        persistence=1,
        better="lower",
        from_summary=rate_of("validation.quarantined", "validation.rows"),
    ),
    MetricFamily(
        "validation.",
        "validate",
        "unexpected share of the expectation {name}",
        "share",
        rate=True,
        min_n=1,
        persistence=1,
        better="lower",
        from_summary=_unexpected,
    ),
)
