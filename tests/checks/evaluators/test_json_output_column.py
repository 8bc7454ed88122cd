"""json_validity on an output column the database parses (PostgreSQL JSONB): psycopg hands
the window dicts and lists, JSON by construction. The check took their str(), Python's repr
(`{'plan': 'pro'}`), and failed every answer."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from tests.conftest import PROFILES_YAML, T0, make_requests, text_monitor_yaml, write_table

from lookout.checks.evaluators.structure import JsonValidity
from lookout.config.loader import load_config
from lookout.pipeline import Context, run_window
from lookout.windows import Window

EVALUATORS = """
    drift: {enabled: true}
    evaluators:
      enabled: true
      checks:
        - {name: json_validity, sample: all}
"""


def test_a_parsed_object_or_list_is_json_and_is_checked_against_the_schema():
    schema = {"type": "object", "required": ["plan"]}
    assert JsonValidity().score({"output": {"plan": "pro"}}) == (1.0, "valid JSON")
    assert JsonValidity().score({"output": [1, 2]})[0] == 1.0
    assert JsonValidity(schema=schema).score({"output": {"plan": "pro"}})[0] == 1.0
    score, reason = JsonValidity(schema=schema).score({"output": {"tier": "pro"}})
    assert score == 0.0 and "required" in reason


@pytest.mark.postgres
def test_json_validity_passes_a_jsonb_output_column(tmp_path, pg_schema):
    url, schema = pg_schema
    frame = make_requests(hours=1, per_hour=60)
    frame["answer"] = '{"plan": "pro", "limits": [600, 1200]}'
    frame.loc[0, "answer"] = '[{"plan": "pro"}]'  # a list, handed over as one
    frame["ctx"] = "Pro allows 600 requests per minute."
    engine = sa.create_engine(url)
    write_table(engine, frame, schema=schema)
    with engine.begin() as conn:
        table = sa.Table("app_requests", sa.MetaData(), schema=schema, autoload_with=conn)
        quoted = conn.dialect.identifier_preparer.format_table(table)
        conn.execute(
            sa.text(f"ALTER TABLE {quoted} ALTER COLUMN answer TYPE JSONB USING answer::jsonb")
        )
    engine.dispose()
    monitors = text_monitor_yaml(0.9, EVALUATORS).replace(
        "      table: app_requests\n", f"      table: app_requests\n      schema: {schema}\n"
    )
    (tmp_path / "monitors.yml").write_text(monitors)
    (tmp_path / "profiles.yml").write_text(
        PROFILES_YAML.format(
            warehouse=url, store=f"sqlite:///{tmp_path / 'r.sqlite'}", out_dir=tmp_path / "out"
        )
    )
    ctx = Context.from_config(load_config(tmp_path / "profiles.yml", tmp_path / "monitors.yml"))
    try:
        result = run_window(
            ctx, ctx.config.monitors.monitors[0], Window(T0, T0 + timedelta(hours=1))
        )
        assert result.status == "succeeded", result.error
        rates = {
            (m["release"], m["cohort"]): m["value"]
            for m in ctx.store.metrics("bot", metric="eval.json_validity")
        }
    finally:
        ctx.close()
    assert rates and {rates[(r, "*")] for r in ("m1@p1", "m2@p2")} == {1.0}
