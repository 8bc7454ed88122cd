"""The validation details of one window: every expectation per release (status, unexpected
count and share, example record ids, observed value, error) and the records quarantined (how
many, for which critical expectation, which ids). What a data-quality alert links.

jinja2, autoescaped: releases, record ids, observed values and error texts are logged data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from lookout.checks.validation.runner import ExpectationOutcome
from lookout.reports.paths import anchor, window_page_path
from lookout.reports.templating import ENV
from lookout.stages.validation.findings import Quarantine, ValidationFindings
from lookout.windows import Window

__all__ = ["render_validation_page", "write_validation_page"]


@dataclass(frozen=True)
class _Check:
    name: str
    kind: str
    column: str
    severity: str
    status: str
    unexpected: str
    share: str
    examples: tuple[str, ...]
    observed: str
    error: str


@dataclass(frozen=True)
class _Release:
    release: str
    anchor: str
    rows: int | None
    checks: tuple[_Check, ...]
    failed: int
    errored: int
    quarantine: Quarantine
    quarantine_share: str


def _check(o: ExpectationOutcome) -> _Check:
    unexpected = "-"
    if o.unexpected_count is not None:
        whole = f" of {o.element_count:,}" if o.element_count is not None else ""
        unexpected = f"{o.unexpected_count:,}{whole}"
    share = "-" if o.unexpected_percent is None else f"{o.unexpected_percent / 100:.2%}"
    return _Check(
        o.name,
        o.kind,
        o.column or "-",
        o.severity,
        o.status,
        unexpected,
        share,
        tuple(o.examples),
        o.observed or "",
        o.error or "",
    )


def _release(found: ValidationFindings, release: str) -> _Release:
    checks = found.of_release(release)
    quarantine = found.quarantined(release)
    rows = found.rows_by_release.get(release)
    share = f"{quarantine.records / rows:.2%}" if rows else "-"
    return _Release(
        release=release,
        anchor=anchor("release", release),
        rows=rows,
        checks=tuple(_check(o) for o in checks),
        failed=sum(o.status in ("failed", "error") for o in checks),
        errored=sum(o.status == "error" for o in checks),
        quarantine=quarantine,
        quarantine_share=share,
    )


def render_validation_page(
    monitor: str, window: Window, found: ValidationFindings, now: datetime | None = None
) -> str:
    releases = [_release(found, r) for r in found.releases()]
    return ENV.get_template("validation.html.j2").render(
        monitor=monitor,
        window=f"{window.start:%Y-%m-%d %H:%M}–{window.end:%H:%M} UTC",
        label=window.label,
        path=found.path,
        releases=releases,
        failed=sum(r.failed for r in releases),
        quarantined=sum(r.quarantine.records for r in releases),
        generated=f"{(now or datetime.now(UTC)):%Y-%m-%d %H:%M} UTC",
    )


def write_validation_page(
    out_dir: Path, monitor: str, window: Window, found: ValidationFindings
) -> str:
    """Write the page; its path relative to `out_dir`."""
    relative = window_page_path("validation", monitor, window)
    target = out_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_validation_page(monitor, window, found), encoding="utf-8")
    return relative
