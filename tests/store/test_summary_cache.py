"""Decoded summary parts kept between reads: a second read of the same windows decodes nothing
and returns the same numbers, a rewritten window (new run id) is read again, a window's stage
parts merge into a new summary (the kept parts never change), and the cache stays bounded.
Through `ResultsStore.summaries` on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from lookout.core import summary as summary_module
from lookout.core.sketch import Sketch
from lookout.core.summary import Summary
from lookout.store import ResultsStore
from lookout.store.summary_cache import DecodedSummaries, slots
from lookout.store.summary_rows import replace_summaries

T0 = datetime(2026, 11, 2, tzinfo=UTC)
H = timedelta(hours=1)


def _part(n: int, seed: int) -> Summary:
    part = Summary()
    part.add("n", n)
    part.add("errors", seed)
    part.sketches["latency_ms"] = Sketch.of(np.random.default_rng(seed).lognormal(6, 0.5, n))
    return part


def _write(store: ResultsStore, hour: int, run_id: str, scale: int = 1) -> None:
    parts = {
        ("ops", "m1@p1", "*"): _part(100 * scale, hour),
        ("ops", "m1@p1", "route=faq"): _part(40 * scale, hour + 10),
        ("evaluate", "m1@p1", "*"): Summary(counts={"eval.g.random_n": 7.0 * scale}),
    }
    with store.engine.begin() as conn:
        replace_summaries(
            conn, "bot", T0 + hour * H, T0 + (hour + 1) * H, parts, ["ops", "evaluate"], run_id
        )


def _numbers(read) -> dict:
    return {
        group: [
            (start, s.windows, dict(s.counts), s.sketches["latency_ms"].quantile(0.95))
            for start, s in series
        ]
        for group, series in read.items()
    }


def _decodes(monkeypatch) -> list[int]:
    calls = [0]
    original = summary_module.Summary.from_bytes.__func__

    def counted(cls, blob):
        calls[0] += 1
        return original(cls, blob)

    monkeypatch.setattr(summary_module.Summary, "from_bytes", classmethod(counted))
    return calls


def test_a_second_read_decodes_nothing_and_equals_an_uncached_read(store, monkeypatch):
    for hour in range(3):
        _write(store, hour, f"run-{hour}")
    decodes = _decodes(monkeypatch)
    first = store.summaries("bot", T0, T0 + 3 * H)
    assert decodes[0] == 9  # three parts in each of three windows
    again = store.summaries("bot", T0, T0 + 3 * H)
    assert decodes[0] == 9
    uncached = store.summaries("bot", T0, T0 + 3 * H, cached=False)
    assert decodes[0] == 18
    assert _numbers(first) == _numbers(again) == _numbers(uncached)
    # the release's whole-traffic summary merges its ops and evaluate parts into one window
    [(_, whole)] = [item for item in first[("m1@p1", "*")] if item[0] == T0]
    assert whole.windows == 1 and whole.count("n") == 100 and whole.count("eval.g.random_n") == 7
    # merging the windows of a read (as every lookback does) leaves the kept parts alone: a
    # route's windows are single parts, the very objects the cache holds
    pooled = Summary(windows=0)
    for _, part in first[("m1@p1", "route=faq")] * 2:
        pooled.merge(part)
    assert pooled.count("n") == 6 * 40
    assert _numbers(store.summaries("bot", T0, T0 + 3 * H)) == _numbers(uncached)


def test_a_rewritten_window_is_read_again_and_only_it(store, monkeypatch):
    for hour in range(3):
        _write(store, hour, f"run-{hour}")
    store.summaries("bot", T0, T0 + 3 * H)
    _write(store, 1, "rerun-1", scale=2)  # a backfill rewrote hour 1
    decodes = _decodes(monkeypatch)
    read = store.summaries("bot", T0, T0 + 3 * H)
    assert decodes[0] == 3  # hour 1's three parts, nothing else
    counts = {start: s.count("n") for start, s in read[("m1@p1", "*")]}
    assert counts == {T0: 100, T0 + H: 200, T0 + 2 * H: 100}
    # and a read of fewer stages or cohorts takes the parts it asks for
    faq = store.summaries("bot", T0, T0 + 3 * H, stages=["ops"], cohorts=["route=faq"])
    assert list(faq) == [("m1@p1", "route=faq")] and decodes[0] == 3


def test_the_cache_keeps_at_most_its_limit_in_slots_newest_first():
    part = _part(200, 1)
    cost = slots(part)
    assert cost > part.sketches["latency_ms"].slots > 10  # the bins are what costs
    cache = DecodedSummaries(limit=2 * cost)
    keys = [("bot", T0 + i * H, "r", "*", "ops", "run") for i in range(3)]
    for key in keys:
        cache.put(key, part)
    assert len(cache) == 2 and cache.held == 2 * cost
    assert cache.get(keys[0]) is None and cache.get(keys[2]) is part
    cache.put(keys[2], part)  # the same key again replaces, it does not count twice
    assert cache.held == 2 * cost
    small = DecodedSummaries(limit=cost - 1)
    small.put(keys[0], part)  # a part over the limit is not kept
    assert len(small) == 0 and small.held == 0
