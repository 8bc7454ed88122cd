"""The stable path scheme of reports, and how a path becomes a link.

Drift reports: `reports/<monitor>/<YYYY-MM-DD>/<release>/<cohort>.html`; release and cohort
labels are logged data, so they become file-name-safe slugs (with a short hash when anything had
to change, so two labels never share a file). A window's pages: `reports/<monitor>/validation/
<YYYY-MM-DD>/<HHMM>.html` and `reports/<monitor>/judges/<YYYY-MM-DD>/<HHMM>.html` (their own
folders: a release slug can never land on them). The release timeline:
`reports/<monitor>/releases.html`.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from pathlib import Path
from urllib.parse import quote

from lookout.windows import Window

__all__ = [
    "REPORTS_DIR",
    "WINDOW_PAGE_KINDS",
    "anchor",
    "index_path",
    "releases_path",
    "report_path",
    "report_url",
    "slug",
    "window_page_path",
]

REPORTS_DIR = "reports"
WINDOW_PAGE_KINDS = ("validation", "judges")  # per-window pages, in day folders of their own
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


def window_page_path(kind: str, monitor: str, window: Window) -> str:
    """A window's validation details or judge summary, relative to the output directory."""
    if kind not in WINDOW_PAGE_KINDS:
        raise ValueError(f"unknown window page {kind!r} (one of {WINDOW_PAGE_KINDS})")
    start = window.start
    return f"{REPORTS_DIR}/{monitor}/{kind}/{start.date().isoformat()}/{start:%H%M}.html"


def releases_path(monitor: str) -> str:
    return f"{REPORTS_DIR}/{monitor}/releases.html"


def anchor(prefix: str, label: str) -> str:
    """The id of a section of a page about one label (a release, an evaluator)."""
    return f"{prefix}-{slug(label)}"


def index_path(monitor: str) -> str:
    return f"{REPORTS_DIR}/{monitor}/index.html"


def report_url(
    relative: str | None, out_dir: Path, base_url: str | None, fragment: str | None = None
) -> str | None:
    """`report_base_url` + path (+ `#fragment`) when configured (an http(s) link), else None
    (a local file)."""
    if relative is None or not base_url:
        return None
    inside = relative.removeprefix(f"{REPORTS_DIR}/")
    url = f"{base_url.rstrip('/')}/{quote(inside)}"
    return f"{url}#{quote(fragment)}" if fragment else url
