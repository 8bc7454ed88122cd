"""The arithmetic and tables of benchmarks/run_all.py (RESULTS.md is quoted in release notes)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from _results import row
from bench_hourly import _exponent
from run_all import growth_table, merge, render, results_table


def test_exponent_of_growth() -> None:
    assert _exponent((1_000, 1.0), (10_000, 10.0)) == pytest.approx(1.0)
    assert _exponent((10_000, 2.0), (1_000_000, 20.0)) == pytest.approx(0.5)
    assert _exponent((1_000, 0.0), (10_000, 5.0)) is None  # no growth to speak of


def test_ratios_are_to_the_groups_own_baseline_listed_first() -> None:
    rows = [
        row("g1", "fast", seconds=2.0, baseline_seconds=4.0, peak_rss_mb=100, rows=10),
        row("g1", "base", seconds=4.0, baseline_seconds=4.0, peak_rss_mb=90, baseline=True),
        row("g2", "base", seconds=1.0, baseline_seconds=1.0, peak_rss_mb=None, baseline=True),
        row("g2", "slow", seconds=3.0, baseline_seconds=1.0, peak_rss_mb=50, note="a | b"),
    ]
    lines = results_table([{"benchmark": "bench_x", "rows": rows}])
    body = lines[2:]
    assert [line.split(" | ")[2] for line in body] == [
        "**base** (baseline)",
        "fast",
        "**base** (baseline)",
        "slow",
    ]
    assert "| 0.50x |" in body[1] and "| 3.00x |" in body[3]
    assert "| - |" in body[2]  # no peak RSS measured
    assert body[3].endswith("| a \\| b |")  # a pipe in a note does not split the row


def test_growth_table_and_the_page() -> None:
    growth = [
        {"rows": 10_000, "seconds": 5.0, "peak_rss_mb": 600.0, "work_mb": 300.0, "stages": {}},
        {
            "rows": 100_000,
            "seconds": 20.0,
            "peak_rss_mb": 700.0,
            "work_mb": 400.0,
            "time_exponent": 0.60206,
            "memory_exponent": 0.1249,
            "stages": {"validate": 3.0, "reports": 1.0},
        },
    ]
    lines = growth_table(growth)
    assert lines[2].startswith("| 10,000 | 5.00 | - |")
    assert lines[3] == "| 100,000 | 20.00 | 0.60 | 700 | 400 | 0.12 | validate 75%, reports 25% |"
    page = render(
        [{"benchmark": "bench_hourly", "rows": [], "growth": growth}],
        ["drift: exited 1"],
        info={"cpu": "cpu", "cores": 2, "memory_gib": 24, "python": "3.11", "system": "Linux"},
        commit="abc1234",
        started=datetime(2026, 11, 26, tzinfo=UTC),
        minutes=3,
        command="python benchmarks/run_all.py",
    )
    assert "commit `abc1234`" in page and "2 cores, 24 GiB" in page
    assert "### Cost growth" in page and "- drift: exited 1" in page


def test_a_partial_run_replaces_its_steps_and_keeps_the_others_in_order() -> None:
    previous = [
        {"step": "hourly", "benchmark": "bench_hourly", "rows": [], "commit": "old"},
        {"step": "judges", "benchmark": "bench_judges", "rows": [], "commit": "old"},
    ]
    fresh = [{"step": "hourly", "benchmark": "bench_hourly", "rows": [], "commit": "new"}]
    merged = merge(previous, fresh)
    assert [(r["step"], r["commit"]) for r in merged] == [("hourly", "new"), ("judges", "old")]
    fresh = [{"step": "window", "benchmark": "bench_window", "rows": [], "commit": "new"}]
    assert [r["step"] for r in merge(previous, fresh)] == ["hourly", "window", "judges"]
