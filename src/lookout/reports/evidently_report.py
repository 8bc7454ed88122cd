"""The Evidently drift report a person reads: a bounded sample of each side, one HTML file.

The numbers that drive alerts come from the warehouse histograms (`lookout.checks.drift`);
Evidently gets at most `sample_rows` rows per side (measured: ~100k rows moved scores by under
1.5%) and only the drift columns, derived features instead of raw text, so no logged text ends
up in the report.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from lookout.checks.drift.columns import DriftColumn, category_label, sql_feature
from lookout.config.models import Monitor
from lookout.reports.evidently_page import plotly_safe_frame, render_snapshot
from lookout.sources.histograms import _release_filter
from lookout.sources.warehouse import Warehouse
from lookout.windows import Window

__all__ = ["sample_frame", "write_drift_report"]

log = logging.getLogger("lookout.reports")


def sample_frame(
    warehouse: Warehouse,
    monitor: Monitor,
    columns: Sequence[DriftColumn],
    period: Window,
    release: Sequence[Any] | None,
    cohort: str,
    limit: int,
) -> pd.DataFrame:
    """At most `limit` rows of the period (one release, one cohort), as drift features.

    The features are computed by the warehouse (the same SQL as the drift statistics), so no
    logged text is read, let alone written into the report.
    """
    source = monitor.source
    table = warehouse._table(source)
    usable = [c for c in columns if c.field in source.columns or c.field in source.cohorts]
    features = [
        sql_feature(c, warehouse._column(table, source, c.field), warehouse.dialect).label(c.name)
        for c in usable
    ]
    query = sa.select(*features).where(warehouse._in_window(table, source, period))
    if release is not None:
        query = query.where(_release_filter(warehouse, monitor, table, release))
    if cohort != "*":
        dimension, _, value = cohort.partition("=")
        column = warehouse._column(table, source, dimension)
        query = query.where(
            column.is_(None) if value == "(null)" else sa.cast(column, sa.String) == value
        )
    frame = warehouse._fetch_frame(query.limit(limit))
    for column in usable:
        if column.kind == "numeric":
            frame[column.name] = pd.to_numeric(frame[column.name], errors="coerce").astype(float)
        else:
            frame[column.name] = [category_label(v) for v in frame[column.name].tolist()]
    return frame


def write_drift_report(
    path: Path,
    reference: pd.DataFrame,
    current: pd.DataFrame,
    columns: Sequence[DriftColumn],
    *,
    title: str = "Lookout drift report",
    facts: Sequence[tuple[str, str]] = (),
) -> Path:
    """Evidently's DataDriftPreset on the two samples, saved as one self-contained HTML file.

    The page is written by `render_snapshot`, not Evidently's `save_html` (which embeds logged
    labels raw in a script): labels stay text, and the page runs only its own scripts.
    """
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    present = [c for c in columns if c.name in current and c.name in reference]
    usable = [
        c for c in present if reference[c.name].notna().any() and current[c.name].notna().any()
    ]
    categorical = [c.name for c in usable if c.kind == "categorical"]
    definition = DataDefinition(
        numerical_columns=[c.name for c in usable if c.kind == "numeric"],
        categorical_columns=categorical,
    )
    names = [c.name for c in usable]
    current, reference = (plotly_safe_frame(f[names], categorical) for f in (current, reference))
    snapshot = Report([DataDriftPreset()]).run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition),
    )
    html = render_snapshot(snapshot, title, facts)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    partial.write_text(html, encoding="utf-8")
    partial.replace(path)  # readers never see a half-written report
    return path
