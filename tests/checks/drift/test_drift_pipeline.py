"""Drift that means something, through `run_window` on real warehouses: verdicts pooled over a
rolling period, effect floors, one signal per feature group, attribution to the cohort a shift
lives in, the same verdicts on DuckDB, SQLite and PostgreSQL, and a stored summary that cannot
be read failing its window.

The scenario is a support bot: release 1 (r1) is the baseline (a pinned period of the warehouse,
so its windows need not be run); release 2 (r2) runs window by window after it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from scipy import stats as sps
from tests.conftest import T0, write_table

from lookout.config.loader import load_config, load_monitors
from lookout.errors import ConfigError
from lookout.pipeline import Context, run_window
from lookout.reports.index import write_index
from lookout.sources import drift_summaries
from lookout.store import schema
from lookout.windows import Window

H = timedelta(hours=1)
R1, R2 = "m1@p1", "m2@p2"
PLANS = (["free", "pro", "enterprise"], [0.5, 0.35, 0.15])
REGIONS = (["us", "eu", "apac"], [0.45, 0.35, 0.2])
PROFILE = " Account profile: plan, seats, SSO, region, support tier, renewal, usage." * 6


def requests(
    rng: np.random.Generator,
    start: datetime,
    hours: int,
    per_hour: int,
    release: tuple[str, str],
    *,
    latency: float = 1.0,
    tokens: float = 1.0,
    fallback: float = 0.10,
    empty: float = 0.0,
    long_enterprise: bool = False,
) -> pd.DataFrame:
    """`per_hour` requests in each of `hours` hours of one release; the keywords move one
    thing each (latency and token factors, the fallback share, the share of empty answers,
    the account profile pasted into enterprise prompts)."""
    n = hours * per_hour
    offsets = np.repeat(np.arange(hours) * 3600.0, per_hour) + rng.uniform(0, 3599, n)
    ts = pd.Timestamp(start.replace(tzinfo=None)) + pd.to_timedelta(np.sort(offsets), unit="s")
    plan = rng.choice(PLANS[0], n, p=PLANS[1])
    words = rng.integers(4, 14, n)
    prompt = np.array([" ".join(["please help with my quota"] * int(w)) for w in words], object)
    if long_enterprise:
        prompt = np.where(plan == "enterprise", prompt + PROFILE, prompt)
    answer = rng.choice(
        ["Your quota is 10 GB.", '{"quota": 10}', "I can't help with that.", "Сброс в полночь."],
        n,
        p=[0.6, 0.2, 0.1, 0.1],
    ).astype(object)
    answer[rng.random(n) < empty] = ""
    return pd.DataFrame(
        {
            "request_id": [f"{release[0]}-{start:%d%H}-{i:06d}" for i in range(n)],
            "event_time": ts.astype("datetime64[us]"),
            "model_version": release[0],
            "prompt_version": release[1],
            "plan": plan,
            "region": rng.choice(REGIONS[0], n, p=REGIONS[1]),
            "prompt": prompt,
            "answer": answer,
            "latency_ms": (rng.lognormal(7, 0.4, n) * latency).round(1),
            "prompt_tokens": (rng.integers(200, 1000, n) * tokens).round().astype(int),
            "is_fallback": rng.random(n) < fallback,
        }
    )


MONITORS = """
owners:
  team: {{slack_users: [U0TEAM01], channel: "#team"}}
alerting: {{p2_digest: false}}
monitors:
  - name: bot
    source:
      table: requests
      columns:
        record_id: request_id
        ts: event_time
        model_version: model_version
        prompt_version: prompt_version
        input: prompt
        output: answer
        latency_ms: latency_ms
        prompt_tokens: prompt_tokens
        is_fallback: is_fallback
      cohorts: {cohorts}
    window: {{size: 1h, grace: 0m, start: {start}}}
    validation: {{enabled: false}}
    drift:
      enabled: true
      reference: {{kind: baseline, start: {ref_start}, end: {ref_end}}}
      reports: {{enabled: {reports}, sample_rows: 20000}}
{extra}    rules:
{rules}"""

PROFILES = """
target: test
outputs:
  test:
    warehouse: {{url: "{warehouse}"}}
    store: {{url: "{store}"}}
    out_dir: "{out_dir}"
"""


def rule(name: str, metric: str, split_by: str = '["*"]') -> str:
    return (
        f"      - {{name: {name}, metric: {metric}, op: '>=', threshold: 1, severity: P1, "
        f"owner: team, split_by: {split_by}}}\n"
    )


def project(
    tmp_path: Path,
    frame: pd.DataFrame,
    *,
    reference: Window,
    start: datetime,
    rules: str,
    cohorts: str = "[]",
    reports: bool = False,
    extra: str = "",
    warehouse: str | None = None,
    schema_name: str | None = None,
) -> Context:
    """A warehouse holding `frame` (DuckDB unless `warehouse` is given), the `bot` monitor's
    config, and a context on them."""
    url = warehouse or f"duckdb:///{tmp_path / 'wh.duckdb'}"
    engine = sa.create_engine(url)
    write_table(engine, frame, table="requests", schema=schema_name)
    engine.dispose()
    cfg = tmp_path / "cfg"
    cfg.mkdir(exist_ok=True)
    monitors = MONITORS.format(
        cohorts=cohorts,
        start=start.isoformat(),
        ref_start=reference.start.isoformat(),
        ref_end=reference.end.isoformat(),
        reports=str(reports).lower(),
        extra=extra,
        rules=rules,
    )
    if schema_name:
        monitors = monitors.replace(
            "table: requests\n", f"table: requests\n      schema: {schema_name}\n"
        )
    (cfg / "monitors.yml").write_text(monitors)
    (cfg / "profiles.yml").write_text(
        PROFILES.format(
            warehouse=url, store=f"sqlite:///{tmp_path / 'results.sqlite'}", out_dir=tmp_path
        )
    )
    return Context.from_config(load_config(cfg / "profiles.yml", cfg / "monitors.yml"))


def run(ctx: Context, start: datetime, windows: int) -> list:
    monitor = ctx.config.monitors.monitors[0]
    results = [
        run_window(ctx, monitor, Window(start + i * H, start + (i + 1) * H)) for i in range(windows)
    ]
    assert [r.status for r in results] == ["succeeded"] * windows, [r.error for r in results]
    return results


def verdicts(ctx: Context, window_start: datetime) -> dict[tuple[str, str, str], dict]:
    return {
        (r["release"], r["cohort"], r["column_name"]): r
        for r in ctx.store.drift("bot")
        if r["window_start"] == window_start
    }


def metric(ctx: Context, window_start: datetime, cohort: str, name: str) -> float | None:
    found = ctx.store.metrics(
        "bot", release=R2, cohort=cohort, metric=name, since=window_start, until=window_start + H
    )
    return found[0]["value"] if found else None


def alerts(ctx: Context) -> set[tuple[str, str, str]]:
    return {(a.rule, a.release, a.cohort) for a in ctx.store.alerts("bot", state="firing")}


@pytest.fixture
def closing() -> Iterator[list[Context]]:
    contexts: list[Context] = []
    yield contexts
    for ctx in contexts:
        ctx.close()


# --------------------------------------------------------------------------- effect floor


def test_a_tiny_significant_shift_at_large_n_never_drifts_and_a_real_one_does(tmp_path, closing):
    """1,000 requests an hour; release 2's fallback share is 10% -> 14% (a z-test calls that
    p < 1e-4 in every hour) and its prompts 2% longer in tokens (KS p < 0.05 on the pooled
    12,000 rows): both under their effect floors, so no drift and no alert, in any window.
    Its latency is 1.6x: past the floor from the first window, and alerted."""
    rng = np.random.default_rng(5)
    launch = T0 + 12 * H
    frame = pd.concat(
        [
            requests(rng, T0, 12, 1000, ("m1", "p1")),
            requests(rng, launch, 12, 1000, ("m2", "p2"), fallback=0.14, tokens=1.02, latency=1.6),
        ],
        ignore_index=True,
    )
    rules = (
        rule("fallbacks_moved", "drift.is_fallback")
        + rule("tokens_moved", "drift.prompt_tokens")
        + rule("latency_moved", "drift.latency_ms")
    )
    ctx = project(tmp_path, frame, reference=Window(T0, launch), start=launch, rules=rules)
    closing.append(ctx)
    results = run(ctx, launch, 12)

    assert alerts(ctx) == {("latency_moved", R2, "*")}
    assert all(f"{R2} * latency_ms" in r.drifted for r in results)
    assert not any("is_fallback" in d or "prompt_tokens" in d for r in results for d in r.drifted)
    last = verdicts(ctx, launch + 11 * H)
    fallback, tokens = last[(R2, "*", "is_fallback")], last[(R2, "*", "prompt_tokens")]
    assert (fallback["n_current"], tokens["n_current"]) == (12_000, 12_000)  # 12 windows pooled
    assert fallback["method"] == "jensenshannon" and fallback["score"] < fallback["threshold"]
    assert tokens["method"] == "wasserstein" and tokens["score"] < tokens["threshold"]
    assert fallback["gate"] is None  # large samples: the effect size alone decides
    assert not fallback["drifted"] and not tokens["drifted"]
    assert last[(R2, "*", "latency_ms")]["drifted"]
    assert last[(R2, "*", "latency_ms")]["score"] > 5 * last[(R2, "*", "latency_ms")]["threshold"]
    # ...and the shifts are "significant", which alone would have alerted
    ref = frame[frame.model_version == "m1"]
    cur = frame[frame.model_version == "m2"]
    assert sps.ks_2samp(ref.prompt_tokens, cur.prompt_tokens).pvalue < 0.05
    first_hour = cur[cur.event_time < pd.Timestamp((launch + H).replace(tzinfo=None))]
    table = [
        [ref.is_fallback.sum(), (~ref.is_fallback).sum()],
        [first_hour.is_fallback.sum(), (~first_hour.is_fallback).sum()],
    ]
    assert sps.chi2_contingency(table)[1] < 1e-3
    # the first window is a small sample (1,000 rows): its small-sample test ran too
    first = verdicts(ctx, launch)
    assert first[(R2, "*", "latency_ms")]["gate"] == "ks"
    assert first[(R2, "*", "latency_ms")]["gate_p"] < 1e-6


@pytest.mark.parametrize(
    ("min_n", "first_judged"),
    [(100, 2), (None, 0)],  # None: the default, 10 for a numeric column under its KS test
    ids=["min_n 100", "default min_n"],
)
def test_low_traffic_drift_is_judged_once_the_pooled_period_holds_enough_rows(
    tmp_path, closing, min_n, first_judged
):
    """40 requests an hour of release 2 (latency doubled): against min_n 100 each window alone
    lacks data forever; pooled over the period, the third window (120 rows) decides. With the
    default the first window's 40 rows decide, through the small-sample test."""
    rng = np.random.default_rng(6)
    launch = T0 + 24 * H
    frame = pd.concat(
        [
            requests(rng, T0, 24, 100, ("m1", "p1")),
            requests(rng, launch, 4, 40, ("m2", "p2"), latency=2.0),
        ],
        ignore_index=True,
    )
    ctx = project(
        tmp_path,
        frame,
        reference=Window(T0, launch),
        start=launch,
        rules=rule("latency_moved", "drift.latency_ms"),
        extra="" if min_n is None else f"      min_n: {min_n}\n",  # continues drift:
    )
    closing.append(ctx)
    assert ctx.config.monitors.monitors[0].drift.min_n == min_n
    results = run(ctx, launch, 4)
    rows = [verdicts(ctx, launch + i * H)[(R2, "*", "latency_ms")] for i in range(4)]
    assert [r["n_current"] for r in rows] == [40, 80, 120, 160]
    statuses = ["not_enough_data"] * first_judged + ["drifted"] * (4 - first_judged)
    assert [r["status"] for r in rows] == statuses
    assert [f"{R2} * latency_ms" in r.drifted for r in results] == [
        s == "drifted" for s in statuses
    ]
    judged = rows[first_judged]
    assert judged["gate"] == "ks" and judged["gate_p"] < 0.01  # small samples: tested too
    assert judged["period_start"] == launch + (first_judged + 1) * H - 24 * H
    [alert] = ctx.store.alerts("bot")
    assert (alert.rule, alert.cohort, alert.first_window_start) == (
        "latency_moved",
        "*",
        launch + first_judged * H,
    )


# --------------------------------------------------------------------------- feature groups


def test_features_derived_from_one_field_count_once(tmp_path, closing):
    """An outage empties 40% of release 2's answers: length, empty, JSON, refusal and script
    all move. They are one feature group, `output`: one drifted group in `drift_share`, one
    `drift.output` flag, and the member that moved most named for it."""
    rng = np.random.default_rng(7)
    launch = T0 + 6 * H
    frame = pd.concat(
        [
            requests(rng, T0, 6, 500, ("m1", "p1")),
            requests(rng, launch, 1, 1500, ("m2", "p2"), empty=0.4),
        ],
        ignore_index=True,
    )
    ctx = project(
        tmp_path,
        frame,
        reference=Window(T0, launch),
        start=launch,
        rules=rule("outputs_moved", "drift.output") + rule("share", "drift_share"),
    )
    closing.append(ctx)
    run(ctx, launch, 1)
    rows = verdicts(ctx, launch)
    output = {c: r for (rel, cohort, c), r in rows.items() if c.startswith("output_")}
    assert set(output) == {
        "output_length",
        "output_empty",
        "output_refusal",
        "output_json",
        "output_script",
    }
    assert all(r["drifted"] and r["feature_group"] == "output" for r in output.values())
    groups = {r["feature_group"] for r in rows.values() if r["drifted"] is not None}
    assert groups == {"latency_ms", "prompt_tokens", "is_fallback", "input", "output"}
    assert metric(ctx, launch, "*", "drift_share") == pytest.approx(1 / 5)  # not 5 of 9 columns
    assert metric(ctx, launch, "*", "drift.output") == 1.0
    assert alerts(ctx) == {("outputs_moved", R2, "*")}  # drift_share 0.2 stays under 1
    [message] = [m for m in ctx.store.outbox() if m.kind == "open"]
    text = json.dumps(message.payload)
    top = max(output.values(), key=lambda r: r["score"] / r["threshold"])["column_name"]
    # the alert names the member that moved most, which way, and its effect size
    assert re.search(rf"{top}: (median|\S+ \d+%) [^;]+; jensenshannon", text), text


# --------------------------------------------------------------------------- attribution

ATTRIBUTION_RULE = rule("long_prompts", "drift.input_length", '["*", plan, region]')


def attribution_frame(seed: int = 8) -> tuple[pd.DataFrame, datetime]:
    rng = np.random.default_rng(seed)
    launch = T0 + 6 * H
    return (
        pd.concat(
            [
                requests(rng, T0, 6, 1000, ("m1", "p1")),
                requests(rng, launch, 2, 1500, ("m2", "p2"), long_enterprise=True),
            ],
            ignore_index=True,
        ),
        launch,
    )


def test_a_shift_in_one_cohort_alerts_there_and_explains_its_parents(tmp_path, closing):
    """Release 2 pastes an account profile into enterprise prompts only. input_length drifts in
    plan=enterprise, in the whole release and in every region (they hold enterprise rows); the
    alert is on plan=enterprise alone, and its message and the index say what it explains."""
    frame, launch = attribution_frame()
    ctx = project(
        tmp_path,
        frame,
        reference=Window(T0, launch),
        start=launch,
        rules=ATTRIBUTION_RULE,
        cohorts="[plan, region]",
    )
    closing.append(ctx)
    results = run(ctx, launch, 2)

    assert alerts(ctx) == {("long_prompts", R2, "plan=enterprise")}
    for start in (launch, launch + H):
        rows = verdicts(ctx, start)
        source = rows[(R2, "plan=enterprise", "input_length")]
        assert source["drifted"] and source["explained_by"] is None
        assert source["status"] == "drifted"
        for parent in ("*", "region=us", "region=eu", "region=apac"):
            row = rows[(R2, parent, "input_length")]
            assert row["drifted"] and row["explained_by"] == "plan=enterprise", parent
            assert row["status"] == "explained"
            assert metric(ctx, start, parent, "drift.input_length") == 0.0  # no second alert
        for plan in ("plan=free", "plan=pro"):  # disjoint from the source: judged on their own
            assert not rows[(R2, plan, "input_length")]["drifted"]
        assert metric(ctx, start, "plan=enterprise", "drift.input_length") == 1.0
    assert results[0].drifted == (f"{R2} plan=enterprise input_length",)

    [message] = [m for m in ctx.store.outbox() if m.kind == "open"]
    text = json.dumps(message.payload)
    assert (
        "source: plan=enterprise; explains the release overall and region=apac, region=eu, "
        "region=us" in text
    )
    # which way it moved: the enterprise prompts' median length before and in the window
    summary = message.payload["summary"]
    shown = re.search(r"^input_length drifted from .+?: median ([\d,]+) -> ([\d,]+), p90", summary)
    assert shown, summary
    before, after = (float(x.replace(",", "")) for x in shown.groups())
    lengths = frame.assign(n=frame["prompt"].str.len())
    enterprise_rows = lengths[lengths["plan"] == "enterprise"]
    launched = enterprise_rows["event_time"] >= launch.replace(tzinfo=None)
    assert before == pytest.approx(enterprise_rows[~launched]["n"].median(), rel=0.01)
    first_hour = enterprise_rows[
        launched & (enterprise_rows["event_time"] < (launch + H).replace(tzinfo=None))
    ]
    assert after == pytest.approx(first_hour["n"].median(), rel=0.01)
    assert after > 2 * before
    page = write_index(tmp_path, "bot", ctx.store.drift("bot")).read_text()
    enterprise = _index_row(page, "plan=enterprise")
    assert 'drifted-column">input_length<' in enterprise
    assert f'class="shift">median {shown.group(1)} -&gt; ' in enterprise  # escaped as HTML
    assert "source: explains the release overall, region=apac, region=eu, region=us" in enterprise
    for parent in ("region=eu", "region=us", "region=apac"):
        row = _index_row(page, parent)
        assert 'explained-column">input_length<' in row and "plan=enterprise" in row
        assert 'drifted-column">input_length<' not in row


def _index_row(page: str, cohort: str) -> str:
    rows = [r for r in page.split("<tr") if f"<td><code>{cohort}</code></td>" in r]
    assert rows, cohort
    return rows[0]  # the newest day first; one day here


# --------------------------------------------------------------------------- backends


@pytest.mark.parametrize("path", ["local", "pushdown"])
@pytest.mark.mysql
@pytest.mark.clickhouse
@pytest.mark.snowflake
def test_pooled_verdicts_are_the_same_on_every_warehouse(
    tmp_path, closing, request, monkeypatch, path
):
    """The attribution scenario on DuckDB, SQLite, PostgreSQL, MariaDB, ClickHouse (chDB) and
    Snowflake (fakesnow, pushdown only), summaries bucketed by the warehouse or from one narrow
    SELECT (SQLite always the latter): the same verdicts, the same sources, and scores within
    the sketches' accuracy."""
    if path == "pushdown":
        monkeypatch.setattr(drift_summaries, "LOCAL_MAX_ROWS", 0)
    frame, launch = attribution_frame(seed=9)
    url, schema_name = request.getfixturevalue("pg_schema")
    mysql_url = request.getfixturevalue("mysql_database")
    chdb_url = request.getfixturevalue("chdb_url")
    backends = [
        ("duckdb", None, None),
        ("sqlite", f"sqlite:///{tmp_path / 'sqlite' / 'wh.sqlite'}", None),
        ("postgresql", url, schema_name),
        ("mysql", mysql_url, None),
        ("clickhousedb", chdb_url, None),
    ]
    if path == "pushdown":  # the emulator is slow per statement; its local path is the same
        # narrow SELECT as everywhere (test_drift_summaries holds both paths equal there)
        backends.append(("snowflake", request.getfixturevalue("snowflake_url"), None))
    found = {}
    for backend, warehouse, schema_ in backends:
        home = tmp_path / backend
        home.mkdir(exist_ok=True)
        ctx = project(
            home,
            frame,
            reference=Window(T0, launch),
            start=launch,
            rules=ATTRIBUTION_RULE,
            cohorts="[plan, region]",
            warehouse=warehouse,
            schema_name=schema_,
        )
        closing.append(ctx)
        assert ctx.warehouse.dialect == backend
        run(ctx, launch, 2)
        found[backend] = verdicts(ctx, launch + H)
        assert alerts(ctx) == {("long_prompts", R2, "plan=enterprise")}, backend
    duck = found["duckdb"]
    assert len(duck) > 50
    for backend in [name for name, _, _ in backends if name != "duckdb"]:
        other = found[backend]
        assert sorted(other) == sorted(duck), backend
        for key, row in duck.items():
            mine = other[key]
            for field in ("drifted", "status", "explained_by", "n_current", "n_reference"):
                assert mine[field] == row[field], (backend, key, field)
            assert mine["method"] == row["method"], (backend, key)
            if row["score"] is not None:
                assert mine["score"] == pytest.approx(row["score"], rel=0.02, abs=1e-3), (
                    backend,
                    key,
                )


# --------------------------------------------------------------------------- bad input


def test_a_stored_summary_that_cannot_be_read_fails_the_window_and_holds_the_watermark(
    tmp_path, closing
):
    frame, launch = attribution_frame(seed=10)
    ctx = project(
        tmp_path,
        frame,
        reference=Window(T0, launch),
        start=launch,
        rules=ATTRIBUTION_RULE,
        cohorts="[plan, region]",
    )
    closing.append(ctx)
    run(ctx, launch, 1)
    assert ctx.store.watermark("bot") == launch + H
    with ctx.store.engine.begin() as conn:
        changed = conn.execute(
            sa.update(schema.summaries)
            .where(schema.summaries.c.stage == "drift", schema.summaries.c.cohort == "*")
            .values(payload=b"\x00garbage, not zlib")
        ).rowcount
    assert changed >= 1
    monitor = ctx.config.monitors.monitors[0]
    failed = run_window(ctx, monitor, Window(launch + H, launch + 2 * H))
    assert failed.status == "failed"
    assert "summary of bot 2026-11-02 06:00" in failed.error and "(drift)" in failed.error
    assert "cannot be read" in failed.error
    assert ctx.store.watermark("bot") == launch + H  # not moved
    assert not [r for r in ctx.store.drift("bot") if r["window_start"] == launch + H]
    assert ctx.store.runs("bot")[-1]["status"] == "failed"


def test_a_logged_latency_that_is_not_a_number_does_not_fail_drift(tmp_path, closing):
    """A TEXT latency column (teams log `fast`): drift reads it through `parse_numbers`, so
    the window succeeds and `fast` is missing, not 0."""
    rng = np.random.default_rng(11)
    launch = T0 + 6 * H
    frame = pd.concat(
        [
            requests(rng, T0, 6, 300, ("m1", "p1")),
            requests(rng, launch, 1, 300, ("m2", "p2")),
        ],
        ignore_index=True,
    )
    text = frame.latency_ms.map(repr).astype(object)
    text.iloc[::7] = "fast"
    frame["latency_ms"] = text
    ctx = project(
        tmp_path,
        frame,
        reference=Window(T0, launch),
        start=launch,
        rules=rule("latency_moved", "drift.latency_ms"),
    )
    closing.append(ctx)
    [result] = run(ctx, launch, 1)
    row = verdicts(ctx, launch)[(R2, "*", "latency_ms")]
    numbers = pd.to_numeric(frame.latency_ms, errors="coerce")
    mine = numbers[(frame.model_version == "m2").to_numpy()]
    assert row["n_current"] == mine.notna().sum() < 300
    assert not row["drifted"]  # `fast` read as 0 would have moved the distribution a lot
    assert result.drifted == ()


@pytest.mark.parametrize(
    ("setting", "where", "message"),
    [
        (
            "effect_floors: {wasserstein: 0}",
            "monitors[0].drift.effect_floors.wasserstein",
            "greater than 0",
        ),
        (
            "effect_floors: {jensenshannon: 0.9}",
            "monitors[0].drift.effect_floors.jensenshannon",
            "less than or equal to 0.83",
        ),
        ("effect_floors: {psi: .nan}", "monitors[0].drift.effect_floors.psi", "finite"),
        ("thresholds: {ks: 1.5}", "monitors[0].drift.thresholds.ks", "less than 1"),
        ("numeric_method: ks", "monitors[0].drift.numeric_method", "'wasserstein'"),
        ("period: 0h", "monitors[0].drift.period", "longer than zero"),
    ],
)
def test_a_drift_setting_out_of_range_is_a_config_error_with_its_position(
    tmp_path, setting, where, message
):
    text = MONITORS.format(
        cohorts="[]",
        start=T0.isoformat(),
        ref_start=T0.isoformat(),
        ref_end=(T0 + H).isoformat(),
        reports="false",
        extra=f"      {setting}\n",
        rules=rule("x", "drift_share"),
    )
    path = tmp_path / "monitors.yml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_monitors(path)
    [issue] = [str(i) for i in info.value.issues]
    line = next(i for i, t in enumerate(text.splitlines(), 1) if setting.split(":")[0] in t)
    assert issue.startswith(f"monitors.yml:{line}:"), issue
    assert f": {where}: " in issue and message in issue, issue
