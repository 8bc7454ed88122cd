"""LLM judge throughput against a fake endpoint with a fixed latency, as a share of its capacity.

The fake OpenAI-compatible server (tests/fake_openai.py) runs in its own process and answers
every request after `--latency` seconds, so with `--concurrency` requests in flight the
endpoint can serve at most concurrency / latency requests per second (32 / 0.2 s = 160/s).
Three clients are measured in the same run, each in a fresh subprocess (so peak RSS is its
own), all at the same concurrency against the same server:

- httpx:    bare POSTs from the HTTP library the openai SDK is built on (the floor);
- openai:   bare `chat.completions.create` calls through the SDK (its own overhead);
- LLMJudge: the groundedness judge evaluating `--records` records end to end (prompt rendering,
            structured output, parsing, cost, Judgment objects).

    python benchmarks/bench_judges.py                  # 5,000 records, 200 ms, concurrency 32
    python benchmarks/bench_judges.py --records 1000 --latency 0.05
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CONTEXT = (
    "Acme Cloud API keys can be rotated from the console under Settings > Keys. "
    "A rotated key stays valid for 24 hours so deployments can switch without downtime. "
) * 12


def records(n: int) -> list[dict[str, Any]]:
    return [
        {
            "record_id": f"req_{i:07d}",
            "input": f"How do I rotate my API key without downtime? (ticket {i})",
            "output": "A rotated key stays valid for 24 hours"
            if i % 3
            else "Keys never expire, so there is no need to rotate them.",
            "context": CONTEXT,
        }
        for i in range(n)
    ]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _start_server(latency: float) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_openai", "--latency", str(latency)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    base_url = proc.stdout.readline().strip()
    if not base_url.startswith("http://127.0.0.1:"):
        proc.kill()
        raise SystemExit(f"fake server did not start (got {base_url!r})")
    return proc, base_url


# --------------------------------------------------------------------------- one measurement


def _settings(base_url: str, concurrency: int) -> Any:
    from tests.fake_openai import FAKE_JUDGE_KEY

    from lookout.checks.evaluators.judge_client import JudgeSettings, ModelPrice

    return JudgeSettings(
        base_url=base_url,
        model="fake-judge",
        api_key=FAKE_JUDGE_KEY,
        concurrency=concurrency,
        timeout_s=30.0,
        max_retries=2,
        prices={"fake-judge": ModelPrice(0.15, 0.60)},
    )


async def _pool(n: int, concurrency: int, one: Any) -> None:
    queue = iter(range(n))

    async def worker() -> None:
        for i in queue:
            await one(i)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


def measure(mode: str, base_url: str, n: int, concurrency: int) -> dict[str, Any]:
    import openai

    from lookout.checks.evaluators.judge_client import pool_limits
    from lookout.checks.evaluators.llm_judge import LLMJudge

    settings = _settings(base_url, concurrency)
    judge = LLMJudge("groundedness", settings)
    batch = records(n)
    messages = judge.messages(batch[0])
    body = {"model": "fake-judge", "messages": messages, "temperature": 0.0, "max_tokens": 512}
    headers = {"Authorization": f"Bearer {settings.api_key}"}
    extra: dict[str, Any] = {}

    if mode == "httpx":
        httpx_module = sys.modules[type(pool_limits(concurrency)).__module__.split(".")[0]]

        async def run() -> None:
            async with httpx_module.AsyncClient(
                limits=pool_limits(concurrency), timeout=30.0
            ) as client:

                async def one(_: int) -> None:
                    response = await client.post(
                        f"{base_url}/chat/completions", json=body, headers=headers
                    )
                    response.raise_for_status()
                    response.json()

                await _pool(n, concurrency, one)

    elif mode == "openai":

        async def run() -> None:
            async with openai.AsyncOpenAI(
                base_url=base_url,
                api_key=settings.api_key,
                max_retries=2,
                http_client=openai.DefaultAsyncHttpxClient(limits=pool_limits(concurrency)),
            ) as client:

                async def one(_: int) -> None:
                    await client.chat.completions.create(**body)

                await _pool(n, concurrency, one)

    elif mode == "judge":

        def run_judge() -> None:
            judgments = judge.evaluate(batch)  # sync: runs its own event loop
            statuses = [j.status for j in judgments]
            extra["judged"] = statuses.count("judged")
            extra["errors"] = statuses.count("error")
            extra["passed"] = sum(j.label == "pass" for j in judgments)
            extra["cost_usd"] = round(sum(j.cost_usd for j in judgments), 4)

    else:
        raise SystemExit(f"unknown mode {mode}")

    rss_before = _peak_rss_mb()  # imports (lookout pulls in pandas & co) and the records
    cpu_before = _cpu_s()
    started = time.perf_counter()
    if mode == "judge":
        run_judge()
    else:
        asyncio.run(run())
    elapsed = time.perf_counter() - started
    cpu = _cpu_s() - cpu_before
    return {
        "mode": mode,
        "requests": n,
        "seconds": round(elapsed, 2),
        "req_per_s": round(n / elapsed, 1),
        "client_cpu_ms_per_req": round(cpu * 1000 / n, 2),
        "rss_before_mb": round(rss_before, 1),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        **extra,
    }


# --------------------------------------------------------------------------- driver


def _write_json(args: argparse.Namespace, rows: list[dict[str, Any]], capacity: float) -> None:
    """For run_all.py: the baseline is the endpoint's capacity (records / capacity seconds)."""
    from benchmarks._results import row, write_json

    ideal = args.records / capacity
    group = (
        f"judges, {args.records:,} records ({args.concurrency} in flight, "
        f"{args.latency * 1000:g} ms each: {capacity:g} req/s)"
    )
    out = [
        row(
            group,
            "endpoint capacity",
            seconds=ideal,
            baseline_seconds=ideal,
            peak_rss_mb=None,
            rows=args.records,
            baseline=True,
        )
    ]
    for r in rows:
        out.append(
            row(
                group,
                {"judge": "LLMJudge"}.get(r["mode"], r["mode"]),
                rows=args.records,
                seconds=r["seconds"],
                baseline_seconds=ideal,
                peak_rss_mb=r["peak_rss_mb"],
                note=f"{r['share_of_capacity']:.1%} of capacity, "
                f"{r['client_cpu_ms_per_req']:.2f} CPU ms per request",
            )
        )
    write_json(args.json, "bench_judges", out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per request")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--modes", default="httpx,openai,judge")
    parser.add_argument("--json", help="write the results here (for run_all.py)")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # internal: one measurement
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))

    if args.measure:
        result = measure(args.measure, args.base_url, args.records, args.concurrency)
        print(json.dumps(result))
        return

    capacity = args.concurrency / args.latency
    server, base_url = _start_server(args.latency)
    rows = []
    try:
        for mode in args.modes.split(","):
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--measure",
                    mode,
                    "--base-url",
                    base_url,
                    "--records",
                    str(args.records),
                    "--concurrency",
                    str(args.concurrency),
                ],
                check=True,
                capture_output=True,
                text=True,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
            row = json.loads(out.stdout.strip().splitlines()[-1])
            row["share_of_capacity"] = round(row["req_per_s"] / capacity, 3)
            rows.append(row)
            print(json.dumps(row), flush=True)
    finally:
        server.terminate()
        server.wait(timeout=10)

    print(
        f"\nendpoint capacity: {args.concurrency} in flight / {args.latency:g} s = "
        f"{capacity:g} req/s   ({platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs)"
    )
    print(
        f"{'client':<8}{'req/s':>8}{'capacity':>10}{'seconds':>9}{'cpu ms/req':>12}"
        f"{'RSS before':>12}{'peak RSS':>10}{'growth':>8}  (MB)"
    )
    for row in rows:
        growth = row["peak_rss_mb"] - row["rss_before_mb"]
        print(
            f"{row['mode']:<8}{row['req_per_s']:>8.1f}{row['share_of_capacity']:>10.1%}"
            f"{row['seconds']:>9.1f}{row['client_cpu_ms_per_req']:>12.2f}"
            f"{row['rss_before_mb']:>12.1f}{row['peak_rss_mb']:>10.1f}{growth:>8.1f}"
        )
    _write_json(args, rows, capacity)
    judge = next((r for r in rows if r["mode"] == "judge"), None)
    if judge is not None:
        verdict = "OK" if judge["share_of_capacity"] >= 0.9 else "BELOW TARGET"
        print(f"LLMJudge: {judge['share_of_capacity']:.1%} of capacity (target >= 90%): {verdict}")


if __name__ == "__main__":
    main()
