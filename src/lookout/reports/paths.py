"""The stable path scheme of reports, and how a path becomes a link.

`reports/<monitor>/<YYYY-MM-DD>/<release>/<cohort>.html`; release and cohort labels are logged
data, so they become file-name-safe slugs (with a short hash when anything had to change, so
two labels never share a file).
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from pathlib import Path
from urllib.parse import quote

__all__ = ["REPORTS_DIR", "index_path", "report_path", "report_url", "slug"]

REPORTS_DIR = "reports"
_UNSAFE = re.compile(r"[^A-Za-z0-9._=@-]+")


def slug(label: str) -> str:
    """A file-name-safe form of a label; `*` (the whole release) is `all`."""
    if label == "*":
        return "all"
    cleaned = _UNSAFE.sub("_", label).strip("._") or "_"
    if cleaned != label or len(cleaned) > 80:
        digest = hashlib.sha256(label.encode()).hexdigest()[:8]
        cleaned = f"{cleaned[:80]}-{digest}"
    return cleaned


def report_path(monitor: str, day: date, release: str, cohort: str) -> str:
    """Relative to the output directory."""
    return f"{REPORTS_DIR}/{monitor}/{day.isoformat()}/{slug(release)}/{slug(cohort)}.html"


def index_path(monitor: str) -> str:
    return f"{REPORTS_DIR}/{monitor}/index.html"


def report_url(relative: str | None, out_dir: Path, base_url: str | None) -> str | None:
    """`report_base_url` + path when configured (an http(s) link), else None (a local file)."""
    if relative is None or not base_url:
        return None
    inside = relative.removeprefix(f"{REPORTS_DIR}/")
    return f"{base_url.rstrip('/')}/{quote(inside)}"
