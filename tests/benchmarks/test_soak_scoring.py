"""The soak scorer's arithmetic (benchmarks/soak/scoring.py) on hand-made episodes."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from soak.scenario import Detector, Incident
from soak.scoring import (
    Episode,
    Targets,
    clean_days,
    episodes_from_windows,
    incident_windows,
    score_run,
)

T0 = datetime(2026, 10, 5, tzinfo=UTC)
H = timedelta(hours=1)
DAYS = 7
N = DAYS * 24


def at(window: int, minute: int = 0) -> datetime:
    return T0 + window * H + timedelta(minutes=minute)


def incident(
    onset: datetime,
    end: datetime | None,
    *detectors: Detector,
    id: str = "ERR",
) -> Incident:
    return Incident(
        id=id,
        family="errors",
        size="large",
        onset=onset,
        end=end,
        release=None,
        cohort="region=apac",
        detectors=detectors or (Detector("error_rate", "region=apac"),),
        description="",
    )


def score(incidents, episodes, **kw):
    return score_run(incidents, episodes, T0, H, N, **kw)


# an incident from 10:20 to 13:40 on day 1: onset window 34, last window 37
ERR = incident(at(34, 20), at(37, 40))


def test_windows_of_an_incident() -> None:
    assert incident_windows(ERR, T0, H) == (34, 37)
    # an end on a window boundary: the window it starts is not part of the incident
    assert incident_windows(incident(at(34, 20), at(38)), T0, H) == (34, 37)
    assert incident_windows(incident(at(34, 20), None), T0, H) == (34, None)


def test_episodes_from_window_transitions() -> None:
    a, b = ("r", "rel", "*"), ("r", "rel", "route=x")
    episodes = episodes_from_windows([(5, [], [a]), (3, [a, b], []), (7, [a], []), (6, [], [])])
    assert episodes == [
        Episode("r", "rel", "*", opened=3, resolved=5),
        Episode("r", "rel", "route=x", opened=3, resolved=None),
        Episode("r", "rel", "*", opened=7, resolved=None),
    ]


def test_an_alert_one_window_after_onset_has_delay_one_and_its_resolve_is_counted() -> None:
    result = score([ERR], [Episode("error_rate", "v1", "region=apac", opened=35, resolved=38)])
    (s,) = result.incidents
    assert (s.detected, s.detect_delay, s.already_firing) == (True, 1, False)
    assert (s.resolve, s.resolve_delay) == ("resolved", 1)  # the first window after the last
    assert s.detect_ok and s.resolve_ok
    assert result.false_episodes == []


def test_opening_in_the_onset_window_is_delay_zero_and_late_ones_miss_the_target() -> None:
    (s,) = score([ERR], [Episode("error_rate", "v1", "region=apac", 34, 38)]).incidents
    assert s.detect_delay == 0
    (late,) = score([ERR], [Episode("error_rate", "v1", "region=apac", 37, 45)]).incidents
    assert late.detect_delay == 3 and not late.detect_ok  # target: 2 windows
    assert late.resolve_delay == 8 and not late.resolve_ok  # target: 3 windows
    (low,) = score(
        [ERR], [Episode("error_rate", "v1", "region=apac", 37, 40)], targets=Targets(detect=24)
    ).incidents
    assert low.detect_ok and low.resolve_ok


def test_an_incident_without_a_matching_alert_is_missed() -> None:
    wrong_cohort = Episode("error_rate", "v1", "region=eu", 35, 38)
    wrong_rule = Episode("latency", "v1", "region=apac", 35, 38)
    result = score([ERR], [wrong_cohort, wrong_rule])
    (s,) = result.incidents
    assert not s.detected and s.detect_delay is None and s.resolve == "missed"
    assert not s.detect_ok and not s.resolve_ok
    # and both alerts are false: they match no incident
    assert result.false_episodes == [wrong_cohort, wrong_rule]


def test_a_blip_outside_every_incident_is_a_false_alert() -> None:
    blip = Episode("error_rate", "v1", "region=apac", 10, 11)  # same rule and cohort, day 0
    hit = Episode("error_rate", "v1", "region=apac", 34, 38)
    result = score([ERR], [blip, hit])
    assert result.false_episodes == [blip]
    assert result.incidents[0].detect_delay == 0


def test_the_horizon_takes_late_detections_up_to_a_day_and_no_further() -> None:
    # after the end + 3 windows but within 24 windows of the onset: still this incident's
    within = Episode("error_rate", "v1", "region=apac", 34 + 24, 34 + 25)
    result = score([ERR], [within])
    assert result.incidents[0].detect_delay == 24 and result.false_episodes == []
    beyond = Episode("error_rate", "v1", "region=apac", 34 + 25, 34 + 26)
    result = score([ERR], [beyond])
    assert not result.incidents[0].detected and result.false_episodes == [beyond]


def test_stuck_early_and_flapping() -> None:
    (stuck,) = score([ERR], [Episode("error_rate", "v1", "region=apac", 35, None)]).incidents
    assert stuck.resolve == "stuck" and stuck.resolve_delay is None and not stuck.resolve_ok
    (early,) = score([ERR], [Episode("error_rate", "v1", "region=apac", 34, 36)]).incidents
    assert early.resolve == "early" and early.resolve_delay == -1 and not early.resolve_ok
    flaps = [
        Episode("error_rate", "v1", "region=apac", 34, 35),
        Episode("error_rate", "v1", "region=apac", 36, 39),
    ]
    (flapped,) = score([ERR], flaps).incidents
    assert flapped.episodes == 2 and flapped.resolve_delay == 2  # the last one resolves


def test_every_detecting_alert_must_resolve() -> None:
    detectors = (Detector("error_rate", "region=apac"), Detector("error_rate", "*"))
    both = incident(at(34, 20), at(37, 40), *detectors)
    episodes = [
        Episode("error_rate", "v1", "region=apac", 35, 38),
        Episode("error_rate", "v1", "*", 34, None),
    ]
    (s,) = score([both], episodes).incidents
    assert s.detect_delay == 0 and s.resolve == "stuck"
    assert s.detected_by == ("error_rate v1 *", "error_rate v1 region=apac")


def test_an_alert_already_firing_at_onset_detects_with_delay_zero_but_stays_false() -> None:
    earlier = Episode("error_rate", "v1", "region=apac", 20, 38)
    result = score([ERR], [earlier])
    (s,) = result.incidents
    assert s.detected and s.detect_delay == 0 and s.already_firing
    assert result.false_episodes == [earlier]  # it opened before anything was wrong


def test_detectors_scope_by_release_and_any_rule() -> None:
    phantom = incident(at(34), at(36), Detector(None, None, "m@(null)"), id="LOG")
    on_it = Episode("tokens", "m@(null)", "*", 35, 36)
    other = Episode("tokens", "m@v9", "*", 35, 36)
    result = score([phantom], [on_it, other])
    assert result.incidents[0].detected_by == ("tokens m@(null) *",)
    assert result.false_episodes == [other]


def test_open_ended_incidents_never_resolve_and_hold_every_later_day() -> None:
    drift = incident(at(24 * 4 + 9), None)
    (s,) = score([drift], [Episode("error_rate", "v1", "region=apac", 24 * 6, None)]).incidents
    assert s.detect_delay == 24 * 6 - (24 * 4 + 9) and s.resolve == "open-ended"
    assert s.resolve_ok  # nothing to resolve
    assert clean_days([drift], T0, H, N) == [0, 1, 2, 3]


def test_clean_days_and_false_alerts_per_clean_day_and_per_week() -> None:
    # day 1 holds ERR; an incident ending at 22:30 on day 3 spills 3 windows into day 4
    spill = incident(at(24 * 3 + 20), at(24 * 3 + 22, 30), id="SPILL")
    assert clean_days([ERR, spill], T0, H, N) == [0, 2, 5, 6]
    false = [
        Episode("latency", "v1", "*", 5, 6),  # day 0, clean
        Episode("latency", "v1", "*", 24 * 5 + 3, 24 * 5 + 4),  # day 5, clean
        Episode("latency", "v1", "*", 24 * 5 + 9, None),  # day 5, clean, never resolves
        Episode("latency", "v1", "*", 24 * 4 + 1, 24 * 4 + 2),  # day 4: not clean
    ]
    result = score([ERR, spill], false)
    assert result.clean_days == [0, 2, 5, 6]
    assert result.false_on_clean_days == 3
    assert result.false_per_clean_day == pytest.approx(3 / 4)
    assert result.false_per_week == pytest.approx(4.0)  # 4 false alerts in 7 days
    assert result.still_firing == [false[2]]
    met = result.meets_targets
    assert not met["no false alert on clean days"] and not met["false alerts per week"]
    assert not met["every incident detected in time"]  # neither incident had an alert


def test_a_perfect_run_meets_every_target() -> None:
    result = score([ERR], [Episode("error_rate", "v1", "region=apac", 34, 38)])
    assert all(result.meets_targets.values())
    assert result.to_json()["false_alerts_by_rule"] == {}


def test_a_partial_run_scores_the_incidents_it_reached_from_its_window_records() -> None:
    from soak.scenario import RELEASES, build_scenario, label
    from soak.score import WindowRecord, format_report, score_records

    scenario = build_scenario()
    records = [
        WindowRecord(i, scenario.start + i * H, "succeeded", rows=100, seconds=0.5)
        for i in range(48)
    ]
    key = ("p95_latency_per_route", label(RELEASES["R1"]), "route=search")
    records[34].opened.append(key)  # LAT1 starts at 10:20 on day 1 (window 34)
    records[39].resolved.append(key)  # and ends at 14:50 (last window 38)
    records[5].opened.append(("no_data", "*", "*"))  # a blip on day 0, never resolved
    score = score_records(scenario, records)
    assert [i.id for i in score.incidents] == ["LAT1"]  # the others start after window 47
    (lat,) = score.incidents
    assert (lat.detect_delay, lat.resolve, lat.resolve_delay) == (0, "resolved", 1)
    assert score.clean_days == [0] and score.false_on_clean_days == 1
    assert [e.opened for e in score.still_firing] == [5]
    text = format_report(scenario, records, score, {"open": 2})
    assert "detected 1/1 incidents" in text and "1 on 1 clean days" in text
    assert "target NOT met: no false alert on clean days" in text
