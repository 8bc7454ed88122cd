"""MySQL 8 and MariaDB (10.3+): `PERCENTILE_CONT` only as a window function, no sampling.

Quantiles are pushed down as a window over each group in a subquery, then one row per group
(`quantiles = "window"`). Neither engine stores NaN or infinities, so there is nothing to
filter. `LENGTH` counts bytes there (`CHAR_LENGTH` counts characters). Session settings are
sent once per connection: read-only (`SET SESSION TRANSACTION READ ONLY`), the lock wait
(`innodb_lock_wait_timeout` and `lock_wait_timeout`, whole seconds) and the statement time
(MariaDB `max_statement_time`, MySQL `max_execution_time`: SELECTs only). Tested with
MariaDB 10.11 through PyMySQL (`mysql+pymysql://`).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.dialects.mysql import TINYINT
from sqlalchemy.engine import URL
from sqlalchemy.sql.functions import Function

from lookout.dialects.base import (
    ConnectSettings,
    Dialect,
    first_line,
    running,
    seconds,
)
from lookout.model.json_path import JsonStep, sql_json_path

__all__ = ["MySQL"]

_LOCK_WAIT = 1205  # ER_LOCK_WAIT_TIMEOUT (row locks and metadata locks)
_STATEMENT_TIME = frozenset({1969, 3024})  # MariaDB max_statement_time, MySQL max_execution_time


def _session_statements(settings: ConnectSettings, mariadb: bool) -> list[str]:
    """Static SQL (numbers only) applying `settings` to one session."""
    out = []
    if settings.read_only:
        out.append("SET SESSION TRANSACTION READ ONLY")
    if settings.lock_timeout is not None:
        wait = max(1, math.ceil(settings.lock_timeout.total_seconds()))
        out.append(f"SET SESSION innodb_lock_wait_timeout = {wait}, lock_wait_timeout = {wait}")
    if settings.statement_timeout is not None:
        total = settings.statement_timeout.total_seconds()
        if mariadb:
            out.append(f"SET SESSION max_statement_time = {total:.3f}")
        else:
            out.append(f"SET SESSION max_execution_time = {max(1, int(total * 1000))}")
    return out


def _path(keys: tuple[JsonStep, ...]) -> str:
    """`$."messages"[last]."content"`: MySQL 8 and MariaDB 10.9 count from the end with `last`."""
    return sql_json_path(keys, from_end="last")


class MySQL(Dialect):
    names = ("mysql", "mariadb")
    drift_in_sql = True
    quantiles = "window"
    not_in_sql: ClassVar[frozenset[str] | None] = frozenset({"json_parses"})
    stores_nan = False
    schema_word = "database"
    system_schemas: ClassVar[frozenset[str]] = frozenset(
        {"information_schema", "mysql", "performance_schema", "sys"}
    )

    def quantile(self, q: float, value: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        """The window form; `Warehouse.aggregate_window` adds the OVER (PARTITION BY ...)."""
        return sa.func.percentile_cont(q).within_group(value)

    def column_type(self, reflected: Any) -> Any:
        """`BOOLEAN` columns reflect as `TINYINT(1)`: read them as booleans, as elsewhere."""
        if isinstance(reflected, TINYINT) and getattr(reflected, "display_width", None) == 1:
            return sa.Boolean()
        return reflected

    def as_double(self, value: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        """`value + 0e0` (a float literal makes the sum a DOUBLE): SQLAlchemy leaves out a
        CAST to DOUBLE before MySQL 8.0.17 and MariaDB 10.4.5, which would keep the decimal
        arithmetic (an integer divided to 4 decimals)."""
        return value + sa.literal_column("0e0", sa.Double)

    def milliseconds_between(
        self, start: sa.ColumnElement[Any], end: sa.ColumnElement[Any]
    ) -> sa.ColumnElement[Any]:
        # a double quotient: integers divide to 4 decimals here (`div_precision_increment`)
        return self.as_double(Function("timestampdiff", sa.text("MICROSECOND"), start, end)) / 1000

    def json_text(
        self, document: sa.ColumnElement[Any], keys: tuple[JsonStep, ...]
    ) -> sa.ColumnElement[Any]:
        # JSON_VALUE: NULL for a missing key, a JSON null (and an object); it reads a boolean
        # as 1 on MariaDB, so booleans are taken from JSON_EXTRACT as true/false, as elsewhere
        path = sa.literal(_path(keys), sa.String)
        found = Function("json_extract", document, path)
        boolean = Function("json_type", found, type_=sa.String) == "BOOLEAN"
        flag = Function("json_unquote", found, type_=sa.String)
        value = sa.case((boolean, flag), else_=Function("json_value", document, path))
        # `[0]` of a value that is no array is that value itself here ("autowrap"), where the
        # other engines read NULL: each index applies only to an array
        arrays = [
            Function(
                "json_type",
                Function(
                    "json_extract",
                    document,
                    sa.literal(sql_json_path(keys[:i], from_end="last"), sa.String),
                ),
                type_=sa.String,
            )
            == "ARRAY"
            for i, key in enumerate(keys)
            if isinstance(key, int)
        ]
        # a document that is not JSON reads as NULL: MariaDB's JSON_VALUE reads what it can of
        # one cut short (a line limit), where the other engines read nothing
        valid = Function("json_valid", document, type_=sa.Boolean)
        return sa.case((sa.and_(valid, *arrays), value))

    def char_length(self, text: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        return sa.func.char_length(text)

    def octet_length(self, text: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        return sa.func.length(text)

    def random_order(self) -> Any:
        return sa.func.rand()  # MySQL and MariaDB have no random()

    def configure_engine(self, engine: sa.Engine, settings: ConnectSettings) -> None:
        if not (settings.read_only or settings.lock_timeout or settings.statement_timeout):
            return

        def apply(dbapi_connection: Any, _record: Any) -> None:
            info = getattr(dbapi_connection, "get_server_info", lambda: "")()
            mariadb = "mariadb" in str(info).lower()
            cursor = dbapi_connection.cursor()
            try:
                for statement in _session_statements(settings, mariadb):
                    cursor.execute(statement)
            finally:
                cursor.close()

        sa.event.listen(engine, "connect", apply)

    def connect_arguments(self, url: URL, settings: ConnectSettings) -> tuple[URL, dict[str, Any]]:
        return url, {}  # applied per connection by `configure_engine`

    def timeout_message(self, exc: BaseException, settings: ConnectSettings) -> str | None:
        orig = getattr(exc, "orig", None) or exc
        args = getattr(orig, "args", ())
        code = args[0] if args and isinstance(args[0], int) else None
        first, key = first_line(exc), settings.key
        if code == _LOCK_WAIT:
            return (
                f"{first}: gave up after waiting {seconds(settings.lock_timeout)} "
                f"({key}.lock_timeout) for a lock another session holds{running(exc)}. Check "
                "SHOW PROCESSLIST and information_schema.innodb_trx for a long transaction "
                f"holding it; raise {key}.lock_timeout in profiles.yml only if such waits are "
                "expected"
            )
        if code in _STATEMENT_TIME:
            return (
                f"{first}: the statement ran longer than {seconds(settings.statement_timeout)} "
                f"({key}.statement_timeout){running(exc)}. Check the server's load and SHOW "
                f"PROCESSLIST; raise {key}.statement_timeout in profiles.yml if it is expected"
            )
        return None
