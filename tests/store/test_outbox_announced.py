"""`Outbox.announced`: which alerts have a thread root on a channel type, for many alerts in
one query (a window's firing alerts not moved by it: `runtime.alerting._unannounced`). It
agrees with `thread_root` alert by alert, on SQLite and PostgreSQL, also past SQLite's
bound-parameter limit (the IN list is chunked)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from lookout.store import schema
from lookout.store.outbox import OutboxMessage

T0 = datetime(2026, 11, 2, tzinfo=UTC)


def _message(message_id: str, fingerprint: str | None, kind: str, channel_type: str = "slack"):
    return OutboxMessage(
        message_id=message_id,
        kind=kind,
        monitor="bot",
        payload={"text": message_id},
        channel="#bot",
        fingerprint=fingerprint,
        channel_type=channel_type,
    )


def test_announced_agrees_with_thread_root_for_roots_present_absent_and_on_other_channels(
    store,
):
    outbox = store.outbox_repo
    outbox.enqueue(
        [
            _message("m1", "open_pending", "open"),
            _message("m2", "reopen_sent", "reopen"),
            _message("m3", "only_email", "open", channel_type="email"),
            _message("m4", "only_resolve", "resolve"),
            _message("m5", "superseded", "open"),
            _message("m6", "twice", "open"),
            _message("m7", "twice", "reopen"),
            _message("m8", None, "failure"),
            _message("m9", "both", "open"),
            _message("m10", "both", "open", channel_type="email"),
        ]
    )
    outbox.mark_sent("m2", "1700000000.000100", "C1")
    with store.engine.begin() as conn:
        o = schema.outbox
        conn.execute(
            sa.update(o).where(o.c.message_id.in_(("m5", "m6"))).values(status="superseded")
        )
    present = ["open_pending", "reopen_sent", "only_email", "only_resolve", "superseded",
               "twice", "both"]  # fmt: skip
    asked = [*present, *(f"absent{i:04d}" for i in range(1_200))]  # > SQLite's 999 limit
    for channel_type in ("slack", "email", "pagerduty"):
        expected = {fp for fp in asked if outbox.thread_root(fp, channel_type) is not None}
        assert outbox.announced(asked, channel_type) == expected
    assert outbox.announced(asked, "slack") == {"open_pending", "reopen_sent", "twice", "both"}
    assert outbox.announced(asked, "email") == {"only_email", "both"}
    assert outbox.announced([], "slack") == set()
    with store.engine.connect() as conn:  # on the caller's connection, as thread_root can
        assert outbox.announced(iter(["both", "absent0001", "both"]), "email", conn) == {"both"}
