"""Read-only commands open the results store that exists, never a new empty one.

`ResultsStore.from_target` creates a SQLite file (and its folder) on first use, which is right
for a run and wrong for `compare`, `alerts`, `releases`, `results` or `gate`: pointed at the
wrong path they would answer "no releases" from an empty store and leave a stray file behind.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from lookout.errors import StoreError

__all__ = ["require_existing_store", "sqlite_file"]


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
