"""The ports stages run against: what they read from the warehouse (`WindowSource`) and read
from or write to the store (`StageResults`), instead of the concrete `Warehouse` and
`ResultsStore`.

A port lists exactly the members the stages use, with the checks they call and the drift
summaries followed through. Either class offers more (opening, closing, migrating, the CLI's
reads), and a stage could quietly start to lean on it; small protocols by concern, combined per
stage and then into the two that `StageContext` hands out, let each helper ask for only what it
uses. The ports the checks need live in `lookout.checks.ports` (checks may not import a stage)
and are re-exported here beside the stages' own. The drift summaries
(`lookout.sources.drift_summaries`) are warehouse-side SQL below every stage: they read
through a port of their own (`SummarySource`, in `lookout.sources.summary_port`), and
`DriftSource` builds on it, so the drift stage
hands its port straight through.
`tests/stages/test_ports.py` holds that the real classes satisfy the ports, that each is
narrower than its class, and that no stage or check touches a member its port lacks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from lookout.checks.ports import (
    EngineTraits,
    EvaluatorSource,
    JudgmentCache,
    SourceTables,
    ValidationQueries,
    ValidationSource,
    WindowReader,
)
from lookout.config.models import Monitor
from lookout.core.cohorts import CohortCap
from lookout.core.summary import Summary
from lookout.model.aggregates import GroupAggregates, MetricSettings
from lookout.sources.summary_port import SummarySource
from lookout.windows import Window

__all__ = [
    "CohortHistory",
    "DriftProfiles",
    "DriftResults",
    "DriftSource",
    "EngineTraits",
    "EvaluatorSource",
    "JudgmentCache",
    "OpsReads",
    "OpsSource",
    "QuarantinedRecords",
    "ReleaseHistory",
    "SourceTables",
    "StageResults",
    "StoredSummaries",
    "ValidationQueries",
    "ValidationSource",
    "WindowReader",
    "WindowSource",
]


# -- the warehouse ----------------------------------------------------------------------------


@runtime_checkable
class OpsReads(Protocol):
    """The ops stage's two paths: aggregates computed by the warehouse where it can (cohort
    counts first, for the cap), or the window read with its not-a-number rows marked; and the
    newest ingest time either way (late data)."""

    @property
    def supports_pushdown(self) -> bool: ...
    def cohort_counts(self, monitor: Monitor, window: Window) -> dict[str, dict[str, int]]: ...
    def aggregate_window(
        self,
        monitor: Monitor,
        window: Window,
        settings: MetricSettings,
        cap: CohortCap | None = None,
    ) -> list[GroupAggregates]: ...
    def count_not_numbers(self, monitor: Monitor, window: Window) -> int: ...
    def read_window_checked(
        self,
        monitor: Monitor,
        window: Window,
        fields: Sequence[str] | None = None,
        *,
        cohorts: bool = True,
    ) -> tuple[pd.DataFrame, np.ndarray]: ...
    def max_ingested_in(self, monitor: Monitor, window: Window) -> datetime | None: ...
    def max_ingested(self, frame: pd.DataFrame) -> datetime | None: ...
    def feedback_votes(self, monitor: Monitor, window: Window) -> tuple[pd.DataFrame, int]: ...


@runtime_checkable
class OpsSource(SourceTables, EngineTraits, OpsReads, WindowReader, Protocol):
    """Everything the ops stage reads, the choice of its metric path included (the window's
    rows per release: how big it is)."""


@runtime_checkable
class DriftSource(SourceTables, EngineTraits, WindowReader, SummarySource, Protocol):
    """What the drift stage reads: the releases of a window or reference period, and the drift
    summaries `lookout.sources.drift_summaries` computes in SQL (its `SummarySource`: several
    GROUP BYs on one connection of the engine, under the window's condition, keyed by capped
    cohorts)."""


@runtime_checkable
class WindowSource(ValidationSource, EvaluatorSource, OpsSource, DriftSource, Protocol):
    """What the stages read from the warehouse, all told (`StageContext.warehouse`)."""


# -- the store --------------------------------------------------------------------------------


@runtime_checkable
class CohortHistory(Protocol):
    """The stored traffic of each cohort value: what the cohort cap ranks values by."""

    def cohort_traffic(
        self, monitor: str, since: datetime, until: datetime
    ) -> dict[str, dict[str, int]]: ...


@runtime_checkable
class QuarantinedRecords(Protocol):
    """The records validation quarantined in a window, when it did not run this time: the
    evaluators leave them out."""

    def quarantined_ids(self, monitor: str, window: Window) -> set[str]: ...


@runtime_checkable
class ReleaseHistory(Protocol):
    """When each release was first seen: which reference its drift is judged against."""

    def release_first_seen(self, monitor: str) -> dict[str, datetime]: ...


@runtime_checkable
class StoredSummaries(Protocol):
    """The summaries stored with earlier windows: a period's drift is their merge, never a
    re-read, when every window of it was processed."""

    def summaries(
        self,
        monitor: str,
        since: datetime,
        until: datetime,
        *,
        releases: Iterable[str] | None = None,
        stages: Iterable[str] | None = None,
        cohorts: Iterable[str] | None = None,
        cached: bool = True,
    ) -> dict[tuple[str, str], list[tuple[datetime, Summary]]]: ...
    def summary_gaps(
        self, monitor: str, stage: str, since: datetime, until: datetime, size: timedelta
    ) -> list[datetime]: ...


@runtime_checkable
class DriftProfiles(Protocol):
    """A fixed reference's summaries, cached once computed (per store: `display_url` keys the
    process's decoded copies)."""

    @property
    def display_url(self) -> str: ...
    def drift_profile(self, monitor: str, key: str) -> dict | None: ...
    def save_drift_profile(
        self, monitor: str, key: str, description: str, profile: dict, now: datetime
    ) -> None: ...


@runtime_checkable
class DriftResults(StoredSummaries, DriftProfiles, ReleaseHistory, Protocol):
    """Everything the drift stage reads from the store, and the profiles it caches there."""


@runtime_checkable
class StageResults(CohortHistory, QuarantinedRecords, JudgmentCache, DriftResults, Protocol):
    """What the stages read from and write to the store, all told (`StageContext.store`); the
    window's own results are written by the run, in one transaction, not by a stage."""
