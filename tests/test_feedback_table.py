"""Feedback logged in a table of its own (`source.feedback_table`): votes come minutes to
days after the answers they rate, so a window counts the votes given in it, under the release
and cohorts of the records they rate. The counts equal a recomputation from the two tables on
every engine; the other metrics are those of the same records with no feedback; a vote naming
no record the monitor watches is not counted; a window with votes and no record stores their
feedback only; a rule on the feedback rate pages on votes that came after their window."""

from __future__ import annotations

import uuid as uuid_module
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from tests.conftest import ALL_ENGINES, MONITOR_YAML, T0, make_requests, write_table, write_tables
from tests.window_results import check_refusal, engine_url, project, stored_by_window

from lookout.config.loader import load_config
from lookout.errors import ConfigError
from lookout.windows import Window

HOUR = timedelta(hours=1)
SECOND = Window(T0 + HOUR, T0 + 2 * HOUR)
AFTER = Window(T0 + 3 * HOUR, T0 + 4 * HOUR)  # votes only: the records end at T0 + 3h
NEGATIVE = ("thumbs_down",)
VOTES_TABLE = (
    "      feedback_table: {{table: votes, record_id: {ref}, value: rating, ts: given_at{extra}}}\n"
)


def _votes(requests: pd.DataFrame, seed: int = 3) -> pd.DataFrame:
    """A vote for each record with feedback, given 0-150 minutes after the answer (many in
    a later window), plus two naming no record."""
    rng = np.random.default_rng(seed)
    rated = requests[requests["feedback"].notna()]
    delay = pd.to_timedelta(rng.uniform(0, 150 * 60, len(rated)).round(), unit="s")
    votes = pd.DataFrame(
        {
            "vote_id": np.arange(len(rated)),
            "request_ref": rated["request_id"].to_numpy(),
            "rating": rated["feedback"].to_numpy(),
            "given_at": (rated["event_time"] + delay).astype("datetime64[us]").to_numpy(),
        }
    )
    ghosts = pd.DataFrame(
        {
            "vote_id": [len(votes), len(votes) + 1],
            "request_ref": ["nobody-1", "nobody-2"],
            "rating": ["thumbs_down", "thumbs_up"],
            "given_at": pd.to_datetime([SECOND.start + timedelta(minutes=m) for m in (5, 50)])
            .tz_localize(None)
            .astype("datetime64[us]"),
        }
    )
    return pd.concat([votes, ghosts], ignore_index=True)


def _expected(requests: pd.DataFrame, votes: pd.DataFrame, window: Window) -> dict:
    """(release, cohort) -> (negative share, votes) of the votes given in `window`, by the
    release and cohorts of the records they rate: computed here, from the two tables."""
    start, end = (t.replace(tzinfo=None) for t in (window.start, window.end))
    given = votes[(votes["given_at"] >= start) & (votes["given_at"] < end)]
    joined = given.merge(requests, left_on="request_ref", right_on="request_id")
    joined["release"] = joined["model_version"] + "@" + joined["prompt_version"]
    joined["negative"] = joined["rating"].isin(NEGATIVE)
    out = {}
    for release, part in joined.groupby("release"):
        out[(release, "*")] = (round(part["negative"].mean(), 6), len(part))
        for dimension in ("route", "region"):
            for value, group in part.groupby(dimension):
                out[(release, f"{dimension}={value}")] = (
                    round(group["negative"].mean(), 6),
                    len(group),
                )
    return out


def _monitors(table: str, *, feedback_table: str = "", where: str = "") -> str:
    text = MONITOR_YAML.format(table=table, schema_line="", pushdown="auto", threshold=0.2)
    if feedback_table:
        text = text.replace("        feedback: feedback\n", "")
    return text.replace(
        "      ok_statuses: [ok]\n", "      ok_statuses: [ok]\n" + feedback_table + where
    )


def _feedback(stored: dict) -> dict:
    return {
        (r[0], r[1]): (r[3], r[4]) for r in stored["metrics"] if r[2] == "negative_feedback_rate"
    }


def _write(url: str, requests: pd.DataFrame, votes: pd.DataFrame) -> None:
    app_requests = requests.drop(columns=["feedback"])
    write_tables(url, with_feedback=requests, app_requests=app_requests, votes=votes)


@pytest.mark.parametrize("engine_name", ALL_ENGINES)
def test_votes_count_in_the_window_they_are_given_under_their_records_release_and_cohorts(
    engine_name, tmp_path, request
):
    url = engine_url(engine_name, tmp_path, request)
    requests = make_requests()
    votes = _votes(requests)
    _write(url, requests, votes)
    in_row = stored_by_window(project(tmp_path, url, "in_row", _monitors("with_feedback")), SECOND)
    separate = _monitors(
        "app_requests", feedback_table=VOTES_TABLE.format(ref="request_ref", extra="")
    )
    stored = stored_by_window(project(tmp_path, url, "votes", separate), SECOND)

    expected = _expected(requests, votes, SECOND)
    assert _feedback(stored) == expected
    # most of the window's votes rate records of the hours before: the in-row column, read
    # with its records, counts other votes
    assert _feedback(in_row) != expected
    assert sum(n for (_, c), (_, n) in expected.items() if c == "*") > 10
    # every other metric is the records' own, untouched by where their votes are logged
    others = [r for r in in_row["metrics"] if r[2] != "negative_feedback_rate"]
    assert [r for r in stored["metrics"] if r[2] != "negative_feedback_rate"] == others

    after = stored_by_window(project(tmp_path, url, "after", separate), AFTER)
    ops = {r[2] for r in after["metrics"] if r[0] != "*"}  # health and validation say "empty"
    assert ops == {"negative_feedback_rate"}  # no record here: no request count, no latency
    assert _feedback(after) == _expected(requests, votes, AFTER)


def _numbered(requests: pd.DataFrame) -> pd.DataFrame:
    """The records with an integer id, as many tables key them."""
    return requests.assign(request_id=np.arange(len(requests), dtype="int64") + 1000)


@pytest.mark.parametrize("engine_name", ALL_ENGINES)
def test_an_integer_id_matches_votes_that_log_it_as_text(engine_name, tmp_path, request):
    """The app logs the rated id as text: both sides are compared as text (PostgreSQL will
    not compare an integer with a text column), and the counts are the same."""
    url = engine_url(engine_name, tmp_path, request)
    requests = _numbered(make_requests(hours=2, per_hour=120))
    votes = _votes(requests).assign(request_ref=lambda v: v["request_ref"].astype(str))
    _write(url, requests, votes)
    separate = _monitors(
        "app_requests", feedback_table=VOTES_TABLE.format(ref="request_ref", extra="")
    )
    stored = stored_by_window(project(tmp_path, url, "votes", separate), SECOND)
    expected = _expected(
        requests.assign(request_id=requests["request_id"].astype(str)), votes, SECOND
    )
    assert _feedback(stored) == expected
    assert expected


def test_a_vote_on_a_record_the_monitor_does_not_watch_is_logged_not_counted(tmp_path, caplog):
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    requests = make_requests()
    votes = _votes(requests)
    _write(url, requests, votes)
    text = _monitors(
        "app_requests",
        feedback_table=VOTES_TABLE.format(ref="request_ref", extra=""),
        where="      where: {region: us}\n",
    )
    with caplog.at_level("INFO", logger="lookout.pipeline"):
        stored = stored_by_window(project(tmp_path, url, "us", text), SECOND)
    expected = _expected(requests[requests["region"] == "us"], votes, SECOND)
    assert _feedback(stored) == expected
    start, end = (t.replace(tzinfo=None) for t in (SECOND.start, SECOND.end))
    given = votes[(votes["given_at"] >= start) & (votes["given_at"] < end)]
    counted = sum(n for (_, c), (_, n) in expected.items() if c == "*")
    said = [r.getMessage() for r in caplog.records if "name no record" in r.getMessage()]
    assert said == [
        f"monitor bot window {SECOND.label}: {len(given) - counted} of {len(given)} vote(s) "
        "name no record this monitor watches (another service's, left out by where, or never "
        "logged): not counted"
    ]


def test_votes_written_on_the_record_later_with_their_own_time(tmp_path):
    """No table of votes: the app writes the vote onto the record's row when it comes, with
    `feedback_at`. The records' own table is the votes' table (joined with itself)."""
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    requests = make_requests()
    votes = _votes(requests)
    rated = votes.set_index("request_ref")
    inline = requests.assign(
        feedback_at=requests["request_id"].map(rated["given_at"]).astype("datetime64[us]")
    )
    engine = sa.create_engine(url)
    write_table(engine, inline, table="app_requests")
    engine.dispose()
    table = (
        "      feedback_table: {table: app_requests, record_id: request_id, value: feedback,"
        " ts: feedback_at}\n"
    )
    stored = stored_by_window(
        project(tmp_path, url, "inline", _monitors("app_requests", feedback_table=table)), SECOND
    )
    assert _feedback(stored) == _expected(
        requests, votes[~votes["request_ref"].str.startswith("nobody")], SECOND
    )


def test_vote_times_as_epoch_milliseconds(tmp_path):
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    requests = make_requests()
    votes = _votes(requests)
    epoch = votes.assign(given_at=votes["given_at"].astype("int64") // 1000)  # us -> ms
    _write(url, requests, epoch)
    table = VOTES_TABLE.format(ref="request_ref", extra=", ts_unit: epoch_ms")
    stored = stored_by_window(
        project(tmp_path, url, "epoch", _monitors("app_requests", feedback_table=table)), SECOND
    )
    assert _feedback(stored) == _expected(requests, votes, SECOND)


def test_a_rule_pages_on_votes_that_came_after_their_records_window(tmp_path):
    """The faq answers of the first hour are disliked, and the votes come in the next hour:
    the alert opens, on each release, in the window they are given in."""

    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    requests = make_requests()
    votes = _votes(requests)
    first_hour = requests["event_time"] < (T0 + HOUR).replace(tzinfo=None)
    faq = requests.loc[first_hour & (requests["route"] == "faq"), "request_id"]
    late = pd.DataFrame(
        {
            "vote_id": np.arange(len(faq)) + 10_000,
            "request_ref": faq.to_numpy(),
            "rating": "thumbs_down",
            "given_at": pd.Timestamp((SECOND.start + timedelta(minutes=20)).replace(tzinfo=None)),
        }
    ).astype({"given_at": "datetime64[us]"})
    _write(url, requests, pd.concat([votes, late], ignore_index=True))
    rule = (
        '      - name: disliked\n        metric: negative_feedback_rate\n        op: ">"\n'
        "        threshold: 0.5\n        min_n: 10\n        for: 1\n        significance: false\n"
        "        severity: P2\n        owner: team\n        split_by: [route]\n"
    )
    text = _monitors("app_requests", feedback_table=VOTES_TABLE.format(ref="request_ref", extra=""))
    directory = project(tmp_path, url, "rule", text + rule)
    (opened,) = _hours(
        directory,
        range(3),
        "SELECT release, cohort, state, first_window_start FROM alerts WHERE rule = 'disliked'",
    )
    start = pd.Timestamp(SECOND.start.replace(tzinfo=None))
    assert sorted((r, c, s, pd.Timestamp(at).tz_localize(None)) for r, c, s, at in opened) == [
        ("m1@p1", "route=faq", "firing", start),
        ("m2@p2", "route=faq", "firing", start),
    ]


def test_the_votes_table_is_checked_against_the_warehouse(tmp_path):
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    requests = make_requests()
    votes = _votes(requests)
    _write(
        url,
        requests,
        votes.assign(
            given_at=votes["given_at"].astype("int64"), rating=votes["rating"] == "thumbs_down"
        ),
    )
    table = VOTES_TABLE.format(ref="request_ref", extra="")
    said = check_refusal(
        project(tmp_path, url, "bad", _monitors("app_requests", feedback_table=table))
    )
    assert said.splitlines() == [
        "monitors.yml: monitors[0].source.feedback_table.ts: column 'given_at' is BIGINT; the "
        "time a vote was given needs a timestamp (or, for a Unix epoch number, "
        "`ts_unit: epoch_ms`)",
        'monitors.yml: monitors[0].source.negative_feedback: none of "thumbs_down", "negative", '
        "\"-1\" (the default) can be a value of boolean column 'rating'; list its values (e.g. "
        "[false])",
    ]
    missing = table.replace("request_ref", "request").replace("table: votes", "table: votes")
    said = check_refusal(
        project(tmp_path, url, "missing", _monitors("app_requests", feedback_table=missing))
    )
    assert said.startswith(
        "monitors.yml: monitors[0].source.feedback_table.record_id: "
        "column 'request' is not in table 'votes'"
    )
    nowhere = table.replace("table: votes", "table: ratings")
    said = check_refusal(
        project(tmp_path, url, "nowhere", _monitors("app_requests", feedback_table=nowhere))
    )
    assert said.startswith("monitors.yml: monitors[0].source.feedback_table.table: warehouse ")
    assert "table 'ratings' not found" in said


def test_feedback_mapped_twice_is_a_config_error(tmp_path):
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    text = _monitors("app_requests").replace(
        "      ok_statuses: [ok]\n",
        "      ok_statuses: [ok]\n" + VOTES_TABLE.format(ref="request_ref", extra=""),
    )
    said = _config_error(project(tmp_path, url, "twice", text))
    assert (
        "monitors[0].source.feedback_table: feedback is both mapped in columns and read from "
        "its own table: keep one" in said
    )
    assert said.startswith("monitors.yml:31:7: ")  # file:line:col of the key


def _config_error(directory) -> str:
    with pytest.raises(ConfigError) as raised:
        load_config(directory / "profiles.yml", directory / "monitors.yml")
    return str(raised.value)


def _hours(directory, hours: range, *queries: str) -> list[list[tuple]]:
    """Run the project's monitor over `hours` (from T0, in order, nothing sent); what each of
    `queries` then reads from its store."""
    from lookout.pipeline import Context, run_window

    ctx = Context.from_config(load_config(directory / "profiles.yml", directory / "monitors.yml"))
    try:
        for hour in hours:
            window = Window(T0 + hour * HOUR, T0 + (hour + 1) * HOUR)
            result = run_window(ctx, ctx.config.monitors.monitors[0], window, notify=False)
            assert result.status == "succeeded", result.error
        with ctx.store.engine.connect() as conn:
            return [conn.execute(sa.text(query)).all() for query in queries]
    finally:
        ctx.close()


def test_votes_on_a_retired_release_neither_keep_its_alerts_nor_evaluate_its_traffic(tmp_path):
    """The records stop after the first hour (a release rolled back); votes on them keep
    coming for hours. The error alert opened in that hour goes stale after `stale_after` as
    without votes, and no rule but the feedback one evaluates the hours of votes alone (a
    traffic rule pooled them as windows of 0 records and paged)."""

    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    requests = make_requests(hours=1)
    requests["status"] = np.where(np.arange(len(requests)) % 2 == 0, "error", "ok")
    rng = np.random.default_rng(4)
    rated = requests.sample(n=140, random_state=4)
    votes = pd.DataFrame(
        {
            "vote_id": np.arange(len(rated)),
            "request_ref": rated["request_id"].to_numpy(),
            "rating": rng.choice(["thumbs_up", "thumbs_down"], len(rated)),
            "given_at": (  # 20 an hour in hours 1-7
                pd.Timestamp((T0 + HOUR).replace(tzinfo=None))
                + pd.to_timedelta(np.arange(len(rated)) * 180, unit="s")
            ).astype("datetime64[us]"),
        }
    )
    _write(url, requests, votes)
    traffic = (
        '      - name: quiet\n        metric: request_count\n        op: "<"\n'
        "        threshold: 80\n        min_n: 1\n        for: 1\n        severity: P2\n"
        '        owner: team\n        split_by: ["*"]\n'
    )
    text = _monitors(
        "app_requests", feedback_table=VOTES_TABLE.format(ref="request_ref", extra="")
    ).replace("monitors:\n", "alerting: {stale_after: 2h}\nmonitors:\n")
    directory = project(tmp_path, url, "retired", text + traffic)
    alerts, counted = _hours(
        directory,
        range(8),
        "SELECT rule, event, window_start FROM alert_history "
        "WHERE event IN ('open', 'stale') ORDER BY 1, 2, 3",
        "SELECT count(DISTINCT window_start) FROM metrics "
        "WHERE metric = 'negative_feedback_rate' AND cohort = '*'",
    )
    fed = counted[0][0]
    assert fed == 7  # the votes were counted, hour after hour
    assert {r[0] for r in alerts} == {"errors"}  # no traffic alert on the hours of votes
    # opened in the records' hour, stale once two hours have passed without a record
    opened = {pd.Timestamp(r[2]).tz_localize(None) for r in alerts if r[1] == "open"}
    ended = {pd.Timestamp(r[2]).tz_localize(None) for r in alerts if r[1] == "stale"}
    assert opened == {pd.Timestamp(T0.replace(tzinfo=None))}
    assert ended == {pd.Timestamp((T0 + 2 * HOUR).replace(tzinfo=None))}


@pytest.mark.mysql
def test_ids_of_two_collations_are_matched_on_mariadb(mysql_database, tmp_path):
    """A join would fail ("Illegal mix of collations") where the two tables were created
    under different defaults; the votes' ids are bound into an IN on the records' id."""
    requests = make_requests()
    votes = _votes(requests)
    _write(mysql_database, requests, votes)
    engine = sa.create_engine(mysql_database)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "ALTER TABLE app_requests MODIFY request_id VARCHAR(32) "
                "CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"
            )
        )
        conn.execute(
            sa.text(
                "ALTER TABLE votes MODIFY request_ref VARCHAR(32) "
                "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
            )
        )
    engine.dispose()
    separate = _monitors(
        "app_requests", feedback_table=VOTES_TABLE.format(ref="request_ref", extra="")
    )
    stored = stored_by_window(project(tmp_path, mysql_database, "votes", separate), SECOND)
    assert _feedback(stored) == _expected(requests, votes, SECOND)


def test_a_record_logged_twice_counts_its_vote_once(tmp_path):
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    requests = make_requests()
    votes = _votes(requests)
    retried = pd.concat([requests, requests.iloc[::3]], ignore_index=True)  # a third twice
    _write(url, retried, votes)
    separate = _monitors(
        "app_requests", feedback_table=VOTES_TABLE.format(ref="request_ref", extra="")
    )
    stored = stored_by_window(project(tmp_path, url, "twice", separate), SECOND)
    assert _feedback(stored) == _expected(requests, votes, SECOND)


def test_only_the_scores_of_where_are_votes(tmp_path):
    """A Langfuse-shaped `scores` table holds an evaluator's scores beside the users' votes,
    told apart by `name`: `where: {name: user-feedback}` counts the votes only."""
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    requests = make_requests()
    votes = _votes(requests).assign(name="user-feedback")
    judged = _votes(requests, seed=9).assign(name="accuracy", rating="thumbs_down")
    _write(url, requests, pd.concat([votes, judged], ignore_index=True))
    table = VOTES_TABLE.format(ref="request_ref", extra=", where: {name: user-feedback}")
    stored = stored_by_window(
        project(tmp_path, url, "scores", _monitors("app_requests", feedback_table=table)), SECOND
    )
    assert _feedback(stored) == _expected(requests, votes, SECOND)
    missing = VOTES_TABLE.format(ref="request_ref", extra=", where: {kind: user-feedback}")
    said = check_refusal(
        project(tmp_path, url, "kind", _monitors("app_requests", feedback_table=missing))
    )
    assert said.startswith(
        "monitors.yml: monitors[0].source.feedback_table.where.kind: column 'kind' is not in "
        "table 'votes'"
    )


def test_votes_on_traces_count_once_under_their_traces_records(tmp_path):
    """Langfuse's scores name the trace, and a trace holds several records (a generation per
    step): `rates: trace_id` matches the records' `trace_id`, and a vote counts once."""
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    requests = make_requests()
    shared = ["model_version", "prompt_version", "route", "region"]
    second = requests.index % 2 == 1  # session_id pairs rows 2k and 2k+1
    requests.loc[second, shared] = requests.loc[requests.index[second] - 1, shared].to_numpy()
    votes = _votes(requests)
    on_traces = votes.assign(
        request_ref=votes["request_ref"].map(requests.set_index("request_id")["session_id"])
    ).dropna(subset=["request_ref"])
    _write(url, requests, on_traces)
    table = VOTES_TABLE.format(ref="request_ref", extra=", rates: trace_id")
    stored = stored_by_window(
        project(tmp_path, url, "traces", _monitors("app_requests", feedback_table=table)), SECOND
    )
    first_of_trace = requests.drop_duplicates("session_id").assign(
        request_id=lambda r: r["session_id"]
    )
    assert _feedback(stored) == _expected(first_of_trace, on_traces, SECOND)


@pytest.mark.parametrize("engine_name", ALL_ENGINES[:3])
def test_a_vote_on_a_trace_counts_under_its_newest_record(engine_name, tmp_path, request):
    """A trace of two steps, a query rewrite on route `search` and then the answer on route
    `faq`: a vote on the trace is about the answer the user saw, so it counts under the
    trace's newest record, not the first the warehouse returns."""
    url = engine_url(engine_name, tmp_path, request)
    requests = make_requests()
    second = requests.index % 2 == 1  # session_id pairs rows 2k and 2k+1, 2k+1 the later
    requests["route"] = np.where(second, "faq", "search")
    shared = ["model_version", "prompt_version", "region"]
    requests.loc[second, shared] = requests.loc[requests.index[second] - 1, shared].to_numpy()
    votes = _votes(requests)
    on_traces = votes.assign(
        request_ref=votes["request_ref"].map(requests.set_index("request_id")["session_id"])
    ).dropna(subset=["request_ref"])
    _write(url, requests, on_traces)  # the rewrite first: the order a table returns rows in
    table = VOTES_TABLE.format(ref="request_ref", extra=", rates: trace_id")
    stored = stored_by_window(
        project(tmp_path, url, "traces", _monitors("app_requests", feedback_table=table)), SECOND
    )
    newest_of_trace = (
        requests.sort_values("event_time")
        .drop_duplicates("session_id", keep="last")
        .assign(request_id=lambda r: r["session_id"])
    )
    feedback = _feedback(stored)
    assert feedback == _expected(newest_of_trace, on_traces, SECOND)
    assert not any(cohort == "route=search" for _, cohort in feedback)
    assert any(cohort == "route=faq" for _, cohort in feedback)


def test_votes_on_traces_need_the_trace_id_mapped(tmp_path):
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    text = _monitors(
        "app_requests",
        feedback_table=VOTES_TABLE.format(ref="request_ref", extra=", rates: trace_id"),
    ).replace("        trace_id: session_id\n", "")
    assert (
        "monitors[0].source.feedback_table.rates: the votes name a trace_id, which is not "
        "mapped in columns" in _config_error(project(tmp_path, url, "untraced", text))
    )


ODD_REFS = ["--5", "\u00b2", "3000000000", "99999999999999999999999", "abc", ""]


@pytest.mark.parametrize("engine_name", ALL_ENGINES)
def test_ids_the_votes_spell_otherwise_match_and_ids_that_cannot_be_one_name_nothing(
    engine_name, tmp_path, request
):
    """An integer id logged by the votes as ' 1005', '01006' or '1007.0' is record 1005,
    1006, 1007; '--5', a superscript two, one beyond the column's range (PostgreSQL refuses
    `int IN (3000000000)`) or past 64 bits name no record and fail nothing."""
    url = engine_url(engine_name, tmp_path, request)
    requests = _numbered(make_requests(hours=2, per_hour=60))
    small = requests.assign(request_id=requests["request_id"].astype("int32"))
    at = pd.Timestamp((SECOND.start + timedelta(minutes=7)).replace(tzinfo=None))
    spelled = [" 1005", "01006", "1007.0", *ODD_REFS]
    votes = pd.DataFrame(
        {
            "vote_id": np.arange(len(spelled)),
            "request_ref": spelled,
            "rating": "thumbs_down",
            "given_at": at,
        }
    ).astype({"given_at": "datetime64[us]"})
    _write(url, small, votes)
    separate = _monitors(
        "app_requests", feedback_table=VOTES_TABLE.format(ref="request_ref", extra="")
    )
    stored = stored_by_window(project(tmp_path, url, "odd", separate), SECOND)
    rated = small[small["request_id"].isin([1005, 1006, 1007])]
    rated = rated.assign(request_id=rated["request_id"].astype(str))
    plain = votes.iloc[:3].assign(request_ref=["1005", "1006", "1007"])
    assert _feedback(stored) == _expected(rated, plain, SECOND)


def test_a_window_of_votes_alone_adds_no_window_to_per_window_means():
    """Its summary holds no window (stored too), so a traffic mean over a period with such
    windows (a retired release's reference period, `lookout results`) is the records'."""
    from lookout.core.summary import Summary
    from lookout.model.aggregates import GroupAggregates, votes_only

    records = GroupAggregates("m1@p1", "*", 100, feedback_n=4, negative_feedback=1).summary()
    votes = GroupAggregates("m1@p1", "*", 0, feedback_n=6, negative_feedback=3).summary()
    stored = Summary.from_bytes(votes.to_bytes())
    assert (votes.windows, stored.windows, records.windows) == (0, 0, 1)
    assert votes_only(stored) and not votes_only(records)
    merged = Summary(windows=0).merge(records).merge(stored)
    assert merged.windows == 1 and merged.count("n") == 100 and merged.count("feedback_n") == 10


@pytest.mark.clickhouse
def test_a_clickhouse_uuid_id_is_looked_up_as_text(chdb_url, tmp_path):
    """ClickHouse reflects a UUID column as text and refuses `uuid IN ('nobody-1')`: its ids
    are looked up as text (`toString(id) IN (...)`), so a vote naming no record fails nothing."""
    requests = make_requests(hours=2, per_hour=60)
    ids = [str(uuid_module.UUID(int=i + 1)) for i in range(len(requests))]
    requests = requests.assign(request_id=ids)
    votes = _votes(requests)  # and two naming no record ("nobody-1", "nobody-2")
    _write(chdb_url, requests, votes)
    engine = sa.create_engine(chdb_url)
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE app_requests MODIFY COLUMN request_id Nullable(UUID)"))
    engine.dispose()
    separate = _monitors(
        "app_requests", feedback_table=VOTES_TABLE.format(ref="request_ref", extra="")
    )
    stored = stored_by_window(project(tmp_path, chdb_url, "uuid", separate), SECOND)
    assert _feedback(stored) == _expected(requests, votes, SECOND)


WIDE = {  # a type for ids past 64 signed bits (hash ids fill UInt64), per engine
    "duckdb": "ALTER TABLE app_requests ALTER request_id TYPE UBIGINT",
    "postgresql": "ALTER TABLE app_requests ALTER request_id TYPE NUMERIC(20, 0)",
}


@pytest.mark.parametrize(
    "engine_name", ["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_ids_past_64_signed_bits_match(engine_name, tmp_path, request):
    """An unsigned 64-bit id (DuckDB `UBIGINT`) or a `NUMERIC(20, 0)` one holds ids a signed
    64-bit integer cannot: they are looked up as they are, not dropped as out of range."""
    url = engine_url(engine_name, tmp_path, request)
    requests = _numbered(make_requests(hours=2, per_hour=60))
    votes = _votes(requests).assign(
        request_ref=lambda v: [
            r if isinstance(r, str) else str(r + 10**19) for r in v["request_ref"]
        ]
    )
    _write(url, requests, votes)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(WIDE[engine_name]))
        conn.execute(
            sa.text("UPDATE app_requests SET request_id = request_id + 10000000000000000000")
        )
    engine.dispose()
    separate = _monitors(
        "app_requests", feedback_table=VOTES_TABLE.format(ref="request_ref", extra="")
    )
    stored = stored_by_window(project(tmp_path, url, "wide", separate), SECOND)
    wide = requests.assign(request_id=[str(int(i) + 10**19) for i in requests["request_id"]])
    expected = _expected(wide, votes, SECOND)
    assert _feedback(stored) == expected and expected
