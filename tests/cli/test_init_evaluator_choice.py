"""`lookout init` on a RAG log whose context column holds JSON lists of document ids (the
trial's MariaDB `llm_calls`): the groundedness check cannot work on it, so init leaves the
check and its rule out and says what to map instead, and the files it writes still load and
check against the table."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from tests.conftest import write_table
from typer.testing import CliRunner

from lookout.cli import app
from lookout.config.loader import load_monitors

_TOPICS = ("billing", "audit log", "invoices", "single sign-on")


def _rag_calls(n: int = 1500) -> pd.DataFrame:
    topic = [_TOPICS[i % 4] for i in range(n)]
    return pd.DataFrame(
        {
            "call_uuid": [f"c-{i:06d}" for i in range(n)],
            "created": pd.date_range("2026-11-24", periods=n, freq="90s").astype("datetime64[us]"),
            "question": [f"How do I configure {t} for my workspace? ({i})" for i, t in
                         enumerate(topic)],
            "answer": [f"To configure {t}, open Settings and follow the steps. See doc-{i % 97}."
                       for i, t in enumerate(topic)],
            "sources": [f'["kb/{t.replace(" ", "-")}/{i % 60}", "kb/{t.replace(" ", "-")}/{i % 7}"]'
                        for i, t in enumerate(topic)],
        }
    )  # fmt: skip


@pytest.fixture
def rag_calls(request, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(URL, --table) of _rag_calls() with `sources` as JSON, on DuckDB or MariaDB."""
    if request.param == "mysql":
        url = request.getfixturevalue("mysql_database")
    else:
        url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    engine = sa.create_engine(url)
    write_table(engine, _rag_calls(), table="llm_calls")
    with engine.begin() as conn:
        if request.param == "mysql":
            conn.exec_driver_sql("ALTER TABLE llm_calls MODIFY sources JSON")
        else:
            conn.exec_driver_sql("ALTER TABLE llm_calls ALTER COLUMN sources TYPE JSON")
    engine.dispose()
    yield url, "llm_calls"


@pytest.mark.parametrize(
    "rag_calls", ["duckdb", pytest.param("mysql", marks=pytest.mark.mysql)], indirect=True
)
def test_groundedness_on_a_context_of_document_ids_is_left_out_with_what_to_map(
    tmp_path, rag_calls
):
    url, table = rag_calls
    profiles, monitors = tmp_path / "cfg" / "profiles.yml", tmp_path / "cfg" / "monitors.yml"
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["init", "--table", table, "--warehouse-url", url, "--yes",
         "--profiles", str(profiles), "--monitors", str(monitors)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    monitor = load_monitors(monitors).monitors[0]
    assert monitor.source.columns["context"] == "sources"
    assert [c.name for c in monitor.evaluators.checks] == ["pii", "refusal"]
    assert "eval.groundedness" not in {r.metric for r in monitor.rules}
    assert "eval.pii" in {r.metric for r in monitor.rules}  # the checks that work stay
    output = " ".join(result.output.split())
    assert "note: no groundedness check (nor its rule): sources (context) holds no passages" in (
        output
    )
    assert "map as context a column, or a view, with the text of the retrieved passages" in output
    text = monitors.read_text()
    assert "# - {name: groundedness}" in text
    check = runner.invoke(
        app,
        ["validate-config", "--check-warehouse", "--profiles", str(profiles),
         "--monitors", str(monitors)],
    )  # fmt: skip
    assert check.exit_code == 0, check.output
