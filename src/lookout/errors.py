"""One exception hierarchy for Lookout.

Every error carries the context an on-call engineer needs to act: the config file and key path,
the monitor and window, or the record id. Nothing here ever formats a secret into a message.
"""

from __future__ import annotations

__all__ = [
    "CheckError",
    "ConfigError",
    "ConfigIssue",
    "DeliveryError",
    "LookoutError",
    "SourceError",
    "StoreError",
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


class SourceError(LookoutError):
    """The warehouse could not be read (unreachable, missing table or column, bad data)."""


class StoreError(LookoutError):
    """The results store could not be read or written."""


class CheckError(LookoutError):
    """A check stage (metrics, validation, drift, evaluators) failed on a window."""


class DeliveryError(LookoutError):
    """A notification could not be delivered; the message stays in the outbox."""
