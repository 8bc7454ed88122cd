"""Routes by severity through the real path: windows run, their alerts queued per owner route,
delivered by the real clients to a fake Slack, a fake PagerDuty Events API and an aiosmtpd
relay on 127.0.0.1. A P0 pages (PagerDuty trigger) and mails; a P1 mails; everything goes to
Slack; `lookout alerts ack` acknowledges the incident; the P0's resolve resolves it."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa
from tests.conftest import T0, make_requests, write_config, write_table
from tests.fake_pagerduty import fake_pagerduty_server
from tests.fake_smtp import fake_smtp_server
from tests.fakes import fake_slack_server
from tests.fixtures.fake_secrets import FAKE_PD_ROUTING_KEY, FAKE_SLACK_TOKEN, FAKE_SMTP_PASSWORD
from typer.testing import CliRunner

from lookout.cli import app
from lookout.config.loader import load_config
from lookout.notify.delivery import deliver, make_channels
from lookout.pipeline import Context, run_window
from lookout.windows import Window

H = timedelta(hours=1)

RULES = """
      - {name: errors_p0, metric: error_rate, op: ">", threshold: 0.3, min_n: 50, "for": 1,
         significance: false, severity: P0, owner: team, split_by: ["*"]}
      - {name: errors_p1, metric: error_rate, op: ">", threshold: 0.1, min_n: 50, "for": 1,
         significance: false, severity: P1, owner: team, split_by: ["*"]}
"""


def _frame() -> pd.DataFrame:
    """Hour 0: half the requests fail (both rules breach); hour 1: all is well."""
    frame = make_requests(hours=2, per_hour=200)
    frame["model_version"], frame["prompt_version"] = "m1", "p1"
    first_hour = frame["event_time"] < pd.Timestamp(T0.replace(tzinfo=None)) + pd.Timedelta(hours=1)
    rng = np.random.default_rng(3)
    frame["status"] = np.where(first_hour & (rng.random(len(frame)) < 0.5), "error", "ok")
    return frame


def _project(tmp_path, slack, pagerduty, relay):
    warehouse = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    engine = sa.create_engine(warehouse)
    write_table(engine, _frame())
    engine.dispose()
    cfg = tmp_path / "cfg"
    write_config(cfg, warehouse=warehouse, store=f"sqlite:///{tmp_path / 'r.sqlite'}")
    monitors = (cfg / "monitors.yml").read_text()
    head, _, _ = monitors.partition("    rules:\n")
    head = head.replace(
        "    runbook_base: https://runbooks.example.com/team\n",
        "    runbook_base: https://runbooks.example.com/team\n"
        "    email: {to: [oncall@example.com], min_severity: P1}\n"
        "    pagerduty: {routing_key: \"{{ env_var('TEST_PD_KEY') }}\", min_severity: P0}\n",
    )
    head = head.replace("monitors:\n", "alerting: {inhibit: false}\nmonitors:\n", 1)
    (cfg / "monitors.yml").write_text(
        head + "    validation: {enabled: false}\n    rules:\n" + RULES.lstrip("\n")
    )
    profiles = (cfg / "profiles.yml").read_text() + (
        f"    email:\n"
        f"      host: 127.0.0.1\n"
        f"      port: {relay.port}\n"
        f"      username: lookout\n"
        f"      password: \"{{{{ env_var('TEST_SMTP_PASSWORD') }}}}\"\n"
        f"      sender: lookout@example.com\n"
        f"      ca_file: {relay.ca_file}\n"
        f"      timeout_s: 5\n"
        f'    pagerduty: {{events_url: "{pagerduty.url}", backoff_s: 0.01}}\n'
    )
    (cfg / "profiles.yml").write_text(profiles)
    return cfg


def test_a_p0_pages_mails_and_posts_is_acknowledged_and_its_resolve_resolves_the_incident(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("TEST_PD_KEY", FAKE_PD_ROUTING_KEY)
    monkeypatch.setenv("TEST_SMTP_PASSWORD", FAKE_SMTP_PASSWORD)
    with (
        fake_slack_server() as slack,
        fake_pagerduty_server() as pagerduty,
        fake_smtp_server(tmp_path, username="lookout", password=FAKE_SMTP_PASSWORD) as relay,
    ):
        monkeypatch.setenv("TEST_SLACK_TOKEN", FAKE_SLACK_TOKEN)
        monkeypatch.setenv("TEST_SLACK_BASE_URL", slack.base_url)
        cfg = _project(tmp_path, slack, pagerduty, relay)
        config = load_config(cfg / "profiles.yml", cfg / "monitors.yml")
        ctx = Context.from_config(config)
        monitor = config.monitors.monitors[0]
        channels = make_channels(config.target, ctx.out_dir, config.monitors.owners)
        assert run_window(ctx, monitor, Window(T0, T0 + H)).status == "succeeded"
        first = deliver(ctx.store.outbox_repo, channels)
        assert first.failed == ()
        # Slack: one grouped message for the two alerts; email: the same group, one mail;
        # PagerDuty: the P0 only, dedup key = its fingerprint
        [p0] = [a for a in ctx.store.alerts("bot") if a.rule == "errors_p0"]
        assert len(slack.posted) == 1
        assert [e["event_action"] for e in pagerduty.accepted] == ["trigger"]
        assert pagerduty.accepted[0]["dedup_key"] == p0.fingerprint
        assert pagerduty.accepted[0]["payload"]["severity"] == "critical"
        [mail] = relay.received
        assert mail.tls and mail.rcpt_tos == ["oncall@example.com"]
        body = mail.message.get_body(("plain",)).get_content()
        assert "errors_p0" in body and "errors_p1" in body

        # on-call acknowledges: PagerDuty hears at once
        ack = CliRunner().invoke(
            app,
            [
                "alerts",
                "--profiles",
                str(cfg / "profiles.yml"),
                "--monitors",
                str(cfg / "monitors.yml"),
                "ack",
                p0.fingerprint[:8],
            ],
        )
        assert ack.exit_code == 0, ack.output
        assert [e["event_action"] for e in pagerduty.accepted] == ["trigger", "acknowledge"]

        # the next hour is fine: both resolve; PagerDuty's incident is resolved, mail and Slack
        # hear of both (the acknowledgement does not hold back the end of the alert)
        assert run_window(ctx, monitor, Window(T0 + H, T0 + 2 * H)).status == "succeeded"
        second = deliver(ctx.store.outbox_repo, channels)
        assert second.failed == ()
        assert [e["event_action"] for e in pagerduty.accepted] == [
            "trigger",
            "acknowledge",
            "resolve",
        ]
        assert {e["dedup_key"] for e in pagerduty.accepted} == {p0.fingerprint}
        assert len(relay.received) == 3  # the group, then a resolve each
        replies = [p for p in slack.posted[1:] if p.get("thread_ts") == slack.posted[0]["ts"]]
        assert len(replies) == 2
        assert ctx.store.outbox(status="pending") == []
        # no secret reached a stored row
        stored = str([(r.payload, r.last_error) for r in ctx.store.outbox()])
        assert FAKE_PD_ROUTING_KEY not in stored and FAKE_SMTP_PASSWORD not in stored
        ctx.close()
