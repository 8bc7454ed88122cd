"""The report index of a monitor: days x releases x cohorts, drifted columns, links (jinja2).

Everything shown comes from the drift table; labels are logged data and the template
autoescapes them.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lookout.reports.paths import REPORTS_DIR, index_path
from lookout.reports.templating import ENV

__all__ = ["summarize_drift", "write_index", "write_root_index"]


def summarize_drift(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per day x release x cohort: windows, drifted windows, drifted columns, report."""
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    windows: dict[tuple[str, str, str], set] = defaultdict(set)
    drifted_windows: dict[tuple[str, str, str], set] = defaultdict(set)
    for row in rows:
        day = row["window_start"].date().isoformat()
        key = (day, row["release"], row["cohort"])
        entry = groups.setdefault(
            key,
            {
                "day": day,
                "release": row["release"],
                "cohort": row["cohort"],
                "reference": row["reference"],
                "columns": {},
                "report": None,
                "not_enough_data": 0,
            },
        )
        windows[key].add(row["window_start"])
        if row["status"] == "not_enough_data":
            entry["not_enough_data"] += 1
        if row["drifted"]:
            drifted_windows[key].add(row["window_start"])
            best = entry["columns"].get(row["column_name"])
            if best is None or row["window_start"] > best["window_start"]:
                entry["columns"][row["column_name"]] = {
                    "method": row["method"],
                    "score": row["score"],
                    "threshold": row["threshold"],
                    "window_start": row["window_start"],
                }
        if row.get("report_path"):
            entry["report"] = row["report_path"]
    out = []
    for key, entry in groups.items():
        entry["windows"] = len(windows[key])
        entry["drifted_windows"] = len(drifted_windows[key])
        out.append(entry)
    out.sort(key=lambda e: (e["day"], e["release"], e["cohort"] != "*", e["cohort"]), reverse=False)
    out.sort(key=lambda e: e["day"], reverse=True)
    return out


def write_index(out_dir: Path, monitor: str, rows: list[dict[str, Any]]) -> Path:
    """Write `reports/<monitor>/index.html`; links are relative, so the folder can move."""
    entries = summarize_drift(rows)
    for entry in entries:
        report = entry["report"]
        if report and (out_dir / report).exists():
            entry["link"] = Path(report).relative_to(f"{REPORTS_DIR}/{monitor}").as_posix()
        else:
            entry["link"] = None
            entry["expired"] = bool(report)
    html = ENV.get_template("index.html.j2").render(
        monitor=monitor,
        entries=entries,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
    path = out_dir / index_path(monitor)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path


def write_root_index(out_dir: Path) -> Path:
    """`reports/index.html`: one link per monitor that has an index."""
    root = out_dir / REPORTS_DIR
    monitors = sorted(p.parent.name for p in root.glob("*/index.html"))
    html = ENV.get_template("root.html.j2").render(monitors=monitors)
    path = root / "index.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path
