"""Which cohort a drift comes from, so its parents say so instead of alerting again (pure).

When a feature drifts in one cohort value (plan=enterprise), every group that contains some of
its rows drifts with it: the whole release, and the values of the other cohort columns
(region=eu, route=account). Summaries are counts, so a parent without the cohort is a sum of
parts: if the parent minus the cohort (on both sides, against the reference minus the cohort) no
longer drifts, the cohort explains the parent. Between two drifted cohorts of different columns
the direction is decided both ways: region=eu is explained by plan=enterprise when eu without
enterprise is clean but enterprise without eu still drifts; when each explains the other (the
shift lives in their intersection), neither is hidden. Cohorts of one column are disjoint:
each is judged on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from lookout.core.summary import Summary
from lookout.model.aggregates import ALL_COHORTS

__all__ = ["attribute", "complement", "dimension_of"]


def dimension_of(cohort: str) -> str | None:
    """`plan` of `plan=enterprise`; None for the whole release."""
    return None if cohort == ALL_COHORTS else cohort.partition("=")[0]


def complement(
    cross: Mapping[tuple[str, ...], Summary], parent: str, source: str
) -> Summary | None:
    """The `parent` group without the rows of the `source` cohort, from `cross_summaries`:
    the other values of the source's column inside the parent (None: no such rows)."""
    dimension = dimension_of(source)
    parts: list[Summary] = []
    for key, summary in cross.items():
        if parent == ALL_COHORTS:
            if len(key) != 1 or key[0] == source or dimension_of(key[0]) != dimension:
                continue
        else:
            if len(key) != 2 or parent not in key:
                continue
            other = key[1] if key[0] == parent else key[0]
            if other == source or dimension_of(other) != dimension:
                continue
        parts.append(summary)
    if not parts:
        return None
    out = Summary(windows=0)
    for part in parts:
        out.merge(part, same_window=True)
    return out


def attribute(
    drifted: Sequence[str],
    still_drifts: Callable[[str, str], bool],
    strength: Mapping[str, float],
) -> dict[str, str]:
    """parent -> the cohort that explains its drift, for one feature of one release.

    `drifted`: the groups (cohort labels, `*` for the whole release) where the feature drifted;
    `still_drifts(parent, source)`: whether the parent without the source's rows still drifts;
    `strength`: how far each cohort's effect is past its floor (the strongest source is named
    when several explain a parent; one that is itself explained comes last).
    """
    cohorts = [c for c in drifted if c != ALL_COHORTS]
    if not cohorts:
        return {}
    # A cohort that holds a shift explains the release it is part of; when the release did
    # not drift (a small cohort), every drifted cohort is a candidate.
    candidates = cohorts
    if ALL_COHORTS in drifted:
        explaining = [c for c in cohorts if not still_drifts(ALL_COHORTS, c)]
        candidates = explaining
    explains: dict[str, list[str]] = {}
    if ALL_COHORTS in drifted and candidates:
        explains[ALL_COHORTS] = list(candidates)
    for parent in cohorts:
        for source in candidates:
            if dimension_of(source) == dimension_of(parent):
                continue
            if not still_drifts(parent, source):
                explains.setdefault(parent, []).append(source)
    out: dict[str, str] = {}
    for parent, sources in explains.items():
        if parent != ALL_COHORTS:  # explained both ways: the shift is in their intersection
            sources = [s for s in sources if parent not in explains.get(s, [])]
        if sources:
            out[parent] = min(sources, key=lambda s: (s in explains, -strength.get(s, 0.0), s))
    # a source that is itself explained is not the source: name what explains it, when that
    # explains the parent too
    for parent, source in list(out.items()):
        upstream = out.get(source)
        if upstream is not None and upstream in explains.get(parent, []):
            out[parent] = upstream
    return out
