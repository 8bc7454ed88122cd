"""SQLite: no percentile, no sampling, no `ln` guaranteed; any value in any column.

Everything aggregates in pandas (metrics and drift). GX can run in SQL when asked
(`validation.pushdown: on`). `lock_timeout` is the busy timeout; read-only opens the file as
a `mode=ro` URI; there is no statement timeout. Text that is not UTF-8 reads with U+FFFD.
"""

from __future__ import annotations

import contextlib
import urllib.parse
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.sql.functions import Function

from lookout.dialects.base import (
    ConnectSettings,
    Dialect,
    file_database,
    first_line,
    running,
    seconds,
    time_comparison,
)
from lookout.model.json_path import JsonStep, sql_json_path

__all__ = ["SQLite"]

_INFINITIES = (float("inf"), float("-inf"))
_MAX_OFFSET = timedelta(hours=14)  # UTC+14 (Kiribati) to UTC-12
# a time as SQLAlchemy and pandas write it: `YYYY-MM-DD HH:MM:SS`, then a fraction or nothing
_PLAIN_TIME = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]*"


def _lenient_text(dbapi_connection: Any, _record: Any) -> None:
    """SQLite stores any bytes as TEXT; one value that is not UTF-8 must not fail a whole
    window's read (PostgreSQL and DuckDB refuse such values on write)."""
    dbapi_connection.text_factory = lambda raw: raw.decode("utf-8", "replace")


class SQLite(Dialect):
    names = ("sqlite",)
    not_in_sql: ClassVar[frozenset[str] | None] = frozenset({"json_parses"})
    text_times: ClassVar[bool] = True
    drift_in_sql = False

    def integer_limit(self, type_: Any) -> int | None:
        """sqlite3 binds a Python int of 64 bits at most (OverflowError beyond)."""
        return 2**63 - 1

    def milliseconds_between(
        self, start: sa.ColumnElement[Any], end: sa.ColumnElement[Any]
    ) -> sa.ColumnElement[Any]:
        # SQLite keeps a time to the millisecond (its julian day is whole milliseconds): the
        # difference is rounded to one, without the double's error (1234.9963 for 1235)
        return sa.func.round((sa.func.julianday(end) - sa.func.julianday(start)) * 86_400_000.0)

    def json_text(
        self, document: sa.ColumnElement[Any], keys: tuple[JsonStep, ...]
    ) -> sa.ColumnElement[Any]:
        # json_extract gives SQL values (true as 1): booleans are spelt as elsewhere, the rest
        # cast to text (`5`, `1.5`); a JSON null and a missing key are NULL
        path = sa.literal(sql_json_path(keys), sa.String)
        kind = Function("json_type", document, path, type_=sa.String)
        value = sa.cast(Function("json_extract", document, path), sa.String)
        # a document that is not JSON ('' where nothing was logged) reads as NULL instead of
        # failing every query of the window
        valid = Function("json_valid", document) == 1
        return sa.case(
            (sa.not_(valid), sa.null()), (kind.in_(("true", "false")), kind), else_=value
        )

    def octet_length(self, text: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        return sa.func.length(sa.cast(text, sa.LargeBinary))

    def unreadable_time(self, ts: sa.ColumnElement[Any]) -> Any | None:
        return sa.func.datetime(ts).is_(None)  # text that is not a date, a bare number

    def time_compared(
        self,
        column: sa.ColumnElement[Any],
        op: str,
        bound: datetime | int,
        instant: datetime | None = None,
    ) -> sa.ColumnElement[bool]:
        """A time is whatever text was written, and text compares character by character:
        `2026-11-02T14:03:11.123+00:00` sorts after `2026-11-02 23:00:00`, so a trial's hourly
        windows read 0 rows 23 times a day and the whole day at 23:00. Text as SQLAlchemy and
        pandas write it (`2026-11-02 14:03:11.123456`) is compared as text, to the microsecond;
        any other (a `T`, a `Z`, an offset) as the instant `julianday()` reads, to the
        millisecond; one that says its offset (`Z`, `+02:00`) against `instant` (UTC) when the
        bound is a local wall time (`source.timezone` applies to times without a zone). All
        within a range of whole days compared as text, which any text of those days falls in
        (an offset moves a time by at most `_MAX_OFFSET`), so an index on the column still
        narrows the read."""
        compare = time_comparison(op)
        if not isinstance(bound, datetime):
            return compare(column, bound)  # an epoch number
        moment = bound if bound.tzinfo is None else bound.astimezone(UTC).replace(tzinfo=None)
        # no trailing zeros: `2026-11-02 01:00:00` written without a fraction is not before it
        said = sa.literal(moment.isoformat(sep=" "), sa.String)
        text = sa.type_coerce(column, sa.String)
        plain = sa.and_(
            text.op("GLOB")(_PLAIN_TIME), sa.not_(sa.func.substr(text, 20).op("GLOB")("*[^0-9.]*"))
        )
        read, exact = sa.func.julianday(column), sa.func.julianday(said)
        if instant is not None and instant.replace(tzinfo=None) != moment:
            utc = instant if instant.tzinfo is None else instant.astimezone(UTC)
            zoned = sa.or_(text.op("GLOB")("*Z"), text.op("GLOB")("*[+-][0-9][0-9]:[0-9][0-9]"))
            at_utc = sa.func.julianday(sa.literal(utc.replace(tzinfo=None).isoformat(sep=" ")))
            exact = sa.case((zoned, at_utc), else_=exact)
            moment = (
                min(moment, utc.replace(tzinfo=None))
                if op in (">=", ">")
                else max(moment, utc.replace(tzinfo=None))
            )
        if op in (">=", ">"):
            day = (moment - _MAX_OFFSET).date()
            coarse = text >= sa.literal(day.isoformat(), sa.String)
        else:  # `<` or `<=` (time_comparison refused anything else)
            day = (moment + _MAX_OFFSET).date() + timedelta(days=1)
            coarse = text < sa.literal(day.isoformat(), sa.String)
        return sa.and_(coarse, sa.case((plain, compare(text, said)), else_=compare(read, exact)))

    def stored_not_number(self, column: sa.ColumnElement[Any]) -> Any | None:
        stored = sa.func.typeof(column).notin_(("integer", "real", "null"))
        return sa.or_(stored, column.in_(_INFINITIES))

    def stored_as_number(self, column: sa.ColumnElement[Any]) -> Any | None:
        return sa.func.typeof(column).in_(("integer", "real"))

    def newest_order(self, conn: sa.Connection, table: sa.Table) -> tuple[Any, int, str] | None:
        rowid = sa.literal_column("rowid")
        try:
            high = conn.scalar(sa.select(sa.func.max(rowid)).select_from(table))
        except sa.exc.OperationalError:  # WITHOUT ROWID
            conn.rollback()
            return None
        return rowid.desc(), int(high or 0), "the newest rows by rowid (SQLite)"

    def connect_arguments(self, url: URL, settings: ConnectSettings) -> tuple[URL, dict[str, Any]]:
        args: dict[str, Any] = {}
        if settings.lock_timeout is not None and "timeout" not in url.query:
            args["timeout"] = settings.lock_timeout.total_seconds()
        if settings.read_only and file_database(url) and "uri" not in url.query:
            path = urllib.parse.quote(url.database or "")
            url = url.set(database=f"file:{path}", query={**url.query, "mode": "ro", "uri": "true"})
        return url, args

    def configure_engine(self, engine: sa.Engine, settings: ConnectSettings) -> None:
        sa.event.listen(engine, "connect", _lenient_text)

    def settings_timeout(self, engine: sa.Engine, settings: ConnectSettings) -> ConnectSettings:
        given = engine.url.query.get("timeout")
        if isinstance(given, str):  # the URL's ?timeout= wins over lock_timeout
            with contextlib.suppress(ValueError):
                return replace(settings, lock_timeout=timedelta(seconds=float(given)))
        return settings

    def timeout_message(self, exc: BaseException, settings: ConnectSettings) -> str | None:
        first = first_line(exc)
        if "database is locked" not in first:
            return None
        key = settings.key
        return (
            f"{first}: gave up after waiting {seconds(settings.lock_timeout)} "
            f"({key}.lock_timeout) for another writer of this SQLite file{running(exc)}. Check "
            "for another process writing it (a run, a backfill, a sqlite3 shell in a transaction)"
        )
