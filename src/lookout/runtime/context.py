"""`open_context()`: the one way the CLI, the flows and the benchmarks get what a profile
target names (the config, the warehouse, the results store, the output folder).

Each used to build and dispose its own `ResultsStore` and `Warehouse`; here they are opened on
first use and disposed when the `with` block ends, so a command that only reads alerts never
opens the warehouse, and nothing is left open after an error.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lookout.config.loader import LookoutConfig
    from lookout.sources.warehouse import Warehouse
    from lookout.store.results import ResultsStore

__all__ = ["RuntimeContext", "open_context"]


class RuntimeContext:
    """The config of one target and its adapters, each opened on first use.

    `existing_store`: read-only commands get the store that exists (a SQLite file that is not
    there is a StoreError, see `store.existing`), never a new empty one."""

    def __init__(self, config: LookoutConfig, *, existing_store: bool = False) -> None:
        self.config = config
        self.out_dir = Path(config.target.out_dir)
        self._existing_store = existing_store
        self._store: ResultsStore | None = None
        self._warehouse: Warehouse | None = None

    @property
    def store(self) -> ResultsStore:
        if self._store is None:
            if self._existing_store:
                from lookout.store.existing import open_existing_store

                self._store = open_existing_store(self.config.target.store)
            else:
                from lookout.store.results import ResultsStore

                self._store = ResultsStore.from_target(self.config.target.store)
        return self._store

    @property
    def warehouse(self) -> Warehouse:
        if self._warehouse is None:
            from lookout.sources.warehouse import Warehouse

            self._warehouse = Warehouse.from_target(self.config.target.warehouse)
        return self._warehouse

    def close(self) -> None:
        """Dispose what was opened (safe to call twice)."""
        warehouse, store = self._warehouse, self._store
        self._warehouse = self._store = None
        try:
            if warehouse is not None:
                warehouse.dispose()
        finally:
            if store is not None:
                store.dispose()


@contextmanager
def open_context(
    profiles: str | Path = "profiles.yml",
    monitors: str | Path = "monitors.yml",
    target: str | None = None,
    *,
    config: LookoutConfig | None = None,
    existing_store: bool = False,
) -> Iterator[RuntimeContext]:
    """The target's config (loaded from `profiles` and `monitors` unless `config` is given)
    with its warehouse and results store, disposed on exit.

        with open_context("profiles.yml", "monitors.yml", "prod") as ctx:
            ctx.store.alerts(state="firing")
    """
    if config is None:
        from lookout.config.loader import load_config

        config = load_config(Path(profiles), Path(monitors), target=target)
    ctx = RuntimeContext(config, existing_store=existing_store)
    try:
        yield ctx
    finally:
        ctx.close()
