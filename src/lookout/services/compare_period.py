"""Whether the period of a `compare` or `gate` holds results of both releases, and when not,
where their results are: a comparison over a period without them has no line to show, and a
gate none to check, which is the period's doing, not the releases' or the policy's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING

from lookout.core.durations import format_duration
from lookout.model.aggregates import ALL_COHORTS
from lookout.store.metric_rows import release_traffic

if TYPE_CHECKING:
    from lookout.store.results import ResultsStore

__all__ = ["NoDataInPeriod", "ReleaseSpan", "check_period", "release_spans", "side_by_side"]

APART = 0.5  # of the longer release's hours in the period: served alone more than this, said


@dataclass(frozen=True)
class ReleaseSpan:
    """One release: where its stored results are, and how many records the period holds."""

    release: str
    first_seen: datetime  # start of its first window with records
    last_seen: datetime  # end of its last
    in_period: int  # records of windows starting in [since, until)


class NoDataInPeriod(ValueError):
    """One or both releases have no records in the period: nothing to compare or gate."""

    def __init__(
        self, monitor: str, spans: Sequence[ReleaseSpan], since: datetime, until: datetime
    ) -> None:
        self.monitor = monitor
        self.spans = tuple(spans)
        self.since = since
        self.until = until
        super().__init__(self.message())

    def message(self, period: str = "") -> str:
        """What the period lacks and where the results are; `period` names where it came from
        (`the default period, the last 7 days`)."""
        empty = [s.release for s in self.spans if s.in_period == 0]
        full = [s for s in self.spans if s.in_period > 0]
        which = " nor of ".join(empty)
        head = (
            f"no results of {which} (monitor {self.monitor}) between {_at(self.since)} and "
            f"{_at(self.until)} UTC{f' ({period})' if period else ''}"
        )
        if full:
            head += f", while {full[0].release} has {full[0].in_period:,} records there"
        where = ", ".join(
            f"{s.release} has results from {_at(s.first_seen)} to {_at(s.last_seen)} UTC"
            for s in self.spans
        )
        return f"{head}: {where}"

    def compare_hint(self) -> str:
        """Whole UTC days that hold both releases' results, as `compare` takes them."""
        start = min(s.first_seen for s in self.spans)
        end = max(s.last_seen for s in self.spans)
        since = datetime.combine(start.date(), time(), UTC)
        until = datetime.combine(end.date(), time(), UTC)
        if until < end:
            until += timedelta(days=1)
        return f"compare over a period that holds both: --since {_day(since)} --until {_day(until)}"

    def gate_hint(self, period: timedelta) -> str:
        """An `--until` whose policy `period` before it holds results of both, when one does."""
        latest_start = max(s.first_seen for s in self.spans)
        until = min(
            max(s.last_seen for s in self.spans), min(s.last_seen for s in self.spans) + period
        )
        if until <= latest_start:
            return (
                f"no {format_duration(period)} period holds both releases' results: "
                "widen `period:` in the policy"
            )
        return f"gate a period that holds both: --until {_until(until)}"


def release_spans(
    store: ResultsStore, monitor: str, releases: Sequence[str], since: datetime, until: datetime
) -> list[ReleaseSpan]:
    """`releases` (stored names), with their stored span and their records in the period."""
    with store.engine.connect() as conn:
        traffic = {t.release: t for t in release_traffic(conn, monitor)}
    spans = []
    for name in releases:
        rows = store.metrics(
            monitor, release=name, metric="request_count", cohort=ALL_COHORTS,
            since=since, until=until,
        )  # fmt: skip
        records = sum(int(r["n"] or 0) for r in rows)
        seen = traffic[name]
        spans.append(ReleaseSpan(name, seen.first_seen, seen.last_seen, records))
    return spans


def check_period(
    store: ResultsStore, monitor: str, releases: Sequence[str], since: datetime, until: datetime
) -> list[ReleaseSpan]:
    """The releases' spans; NoDataInPeriod when a release has no records in [since, until)."""
    spans = release_spans(store, monitor, releases, since, until)
    if any(s.in_period == 0 for s in spans):
        raise NoDataInPeriod(monitor, spans, since, until)
    return spans


def side_by_side(spans: Sequence[ReleaseSpan], since: datetime, until: datetime) -> str | None:
    """What to say when two releases served apart for most of the period, or None. Each is
    compared on its own hours: a baseline whose week held an incident the candidate never saw
    came out "2.7 s slower at p99, p = 2e-61" in two trials, where the hours both served
    showed no change. The hours both served are the fair period, and the hint names them."""
    clipped = [(max(s.first_seen, since), min(s.last_seen, until)) for s in spans]
    start = max(first for first, _ in clipped)
    end = min(last for _, last in clipped)
    longest = max(last - first for first, last in clipped)
    together = max(end - start, timedelta(0))
    if longest <= timedelta(0) or together >= (1 - APART) * longest:
        return None
    served = ", ".join(
        f"{s.release} from {_at(first)} to {_at(last)}"
        for s, (first, last) in zip(spans, clipped, strict=True)
    )
    if together <= timedelta(0):
        return (
            f"in this period {served} UTC: they never served side by side, so a difference "
            "may be the hours' (traffic, an incident), not the releases'"
        )
    return (
        f"in this period {served} UTC: they served side by side only from {_at(start)} to "
        f"{_at(end)}, so a difference may be the other hours' (traffic, an incident), not the "
        f"releases'; compare those hours: --since {_until(start)} --until {_until(end)}"
    )


def _at(value: datetime) -> str:
    return f"{value.astimezone(UTC):%Y-%m-%d %H:%M}"


def _day(value: datetime) -> str:
    return f"{value:%Y-%m-%d}"


def _until(value: datetime) -> str:
    """As the CLI's datetime options take it: a day at midnight, else to the second."""
    value = value.astimezone(UTC)
    return _day(value) if value.time() == time() else f"{value:%Y-%m-%dT%H:%M:%S}"
