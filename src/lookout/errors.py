"""One exception hierarchy for Lookout.

Every error carries the context an on-call engineer needs to act: the config file and key path,
the monitor and window, or the record id. Nothing here ever formats a secret into a message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

__all__ = [
    "CheckError",
    "ConfigError",
    "ConfigIssue",
    "DeliveryError",
    "LookoutError",
    "SourceError",
    "StoreError",
    "TableMismatchError",
    "UnknownMonitorError",
    "database_error",
    "error_line",
    "is_permanent",
    "map_exceptions",
    "redact_urls",
]


class LookoutError(Exception):
    """Base class of every error Lookout raises on purpose."""


class ConfigIssue:
    """One problem in one config file, located by key path and, when known, line and column."""

    __slots__ = ("column", "file", "line", "message", "path")

    def __init__(
        self,
        file: str,
        path: str,
        message: str,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.file = file
        self.path = path
        self.message = message
        self.line = line
        self.column = column

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"

    def __repr__(self) -> str:
        return f"ConfigIssue({str(self)!r})"


class ConfigError(LookoutError):
    """The config files are wrong; `issues` lists every problem found, each with file and key."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(issue) for issue in issues))


class UnknownMonitorError(LookoutError):
    """A monitor asked for by name (a CLI option, a flow parameter) is not in monitors.yml."""


class SourceError(LookoutError):
    """The warehouse could not be read (unreachable, missing table or column, bad data)."""


class TableMismatchError(SourceError):
    """The table does not fit monitors.yml (a mapped column missing, or of a type its role
    cannot use): every window fails alike until one of them changes, so no retry is made."""


def is_permanent(exc: BaseException) -> bool:
    """A failure no retry can fix: the config, or the table's columns against it. Retried, it
    fails again; its monitor's later windows of the run would fail alike."""
    return isinstance(exc, ConfigError | TableMismatchError)


class StoreError(LookoutError):
    """The results store could not be read or written."""


class CheckError(LookoutError):
    """A check stage (metrics, validation, drift, evaluators) failed on a window."""


class DeliveryError(LookoutError):
    """A notification could not be delivered; the message stays in the outbox."""


# `scheme://user:password@host`: the password of any URL a driver puts in its message, to the
# last `@` before a space or `/` (a password with an `@` that was not encoded hides nothing)
_URL_PASSWORD = re.compile(r"(\b[a-zA-Z][\w+.-]*://[^\s:/@]*:)[^\s/]*@")
# `password=secret` / `password: secret` in a DSN or a driver's key-value text; not MySQL's
# `(using password: YES)`, which says whether one was sent, never what it was
_KEY_PASSWORD = re.compile(
    r"(?i)\b(?<!using )(password|passwd|pwd)(\s*[=:]\s*)('[^']*'|\"[^\"]*\"|[^\s;,&]+)"
)


def redact_urls(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with the password of every URL (and `password=...`) and each of `secrets`
    replaced by `***`."""
    text = _URL_PASSWORD.sub(r"\1***@", text)
    text = _KEY_PASSWORD.sub(r"\1\2***", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def error_line(exc: BaseException) -> str:
    """`Type: first line` of a database error (the driver's own, when SQLAlchemy wraps one),
    for one-line messages."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return f"{type(orig).__name__}: {text[0] if text else ''}"


@contextmanager
def map_exceptions(
    what: str,
    error: type[Exception] = StoreError,
    *,
    also: tuple[type[BaseException], ...] = (),
    secrets: Iterable[str | None] = (),
) -> Iterator[None]:
    """A database error inside the block becomes `error("<what>: <Type>: <first line>")`,
    one line that names what failed, with no URL password (nor any of `secrets`) in it.

        with map_exceptions(f"warehouse {display_url}: read failed", SourceError):
            conn.execute(query)

    Maps SQLAlchemy's errors, and `also` (a driver's own errors, raised outside SQLAlchemy);
    anything else, a LookoutError included, passes through unchanged. The original is not
    chained (`from None`): its text may hold the SQL and parameters."""
    try:
        yield
    except LookoutError:
        raise
    except Exception as exc:
        from sqlalchemy.exc import SQLAlchemyError

        if not isinstance(exc, (SQLAlchemyError, *also)):
            raise
        raise database_error(exc, what, error, secrets=secrets) from None


def database_error(
    exc: BaseException,
    what: str,
    error: type[Exception] = StoreError,
    *,
    secrets: Iterable[str | None] = (),
) -> Exception:
    """What `map_exceptions` raises, for an `except` clause that cannot become a `with`:

    except sa.exc.SQLAlchemyError as exc:
        raise database_error(exc, f"warehouse {url}: read failed", SourceError) from None
    """
    return error(redact_urls(f"{what}: {error_line(exc)}", list(secrets)))
