"""Status, feedback and release columns of any type, on real DuckDB, SQLite and PostgreSQL.

The same records are logged three ways (status as integer HTTP codes or as text, feedback as
booleans, integer thumbs or words, the release from a model name and an integer app version),
and configured with numbers, booleans or text. The ops metrics (pushdown and pandas), the
evaluator sampler, human labels and the `in_set` validation (SQL and DataFrame paths) must
give the same numbers whichever way, on every backend.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from tests.conftest import PROFILES_YAML, T0, write_table

from lookout.checks.evaluators.sampling import select_records
from lookout.checks.evaluators.summary import human_label
from lookout.checks.metrics import aggregate_frame, metrics_from_aggregates
from lookout.checks.validation.runner import GxRunner
from lookout.checks.validation.stage import plan_suite, run_validation
from lookout.compare.releases import compare_releases
from lookout.config.loader import load_config
from lookout.config.models import Monitor
from lookout.pipeline import Context, run_window
from lookout.sources.column_types import typed_values
from lookout.sources.warehouse import Warehouse, metric_fields
from lookout.stages.ops.stage import metric_settings
from lookout.windows import Window

WINDOW = Window(T0, T0 + timedelta(hours=1))
N = 60

# (status column, ok_statuses, feedback column, negative_feedback, validation statuses)
VARIANTS = {
    "int status, int thumbs": ("status_int", "[200, 201]", "fb_int", "[-1]", "[200, 201]"),
    "int status as quoted text, bool thumbs": (
        "status_int",
        '["200", "201"]',
        "fb_bool",
        "[false]",
        '["200", 201]',
    ),
    "text status, text feedback": ("status_text", "[200, 201]", "fb_text", "[DOWN]", "[200, 201]"),
    "bool status, quoted int thumbs": ("ok_bool", '["yes"]', "fb_int", '["-1"]', "[true]"),
}


def _frame() -> pd.DataFrame:
    """N records in the hour: status 200/201/500/404/NULL, thumbs down on half, the
    release from a model name and an integer app version (two releases)."""
    codes = [200, 201, 500, 404, None]  # period 5, the releases' 6: every release mixes
    status = [codes[i % len(codes)] for i in range(N)]
    down = [None if i % 7 == 3 else i % 4 in (0, 1) for i in range(N)]
    return pd.DataFrame(
        {
            "request_id": [f"r{i:03d}" for i in range(N)],
            "event_time": [(T0 + timedelta(seconds=50 * i)).replace(tzinfo=None) for i in range(N)],
            "model_name": ["gpt" if i % 2 else "llama" for i in range(N)],
            "app_version": pd.array([3 if i % 3 else 4 for i in range(N)], dtype="Int64"),
            "status_int": pd.array(status, dtype="Int64"),
            "status_text": [None if s is None else str(s) for s in status],
            "ok_bool": pd.array([None if s is None else s < 300 for s in status], "boolean"),
            "fb_int": pd.array([None if d is None else (-1 if d else 1) for d in down], "Int64"),
            # thumbs up as a boolean: false is the negative one
            "fb_bool": pd.array([None if d is None else not d for d in down], dtype="boolean"),
            "fb_text": [None if d is None else ("down" if d else "up") for d in down],
            "latency_ms": [100.0 + i for i in range(N)],
        }
    )


def _monitors(table: str, schema: str | None, variant: str, pushdown: str) -> str:
    status, ok, feedback, negative, statuses = VARIANTS[variant]
    schema_line = f"      schema: {schema}\n" if schema else ""
    return f"""
owners:
  team: {{slack_users: [U0TEAM01], channel: "#team"}}
monitors:
  - name: bot
    source:
      table: {table}
{schema_line}      columns:
        record_id: request_id
        ts: event_time
        status: {status}
        feedback: {feedback}
        latency_ms: latency_ms
      release: [model_name, app_version]
      ok_statuses: {ok}
      negative_feedback: {negative}
    metrics: {{pushdown: {pushdown}}}
    validation:
      statuses: {statuses}
      pushdown: {pushdown}
    rules:
      - {{name: errors, metric: error_rate, op: ">", threshold: 0.5, owner: team}}
"""


def _url(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> tuple[str, str | None]:
    if kind == "duckdb":
        return f"duckdb:///{tmp_path / 'wh.duckdb'}", None
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'wh.sqlite'}", None
    return request.getfixturevalue("pg_schema")


@pytest.fixture(params=["duckdb", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path):
    url, schema = _url(request.param, tmp_path, request)
    engine = sa.create_engine(url)
    write_table(engine, _frame(), schema=schema)
    engine.dispose()
    warehouse = Warehouse(url)
    yield url, schema, warehouse
    warehouse.dispose()


def _monitor(tmp_path: Path, url: str, schema: str | None, variant: str, pushdown: str) -> Monitor:
    folder = tmp_path / f"cfg-{abs(hash((variant, pushdown)))}"
    folder.mkdir()
    (folder / "monitors.yml").write_text(_monitors("app_requests", schema, variant, pushdown))
    (folder / "profiles.yml").write_text(
        PROFILES_YAML.format(warehouse=url, store=f"sqlite:///{folder}/s.sqlite", out_dir=folder)
    )
    return load_config(folder / "profiles.yml", folder / "monitors.yml").monitors.monitors[0]


def _truth() -> dict[str, tuple[float, float, int]]:
    """Per release, hand-computed from the frame: (error rate, negative feedback rate, the
    non-null statuses outside [200, 201])."""
    frame = _frame()
    frame["release"] = frame["model_name"] + "@" + frame["app_version"].astype(str)
    out = {}
    for release, part in frame.groupby("release"):
        known = part["status_int"].dropna()
        errors = int((~known.isin([200, 201])).sum())
        fb = part["fb_int"].dropna()
        out[str(release)] = (errors / len(known), float((fb == -1).mean()), errors)
    return out


def _rates(metrics) -> dict[tuple[str, str], float]:
    return {
        (m.release, m.metric): round(m.value, 12)
        for m in metrics
        if m.cohort == "*" and m.metric in ("error_rate", "negative_feedback_rate")
    }


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_metrics_sampler_and_labels_agree_whatever_the_types(backend, tmp_path, variant):
    url, schema, warehouse = backend
    truth = _truth()
    assert set(truth) == {"gpt@3", "gpt@4", "llama@3", "llama@4"}
    expected = {}
    for release, (error_rate, negative_rate, _) in truth.items():
        expected[(release, "error_rate")] = round(error_rate, 12)
        expected[(release, "negative_feedback_rate")] = round(negative_rate, 12)
    assert min(expected.values()) > 0 and max(expected.values()) < 1
    monitor = _monitor(tmp_path, url, schema, variant, "off")
    warehouse.check_monitor(monitor, 0)  # the types fit their roles, the values their columns

    settings = metric_settings(monitor, warehouse)
    frame = warehouse.read_window(monitor, WINDOW, metric_fields(monitor.source))
    in_pandas = metrics_from_aggregates(
        aggregate_frame(frame, monitor.source.release, [], settings)
    )
    assert _rates(in_pandas) == expected
    if warehouse.supports_pushdown:
        in_sql = metrics_from_aggregates(warehouse.aggregate_window(monitor, WINDOW, settings))
        assert _rates(in_sql) == expected

    # the evaluator sampler flags exactly the errors and the negative feedback
    source = monitor.source
    frame = warehouse.read_window(monitor, WINDOW, ["record_id", "status", "feedback"])
    columns = warehouse.table_columns(source)
    selection = select_records(
        frame,
        share=0.0,
        strata=[],
        ok_statuses=typed_values(source, columns, "status", source.ok_statuses),
        negative_feedback=typed_values(source, columns, "feedback", source.negative_feedback),
    )
    raw = _frame().set_index("request_id")
    errors = {i for i, s in raw["status_int"].items() if pd.notna(s) and s not in (200, 201)}
    negative = {i for i, d in raw["fb_int"].items() if pd.notna(d) and d == -1}
    flagged = dict(selection.reasons)
    assert {i for i, why in flagged.items() if "error" in why} == errors
    assert {i for i, why in flagged.items() if "negative_feedback" in why} == negative
    # not every record (the bug: every integer status was an error, all went to the judges)
    assert len(flagged) == len(errors | negative) < N

    # human labels from the same feedback
    negatives = typed_values(source, columns, "feedback", source.negative_feedback)
    labels = {
        r: human_label(f, None, negatives)
        for r, f in zip(frame["record_id"], frame["feedback"], strict=True)
    }
    assert {r for r, label in labels.items() if label == "fail"} == negative
    assert sum(label is None for label in labels.values()) == raw["fb_int"].isna().sum()


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("pushdown", ["on", "off"])
def test_status_in_set_passes_good_rows_and_fails_bad_ones_on_both_paths(
    backend, tmp_path, variant, pushdown
):
    url, schema, warehouse = backend
    monitor = _monitor(tmp_path, url, schema, variant, pushdown)
    runner = GxRunner()
    try:
        result = run_validation(
            warehouse,
            monitor,
            WINDOW,
            planned=plan_suite(monitor),
            runner=runner,
            connection_string=url,
        )
    finally:
        runner.close()
    sql = pushdown == "on" and warehouse.dialect in ("duckdb", "postgresql", "sqlite")
    assert result.path == ("sql" if sql else "pandas")
    assert result.errored == 0, [o.error for o in result.outcomes if o.error]
    in_set = {o.release: o for o in result.outcomes if o.name == "in_set_status"}
    truth = _truth()
    assert set(in_set) == set(truth)
    for release, (_, _, bad) in truth.items():
        outcome = in_set[release]
        assert outcome.unexpected_count == bad, (release, outcome)
        assert outcome.status == ("failed" if bad else "passed")
    # the release fields (an extra text column and an integer one) are checked too
    not_null = {o.name for o in result.outcomes if o.kind == "not_null"}
    assert {"not_null_model_name", "not_null_app_version"} <= not_null


def _config(tmp_path: Path, url: str, schema: str | None, variant: str, pushdown: str):
    folder = tmp_path / f"run-{pushdown}"
    folder.mkdir()
    (folder / "monitors.yml").write_text(_monitors("app_requests", schema, variant, pushdown))
    (folder / "profiles.yml").write_text(
        PROFILES_YAML.format(warehouse=url, store=f"sqlite:///{folder}/s.sqlite", out_dir=folder)
    )
    return load_config(folder / "profiles.yml", folder / "monitors.yml")


def test_a_window_run_stores_releases_from_any_columns_the_same_on_both_metric_paths(
    backend, tmp_path
):
    """`release: [model_name, app_version]` (text + integer) with an integer status and boolean
    thumbs, through run_window: the stored metrics name the releases `gpt@3`..., equal the
    hand-computed rates on the pushdown and pandas paths, validation passes nothing it should
    not, and compare reads the same releases back from the warehouse."""
    url, schema, _ = backend
    truth = _truth()
    stored = {}
    paths = ["off", "on"] if not url.startswith("sqlite") else ["off"]
    for pushdown in paths:
        variant = "int status as quoted text, bool thumbs"
        config = _config(tmp_path, url, schema, variant, pushdown)
        ctx = Context.from_config(config)
        monitor = config.monitors.monitors[0]
        try:
            result = run_window(ctx, monitor, WINDOW, as_of=WINDOW.end + timedelta(hours=1))
            assert result.status == "succeeded", result.error
            assert result.errored_expectations == 0
            rows = ctx.store.metrics("bot", cohort="*")
            stored[pushdown] = {
                (r["release"], r["metric"]): (round(r["value"], 12), r["n"])
                for r in rows
                if r["metric"] in ("error_rate", "negative_feedback_rate", "request_count")
            }
            validations = ctx.store.validations("bot")
            failed = {
                r["release"]: r["unexpected_count"]
                for r in validations
                if r["expectation"] == "in_set_status"
            }
            assert failed == {r: bad for r, (_, _, bad) in truth.items()}
            comparison = compare_releases(
                ctx.store,
                ctx.warehouse,
                monitor,
                "gpt@3",
                "llama@4",
                WINDOW.start,
                WINDOW.end,
                min_n=1,
            )
            assert {line.metric for line in comparison.lines} >= {"error_rate"}
            assert all(line.baseline_n > 0 and line.candidate_n > 0 for line in comparison.lines)
        finally:
            ctx.close()
    for release, (error_rate, negative_rate, _) in truth.items():
        got = stored["off"]
        assert got[(release, "error_rate")][0] == round(error_rate, 12)
        assert got[(release, "negative_feedback_rate")][0] == round(negative_rate, 12)
    if len(stored) == 2:
        assert stored["on"] == stored["off"]
