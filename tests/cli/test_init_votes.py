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
from tests.conftest import write_tables
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


def _init(tmp_path: Path, url: str, table: str = "requests") -> tuple[Path, str]:
    cfg = tmp_path / "cfg"
    args = ["init", "--table", table, "--warehouse-url", url, "--yes"]
    args += ["--profiles", str(cfg / "profiles.yml"), "--monitors", str(cfg / "monitors.yml")]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return cfg, result.output


def _last_hours_feedback(cfg: Path, monitor, hours: int = 6) -> tuple:
    """Check the written files and run the last `hours` of the data through them; (their
    start, the stored feedback rates of the whole release, a row a window)."""
    first = END - timedelta(hours=hours)
    size = monitor.window.size
    count = hours * 3600 // int(size.total_seconds())
    config = check_and_run(
        cfg, [Window(first + k * size, first + (k + 1) * size) for k in range(count)]
    )
    store = ResultsStore(config.target.store.url.get_secret_value())
    try:
        rates = store.metrics(monitor.name, metric="negative_feedback_rate")
    finally:
        store.dispose()
    return first, [r for r in rates if r["cohort"] == "*"]


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
    write_tables(url, requests=frame, message_feedback=votes)

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

    first, stored = _last_hours_feedback(cfg, monitor)
    given = votes[votes["created_at"] >= first.replace(tzinfo=None)]
    given = given[given["created_at"] < END.replace(tzinfo=None)]
    assert sum(r["n"] for r in stored) == len(given)
    assert round(sum(r["value"] * r["n"] for r in stored)) == (given["rating"] == "down").sum()


@pytest.mark.parametrize(
    ("scores", "floor"),
    [
        (lambda rng, n: rng.uniform(0, 1, n).round(3), 0.5),  # a grader's 0-1 score
        (lambda rng, n: rng.integers(1, 11, n), 5.5),  # a 1-10 rating
    ],
    ids=["0-1 scores", "1-10 ratings"],
)
def test_scores_on_a_scale_are_negative_under_its_midpoint(tmp_path, scores, floor):
    """Feedback that is no set of codes (a 0-1 grade, a 1-10 rating): init proposed no
    negative feedback and no rule ("none of its values reads as negative"); it now proposes
    `negative_feedback_below` at the scale's midpoint, and the windows count the scores
    under it."""
    frame = requests_frame().drop(columns=["thumbs"])
    votes = _votes(frame).drop(columns=["rating"])
    votes["score"] = scores(np.random.default_rng(9), len(votes))
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    write_tables(url, requests=frame, feedback_scores=votes)

    cfg, _ = _init(tmp_path, url)
    monitor = load_monitors(cfg / "monitors.yml").monitors[0]
    assert monitor.source.feedback_table is not None
    assert monitor.source.feedback_table.value == "score"
    assert monitor.source.negative_feedback_below == floor
    assert "negative_feedback_rate" in [r.metric for r in monitor.rules]

    first, stored = _last_hours_feedback(cfg, monitor)
    given = votes[votes["created_at"] >= first.replace(tzinfo=None)]
    given = given[given["created_at"] < END.replace(tzinfo=None)]
    assert sum(r["n"] for r in stored) == len(given) > 0
    assert round(sum(r["value"] * r["n"] for r in stored)) == (given["score"] < floor).sum()


def test_a_table_named_like_votes_whose_ids_name_other_records_is_not_proposed(tmp_path):
    """`scores` shares the id column's name, but its ids are some other table's: the names
    alone would pair them."""
    frame = requests_frame().drop(columns=["thumbs"])
    votes = _votes(frame).assign(req_uuid=lambda v: [f"other-{i}" for i in range(len(v))])
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    write_tables(url, requests=frame, scores=votes)
    cfg, _ = _init(tmp_path, url)
    monitor = load_monitors(cfg / "monitors.yml").monitors[0]
    assert monitor.source.feedback_table is None
    assert "negative_feedback_rate" not in [r.metric for r in monitor.rules]


def test_the_vote_names_its_message_not_the_user_both_tables_share(tmp_path):
    """`message_feedback(message_id, user_id, ...)` beside `messages(id, user_id, ...)`: the
    shared `user_id` names who voted, and every voter is a user of the messages, so the ids
    would match; the link is `message_id` -> `messages.id`."""
    frame = (
        requests_frame()
        .drop(columns=["thumbs"])
        .rename(columns={"req_uuid": "id", "tenant_id": "user_id"})
    )
    votes = _votes(frame.rename(columns={"id": "req_uuid", "user_id": "tenant_id"}))
    votes = votes.rename(columns={"tenant_id": "user_id", "req_uuid": "message_id"})
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    columns = ["id", "user_id", "message_id", "rating", "created_at"]
    write_tables(url, messages=frame, message_feedback=votes[columns])
    cfg, _ = _init(tmp_path, url, "messages")
    source = load_monitors(cfg / "monitors.yml").monitors[0].source
    assert source.columns["record_id"] == "id"
    assert source.feedback_table is not None
    assert (source.feedback_table.table, source.feedback_table.record_id) == (
        "message_feedback",
        "message_id",
    )


@pytest.mark.postgres
def test_a_table_init_may_not_read_does_not_hide_the_votes_table(pg_database, tmp_path):
    """`chat_feedback` sorts first and its owner keeps it from the monitoring role: its
    failed read aborted the shared transaction and hid `message_feedback`. Each candidate is
    read on a connection of its own."""
    import uuid

    frame = requests_frame().drop(columns=["thumbs"])
    votes = _votes(frame)
    write_tables(pg_database, requests=frame, chat_feedback=votes, message_feedback=votes)
    engine = sa.create_engine(pg_database)
    role = f"lk_reader_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE ROLE {role} LOGIN"))
        conn.execute(sa.text(f"GRANT SELECT ON requests, message_feedback TO {role}"))
    engine.dispose()
    reader = sa.engine.make_url(pg_database).set(username=role, password=None)
    try:
        cfg, _ = _init(tmp_path, reader.render_as_string(hide_password=False))
        table = load_monitors(cfg / "monitors.yml").monitors[0].source.feedback_table
        assert table is not None and table.table == "message_feedback"
    finally:
        engine = sa.create_engine(pg_database)
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP OWNED BY {role}"))
            conn.execute(sa.text(f"DROP ROLE {role}"))
        engine.dispose()


def test_init_reads_langfuse_scores_by_trace_and_name(tmp_path):
    """Langfuse's `scores`: each names a trace (a trace holds several observations), and the
    users' thumbs (`name: user-feedback`, 1 or 0) sit beside an evaluator's `accuracy`.
    init proposes `rates: trace_id` and `where: {name: user-feedback}`, and the windows
    count the users' votes only, once a trace."""
    frame = requests_frame().drop(columns=["thumbs"]).rename(columns={"req_uuid": "id"})
    frame["trace_id"] = [f"trace-{i // 3:05d}" for i in range(len(frame))]
    rng = np.random.default_rng(11)
    traces = frame.drop_duplicates("trace_id")
    rated = traces[rng.random(len(traces)) < 0.5]
    delay = pd.to_timedelta(rng.uniform(60, 90 * 60, len(rated)).round(), unit="s")
    users = pd.DataFrame(
        {
            "trace_id": rated["trace_id"].to_numpy(),
            "name": "user-feedback",
            "value": rng.choice([1.0, 0.0], len(rated), p=[0.7, 0.3]),
            "timestamp": (rated["created"] + delay).astype("datetime64[us]").to_numpy(),
        }
    )
    judged = users.assign(name="accuracy", value=0.0)
    scores = pd.concat([users, judged], ignore_index=True)
    scores.insert(0, "id", np.arange(len(scores)))
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    write_tables(url, observations=frame, scores=scores)
    cfg, _ = _init(tmp_path, url, "observations")
    monitor = load_monitors(cfg / "monitors.yml").monitors[0]
    table = monitor.source.feedback_table
    assert table is not None
    assert (table.table, table.record_id, table.value, table.ts, table.rates) == (
        "scores",
        "trace_id",
        "value",
        "timestamp",
        "trace_id",
    )
    assert table.where == {"name": ["user-feedback"]}
    assert monitor.source.negative_feedback == ["0"]  # typed for the column at run time

    first, stored = _last_hours_feedback(cfg, monitor)
    given = users[
        (users["timestamp"] >= first.replace(tzinfo=None))
        & (users["timestamp"] < END.replace(tzinfo=None))
    ]
    assert sum(r["n"] for r in stored) == len(given)
    assert round(sum(r["value"] * r["n"] for r in stored)) == (given["value"] == 0).sum()
