"""Pooled quantiles from mergeable sketches: error against exact percentile_cont, and cost.

The summaries Lookout stores per window hold a DDSketch of latency, TTFT, tokens and cost; a
rule over six hours or a release comparison merges them. This measures, for realistic columns
(latency with a timeout tail, TTFT, integer token counts, cost) split into 24 hourly windows:

- the relative error of pooled p50/p95/p99 against exact `percentile_cont` (DuckDB's
  `quantile_cont` on all the rows, the baseline) for DDSketch (`ddsketch`, Lookout's choice,
  relative accuracy 0.5%) and t-digest (`fastdigest`, compression 100, when installed);
- the time to sketch the 24 windows and merge them, and to answer the three quantiles, as a
  ratio to the exact `quantile_cont` over the rows in the same run;
- the stored size of the merged sketch (Lookout keeps it zlib-compressed in JSON).

DDSketch is the choice because its buckets are a function of the value alone: the warehouse
builds it with a GROUP BY (no rows leave the database) and merges are exact; a t-digest has to
see the values in Python and its merges approximate. Target: within 1% relative everywhere.

    python benchmarks/bench_sketch.py                      # 10k, 100k, 1M rows
    python benchmarks/bench_sketch.py --sizes 10000 --json out.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from _results import row, write_json

from lookout.core.sketch import ALPHA, Sketch

QUANTILES = (0.5, 0.95, 0.99)
WINDOWS = 24


def columns(rows: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    latency = rng.lognormal(7.2, 0.6, rows)
    timeouts = rng.random(rows) < 0.003
    latency[timeouts] = rng.uniform(20_000, 30_000, timeouts.sum())
    return {
        "latency_ms": latency,
        "ttft_ms": rng.lognormal(5.8, 0.4, rows),
        "completion_tokens": rng.poisson(180, rows).astype(float),
        "cost_usd": rng.lognormal(-7.5, 0.8, rows),
    }


def exact(values: np.ndarray) -> tuple[list[float], float]:
    """percentile_cont by DuckDB over the rows (the baseline), and its seconds."""
    import duckdb

    conn = duckdb.connect()
    conn.register("v", {"x": values})
    started = time.perf_counter()
    answer = conn.execute(
        "SELECT " + ", ".join(f"quantile_cont(x, {q})" for q in QUANTILES) + " FROM v"
    ).fetchone()
    seconds = time.perf_counter() - started
    conn.close()
    return [float(a) for a in answer], seconds


def ddsketch(parts: list[np.ndarray]) -> tuple[list[float], float, int]:
    started = time.perf_counter()
    merged = Sketch()
    for part in parts:
        merged.merge(Sketch.of(part))
    answer = [merged.quantile(q) for q in QUANTILES]
    seconds = time.perf_counter() - started
    size = len(zlib.compress(json.dumps(merged.to_json()).encode()))
    return [float(a) for a in answer], seconds, size  # type: ignore[arg-type]


def tdigest(parts: list[np.ndarray]) -> tuple[list[float], float, int] | None:
    try:
        from fastdigest import TDigest
    except ImportError:
        return None
    started = time.perf_counter()
    merged = None
    for part in parts:
        digest = TDigest.from_values(part)
        merged = digest if merged is None else merged.merge(digest)
    answer = [merged.quantile(q) for q in QUANTILES]  # type: ignore[union-attr]
    seconds = time.perf_counter() - started
    return [float(a) for a in answer], seconds, len(merged.to_bytes())  # type: ignore[union-attr]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json")
    args = parser.parse_args()
    rows_out = []
    worst: dict[str, float] = {}
    print(f"DDSketch relative accuracy {ALPHA:.1%}; pooled from {WINDOWS} windows")
    print(
        f"{'rows':>9} {'column':<18} {'path':<9} {'p50 err':>8} {'p95 err':>8} {'p99 err':>8}"
        f" {'x exact':>8} {'bytes':>7}"
    )
    for size in (int(s) for s in args.sizes.split(",")):
        for name, values in columns(size, args.seed).items():
            parts = np.array_split(values, WINDOWS)
            truth, base_seconds = exact(values)
            rows_out.append(
                row(
                    f"{name} {size}",
                    "exact quantile_cont",
                    seconds=base_seconds,
                    baseline_seconds=base_seconds,
                    peak_rss_mb=None,
                    rows=size,
                    baseline=True,
                )
            )
            measured = {"ddsketch": ddsketch(parts), "t-digest": tdigest(parts)}
            for path, result in measured.items():
                if result is None:
                    continue
                answer, seconds, size_bytes = result
                errors = [abs(a - t) / abs(t) for a, t in zip(answer, truth, strict=True)]
                worst[path] = max(worst.get(path, 0.0), *errors)
                print(
                    f"{size:>9,} {name:<18} {path:<9} "
                    + " ".join(f"{e:>8.3%}" for e in errors)
                    + f" {seconds / base_seconds:>8.1f} {size_bytes:>7,}"
                )
                rows_out.append(
                    row(
                        f"{name} {size}",
                        path,
                        seconds=seconds,
                        baseline_seconds=base_seconds,
                        peak_rss_mb=None,
                        rows=size,
                        note="rel. error p50/p95/p99 "
                        + "/".join(f"{e:.3%}" for e in errors)
                        + f"; {size_bytes:,} bytes",
                    )
                )
    for path, error in worst.items():
        print(f"worst relative error, {path}: {error:.3%}")
    write_json(args.json, "bench_sketch", rows_out, worst_relative_error=worst, alpha=ALPHA)


if __name__ == "__main__":
    main()
