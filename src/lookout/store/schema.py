"""Results store schema (SQLAlchemy Core). Alembic migrations create it; a test keeps both equal.

Every row is keyed by monitor and window so a window's results can be replaced as a whole.
Times are stored as naive UTC (SQLite has no time zones); `lookout.store.results` converts.
Later stages add their tables (validations, drift, judgments) in new migrations.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "alert_history",
    "alerts",
    "drift",
    "drift_profiles",
    "metadata",
    "metrics",
    "outbox",
    "quarantine",
    "runs",
    "summaries",
    "validations",
    "watermarks",
    "windows",
]

metadata = sa.MetaData()

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("monitor", sa.String(128), nullable=False),
    sa.Column("window_start", sa.DateTime(), nullable=False),
    sa.Column("window_end", sa.DateTime(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("started_at", sa.DateTime(), nullable=False),
    sa.Column("finished_at", sa.DateTime(), nullable=True),
    sa.Column("rows_read", sa.Integer(), nullable=True),
    sa.Column("metric_path", sa.String(16), nullable=True),
    sa.Column("error", sa.Text(), nullable=True),
    sa.Column("flow_run_id", sa.String(64), nullable=True),
    sa.Index("ix_runs_monitor_window", "monitor", "window_start"),
)

windows = sa.Table(
    "windows",
    metadata,
    sa.Column("monitor", sa.String(128), primary_key=True),
    sa.Column("window_start", sa.DateTime(), primary_key=True),
    sa.Column("window_end", sa.DateTime(), nullable=False),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("rows", sa.Integer(), nullable=False),
    sa.Column("max_ingested_at", sa.DateTime(), nullable=True),
    sa.Column("computed_at", sa.DateTime(), nullable=False),
    sa.Column("quarantined", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("flag", sa.Text(), nullable=True),
)

metrics = sa.Table(
    "metrics",
    metadata,
    sa.Column("monitor", sa.String(128), primary_key=True),
    sa.Column("window_start", sa.DateTime(), primary_key=True),
    sa.Column("release", sa.String(256), primary_key=True),
    sa.Column("cohort", sa.String(256), primary_key=True),
    sa.Column("metric", sa.String(128), primary_key=True),
    sa.Column("window_end", sa.DateTime(), nullable=False),
    sa.Column("value", sa.Float(), nullable=False),
    sa.Column("n", sa.Integer(), nullable=False),
    sa.Column("ci_low", sa.Float(), nullable=True),
    sa.Column("ci_high", sa.Float(), nullable=True),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Index("ix_metrics_release", "monitor", "release", "metric"),
)

watermarks = sa.Table(
    "watermarks",
    metadata,
    sa.Column("monitor", sa.String(128), primary_key=True),
    sa.Column("frontier", sa.DateTime(), nullable=False),
    sa.Column("updated_at", sa.DateTime(), nullable=False),
    sa.Column("run_id", sa.String(64), nullable=True),
)

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("fingerprint", sa.String(64), primary_key=True),
    sa.Column("monitor", sa.String(128), nullable=False),
    sa.Column("rule", sa.String(128), nullable=False),
    sa.Column("release", sa.String(256), nullable=False),
    sa.Column("cohort", sa.String(256), nullable=False),
    sa.Column("metric", sa.String(128), nullable=False),
    sa.Column("severity", sa.String(4), nullable=False),
    sa.Column("owner", sa.String(128), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("op", sa.String(2), nullable=False),
    sa.Column("threshold", sa.Float(), nullable=False),
    sa.Column("value", sa.Float(), nullable=False),
    sa.Column("n", sa.Integer(), nullable=False),
    sa.Column("first_window_start", sa.DateTime(), nullable=False),
    sa.Column("last_window_start", sa.DateTime(), nullable=False),
    sa.Column("opened_at", sa.DateTime(), nullable=False),
    sa.Column("updated_at", sa.DateTime(), nullable=False),
    sa.Column("resolved_at", sa.DateTime(), nullable=True),
    sa.Column("runbook", sa.Text(), nullable=True),
    sa.Column("last_notified_window", sa.DateTime(), nullable=True),  # for reminders
    sa.Column("reference", sa.Float(), nullable=True),  # change rules
    sa.Column("reference_label", sa.Text(), nullable=True),
    # persistence (`for`) and hysteresis (`keep_firing_for`)
    sa.Column("breaches", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("last_breach_window", sa.DateTime(), nullable=True),
    sa.Column("resolved_before", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("pooled_from", sa.DateTime(), nullable=True),  # value pooled from this start
    sa.Column("flaps", sa.Integer(), nullable=False, server_default="0"),  # reopens in a row
    sa.Index("ix_alerts_monitor_state", "monitor", "state"),
)

# Every transition of every alert (the `alerts` row keeps only the latest state): episodes are
# open..resolve spans of one fingerprint (see `lookout.store.history`).
alert_history = sa.Table(
    "alert_history",
    metadata,
    sa.Column("fingerprint", sa.String(64), primary_key=True),
    sa.Column("window_start", sa.DateTime(), primary_key=True),
    sa.Column("event", sa.String(16), primary_key=True),  # open, escalate, resolve, stale...
    sa.Column("window_end", sa.DateTime(), nullable=False),
    sa.Column("monitor", sa.String(128), nullable=False),
    sa.Column("rule", sa.String(128), nullable=False),
    sa.Column("release", sa.String(256), nullable=False),
    sa.Column("cohort", sa.String(256), nullable=False),
    sa.Column("metric", sa.String(128), nullable=False),
    sa.Column("severity", sa.String(4), nullable=False),
    sa.Column("previous_severity", sa.String(4), nullable=True),
    sa.Column("value", sa.Float(), nullable=False),
    sa.Column("n", sa.Integer(), nullable=False),
    sa.Column("threshold", sa.Float(), nullable=False),
    sa.Column("reference", sa.Float(), nullable=True),
    sa.Column("reference_label", sa.Text(), nullable=True),
    sa.Column("first_window_start", sa.DateTime(), nullable=False),  # first breaching window
    sa.Column("at", sa.DateTime(), nullable=False),  # when the run recorded it
    sa.Column("notified", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("note", sa.Text(), nullable=True),  # why not paged (catch-up), stale's last data
    sa.Index("ix_alert_history_rule", "monitor", "rule", "window_start"),
)

# Mergeable per-window summaries per release x cohort and stage (zlib JSON of
# `lookout.core.summary.Summary`): every metric at any lookback is a merge of these.
summaries = sa.Table(
    "summaries",
    metadata,
    sa.Column("monitor", sa.String(128), primary_key=True),
    sa.Column("window_start", sa.DateTime(), primary_key=True),
    sa.Column("release", sa.String(256), primary_key=True),
    sa.Column("cohort", sa.String(256), primary_key=True),
    sa.Column("stage", sa.String(32), primary_key=True),
    sa.Column("window_end", sa.DateTime(), nullable=False),
    sa.Column("payload", sa.LargeBinary(), nullable=False),
    sa.Column("run_id", sa.String(64), nullable=False),
)

# The neutral outbox: messages before any channel's syntax, with their destination and explicit
# references (the group or digest a message is delivered inside, the thread it replies to, the
# message it edits), delivered in order per alert and destination (`lookout.notify.delivery`).
outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("message_id", sa.String(64), primary_key=True),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("monitor", sa.String(128), nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=True),
    sa.Column("channel", sa.String(128), nullable=True),
    sa.Column("payload", sa.Text(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("last_error", sa.Text(), nullable=True),
    sa.Column("sent_at", sa.DateTime(), nullable=True),
    sa.Column("remote_id", sa.String(255), nullable=True),  # Slack ts, email Message-ID...
    sa.Column("remote_channel", sa.String(64), nullable=True),  # the id Slack answered with
    # a send that may have reached the channel started then (a kill or timeout left it in doubt)
    sa.Column("sending_at", sa.DateTime(), nullable=True),
    sa.Column("channel_type", sa.String(16), nullable=False, server_default="slack"),
    sa.Column("owner", sa.String(128), nullable=True),
    sa.Column("severity", sa.String(8), nullable=True),
    sa.Column("seq", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("group_id", sa.String(64), nullable=True),
    sa.Column("digest_day", sa.String(10), nullable=True),
    sa.Column("reply_to", sa.String(64), nullable=True),
    sa.Column("edits", sa.String(64), nullable=True),
    sa.Column("format", sa.String(16), nullable=False, server_default="blockkit"),
    sa.Index("ix_outbox_status", "status", "created_at"),
    sa.Index("ix_outbox_fingerprint", "fingerprint", "channel_type"),
    sa.Index("ix_outbox_group", "group_id"),
)

validations = sa.Table(
    "validations",
    metadata,
    sa.Column("monitor", sa.String(128), primary_key=True),
    sa.Column("window_start", sa.DateTime(), primary_key=True),
    sa.Column("release", sa.String(256), primary_key=True),
    sa.Column("expectation", sa.String(128), primary_key=True),
    sa.Column("window_end", sa.DateTime(), nullable=False),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("column_name", sa.String(128), nullable=True),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("element_count", sa.Integer(), nullable=True),
    sa.Column("unexpected_count", sa.Integer(), nullable=True),
    sa.Column("unexpected_percent", sa.Float(), nullable=True),
    sa.Column("observed", sa.Text(), nullable=True),
    sa.Column("examples", sa.Text(), nullable=True),
    sa.Column("path", sa.String(16), nullable=False),
    sa.Column("error", sa.Text(), nullable=True),
    sa.Column("run_id", sa.String(64), nullable=False),
)

quarantine = sa.Table(
    "quarantine",
    metadata,
    sa.Column("monitor", sa.String(128), primary_key=True),
    sa.Column("window_start", sa.DateTime(), primary_key=True),
    sa.Column("record_id", sa.String(256), primary_key=True),
    sa.Column("release", sa.String(256), nullable=False),
    sa.Column("reasons", sa.Text(), nullable=False),
    sa.Column("run_id", sa.String(64), nullable=False),
)

drift = sa.Table(
    "drift",
    metadata,
    sa.Column("monitor", sa.String(128), primary_key=True),
    sa.Column("window_start", sa.DateTime(), primary_key=True),
    sa.Column("release", sa.String(256), primary_key=True),
    sa.Column("cohort", sa.String(256), primary_key=True),
    sa.Column("column_name", sa.String(128), primary_key=True),
    sa.Column("window_end", sa.DateTime(), nullable=False),
    sa.Column("reference", sa.String(512), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("method", sa.String(32), nullable=False),
    sa.Column("score", sa.Float(), nullable=True),
    sa.Column("threshold", sa.Float(), nullable=False),
    sa.Column("drifted", sa.Boolean(), nullable=True),
    sa.Column("status", sa.String(24), nullable=False),
    sa.Column("n_reference", sa.Integer(), nullable=False),
    sa.Column("n_current", sa.Integer(), nullable=False),
    sa.Column("report_path", sa.Text(), nullable=True),
    sa.Column("run_id", sa.String(64), nullable=False),
    # the verdict pools [period_start, window_end) (migration 0010)
    sa.Column("period_start", sa.DateTime(), nullable=True),
    sa.Column("feature_group", sa.String(128), nullable=True),
    sa.Column("gate", sa.String(32), nullable=True),  # the small-sample test it also needed
    sa.Column("gate_p", sa.Float(), nullable=True),
    sa.Column("gate_level", sa.Float(), nullable=True),
    sa.Column("explained_by", sa.String(256), nullable=True),  # a cohort of the same release
    sa.Column("shift", sa.String(256), nullable=True),  # which way it moved (migration 0015)
)

# Reference summaries, computed once per (monitor, reference key) and reused every window.
drift_profiles = sa.Table(
    "drift_profiles",
    metadata,
    sa.Column("monitor", sa.String(128), primary_key=True),
    sa.Column("profile_key", sa.String(64), primary_key=True),
    sa.Column("description", sa.Text(), nullable=False),
    sa.Column("profile", sa.Text(), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
)

# Every judgment of an evaluator, keyed so a re-run or a backfill re-judges nothing: a record is
# judged once per (evaluator, evaluator version). Written as soon as it is paid for, not with the
# window's commit, so a failed run never throws away judgments it spent money on.
judgments = sa.Table(
    "judgments",
    metadata,
    sa.Column("monitor", sa.String(128), primary_key=True),
    sa.Column("record_id", sa.String(256), primary_key=True),
    sa.Column("evaluator", sa.String(128), primary_key=True),
    sa.Column("evaluator_version", sa.String(64), primary_key=True),
    sa.Column("window_start", sa.DateTime(), nullable=False),
    sa.Column("release", sa.String(256), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("score", sa.Float(), nullable=True),
    sa.Column("label", sa.String(8), nullable=True),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("prompt_tokens", sa.Integer(), nullable=False),
    sa.Column("completion_tokens", sa.Integer(), nullable=False),
    sa.Column("cost_usd", sa.Float(), nullable=False),
    sa.Column("latency_ms", sa.Float(), nullable=False),
    sa.Column("judged_at", sa.DateTime(), nullable=False),
)
sa.Index("ix_judgments_window", judgments.c.monitor, judgments.c.window_start)

# Silences: while one is active, alerts matching all its matchers change state but send nothing.
silences = sa.Table(
    "silences",
    metadata,
    sa.Column("silence_id", sa.String(32), primary_key=True),
    sa.Column("matchers", sa.Text(), nullable=False),  # JSON {label: glob}
    sa.Column("starts_at", sa.DateTime(), nullable=False),
    sa.Column("ends_at", sa.DateTime(), nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("comment", sa.Text(), nullable=False),
)
