"""The report index of a monitor: days x releases x cohorts, the verdicts of one period, links.

Each row shows the verdicts of one window's period: the one its day's report was built on (the
JSON file beside the report names it), else the day's last window. So the index and the report
it links speak of the same rows, against the same reference, with the same tests: the feature
groups that drifted (naming the member that drifted most), the ones a cohort explains ("explained
by plan=enterprise"), and for a cohort that is the source, what it explains. Everything shown
comes from the drift table; labels are logged data and the template autoescapes them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lookout.reports.drift_reports import read_sidecar
from lookout.reports.paths import REPORTS_DIR, index_path, report_path
from lookout.reports.templating import ENV
from lookout.stages.drift.outcome import cohort_words, group_view

__all__ = ["summarize_drift", "write_index", "write_root_index"]

Key = tuple[str, str, str]  # day, release, cohort


def summarize_drift(
    rows: list[dict[str, Any]],
    shown: Mapping[Key, datetime] | None = None,
    dataset_share: float = 0.5,
) -> list[dict[str, Any]]:
    """One entry per day x release x cohort: the verdicts of the window `shown` names (default:
    the day's last), how many of the day's windows drifted, and the report."""
    by_window: dict[Key, dict[datetime, list[dict[str, Any]]]] = defaultdict(dict)
    for row in rows:
        key = (row["window_start"].date().isoformat(), row["release"], row["cohort"])
        by_window[key].setdefault(row["window_start"], []).append(row)
    explains: dict[tuple[datetime, str, str], list[str]] = defaultdict(list)
    for row in rows:
        if row.get("explained_by") and row["drifted"]:
            where = (row["window_start"], row["release"], row["explained_by"])
            if row["cohort"] not in explains[where]:
                explains[where].append(row["cohort"])
    out = []
    for key, windows in by_window.items():
        day, release, cohort = key
        wanted = (shown or {}).get(key)
        start = wanted if wanted in windows else max(windows)
        chosen = windows[start]
        groups = group_view(chosen)
        moved = [g for g in groups if g["drifted"] or g["explained_by"]]
        share = len(moved) / len(groups) if groups else 0.0
        period_start = chosen[0].get("period_start") or start
        sources = sorted(
            (cohort_words(c) for c in explains.get((start, release, cohort), [])),
            key=lambda c: (c != cohort_words("*"), c),
        )
        out.append(
            {
                "day": day,
                "release": release,
                "cohort": cohort,
                "reference": chosen[0]["reference"],
                "period": f"{period_start:%Y-%m-%d %H:%M} to "
                f"{chosen[0]['window_end']:%Y-%m-%d %H:%M} UTC",
                "groups": groups,
                "drifted": [g for g in groups if g["drifted"]],
                "explained": [g for g in groups if g["explained_by"]],
                "explains": sources,
                "dataset_drift": bool(groups) and share >= dataset_share,
                "share": share,
                "tested": len(groups),
                "windows": len(windows),
                "drifted_windows": sum(
                    any(r["drifted"] and not r.get("explained_by") for r in w)
                    for w in windows.values()
                ),
                "not_enough_data": sum(r["status"] == "not_enough_data" for r in chosen),
                "report": next((r["report_path"] for r in chosen if r.get("report_path")), None)
                or next(
                    (r["report_path"] for w in windows.values() for r in w if r.get("report_path")),
                    None,
                ),
            }
        )
    out.sort(key=lambda e: (e["day"], e["release"], e["cohort"] != "*", e["cohort"]))
    out.sort(key=lambda e: e["day"], reverse=True)
    return out


def _shown(out_dir: Path, monitor: str, rows: list[dict[str, Any]]) -> dict[Key, datetime]:
    """The window whose verdicts each existing report shows (from its JSON file)."""
    out: dict[Key, datetime] = {}
    for row in rows:
        key = (row["window_start"].date().isoformat(), row["release"], row["cohort"])
        if key in out:
            continue
        page = out_dir / report_path(monitor, row["window_start"].date(), key[1], key[2])
        start = read_sidecar(page) if page.exists() else None
        if start is not None:
            out[key] = start
    return out


def write_index(
    out_dir: Path, monitor: str, rows: list[dict[str, Any]], dataset_share: float = 0.5
) -> Path:
    """Write `reports/<monitor>/index.html`; links are relative, so the folder can move."""
    entries = summarize_drift(rows, _shown(out_dir, monitor, rows), dataset_share)
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
        dataset_share=dataset_share,
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
