"""A neutral outbox: messages are stored before any channel's syntax, with their destination and
explicit references in columns (no JSON `LIKE` to find a group or a digest).

New columns: `channel_type` (slack, webhook, email, pagerduty, file), `owner`, `severity`,
`seq` (order within one enqueue), `group_id` (the group or digest message a message is
delivered inside), `digest_day` (a P2 opening held for its day's digest), `reply_to` (the
message whose thread it belongs in), `edits` (the message it replaces), `format` (`neutral`,
or `blockkit` for rows queued before this migration, sent as they are).
`slack_ts`/`slack_channel` become `remote_id`/`remote_channel` (a Slack ts, an email
Message-ID, a PagerDuty dedup key).

Pending rows are carried over: their kinds renamed, their group and digest markers moved out
of the payload into the columns, and each reply or edit pointed at the opening message of its
alert that was newest when it was queued (what delivery used to look up at send time).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

KINDS = {
    "alert_opened": "open",
    "alert_reopened": "reopen",
    "alert_resolved": "resolve",
    "alert_reminder": "reminder",
    "alert_severity_changed": "severity_change",
    "alert_update": "update",
    "alert_digest": "digest",
    "monitor_failure": "failure",
}
OPENINGS = ("open", "reopen")


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.alter_column(
            "slack_ts", new_column_name="remote_id", type_=sa.String(255), existing_nullable=True
        )
        batch.alter_column("slack_channel", new_column_name="remote_channel")
        batch.add_column(
            sa.Column("channel_type", sa.String(16), nullable=False, server_default="slack")
        )
        batch.add_column(sa.Column("owner", sa.String(128), nullable=True))
        batch.add_column(sa.Column("severity", sa.String(8), nullable=True))
        batch.add_column(sa.Column("seq", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("group_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("digest_day", sa.String(10), nullable=True))
        batch.add_column(sa.Column("reply_to", sa.String(64), nullable=True))
        batch.add_column(sa.Column("edits", sa.String(64), nullable=True))
        batch.add_column(
            sa.Column("format", sa.String(16), nullable=False, server_default="blockkit")
        )
        batch.create_index("ix_outbox_fingerprint", ["fingerprint", "channel_type"])
        batch.create_index("ix_outbox_group", ["group_id"])
    _carry_over()


def _carry_over() -> None:
    """Old rows: kinds renamed; pending ones get their references as columns."""
    bind = op.get_bind()
    outbox = sa.table(
        "outbox",
        sa.column("message_id", sa.String),
        sa.column("created_at", sa.DateTime),
        sa.column("kind", sa.String),
        sa.column("fingerprint", sa.String),
        sa.column("payload", sa.Text),
        sa.column("status", sa.String),
        sa.column("group_id", sa.String),
        sa.column("digest_day", sa.String),
        sa.column("reply_to", sa.String),
        sa.column("edits", sa.String),
        sa.column("owner", sa.String),
        sa.column("severity", sa.String),
        sa.column("format", sa.String),
    )
    rows = bind.execute(
        sa.select(outbox).order_by(outbox.c.created_at, outbox.c.message_id)
    ).mappings()
    latest_opening: dict[str, str] = {}
    for row in list(rows):
        kind = KINDS.get(row["kind"], row["kind"])
        values: dict[str, object] = {"kind": kind}
        fingerprint = row["fingerprint"]
        if row["status"] == "pending":
            payload = json.loads(row["payload"])
            if "grouped_into" in payload:
                values["group_id"] = payload["grouped_into"]
            if "digest_day" in payload:
                # held for a digest: the digest is composed from neutral messages
                values["digest_day"] = payload["digest_day"]
                values["owner"] = payload.get("owner")
                values["severity"] = "P2"
                values["payload"] = json.dumps(_neutral(payload.get("message", {})))
                values["format"] = "neutral"
            if fingerprint and kind in ("resolve", "reminder", "severity_change"):
                values["reply_to"] = latest_opening.get(fingerprint)
            if fingerprint and kind == "update":
                values["edits"] = latest_opening.get(fingerprint)
        if fingerprint and kind in OPENINGS:
            latest_opening[fingerprint] = row["message_id"]
        bind.execute(
            sa.update(outbox).where(outbox.c.message_id == row["message_id"]).values(**values)
        )


def _neutral(old: dict) -> dict:
    """A held digest message of the old outbox as a neutral message (mentions typed again)."""
    mentions = []
    for text in old.get("mentions", []):
        if text.startswith("<@") and text.endswith(">"):
            mentions.append(["slack_user", text[2:-1]])
        elif text.startswith("<!subteam^") and text.endswith(">"):
            mentions.append(["slack_group", text[len("<!subteam^") : -1]])
    data = {
        "kind": "open",
        "severity": old.get("severity", "P2"),
        "title": old.get("title", ""),
        "summary": old.get("summary", ""),
        "owner": old.get("owner_name", ""),
        "mentions": mentions,
        "facts": old.get("facts", []),
        "links": old.get("links", []),
    }
    if old.get("channel"):
        data["channel"] = old["channel"]
    return data


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_group")
        batch.drop_index("ix_outbox_fingerprint")
        for column in (
            "format",
            "edits",
            "reply_to",
            "digest_day",
            "group_id",
            "seq",
            "severity",
            "owner",
            "channel_type",
        ):
            batch.drop_column(column)
        batch.alter_column("remote_channel", new_column_name="slack_channel")
        batch.alter_column("remote_id", new_column_name="slack_ts")
