"""What a window's validation found, per release, as alert messages and the validation page
show it: every expectation's outcome, and the records quarantined (how many, why, which ids).

Built from the stage's result in memory, or from the stored rows of a window whose validation
was not re-run (a backfill of other stages), so a message about it still says what is wrong.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lookout.checks.validation.runner import ExpectationOutcome
from lookout.checks.validation.stage import ValidationResult

__all__ = ["EXAMPLE_IDS", "Quarantine", "ValidationFindings"]

EXAMPLE_IDS = 5  # record ids a message shows (the page shows more)
PAGE_IDS = 50  # quarantined ids per release the page lists


@dataclass(frozen=True)
class Quarantine:
    """The records of one release a window quarantined."""

    records: int
    reasons: tuple[tuple[str, int], ...] = ()  # (reason, records), most records first
    ids: tuple[str, ...] = ()  # the first PAGE_IDS record ids, in id order


@dataclass(frozen=True)
class ValidationFindings:
    outcomes: tuple[ExpectationOutcome, ...]
    rows_by_release: Mapping[str, int] = field(default_factory=dict)
    quarantine: Mapping[str, Quarantine] = field(default_factory=dict)
    path: str = ""

    @classmethod
    def from_result(cls, result: ValidationResult) -> ValidationFindings:
        records = (
            (record_id, result.quarantined_release[record_id], reasons)
            for record_id, reasons in result.quarantined.items()
        )
        return cls(
            outcomes=tuple(result.outcomes),
            rows_by_release=dict(result.rows_by_release),
            quarantine=_quarantine(records),
            path=result.path,
        )

    @classmethod
    def from_rows(
        cls,
        validations: Iterable[Mapping[str, Any]],
        quarantined: Iterable[Mapping[str, Any]],
        rows_by_release: Mapping[str, int],
    ) -> ValidationFindings:
        """From the store's `validations` and `quarantine` rows of one window."""
        outcomes = tuple(
            ExpectationOutcome(
                name=row["expectation"],
                kind=row["kind"],
                column=row["column_name"],
                severity=row["severity"],
                release=row["release"],
                status=row["status"],
                element_count=row["element_count"],
                unexpected_count=row["unexpected_count"],
                unexpected_percent=row["unexpected_percent"],
                observed=row["observed"],
                examples=tuple(json.loads(row["examples"] or "[]")),
                path=row["path"],
                error=row["error"],
            )
            for row in validations
        )
        records = (
            (row["record_id"], row["release"], tuple(row["reasons"].split(",")))
            for row in quarantined
        )
        paths = {o.path for o in outcomes}
        return cls(
            outcomes=outcomes,
            rows_by_release=dict(rows_by_release),
            quarantine=_quarantine(records),
            path=paths.pop() if len(paths) == 1 else "+".join(sorted(paths)),
        )

    def releases(self) -> list[str]:
        found = {o.release for o in self.outcomes} | set(self.rows_by_release)
        return sorted(found | set(self.quarantine))

    def of_release(self, release: str) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if o.release == release]

    def failing(self, release: str) -> list[ExpectationOutcome]:
        """Failed and errored expectations of a release (an error is never a pass)."""
        return [o for o in self.of_release(release) if o.status in ("failed", "error")]

    def quarantined(self, release: str) -> Quarantine:
        return self.quarantine.get(release, Quarantine(0))

    def example_ids(self, release: str, limit: int = EXAMPLE_IDS) -> tuple[str, ...]:
        """Records to look at: the failing expectations' examples (as their table shows them),
        then other quarantined records."""
        ids = [i for outcome in self.failing(release) for i in outcome.examples]
        ids += self.quarantined(release).ids
        return tuple(dict.fromkeys(ids))[:limit]


def _quarantine(records: Iterable[tuple[str, str, tuple[str, ...]]]) -> dict[str, Quarantine]:
    counts: dict[str, int] = {}
    reasons: dict[str, dict[str, int]] = {}
    ids: dict[str, list[str]] = {}
    for record_id, release, names in records:
        counts[release] = counts.get(release, 0) + 1
        per = reasons.setdefault(release, {})
        for name in set(names):
            per[name] = per.get(name, 0) + 1
        ids.setdefault(release, []).append(record_id)
    return {
        release: Quarantine(
            records=count,
            reasons=tuple(sorted(reasons[release].items(), key=lambda kv: (-kv[1], kv[0]))),
            ids=tuple(sorted(ids[release])[:PAGE_IDS]),
        )
        for release, count in counts.items()
    }
