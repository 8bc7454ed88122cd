"""`lookout init` on an agent's turn log (a trial's `agent_turns`): a unique `turn_id` is the
record id, not the step of a trace (init found no record id and wrote nothing), `total_ms` is
the latency and `csat` the feedback."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import sqlalchemy as sa
from tests.cli.init_files import init_project
from tests.conftest import write_table
from tests.fixtures.init_tables import times_before

END = datetime(2026, 12, 4, tzinfo=UTC)


def test_init_maps_a_turn_log(tmp_path):
    rng = np.random.default_rng(9)
    n, hours = 2400, 48
    ts = times_before(END, hours, n, rng)
    frame = pd.DataFrame(
        {
            "turn_id": np.arange(10_000, 10_000 + n, dtype="int64"),
            "conversation_id": [f"c{i // 4:05d}" for i in range(n)],
            "ts": ts.astype("datetime64[us]"),
            "app_release": np.where(np.arange(n) < n // 2, "r41", "r42"),
            "channel": rng.choice(["web", "ios", "android", "api"], n),
            "outcome": rng.choice(["resolved", "handoff", "error"], n, p=[0.8, 0.18, 0.02]),
            "total_ms": rng.lognormal(7.5, 0.4, n).round().astype("int64"),
            "question": ["how do I export my invoices as a PDF file?"] * n,
            "answer": ["Open Billing, then Invoices, then choose Export as PDF."] * n,
            "csat": pd.array(
                np.where(rng.random(n) < 0.05, rng.integers(1, 6, n), -1), dtype="Int16"
            ),
        }
    )
    frame.loc[frame["csat"] == -1, "csat"] = pd.NA  # a survey on 5% of the turns
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    engine = sa.create_engine(url)
    write_table(engine, frame, table="agent_turns")
    engine.dispose()
    cfg = tmp_path / "cfg"
    _output, source = init_project(cfg, url, "agent_turns")
    assert source.columns["record_id"] == "turn_id"
    assert "step" not in source.columns
    assert source.columns["latency_ms"] == "total_ms"
    assert source.columns["feedback"] == "csat"
    assert source.columns["trace_id"] == "conversation_id"
