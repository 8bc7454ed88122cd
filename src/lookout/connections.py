"""How Lookout opens a database: read-only where the dialect allows it, every wait bounded.

One function per concern turns `ConnectSettings` into `create_engine` arguments, so the
warehouse reader, GX's own engine and the results store open connections the same way:

- PostgreSQL (libpq drivers): `lock_timeout` and `statement_timeout` are session settings sent
  in the startup `options` of every connection (GX's engine too, which Lookout cannot hook);
  read-only is `default_transaction_read_only`.
- SQLite: `lock_timeout` is the busy timeout (how long a writer waits for another); read-only
  opens the file as a `mode=ro` URI. No statement timeout.
- DuckDB: read-only opens the file with `read_only=True`, so several processes can read one
  file at once (a read-write open locks it for one process). DuckDB has no lock waits (a
  conflicting open fails at once) and no statement timeout.

A timeout becomes an error that says which database, what it was doing, how long it waited
and what to check (`timeout_message`), instead of a driver's one-liner.
"""

from __future__ import annotations

import contextlib
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

__all__ = [
    "MONITOR_LOCK_TIMEOUT",
    "STORE_DEFAULTS",
    "WAREHOUSE_DEFAULTS",
    "ConnectSettings",
    "engine_arguments",
    "explain_timeouts",
    "seconds",
    "timeout_message",
]

_LIBPQ_DRIVERS = frozenset({"psycopg", "psycopg2", "psycopg2cffi"})


@dataclass(frozen=True)
class ConnectSettings:
    """What every connection to one database gets. `None` leaves the server's default.

    `key` is where these settings live in profiles.yml (`store`, `warehouse`), for messages.
    """

    read_only: bool = False
    lock_timeout: timedelta | None = None
    statement_timeout: timedelta | None = None
    key: str = "store"


# The results store: its statements are small; a lock held longer than this is another
# session's (an open transaction, a manual LOCK), and waiting on it would hang the run.
STORE_DEFAULTS = ConnectSettings(
    lock_timeout=timedelta(seconds=30), statement_timeout=timedelta(minutes=5), key="store"
)
# The warehouse: read-only; a read that waits longer than half the hourly cadence cannot keep
# up anyway, and would queue every later run behind it.
WAREHOUSE_DEFAULTS = ConnectSettings(
    read_only=True,
    lock_timeout=timedelta(minutes=5),
    statement_timeout=timedelta(minutes=30),
    key="warehouse",
)
# Waiting for another run of the same monitor to finish its alert stage (which may write
# drift reports): longer than one healthy holder needs, far shorter than the hourly cadence.
MONITOR_LOCK_TIMEOUT = timedelta(minutes=10)


def seconds(value: timedelta | None) -> str:
    """`0.3s`, `30s`, `5m`, `2m30s`: a wait as the messages show it."""
    if value is None:
        return "no limit"
    total = value.total_seconds()
    if total < 60:
        return f"{total:g}s"
    minutes, rest = divmod(int(total), 60)
    return f"{minutes}m{rest}s" if rest else f"{minutes}m"


def _ms(value: timedelta) -> int:
    return max(1, int(value.total_seconds() * 1000))


def _file_database(url: URL) -> bool:
    database = url.database or ""
    return database not in ("", ":memory:") and not database.startswith(("md:", "motherduck:"))


def engine_arguments(url: str, settings: ConnectSettings) -> tuple[str, dict[str, Any]]:
    """The URL and `create_engine` keyword arguments that apply `settings` on every connection
    of `url`'s dialect. The URL changes only for a read-only SQLite file (a `mode=ro` URI)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    connect_args: dict[str, Any] = {}
    if backend == "postgresql":
        options = []
        if settings.lock_timeout is not None:
            options.append(f"-c lock_timeout={_ms(settings.lock_timeout)}")
        if settings.statement_timeout is not None:
            options.append(f"-c statement_timeout={_ms(settings.statement_timeout)}")
        if settings.read_only:
            options.append("-c default_transaction_read_only=on")
        if options:
            if parsed.get_driver_name() not in _LIBPQ_DRIVERS:
                raise ValueError(
                    "lock_timeout, statement_timeout and read_only need a libpq driver "
                    f"(postgresql+psycopg://), not {parsed.drivername}; set them to null "
                    "(read_only: false) to use another driver"
                )
            given = parsed.query.get("options")
            if given:  # the URL's own options come first; ours are added to them
                options.insert(0, given if isinstance(given, str) else " ".join(given))
            connect_args["options"] = " ".join(options)
    elif backend == "sqlite":
        if settings.lock_timeout is not None and "timeout" not in parsed.query:
            connect_args["timeout"] = settings.lock_timeout.total_seconds()
        if settings.read_only and _file_database(parsed) and "uri" not in parsed.query:
            path = urllib.parse.quote(parsed.database or "")
            parsed = parsed.set(
                database=f"file:{path}", query={**parsed.query, "mode": "ro", "uri": "true"}
            )
            url = parsed.render_as_string(hide_password=False)
    elif backend == "duckdb" and settings.read_only and _file_database(parsed):
        connect_args["read_only"] = True
    return url, ({"connect_args": connect_args} if connect_args else {})


def timeout_message(exc: BaseException, settings: ConnectSettings, dialect: str) -> str | None:
    """What an on-call engineer needs when a wait ran out; None when `exc` is no timeout.

    Names the wait that ran out (lock or statement), the configured limit and its profiles.yml
    key, what was running (and the locked relation PostgreSQL reports), and what to check.
    """
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip()
    first = text.splitlines()[0] if text else ""
    statement = " ".join(str(getattr(exc, "statement", "") or "").split())
    running = f"; it was running: {statement[:200]}" if statement else ""
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    context = getattr(getattr(orig, "diag", None), "context", None)
    where = f" ({' '.join(context.split())})" if context else ""
    key = settings.key
    if dialect == "postgresql" and sqlstate == "55P03":
        return (
            f"{first}: gave up after waiting {seconds(settings.lock_timeout)} "
            f"({key}.lock_timeout) for a lock another session holds{where}{running}. Check "
            "pg_stat_activity and pg_locks for a long or idle-in-transaction session holding "
            f"it (or a manual LOCK); raise {key}.lock_timeout in profiles.yml only if such "
            "waits are expected"
        )
    if dialect == "postgresql" and sqlstate == "57014" and "statement timeout" in first:
        return (
            f"{first}: the statement ran longer than {seconds(settings.statement_timeout)} "
            f"({key}.statement_timeout){running}. Check the database's load and "
            f"pg_stat_activity; raise {key}.statement_timeout in profiles.yml if it is expected"
        )
    if dialect == "sqlite" and "database is locked" in first:
        return (
            f"{first}: gave up after waiting {seconds(settings.lock_timeout)} "
            f"({key}.lock_timeout) for another writer of this SQLite file{running}. Check for "
            "another process writing it (a run, a backfill, a sqlite3 shell in a transaction)"
        )
    return None


def explain_timeouts(
    engine: sa.Engine, settings: ConnectSettings, fail: Callable[[str], Exception]
) -> None:
    """Every timeout on `engine` raises `fail(explanation)` instead of the driver's error."""
    given = engine.url.query.get("timeout") if engine.dialect.name == "sqlite" else None
    if isinstance(given, str):  # the URL's ?timeout= wins over lock_timeout
        with contextlib.suppress(ValueError):
            settings = replace(settings, lock_timeout=timedelta(seconds=float(given)))

    @sa.event.listens_for(engine, "handle_error")
    def _explain(context: sa.engine.ExceptionContext) -> None:
        message = timeout_message(
            context.sqlalchemy_exception or context.original_exception,
            settings,
            engine.dialect.name,
        )
        if message is not None:
            raise fail(message) from None
