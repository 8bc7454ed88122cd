"""The Evidently drift report a person reads, configured to agree with Lookout's verdicts.

The numbers that drive alerts come from the stored drift summaries (`lookout.stages.drift`);
Evidently gets the same period's rows of the release and cohort (at most `sample_rows` per side,
a uniform sample beyond that: ~100k rows moved scores by under 1.5%), only the drift features
(derived features instead of raw text, so no logged text ends up in the report), one column per
feature group (the member Lookout names), each with the method and threshold that settled
Lookout's verdict, and Lookout's dataset drift share: on the same rows its drifted flags are
Lookout's.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from lookout.config.models import Monitor
from lookout.model.aggregates import UNKNOWN, label_text
from lookout.model.record import is_missing, parse_numbers
from lookout.reports.evidently_page import plotly_safe_frame, render_snapshot
from lookout.sources.drift_columns import DriftColumn, category_label, sql_feature
from lookout.sources.drift_summaries import release_filter
from lookout.sources.warehouse import Warehouse
from lookout.windows import Window

__all__ = [
    "CATEGORY_TESTS",
    "EvidentlyVerdict",
    "evidently_verdict",
    "numbers_as_labels",
    "sample_frame",
    "write_drift_report",
]

log = logging.getLogger("lookout.reports")

# Evidently 0.7 runs its chisquare and z tests on categorical columns only (on a numerical one
# it raises StatTestInvalidFeatureTypeError, and the report failed). Lookout judges a numeric
# column with at most 5 distinct values in a small sample by them, each value a category
# (`lookout.checks.drift.stats.choose_method`, as Evidently's own default does): such a column
# goes to Evidently as categories, so it runs the same test on the same counts.
CATEGORY_TESTS = frozenset({"chisquare", "z"})


@dataclass(frozen=True)
class EvidentlyVerdict:
    """What the report itself says: per column whether Evidently's test flags drift, and
    whether the dataset drifted (the share of drifted columns at or past its threshold)."""

    path: Path
    columns: dict[str, bool] = field(default_factory=dict)
    dataset_drift: bool = False


def evidently_verdict(snapshot: Any, path: Path) -> EvidentlyVerdict:
    """Evidently's own flags from a snapshot run with tests (a failed ValueDrift test is a
    drifted column; a failed DriftedColumnsCount test is dataset drift)."""
    data = snapshot.dict()
    columns: dict[str, bool] = {}
    dataset = False
    for test in data.get("tests", []):
        params = test["metric_config"]["params"]
        failed = str(test["status"]).rsplit(".", 1)[-1] == "FAIL"
        if params["type"] == "evidently:metric_v2:ValueDrift":
            columns[str(params["column"])] = failed
        elif params["type"] == "evidently:metric_v2:DriftedColumnsCount":
            dataset = failed
    return EvidentlyVerdict(path, columns, dataset)


def _cohort_rows(
    warehouse: Warehouse, table: sa.Table, monitor: Monitor, cohort: str, where: list[Any]
) -> Any:
    """The rows of one cohort, by the raw values whose label is the cohort's (`is_shadow=False`
    is the boolean false, `plan_id=3` a 3 stored as 3.0): the label is Python's, and casting
    the column to text in SQL spells it the engine's way (PostgreSQL's `false`)."""
    dimension, _, label = cohort.partition("=")
    column = warehouse.column(table, monitor.source, dimension)
    if label == UNKNOWN:
        return column.is_(None)
    with warehouse.engine.connect() as conn:
        raws = conn.execute(sa.select(column).where(*where).group_by(column)).scalars()
        matching = [raw for raw in raws if not is_missing(raw) and label_text(raw) == label]
    return column.in_(matching) if matching else sa.false()


def sample_frame(
    warehouse: Warehouse,
    monitor: Monitor,
    columns: Sequence[DriftColumn],
    period: Window,
    release: Sequence[Any] | None,
    cohort: str,
    limit: int,
) -> pd.DataFrame:
    """The period's rows (one release, one cohort) as drift features; at most `limit`, drawn
    uniformly when there are more.

    The features are computed by the warehouse (the same SQL as the drift summaries), so no
    logged text is read, let alone written into the report; logged numbers are parsed as the
    summaries parse them (a value that is not a number is missing).
    """
    source = monitor.source
    table = warehouse.table(source)
    features = {*monitor.drift.features.numeric, *monitor.drift.features.categorical}
    usable = [
        c
        for c in columns
        if source.maps(c.field) or c.field in source.cohorts or c.field in features
    ]
    features = [
        sql_feature(
            c, warehouse.column(table, source, c.field), warehouse.capabilities, raw=True
        ).label(c.name)
        for c in usable
    ]
    where = [warehouse.in_window(table, source, period)]
    if release is not None:
        where.append(release_filter(warehouse, monitor, table, release))
    if cohort != "*":
        where.append(_cohort_rows(warehouse, table, monitor, cohort, where))
    query = sa.select(*features).where(*where)
    with warehouse.engine.connect() as conn:
        rows = conn.scalar(sa.select(sa.func.count()).select_from(table).where(*where)) or 0
    if rows > limit:
        query = query.order_by(sa.func.random()).limit(limit)
    frame = warehouse.fetch_frame(query)
    frame.attrs["rows"] = int(rows)  # in the period, before any sampling
    for column in usable:
        raw = frame[column.name]
        if column.numeric_value:
            frame[column.name] = parse_numbers(raw)[0]
        elif column.kind == "numeric":
            frame[column.name] = pd.to_numeric(raw, errors="coerce").astype(float)
        else:
            frame[column.name] = [
                category_label(None if is_missing(v) else v) for v in raw.tolist()
            ]
    return frame


def _small_spread_scales(
    reference: pd.DataFrame, chosen: Mapping[str, tuple[str, float]], categorical: Sequence[str]
) -> dict[str, int]:
    """Column -> a power of ten for each Wasserstein column whose reference spread is under
    Evidently's floor of 0.001 (a cost per request in USD): scaled so its spread is past it,
    Evidently's normed distance is the one Lookout's verdict took (`wasserstein_norm`)."""
    out = {}
    for name, (method, _) in chosen.items():
        if method != "wasserstein" or name in categorical:
            continue
        values = pd.to_numeric(reference[name], errors="coerce").dropna()
        std = float(values.std(ddof=0)) if len(values) else 0.0
        if 0 < std < 0.001 and std > 1e-6 * abs(float(values.mean())):
            out[name] = 10 ** math.ceil(math.log10(0.01 / std))
    return out


def write_drift_report(
    path: Path,
    reference: pd.DataFrame,
    current: pd.DataFrame,
    columns: Sequence[DriftColumn],
    *,
    title: str = "Lookout drift report",
    facts: Sequence[tuple[str, str]] = (),
    methods: Mapping[str, tuple[str, float]] | None = None,
    drift_share: float = 0.5,
) -> EvidentlyVerdict:
    """Evidently's DataDriftPreset on the two samples, saved as one self-contained HTML file;
    returns what the report says.

    `methods` (column -> (Evidently method, threshold)) configures each column as Lookout
    judged it; `drift_share` is the share of drifted columns at which the dataset drifted.
    The page shows Evidently's tests too (a failed drift test per drifted column).
    The page is written by `render_snapshot`, not Evidently's `save_html` (which embeds logged
    labels raw in a script): labels stay text, and the page runs only its own scripts.
    """
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    present = [c for c in columns if c.name in current and c.name in reference]
    usable = [
        c for c in present if reference[c.name].notna().any() and current[c.name].notna().any()
    ]
    names = [c.name for c in usable]
    chosen = {name: methods[name] for name in names if methods and name in methods}
    counted = [
        c.name
        for c in usable
        if c.kind == "numeric" and c.name in chosen and chosen[c.name][0] in CATEGORY_TESTS
    ]
    categorical = [c.name for c in usable if c.kind == "categorical" or c.name in counted]
    definition = DataDefinition(
        numerical_columns=[c.name for c in usable if c.name not in categorical],
        categorical_columns=categorical,
    )
    preset = DataDriftPreset(
        columns=names,
        drift_share=drift_share,
        per_column_method={name: method for name, (method, _) in chosen.items()} or None,
        per_column_threshold={name: limit for name, (_, limit) in chosen.items()} or None,
    )
    scales = _small_spread_scales(reference, chosen, categorical)
    if scales:  # Evidently would divide their distance by 0.001, Lookout by their spread
        current, reference = (
            f.assign(**{n: pd.to_numeric(f[n], errors="coerce") * k for n, k in scales.items()})
            for f in (current, reference)
        )
        scaled = ", ".join(f"{n} x{k:,}" for n, k in scales.items())
        why = "a spread under 0.001, shown in a unit where Evidently's distance is Lookout's"
        facts = (*facts, ("Scaled", f"{scaled} ({why})"))
    current, reference = (
        plotly_safe_frame(numbers_as_labels(f[names], counted), categorical)
        for f in (current, reference)
    )
    with warnings.catch_warnings():
        # Evidently correlates the numeric columns for its page: a column constant in the
        # period (a flag never set) makes numpy divide by a zero deviation and warn, twice per
        # column per report, in every backfill's log; the NaN it gets is what it shows
        warnings.filterwarnings("ignore", "invalid value encountered", RuntimeWarning)
        snapshot = Report([preset], include_tests=True).run(
            Dataset.from_pandas(current, data_definition=definition),
            Dataset.from_pandas(reference, data_definition=definition),
        )
    html = render_snapshot(snapshot, title, facts)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    partial.write_text(html, encoding="utf-8")
    partial.replace(path)  # readers never see a half-written report
    return evidently_verdict(snapshot, path)


def numbers_as_labels(frame: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """`frame` with the numbers of the `names` columns as category labels (`3`, `2.5`, every
    digit kept so no two values share a label); a missing number stays missing, as it is left
    out of Lookout's counts."""
    out = frame.copy()
    for name in names:
        out[name] = [
            None if is_missing(v) else str(int(v)) if float(v).is_integer() else repr(float(v))
            for v in out[name].tolist()
        ]
    return out
