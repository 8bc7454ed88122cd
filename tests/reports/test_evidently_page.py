"""The report page carries exactly what Evidently's own page would, written safely."""

from __future__ import annotations

import html
import json
import re

import numpy as np
import pandas as pd
import pytest

from lookout.core.safe_html import script_hash
from lookout.reports.evidently_page import dashboard_of, plotly_safe_frame, render_snapshot

HOSTILE = "</script><svg onload=alert(1)>"


def _snapshot(labels: list[str]):
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    rng = np.random.default_rng(3)

    def side(p):
        return pd.DataFrame(
            {"route": rng.choice(labels, 200, p=p), "latency_ms": rng.normal(100, 10, 200)}
        )

    definition = DataDefinition(numerical_columns=["latency_ms"], categorical_columns=["route"])
    current, reference = side([0.2, 0.8]), side([0.8, 0.2])
    return Report([DataDriftPreset()]).run(
        Dataset.from_pandas(plotly_safe_frame(current, ["route"]), data_definition=definition),
        Dataset.from_pandas(plotly_safe_frame(reference, ["route"]), data_definition=definition),
    )


@pytest.fixture(scope="module")
def plain():
    return _snapshot(["faq", "search"])


def test_the_widgets_are_the_ones_evidently_itself_embeds(plain):
    """Same dashboard and detail graphs as Evidently's `get_html_str` (its data lines)."""
    theirs = plain.get_html_str(as_iframe=False)
    found = dict(re.findall(r"^\s*var (\w+) = (.*);$", theirs, re.M))
    [graphs_name] = [name for name in found if name.startswith("additional_graphs_")]
    dashboard_name = graphs_name.removeprefix("additional_graphs_")
    dashboard, graphs = dashboard_of(plain)
    expected = json.loads(found[dashboard_name])
    for page in (dashboard, expected):
        page["widgets"][0].pop("id")  # the wrapping group gets a new id at each render
    assert dashboard == expected
    assert graphs == json.loads(found[graphs_name])
    assert graphs  # the detail charts are there


def test_the_page_runs_only_its_own_scripts_and_names_each_by_hash():
    page = render_snapshot(_snapshot(["faq", HOSTILE]), "Drift <b>of</b> x", [("Cohort", HOSTILE)])
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert len(scripts) == 3  # the `global` shim, Evidently's bundle, the data and draw call
    [policy] = re.findall(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    allowed = re.search(r"script-src ([^;]+)", html.unescape(policy)).group(1).split()
    assert sorted(allowed) == sorted(script_hash(s) for s in scripts)
    assert "<" not in scripts[-1] and "svg onload" in scripts[-1]  # the label, as data
    assert HOSTILE not in page
    assert "<title>Drift &lt;b&gt;of&lt;/b&gt; x</title>" in page
    assert "<code>&lt;/script&gt;&lt;svg onload=alert(1)&gt;</code>" in page
    assert page.index("Content-Security-Policy") < page.index("<script>")
