"""The drift report of one cohort reads that cohort's rows whatever the column's type: a
boolean cohort on PostgreSQL (`is_shadow=False`) read no row, since the label is Python's
`False` and PostgreSQL spells the boolean `false` as text ("no rows to report"); a DECIMAL
3.0 is labelled `3` from a frame and was `3.0` from its raw value."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
import sqlalchemy as sa
from tests.conftest import MONITOR_YAML, T0, make_requests, write_table
from tests.window_results import project

from lookout.config.loader import load_config
from lookout.reports.evidently_report import sample_frame
from lookout.sources.drift_columns import drift_columns
from lookout.sources.warehouse import Warehouse
from lookout.windows import Window


@pytest.mark.parametrize(
    "backend", ["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_a_cohort_of_booleans_or_whole_floats_reads_its_rows(backend, tmp_path, request):
    url = (
        f"duckdb:///{tmp_path / 'wh.duckdb'}"
        if backend == "duckdb"
        else request.getfixturevalue("pg_database")
    )
    frame = make_requests()
    frame["is_shadow"] = np.arange(len(frame)) % 4 == 0
    frame["plan_id"] = (np.arange(len(frame)) % 3 + 1).astype(float)  # 1.0, 2.0, 3.0
    frame["tier"] = [Decimal("2.50") if i % 2 else Decimal("3.0") for i in range(len(frame))]
    engine = sa.create_engine(url)
    write_table(engine, frame)
    engine.dispose()
    text = MONITOR_YAML.format(table="app_requests", schema_line="", pushdown="on", threshold=0.2)
    text = text.replace(
        "cohorts: [route, region]", "cohorts: [route, region, is_shadow, plan_id, tier]"
    )
    directory = project(tmp_path, url, "cfg", text)
    monitor = load_config(directory / "profiles.yml", directory / "monitors.yml").monitors.monitors[
        0
    ]
    period = Window(T0, T0 + timedelta(hours=3))
    warehouse = Warehouse(url)
    try:
        columns = drift_columns(monitor)

        def rows(cohort: str) -> int:
            sample = sample_frame(warehouse, monitor, columns, period, None, cohort, 10_000)
            return int(sample.attrs["rows"])

        cohorts = ("is_shadow=False", "is_shadow=True", "plan_id=3", "tier=3", "tier=2.5")
        counts = {c: rows(c) for c in cohorts}
    finally:
        warehouse.dispose()
    assert counts == {
        "is_shadow=False": int((~frame["is_shadow"]).sum()),
        "is_shadow=True": int(frame["is_shadow"].sum()),
        "plan_id=3": int((frame["plan_id"] == 3).sum()),
        "tier=3": len(frame) - len(frame) // 2,  # DECIMAL 3.0, labelled as the float 3.0 is
        "tier=2.5": len(frame) // 2,
    }
