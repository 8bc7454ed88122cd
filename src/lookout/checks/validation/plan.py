"""Planning a monitor's validation suite: which expectations run, and which columns they read.

The declared expectations (or the default suite) plus those of a GX suite file, each built
into a GX expectation for a window when the suite runs (`stage.run_validation`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import Any

from lookout.checks.validation.gx_suite import load_suite_file, referenced_columns, to_gx
from lookout.config.models import Monitor
from lookout.config.validation import default_suite, spec_name
from lookout.windows import Window

__all__ = ["PlannedExpectation", "plan_suite", "validation_columns"]


@dataclass(frozen=True)
class PlannedExpectation:
    name: str
    kind: str
    column: str | None
    severity: str
    spec: Any = None  # ExpectationSpec, or None for one from a GX suite file
    gx: Any = None  # the GX expectation when it comes from a suite file

    def build(self, window: Window, *, naive_zone: tzinfo | None) -> Any:
        if self.gx is not None:
            return self.gx
        return to_gx(self.spec, window, naive_zone=naive_zone)


def plan_suite(monitor: Monitor, base_dir: Path | None = None) -> list[PlannedExpectation]:
    """The monitor's declared expectations (or the default suite) plus its GX suite file."""
    config = monitor.validation
    specs = list(config.expectations) or default_suite(
        set(monitor.source.fields), list(monitor.source.release), config.statuses
    )
    planned = [
        PlannedExpectation(spec_name(s), s.kind, getattr(s, "column", None), s.severity, spec=s)
        for s in specs
    ]
    if config.suite_file:
        path = Path(config.suite_file)
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        for expectation in load_suite_file(path, 0):
            name = expectation.meta["lookout_name"]
            column = getattr(expectation, "column", None)
            kind = expectation.expectation_type.removeprefix("expect_")
            planned.append(PlannedExpectation(name, kind, column, "warning", gx=expectation))
    return planned


def validation_columns(monitor: Monitor, planned: list[PlannedExpectation]) -> list[str]:
    """Only what the suite reads: record ids, release fields and the expectations' columns."""
    wanted = {"record_id", *monitor.source.release}
    wanted |= referenced_columns([p.spec for p in planned if p.spec is not None])
    wanted |= {p.column for p in planned if p.column}
    mapped = [c for c in monitor.source.fields if c in wanted]
    source = monitor.source
    extra = [*source.release, *source.cohorts, *source.json_fields]  # under their own names
    return mapped + [c for c in dict.fromkeys(extra) if c in wanted and c not in mapped]
