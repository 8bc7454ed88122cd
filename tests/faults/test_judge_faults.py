"""The LLM judge endpoint failing during a real hourly flow run (Prefect API, real judge client
against the fake OpenAI-compatible server on 127.0.0.1): the run completes, the window and the
watermark are stored, the judge's failure is an error (never a fail) and pages its owner; a
backfill of the window after the endpoint recovers stores what a run that never saw the fault
stores."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.checks.evaluators.test_evaluator_stage import EVALUATORS, JUDGE, _frame
from tests.conftest import PROFILES_YAML, T0, text_monitor_yaml, write_table
from tests.fake_openai import FakeOpenAI, Scripted, fake_openai_server

from lookout.store import ResultsStore

pytestmark = pytest.mark.prefect

H = timedelta(hours=1)
FAULTS = {
    "HTTP 500": lambda: Scripted(status=500),
    "HTTP 429": lambda: Scripted(status=429, headers={"Retry-After": "0"}),
    "garbage JSON": lambda: Scripted(body="{not json"),
    "a verdict that is not one": lambda: Scripted(content="PASS, trust me"),
}


def _project(directory: Path, fake: FakeOpenAI) -> dict[str, str]:
    directory.mkdir(parents=True)
    warehouse = f"duckdb:///{directory / 'wh.duckdb'}"
    engine = sa.create_engine(warehouse)
    write_table(engine, _frame())
    engine.dispose()
    (directory / "monitors.yml").write_text(
        text_monitor_yaml(
            0.9, EVALUATORS.format(share=0.1, max_judgments="null", max_records="null")
        )
    )
    (directory / "profiles.yml").write_text(
        PROFILES_YAML.format(
            warehouse=warehouse,
            store=f"sqlite:///{directory / 'results.sqlite'}",
            out_dir=directory / "out",
        )
        + JUDGE.format(base_url=fake.base_url, retries=0)
    )
    return {
        "profiles_path": str(directory / "profiles.yml"),
        "monitors_path": str(directory / "monitors.yml"),
    }


def _judge_results(directory: Path) -> tuple[list, list]:
    store = ResultsStore(f"sqlite:///{directory / 'results.sqlite'}")
    judged = sorted(
        (j["record_id"], j["status"], j["label"], j["score"])
        for j in store.judgments("bot", "judge_g")
    )
    rates = sorted(
        (m["release"], m["cohort"], m["value"], m["n"])
        for m in store.metrics("bot", metric="eval.judge_g")
    )
    store.dispose()
    return judged, rates


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_failing_judge_endpoint_does_not_fail_the_flow_and_a_rerun_heals(
    tmp_path, prefect_api, monkeypatch, fault
):
    from lookout.flows.backfill import build_backfill_flow
    from lookout.flows.hourly import hourly

    with fake_openai_server() as fake:
        monkeypatch.setenv("TEST_JUDGE_KEY", fake.api_key)
        paths = _project(tmp_path / "faulty", fake)
        fake.reply(*[FAULTS[fault]() for _ in range(2000)])
        summary = hourly(as_of=T0 + H + timedelta(minutes=20), **paths)  # completes: no raise
        [result] = summary["results"]
        assert result.status == "succeeded" and result.window.start == T0
        assert result.judge_errors > 0  # every judge_g record of the sample: an error, not a fail
        store = ResultsStore(f"sqlite:///{tmp_path / 'faulty' / 'results.sqlite'}")
        assert store.watermark("bot") == T0 + H  # the window is done; its judge errors are not
        assert store.judgments("bot", "judge_g") == []  # errors are not cached as verdicts
        assert store.metrics("bot", metric="eval.judge_g") == []  # no pass rate from errors
        paged = [a for a in store.alerts("bot") if a.rule == "judge_errors_judge_g"]
        assert paged and {a.state for a in paged} == {"firing"}
        assert api_key_absent(store, fake.api_key)
        store.dispose()

        # the endpoint recovers; a backfill of the window judges what the faulty run could not
        fake.script.clear()
        build_backfill_flow(["bot"])(start=T0, end=T0 + H, monitor="bot", force=True, **paths)
        healed = _judge_results(tmp_path / "faulty")

        clean_paths = _project(tmp_path / "clean", fake)
        hourly(as_of=T0 + H + timedelta(minutes=20), **clean_paths)
        clean = _judge_results(tmp_path / "clean")
    assert healed[0] and healed[1]
    assert healed == clean  # same verdicts and pass rates as a run that never saw the fault


def api_key_absent(store: ResultsStore, key: str) -> bool:
    """The judge's key is in no stored run error or outbox payload."""
    runs = " ".join(str(r.get("error") or "") for r in store.runs("bot"))
    payloads = " ".join(str(r.payload) for r in store.outbox())
    return key not in runs and key not in payloads
