"""Secrets never leak: an hourly flow run with a Slack bot token, a judge API key and a results
store password, with Slack and the judge failing part of the time, leaves none of them in the
logs, the Prefect artifacts, any table of the results store (outbox payloads and errors
included), or any file it wrote (reports, Slack payloads)."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest
import sqlalchemy as sa
from tests.checks.evaluators.test_evaluator_stage import EVALUATORS, JUDGE, _frame
from tests.conftest import PROFILES_YAML, T0, text_monitor_yaml, write_table
from tests.fake_openai import Scripted, fake_openai_server
from tests.fakes import fake_slack_server
from tests.fixtures.fake_secrets import FAKE_SLACK_TOKEN

pytestmark = [pytest.mark.prefect, pytest.mark.postgres]

H = timedelta(hours=1)
DB_PASSWORD = "pg-pass-never-shown-7d1e"


def _everything_in_the_store(url: str) -> str:
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    meta.reflect(engine)
    parts = []
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            parts += [repr(tuple(row)) for row in conn.execute(sa.select(table))]
    engine.dispose()
    return "\n".join(parts)


def _artifacts() -> str:
    from prefect.client.orchestration import get_client

    async def read():
        async with get_client() as client:
            return await client.read_artifacts()

    return "\n".join(f"{a.key} {a.description} {a.data}" for a in asyncio.run(read()))


def test_no_secret_in_logs_artifacts_store_or_files(
    tmp_path, monkeypatch, caplog, capfd, pg_database, prefect_api
):
    from lookout.flows.hourly import hourly

    store_url = sa.engine.make_url(pg_database).set(password=DB_PASSWORD)
    store = store_url.render_as_string(hide_password=False)
    warehouse = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    engine = sa.create_engine(warehouse)
    write_table(engine, _frame())
    engine.dispose()
    monitors = text_monitor_yaml(
        0.02, EVALUATORS.format(share=0.2, max_judgments="null", max_records="null")
    )
    (tmp_path / "monitors.yml").write_text(monitors)
    caplog.set_level(logging.DEBUG)
    with fake_slack_server() as slack, fake_openai_server() as judge:
        monkeypatch.setenv("TEST_JUDGE_KEY", judge.api_key)
        monkeypatch.setenv("TEST_SLACK_TOKEN", FAKE_SLACK_TOKEN)
        monkeypatch.setenv("TEST_SLACK_BASE_URL", slack.base_url)
        monkeypatch.setenv("TEST_STORE_URL", store)
        profiles = PROFILES_YAML.format(
            warehouse=warehouse, store="{{ env_var('TEST_STORE_URL') }}", out_dir=tmp_path / "out"
        ) + JUDGE.format(base_url=judge.base_url, retries=0)
        (tmp_path / "profiles.yml").write_text(profiles)
        judge.reply(Scripted(status=401, body='{"error": {"message": "bad key"}}'))
        judge.reply(Scripted(status=500), Scripted(status=429, headers={"Retry-After": "0"}))
        slack.script = [500, 500, 500, 500]  # the first messages fail and are retried next run
        for hours in (1, 2):
            try:
                hourly(
                    as_of=T0 + hours * H + timedelta(minutes=15),
                    profiles_path=str(tmp_path / "profiles.yml"),
                    monitors_path=str(tmp_path / "monitors.yml"),
                )
            except Exception as exc:  # a failed window is fine here; its error is scanned too
                print(f"run failed: {exc}")
        secrets = {FAKE_SLACK_TOKEN: "Slack token", judge.api_key: "judge key"}
        assert any(r.headers.get("authorization") for r in judge.requests)  # the key was used
        assert slack.posted  # and the token
    secrets[DB_PASSWORD] = "store password"
    out = capfd.readouterr()
    places = {
        "logs": caplog.text + out.out + out.err,
        "artifacts": _artifacts(),
        "results store": _everything_in_the_store(store),
        "files": "\n".join(
            p.read_text(errors="replace") for p in (tmp_path / "out").rglob("*") if p.is_file()
        ),
    }
    assert places["results store"] and places["artifacts"]
    leaks = [
        f"{what} in {where}"
        for where, text in places.items()
        for secret, what in secrets.items()
        if secret in text
    ]
    assert leaks == []
