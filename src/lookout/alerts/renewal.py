"""How an alert's state takes one evaluation (pure): what a firing alert needs to resolve, what
counts toward a pending alert's `for`, what clears it, and what may start one. The rules say
"breach" or "ok" on a value; this says whether that value is evidence enough for the alert as it
stands (`lookout.runtime.alerting` applies it to every rule's evaluations of a window)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from lookout.alerts.pooled import History, leaning_before, pooled_since, pooled_without
from lookout.alerts.rules import (
    Evaluation,
    Reference,
    RuleSettings,
    evaluate_rules,
    renews_pending,
)
from lookout.model.aggregates import MetricValue
from lookout.windows import Window

__all__ = ["Renewal"]


@dataclass(frozen=True)
class Renewal:
    """How an alert's state takes an evaluation: a firing alert resolves on enough records,
    not on the few that may open one; a pending alert's breach counts toward `for` only with
    new evidence (`renews`), and an ok clears it only on as many records as a resolve needs
    (`clears`); else the evaluation neither counts nor clears."""

    settings: RuleSettings
    window: Window
    history: History
    references: Mapping[tuple[str, str, str], Reference]
    firing: Collection[tuple[str, str]]
    pending: Mapping[tuple[str, str], datetime]  # group -> start of its last breaching window
    own: Mapping[tuple[str, str], MetricValue]  # this window's own values
    # (rule, release, cohort) -> one-sided level (`split_levels`): a re-evaluation of one
    # cohort's pool keeps the level its window's split tested it at
    levels: Mapping[tuple[str, str, str], float] = field(default_factory=dict)

    def decide(self, ev: Evaluation) -> Evaluation:
        group = (ev.release, ev.cohort)
        needed = self.settings.needed(firing=True)
        short = ev.value.n < needed and not self.everything_pooled()
        if ev.outcome == "ok" and group in self.firing and short:
            return replace(ev, outcome="not_enough_data")
        if ev.outcome == "breach" and group in self.pending and not self.renews(ev, group):
            return replace(ev, outcome="inconclusive")
        fresh = group not in self.pending and group not in self.firing
        if ev.outcome == "breach" and fresh and self.against(ev, group):
            return replace(ev, outcome="inconclusive")
        if ev.outcome == "breach" and fresh and self.settings.persistence > 1:
            return self.leaning(ev, group)
        if ev.outcome == "ok" and group in self.pending and not self.clears(ev, group):
            return replace(ev, outcome="inconclusive")
        return ev

    def everything_pooled(self) -> bool:
        """Whether a firing alert's value short of the records a resolve needs already holds
        every record of `max_over` (`over: auto` pooled that far and found no more): a sparse
        cohort's day of ratings then decides, or its alert could only end as stale (a
        country's low-ratings alert stayed firing 2 days and 19 hours after the incident, on
        19 ratings a day against the 30 a resolve needs). A firing group's `over: auto` pool
        reaches back until it holds what a resolve needs or `max_over` ends, so a value short
        of it holds every stored record of the cohort since then, the breaching ones too:
        not the lucky newest few that the resolve's `min_n` guards against."""
        return self.settings.poolable and self.settings.over == "auto"

    def against(self, ev: Evaluation, group: tuple[str, str]) -> bool:
        """A pooled breach that would start an alert while the window's own records are not
        past the threshold: the breach is the older records' (a longer look reaching back
        into an incident that ended hours ago opened a spend alert five hours after it, on
        newest records all under the threshold). The newest records start an alert, or no
        record does (a quiet window, judged on its pool)."""
        own = self.own.get(group)
        if own is None or own.n <= 0 or ev.value.pooled_from is None:
            return False
        return not renews_pending(ev, own)

    def clears(self, ev: Evaluation, group: tuple[str, str]) -> bool:
        """Whether an ok clears a pending alert: the records since its last breach are as many
        as a firing alert needs to resolve, and say ok. A significance rule opens a pending
        alert on a few records but the point value of a few more cleared it: on a cohort of
        23 records an hour at 11% errors against 5%, one hour in three holds at most one
        failure, and a six-hour incident (15 errors in 138 records) was cleared before its
        second breach every time, never announced. Until then the alert stays pending, and
        `stale_after` clears one that never breaches again."""
        needed = self.settings.needed(firing=True)
        if ev.value.n >= needed:
            return True
        since = pooled_since(ev.rule, self.window, self.history, group, self.pending[group])
        if since is None or since.n < needed:
            return False
        return all(
            again.outcome == "ok"
            for again in evaluate_rules([ev.rule], [since], self.references, self.levels)
        )

    def leaning(self, ev: Evaluation, group: tuple[str, str]) -> Evaluation:
        """A fresh breach with the evaluations right before it that leaned past the threshold
        (they count toward `for`), when it still breaches without their windows' records: a
        breach pooled over them is not a second piece of evidence (an apac hour of 2 failures
        in 12 leaned, the next, 5 in 45, breached only with those 12 in its pool, and paged on
        a 2% cohort)."""
        count, since = leaning_before(
            ev.rule, self.settings, self.window, self.history, group, ev.threshold
        )
        if count == 0 or since is None:
            return ev
        size = self.window.end - self.window.start
        leaned = {self.window.start - k * size for k in range(1, count + 1)}
        without = pooled_without(ev.rule, self.settings, self.window, self.history, group, leaned)
        if without is None or not any(
            again.outcome == "breach"
            for again in evaluate_rules([ev.rule], [without], self.references, self.levels)
        ):
            return ev
        return replace(ev, leaning=count, leaning_since=since)

    def renews(self, ev: Evaluation, group: tuple[str, str]) -> bool:
        """The breach is strong enough to stand for all of `for` on its own records, or the
        window's own records lean past the threshold, or the pool still breaches without the
        window that made the alert's last breach."""
        if ev.evidence >= self.settings.persistence or renews_pending(ev, self.own.get(group)):
            return True
        without = pooled_without(
            ev.rule, self.settings, self.window, self.history, group, (self.pending[group],)
        )
        if without is None:
            return False
        return any(
            again.outcome == "breach"
            for again in evaluate_rules([ev.rule], [without], self.references, self.levels)
        )
