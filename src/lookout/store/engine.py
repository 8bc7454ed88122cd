"""The results store's engine: connections with bounded waits, migrations to head, and the
per-monitor lock that serializes writers of one monitor's alert state across threads,
processes and (on PostgreSQL) machines. Repositories get connections from here and know
nothing of locks or migrations."""

from __future__ import annotations

import fcntl
import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine, make_url

from lookout.connections import ConnectSettings, engine_arguments, explain_timeouts, seconds
from lookout.drivers import require_driver
from lookout.errors import StoreError, database_error
from lookout.store.schema import metadata

__all__ = ["MIGRATIONS", "MonitorLocks", "lock_key", "make_engine", "migrate"]

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str, settings: ConnectSettings, display_url: str) -> Engine:
    url, options = engine_arguments(url, settings)
    require_driver(url, "store")  # one line naming the pip extra, not an ImportError
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        # a writer waits `lock_timeout` for another (or `?timeout=` seconds from the URL)
        engine = sa.create_engine(url, **options)

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

    else:
        engine = sa.create_engine(url, pool_pre_ping=True, **options)
    explain_timeouts(
        engine, settings, lambda text: StoreError(f"results store {display_url}: {text}")
    )
    return engine


@cache
def _migrations() -> ScriptDirectory:
    """The migration scripts, read once a process (Alembic imports every version file)."""
    return ScriptDirectory(str(MIGRATIONS))


def migrate(engine: Engine, display_url: str) -> None:
    """Bring the store's schema to the newest migration. A store at head is left alone; an
    older one is upgraded, migration by migration; a new one (none of its tables there) is
    created from the schema and stamped at head, Alembic's recipe for a database built from
    scratch: it takes a few milliseconds where replaying every migration (SQLite rebuilds a
    table to alter it) took about half a second. `tests/store/test_migrations.py` holds the
    two equal."""
    try:
        with engine.begin() as conn:
            context = MigrationContext.configure(conn)
            current = context.get_current_revision()
            scripts = _migrations()
            if current == scripts.get_current_head():
                return
            if current is None and not set(sa.inspect(conn).get_table_names()) & set(
                metadata.tables
            ):
                metadata.create_all(conn)
                context.stamp(scripts, "head")
                return
            config = AlembicConfig()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
    except sa.exc.SQLAlchemyError as exc:
        raise database_error(exc, f"results store {display_url}: migration failed") from None


class MonitorLocks:
    """One writer of a monitor's alert state at a time (see `monitor_lock`)."""

    def __init__(self, engine: Engine, display_url: str, timeout: timedelta) -> None:
        self.engine = engine
        self.display_url = display_url
        self.monitor_lock_timeout = timeout

    @contextmanager
    def monitor_lock(self, monitor: str, purpose: str = "alert state") -> Iterator[None]:
        """One writer of a monitor's alert state at a time, across threads, processes and (on
        PostgreSQL) machines: alert transitions read the stored alerts, then commit.

        Waits at most `monitor_lock_timeout` in all, then raises a StoreError that says which
        lock, where, how long it waited and what to check; nothing is written then.
        """
        deadline = time.monotonic() + self.monitor_lock_timeout.total_seconds()
        local = _thread_lock(self.display_url, monitor)
        if not local.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise self._lock_timeout(
                monitor, purpose, "another window of it in this process held it all that time"
            )
        try:
            dialect = self.engine.dialect.name
            if dialect == "postgresql":
                with self._advisory_lock(monitor, purpose, deadline):
                    yield
            elif dialect == "sqlite" and self.engine.url.database not in (None, "", ":memory:"):
                with self._file_lock(monitor, purpose, deadline):
                    yield
            else:
                yield
        finally:
            local.release()

    @contextmanager
    def _advisory_lock(self, monitor: str, purpose: str, deadline: float) -> Iterator[None]:
        """A session-level advisory lock, waited for in PostgreSQL's own (fair) lock queue with
        a transaction-local `lock_timeout` (it applies to advisory locks too)."""
        key = lock_key(f"lookout:{monitor}")
        wait_ms = max(1, int((deadline - time.monotonic()) * 1000))
        with self.engine.connect() as conn:
            raw = conn.connection.dbapi_connection  # the driver's own error, not a wrapped one
            cursor = raw.cursor()  # type: ignore[union-attr]
            try:
                cursor.execute(
                    "SELECT set_config('lock_timeout', %s, true), "
                    "set_config('statement_timeout', %s, true), pg_advisory_lock(%s)",
                    (str(wait_ms), str(wait_ms + 1000), key),
                )
                raw.commit()  # type: ignore[union-attr]
            except Exception as exc:
                raw.rollback()  # type: ignore[union-attr]
                if getattr(exc, "sqlstate", None) not in ("55P03", "57014"):
                    raise
                holder = _advisory_holder(cursor, key)
                raise self._lock_timeout(
                    monitor,
                    purpose,
                    f"PostgreSQL advisory lock {key} (pg_locks: classid {_classid(key)}, objid "
                    f"{key & 0xFFFFFFFF}) is held by {holder}. Another run of this monitor "
                    "(hourly, nightly, a backfill) may be writing, or a session kept the lock "
                    "after its run died: check pg_stat_activity for that pid "
                    "(pg_terminate_backend(pid) ends a stuck one)",
                ) from None
            finally:
                cursor.close()
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()

    @contextmanager
    def _file_lock(self, monitor: str, purpose: str, deadline: float) -> Iterator[None]:
        """An exclusive `flock` on `<store file>.<monitor>.lock`, tried with backoff until the
        deadline (a blocking flock has no timeout)."""
        path = Path(f"{self.engine.url.database}.{monitor}.lock")
        with path.open("a") as handle:
            pause = 0.01
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise self._lock_timeout(
                            monitor,
                            purpose,
                            f"another process holds the lock file {path}. Another run of "
                            "this monitor (hourly, nightly, a backfill) may be writing: check "
                            f"the running lookout processes (fuser {path})",
                        ) from None
                    time.sleep(min(pause, left))
                    pause = min(pause * 2, 0.25)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _lock_timeout(self, monitor: str, purpose: str, detail: str) -> StoreError:
        return StoreError(
            f"results store {self.display_url}: could not take the {purpose} lock of "
            f"{monitor!r} within {seconds(self.monitor_lock_timeout)} "
            f"(store.monitor_lock_timeout): {detail}. Nothing was written"
        )


_THREAD_LOCKS: dict[tuple[str, str], threading.Lock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


def _thread_lock(store: str, monitor: str) -> threading.Lock:
    """The in-process part of `monitor_lock` (flock and advisory locks are per process or
    session, so threads of one process take turns here first)."""
    with _THREAD_LOCKS_GUARD:
        return _THREAD_LOCKS.setdefault((store, monitor), threading.Lock())


def lock_key(name: str) -> int:
    """A signed 64-bit advisory lock key, stable across processes and machines."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def _classid(key: int) -> int:
    return (key & 0xFFFFFFFFFFFFFFFF) >> 32


def _advisory_holder(cursor: Any, key: int) -> str:
    """Who holds an advisory lock, for the error message (best effort)."""
    try:
        cursor.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid = %s AND objid = %s AND objsubid = 1",
            (_classid(key), key & 0xFFFFFFFF),
        )
        pids = [str(row[0]) for row in cursor.fetchall()]
        cursor.connection.rollback()
    except Exception:
        return "another session"
    return f"backend pid {', '.join(pids)}" if pids else "another session (now gone)"
