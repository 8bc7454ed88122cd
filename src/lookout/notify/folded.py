"""What a release's alert says about the cohort breaches folded into it
(`lookout.alerts.folding`): how broad the change is, per cohort column, and each folded
cohort's numbers, so the one alert still shows where it is worst.

Pure: wraps the window's other findings, adds to the release-wide (`*`) alert of a rule that
folded cohorts this window. Cohort values come from logged data: they stay raw here (escaping
is each format's job).
"""

from __future__ import annotations

from collections.abc import Mapping

from lookout.alerts.folding import Fold
from lookout.model.aggregates import ALL_COHORTS
from lookout.model.alerts import AlertState
from lookout.model.families.registry import FAMILIES
from lookout.notify.findings import NO_FINDING, Finding, Findings, clip
from lookout.notify.message import Fact, Table

__all__ = ["FoldedFindings", "fold_finding"]

SHOWN = 10  # folded cohorts listed in the table, the furthest past the threshold first


def _change(value: float, reference: float | None) -> str:
    if reference is None or reference == 0:
        return "-"
    return f"{(value - reference) / abs(reference):+.0%}"


def _breadth(fold: Fold) -> str:
    """`route 5 of 5, plan 4 of 4`: cohorts that breach (significantly, for a rate with
    `significance`) per column, of those evaluated."""
    return ", ".join(f"{column} {n_past} of {n_all}" for column, n_past, n_all in fold.past)


def fold_finding(fold: Fold) -> Finding:
    """The headline, a fact and a table naming the cohorts folded into the release's alert."""
    metric = fold.release.rule.metric
    ranked = sorted(
        fold.cohorts,
        key=lambda ev: -abs(ev.value.value - ev.threshold) / max(abs(ev.threshold), 1e-12),
    )
    rows = tuple(
        (
            clip(ev.cohort, 80),
            FAMILIES.format(metric, ev.value.value),
            FAMILIES.format(metric, ev.reference.value) if ev.reference is not None else "-",
            _change(ev.value.value, ev.reference.value if ev.reference else None),
            f"{ev.value.n:,}",
        )
        for ev in ranked[:SHOWN]
    )
    more = f" ({len(ranked) - SHOWN} more on the release timeline)" if len(ranked) > SHOWN else ""
    headline = (
        f"the whole release moved: breaching in {_breadth(fold)}; "
        f"{len(ranked)} cohort alerts folded into this one"
    )
    return Finding(
        headline=headline,
        facts=(Fact("Cohorts breaching", f"{_breadth(fold)} (folded into this alert)"),),
        tables=(
            Table(
                f"Cohorts folded into this alert{more}",
                ("cohort", "value", "reference", "change", "n"),
                rows,
            ),
        ),
    )


class FoldedFindings:
    """The window's findings, with each folding release alert's breadth and cohorts added."""

    def __init__(self, inner: Findings | None, folds: Mapping[tuple[str, str], Fold]) -> None:
        self._inner = inner
        self._folds = folds  # (rule, release) -> what its release-wide breach folded

    def about(self, alert: AlertState) -> Finding:
        inner = self._inner.about(alert) if self._inner is not None else NO_FINDING
        fold = self._folds.get((alert.rule, alert.release))
        if fold is None or alert.cohort != ALL_COHORTS or alert.state == "resolved":
            return inner
        added = fold_finding(fold)
        headline = added.headline if not inner.headline else f"{inner.headline}; {added.headline}"
        return Finding(
            headline,
            (*inner.facts, *added.facts),
            (*inner.tables, *added.tables),
            inner.link,
        )
