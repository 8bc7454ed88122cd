"""Alembic migrations build exactly the schema the code writes to, on SQLite and PostgreSQL; a
new store, created from that schema and stamped, is the store the migrations build."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext

from lookout.store import ResultsStore
from lookout.store.engine import MIGRATIONS
from lookout.store.schema import metadata

HEAD = "0015"


def _upgraded(url: str, revision: str = "head") -> None:
    """The store built by replaying the migrations one by one (what an old store goes
    through), not the shortcut a new store takes."""
    engine = sa.create_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def _diff(url: str) -> list:
    _upgraded(url)
    store = ResultsStore(url)  # at head already: left alone
    try:
        with store.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return compare_metadata(context, metadata)
    finally:
        store.dispose()


def _shape(url: str) -> dict:
    """Everything a reflection sees of every table: columns with types, NULLs and defaults,
    keys, indexes, unique constraints, foreign keys; and the Alembic revision."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            tables = {}
            for table in sorted(inspector.get_table_names()):
                tables[table] = {
                    "columns": [
                        (c["name"], str(c["type"]), c["nullable"], c.get("default"))
                        for c in inspector.get_columns(table)
                    ],
                    "primary key": inspector.get_pk_constraint(table)["constrained_columns"],
                    "indexes": sorted(
                        (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                        for i in inspector.get_indexes(table)
                    ),
                    "unique": sorted(
                        tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)
                    ),
                    "foreign keys": sorted(
                        (tuple(f["constrained_columns"]), f["referred_table"])
                        for f in inspector.get_foreign_keys(table)
                    ),
                }
            version = conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
    finally:
        engine.dispose()
    return {"tables": tables, "version": version}


def test_sqlite_migrations_match_schema(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    assert _diff(url) == []
    assert _shape(url)["version"] == HEAD


@pytest.mark.postgres
def test_postgres_migrations_match_schema(pg_database):
    assert _diff(pg_database) == []


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_a_new_store_is_the_store_the_migrations_build(tmp_path, request, backend):
    if backend == "sqlite":
        replayed, created = (f"sqlite:///{tmp_path / name}" for name in ("m.sqlite", "c.sqlite"))
    else:
        replayed = created = request.getfixturevalue("pg_database")
    _upgraded(replayed)
    migrated = _shape(replayed)
    if backend == "postgresql":  # the same database, emptied: the new store is built in it
        engine = sa.create_engine(replayed)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    ResultsStore(created).dispose()
    new = _shape(created)
    assert new == migrated and new["version"] == HEAD
    assert len(new["tables"]) == len(metadata.tables) + 1  # and alembic_version


def test_upgrade_from_0001_keeps_existing_windows(tmp_path):
    from alembic import command
    from alembic.config import Config

    from lookout.store.engine import MIGRATIONS

    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = sa.create_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
        conn.execute(
            sa.text(
                "INSERT INTO windows (monitor, window_start, window_end, run_id, rows, computed_at)"
                " VALUES ('m', '2026-11-02 00:00:00', '2026-11-02 01:00:00', 'r', 5,"
                " '2026-11-02 01:05:00')"
            )
        )
    engine.dispose()
    store = ResultsStore(url)  # migrates to head
    with store.engine.connect() as conn:
        row = conn.execute(sa.text("SELECT rows, quarantined, flag FROM windows")).one()
    assert tuple(row) == (5, 0, None)
    store.dispose()


def test_pending_slack_messages_of_the_old_outbox_are_carried_over_and_delivered(tmp_path):
    """Rows queued before the neutral outbox (rendered Block Kit, group and digest markers in
    the payload) get their references as columns and go out as they were queued."""
    import json
    from datetime import UTC, datetime

    from alembic import command
    from alembic.config import Config
    from tests.fakes import fake_slack_server
    from tests.fixtures.fake_secrets import FAKE_SLACK_TOKEN

    from lookout.notify.channels.slack import SlackBotChannel
    from lookout.notify.delivery import deliver
    from lookout.store.engine import MIGRATIONS

    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = sa.create_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    held = {
        "digest_day": "2026-11-02",
        "owner": "team",
        "message": {
            "title": "[P2] bot: drift",
            "severity": "P2",
            "summary": "input_length drifted",
            "owner_name": "team",
            "mentions": ["<@U0TEAM01>", "<!subteam^S0TEAM>"],
            "channel": "#team",
            "facts": [["Cohort", "plan=enterprise"]],
            "links": [],
        },
        "original": {"text": "held original"},
    }
    rows = [  # (id, kind, fingerprint, payload), oldest first
        ("open-a", "alert_opened", "fa", {"text": "A opened", "channel": "#team"}),
        ("open-b", "alert_opened", "fb", {"grouped_into": "open-a"}),
        ("resolve-a", "alert_resolved", "fa", {"text": "A resolved", "channel": "#team"}),
        ("update-a", "alert_update", "fa", {"text": "A updated", "channel": "#team"}),
        ("held-c", "alert_opened", "fc", held),
    ]
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0010")
        for minute, (message_id, kind, fingerprint, payload) in enumerate(rows):
            conn.execute(
                sa.text(
                    "INSERT INTO outbox (message_id, created_at, kind, monitor, fingerprint,"
                    " channel, payload, status, attempts) VALUES (:id, :at, :kind, 'bot', :fp,"
                    " '#team', :payload, 'pending', 0)"
                ),
                {
                    "id": message_id,
                    "at": f"2026-11-02 00:0{minute}:00",
                    "kind": kind,
                    "fp": fingerprint,
                    "payload": json.dumps(payload),
                },
            )
    engine.dispose()
    store = ResultsStore(url)  # migrates to head
    try:
        carried = {r.message_id: r for r in store.outbox()}
        assert carried["open-b"].group_id == "open-a" and carried["open-b"].kind == "open"
        assert carried["resolve-a"].reply_to == "open-a" and carried["update-a"].edits == "open-a"
        assert (
            carried["held-c"].digest_day == "2026-11-02" and carried["held-c"].format == "neutral"
        )
        assert carried["held-c"].payload["mentions"] == [
            ["slack_user", "U0TEAM01"],
            ["slack_group", "S0TEAM"],
        ]
        with fake_slack_server() as slack:
            channel = SlackBotChannel(FAKE_SLACK_TOKEN, base_url=slack.base_url)
            report = deliver(store.outbox_repo, {"slack": channel}, now=datetime.now(UTC))
        assert report.failed == () and store.outbox(status="pending") == []
        texts = [p["text"] for p in slack.posted]
        assert texts[:2] == ["A opened", "A resolved"]  # as queued, rendered then
        assert slack.posted[1]["thread_ts"] == slack.posted[0]["ts"]
        assert [u["text"] for u in slack.updated] == ["A updated"]
        assert any("daily digest for team" in t for t in texts)  # the held P2, in its digest
        assert {r.message_id for r in report.carried} == {"open-b", "held-c"}
    finally:
        store.dispose()
