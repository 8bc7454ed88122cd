"""Old reports go: day folders older than the monitor's retention are deleted."""

from __future__ import annotations

import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

from lookout.reports.paths import REPORTS_DIR

__all__ = ["clean_reports"]


def clean_reports(out_dir: Path, monitor: str, now: datetime, retention: timedelta) -> list[str]:
    """Delete `reports/<monitor>/<day>/` folders whose day ended before `now - retention`."""
    base = out_dir / REPORTS_DIR / monitor
    if not base.is_dir():
        return []
    cutoff = (now - retention).date()
    removed = []
    for folder in sorted(base.iterdir()):
        try:
            day = date.fromisoformat(folder.name)
        except ValueError:
            continue  # not a day folder (index.html, anything a person put there)
        if folder.is_dir() and day < cutoff:
            shutil.rmtree(folder)
            removed.append(folder.name)
    return removed
