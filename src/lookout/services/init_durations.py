"""Durations a table implies by its times, for `lookout init` (pure).

LiteLLM's spend log, Langfuse's observations and OpenTelemetry span tables log when a request
started, when its first token came and when it ended, not how long it took. When no column is
a latency, a start and an end timestamp named so (`startTime`/`endTime`, `started_at`/
`completed_at`) whose sampled differences look like durations become
`source.durations.latency_ms`, and a first-token time `ttft_ms`.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from lookout.services.init_columns import ColumnProfile
from lookout.services.init_names import normalized_name

__all__ = ["Computed", "computed_durations", "milliseconds"]

Computed = dict[str, tuple[str, str]]  # field -> (start column, end column)

_STARTS = frozenset(
    {"start_time", "started_at", "start_ts", "start_timestamp", "start", "started",
     "request_start", "request_start_time", "begin_time", "began_at", "span_start",
     "start_time_unix_nano"}
)  # fmt: skip
_ENDS = frozenset(
    {"end_time", "ended_at", "end_ts", "end_timestamp", "end", "ended", "finished_at",
     "finish_time", "completed_at", "completion_time", "completed_time", "request_end",
     "request_end_time", "stop_time", "stopped_at", "done_at", "span_end", "responded_at"}
)  # fmt: skip
_FIRST_TOKENS = frozenset(
    {"completion_start_time", "first_token_at", "first_token_time", "first_token_ts",
     "first_chunk_at", "first_chunk_time", "first_byte_at", "streaming_started_at"}
)  # fmt: skip
_MIN_PAIRS = 20  # sampled rows with both times, for a verdict
_IN_ORDER = 0.95  # share of them whose end is not before their start
_LONGEST_MEDIAN_MS = 86_400_000.0  # a median over a day is no request's duration


def milliseconds(sample: pd.DataFrame, start: str, end: str) -> pd.Series:
    """The milliseconds from `start` to `end` per sampled row (NaN where either is missing),
    as the warehouse will compute them."""
    begin = pd.to_datetime(sample[start], errors="coerce", utc=True)
    finish = pd.to_datetime(sample[end], errors="coerce", utc=True)
    return (finish - begin).dt.total_seconds() * 1000.0


def computed_durations(
    profiles: Sequence[ColumnProfile],
    mapping: dict[str, str],
    sample: pd.DataFrame,
    notes: list[str],
) -> Computed:
    """field -> (start, end) for the durations no column logs and two named times imply."""
    times = [p.name for p in profiles if p.is_time and p.info.mappable and p.name in sample]
    taken = set(mapping.values())
    named = {column: normalized_name(column) for column in times}
    starts = [c for c in times if named[c] in _STARTS]
    start = starts[0] if starts else mapping.get("ts")
    if start is None or start not in times:  # an epoch number is no time SQL subtracts
        return {}
    out: Computed = {}
    for field, words in (("latency_ms", _ENDS), ("ttft_ms", _FIRST_TOKENS)):
        if field in mapping:
            continue
        ends = [c for c in times if named[c] in words and c not in taken and c != start]
        if ends and _looks_like_durations(sample, field, start, ends[0], notes):
            out[field] = (start, ends[0])
    if "ttft_ms" in out and "latency_ms" in out and _first_token_is_the_end(sample, out, notes):
        del out["ttft_ms"]
    return out


def _first_token_is_the_end(sample: pd.DataFrame, found: Computed, notes: list[str]) -> bool:
    """LiteLLM sets `completionStartTime` to `endTime` on calls that were not streamed: there
    the "time to first token" is the whole latency. When most sampled rows are so, no TTFT."""
    first = found["ttft_ms"][1]
    gap = milliseconds(sample, first, found["latency_ms"][1]).dropna()
    same = float((gap.abs() < 1).mean()) if len(gap) else 0.0
    if same < 0.5:
        return False
    notes.append(
        f"ttft_ms not computed from {first}: it equals {found['latency_ms'][1]} on {same:.0%} "
        "of sampled rows (calls not streamed), where it would only repeat the latency"
    )
    return True


def _looks_like_durations(
    sample: pd.DataFrame, field: str, start: str, end: str, notes: list[str]
) -> bool:
    """Most sampled ends come at or after their start, and the typical gap is a request's."""
    gaps = milliseconds(sample, start, end).dropna()
    if len(gaps) < _MIN_PAIRS:
        notes.append(
            f"{field} not computed from {start} to {end}: {len(gaps)} sampled rows hold both "
            f"times, fewer than {_MIN_PAIRS}"
        )
        return False
    in_order = float((gaps >= 0).mean())
    median = float(gaps.median())
    if in_order < _IN_ORDER or median > _LONGEST_MEDIAN_MS:
        notes.append(
            f"{field} not computed from {start} to {end}: {in_order:.0%} of sampled ends are "
            f"at or after their start, median gap {median:,.0f} ms; not a duration"
        )
        return False
    return True
