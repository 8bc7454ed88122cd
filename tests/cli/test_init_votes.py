"""`lookout init` on a table whose feedback is logged in a table of its own: it finds the
votes' table beside the records (named like votes, a column naming the records' id, a vote, a
time), proposes it as `source.feedback_table` only when most of its newest votes name records
of the table, and the windows it then runs count the votes in the hour they are given."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from tests.cli.init_files import check_and_run
from tests.conftest import write_table
from tests.fixtures.init_tables import END, requests_frame
from typer.testing import CliRunner

from lookout.cli import app
from lookout.config.loader import load_monitors
from lookout.store import ResultsStore
from lookout.windows import Window


def _votes(frame: pd.DataFrame, seed: int = 5) -> pd.DataFrame:
    """A vote on a fifth of the records, 1-180 minutes after the answer; a third negative.
    The voter's tenant is logged too, in a column named as one of the records'."""
    rng = np.random.default_rng(seed)
    rated = frame[rng.random(len(frame)) < 0.2]
    delay = pd.to_timedelta(rng.uniform(60, 180 * 60, len(rated)).round(), unit="s")
    return pd.DataFrame(
        {
            "id": np.arange(len(rated)),
            "tenant_id": rated["tenant_id"].to_numpy(),  # shared too: not what a vote rates
            "req_uuid": rated["req_uuid"].to_numpy(),
            "rating": rng.choice(["up", "down"], len(rated), p=[2 / 3, 1 / 3]),
            "created_at": (rated["created"] + delay).astype("datetime64[us]").to_numpy(),
        }
    )


def _init(tmp_path: Path, url: str) -> tuple[Path, str]:
    cfg = tmp_path / "cfg"
    args = ["init", "--table", "requests", "--warehouse-url", url, "--yes"]
    args += ["--profiles", str(cfg / "profiles.yml"), "--monitors", str(cfg / "monitors.yml")]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return cfg, result.output


@pytest.mark.parametrize(
    "engine_name", ["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_init_finds_the_votes_table_and_the_windows_count_its_votes(engine_name, tmp_path, request):
    frame = requests_frame().drop(columns=["thumbs"])
    votes = _votes(frame)
    if engine_name == "duckdb":
        url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    else:
        url = request.getfixturevalue("pg_database")
    engine = sa.create_engine(url)
    write_table(engine, frame, table="requests")
    write_table(engine, votes, table="message_feedback")
    engine.dispose()

    cfg, said = _init(tmp_path, url)
    monitor = load_monitors(cfg / "monitors.yml").monitors[0]
    table = monitor.source.feedback_table
    assert table is not None
    assert (table.table, table.record_id, table.value, table.ts) == (
        "message_feedback",
        "req_uuid",
        "rating",
        "created_at",
    )
    assert monitor.source.negative_feedback == ["down"]
    assert "negative_feedback_rate" in [r.metric for r in monitor.rules]
    assert "the votes of table message_feedback (rating)" in " ".join(said.split())

    first = END - timedelta(hours=6)
    size = monitor.window.size
    windows = [
        Window(first + k * size, first + (k + 1) * size)
        for k in range(6 * 3600 // int(size.total_seconds()))
    ]
    config = check_and_run(cfg, windows)
    store = ResultsStore(config.target.store.url.get_secret_value())
    try:
        stored = [
            r
            for r in store.metrics(monitor.name, metric="negative_feedback_rate")
            if r["cohort"] == "*"
        ]
    finally:
        store.dispose()
    given = votes[votes["created_at"] >= first.replace(tzinfo=None)]
    given = given[given["created_at"] < END.replace(tzinfo=None)]
    assert sum(r["n"] for r in stored) == len(given)
    assert round(sum(r["value"] * r["n"] for r in stored)) == (given["rating"] == "down").sum()


def test_a_table_named_like_votes_whose_ids_name_other_records_is_not_proposed(tmp_path):
    """`scores` shares the id column's name, but its ids are some other table's: the names
    alone would pair them."""
    frame = requests_frame().drop(columns=["thumbs"])
    votes = _votes(frame).assign(req_uuid=lambda v: [f"other-{i}" for i in range(len(v))])
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    engine = sa.create_engine(url)
    write_table(engine, frame, table="requests")
    write_table(engine, votes, table="scores")
    engine.dispose()
    cfg, _ = _init(tmp_path, url)
    monitor = load_monitors(cfg / "monitors.yml").monitors[0]
    assert monitor.source.feedback_table is None
    assert "negative_feedback_rate" not in [r.metric for r in monitor.rules]
