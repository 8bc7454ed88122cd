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
- MySQL/MariaDB: session statements on each new connection (`Dialect.configure_engine`).

Each engine's answer lives in its module under `lookout.dialects`.

A timeout becomes an error that says which database, what it was doing, how long it waited
and what to check (`timeout_message`), instead of a driver's one-liner.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from lookout.dialects import ConnectSettings, dialect_for, seconds

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


def engine_arguments(url: str, settings: ConnectSettings) -> tuple[str, dict[str, Any]]:
    """The URL and `create_engine` keyword arguments that apply `settings` on every connection
    of `url`'s dialect (`Dialect.connect_arguments`; a read-only SQLite file becomes a
    `mode=ro` URI). Raises ValueError when the driver cannot take them."""
    parsed = make_url(url)
    final, connect_args = dialect_for(parsed).connect_arguments(parsed, settings)
    if final is not parsed:
        url = final.render_as_string(hide_password=False)
    return url, ({"connect_args": connect_args} if connect_args else {})


def timeout_message(exc: BaseException, settings: ConnectSettings, dialect: str) -> str | None:
    """What an on-call engineer needs when a wait ran out; None when `exc` is no timeout.

    Names the wait that ran out (lock or statement), the configured limit and its profiles.yml
    key, what was running, and what to check (`Dialect.timeout_message`).
    """
    if not dialect:
        return None
    return dialect_for(f"{dialect}://").timeout_message(exc, settings)


def explain_timeouts(
    engine: sa.Engine, settings: ConnectSettings, fail: Callable[[str], Exception]
) -> None:
    """Every timeout on `engine` raises `fail(explanation)` instead of the driver's error."""
    dialect = dialect_for(engine)
    settings = dialect.settings_timeout(engine, settings)

    @sa.event.listens_for(engine, "handle_error")
    def _explain(context: sa.engine.ExceptionContext) -> None:
        message = dialect.timeout_message(
            context.sqlalchemy_exception or context.original_exception, settings
        )
        if message is not None:
            raise fail(message) from None
