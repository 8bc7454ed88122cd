"""Which pip extra each database needs, and one line that says so when its driver is missing.

SQLAlchemy fails on a missing driver with a bare `No module named 'psycopg'` (or "Can't load
plugin: sqlalchemy.dialects:snowflake") deep in a traceback. `require_driver` is called where
engines are made (the warehouse reader, the results store) and by the CLI before a command
starts, and turns that into `pip install 'lookout[postgres]'`. Bare dialect names get the
driver the extra installs (`postgresql://` means psycopg 3 here, not SQLAlchemy's psycopg2).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import NoSuchModuleError

from lookout.errors import LookoutError

__all__ = ["EXTRAS", "Extra", "MissingDriverError", "default_driver", "require_driver"]


@dataclass(frozen=True)
class Extra:
    """A pip extra of Lookout: its name and the SQLAlchemy driver it installs."""

    name: str
    driver: str


# backend (the URL's scheme before `+`) -> the extra that makes it work
EXTRAS: dict[str, Extra] = {
    "postgresql": Extra("postgres", "psycopg"),
    "mysql": Extra("mysql", "pymysql"),
    "mariadb": Extra("mysql", "pymysql"),
    "snowflake": Extra("snowflake", "snowflake"),
    "clickhouse": Extra("clickhouse", "native"),
    "clickhousedb": Extra("clickhouse", "connect"),  # clickhouse-connect's dialect
}


class MissingDriverError(LookoutError):
    """The database's Python driver (or its SQLAlchemy dialect) is not installed."""


def default_driver(url: str) -> str:
    """`url` with the extra's driver when it names none (`postgresql://` ->
    `postgresql+psycopg://`, `mysql://` -> `mysql+pymysql://`); other URLs unchanged."""
    parsed = make_url(url)
    extra = EXTRAS.get(parsed.drivername)
    if extra is None or parsed.drivername in ("snowflake", "clickhouse", "clickhousedb"):
        return url
    return parsed.set(drivername=f"{parsed.drivername}+{extra.driver}").render_as_string(
        hide_password=False
    )


def require_driver(url: str | URL, key: str = "warehouse") -> None:
    """Raise MissingDriverError, one line naming the extra to install, unless `url`'s dialect
    and driver import. `key` says which database (warehouse, store) for the message."""
    parsed = make_url(url) if isinstance(url, str) else url
    try:
        parsed.get_dialect().import_dbapi()
    except NoSuchModuleError:
        missing = f"no SQLAlchemy dialect for {parsed.drivername}://"
    except ImportError as exc:
        missing = f"its driver (Python module {exc.name!r}) is not installed"
    else:
        return
    raise MissingDriverError(f"{key} {parsed.drivername}://: {missing}; {_advice(parsed)}")


def _advice(parsed: URL) -> str:
    backend = parsed.get_backend_name()
    extra = EXTRAS.get(backend)
    if extra is None:
        return "install the SQLAlchemy dialect and driver for it"
    install = f"pip install 'lookout[{extra.name}]'"
    if backend == "clickhouse":  # the extra installs clickhouse-connect, whose dialect this is
        return f"{install} and use clickhousedb://"
    driver = parsed.drivername.partition("+")[2]
    if driver in (extra.driver, "") or backend in ("snowflake", "clickhousedb"):
        return install
    return f"{install} and use {backend}+{extra.driver}:// (or install the {driver} package)"
