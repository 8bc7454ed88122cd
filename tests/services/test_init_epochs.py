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
from lookout.services.init_mapping import choose_time_column

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


def _profiles(frame: pd.DataFrame) -> list:
    from lookout.services.init_columns import profile_column

    kinds = {"i": "integer", "f": "number", "M": "timestamp"}
    return [
        profile_column(ColumnInfo(c, "T", kinds.get(frame[c].dtype.kind, "text")), frame[c])  # type: ignore[arg-type]
        for c in frame
    ]


@pytest.mark.parametrize(
    ("event", "ingestion", "per_second", "unit"),
    [("created_at_ms", "inserted_at_ms", 1000, "epoch_ms"),
     ("created_at_ms", "ingested_at", 1, "epoch_s"),
     ("ts", "loaded_at_us", 10**6, "epoch_us")],
)  # fmt: skip
def test_an_integer_named_like_an_ingestion_time_is_ingested_at_in_its_unit(
    event, ingestion, per_second, unit
):
    """`created_at_ms` and `inserted_at_ms` BIGINT: the event time is `ts`, the load time is
    `ingested_at`, each with the unit its own magnitude says; the grace is sized on the lag
    between the two read as times (40 minutes here). Before, the ingestion integer was turned
    down as no timestamp and the monitor had no ingestion time (no late rows, no quarantine)."""
    frame = _log(event, _epochs(1000))
    frame[ingestion] = (frame[event] + 40 * 60_000) * per_second // 1000
    proposal = _propose(frame)
    assert proposal.columns["ts"] == event
    assert proposal.columns["ingested_at"] == ingestion
    assert proposal.units == {"ts": "epoch_ms", "ingested_at": unit}
    assert proposal.grace == timedelta(minutes=40)
    role = next(r for r in proposal.roles if r.column == ingestion)
    assert role.role == "ingested_at" and "named like the ingestion time" in role.reason
    assert any(f"the ingestion time {ingestion} is an integer of" in n for n in proposal.notes)
    assert choose_time_column(_profiles(frame)) == (event, "epoch_ms")


def test_an_epoch_ingestion_time_beside_a_timestamp_event_time_keeps_only_its_own_unit():
    frame = _log("created_at", _epochs(1000))
    frame["loaded_at_ms"] = frame["created_at"] + 60_000
    frame["created_at"] = pd.to_datetime(frame["created_at"], unit="ms")
    proposal = _propose(frame)
    assert proposal.columns["ts"] == "created_at" and proposal.columns["ingested_at"] == (
        "loaded_at_ms"
    )
    assert proposal.units == {"ingested_at": "epoch_ms"}


def test_an_epoch_ingestion_time_is_never_the_event_time_when_another_time_is():
    """A timestamp ingestion time stays the ingestion time beside an epoch one (none of the
    two is an event time: the timestamp is promoted, as before); an epoch ingestion time is
    the event time only when the table has no other time, with a note that says so."""
    frame = _log("inserted_at_ms", _epochs(1000))
    frame["received_at"] = pd.to_datetime(frame["inserted_at_ms"], unit="ms")
    assert choose_time_column(_profiles(frame)) == ("received_at", None)
    assert _propose(frame).columns["ts"] == "received_at"
    only = _propose(frame.drop(columns=["received_at"]))
    assert only.columns["ts"] == "inserted_at_ms" and "ingested_at" not in only.columns
    assert only.units == {"ts": "epoch_ms"} and not only.missing
    assert any("used as the event time" in n for n in only.notes)
    assert choose_time_column(_profiles(frame.drop(columns=["received_at"]))) == (
        "inserted_at_ms",
        "epoch_ms",
    )
    # an integer of an ingestion name out of the years, or of mixed units, is no epoch
    early = _log("created_at_ms", _epochs(1000))
    early["inserted_at_ms"] = early["created_at_ms"] - 30 * 365 * 86_400_000
    assert "ingested_at" not in _propose(early).columns
