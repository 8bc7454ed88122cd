"""`lookout init` on an event time logged as a Unix epoch integer: the unit is read from the
values' magnitude (2000-2099 in exactly one of s, ms, us), only for a column named like a time
and only when no timestamp column is the event time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from lookout.services.init import Proposal, Traffic, propose
from lookout.services.init_columns import ColumnInfo

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _propose(frame: pd.DataFrame) -> Proposal:
    kinds = {"i": "integer", "f": "number", "M": "timestamp"}
    columns = [ColumnInfo(c, "T", kinds.get(frame[c].dtype.kind, "text")) for c in frame]  # type: ignore[arg-type]
    traffic = Traffic(100.0, NOW, len(frame), len(frame), "test", timedelta(days=1))
    return propose(columns, frame, traffic, table="t")


def _log(time_column: str, values: np.ndarray) -> pd.DataFrame:
    rng = np.random.default_rng(2)
    n = len(values)
    return pd.DataFrame(
        {
            "request_id": [f"r{i:05d}" for i in range(n)],
            time_column: values,
            "model": rng.choice(["gpt-4o", "gpt-4o-mini"], n),
            "latency_ms": rng.lognormal(6.5, 0.4, n).round(1),
            "status": rng.choice(["ok", "error"], n, p=[0.95, 0.05]),
        }
    )


def _epochs(per_second: int, n: int = 400) -> np.ndarray:
    start = int((NOW - timedelta(days=1)).timestamp())
    seconds = np.sort(np.random.default_rng(1).uniform(start, start + 86_400, n))
    return (seconds * per_second).astype(np.int64)


@pytest.mark.parametrize(
    ("name", "per_second", "unit"),
    [("created_at", 1000, "epoch_ms"), ("timestamp", 1, "epoch_s"),
     ("event_time_us", 10**6, "epoch_us"), ("startTime", 1000, "epoch_ms")],
)  # fmt: skip
def test_an_integer_named_like_a_time_is_the_event_time_in_the_unit_its_magnitude_says(
    name, per_second, unit
):
    proposal = _propose(_log(name, _epochs(per_second)))
    assert proposal.columns["ts"] == name
    assert proposal.units == {"ts": unit}
    assert not proposal.missing
    assert any(f"the event time {name} is an integer of" in note for note in proposal.notes)
    assert proposal.grace == timedelta(minutes=15)  # the sample's times read as times


def test_no_epoch_is_guessed_from_a_name_that_is_no_time_or_values_out_of_the_years():
    """An id of the same magnitude, times before 2000 and a mix of units are no event time."""
    proposal = _propose(_log("sequence_no", _epochs(1000)))
    assert "ts" not in proposal.columns and "ts" in proposal.missing
    early = _epochs(1000) - 30 * 365 * 86_400_000  # 1996
    assert "ts" not in _propose(_log("created_at", early)).columns
    mixed = _epochs(1000)
    mixed[:10] //= 1000  # some rows in seconds
    assert "ts" not in _propose(_log("created_at", mixed)).columns


def test_a_timestamp_column_stays_the_event_time_beside_an_epoch_integer():
    frame = _log("created_at", _epochs(1000))
    frame["event_time"] = pd.to_datetime(frame["created_at"], unit="ms")
    proposal = _propose(frame)
    assert proposal.columns["ts"] == "event_time" and "ts" not in proposal.units


def test_an_epoch_event_time_wins_over_a_timestamp_that_is_an_ingestion_time():
    """`created_at` BIGINT in epoch ms beside `inserted_at` TIMESTAMP (when the loader wrote
    the row): windows are cut on the event time, the load time is the ingestion time. Before,
    the only timestamp was promoted to the event time and the epoch never looked at."""
    from lookout.services.init_columns import profile_column
    from lookout.services.init_mapping import choose_time_column

    frame = _log("created_at", _epochs(1000))
    frame["inserted_at"] = pd.to_datetime(frame["created_at"], unit="ms") + pd.Timedelta("3min")
    proposal = _propose(frame)
    assert proposal.columns["ts"] == "created_at" and proposal.units == {"ts": "epoch_ms"}
    assert proposal.columns["ingested_at"] == "inserted_at"
    # the table read (init_table) picks the same column and unit for its sampled day
    kinds = {"i": "integer", "f": "number", "M": "timestamp"}
    profiles = [
        profile_column(ColumnInfo(c, "T", kinds.get(frame[c].dtype.kind, "text")), frame[c])  # type: ignore[arg-type]
        for c in frame
    ]
    assert choose_time_column(profiles) == ("created_at", "epoch_ms")
    # without the epoch column the timestamp is the event time, as before
    only = _propose(frame.drop(columns=["created_at"]))
    assert only.columns["ts"] == "inserted_at" and "ingested_at" not in only.columns
