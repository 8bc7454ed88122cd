"""Cohort breaches that their release's breach explains (pure): one change, one alert.

A rule split by `*` and cohort columns evaluates the release and each of its cohorts. A change
that moves the whole release (a prompt that makes every answer 70% dearer, a provider failing
in every region) breaches in every cohort too: a trial's prompt bump opened 26 alerts, each
with its own thread, reminders and resolve, for one cause. As drift attribution does for
columns, a cohort's breach folds into its release's alert when all of these hold:

- the release's own alert (`*`, same rule) fires after this window and breaches in it (its
  evaluation is a breach, or its value is still past the threshold): a release breach still
  pending under `for` folds nothing, so a cohort whose evidence opens it at once is not held
  back an hour by a release alert that is not there yet (a region's error incident opened an
  hour late on the soak when it was);
- the breach is broad in the cohort's column: the cohorts past their thresholds hold at least
  half of the column's records (one route that carries the whole change is that route's
  incident, and stays its own alert);
- for a change rule, the cohort moved in line with its release: against its own reference
  moved by the release's change it does not breach (a cohort that went 4x while the release
  went 1.6x is an incident of its own);
- it is no more severe than the release's breach, and its own alert is not firing already (an
  alert that was announced keeps its thread).

A folded evaluation's outcome is `explained`: like `inconclusive`, it neither counts toward
`for` nor clears; once the release's breach ends, each cohort is judged on its own again. The
release's message lists the cohorts folded into it (`Fold`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace

from lookout.alerts.rules import (
    Evaluation,
    breaches,
    conservative,
    effective_threshold,
    past_threshold,
    settings_of,
)
from lookout.model.aggregates import ALL_COHORTS

__all__ = ["BROAD_SHARE", "Fold", "fold_into_releases"]

# the share of a cohort column's records that must sit in cohorts past their thresholds for
# the release's breach to count as the column's (not one cohort's) change
BROAD_SHARE = 0.5


@dataclass(frozen=True)
class Fold:
    """What one release's breach explains: the folded cohorts' evaluations, and per cohort
    column how many of its evaluated cohorts were past their thresholds."""

    release: Evaluation
    cohorts: tuple[Evaluation, ...]
    past: tuple[tuple[str, int, int], ...]  # (column, cohorts past, cohorts evaluated)


def fold_into_releases(
    evaluations: Sequence[Evaluation],
    firing: Collection[tuple[str, str, str]],
    releases_firing: Collection[tuple[str, str]],
) -> tuple[list[Evaluation], dict[tuple[str, str], Fold]]:
    """A window's evaluations with the cohort breaches their release explains made
    `explained`, and the folds by (rule, release). `firing`: (rule, release, cohort) of the
    alerts firing before this window; `releases_firing`: (rule, release) whose release-wide
    alert fires after it (as the evaluations left it, before folding)."""
    by_release: dict[tuple[str, str], list[Evaluation]] = {}
    for ev in evaluations:
        by_release.setdefault((ev.rule.name, ev.release), []).append(ev)
    explained: set[tuple[str, str, str]] = set()
    folds: dict[tuple[str, str], Fold] = {}
    for (rule, release), group in by_release.items():
        top = next((ev for ev in group if ev.cohort == ALL_COHORTS), None)
        if top is None or (rule, release) not in releases_firing or not _breaches(top):
            continue
        cohorts = [ev for ev in group if ev.cohort != ALL_COHORTS]
        past = _past_by_column(cohorts)
        broad = {column for column, (_, _, share) in past.items() if share >= BROAD_SHARE}
        folded = tuple(
            ev
            for ev in cohorts
            if ev.outcome == "breach"
            and _column(ev.cohort) in broad
            and (rule, release, ev.cohort) not in firing
            and ev.severity >= top.severity  # "P0" < "P1": no more severe than the release
            and _in_line(ev, top)
        )
        if folded:
            explained.update((rule, release, ev.cohort) for ev in folded)
            counts = tuple((c, n_past, n_all) for c, (n_past, n_all, _) in sorted(past.items()))
            folds[(rule, release)] = Fold(top, folded, counts)
    out = [
        replace(ev, outcome="explained")
        if (ev.rule.name, ev.release, ev.cohort) in explained
        else ev
        for ev in evaluations
    ]
    return out, folds


def _column(cohort: str) -> str:
    return cohort.split("=", 1)[0]


def _breaches(top: Evaluation) -> bool:
    """The release's evaluation says its change goes on: a breach, or (an alert held firing
    by a renewal's inconclusive) a value still past the threshold."""
    if top.outcome == "breach":
        return True
    return top.outcome != "not_enough_data" and past_threshold(
        top.rule.op, top.value.value, top.threshold
    )


def _past_by_column(cohorts: Sequence[Evaluation]) -> dict[str, tuple[int, int, float]]:
    """Column -> (cohorts past their thresholds, cohorts evaluated, the share of the
    evaluated records in the ones past). Cohorts without enough data do not count."""
    sums: dict[str, list[float]] = {}
    for ev in cohorts:
        if ev.outcome == "not_enough_data":
            continue
        entry = sums.setdefault(_column(ev.cohort), [0, 0, 0.0, 0.0])
        is_past = past_threshold(ev.rule.op, ev.value.value, ev.threshold)
        entry[0] += int(is_past)
        entry[1] += 1
        entry[2] += ev.value.n if is_past else 0
        entry[3] += ev.value.n
    return {
        column: (int(n_past), int(n_all), rows_past / rows if rows else 0.0)
        for column, (n_past, n_all, rows_past, rows) in sums.items()
    }


def _in_line(ev: Evaluation, top: Evaluation) -> bool:
    """Whether a cohort's breach is its release's change: always for a fixed threshold (the
    release is past it as well); for a change rule, the cohort does not breach against its
    own reference moved by the release's change."""
    rule = ev.rule
    if rule.reference is None or ev.reference is None or top.reference is None:
        return True
    if rule.reference.change == "absolute":
        moved = ev.reference.value + (top.value.value - top.reference.value)
    elif top.reference.value == 0:
        return False  # no ratio to move by
    else:
        moved = ev.reference.value * (top.value.value / top.reference.value)
    compared = conservative(
        rule, replace(ev.reference, value=moved), settings_of(rule).significance
    )
    return not breaches(rule, ev.value, effective_threshold(rule, rule.threshold, compared))
