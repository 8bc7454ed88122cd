"""Which durations init computes from two times (pure): a start and an end named so whose
sampled gaps look like requests' durations, and only when no column logs one."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lookout.services.init_columns import ColumnInfo, profile_column
from lookout.services.init_durations import computed_durations


def _sample(gaps_ms: np.ndarray, names: tuple[str, str] = ("start_time", "end_time")):
    start = pd.Timestamp("2026-11-02") + pd.to_timedelta(np.arange(len(gaps_ms)), unit="min")
    frame = pd.DataFrame({names[0]: start, names[1]: start + pd.to_timedelta(gaps_ms, unit="ms")})
    profiles = [profile_column(ColumnInfo(c, "TIMESTAMP", "timestamp"), frame[c]) for c in frame]
    return profiles, frame


def test_a_start_and_an_end_named_so_give_the_latency():
    profiles, frame = _sample(np.full(40, 1200.0), ("startTime", "endTime"))
    notes: list[str] = []
    found = computed_durations(profiles, {"ts": "startTime"}, frame, notes)
    assert found == {"latency_ms": ("startTime", "endTime")} and notes == []


def test_a_mapped_latency_column_wins():
    profiles, frame = _sample(np.full(40, 1200.0))
    assert computed_durations(profiles, {"latency_ms": "took_ms"}, frame, []) == {}


def test_ends_mostly_before_their_start_are_no_duration_and_a_note_says_so():
    gaps = np.where(np.arange(40) % 4 == 0, -500.0, 800.0)  # 25% backwards: not end times
    profiles, frame = _sample(gaps)
    notes: list[str] = []
    assert computed_durations(profiles, {"ts": "start_time"}, frame, notes) == {}
    assert notes == [
        "latency_ms not computed from start_time to end_time: 75% of sampled ends are at or "
        "after their start, median gap 800 ms; not a duration"
    ]


def test_too_few_rows_with_both_times_give_no_verdict():
    profiles, frame = _sample(np.full(10, 900.0))
    notes: list[str] = []
    assert computed_durations(profiles, {"ts": "start_time"}, frame, notes) == {}
    assert "10 sampled rows hold both times, fewer than 20" in notes[0]


def test_a_gap_of_days_is_no_request():
    profiles, frame = _sample(np.full(40, 3 * 86_400_000.0), ("created_at", "completed_at"))
    notes: list[str] = []
    assert computed_durations(profiles, {"ts": "created_at"}, frame, notes) == {}
    assert "median gap 259,200,000 ms" in notes[0]


def test_a_first_token_time_equal_to_the_end_is_no_ttft():
    """LiteLLM logs completionStartTime = endTime for calls that were not streamed."""
    start = pd.Timestamp("2026-11-02") + pd.to_timedelta(np.arange(40), unit="min")
    end = start + pd.to_timedelta(1500, unit="ms")
    frame = pd.DataFrame({"startTime": start, "completionStartTime": end, "endTime": end})
    profiles = [profile_column(ColumnInfo(c, "TIMESTAMP", "timestamp"), frame[c]) for c in frame]
    notes: list[str] = []
    found = computed_durations(profiles, {"ts": "startTime"}, frame, notes)
    assert found == {"latency_ms": ("startTime", "endTime")}
    assert "equals endTime on 100% of sampled rows (calls not streamed)" in notes[0]
