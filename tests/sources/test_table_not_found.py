"""A table in monitors.yml that is not there: the refusal (`validate-config --check-warehouse`
and every run) names what is there instead, as `lookout init` does: a typo's likely names, and
the schema that holds a table of that name with the keys that read it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from tests.conftest import MONITOR_YAML, make_requests, write_table
from tests.window_results import check_refusal, engine_url, project


def _monitors(table: str, schema: str | None = None) -> str:
    return MONITOR_YAML.format(
        table=table,
        schema_line=f"      schema: {schema}\n" if schema else "",
        pushdown="auto",
        threshold=0.9,
    )


@pytest.mark.parametrize(
    "engine_name", ["duckdb", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_a_typo_in_the_table_names_the_tables_it_might_be(engine_name, tmp_path, request):
    url = engine_url(engine_name, tmp_path, request)
    engine = sa.create_engine(url)
    try:
        write_table(engine, make_requests(hours=1, per_hour=5), table="app_requests")
    finally:
        engine.dispose()
    said = check_refusal(project(tmp_path, url, "typo", _monitors("app_reqests")))
    assert "table 'app_reqests' not found" in said
    assert "(did you mean app_requests?)" in said
    assert "holds" in said and "app_requests" in said


@pytest.mark.parametrize(
    "engine_name", ["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_a_table_in_another_schema_says_which_schema_to_set(engine_name, tmp_path, request):
    url = engine_url(engine_name, tmp_path, request)
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE SCHEMA IF NOT EXISTS llm_logs"))
        write_table(engine, make_requests(hours=1, per_hour=5), "app_requests", "llm_logs")
    finally:
        engine.dispose()
    said = check_refusal(project(tmp_path, url, "elsewhere", _monitors("app_requests")))
    assert "table 'app_requests' not found" in said
    assert "a table 'app_requests' is in schema llm_logs: set source.schema: llm_logs" in said
    wrong = check_refusal(project(tmp_path, url, "wrong", _monitors("app_requests", "llm_log")))
    assert "there is no schema 'llm_log' (did you mean llm_logs?)" in wrong
