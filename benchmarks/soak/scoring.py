"""Scoring a soak run (pure): alert episodes against the incident catalogue.

Windows are counted from the scenario's start (index 0 is its first window). An incident's
*onset window* holds its first instant; its *last window* holds its last instant (the window
before the one containing `end`, unless `end` falls on a window boundary). Then:

- **detect delay** = the window in which a matching alert opened minus the onset window (0:
  the same window). An alert matches when one of the incident's detectors names its rule,
  release and cohort, and it opens within the incident's *horizon*: from the onset window to
  `after` windows past the last window, and at least `detect_horizon` windows past the onset
  (an open-ended incident: to the end of the run). A matching alert already firing at the
  onset counts as delay 0 (`already_firing`). None within the horizon: **missed**.
- **resolve delay** = the window in which the last of the detecting alerts resolved minus the
  incident's last window (1: the first window after it). Never resolved: **stuck**; resolved
  before the last window: **early** (it stopped firing while the incident went on).
- a **false alert** is an episode (one open..resolve of one rule x release x cohort) that
  matches no incident within that incident's horizon.
- a **clean day** is a UTC day of the run that no incident touches, from its onset to `after`
  windows past its end.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from soak.scenario import Incident

__all__ = [
    "AlertKey",
    "Episode",
    "IncidentScore",
    "Score",
    "Targets",
    "clean_days",
    "episodes_from_windows",
    "incident_windows",
    "score_run",
]

AlertKey = tuple[str, str, str]  # rule, release, cohort


@dataclass(frozen=True)
class Episode:
    """One alert from opening to resolving (None: still firing when the run ended)."""

    rule: str
    release: str
    cohort: str
    opened: int
    resolved: int | None = None

    def firing_at(self, window: int) -> bool:
        return self.opened <= window and (self.resolved is None or window < self.resolved)

    @property
    def label(self) -> str:
        return f"{self.rule} {self.release} {self.cohort}"


@dataclass(frozen=True)
class Targets:
    """The soak's goals: detect within `detect` windows of onset, resolve within `resolve`
    windows after the end, no false alert on a clean day, at most `per_week` overall."""

    detect: int = 2
    resolve: int = 3
    false_per_clean_day: float = 0.0
    false_per_week: float = 1.0


@dataclass(frozen=True)
class IncidentScore:
    id: str
    family: str
    size: str
    onset_window: int
    last_window: int | None
    detected: bool
    detect_delay: int | None
    already_firing: bool
    resolve: Literal["resolved", "early", "stuck", "open-ended", "missed"]
    resolve_delay: int | None
    episodes: int  # matching episodes in the horizon (more than one: it flapped)
    detected_by: tuple[str, ...]
    detect_ok: bool
    resolve_ok: bool


@dataclass
class Score:
    incidents: list[IncidentScore]
    false_episodes: list[Episode]
    clean_days: list[int]
    false_on_clean_days: int
    days: float
    targets: Targets
    still_firing: list[Episode] = field(default_factory=list)

    @property
    def false_per_clean_day(self) -> float | None:
        return self.false_on_clean_days / len(self.clean_days) if self.clean_days else None

    @property
    def false_per_week(self) -> float:
        return len(self.false_episodes) / (self.days / 7.0) if self.days else 0.0

    @property
    def detected(self) -> int:
        return sum(1 for i in self.incidents if i.detected)

    @property
    def meets_targets(self) -> dict[str, bool]:
        per_clean_day = self.false_per_clean_day or 0.0
        return {
            "every incident detected in time": all(i.detect_ok for i in self.incidents),
            "every incident resolved in time": all(i.resolve_ok for i in self.incidents),
            "no false alert on clean days": per_clean_day <= self.targets.false_per_clean_day,
            "false alerts per week": self.false_per_week <= self.targets.false_per_week,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "incidents": [asdict(i) for i in self.incidents],
            "detected": self.detected,
            "false_alerts": [asdict(e) for e in self.false_episodes],
            "false_alerts_by_rule": _count_by_rule(self.false_episodes),
            "clean_days": self.clean_days,
            "false_on_clean_days": self.false_on_clean_days,
            "false_per_clean_day": self.false_per_clean_day,
            "false_per_week": self.false_per_week,
            "still_firing": [asdict(e) for e in self.still_firing],
            "targets": asdict(self.targets),
            "meets_targets": self.meets_targets,
        }


def _count_by_rule(episodes: Iterable[Episode]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for episode in episodes:
        counts[episode.rule] = counts.get(episode.rule, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def episodes_from_windows(
    windows: Iterable[tuple[int, Sequence[AlertKey], Sequence[AlertKey]]],
) -> list[Episode]:
    """Episodes from each window's (index, alerts opened, alerts resolved), in window order."""
    open_: dict[AlertKey, int] = {}
    done: list[Episode] = []
    for index, opened, resolved in sorted(windows, key=lambda w: w[0]):
        for key in resolved:
            if key in open_:
                done.append(Episode(*key, opened=open_.pop(key), resolved=index))
        for key in opened:
            if key in open_:  # opened twice without a resolve: keep the first opening
                continue
            open_[key] = index
    done.extend(Episode(*key, opened=at) for key, at in open_.items())
    return sorted(done, key=lambda e: (e.opened, e.rule, e.release, e.cohort))


def _index(moment: datetime, start: datetime, window: timedelta) -> int:
    return int((moment - start) // window)


def incident_windows(
    incident: Incident, start: datetime, window: timedelta
) -> tuple[int, int | None]:
    """(onset window, last window); the last is None for an open-ended incident."""
    onset = _index(incident.onset, start, window)
    if incident.end is None:
        return onset, None
    last = _index(incident.end - timedelta(microseconds=1), start, window)
    return onset, max(onset, last)


def _horizon(
    onset: int, last: int | None, n_windows: int, after: int, detect_horizon: int
) -> tuple[int, int]:
    if last is None:
        return onset, n_windows - 1
    return onset, max(last + after, onset + detect_horizon)


def clean_days(
    incidents: Iterable[Incident],
    start: datetime,
    window: timedelta,
    n_windows: int,
    *,
    after: int = 3,
) -> list[int]:
    """UTC days (0-based, whole days of the run only) that no incident touches, from its
    onset to `after` windows past its last window."""
    per_day = int(timedelta(days=1) / window)
    touched: set[int] = set()
    for incident in incidents:
        onset, last = incident_windows(incident, start, window)
        stop = n_windows - 1 if last is None else min(n_windows - 1, last + after)
        touched.update(range(onset // per_day, stop // per_day + 1))
    return [d for d in range(n_windows // per_day) if d not in touched]


def _score_incident(
    incident: Incident,
    episodes: Sequence[Episode],
    start: datetime,
    window: timedelta,
    n_windows: int,
    after: int,
    detect_horizon: int,
    targets: Targets,
) -> tuple[IncidentScore, set[int]]:
    """The incident's score and the indices of the episodes it explains."""
    onset, last = incident_windows(incident, start, window)
    lo, hi = _horizon(onset, last, n_windows, after, detect_horizon)
    matching = [
        (i, e)
        for i, e in enumerate(episodes)
        if any(d.matches(e.rule, e.release, e.cohort) for d in incident.detectors)
    ]
    inside = [(i, e) for i, e in matching if lo <= e.opened <= hi]
    before = [e for _, e in matching if e.opened < lo and e.firing_at(onset)]
    detecting = [e for _, e in inside] + before
    if not detecting:
        score = IncidentScore(
            incident.id,
            incident.family,
            incident.size,
            onset,
            last,
            detected=False,
            detect_delay=None,
            already_firing=False,
            resolve="missed",
            resolve_delay=None,
            episodes=0,
            detected_by=(),
            detect_ok=False,
            resolve_ok=False,
        )
        return score, set()
    first = 0 if before else min(e.opened for e in detecting) - onset
    resolve: Literal["resolved", "early", "stuck", "open-ended", "missed"]
    if last is None:
        resolve, resolve_delay = "open-ended", None
    elif any(e.resolved is None for e in detecting):
        resolve, resolve_delay = "stuck", None
    else:
        resolved_at = max(e.resolved for e in detecting if e.resolved is not None)
        resolve_delay = resolved_at - last
        resolve = "early" if resolve_delay < 0 else "resolved"
    score = IncidentScore(
        incident.id,
        incident.family,
        incident.size,
        onset,
        last,
        detected=True,
        detect_delay=first,
        already_firing=bool(before),
        resolve=resolve,
        resolve_delay=resolve_delay,
        episodes=len(inside),
        detected_by=tuple(sorted({e.label for e in detecting})),
        detect_ok=first <= targets.detect,
        resolve_ok=resolve == "open-ended"
        or (
            resolve == "resolved" and resolve_delay is not None and resolve_delay <= targets.resolve
        ),
    )
    return score, {i for i, _ in inside}


def score_run(
    incidents: Sequence[Incident],
    episodes: Sequence[Episode],
    start: datetime,
    window: timedelta,
    n_windows: int,
    *,
    after: int = 3,
    detect_horizon: int = 24,
    targets: Targets | None = None,
) -> Score:
    """Per incident its delays, and the false alerts overall and on clean days."""
    targets = targets or Targets()
    episodes = list(episodes)
    scores = []
    explained: set[int] = set()
    for incident in incidents:
        score, used = _score_incident(
            incident, episodes, start, window, n_windows, after, detect_horizon, targets
        )
        scores.append(score)
        explained |= used
    false = [e for i, e in enumerate(episodes) if i not in explained]
    clean = clean_days(incidents, start, window, n_windows, after=after)
    per_day = int(timedelta(days=1) / window)
    on_clean = sum(1 for e in false if e.opened // per_day in clean)
    return Score(
        incidents=scores,
        false_episodes=false,
        clean_days=clean,
        false_on_clean_days=on_clean,
        days=n_windows / per_day,
        targets=targets,
        still_firing=[e for e in episodes if e.resolved is None],
    )
