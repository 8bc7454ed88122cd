"""Prefect global concurrency limits named in the profile: a warehouse limit serializes window
runs across a backfill's fan-out; a judge rate limit paces LLM judge requests (fake endpoint)."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from itertools import pairwise

import pytest
from tests.conftest import T0, duckdb_project, make_requests
from tests.fake_openai import fake_openai_server
from tests.test_pipeline import _ctx

from lookout.checks.evaluators.judge_client import JudgeClient, JudgeSettings
from lookout.config.models import PrefectLimits
from lookout.store import ResultsStore

pytestmark = pytest.mark.prefect

H = timedelta(hours=1)
MESSAGES = [{"role": "user", "content": "<<<OUTPUT\nblue\nOUTPUT>>>"}]


def _limit(name: str, limit: int, decay: float | None = None) -> None:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        client.upsert_global_concurrency_limit_by_name(
            name, limit=limit, slot_decay_per_second=decay
        )


def test_a_warehouse_limit_of_one_runs_windows_one_at_a_time(tmp_path, prefect_api):
    from lookout.flows.backfill import build_backfill_flow

    _limit("lookout-wh-test", 1)
    store_url = f"sqlite:///{tmp_path / 'results.sqlite'}"
    duckdb_project(tmp_path, make_requests(hours=4))
    profiles = tmp_path / "cfg" / "profiles.yml"
    profiles.write_text(profiles.read_text() + "    prefect_limits: {warehouse: lookout-wh-test}\n")
    build_backfill_flow(["bot"])(
        start=T0,
        end=T0 + 4 * H,
        monitor="bot",
        concurrency=4,
        profiles_path=str(profiles),
        monitors_path=str(tmp_path / "cfg" / "monitors.yml"),
    )
    store = ResultsStore(store_url)
    spans = sorted((r["started_at"], r["finished_at"]) for r in store.runs("bot"))
    store.dispose()
    assert len(spans) == 4
    for (_, end), (start, _) in pairwise(spans):
        assert start >= end  # never two windows inside the limit at once


def test_a_judge_rate_limit_paces_requests_across_the_client(tmp_path, prefect_api):
    from lookout.flows.tasks import limited_context

    _limit("lookout-judge-test", 1, decay=5.0)  # one slot, freed at 5 per second
    ctx = _ctx(tmp_path)
    target = ctx.config.target.model_copy(
        update={"prefect_limits": PrefectLimits(judge="lookout-judge-test")}
    )
    ctx.config = dataclasses.replace(ctx.config, target=target)
    limited_context(ctx)
    assert ctx.judge_throttle is not None

    def arrivals(throttle, latency: float) -> list[float]:
        """When each of 8 concurrent judge calls reached the server (its own clock)."""
        with fake_openai_server(latency=latency) as fake:
            settings = JudgeSettings(
                base_url=fake.base_url, model="m", api_key=fake.api_key, concurrency=8
            )
            client = JudgeClient(settings, throttle)

            async def run() -> None:
                try:
                    await asyncio.gather(*(client.judge(MESSAGES) for _ in range(8)))
                finally:
                    await client.aclose()

            asyncio.run(run())
            assert len(fake.requests) == 8
            return sorted(request.at for request in fake.requests)

    # Event times, not wall-clock budgets: a loaded machine only spreads requests further, so
    # the paced lower bound holds, and unpaced calls still overlap a 1 s answer.
    free = arrivals(None, latency=1.0)
    assert free[1] < free[0] + 1.0  # a second call went out while the first was answered
    paced = arrivals(ctx.judge_throttle, latency=0.0)
    assert paced[-1] - paced[0] >= 1.2  # 8 slots at 5 per second: 7 gaps of 0.2 s, minus slack
    ctx.close()
