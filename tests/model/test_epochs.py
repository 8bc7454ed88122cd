"""Unix epoch numbers and window bounds (`units: {ts: epoch_ms}`): exact integers both ways."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest

from lookout.model.record import epoch_bound, from_epoch

START = datetime(2026, 11, 2, 1, tzinfo=UTC)  # 1793581200 s


def test_bounds_are_exact_integers_rounded_to_keep_exactly_the_window():
    assert epoch_bound(START, "epoch_s") == 1_793_581_200
    assert epoch_bound(START, "epoch_ms") == 1_793_581_200_000
    assert epoch_bound(START, "epoch_us") == 1_793_581_200_000_000
    assert epoch_bound(START.replace(tzinfo=None), "epoch_ms") == 1_793_581_200_000  # naive: UTC
    later = START + timedelta(microseconds=1500)
    # ts >= 1.5 ms keeps 2 ms and on; ts > 1.5 ms keeps 2 ms and on too (down: ts > 1)
    assert epoch_bound(later, "epoch_ms") == 1_793_581_200_002
    assert epoch_bound(later, "epoch_ms", down=True) == 1_793_581_200_001
    assert epoch_bound(later, "epoch_us") == 1_793_581_200_001_500


def test_epoch_numbers_read_as_the_instants_a_timestamp_column_holds():
    ms = 1_793_581_200_123
    expected = pd.Timestamp("2026-11-02 01:00:00.123", tz="UTC")
    for values in (
        pd.Series([ms, None], dtype="Int64"),
        pd.Series([ms, None], dtype="int64[pyarrow]"),
        pd.Series([Decimal(ms), None], dtype=object),  # Snowflake NUMBER(38, 0)
        pd.Series([float(ms), float("nan")]),
    ):
        read = from_epoch(values, "epoch_ms")
        assert str(read.dtype) == "datetime64[ns, UTC]"
        assert read[0] == expected and pd.isna(read[1])
    micros = from_epoch(pd.Series([1_793_581_200_123_457]), "epoch_us")
    assert micros[0] == pd.Timestamp("2026-11-02 01:00:00.123457", tz="UTC")
    odd = from_epoch(pd.Series(["x", 10**30, 1_793_581_200], dtype=object), "epoch_s")
    assert pd.isna(odd[0]) and pd.isna(odd[1]) and odd[2] == START


def test_an_unknown_time_unit_is_refused():
    with pytest.raises(ValueError, match="unknown time unit 'epoch_ps'"):
        epoch_bound(START, "epoch_ps")
