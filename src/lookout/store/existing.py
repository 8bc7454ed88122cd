"""Read-only commands open the results store that exists, never a new empty one.

`ResultsStore.from_target` creates a SQLite file (and its folder) on first use, which is right
for a run and wrong for `compare`, `alerts`, `releases`, `results` or `gate`: pointed at the
wrong path they would answer "no releases" from an empty store and leave a stray file behind.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url

from lookout.errors import StoreError

if TYPE_CHECKING:
    from lookout.config.models import StoreTarget
    from lookout.store.results import ResultsStore

__all__ = ["open_existing_store", "require_existing_store", "sqlite_file"]


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases, in-memory and URI forms)."""
    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return None
    if database.startswith("file:"):
        return None
    return Path(database)


def require_existing_store(url: str, display_url: str) -> None:
    """Raise StoreError, one line, when `url` is a SQLite file that does not exist."""
    path = sqlite_file(url)
    if path is not None and not path.exists():
        raise StoreError(
            f"no results store at {display_url} (store.url): nothing has run with this "
            "profile yet; run `lookout run` or `lookout demo` first, or choose the profile "
            "with --profiles/--target"
        )


def open_existing_store(target: StoreTarget) -> ResultsStore:
    """The store of a profile target for a read-only command: StoreError when it is a SQLite
    file that does not exist, instead of a new empty one."""
    from lookout.store.results import ResultsStore

    require_existing_store(target.url.get_secret_value(), target.display_url)
    return ResultsStore.from_target(target)
