"""An Evidently snapshot as one self-contained HTML page whose logged values stay data.

Evidently's own `save_html` puts its widget JSON raw into an inline `<script>`, so a logged
label holding `</script>` ends the script and the rest runs as markup; it sets no
Content-Security-Policy either. This page carries the same widgets, Evidently's bundled UI and
icon font, but writes the data with `script_json` (no `<` reaches the page from the data) under a
policy that runs only the page's own scripts (by hash) and loads nothing.

Labels are shown by two renderers: Plotly (the detail charts), which turns `<b>`, `<a href>`,
`<span style>` in text into markup, and React (the summary table's small charts), which shows text
as text. Categorical labels are therefore given to Evidently as `plotly_text` (tags shown
literally) and put back as they were where React shows them.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from lookout.core.safe_html import (
    content_security_policy,
    from_plotly_text,
    plotly_text,
    script_hash,
    script_json,
)
from lookout.reports.templating import ENV

__all__ = ["plotly_safe_frame", "render_snapshot"]

ROOT_ID = "lookout-evidently-root"
# Where the summary table (React) keeps a column's categories: {"x": labels, "y": counts}.
_TABLE_DISTRIBUTIONS = ("reference_distribution", "current_distribution")


def plotly_safe_frame(frame: pd.DataFrame, categorical: Iterable[str]) -> pd.DataFrame:
    """`frame` with the labels of the `categorical` columns as `plotly_text`.

    The escaping is one-to-one, so every statistic Evidently computes is unchanged.
    """
    out = frame.copy()
    for name in categorical:
        out[name] = [v if v is None else plotly_text(str(v)) for v in out[name].tolist()]
    return out


@functools.cache
def _static() -> tuple[str, str]:
    """Evidently's UI bundle and its icon font (base64), read once per process."""
    from evidently.legacy.utils.dashboard import STATIC_PATH

    static = Path(STATIC_PATH)
    bundle = (static / "index.js").read_text(encoding="utf-8")
    font = base64.b64encode((static / "material-ui-icons.woff2").read_bytes()).decode("ascii")
    return bundle, font


def _plain(value: Any) -> Any:
    """Evidently's objects (numpy arrays, pandas values) as plain JSON types."""
    from evidently.legacy.utils import NumpyEncoder

    return json.loads(json.dumps(value, cls=NumpyEncoder))


def dashboard_of(snapshot: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The dashboard and its detail graphs, as Evidently's `render_widgets` builds them."""
    from evidently.legacy.model.dashboard import DashboardInfo
    from evidently.legacy.model.widget import AdditionalGraphInfo, BaseWidgetInfo
    from evidently.legacy.renderers.html_widgets import group_widget

    model = snapshot.to_snapshot_model()
    widgets = [group_widget(title="", widgets=list(model.widgets)), *model.tests_widgets]
    graphs: dict[str, Any] = {}
    for widget in widgets:
        for graph in widget.get_additional_graphs():
            info = graph.params if isinstance(graph, AdditionalGraphInfo) else graph
            graphs[str(graph.id)] = info.dict() if isinstance(info, BaseWidgetInfo) else info
    dashboard = DashboardInfo(name="Report", widgets=widgets).dict()
    for widget in dashboard["widgets"]:
        widget.pop("additionalGraphs", None)  # sent once, in `graphs`
    return _plain(dashboard), _plain(graphs)


def restore_table_labels(value: Any) -> None:
    """Put the labels of the summary table's distributions back as logged (in place)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in _TABLE_DISTRIBUTIONS and isinstance(item, dict):
                labels = item.get("x")
                if isinstance(labels, list):
                    item["x"] = [from_plotly_text(x) if isinstance(x, str) else x for x in labels]
            else:
                restore_table_labels(item)
    elif isinstance(value, list):
        for item in value:
            restore_table_labels(item)


def render_snapshot(snapshot: Any, title: str, facts: Sequence[tuple[str, str]] = ()) -> str:
    """The report page: a heading (`title`, then `facts` as name/value pairs) and the widgets."""
    dashboard, graphs = dashboard_of(snapshot)
    restore_table_labels(dashboard)
    bundle, font = _static()
    draw = (
        f"window.drawDashboard({script_json(dashboard)}, "
        f"new Map(Object.entries({script_json(graphs)})), {script_json(ROOT_ID)});"
    )
    scripts = ["var global = globalThis;", bundle, draw]
    for body in scripts:
        lowered = body.lower()
        if "</script" in lowered or "<!--" in lowered:  # would end or bend the inline script
            raise ValueError("an inline script of the report would not stay one script")
    return ENV.get_template("drift_report.html.j2").render(
        csp=content_security_policy(map(script_hash, scripts), fonts=True, images=True),
        title=title,
        facts=facts,
        font=font,
        root_id=ROOT_ID,
        scripts=scripts,
    )
