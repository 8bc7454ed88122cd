"""Silences and inhibition: pure matching, then through run_window and the CLI."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from tests.alerts.test_slack import _alert
from typer.testing import CliRunner

from lookout.alerts.silences import active_silence, inhibited, parse_matchers
from lookout.cli import app
from lookout.model.alerts import Silence

NOW = datetime(2026, 11, 3, 15, tzinfo=UTC)


def _silence(**matchers) -> Silence:
    return Silence("s1", matchers, NOW - timedelta(hours=1), NOW + timedelta(hours=1))


def test_matchers_are_globs_over_alert_labels_and_expire():
    alert = _alert()
    assert active_silence(alert, [_silence(rule="p99_*", cohort="route=search")], NOW)
    assert active_silence(alert, [_silence(rule="p99_*", cohort="route=faq")], NOW) is None
    assert active_silence(alert, [_silence(severity="P1")], NOW + timedelta(hours=2)) is None
    assert parse_matchers(["cohort=region=apac", "rule=x"]) == {
        "cohort": "region=apac",
        "rule": "x",
    }
    for bad in (["colour=red"], ["rule"], []):
        with pytest.raises(ValueError):
            parse_matchers(bad)


def test_a_firing_p0_mutes_p1_and_p2_alerts_that_share_the_labels():
    p1 = _alert()
    p0 = replace(_alert(), fingerprint="other", severity="P0", cohort="region=apac", rule="errors")
    assert inhibited(p1, [p0]) == p0  # same monitor and release (the default)
    assert inhibited(p1, [p0], ["monitor", "release", "cohort"]) is None
    assert inhibited(p1, [replace(p0, state="resolved")]) is None
    assert inhibited(replace(p1, release="other@v1"), [p0]) is None
    assert inhibited(replace(p1, severity="P0"), [p0]) is None  # a P0 is never muted


def test_silence_cli_holds_back_messages_of_the_next_run(tmp_path, monkeypatch):
    from tests.conftest import T0
    from tests.test_pipeline import _ctx

    from lookout.pipeline import plan_windows, run_window

    ctx = _ctx(tmp_path, threshold=0.03)
    monitor = ctx.config.monitors.monitors[0]
    files = [
        "--profiles",
        str(tmp_path / "cfg" / "profiles.yml"),
        "--monitors",
        str(tmp_path / "cfg" / "monitors.yml"),
    ]
    runner = CliRunner()
    made = runner.invoke(
        app,
        [
            "alerts",
            *files,
            "silence",
            "--match",
            "rule=errors",
            "--for",
            "2h",
            "--comment",
            "known",
        ],
    )
    assert made.exit_code == 0, made.output
    silence_id = made.output.split()[1].rstrip(":")
    listed = runner.invoke(app, ["alerts", *files, "silences"])
    assert silence_id in listed.output and "rule=errors" in listed.output
    as_of = T0 + timedelta(hours=4)
    for window in plan_windows(ctx, monitor, as_of):
        run_window(ctx, monitor, window, as_of=as_of)
    assert ctx.store.alerts("bot")  # alerts still open and resolve...
    assert ctx.store.outbox() == []  # ...but nothing is sent while silenced
    ended = runner.invoke(app, ["alerts", *files, "unsilence", silence_id])
    assert ended.exit_code == 0 and ctx.store.silences(active_at=datetime.now(UTC)) == []
    assert runner.invoke(app, ["alerts", *files, "unsilence", "nope"]).exit_code == 1
    bad = runner.invoke(app, ["alerts", *files, "silence", "--match", "colour=red"])
    assert bad.exit_code == 2 and "unknown label 'colour'" in bad.output
    # a typo in a name would silence nothing, quietly: refused, naming what exists
    typo = runner.invoke(app, ["alerts", *files, "silence", "--match", "rule=eror*"])
    assert typo.exit_code == 2 and "no rule matches 'eror*'" in " ".join(typo.output.split())
    assert "errors" in typo.output
    glob = runner.invoke(app, ["alerts", *files, "silence", "--match", "rule=err*"])
    assert glob.exit_code == 0, glob.output  # a glob that matches a configured rule is fine
    ctx.close()


def test_ack_holds_back_one_alert_and_the_table_lists_it(tmp_path):
    from tests.conftest import T0
    from tests.test_pipeline import _ctx

    from lookout.pipeline import run_window
    from lookout.windows import Window

    ctx = _ctx(tmp_path, threshold=0.01)
    monitor = ctx.config.monitors.monitors[0]
    run_window(ctx, monitor, Window(T0, T0 + timedelta(hours=1)))
    files = [
        "--profiles",
        str(tmp_path / "cfg" / "profiles.yml"),
        "--monitors",
        str(tmp_path / "cfg" / "monitors.yml"),
    ]
    runner = CliRunner(env={"COLUMNS": "250"})
    listed = runner.invoke(app, ["alerts", *files])
    assert listed.exit_code == 0 and "Alerts firing:" in listed.output
    first = ctx.store.alerts("bot", state="firing")[0]
    assert first.fingerprint[:8] in listed.output
    acked = runner.invoke(app, ["alerts", *files, "ack", first.fingerprint[:8], "--for", "1h"])
    assert acked.exit_code == 0, acked.output
    [silence] = ctx.store.silences(active_at=datetime.now(UTC))
    assert silence.matchers == {"fingerprint": first.fingerprint}
    others = [a for a in ctx.store.alerts("bot", state="firing") if a is not first]
    assert all(active_silence(a, [silence], datetime.now(UTC)) is None for a in others[1:])
    assert active_silence(first, [silence], datetime.now(UTC)) == silence
    assert runner.invoke(app, ["alerts", *files, "ack", "zzzz"]).exit_code == 1
    ctx.close()
