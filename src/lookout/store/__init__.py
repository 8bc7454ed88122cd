"""Results store: schema, Alembic migrations and idempotent per-window writes."""

from lookout.store.results import OutboxMessage, OutboxRow, ResultsStore, WindowCommit

__all__ = ["OutboxMessage", "OutboxRow", "ResultsStore", "WindowCommit"]
