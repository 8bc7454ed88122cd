"""Alert history: every transition stored, episodes read back, per-rule statistics.

The `alerts` table keeps one row per fingerprint, overwritten by each transition, so a reopen
used to erase when the episode before it opened. Each window's transitions are also written
here (in the window's own transaction, keyed by fingerprint, window and event, so a re-run
replaces rather than doubles). An episode is an open (or reopen) and everything up to its
resolve or stale resolve; `lookout alerts history` lists them and `lookout alerts stats` sums
them per rule, with the pages the outbox sent for them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from lookout.model.alerts import Transition
from lookout.store import schema
from lookout.store.outbox import OutboxMessage
from lookout.store.times import db_time, utc

__all__ = [
    "AlertHistory",
    "Episode",
    "HistoryEvent",
    "RuleStats",
    "episodes_of",
    "history_event",
    "last_seen",
    "record_transitions",
    "rule_stats",
]

# lifecycle event -> stored event ("firing" is no transition: a window that changes nothing)
_EVENTS = {
    "pending": "pending",
    "cleared": "cleared",
    "opened": "open",
    "reopened": "reopen",
    "reminder": "reminder",
    "resolved": "resolve",
    "stale": "stale",
}
OPENS = ("open", "reopen")
CLOSES = ("resolve", "stale")
# outbox kinds that tell someone something new (an edit of the original or an ack is not one)
_PAGE_KINDS = ("open", "reopen", "reminder", "severity_change", "resolve", "stale")


def history_event(transition: Transition) -> str | None:
    """The stored name of a transition's event (None: not stored)."""
    if transition.event == "severity_changed":
        before = transition.previous_severity or transition.alert.severity
        return "escalate" if transition.alert.severity < before else "deescalate"
    return _EVENTS.get(transition.event)


def record_transitions(
    conn: sa.Connection, transitions: Iterable[Transition], messages: Sequence[OutboxMessage]
) -> None:
    """Write a window's transitions (inside its commit); the same window again replaces them."""
    paged = {m.fingerprint for m in messages if m.fingerprint and m.kind in _PAGE_KINDS}
    h = schema.alert_history
    for transition in transitions:
        event = history_event(transition)
        if event is None and transition.alert.fingerprint in paged:
            event = "announce"  # a firing alert announced late (after a catch-up, a silence)
        if event is None:
            continue
        alert, window = transition.alert, transition.window
        key = {
            "fingerprint": alert.fingerprint,
            "window_start": db_time(window.start),
            "event": event,
        }
        conn.execute(sa.delete(h).where(*(h.c[k] == v for k, v in key.items())))
        conn.execute(
            sa.insert(h).values(
                **key,
                window_end=db_time(window.end),
                monitor=alert.monitor,
                rule=alert.rule,
                release=alert.release,
                cohort=alert.cohort,
                metric=alert.metric,
                severity=alert.severity,
                previous_severity=transition.previous_severity,
                value=float(alert.value),
                n=int(alert.n),
                threshold=float(alert.threshold),
                reference=alert.reference,
                reference_label=alert.reference_label,
                first_window_start=db_time(alert.first_window_start),
                at=db_time(alert.updated_at),
                notified=alert.fingerprint in paged,
                note=transition.note,
            )
        )


@dataclass(frozen=True)
class HistoryEvent:
    fingerprint: str
    monitor: str
    rule: str
    release: str
    cohort: str
    metric: str
    event: str
    severity: str
    window_start: datetime
    window_end: datetime
    value: float
    n: int
    threshold: float
    reference: float | None
    first_window_start: datetime
    at: datetime
    notified: bool
    previous_severity: str | None = None
    reference_label: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Episode:
    """One open..resolve span of one alert."""

    fingerprint: str
    monitor: str
    rule: str
    release: str
    cohort: str
    metric: str
    first_breach: datetime  # start of the first breaching window
    opened: datetime  # end of the window that opened it (when it could be known)
    severity: str  # the worst it reached
    peak: float  # the value at its worst (in the breaching direction of the rule)
    n: int
    reference: float | None
    reopen: bool
    notified: bool  # at least one of its transitions queued a message
    events: tuple[HistoryEvent, ...] = field(default_factory=tuple)
    closed: datetime | None = None  # end of the window that resolved it
    ended_by: str | None = None  # resolve, stale, or None while firing
    opened_window: datetime | None = None  # start of the window that opened it
    closed_window: datetime | None = None  # start of the window that resolved it

    @property
    def time_to_detect(self) -> timedelta:
        """From the first breaching window to the end of the window that opened it."""
        return self.opened - self.first_breach

    @property
    def time_to_resolve(self) -> timedelta | None:
        """From the opening window's end to the resolving window's end (data time)."""
        return None if self.closed is None else self.closed - self.opened


def _worse(event: HistoryEvent, than: HistoryEvent) -> bool:
    return event.severity < than.severity


def episodes_of(events: Iterable[HistoryEvent]) -> list[Episode]:
    """Episodes from events (any order): per fingerprint, an open or reopen starts one, a
    resolve or stale ends it; events outside an episode (pending, cleared) are skipped. An
    episode whose opening predates the history (a store migrated mid-episode) starts at its
    first stored event."""
    by_alert: dict[str, list[HistoryEvent]] = {}
    for event in events:
        by_alert.setdefault(event.fingerprint, []).append(event)
    out: list[Episode] = []
    order = {"pending": 0, "open": 1, "reopen": 1, "escalate": 2, "deescalate": 2}
    for items in by_alert.values():
        items.sort(key=lambda e: (e.window_start, order.get(e.event, 3), e.at))
        current: list[HistoryEvent] = []
        for event in items:
            if event.event in ("pending", "cleared"):
                continue
            if event.event in OPENS and current:
                out.append(_episode(current, None))  # an open without its close: cut here
                current = []
            current.append(event)
            if event.event in CLOSES:
                out.append(_episode(current, event))
                current = []
        if current:
            out.append(_episode(current, None))
    return sorted(out, key=lambda e: (e.first_breach, e.monitor, e.rule, e.fingerprint))


def _episode(events: list[HistoryEvent], close: HistoryEvent | None) -> Episode:
    first = events[0]
    firing = [e for e in events if e.event not in CLOSES] or events
    worst = firing[0]
    for event in firing[1:]:
        if _worse(event, worst):
            worst = event
    lower_is_worse = firing[0].threshold > firing[0].value  # a `<` rule breaches downwards
    peak = (min if lower_is_worse else max)(e.value for e in firing)
    return Episode(
        fingerprint=first.fingerprint,
        monitor=first.monitor,
        rule=first.rule,
        release=first.release,
        cohort=first.cohort,
        metric=first.metric,
        first_breach=first.first_window_start,
        opened=first.window_end,
        severity=worst.severity,
        peak=peak,
        n=worst.n,
        reference=first.reference,
        reopen=first.event == "reopen",
        notified=any(e.notified for e in events),
        events=tuple(events),
        closed=close.window_end if close is not None else None,
        ended_by=close.event if close is not None else None,
        opened_window=first.window_start,
        closed_window=close.window_start if close is not None else None,
    )


@dataclass(frozen=True)
class RuleStats:
    monitor: str
    rule: str
    episodes: int
    firing: int  # still open
    stale: int  # ended by staleness, not by recovery
    detect_median: timedelta | None
    detect_max: timedelta | None
    resolve_median: timedelta | None
    resolve_max: timedelta | None
    pages: int


def _median(values: list[timedelta]) -> timedelta | None:
    if not values:
        return None
    return timedelta(seconds=median(v.total_seconds() for v in values))


def rule_stats(episodes: Iterable[Episode], pages: dict[tuple[str, str], int]) -> list[RuleStats]:
    """Per monitor and rule: episodes, time to detect and to resolve, pages sent."""
    grouped: dict[tuple[str, str], list[Episode]] = {}
    for episode in episodes:
        grouped.setdefault((episode.monitor, episode.rule), []).append(episode)
    for key in pages:
        grouped.setdefault(key, [])
    out = []
    for (monitor, rule), items in sorted(grouped.items()):
        detect = [e.time_to_detect for e in items]
        resolve = [e.time_to_resolve for e in items if e.time_to_resolve is not None]
        out.append(
            RuleStats(
                monitor=monitor,
                rule=rule,
                episodes=len(items),
                firing=sum(e.closed is None for e in items),
                stale=sum(e.ended_by == "stale" for e in items),
                detect_median=_median(detect),
                detect_max=max(detect, default=None),
                resolve_median=_median(resolve),  # type: ignore[arg-type]
                resolve_max=max(resolve, default=None),  # type: ignore[type-var]
                pages=pages.get((monitor, rule), 0),
            )
        )
    return out


class AlertHistory:
    """Reads of the stored history (writes happen in `commit_window`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def events(
        self,
        *,
        monitor: str | None = None,
        rule: str | None = None,
        cohort: str | None = None,
        fingerprints: Iterable[str] | None = None,
    ) -> list[HistoryEvent]:
        h = schema.alert_history
        query = sa.select(h).order_by(h.c.window_start, h.c.fingerprint)
        for column, value in (("monitor", monitor), ("rule", rule), ("cohort", cohort)):
            if value is not None:
                query = query.where(h.c[column] == value)
        if fingerprints is not None:
            query = query.where(h.c.fingerprint.in_(sorted(set(fingerprints))))
        with self.engine.connect() as conn:
            return [_event(row) for row in conn.execute(query).mappings()]

    def episodes(
        self,
        *,
        monitor: str | None = None,
        rule: str | None = None,
        cohort: str | None = None,
        since: datetime | None = None,
    ) -> list[Episode]:
        """Episodes still firing at `since` or later (every one without `since`)."""
        found = episodes_of(self.events(monitor=monitor, rule=rule, cohort=cohort))
        if since is None:
            return found
        return [e for e in found if e.closed is None or e.closed >= since]

    def pages_sent(
        self, *, monitor: str | None = None, since: datetime | None = None
    ) -> dict[tuple[str, str], int]:
        """(monitor, rule) -> outbox messages sent about its alerts (every channel; edits of
        an original and acknowledgements are not pages)."""
        o, h = schema.outbox, schema.alert_history
        rules = sa.select(h.c.fingerprint, h.c.monitor, h.c.rule).distinct().subquery()
        query = (
            sa.select(rules.c.monitor, rules.c.rule, sa.func.count())
            .select_from(o.join(rules, rules.c.fingerprint == o.c.fingerprint))
            .where(o.c.status == "sent", o.c.kind.in_(_PAGE_KINDS))
            .group_by(rules.c.monitor, rules.c.rule)
        )
        if monitor is not None:
            query = query.where(rules.c.monitor == monitor)
        if since is not None:
            query = query.where(o.c.sent_at >= db_time(since))
        with self.engine.connect() as conn:
            return {(m, r): int(count) for m, r, count in conn.execute(query)}

    def stats(
        self, *, monitor: str | None = None, since: datetime | None = None
    ) -> list[RuleStats]:
        return rule_stats(
            self.episodes(monitor=monitor, since=since),
            self.pages_sent(monitor=monitor, since=since),
        )


def _event(row: Any) -> HistoryEvent:
    return HistoryEvent(
        fingerprint=row["fingerprint"],
        monitor=row["monitor"],
        rule=row["rule"],
        release=row["release"],
        cohort=row["cohort"],
        metric=row["metric"],
        event=row["event"],
        severity=row["severity"],
        window_start=utc(row["window_start"]),  # type: ignore[arg-type]
        window_end=utc(row["window_end"]),  # type: ignore[arg-type]
        value=row["value"],
        n=row["n"],
        threshold=row["threshold"],
        reference=row["reference"],
        first_window_start=utc(row["first_window_start"]),  # type: ignore[arg-type]
        at=utc(row["at"]),  # type: ignore[arg-type]
        notified=bool(row["notified"]),
        previous_severity=row["previous_severity"],
        reference_label=row["reference_label"],
        note=row["note"],
    )


def last_seen(
    engine: Engine, monitor: str, scopes: Iterable[tuple[str, str]], before: datetime
) -> dict[tuple[str, str], datetime]:
    """(release, cohort) -> start of the newest stored window before `before` in which the
    scope had records (any metric with n > 0 but the feedback rate, which votes logged apart
    give a scope long after its last record: `source.feedback_table`): what staleness is
    measured from."""
    wanted = set(scopes)
    if not wanted:
        return {}
    m = schema.metrics
    query = (
        sa.select(m.c.release, m.c.cohort, sa.func.max(m.c.window_start))
        .where(
            m.c.monitor == monitor,
            m.c.n > 0,
            m.c.metric != "negative_feedback_rate",  # votes on earlier records: `pooled.votes_only`
            m.c.window_start < db_time(before),
            m.c.release.in_(sorted({r for r, _ in wanted})),
        )
        .group_by(m.c.release, m.c.cohort)
    )
    with engine.connect() as conn:
        return {
            (r, c): utc(start)  # type: ignore[misc]
            for r, c, start in conn.execute(query)
            if (r, c) in wanted
        }
