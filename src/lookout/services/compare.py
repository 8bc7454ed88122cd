"""Comparing two releases and gating a candidate: what `lookout compare`, `lookout gate` and
the nightly flow's scorecard share.

The statistics are in `lookout.compare`; here, the steps around them: resolving release names
(a unique prefix of a stored release is enough), refusing a period that holds no results of a
release (`compare_period`), choosing the gate's baseline, and reading a gate's outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lookout.compare.gate import GateOutcome, GatePolicy, Unchecked
    from lookout.compare.releases import Comparison
    from lookout.config.models import Monitor
    from lookout.sources.warehouse import Warehouse
    from lookout.store.results import ResultsStore

__all__ = [
    "GateVerdict",
    "UnknownRelease",
    "compare",
    "gate_baseline",
    "judge_gate",
    "load_gate_policy",
    "newest_scorecard",
]


class UnknownRelease(ValueError):
    """A release name that matches no stored release, or several."""


def compare(
    store: ResultsStore,
    warehouse: Warehouse,
    monitor: Monitor,
    baseline: str,
    candidate: str,
    since: datetime,
    until: datetime,
    *,
    cohorts: list[str] | None = None,
    min_n: int = 100,
    alpha: float = 0.05,
) -> Comparison:
    """`baseline` against `candidate` (names or unique prefixes of stored releases) over
    [since, until). UnknownRelease names a release that matches none or several;
    NoDataInPeriod says which has no records in the period, and where their results are."""
    from lookout.compare.releases import compare_releases
    from lookout.services.compare_period import check_period, side_by_side
    from lookout.services.results import resolve_release

    known = store.release_first_seen(monitor.name)
    try:
        baseline, candidate = (
            resolve_release(known, r, monitor.name) for r in (baseline, candidate)
        )
    except ValueError as exc:
        raise UnknownRelease(str(exc)) from None
    spans = check_period(store, monitor.name, (baseline, candidate), since, until)
    result = compare_releases(
        store,
        warehouse,
        monitor,
        baseline,
        candidate,
        since,
        until,
        cohorts=cohorts,
        min_n=min_n,
        alpha=alpha,
    )
    result.period_note = side_by_side(spans, since, until)
    return result


def gate_baseline(store: ResultsStore, monitor: str, candidate: str, wanted: str) -> str:
    """The release to gate against: `wanted`, or with `previous` the release seen last before
    `candidate`. ValueError when there is none."""
    if wanted != "previous":
        return wanted
    from lookout.compare.releases import previous_release
    from lookout.services.results import resolve_release

    # a unique prefix names the candidate here as in `compare` (`gpt-4.1` for gpt-4.1-mini@r42)
    candidate = resolve_release(store.release_first_seen(monitor), candidate, monitor)
    chosen = previous_release(store, monitor, candidate)
    if not chosen:
        raise ValueError(f"no release of {monitor} was seen before {candidate!r}")
    return chosen


@dataclass(frozen=True)
class GateVerdict:
    outcomes: list[GateOutcome]
    failed: list[GateOutcome]
    skipped: list[GateOutcome]
    missing: list[Unchecked]  # conditions, or cohorts they name, with no data in the period

    @property
    def passed(self) -> bool:
        return not self.failed


def load_gate_policy(path: Path, monitor: Monitor) -> GatePolicy:
    """A gate policy file, checked against the monitor it gates: a cohort the monitor does not
    split by (a typo next to "*") is a ConfigError naming its line, not a condition that
    checks nothing and passes."""
    from lookout.compare.gate import GatePolicy
    from lookout.config.loader import load_model

    context = {"monitor": monitor.name, "cohorts": list(monitor.source.cohorts)}
    return load_model(path, GatePolicy, context)


def judge_gate(policy: GatePolicy, comparison: Comparison) -> GateVerdict:
    """The policy's conditions checked against a comparison."""
    from lookout.compare.gate import check_gate, unchecked

    outcomes = check_gate(policy, comparison)
    return GateVerdict(
        outcomes,
        [o for o in outcomes if o.status == "failed"],
        [o for o in outcomes if o.status == "skipped"],
        unchecked(policy, outcomes),
    )


def newest_scorecard(
    store: ResultsStore, warehouse: Warehouse, monitor: Monitor, until: datetime, out_dir: Path
) -> str | None:
    """The newest release against the one before, over the week up to `until`, written as
    an HTML scorecard; None when the monitor has not seen two releases."""
    from lookout.compare.releases import compare_releases, previous_release
    from lookout.reports.scorecard import write_scorecard

    seen = store.release_first_seen(monitor.name)
    if len(seen) < 2:
        return None
    newest = max(seen, key=lambda name: seen[name])
    before = previous_release(store, monitor.name, newest)
    if before is None:
        return None
    comparison = compare_releases(
        store, warehouse, monitor, before, newest, until - timedelta(days=7), until
    )
    return str(write_scorecard(out_dir, comparison))
