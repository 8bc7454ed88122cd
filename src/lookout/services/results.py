"""Per-release views of the results store for the terminal: releases seen, and their metrics.

Numbers over a period come from the stored mergeable summaries (`lookout.core.summary`), merged
per release x cohort: counts, rates and means are exact; quantiles come from the merged DDSketch
(within `lookout.core.sketch.ALPHA` relative error of a value at that rank). Nothing re-reads
the warehouse. `resolve_release` turns a unique prefix into a release name (compare, results).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from lookout.core.summary import Summary
from lookout.model.aggregates import ALL_COHORTS, votes_only
from lookout.model.families.registry import FAMILIES
from lookout.store.metric_rows import release_traffic

__all__ = [
    "RELEASE_METRICS",
    "ReleaseRow",
    "ResultRow",
    "release_rows",
    "resolve_release",
    "result_rows",
    "wanted_cohort",
]

# The metrics each result row carries (when the monitor maps the columns they need).
RELEASE_METRICS = (
    "error_rate",
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "ttft_p50_ms",
    "ttft_p95_ms",
    "prompt_tokens_mean",
    "completion_tokens_mean",
    "cost_per_request_usd",
    "cost_per_trace_usd",
    "fallback_rate",
    "retry_rate",
    "negative_feedback_rate",
)
_TOTALS = {  # column -> summary count
    "cost_usd": "cost_sum",
    "prompt_tokens": "prompt_tokens_sum",
    "completion_tokens": "completion_tokens_sum",
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class _Store(Protocol):
    """What these views read (a `ResultsStore`)."""

    engine: Any

    def alerts(self, monitor: str | None = None, state: str | None = None) -> list[Any]: ...

    def summaries(
        self,
        monitor: str,
        since: datetime,
        until: datetime,
        *,
        releases: Iterable[str] | None = None,
        stages: Iterable[str] | None = None,
    ) -> dict[tuple[str, str], list[tuple[datetime, Summary]]]: ...


@dataclass(frozen=True)
class ReleaseRow:
    """One release of one monitor: when it was seen, its share of the traffic, open alerts."""

    monitor: str
    release: str
    first_seen: datetime
    last_seen: datetime
    windows: int
    records: int
    traffic_share: float | None
    open_alerts: int

    def as_dict(self) -> dict[str, Any]:
        return _plain(asdict(self))


@dataclass(frozen=True)
class ResultRow:
    """One release (x cohort) over a period: record count, metrics, totals."""

    monitor: str
    release: str
    cohort: str
    since: datetime  # start of the first window merged
    until: datetime  # end of the last one
    windows: int
    n: int
    metrics: dict[str, float | None] = field(default_factory=dict)
    totals: dict[str, float | None] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Flat: monitor, release, cohort, since, until, windows, n, each metric, each total."""
        head = {k: v for k, v in asdict(self).items() if k not in ("metrics", "totals")}
        return _plain({**head, **self.metrics, **self.totals})


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


def resolve_release(known: Iterable[str], given: str, monitor: str) -> str:
    """The release `given` names: itself, else the only stored release it is a prefix of,
    else the only one it is part of (`@2.15.0`, when releases differ only at the end).
    ValueError (one line) when none or several match, listing the candidates."""
    names = sorted(set(known))
    if given in names:
        return given
    for how, matches in (
        ("starts", [name for name in names if name.startswith(given)]),
        ("is part of", [name for name in names if given in name]),
    ):
        if len(matches) == 1:
            return matches[0]
        if matches:
            listed = ", ".join(matches[:10]) + (", ..." if len(matches) > 10 else "")
            raise ValueError(
                f"release {given!r} of {monitor} is ambiguous: it {how} {len(matches)} stored "
                f"releases ({listed}); give more of the name"
            )
    raise ValueError(
        f"no stored results for release {given!r} of {monitor} "
        f"(known: {', '.join(names[:20]) or 'none'})"
    )


def release_rows(store: _Store, monitor: str) -> list[ReleaseRow]:
    """Every release of `monitor`, first seen first, with its share of all stored records
    and its firing alerts."""
    with store.engine.connect() as conn:
        traffic = release_traffic(conn, monitor)
    total = sum(t.records for t in traffic)
    firing: dict[str, int] = {}
    for alert in store.alerts(monitor, state="firing"):
        firing[alert.release] = firing.get(alert.release, 0) + 1
    return [
        ReleaseRow(
            monitor,
            t.release,
            t.first_seen,
            t.last_seen,
            t.windows,
            t.records,
            t.records / total if total else None,
            firing.get(t.release, 0),
        )
        for t in traffic
    ]


def wanted_cohort(cohort: str, chosen: Sequence[str]) -> bool:
    """`*` is the whole release; `region` every value of a column; `region=us` one value."""
    return any(cohort == c or (c != ALL_COHORTS and cohort.partition("=")[0] == c) for c in chosen)


def result_rows(
    store: _Store,
    monitor: str,
    window: timedelta,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    releases: Sequence[str] | None = None,
    cohorts: Sequence[str] = (ALL_COHORTS,),
) -> list[ResultRow]:
    """Per release x cohort of `monitor` (windows of length `window`), the windows of
    [since, until) merged into one set of numbers (release order: first seen first). The
    monitor's own scope (release `*`: the validation of a window without records, or of
    records without a release) holds no records of its own and is left out."""
    parts = store.summaries(  # a one-off read of any period: not kept
        monitor, since or _EPOCH, until or datetime.now(UTC), releases=releases, cached=False
    )
    first: dict[str, datetime] = {}
    rows = []
    for (release, cohort), series in parts.items():
        if not series or not wanted_cohort(cohort, cohorts):
            continue
        merged = Summary(windows=0)
        for _, part in series:
            merged.merge(part)
        if release == ALL_COHORTS and merged.count("n") == 0:
            continue  # not a release: an `n 0` row of dashes said nothing
        # the windows it had records in (votes logged apart also come after its last one)
        recorded = [at for at, part in series if not votes_only(part)]
        spans = recorded or [series[0][0]]
        first[release] = min(first.get(release, spans[0]), spans[0])
        rows.append(
            ResultRow(
                monitor,
                release,
                cohort,
                spans[0],
                spans[-1] + window,
                len(recorded),
                int(merged.count("n")),
                _metrics(merged),
                _totals(merged),
            )
        )
    return sorted(rows, key=lambda r: (first[r.release], r.release, r.cohort != "*", r.cohort))


def _metrics(summary: Summary) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for name in RELEASE_METRICS:
        estimate = FAMILIES.pooled(name, summary)
        out[name] = None if estimate is None else estimate.value
    evaluators = sorted(
        key.removeprefix("eval.").removesuffix(".random_n")
        for key in summary.counts
        if key.startswith("eval.") and key.endswith(".random_n")
    )
    for name in evaluators:
        estimate = FAMILIES.pooled(f"eval.{name}", summary)
        out[f"eval.{name}"] = None if estimate is None else estimate.value
    return out


def _totals(summary: Summary) -> dict[str, float | None]:
    return {
        name: summary.count(key) if summary.count(key.replace("_sum", "_n")) > 0 else None
        for name, key in _TOTALS.items()
    }
