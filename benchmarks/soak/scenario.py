"""The soak scenario's timeline: releases rolled out as canaries and the incident catalogue.

Pure data. The generator (`generate.py`) reads it to shape the traffic; the scorer reads the
same catalogue back from `incidents.json` (so it can score a scenario it did not generate).
Every incident names the Lookout rules that count as detecting it (its ground truth): the rule
names of `monitors.yml` in this folder, so keep the two in step.

Days are counted from the scenario's start (a Monday, UTC midnight). Days 0, 2, 3, 5, 6 and 9
carry no incident: a quiet Monday, the canary rollout of a healthy release (days 2-3), a whole
weekend (days 5-6) and a mid-week day between incidents (day 9).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "DEFAULT_DAYS",
    "DEFAULT_START",
    "RELEASES",
    "RULES",
    "WINDOW",
    "Detector",
    "Incident",
    "Scenario",
    "build_scenario",
    "release_mix",
]

DEFAULT_START = datetime(2026, 10, 5, tzinfo=UTC)  # a Monday, so day 5 and 6 are the weekend
DEFAULT_DAYS = 14
WINDOW = timedelta(hours=1)

# The rule names of monitors.yml (the ground truth refers to them).
RULES = {
    "data_quality": "validation failed (the default record contract)",
    "p95_latency_per_route": "p95 latency above a fixed threshold, per route",
    "p95_latency_vs_previous": "p95 latency 50% above the previous release, per route",
    "error_rate_per_region": "error rate above 5% (whole Wilson interval), overall and per region",
    "error_rate_vs_own_history": "error rate three times the region's own last week, per region",
    "latency_vs_own_history": "median latency 40% above the route's own last week, per route",
    "completion_tokens_vs_previous": "mean completion tokens 50% above the previous release",
    "groundedness_per_route": "offline groundedness pass rate below 85%, per route",
    "negative_feedback_per_route": "thumbs-down share above 30%, per route",
    "prompt_length_drift_per_plan": "input length drifted from the previous release, per plan",
    "no_data": "a window with no rows (health.min_rows)",
}

R1 = ("gpt-4o-mini-2024-07-18", "support-v7")
R2 = ("gpt-4o-mini-2024-07-18", "support-v8")  # a prompt update: healthy
R3 = ("gpt-4.1-mini-2025-04-14", "support-v9")  # a new model and prompt
RELEASES = {"R1": R1, "R2": R2, "R3": R3}


def label(release: tuple[str, str]) -> str:
    """Lookout's release label: the release fields joined with `@`."""
    return "@".join(release)


def _at(start: datetime, day: int, hhmm: str) -> datetime:
    hours, minutes = (int(part) for part in hhmm.split(":"))
    return start + timedelta(days=day, hours=hours, minutes=minutes)


@dataclass(frozen=True)
class Detector:
    """An alert that counts as detecting an incident: its rule (None: any rule), and the
    release and cohort it must be about (None: any)."""

    rule: str | None
    cohort: str | None = None
    release: str | None = None

    def matches(self, rule: str, release: str, cohort: str) -> bool:
        return (
            (self.rule is None or self.rule == rule)
            and (self.cohort is None or self.cohort == cohort)
            and (self.release is None or self.release == release)
        )


@dataclass(frozen=True)
class Incident:
    """One injected incident: when, where, how big, and which alerts count as detecting it.

    `end` is exclusive; None means open-ended (it lasts past the scenario's end). `effect`
    holds the generator's parameters (family specific)."""

    id: str
    family: str
    size: str  # "small" or "large": how far from normal, relative to the noise
    onset: datetime
    end: datetime | None
    release: str | None  # scope: one release label, or None for every release
    cohort: str | None  # scope: "route=search", or None for every record
    detectors: tuple[Detector, ...]
    description: str
    effect: dict[str, Any] = field(default_factory=dict)

    def active(self, moment: datetime) -> bool:
        return self.onset <= moment and (self.end is None or moment < self.end)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["onset"] = self.onset.isoformat()
        out["end"] = None if self.end is None else self.end.isoformat()
        out["detectors"] = [asdict(d) for d in self.detectors]
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Incident:
        return cls(
            id=data["id"],
            family=data["family"],
            size=data["size"],
            onset=datetime.fromisoformat(data["onset"]),
            end=None if data["end"] is None else datetime.fromisoformat(data["end"]),
            release=data["release"],
            cohort=data["cohort"],
            detectors=tuple(Detector(**d) for d in data["detectors"]),
            description=data["description"],
            effect=dict(data.get("effect") or {}),
        )


@dataclass(frozen=True)
class Scenario:
    """Everything the scorer needs: the period, its windows, the releases and the incidents."""

    start: datetime
    days: int
    variant: str  # "normal" or "low"
    seed: int
    rollout: tuple[tuple[datetime, dict[str, float]], ...]  # (from, release label -> share)
    incidents: tuple[Incident, ...]
    window: timedelta = WINDOW

    @property
    def end(self) -> datetime:
        return self.start + timedelta(days=self.days)

    def to_json(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "days": self.days,
            "variant": self.variant,
            "seed": self.seed,
            "window_seconds": int(self.window.total_seconds()),
            "rollout": [{"from": t.isoformat(), "shares": shares} for t, shares in self.rollout],
            "rules": RULES,
            "incidents": [i.to_json() for i in self.incidents],
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2) + "\n"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Scenario:
        return cls(
            start=datetime.fromisoformat(data["start"]),
            days=int(data["days"]),
            variant=data["variant"],
            seed=int(data["seed"]),
            rollout=tuple(
                (datetime.fromisoformat(step["from"]), dict(step["shares"]))
                for step in data["rollout"]
            ),
            incidents=tuple(Incident.from_json(i) for i in data["incidents"]),
            window=timedelta(seconds=int(data.get("window_seconds", 3600))),
        )


def _rollout(start: datetime) -> tuple[tuple[datetime, dict[str, float]], ...]:
    """Canaries: 5% for six hours, 25% until the next morning, then all traffic but a few
    sticky sessions that stay on the old release for three more hours."""
    r1, r2, r3 = label(R1), label(R2), label(R3)
    return (
        (start, {r1: 1.0}),
        (_at(start, 2, "09:00"), {r1: 0.95, r2: 0.05}),
        (_at(start, 2, "15:00"), {r1: 0.75, r2: 0.25}),
        (_at(start, 3, "09:00"), {r1: 0.02, r2: 0.98}),
        (_at(start, 3, "12:00"), {r2: 1.0}),
        (_at(start, 10, "09:00"), {r2: 0.95, r3: 0.05}),
        (_at(start, 10, "15:00"), {r2: 0.75, r3: 0.25}),
        (_at(start, 11, "09:00"), {r2: 0.02, r3: 0.98}),
        (_at(start, 11, "12:00"), {r3: 1.0}),
    )


def release_mix(
    rollout: tuple[tuple[datetime, dict[str, float]], ...], moment: datetime
) -> dict[str, float]:
    """The release shares in force at `moment` (the last step at or before it)."""
    current = rollout[0][1]
    for since, shares in rollout:
        if since <= moment:
            current = shares
    return current


def _latency(route: str) -> tuple[Detector, ...]:
    cohort = f"route={route}"
    return (
        Detector("p95_latency_per_route", cohort),
        Detector("p95_latency_vs_previous", cohort),
        Detector("latency_vs_own_history", cohort),
    )


def _errors(region: str) -> tuple[Detector, ...]:
    return (
        Detector("error_rate_per_region", f"region={region}"),
        Detector("error_rate_per_region", "*"),
        Detector("error_rate_vs_own_history", f"region={region}"),
    )


def _incidents(start: datetime) -> tuple[Incident, ...]:
    r2, r3 = label(R2), label(R3)
    phantom = f"{R3[0]}@(null)"  # the release label of R3 records with a NULL prompt_version
    at = lambda day, hhmm: _at(start, day, hhmm)  # noqa: E731
    return (
        Incident(
            "LAT1",
            "latency",
            "large",
            at(1, "10:20"),
            at(1, "14:50"),
            None,
            "route=search",
            _latency("search"),
            "search's retrieval backend slows down: latency ~2x on that route (p95 ~2x)",
            {"route": "search", "factor": 2.0},
        ),
        Incident(
            "ERR1",
            "errors",
            "large",
            at(4, "05:37"),
            at(4, "08:37"),
            None,
            "region=apac",
            _errors("apac"),
            "the apac gateway fails in apac's afternoon: error rate ~12% there for 3 hours",
            {"region": "apac", "rate": 0.12},
        ),
        Incident(
            "FB1",
            "feedback",
            "large",
            at(7, "08:10"),
            at(7, "20:10"),
            None,
            "route=billing",
            (Detector("negative_feedback_per_route", "route=billing"),),
            "a billing policy change users dislike: thumbs-down ~13% -> ~50% on billing",
            {"route": "billing", "p_down": 0.5},
        ),
        Incident(
            "TOK1",
            "tokens",
            "large",
            at(7, "19:45"),
            at(8, "19:45"),
            r2,
            None,
            (
                Detector("completion_tokens_vs_previous", None, r2),
                # longer answers take longer to generate: latency alerts on R2 are this too
                Detector("p95_latency_per_route", None, r2),
                Detector("p95_latency_vs_previous", None, r2),
                Detector("latency_vs_own_history", None, r2),
            ),
            "a serving config drops R2's max_tokens/stop sequence: answers ~2x longer for a day",
            {"factor": 2.0},
        ),
        Incident(
            "ERR2",
            "errors",
            "small",
            at(7, "21:50"),
            at(8, "01:50"),
            None,
            "region=us",
            _errors("us"),
            "a us provider endpoint degrades in the UTC night (us evening): errors ~8% in us",
            {"region": "us", "rate": 0.08},
        ),
        Incident(
            "GAP1",
            "gap",
            "large",
            at(8, "11:05"),
            at(8, "14:05"),
            None,
            None,
            (Detector("no_data"),),
            "the log shipper stops: no rows at all for 3 hours in the daytime",
            {},
        ),
        Incident(
            "DRIFT1",
            "drift",
            "large",
            at(10, "09:00"),
            None,
            r3,
            "plan=enterprise",
            (Detector("prompt_length_drift_per_plan", "plan=enterprise", r3),),
            "R3's template pastes the account profile into enterprise prompts: ~2.5x longer",
            {"plan": "enterprise"},
        ),
        Incident(
            "HAL1",
            "hallucination",
            "large",
            at(11, "07:15"),
            at(12, "07:15"),
            None,
            "route=account",
            (
                Detector("groundedness_per_route", "route=account"),
                # ungrounded answers get more thumbs-down: a true symptom
                Detector("negative_feedback_per_route", "route=account"),
            ),
            "the account index is stale: ~30% of account answers are not in the context",
            {"route": "account", "rate": 0.30},
        ),
        Incident(
            "LAT2",
            "latency",
            "small",
            at(12, "15:40"),
            at(12, "18:40"),
            None,
            "route=troubleshoot",
            _latency("troubleshoot"),
            "a slow tool on troubleshoot on a Saturday: latency ~1.6x on that route",
            {"route": "troubleshoot", "factor": 1.6},
        ),
        Incident(
            "LOG2",
            "logging",
            "small",
            at(12, "03:10"),
            at(12, "05:10"),
            None,
            None,
            (Detector("data_quality"),),
            "a logger writes latency_ms = -1 for 30% of records (night)",
            {"kind": "latency_sentinel", "share": 0.3},
        ),
        Incident(
            "LOG1",
            "logging",
            "large",
            at(13, "10:30"),
            at(13, "12:30"),
            None,
            None,
            (
                Detector("data_quality"),
                # its records form a release of their own, `<model>@(null)`: any alert on it
                Detector(None, None, phantom),
            ),
            "a logging deploy drops prompt_version on 60% of records for 2 hours",
            {"kind": "null_prompt_version", "share": 0.6},
        ),
    )


def build_scenario(
    start: datetime = DEFAULT_START,
    days: int = DEFAULT_DAYS,
    *,
    variant: str = "normal",
    seed: int = 17,
) -> Scenario:
    """The catalogue on a timeline starting at `start` (UTC midnight). Days past 14 bring no
    new incident (DRIFT1, open-ended, still holds, so they are not clean days)."""
    if days < DEFAULT_DAYS:
        raise ValueError(f"the scenario needs at least {DEFAULT_DAYS} days, got {days}")
    if variant not in ("normal", "low"):
        raise ValueError(f"variant must be 'normal' or 'low', got {variant!r}")
    start = start.astimezone(UTC)
    if start != start.replace(hour=0, minute=0, second=0, microsecond=0):
        raise ValueError(f"start must be a UTC midnight, got {start.isoformat()}")
    return Scenario(start, days, variant, seed, _rollout(start), _incidents(start))
