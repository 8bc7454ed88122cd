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
- the breach is broad in the cohort's column: the cohorts that breach (significantly, for a
  rate with `significance`) hold at least half of the column's records (one route that
  carries the whole change is that route's incident, and stays its own alert; a route a point
  past 5% by chance, 2 errors in 32, does not make a tool's 39% errors broad);
- the cohort moved in line with its release: its value is not past (by its point value: when
  unsure, it alerts on its own) its own reference moved by the release's change, for a change
  rule (a cohort that went 4x while the release went 1.6x is an incident of its own), or
  twice the release's excess over a fixed threshold (the release at 6% against 5%, a region
  at 40% is its own incident; every region at 14-16% with the release at 15% is one change);
- it is no more severe than the release's breach, and its own alert is not firing already (an
  alert that was announced keeps its thread).

A folded evaluation's outcome is `explained`: it never opens an alert, and it clears a
pending one (the cohort's earlier breach is the release's change, and counting it later would
open the cohort "in a row" with a breach hours before); once the release's breach ends, each
cohort is judged on its own again. The message that opens (or escalates, reminds of) the
release's alert lists the cohorts folded into it in that window (`Fold`); a cohort that starts
breaching in line with the release while its alert fires is folded silently: it is the change
that alert is about.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace

from lookout.alerts.rules import (
    Evaluation,
    breaches,
    effective_threshold,
    past_threshold,
)
from lookout.model.aggregates import ALL_COHORTS, cohort_dimension

__all__ = ["BROAD_SHARE", "Fold", "fold_into_releases"]

# the share of a cohort column's records that must sit in cohorts that breach for the
# release's breach to count as the column's (not one cohort's) change
BROAD_SHARE = 0.5


@dataclass(frozen=True)
class Fold:
    """What one release's breach explains: the folded cohorts' evaluations, and per cohort
    column how many of its evaluated cohorts breach."""

    release: Evaluation
    cohorts: tuple[Evaluation, ...]
    past: tuple[tuple[str, int, int], ...]  # (column, cohorts that breach, cohorts evaluated)


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
            and cohort_dimension(ev.cohort) in broad
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


def _breaches(top: Evaluation) -> bool:
    """The release's evaluation says its change goes on: a breach, or (an alert held firing
    by a renewal's inconclusive) a value still past the threshold."""
    if top.outcome == "breach":
        return True
    return top.outcome != "not_enough_data" and past_threshold(
        top.rule.op, top.value.value, top.threshold
    )


def _past_by_column(cohorts: Sequence[Evaluation]) -> dict[str, tuple[int, int, float]]:
    """Column -> (cohorts that breach, cohorts evaluated, the share of the evaluated records in
    the ones that breach). Cohorts without enough data do not count. A cohort breaches here at
    the usual 2.5%, even where a wide split tests its first breach at a share of that
    (`rules.split_levels`): the release's breach is established, and the question is only how
    far it reaches (30 tenants at 11-12% under a release at 11.5%, each on 100 records, breach
    at 2.5% and half of them not at 0.67%: counted at 0.67% the change looked narrow, and
    fourteen tenant alerts opened beside the release's)."""
    sums: dict[str, list[float]] = {}
    for ev in cohorts:
        if ev.outcome == "not_enough_data":
            continue
        entry = sums.setdefault(cohort_dimension(ev.cohort), [0, 0, 0.0, 0.0])
        is_past = ev.outcome == "breach" or (
            ev.outcome == "inconclusive" and breaches(ev.rule, ev.value, ev.threshold)
        )
        entry[0] += int(is_past)
        entry[1] += 1
        entry[2] += ev.value.n if is_past else 0
        entry[3] += ev.value.n
    return {
        column: (int(n_past), int(n_all), rows_past / rows if rows else 0.0)
        for column, (n_past, n_all, rows_past, rows) in sums.items()
    }


def _in_line(ev: Evaluation, top: Evaluation) -> bool:
    """Whether a cohort's breach is its release's change, by its point value (when unsure, it
    alerts on its own). A change rule: not past its own reference moved by the release's
    change. A fixed threshold: not past it by more than twice the release's excess."""
    rule = ev.rule
    if rule.reference is None:
        return not past_threshold(rule.op, ev.value.value, 2 * top.value.value - top.threshold)
    if ev.reference is None or top.reference is None:
        return True
    if rule.reference.change == "absolute":
        moved = ev.reference.value + (top.value.value - top.reference.value)
    elif top.reference.value == 0:
        return False  # no ratio to move by
    else:
        moved = ev.reference.value * (top.value.value / top.reference.value)
    limit = effective_threshold(rule, rule.threshold, replace(ev.reference, value=moved))
    return not past_threshold(rule.op, ev.value.value, limit)
