"""`lookout init`'s proposal (pure): names, values, sizing, thresholds, and the YAML it writes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lookout.config.loader import load_monitors
from lookout.services.init import Proposal, Traffic, propose
from lookout.services.init_columns import ColumnInfo
from lookout.services.init_yaml import render_monitors, render_profiles

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _kind(values: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(values):
        return "boolean"
    if pd.api.types.is_integer_dtype(values):
        return "integer"
    if pd.api.types.is_float_dtype(values):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(values):
        return "timestamp"
    return "text"


def _propose(frame: pd.DataFrame, rows_per_hour: float | None = 100.0, **kw) -> Proposal:
    columns = [ColumnInfo(name, "T", _kind(frame[name])) for name in frame.columns]  # type: ignore[arg-type]
    traffic = Traffic(rows_per_hour, NOW, len(frame), len(frame), "test", timedelta(days=1))
    return propose(columns, frame, traffic, table="t", **kw)


def _times(n: int, hours: float = 24) -> pd.Series:
    return pd.Series(pd.date_range(NOW - timedelta(hours=hours), NOW, periods=n))


def _written(proposal: Proposal, tmp_path: Path):
    path = tmp_path / "monitors.yml"
    path.write_text(render_monitors(proposal, NOW))
    return load_monitors(path).monitors[0], path.read_text()


def test_opentelemetry_and_openinference_span_columns_are_mapped_by_their_names(tmp_path):
    rng = np.random.default_rng(1)
    n = 400
    frame = pd.DataFrame(
        {
            "span_id": [f"{i:016x}" for i in range(n)],
            "trace_id": [f"{i // 3:032x}" for i in range(n)],
            "parent_id": [None] * n,
            "start_time": _times(n),
            "gen_ai_request_model": rng.choice(["gpt-4o-mini", "gpt-4.1-mini"], n),
            "llm_token_count_prompt": rng.integers(10, 900, n),
            "llm_token_count_completion": rng.integers(10, 300, n),
            "attributes_input_value": ["what is the refund policy for annual plans?"] * n,
            "output.value": ["..."] * n,  # a dot: not a plain identifier
            "otel_status_code": rng.choice(["UNSET", "OK", "ERROR"], n, p=[0.6, 0.35, 0.05]),
            "gen_ai_server_request_duration": rng.uniform(0.2, 3.0, n),  # seconds
        }
    )
    proposal = _propose(frame)
    columns = proposal.columns
    assert columns["record_id"] == "span_id"  # unique: the span is the record
    assert columns["span_id"] == "span_id" and columns["trace_id"] == "trace_id"
    assert columns["ts"] == "start_time"
    assert columns["model_version"] == "gen_ai_request_model"
    assert columns["prompt_tokens"] == "llm_token_count_prompt"
    assert columns["completion_tokens"] == "llm_token_count_completion"
    assert columns["input"] == "attributes_input_value"
    assert columns["status"] == "otel_status_code"
    assert set(proposal.ok_statuses or ()) == {"UNSET", "OK"}
    assert columns["latency_ms"] == "gen_ai_server_request_duration"
    assert proposal.units == {"latency_ms": "s"}  # OTel's request duration is in seconds
    assert any("looks like seconds (at most 2." in note for note in proposal.notes)
    roles = {r.column: r for r in proposal.roles}
    assert (
        "OpenTelemetry GenAI attribute gen_ai.request.model" in roles["gen_ai_request_model"].reason
    )
    assert (
        "OpenInference attribute llm.token_count.prompt" in roles["llm_token_count_prompt"].reason
    )
    assert roles["output.value"].role == "-"
    assert "not a plain SQL identifier" in roles["output.value"].reason
    monitor, _ = _written(proposal, tmp_path)
    assert monitor.source.columns["record_id"] == "span_id"


def test_values_alone_place_http_codes_thumbs_versions_and_ids(tmp_path):
    rng = np.random.default_rng(2)
    n = 300
    frame = pd.DataFrame(
        {
            "c1": [f"k-{i}" for i in range(n)],
            "happened": _times(n),
            "rc": rng.choice([200, 204, 404, 503], n, p=[0.85, 0.05, 0.05, 0.05]),
            "v": pd.array(rng.choice([1, -1, None], n, p=[0.2, 0.1, 0.7]), dtype="Int64"),
            "bt": rng.choice(["3.1.0", "3.2.0-rc1"], n),
            "zone": rng.choice(["north", "south"], n),
        }
    )
    proposal = _propose(frame)
    roles = {r.column: r for r in proposal.roles}
    assert proposal.columns["record_id"] == "c1" and "unique" in roles["c1"].reason
    assert proposal.columns["ts"] == "happened"
    assert proposal.columns["status"] == "rc" and "integer HTTP codes" in roles["rc"].reason
    assert proposal.ok_statuses == ("200", "201", "202", "203", "204", "205", "206")
    assert proposal.columns["feedback"] == "v" and "+1/-1" in roles["v"].reason
    assert proposal.negative_feedback == ("-1",)
    assert proposal.columns["prompt_version"] == "bt" and "version-like" in roles["bt"].reason
    assert proposal.cohorts == ("zone",)
    monitor, _ = _written(proposal, tmp_path)
    assert monitor.source.ok_statuses[0] == "200"  # quoted: read back as a string
    expectations = {(e.kind, getattr(e, "column", None)) for e in monitor.validation.expectations}
    assert ("between", "status") in expectations and ("in_set", "feedback") in expectations
    assert ("not_null", "record_id") in expectations  # the contract, written out


def _requests(n: int, error_share: float, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    route = rng.choice(["fast", "slow"], n)
    return pd.DataFrame(
        {
            "request_id": [f"r{i}" for i in range(n)],
            "ts": _times(n),
            "route": route,
            "status": np.where(rng.random(n) < error_share, "error", "ok"),
            "latency_ms": np.where(route == "slow", 1000.0, 100.0) * rng.uniform(0.5, 1.0, n),
        }
    )


@pytest.mark.parametrize(("error_share", "low", "high"), [(0.2, 0.35, 0.45), (0.002, 0.05, 0.05)])
def test_an_error_rate_rule_fires_above_twice_what_the_sample_shows_or_five_percent(
    error_share, low, high
):
    proposal = _propose(_requests(2000, error_share))
    rule = next(r for r in proposal.rules if r.metric == "error_rate")
    assert low <= rule.threshold <= high
    assert rule.op == ">" and rule.severity == "P1"
    # the comment says what the rule really needs: a rate opens on few records when
    # significantly past, and resolves on the family's min_n (it said "min_n 50" alone)
    assert "min_n 50 to resolve; opens on 10+ records only when significantly past" in (
        rule.comment
    )
    p95 = next(r for r in proposal.rules if r.metric == "latency_p95_ms")
    assert "significantly" not in p95.comment  # a quantile has no such test


def test_the_p95_rule_doubles_the_slowest_routes_p95_and_splits_by_route():
    proposal = _propose(_requests(2000, 0.01))
    rule = next(r for r in proposal.rules if r.metric == "latency_p95_ms")
    assert 1900 <= rule.threshold <= 2000  # 2 x ~975 ms of the slow route, not of all rows
    assert rule.split_by == ("*", "route")


def _in_seconds(frame: pd.DataFrame) -> pd.DataFrame:
    """`_requests`, the latency logged in seconds as `duration_s`, and a TTFT in seconds."""
    out = frame.rename(columns={"latency_ms": "duration_s"})
    out["duration_s"] = out["duration_s"] / 1000
    out["ttft_s"] = out["duration_s"] * 0.3
    return out


def test_a_table_logging_seconds_gets_a_unit_and_thresholds_in_milliseconds(tmp_path):
    """`duration_s` in seconds (~0.05-1 s): the proposal maps it with `units: {latency_ms: s}`
    and sizes the p95 rule on the sample in ms, the value every query then reads; it said
    "map a view with the column x 1000" and wrote a threshold of 2 (ms) before."""
    in_ms = _propose(_requests(2000, 0.01))
    proposal = _propose(_in_seconds(_requests(2000, 0.01)))
    assert proposal.columns["latency_ms"] == "duration_s"
    assert proposal.columns["ttft_ms"] == "ttft_s"
    assert proposal.units == {"latency_ms": "s", "ttft_ms": "s"}
    rule = next(r for r in proposal.rules if r.metric == "latency_p95_ms")
    expected = next(r for r in in_ms.rules if r.metric == "latency_p95_ms")
    assert 1900 <= rule.threshold == expected.threshold <= 2000
    assert re.search(r"p95 of its slowest route, slow \(9\d\d ms\)", rule.comment), rule.comment
    notes = " ".join(proposal.notes)
    assert "duration_s is named in seconds: `units: {latency_ms: s}` reads it in milliseconds" in (
        notes
    )
    assert "view" not in notes
    monitor, text = _written(proposal, tmp_path)
    assert monitor.source.units == {"latency_ms": "s", "ttft_ms": "s"}
    assert "units: {latency_ms: s, ttft_ms: s}" in text
    assert "duration_s in seconds, ttft_s in seconds: read as milliseconds" in text


def test_a_first_token_time_in_seconds_and_a_price_are_mapped():
    """`first_token_s` and `price` (a consumer app's log) became drift features: no name of
    ttft_ms began or ended it, and no name of cost_usd was `price`."""
    frame = _in_seconds(_requests(2000, 0.01)).rename(columns={"ttft_s": "first_token_s"})
    frame["price"] = np.random.default_rng(4).uniform(0.0001, 0.01, len(frame)).round(6)
    proposal = _propose(frame)
    assert proposal.columns["ttft_ms"] == "first_token_s"
    assert proposal.units["ttft_ms"] == "s"
    assert proposal.columns["cost_usd"] == "price"


@pytest.mark.parametrize(
    ("column", "scale", "unit"),
    [("latency_us", 1000, "us"), ("latency_ms", 1, None), ("latency", 0.001, "s")],
)
def test_the_unit_comes_from_the_name_else_from_values_under_100(column, scale, unit):
    frame = _requests(400, 0.01).rename(columns={"latency_ms": column})
    frame[column] = frame[column] * scale
    proposal = _propose(frame)
    assert proposal.columns["latency_ms"] == column
    assert proposal.units == ({"latency_ms": unit} if unit else {})
    rule = next(r for r in proposal.rules if r.metric == "latency_p95_ms")
    assert 1900 <= rule.threshold <= 2000


def test_seconds_logged_as_text_get_no_unit_and_a_note_saying_why():
    frame = _requests(400, 0.01).rename(columns={"latency_ms": "duration_s"})
    frame["duration_s"] = (frame["duration_s"] / 1000).map(lambda v: f"{v:.3f}")
    proposal = _propose(frame)
    assert proposal.columns["latency_ms"] == "duration_s" and proposal.units == {}
    assert any("holds text: a unit converts only a numeric column" in n for n in proposal.notes)


def _with_cost(frame: pd.DataFrame, column: str, per_dollar: float) -> pd.DataFrame:
    """`frame` with a cost of $0.0001-0.02 a request, logged in `column` at `per_dollar`
    (1e6: micro-dollars), as integers when that keeps it exact."""
    dollars = np.random.default_rng(5).uniform(0.0001, 0.02, len(frame)).round(6)
    out = frame.copy()
    out[column] = (dollars * per_dollar).round(6)
    if per_dollar >= 1_000_000:
        out[column] = out[column].round().astype(np.int64)
    return out


def test_a_cost_in_micro_dollars_gets_a_unit_and_is_read_in_dollars(tmp_path):
    """`cost_micro_usd BIGINT` (a user's span table): init mapped cost_usd to it with "numbers
    108 to 11835", wrote no unit, and every cost result read 1e6x too high. Now it writes
    `units: {cost_usd: micro_usd}`, says why in a note and beside the key, and the file
    loads with the unit."""
    proposal = _propose(_with_cost(_requests(2000, 0.01), "cost_micro_usd", 1e6))
    assert proposal.columns["cost_usd"] == "cost_micro_usd"
    assert proposal.units == {"cost_usd": "micro_usd"}
    notes = " ".join(proposal.notes)
    assert (
        "cost_micro_usd is named in micro-dollars: `units: {cost_usd: micro_usd}` reads it in "
        "US dollars (/ 1000000, in the warehouse)"
    ) in notes
    assert "CHECK the cost unit" not in notes
    reason = next(r.reason for r in proposal.roles if r.column == "cost_micro_usd")
    assert re.search(r"numbers \d+ to \d+ micro-dollars \(\$0\.000\d+ to \$0\.0\d+\)", reason)
    assert any(r.metric == "cost_per_request_usd" for r in proposal.rules)  # the spend rule
    monitor, text = _written(proposal, tmp_path)
    assert monitor.source.units == {"cost_usd": "micro_usd"}
    assert "units: {cost_usd: micro_usd}" in text
    assert "cost_micro_usd in micro-dollars: read as US dollars" in text


@pytest.mark.parametrize(
    ("column", "per_dollar", "unit"),
    [
        ("usd_micros", 1e6, "micro_usd"),
        ("llmCostMicrodollars", 1e6, "micro_usd"),
        ("cost_cents", 100, "cents"),
        ("spend_cents", 100, "cents"),
        ("cost_nano_usd", 1e9, "nano_usd"),
        ("cost_usd", 1, None),
        ("total_cost", 1, None),
    ],
)
def test_the_cost_unit_comes_from_the_name(column, per_dollar, unit):
    proposal = _propose(_with_cost(_requests(400, 0.01), column, per_dollar))
    assert proposal.columns["cost_usd"] == column
    assert proposal.units == ({"cost_usd": unit} if unit else {})
    assert not any("CHECK the cost unit" in note for note in proposal.notes)


def test_a_cost_whose_name_says_no_unit_and_whose_values_cannot_be_dollars_gets_a_warning(
    tmp_path,
):
    """Whole numbers with a median of thousands a request are no dollars, but the name does not
    say which unit they are in: no unit is guessed, and a note names the column, the median
    and the key to set."""
    frame = _with_cost(_requests(400, 0.01), "cost", 1e9)  # Helicone's nano-dollars
    proposal = _propose(frame)
    assert proposal.columns["cost_usd"] == "cost" and proposal.units == {}
    median = float(np.median(frame["cost"]))
    assert median > 1e6
    warning = next(n for n in proposal.notes if n.startswith("CHECK the cost unit"))
    assert f"cost_usd is mapped to cost, whole numbers with a median of {median:,.0f}" in warning
    assert f"${median:,.2f} a request (as cents ${median / 100:,.6g}, as micro-dollars " in warning
    assert f"as nano-dollars ${median / 1e9:,.6g})" in warning
    assert "add `units: {cost_usd: micro_usd}` (or cents, nano_usd) under source:" in warning
    monitor, text = _written(proposal, tmp_path)
    assert monitor.source.units == {}
    comments = " ".join(line.strip().lstrip("# ") for line in text.splitlines())
    assert "CHECK the cost unit: cost_usd is mapped to cost" in comments


@pytest.mark.parametrize(
    ("per_dollar", "fractional"),
    [(1, True), (100, True), (1, False)],
)
def test_costs_that_can_be_dollars_get_no_warning(per_dollar, fractional):
    """Dollars (a cent a request), fractional cents (about $0.01-2 read as dollars: cannot be
    told from dollars) and whole dollars of a few per record stay as they are, unwarned."""
    frame = _with_cost(_requests(400, 0.01), "cost", per_dollar)
    if not fractional:
        frame["cost"] = np.random.default_rng(2).integers(0, 2, len(frame))
    proposal = _propose(frame)
    assert proposal.columns["cost_usd"] == "cost" and proposal.units == {}
    assert not any("CHECK the cost unit" in note for note in proposal.notes)


def test_micro_dollars_logged_as_text_get_no_unit_and_a_note_saying_why():
    frame = _with_cost(_requests(400, 0.01), "cost_micro_usd", 1e6)
    frame["cost_micro_usd"] = frame["cost_micro_usd"].map(str)
    proposal = _propose(frame)
    assert proposal.columns["cost_usd"] == "cost_micro_usd" and proposal.units == {}
    assert any(
        "cost_micro_usd is named in micro-dollars, but holds text" in n for n in proposal.notes
    )


def test_a_median_that_swings_over_the_day_gets_no_median_rule_against_its_week():
    """Cache hits by day (~50 ms) and misses by night (~3 s): the route's hourly median moves
    60x over a normal day, so a median against its whole week paged every night (22-25 false
    episodes in 12 days on a user's traffic). init proposes no such rule then, and its note
    says what that costs; an ordinary day's noise keeps the rule."""
    frame = _requests(4000, 0.01)
    hour = pd.to_datetime(frame["ts"]).dt.hour.to_numpy()
    rng = np.random.default_rng(8)
    hit = rng.random(len(frame)) < np.where((hour >= 9) & (hour < 21), 0.8, 0.2)
    frame["latency_ms"] = np.where(hit, 50.0, 3000.0) * rng.uniform(0.8, 1.2, len(frame))
    frame["region"] = rng.choice(["us", "eu"], len(frame))
    proposal = _propose(frame)
    names = {r.name for r in proposal.rules}
    assert "latency_vs_own_history" not in names and "latency_p95" in names
    [note] = [n for n in proposal.notes if "latency_vs_own_history" in n]
    assert "hourly median latency swings" in note and "a broken cache" in note
    steady = _requests(4000, 0.01)
    steady["region"] = frame["region"]
    assert "latency_vs_own_history" in {r.name for r in _propose(steady).rules}


def test_cohorts_get_rules_against_their_own_history_that_load_as_change_rules(tmp_path):
    frame = _requests(2000, 0.01)
    frame["region"] = np.random.default_rng(5).choice(["us", "eu"], len(frame))
    proposal = _propose(frame)
    by_name = {r.name: r for r in proposal.rules}
    errors = by_name["error_rate_vs_own_history"]
    assert (errors.metric, errors.op, errors.threshold) == ("error_rate", ">", 2)
    assert set(errors.split_by) == {"route", "region"}
    assert by_name["latency_vs_own_history"].split_by == ("route",)
    monitor, _ = _written(proposal, tmp_path)
    written = {r.name: r for r in monitor.rules}
    for name in ("error_rate_vs_own_history", "latency_vs_own_history"):
        assert written[name].reference is not None and written[name].reference.kind == "history"
    assert written["error_rate"].reference is None  # the fixed threshold stays as it was
    # without cohorts there is no cohort to compare with its own past
    assert "error_rate_vs_own_history" not in {
        r.name for r in _propose(_requests(2000, 0.01).drop(columns="route")).rules
    }


def test_a_busy_table_gets_hourly_windows_and_no_pooling_beyond_the_default():
    proposal = _propose(_requests(2000, 0.01), rows_per_hour=10_000)
    assert proposal.sizing.window == timedelta(hours=1)
    assert all(rule.max_over is None for rule in proposal.rules)
    assert proposal.drift and proposal.drift_cohorts
    assert "stale_after" not in render_monitors(proposal, NOW)  # hourly: the default 24h


def test_a_quiet_table_gets_day_windows_and_rules_pooled_to_reach_their_min_n(tmp_path):
    proposal = _propose(_requests(200, 0.01), rows_per_hour=2)  # 48 rows a day
    assert proposal.sizing.window == timedelta(days=1)
    p95 = next(r for r in proposal.rules if r.metric == "latency_p95_ms")
    assert p95.max_over == timedelta(days=5)  # 200 records at 48 a day
    # drift pools a day: 48 rows >= min_n 30, but a route's half (24) is not enough
    assert proposal.drift and not proposal.drift_cohorts
    monitor, text = _written(proposal, tmp_path)
    assert next(r for r in monitor.rules if r.name == "latency_p95").max_over == p95.max_over
    assert monitor.drift.enabled and not monitor.drift.cohorts
    assert "fewer than 30 rows a drift period" in text
    # daily windows: three quiet days, not one, make an alert stale
    assert load_monitors(tmp_path / "monitors.yml").alerting.stale_after == timedelta(days=3)
    # 12 rows a day cannot feed a drift test
    quiet = _propose(_requests(200, 0.01), rows_per_hour=0.5)
    assert not quiet.drift
    assert any("drift off: about 12 rows in a drift period of 1d" in n for n in quiet.notes)


def test_a_rule_that_a_week_of_traffic_cannot_feed_is_left_out_and_said_so():
    proposal = _propose(_requests(200, 0.01), rows_per_hour=0.5)  # 12 rows a day
    assert "latency_p95_ms" not in {r.metric for r in proposal.rules}
    assert any("no latency_p95 rule" in note for note in proposal.notes)
    assert "latency_vs_own_history" not in {r.name for r in proposal.rules}  # nor its median
    assert "error_rate" in {r.metric for r in proposal.rules}  # 50 records in ~4 days


def test_sampled_values_cannot_break_out_of_a_yaml_comment(tmp_path):
    frame = _requests(300, 0.01)
    frame["plan"] = ["x\nmonitors: []\n# pwned"] * 150 + ["free"] * 150
    frame["request_id"] = [f"r{i}" for i in range(300)]
    proposal = _propose(frame)
    monitor, text = _written(proposal, tmp_path)
    assert monitor.name == "t" and "plan" in monitor.source.cohorts
    assert "\nmonitors: []" not in text and text.count("\nmonitors:") == 1


def test_a_table_without_a_unique_column_lacks_a_record_id():
    frame = _requests(100, 0.01)
    frame["request_id"] = "same"
    proposal = _propose(frame)
    assert proposal.missing == ("record_id",)


def test_profiles_read_a_password_url_from_the_environment_and_keep_others(tmp_path):
    with_env = render_profiles(
        target="dev", warehouse="postgresql+psycopg://u:pw@db/x", directory=tmp_path, env_url=True
    )
    assert "pw" not in with_env and "{{ env_var('LOOKOUT_WAREHOUSE_URL') }}" in with_env
    plain = render_profiles(
        target="prod", warehouse="duckdb:///w.duckdb", directory=tmp_path, env_url=False
    )
    assert '"duckdb:///w.duckdb"' in plain and "target: prod" in plain


def test_the_self_check_judges_whole_values_only_and_keeps_what_the_sample_passes():
    from lookout.services.init_selfcheck import sample_failure

    cut = "[" + "1," * 1200  # cut by the sample at TEXT_CHARS: not judged
    frame = pd.DataFrame({"tool_calls": ['[{"name": "search"}]'] * 98 + [cut, None]})
    spec = {"kind": "json_parses", "column": "tool_calls", "mostly": 0.99}
    assert sample_failure(spec, frame) is None
    frame.loc[0:2, "tool_calls"] = "not json"
    assert sample_failure(spec, frame) == "3 of the sample's 98 values fail it (3.1%)"
    status = pd.DataFrame({"status": pd.array([200, 500, None], dtype="Int64")})
    codes = {"kind": "in_set", "column": "status", "values": ["200", 500]}
    assert sample_failure(codes, status) is None  # "200" is 200 for integers, NULL not judged
    assert sample_failure({"kind": "unique", "column": "status"}, status) is None
    assert sample_failure({"kind": "not_null", "column": "status"}, status) is not None


def test_text_http_codes_place_a_status_by_their_values_alone():
    frame = _requests(300, 0.0).drop(columns="status")
    frame["rc"] = np.random.default_rng(4).choice(["200", "204", "429", "503"], len(frame))
    proposal = _propose(frame)
    roles = {r.column: r for r in proposal.roles}
    assert proposal.columns["status"] == "rc" and "HTTP codes as text" in roles["rc"].reason
    assert proposal.ok_statuses == tuple(str(code) for code in range(200, 207))
    assert proposal.ok_reason == "HTTP codes as text: 2xx are ok"
    mixed = frame.drop(columns="rc")  # not all codes: words read as words
    mixed["status"] = np.random.default_rng(4).choice(["200", "ok"], len(frame))
    assert _propose(mixed).ok_statuses == ("ok",)


@pytest.mark.parametrize(
    ("names", "fields"),
    [
        (
            ("prompt_revision", "input_tokens", "output_tokens", "retrieved_context", "tool_call"),
            ("prompt_version", "prompt_tokens", "completion_tokens", "context", "tool_calls"),
        ),
        (
            ("template_version", "tokens_in", "tokens_out", "context_docs", "tools_used"),
            ("prompt_version", "prompt_tokens", "completion_tokens", "context", "tool_calls"),
        ),
        (
            ("prompt_ver", "prompt_tok", "completion_tok", "ctx", "tools"),
            ("prompt_version", "prompt_tokens", "completion_tokens", "context", "tool_calls"),
        ),
    ],
)
def test_common_variants_of_names_map_to_their_fields(names, fields):
    frame = _requests(300, 0.01)
    n = len(frame)
    frame[names[0]] = ["r7"] * n
    frame[names[1]] = np.arange(n) + 300
    frame[names[2]] = np.arange(n) % 50 + 10
    frame[names[3]] = [f"Help center article {i % 5}: how to rotate a key" for i in range(n)]
    frame[names[4]] = ['[{"name": "search_kb"}]'] * n
    columns = _propose(frame).columns
    assert [columns.get(field) for field in fields] == list(names)


def test_a_name_ending_like_a_property_of_text_is_not_taken_as_the_text():
    frame = _requests(300, 0.01)
    frame["prompt_template_hash"] = ["9f2c1e7"] * len(frame)
    frame["question_len"] = np.arange(len(frame)) % 80
    proposal = _propose(frame)
    assert "input" not in proposal.columns
    roles = {r.column: r for r in proposal.roles}
    assert "input" not in roles["prompt_template_hash"].reason
    assert "input" not in roles["question_len"].reason


def _rag(n: int, context: list[str]) -> pd.DataFrame:
    topics = ["billing", "audit log", "invoices", "single sign-on"]
    topic = [topics[i % 4] for i in range(n)]
    return pd.DataFrame(
        {
            "call_uuid": [f"c{i}" for i in range(n)],
            "created": _times(n),
            "question": [f"How do I configure {t} for my workspace?" for t in topic],
            "answer": [f"To configure {t}, open Settings and follow the steps." for t in topic],
            "sources": context,
        }
    )


def test_an_evaluator_the_sample_cannot_work_with_is_left_out_with_what_to_map(tmp_path):
    ids = [f'["kb/doc/{i % 60}", "kb/doc/{(i + 7) % 60}"]' for i in range(400)]
    proposal = _propose(_rag(400, ids))
    plan = proposal.evaluators
    assert [name for name, _ in plan.checks] == ["pii", "refusal"]
    assert "eval.groundedness" not in {r.metric for r in proposal.rules}
    assert "eval.pii" in {r.metric for r in proposal.rules}
    note = next(n for n in proposal.notes if n.startswith("no groundedness check"))
    assert "sources (context) holds no passages of text" in note
    assert "map as context a column, or a view, with the text of the retrieved passages" in note
    monitor, text = _written(proposal, tmp_path)
    assert [c.name for c in monitor.evaluators.checks] == ["pii", "refusal"]
    assert "# - {name: groundedness}" in text and "left out" in text


def test_a_check_that_fails_most_of_the_sample_is_left_out_and_one_it_passes_stays():
    unrelated = ["The weather in Lisbon was mild in 1987 according to Maria Santos."] * 400
    proposal = _propose(_rag(400, unrelated))
    assert "groundedness" not in {name for name, _ in proposal.evaluators.checks}
    note = next(n for n in proposal.notes if n.startswith("no groundedness check"))
    assert "it fails 100.0% of the 400 sampled records" in note and "could never fire" in note
    # passages that back the answers: the check stays, with a rule that can fire
    backing = _rag(400, [""] * 400)
    backing["sources"] = "Docs: " + backing["answer"]
    kept = _propose(backing)
    assert "groundedness" in {name for name, _ in kept.evaluators.checks}
    rule = next(r for r in kept.rules if r.metric == "eval.groundedness")
    assert rule.threshold > 0


def _spans(n: int = 600, model_gap: str = "tool", version_gap: float = 0.0) -> pd.DataFrame:
    """An agent's span table: tool spans (30%) have no model, as OpenTelemetry logs them;
    `model_gap="few"` leaves it out on 2% of the rows instead (a logging gap)."""
    rng = np.random.default_rng(5)
    kind = np.array(["agent", "llm", "llm", "llm", "tool", "tool", "tool", "agent", "llm", "agent"])
    kind = kind[np.arange(n) % 10]  # 30% tool spans
    model = rng.choice(["gpt-4o-2024-08-06", "gpt-4o-mini-2024-07-18"], n).astype(object)
    gap = kind == "tool" if model_gap == "tool" else np.arange(n) % 50 == 0
    model[gap] = None
    version = rng.choice(["agent-2.3.0", "agent-2.4.0"], n).astype(object)
    version[rng.random(n) < version_gap] = None
    return pd.DataFrame(
        {
            "span_id": [f"{i:016x}" for i in range(n)],
            "start_ts": _times(n),
            "span_kind": kind,
            "status_code": rng.choice([0, 2], n, p=[0.97, 0.03]),
            "gen_ai_request_model": model,
            "app_version": version,
            "cost_usd": rng.uniform(0.001, 0.01, n),
        }
    )


def test_a_release_field_empty_on_a_third_of_the_rows_is_left_out_of_the_release(tmp_path):
    """Tool spans have no model: a release of model@app_version made them `(null)@agent-2.3.0`,
    a phantom release no rule evaluates, so 30% of the rows were never alerted on, and the
    model's not_null check (failed by the sample) was dropped: nothing said so."""
    proposal = _propose(_spans())
    assert proposal.release == ("prompt_version",)
    assert proposal.columns["model_version"] == "gen_ai_request_model"  # still mapped
    note = next(n for n in proposal.notes if n.startswith("gen_ai_request_model is empty"))
    assert "on 30% of the sampled rows" in note and "exactly the rows with span_kind tool" in note
    assert "the release is app_version alone" in note and "(null)@<app_version>" in note
    assert not any("mapped as prompt_version" in n for n in proposal.notes)  # suggested model@
    assert any(r.name == "spend_vs_previous_release" for r in proposal.rules)
    monitor, text = _written(proposal, tmp_path)
    assert monitor.source.release == ["prompt_version"]
    assert monitor.source.columns["model_version"] == "gen_ai_request_model"
    checks = {(e.kind, getattr(e, "column", None)) for e in monitor.validation.expectations}
    assert ("not_null", "prompt_version") in checks and ("not_null", "model_version") not in checks
    line = next(x for x in text.splitlines() if x.strip().startswith("release:"))
    assert "app_version alone: gen_ai_request_model is empty on 30% of the sampled rows" in line


def test_without_a_complete_release_field_every_row_is_one_release_and_it_says_so(tmp_path):
    proposal = _propose(_spans(version_gap=0.2))
    assert proposal.release == ()
    note = next(n for n in proposal.notes if "no release field is filled on every row" in n)
    assert "gen_ai_request_model is empty on 30%" in note and "app_version is empty on 2" in note
    assert "every row is one release (`default`)" in note and "own history" in note
    rules = {r.name: r for r in proposal.rules}
    assert "spend_vs_own_history" in rules and "spend_vs_previous_release" not in rules
    monitor, text = _written(proposal, tmp_path)
    assert monitor.source.release == []
    assert "release: []" in text and "no release field is filled on every row" in text


def test_a_release_field_empty_on_a_few_rows_stays_in_the_release_with_a_note():
    proposal = _propose(_spans(model_gap="few"))
    assert proposal.release == ("model_version", "prompt_version")
    note = next(n for n in proposal.notes if n.startswith("gen_ai_request_model is empty"))
    assert "on 2.0% of the sampled rows (12 of 600): it stays in the release" in note
    assert "no rule evaluates" in note


def test_a_classic_models_score_and_numeric_inputs_become_drift_features(tmp_path):
    """A fraud model's log: camelCase columns, a score, numeric inputs and an integer id no
    field takes. The numbers are proposed as drift features (the id is not), the score gets
    its own drift rule per channel, and the written file loads."""
    rng = np.random.default_rng(5)
    n = 600
    frame = pd.DataFrame(
        {
            "requestId": [f"r{i}" for i in range(n)],
            "createdAt": _times(n),
            "modelTag": rng.choice(["fraud-xgb-2026.11.2", "fraud-xgb-2026.11.3"], n),
            "score": rng.beta(1, 30, n),
            "amount": rng.lognormal(3.6, 1.0, n).round(2),
            "accountAgeDays": rng.integers(0, 3000, n),
            "merchantId": rng.permutation(n),
            "customerId": rng.integers(0, 50, n),
            "channel": rng.choice(["web", "ios", "android"], n),
            "status": rng.choice(["OK", "TIMEOUT"], n, p=[0.99, 0.01]),
            "latencyMs": rng.integers(10, 200, n),
        }
    )
    proposal = _propose(frame)
    assert proposal.drift_features == ("score", "amount", "accountAgeDays")
    roles = {r.column: r.role for r in proposal.roles}
    assert roles["score"] == "drift feature" and roles["merchantId"] == "-"
    monitor, text = _written(proposal, tmp_path)
    assert monitor.drift.features.numeric == ["score", "amount", "accountAgeDays"]
    assert "pin a clean period" in text
    [rule] = [r for r in monitor.rules if r.metric == "drift.score"]
    assert (rule.name, rule.op, rule.threshold) == ("score_drift", ">=", 1)
    assert rule.split_by == ["*", "channel"]
    # without a release column the features stay, compared with the same hours a week earlier
    one_release, _ = _written(_propose(frame.drop(columns=["modelTag"])), tmp_path)
    assert one_release.drift.features.numeric == ["score", "amount", "accountAgeDays"]
    assert one_release.drift.reference.kind == "week_ago"


def test_a_column_named_as_the_field_is_preferred_to_one_named_like_it(tmp_path):
    """Langfuse's observations hold `version` (the app's, constant) before `prompt_version`:
    both names say prompt version, and the first column won, so the release never changed and
    a prompt bump went unseen (trial J)."""
    rng = np.random.default_rng(3)
    n = 400
    frame = pd.DataFrame(
        {
            "id": [f"obs-{i}" for i in range(n)],
            "start_time": _times(n),
            "version": ["app-1.8.2"] * n,
            "provided_model_name": rng.choice(["gpt-4o", "gpt-4o-mini"], n),
            "prompt_version": rng.choice([3, 4], n),
            "output": ["Done."] * n,
        }
    )
    proposal = _propose(frame)
    assert proposal.columns["prompt_version"] == "prompt_version"
    monitor, _ = _written(proposal, tmp_path)
    assert monitor.source.columns["prompt_version"] == "prompt_version"


def test_a_table_without_routes_gets_each_releases_own_history_latency_rule(tmp_path):
    """Without a route column the fixed p95 is set on the mix of every model (2x the mix's
    p95): a model three times slower than its own usual stayed under it (trial J). Each
    release's median is compared with its own week then."""
    rng = np.random.default_rng(5)
    n = 2000
    models = rng.choice(["gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet"], n)
    frame = pd.DataFrame(
        {
            "id": [f"obs-{i}" for i in range(n)],
            "start_time": _times(n),
            "model": models,
            "latency_ms": np.where(models == "gpt-4o", 2500.0, 900.0) * rng.lognormal(0, 0.3, n),
            "output": ["Done."] * n,
        }
    )
    proposal = _propose(frame, rows_per_hour=400.0)
    assert "route" not in proposal.cohorts
    rules = {rule.name: rule for rule in proposal.rules}
    own = rules["latency_vs_own_history"]
    assert (own.metric, own.split_by, own.reference) == (
        "latency_p50_ms",
        ("*",),
        "{kind: history}",
    )
    monitor, _ = _written(proposal, tmp_path)
    assert [r.split_by for r in monitor.rules if r.name == "latency_vs_own_history"] == [["*"]]


def test_a_table_without_routes_splits_the_median_rule_by_a_column_of_few_values(tmp_path):
    """Trial K: no route, a `channel` of three values and a `tenant` of thirty; the `slack`
    channel tripled its latency for four hours and the release-wide median rule (up less than
    40%) never saw it. The own-history median rule also splits by channel; not by tenant (a
    few rows an hour each), nor by a column whose value's median swings over the day."""
    rng = np.random.default_rng(8)
    n = 4000
    ts = _times(n)
    channel = rng.choice(["web", "slack", "api"], n, p=[0.6, 0.3, 0.1])
    night = pd.to_datetime(ts).dt.hour.isin(range(0, 8)).to_numpy()
    batch = np.where(rng.random(n) < 0.15, "batch", "online")  # 4x slower by night only
    latency = np.where(channel == "api", 600.0, 1500.0) * rng.lognormal(0, 0.3, n)
    frame = pd.DataFrame(
        {
            "id": [f"c{i}" for i in range(n)],
            "ts": ts,
            "tenant": rng.choice([f"t{i:02d}" for i in range(30)], n),
            "channel": channel,
            "mode": batch,
            "latency_ms": latency * np.where((batch == "batch") & night, 4.0, 1.0),
            "status": "ok",
        }
    )
    proposal = _propose(frame, rows_per_hour=450.0)
    assert {"tenant", "channel", "mode"} <= set(
        proposal.cohorts
    ) and "route" not in proposal.cohorts
    own = next(r for r in proposal.rules if r.name == "latency_vs_own_history")
    assert own.split_by == ("*", "channel")
    assert "each channel's" in own.comment
    monitor, _ = _written(proposal, tmp_path)
    assert [r.split_by for r in monitor.rules if r.name == "latency_vs_own_history"] == [
        ["*", "channel"]
    ]
