"""`lookout releases`, `lookout results`, `compare` with a release prefix and the `alerts` list,
over a results store filled by real window runs: tables fit 80 columns when piped, numbers are
whole, long release names are shortened in the middle; json and csv carry every field."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from tests.conftest import T0, duckdb_project, make_requests
from typer.testing import CliRunner

from lookout.cli import app
from lookout.cli.tables import Column, fit_table, shorten_middle, shorten_pair
from lookout.pipeline import Context, run_window
from lookout.windows import Window

H = timedelta(hours=1)
MODEL = "gpt-4o-mini-2024-07-18-finetuned-customer-support"
V7, V8 = f"{MODEL}@support-v7", f"{MODEL}@support-v8"


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> tuple[Path, list[str]]:
    """Three hours of two releases with long names, run window by window (alerts fire)."""
    directory = tmp_path_factory.mktemp("results")
    frame = make_requests()
    frame["model_version"] = MODEL
    frame["prompt_version"] = np.where(frame["prompt_version"] == "p1", "support-v7", "support-v8")
    config = duckdb_project(directory, frame, threshold=0.01)
    ctx = Context.from_config(config)
    monitor = config.monitors.monitors[0]
    for hour in range(3):
        assert run_window(ctx, monitor, Window(T0 + hour * H, T0 + (hour + 1) * H)).status == (
            "succeeded"
        )
    ctx.close()
    cfg = directory / "cfg"
    return directory, [
        "--profiles",
        str(cfg / "profiles.yml"),
        "--monitors",
        str(cfg / "monitors.yml"),
    ]


def _cli(args: list[str], columns: int = 80):
    result = CliRunner(env={"COLUMNS": str(columns)}).invoke(app, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def test_shorten_middle_keeps_both_ends():
    assert shorten_middle("gpt-4o-mini-2024-07-18@support-v8", 19) == "gpt-4o-mi…upport-v8"
    assert shorten_middle("short", 10) == "short"
    assert len(shorten_middle(V8, 20)) == 20 and shorten_middle(V8, 20).endswith("support-v8")
    assert shorten_pair(f"{V8} · region=eu", 30).endswith("upport-v8 · region=eu")


def test_a_table_fits_its_width_and_never_cuts_numbers():
    columns = [Column("release", name=True), Column("n"), Column("p95")]
    rows = [[V7, "123,456", "12,345"], [V8, "7", "1"]]
    for width in (40, 80):  # at 80 the names fit whole; at 40 they are shortened
        table, used = fit_table(columns, rows, width)
        assert used <= width
        out = io.StringIO()
        from rich.console import Console

        Console(file=out, width=width).print(table)
        lines = out.getvalue().splitlines()
        assert max(len(line) for line in lines) <= width
        assert "123,456" in out.getvalue() and "12,345" in out.getvalue()
        names = [line.split()[0] for line in lines if line.startswith("gpt-")]
        assert names == (
            [V7, V8] if width == 80 else [shorten_middle(V7, 23), shorten_middle(V8, 23)]
        )


def test_releases_lists_first_and_last_seen_share_and_alerts(project):
    _, files = project
    data = _cli(["releases", "--format", "json", *files])
    assert data.exit_code == 0, data.output
    rows = {r["release"]: r for r in json.loads(data.output)}
    assert set(rows) == {V7, V8}
    assert sum(r["records"] for r in rows.values()) == 600
    assert sum(r["traffic_share"] for r in rows.values()) == pytest.approx(1.0)
    assert all(r["first_seen"] == "2026-11-02T00:00:00+00:00" for r in rows.values())
    assert all(r["last_seen"] == "2026-11-02T03:00:00+00:00" for r in rows.values())
    assert sum(r["open_alerts"] for r in rows.values()) > 0  # threshold 1%: errors fire

    table = _cli(["releases", *files])
    assert table.exit_code == 0
    lines = table.output.splitlines()
    assert max(map(len, lines)) <= 80
    for name, row in rows.items():
        [line] = [line for line in lines if line.startswith("gpt-") and name[-2:] in line]
        assert "…" in line and f"{row['records']:,}" in line.split()
        assert f"{row['traffic_share']:.1%}" in line.split()
    wide = _cli(["releases", *files], columns=200)
    assert V7 in wide.output and V8 in wide.output  # room: whole names


def test_results_table_json_and_csv_agree(project):
    _, files = project
    data = _cli(["results", "--format", "json", *files])
    assert data.exit_code == 0, data.output
    rows = {r["release"]: r for r in json.loads(data.output)}
    assert set(rows) == {V7, V8} and all(r["cohort"] == "*" for r in rows.values())
    assert sum(r["n"] for r in rows.values()) == 600
    table = _cli(["results", *files])
    assert table.exit_code == 0
    lines = table.output.splitlines()
    assert max(map(len, lines)) <= 80
    for name, row in rows.items():
        [line] = [line for line in lines if line.startswith("gpt-") and name[-2:] in line]
        cells = line.split()
        assert f"{row['n']:,}" in cells and f"{row['error_rate']:.2%}" in cells
        assert f"{row['latency_p95_ms']:,.0f}" in cells and f"{row['cost_usd']:.4f}" in cells
    text = _cli(["results", "--format", "csv", *files]).output
    parsed = {r["release"]: r for r in csv.DictReader(io.StringIO(text))}
    assert float(parsed[V8]["latency_p95_ms"]) == pytest.approx(rows[V8]["latency_p95_ms"])

    by_region = _cli(["results", "--cohort", "region", "--release", "support-v8", *files])
    assert by_region.exit_code == 0, by_region.output
    assert "region" in by_region.output and " eu " in by_region.output
    assert "v7" not in by_region.output
    period = _cli(["results", "--since", "2026-11-02T01:00", "--until", "2026-11-02T02:00",
                   "--format", "json", *files])  # fmt: skip
    one_hour = json.loads(period.output)
    assert all(r["windows"] == 1 for r in one_hour)
    assert sum(r["n"] for r in one_hour) < 600


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["results", "--release", MODEL], f"release '{MODEL}' of bot is ambiguous: it starts 2"),
        (["results", "--release", "nope"], "no stored results for release 'nope' of bot"),
        (["results", "--cohort", "colour"], "--cohort: unknown 'colour' (cohort columns:"),
        (["results", "--since", "soon"], "--since: 'soon' is not a date or date-time"),
        (["releases", "--monitor", "nope"], "unknown monitor 'nope' (known: bot)"),
        (["results", "--format", "xml"], "'xml' is not one of 'table', 'json', 'csv'"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(project, args, message):
    _, files = project
    result = _cli([*args, *files])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.replace("│", " ").split())


def test_compare_takes_a_unique_part_of_a_release_name(project):
    _, files = project
    common = ["compare", "--monitor", "bot", "--since", "2026-11-02", "--until", "2026-11-03"]
    ambiguous = _cli([*common, "--baseline", "gpt-4o", "--candidate", "support-v8", *files])
    assert ambiguous.exit_code == 2
    flat = " ".join(ambiguous.output.split())
    assert "release 'gpt-4o' of bot is ambiguous: it starts 2 stored releases" in flat
    assert V7 in flat and V8 in flat  # the candidates, whole
    compared = _cli([*common, "--baseline", "v7", "--candidate", "support-v8", *files], 200)
    assert compared.exit_code == 0, compared.output
    assert "worse" in compared.output and "lines" in compared.output
    assert "warning:" not in compared.output  # they served side by side all along


def test_compare_says_when_the_releases_served_apart_and_names_the_hours_both_served(tmp_path):
    """v7 serves hours 0-1, v8 hours 1-3: over the whole period each is compared on its own
    hours (a trial's baseline week held an incident the candidate never saw: "better, p =
    2e-61"); the warning names the hour both served, as the options that compare it."""
    frame = make_requests(hours=4)
    hour = (frame["event_time"] - T0.replace(tzinfo=None)).dt.total_seconds() // 3600
    first = np.where(np.arange(len(frame)) % 2 == 0, "support-v7", "support-v8")
    frame["prompt_version"] = np.select([hour == 0, hour == 1], ["support-v7", first], "support-v8")
    frame["model_version"] = MODEL
    config = duckdb_project(tmp_path, frame, threshold=0.9)
    ctx = Context.from_config(config)
    for i in range(4):
        window = Window(T0 + i * H, T0 + (i + 1) * H)
        assert run_window(ctx, config.monitors.monitors[0], window).status == "succeeded"
    ctx.close()
    files = ["--profiles", str(tmp_path / "cfg" / "profiles.yml")]
    files += ["--monitors", str(tmp_path / "cfg" / "monitors.yml")]
    common = ["compare", "--monitor", "bot", "--since", "2026-11-02", "--until", "2026-11-03"]
    result = _cli([*common, "--baseline", "v7", "--candidate", "v8", *files], 300)
    assert result.exit_code == 0, result.output
    [warning] = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert "they served side by side only from 2026-11-02 01:00 to 2026-11-02 02:00" in warning
    assert warning.endswith("--since 2026-11-02T01:00:00 --until 2026-11-02T02:00:00")
    fair = _cli(
        ["compare", "--monitor", "bot", "--since", "2026-11-02T01:00:00", "--until",
         "2026-11-02T02:00:00", "--baseline", "v7", "--candidate", "v8", *files],
        300,
    )  # fmt: skip
    assert fair.exit_code == 0, fair.output
    assert "warning:" not in fair.output


def test_the_alerts_list_shortens_release_names_in_the_middle(project):
    _, files = project
    listed = _cli(["alerts", *files])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    table = [line for line in lines if "runbook" not in line]
    assert max(map(len, table)) <= 80
    shortened = [line for line in table if "…" in line]
    assert shortened and all(re.search(r"…\S*-v[78] · ", line) for line in shortened)
    assert all(line.index("…") < line.index(" · ") for line in shortened)  # cohort whole
    assert sum("runbook https://runbooks.example.com/team/errors" in line for line in lines) >= 1
    # below the table, each alert's names whole, whatever the terminal's width
    assert any(f"bot · errors · {V8} · *: " in line for line in lines if "runbook" in line)


def test_results_leave_out_the_monitors_own_scope_which_holds_no_records(tmp_path):
    """A window without records validates the monitor's own scope (release `*`): `results`
    printed it as a release, `*  0  -  -  ...`, in every format."""
    config = duckdb_project(tmp_path)
    ctx = Context.from_config(config)
    monitor = config.monitors.monitors[0]
    for hour in (0, 4):  # the data ends at 03:00: 04:00-05:00 has no records
        assert run_window(ctx, monitor, Window(T0 + hour * H, T0 + (hour + 1) * H)).status == (
            "succeeded"
        )
    assert ("*", "*") in ctx.store.summaries("bot", T0, T0 + 5 * H, cached=False)  # stored
    ctx.close()
    cfg = tmp_path / "cfg"
    files = ["--profiles", str(cfg / "profiles.yml"), "--monitors", str(cfg / "monitors.yml")]
    rows = json.loads(_cli(["results", "--format", "json", *files]).output)
    assert {r["release"] for r in rows} == {"m1@p1", "m2@p2"}
    table = _cli(["results", *files]).output
    assert not [line for line in table.splitlines() if line.startswith("*")], table


def test_the_tokens_column_says_which_tokens_it_adds_up(project):
    from types import SimpleNamespace

    from lookout.cli.results import tokens_words

    _, files = project
    assert "tokens: mean per record (in + out)" in " ".join(
        _cli(["results", *files]).output.split()
    )

    def rows(*metrics):
        return [SimpleNamespace(metrics=m) for m in metrics]

    out_only = rows({"completion_tokens_mean": 231.0}, {"completion_tokens_mean": 240.0})
    assert tokens_words(out_only) == "out only: no in tokens stored"
    assert tokens_words(rows({"prompt_tokens_mean": 9.0})) == "in only: no out tokens stored"
    both = rows({"prompt_tokens_mean": 9.0}, {"completion_tokens_mean": 2.0})
    assert tokens_words(both) == "in + out"
