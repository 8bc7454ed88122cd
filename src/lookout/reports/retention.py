"""Old reports go: day folders older than the monitor's retention are deleted (the drift
reports' `reports/<monitor>/<day>/`, and the window pages' `reports/<monitor>/validation/<day>/`
and `reports/<monitor>/judges/<day>/`)."""

from __future__ import annotations

import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

from lookout.reports.paths import REPORTS_DIR, WINDOW_PAGE_KINDS

__all__ = ["clean_reports"]


def clean_reports(out_dir: Path, monitor: str, now: datetime, retention: timedelta) -> list[str]:
    """Delete the day folders whose day ended before `now - retention`; their names (a window
    page's folder as `validation/<day>`)."""
    base = out_dir / REPORTS_DIR / monitor
    cutoff = (now - retention).date()
    removed = _clean(base, cutoff, "")
    for kind in WINDOW_PAGE_KINDS:
        removed += _clean(base / kind, cutoff, f"{kind}/")
    return removed


def _clean(folder: Path, cutoff: date, prefix: str) -> list[str]:
    if not folder.is_dir():
        return []
    removed = []
    for child in sorted(folder.iterdir()):
        try:
            day = date.fromisoformat(child.name)
        except ValueError:
            continue  # not a day folder (index.html, anything a person put there)
        if child.is_dir() and day < cutoff:
            shutil.rmtree(child)
            removed.append(prefix + child.name)
    return removed
