"""Alert lifecycle (pure): pending, open, keep firing, resolve, by a stable fingerprint.

Fingerprint = rule x monitor x release x cohort, so re-running a window or backfilling never
opens a second alert for the same problem. Only windows after the newest one an alert has seen
may move it on, so a backfill of older windows cannot open or close a live alert.

Persistence, as Prometheus' `for`: a rule with `for: N` opens on the N-th breaching evaluation
in a row (the evaluations right before a first breach whose values already leaned past the
threshold, not significantly, count: `Evaluation.leaning`; a breach strong enough to stand for
all N counts as N: `Evaluation.evidence`); before that the alert is `pending`
(stored, never announced), and an evaluation back to normal clears it (`inactive`).
Evaluations without enough data, or inconclusive ones, neither count nor clear (a cohort
breach its release's firing alert explains, `lookout.alerts.folding`, opens nothing and clears
a pending alert of the cohort; the alert
stage makes inconclusive a pending alert's ok on fewer records than a resolve needs, and its
pooled breach without new evidence). Hysteresis, as
`keep_firing_for`: a firing alert resolves only once that long has passed since its last
breaching window (default: `for` windows, so a rule that needs two breaching windows to open
needs two normal ones to resolve; `0s` resolves at once).

Flapping: an alert that reopens within a day of resolving has a condition that comes and
goes (a few rows an hour with a NULL release field: the data-quality alert of a user's table
opened and resolved 21 times in four days; a rate sitting at its threshold). Each such reopen
in a row doubles the normal time its next resolve needs (2, 4, 8... windows, at most a day),
so it stays open while the condition recurs and says so once, instead of paging each return.
A rule that sets `keep_firing_for` itself keeps exactly that.

Staleness (`alerting.stale_after`): a firing alert whose scope had no records that long
resolves as `stale`, and a pending alert with no breach that long is cleared, so a cohort that
went quiet, or whose evaluations stayed inconclusive, neither keeps a `pending` row forever nor
opens days later on a breach that is not "in a row" with the one before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta

from lookout.alerts.rules import Evaluation
from lookout.model.alerts import AlertState, AlertStatus, Transition, fingerprint
from lookout.windows import Window

__all__ = ["FLAP_WITHIN", "apply_evaluations", "expired_pending", "flap_hold", "stale_transitions"]

# a reopen this soon after the resolve (or within two windows, for longer windows) is a flap
FLAP_WITHIN = timedelta(days=1)


def _flap_span(size: timedelta) -> timedelta:
    return max(FLAP_WITHIN, 2 * size)


def flap_hold(flaps: int, size: timedelta) -> timedelta | None:
    """The normal time a resolve needs after `flaps` reopens in a row: 2^flaps windows, at
    most a day (two windows, for longer windows); None when it has not flapped."""
    if flaps <= 0:
        return None
    return min(_flap_span(size), size * 2 ** min(flaps, 16))


def _flaps_at_reopen(current: AlertState, window: Window) -> int:
    """The reopen count a new episode of `current` starts with: one more when it resolved
    within `FLAP_WITHIN` of this window, the count it had when only a pending run was cleared
    since, none when it stayed quiet longer."""
    quiet = window.start - current.last_window_start
    if quiet > _flap_span(window.end - window.start):
        return 0
    return current.flaps + 1 if current.state == "resolved" else current.flaps


def _new_alert(
    monitor: str, ev: Evaluation, window: Window, now: datetime, state: AlertStatus
) -> AlertState:
    rule = ev.rule
    return AlertState(
        fingerprint=fingerprint(rule.name, monitor, ev.release, ev.cohort),
        monitor=monitor,
        rule=rule.name,
        release=ev.release,
        cohort=ev.cohort,
        metric=rule.metric,
        severity=ev.severity,
        owner=rule.owner,
        state=state,
        op=rule.op,
        threshold=ev.threshold,
        value=ev.value.value,
        n=ev.value.n,
        first_window_start=window.start,
        last_window_start=window.start,
        opened_at=now,
        updated_at=now,
        runbook=rule.runbook,
        last_notified_window=window.start,
        reference=ev.reference.value if ev.reference else None,
        reference_label=ev.reference.label if ev.reference else None,
        breaches=1,
        last_breach_window=window.start,
        pooled_from=ev.value.pooled_from,
    )


def _latest(ev: Evaluation) -> dict[str, object]:
    """What the newest window says about an alert."""
    return {
        "value": ev.value.value,
        "n": ev.value.n,
        "severity": ev.severity,
        "threshold": ev.threshold,
        "reference": ev.reference.value if ev.reference else None,
        "reference_label": ev.reference.label if ev.reference else None,
        "pooled_from": ev.value.pooled_from,
    }


def _breach(
    monitor: str, current: AlertState | None, ev: Evaluation, window: Window, now: datetime
) -> Transition | None:
    persistence = ev.persistence
    if current is None or current.state in ("resolved", "inactive"):
        again = current is not None and (current.state == "resolved" or current.resolved_before)
        if current is not None and window.start <= current.last_window_start:
            return None  # an older window re-run or backfilled: it does not start an episode
        fresh = replace(
            _new_alert(monitor, ev, window, now, "firing"),
            resolved_before=again,
            flaps=_flaps_at_reopen(current, window) if again and current is not None else 0,
        )
        counted = 1 + min(ev.leaning, max(0, persistence - 1))
        if counted > 1 and ev.leaning_since is not None:
            fresh = replace(fresh, breaches=counted, first_window_start=ev.leaning_since)
        if ev.evidence > counted:  # one breach strong enough for all of `for`
            counted = ev.evidence
            fresh = replace(fresh, breaches=counted)
        if counted >= persistence:
            return Transition("reopened" if again else "opened", fresh, window)
        return Transition("pending", replace(fresh, state="pending"), window)
    if current.state == "pending":
        if window.start <= current.last_window_start:
            return None
        breaches = max(current.breaches + 1, ev.evidence)
        updated = replace(
            current,
            breaches=breaches,
            last_window_start=window.start,
            last_breach_window=window.start,
            updated_at=now,
            **_latest(ev),
        )
        if breaches < persistence:
            return Transition("pending", updated, window)
        # opens now; it has been breaching since the first window of the run
        opened = replace(updated, state="firing", opened_at=now, last_notified_window=window.start)
        return Transition("reopened" if current.resolved_before else "opened", opened, window)
    # firing
    newest = window.start >= current.last_window_start
    updated = replace(
        current,
        first_window_start=min(current.first_window_start, window.start),
        last_window_start=max(current.last_window_start, window.start),
        last_breach_window=max(current.last_breach_window or window.start, window.start),
        breaches=current.breaches + (1 if newest else 0),
        updated_at=now,
        **(_latest(ev) if newest else {}),
    )
    remind = ev.rule.remind_after
    last = current.last_notified_window or current.first_window_start
    if newest and ev.severity != current.severity:
        updated = replace(updated, last_notified_window=window.start)
        return Transition("severity_changed", updated, window, previous_severity=current.severity)
    if remind is not None and window.start - last >= remind:
        updated = replace(updated, last_notified_window=window.start)
        return Transition("reminder", updated, window)
    return Transition("firing", updated, window)


def _normal(current: AlertState | None, ev: Evaluation, window: Window, now: datetime):
    """An evaluation back to normal: clears a pending alert, resolves a firing one (after
    `keep_firing_for` without a breach)."""
    if current is None or window.start <= current.last_window_start:
        return None
    if current.state == "pending":
        # the value that cleared it, as a resolve keeps the value that resolved it
        cleared = replace(
            current,
            state="inactive",
            breaches=0,
            value=ev.value.value,
            n=ev.value.n,
            pooled_from=ev.value.pooled_from,
            last_window_start=window.start,
            updated_at=now,
        )
        return Transition("cleared", cleared, window)
    if current.state != "firing":
        return None
    last_breach = current.last_breach_window or current.last_window_start
    keep = ev.keep_firing_for
    if keep is None:
        size = window.end - window.start
        # symmetric hysteresis by default: as many normal windows to resolve as breaching ones
        # to open, so an incident that flickers at its end does not resolve and reopen; longer
        # for an alert that flapped (`flap_hold`)
        holds = [ev.persistence * size] if ev.persistence > 1 else []
        flapped = flap_hold(current.flaps, size)
        if flapped is not None:
            holds.append(flapped)
        keep = max(holds, default=None)
    if keep and window.start - last_breach < keep:
        # evaluable data, normal but within the hysteresis: it is not stale
        held = replace(
            current,
            value=ev.value.value,
            n=ev.value.n,
            pooled_from=ev.value.pooled_from,
            last_window_start=window.start,
            updated_at=now,
        )
        return Transition("firing", held, window)
    resolved = replace(
        current,
        state="resolved",
        value=ev.value.value,
        n=ev.value.n,
        pooled_from=ev.value.pooled_from,
        last_window_start=window.start,
        updated_at=now,
        resolved_at=now,
    )
    return Transition("resolved", resolved, window, ev.rule.notify_resolved)


def apply_evaluations(
    monitor: str,
    existing: Mapping[str, AlertState],
    evaluations: Iterable[Evaluation],
    window: Window,
    now: datetime,
) -> list[Transition]:
    """The alert changes one window's evaluations cause, given the alerts already stored."""
    out: list[Transition] = []
    for ev in evaluations:
        if ev.outcome in ("not_enough_data", "inconclusive"):
            continue
        current = existing.get(fingerprint(ev.rule.name, monitor, ev.release, ev.cohort))
        if ev.outcome == "explained" and (current is None or current.state != "pending"):
            continue  # folded into its release's alert: it opens nothing (never firing here)
        if ev.outcome == "breach":
            transition = _breach(monitor, current, ev, window, now)
        else:
            transition = _normal(current, ev, window, now)
        if transition is not None:
            out.append(transition)
    return out


def stale_transitions(
    firing: Iterable[AlertState],
    last_seen: Mapping[tuple[str, str], datetime],
    window: Window,
    stale_after: timedelta,
    now: datetime,
) -> list[Transition]:
    """Firing alerts whose scope (release x cohort) had no data for `stale_after` by the end
    of `window` resolve as `stale`: a retired release, a cohort that lost its traffic, a
    release that only existed while a logging bug lasted can never resolve on data.
    `last_seen`: the start of the newest window with records per scope (none: since the
    alert's first breaching window)."""
    out = []
    size = window.end - window.start
    for alert in firing:
        if alert.state != "firing" or window.start < alert.last_window_start:
            continue  # an older window (a backfill) does not end a live alert
        # a value pooled over a lookback may still breach on old records: what counts is the
        # newest window the scope had records in
        newest = last_seen.get((alert.release, alert.cohort), alert.first_window_start)
        if window.end - (newest + size) < stale_after:
            continue
        # `last_window_start`: the first window without records, which its message names
        quiet = newest + size
        resolved = replace(
            alert, state="resolved", last_window_start=quiet, updated_at=now, resolved_at=now
        )
        note = f"no data since {quiet:%Y-%m-%d %H:%M} UTC"
        out.append(Transition("stale", resolved, window, note=note))
    return out


def expired_pending(
    pending: Iterable[AlertState], window: Window, stale_after: timedelta, now: datetime
) -> list[Transition]:
    """Pending alerts with no breaching window for `stale_after` (and at least two windows)
    by the end of `window` are cleared (`inactive`, never announced): their breaches were not
    followed by more, only by windows without data or without a verdict. With windows as long
    as `stale_after` (daily windows, 24h), one such window in between is still tolerated."""
    out = []
    size = window.end - window.start
    horizon = max(stale_after, 2 * size)
    for alert in pending:
        if alert.state != "pending" or window.start < alert.last_window_start:
            continue  # an older window (a backfill) does not end a live alert
        last_breach = alert.last_breach_window or alert.last_window_start
        if window.end - (last_breach + size) < horizon:
            continue
        cleared = replace(
            alert, state="inactive", breaches=0, last_window_start=window.start, updated_at=now
        )
        note = f"no breach since {last_breach + size:%Y-%m-%d %H:%M} UTC"
        out.append(Transition("cleared", cleared, window, note=note))
    return out
