"""What a window's stages found about one alert, for its message: a line saying what is wrong,
facts, a table (failing checks, failing records), and the link to its family's page.

Pure. Which page an alert links is decided by its metric's family (`page_kind`): validation ->
the window's validation details, evaluators -> the window's judge summary, drift -> the
cohort's drift report, ops and health -> the release timeline. `lookout.runtime.pages` writes
the page (an alert never links a page that does not exist) and hands the link in. Values from
logged data (record ids, error texts, judge reasons that may quote logged text) stay raw here,
clipped; escaping them is each format's job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from lookout.model.alerts import AlertState
from lookout.model.families.registry import FAMILIES
from lookout.notify.message import Fact, Link, Table
from lookout.windows import Window

if TYPE_CHECKING:
    from lookout.checks.validation.runner import ExpectationOutcome
    from lookout.stages.evaluators.findings import EvaluatorFindings
    from lookout.stages.validation.findings import ValidationFindings
    from lookout.store.drift_rows import DriftRow

__all__ = [
    "MAX_CELL_CHARS",
    "MAX_TABLE_ROWS",
    "NO_FINDING",
    "PAGE_LABELS",
    "Finding",
    "Findings",
    "PageKind",
    "clip",
    "drift_finding",
    "evaluator_finding",
    "page_kind",
    "validation_finding",
]

PageKind = Literal["validation", "judges", "drift", "releases"]
_PAGE_OF_STAGE: dict[str, PageKind] = {
    "validate": "validation",
    "evaluate": "judges",
    "drift": "drift",
    "ops": "releases",
    "health": "releases",
}
PAGE_LABELS: dict[PageKind, str] = {
    "validation": "Validation details",
    "judges": "Judge summary",
    "drift": "Drift report",
    "releases": "Release timeline",
}
MAX_TABLE_ROWS = 10  # the page lists the rest
MAX_CELL_CHARS = 200  # an error text or a judge reason in a message
MAX_ID_CHARS = 64
EXAMPLES_SHOWN = 5
_NAMED = 3  # failing checks named in the one-line headline


@dataclass(frozen=True)
class Finding:
    """What an alert's message adds to its numbers."""

    headline: str | None = None  # what is wrong, in words
    facts: tuple[Fact, ...] = ()
    tables: tuple[Table, ...] = ()
    link: Link | None = None  # the page of the metric's family


NO_FINDING = Finding()


class Findings(Protocol):
    """The hook the queue calls once per alert it messages."""

    def about(self, alert: AlertState) -> Finding: ...


def page_kind(metric: str) -> PageKind | None:
    """The page an alert on `metric` links, from the stage of its family."""
    family = FAMILIES.family(metric)
    return None if family is None else _PAGE_OF_STAGE.get(family.stage)


def clip(text: str, limit: int = MAX_CELL_CHARS) -> str:
    """One line, at most `limit` characters (an ellipsis marks the cut)."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _where(alert: AlertState) -> str:
    cohort = "all traffic" if alert.cohort == "*" else alert.cohort
    return f"release {alert.release}, {cohort}"


def _window(window: Window) -> str:
    return f"{window.start:%Y-%m-%d %H:%M}–{window.end:%H:%M} UTC"


# -- validation ---------------------------------------------------------------------------------


def _share(part: int, whole: int | None) -> str:
    return f"{part / whole:.2%}" if whole else "-"


def _unexpected(o: ExpectationOutcome) -> str:
    if o.unexpected_count is None:
        return "-"
    whole = f" of {o.element_count:,}" if o.element_count is not None else ""
    return f"{o.unexpected_count:,}{whole}"


def _outcome_share(o: ExpectationOutcome) -> str:
    return "-" if o.unexpected_percent is None else f"{o.unexpected_percent / 100:.2%}"


def _brief(o: ExpectationOutcome) -> str:
    """`between_latency_ms (168 unexpected, 29.89%)`, `in_set_status (error)`."""
    if o.status == "error":
        return f"{o.name} (error)"
    if o.unexpected_count is not None:
        return f"{o.name} ({o.unexpected_count:,} unexpected, {_outcome_share(o)})"
    if o.observed:
        return f"{o.name} (observed {clip(o.observed, 40)})"
    return f"{o.name} ({o.status})"


def _outcome_row(o: ExpectationOutcome) -> tuple[str, ...]:
    detail = o.error if o.status == "error" and o.error else (o.observed or "")
    return (
        o.name,
        o.kind,
        o.column or "-",
        o.status,
        _unexpected(o),
        _outcome_share(o),
        ", ".join(clip(e, MAX_ID_CHARS) for e in o.examples[:EXAMPLES_SHOWN]) or "-",
        clip(detail) or "-",
    )


_CHECK_COLUMNS = (
    "Check",
    "Kind",
    "Column",
    "Status",
    "Unexpected",
    "Share",
    "Example ids",
    "Observed or error",
)


def validation_finding(alert: AlertState, found: ValidationFindings, window: Window) -> Finding:
    """The failing checks of the alert's release in this window (its own expectation first,
    for a `validation.<name>` rule), the records quarantined and example record ids."""
    release = alert.release
    checks = found.of_release(release)
    quarantine = found.quarantined(release)
    if not checks and not quarantine.records:
        return NO_FINDING
    failing = found.failing(release)
    family = FAMILIES.family(alert.metric)
    own_name = family.part(alert.metric) if family is not None and family.is_prefix else None
    own = next((o for o in checks if o.name == own_name), None)
    listed = ([own] if own else []) + [o for o in failing if o is not own]
    rows = found.rows_by_release.get(release)

    parts = []
    if own is not None:
        parts.append(_brief(own))
    if failing:
        named = ", ".join(_brief(o) for o in failing[:_NAMED] if o is not own)
        more = f" and {len(failing) - _NAMED} more" if len(failing) > _NAMED else ""
        counted = f"{len(failing)} of {len(checks)} checks failed"
        parts.append(f"{counted}: {named}{more}" if named else counted)
    elif checks:
        parts.append(f"all {len(checks)} checks passed")
    held = f"{quarantine.records:,} record{'s' if quarantine.records != 1 else ''} quarantined"
    if alert.metric == "quarantine_rate":
        parts.insert(0, f"{held} of {rows:,}" if rows else held)
    elif quarantine.records:
        parts.append(held)

    facts = []
    if quarantine.records or rows:
        why = ", ".join(f"{name} {n:,}" for name, n in quarantine.reasons)
        total = f" of {rows:,} ({_share(quarantine.records, rows)})" if rows else ""
        facts.append(
            Fact("Quarantined", f"{quarantine.records:,}{total}" + (f": {why}" if why else ""))
        )
    ids = found.example_ids(release)
    if ids:
        facts.append(Fact("Example records", ", ".join(clip(i, MAX_ID_CHARS) for i in ids)))
    tables = ()
    if listed:
        shown = listed[:MAX_TABLE_ROWS]
        count = (
            f" ({len(shown)} of {len(listed)}; the page lists all)"
            if len(listed) > len(shown)
            else ""
        )
        title = f"Failing checks of release {release}, {_window(window)}{count}"
        tables = (Table(title, _CHECK_COLUMNS, tuple(_outcome_row(o) for o in shown)),)
    return Finding(headline="; ".join(parts), facts=tuple(facts), tables=tables)


# -- evaluators ---------------------------------------------------------------------------------

_EXAMPLE_COLUMNS = ("Record", "Score", "Sample", "Reason")


def evaluator_finding(alert: AlertState, found: EvaluatorFindings) -> Finding:
    """How many sampled records failed (or errored), and up to 5 of them with the reason."""
    family = FAMILIES.family(alert.metric)
    if family is None:
        return NO_FINDING
    evaluator = family.part(alert.metric)
    errors = alert.metric.startswith("eval_errors.")
    status = "error" if errors else "judged"
    headline = None
    value = found.value(alert.metric, alert.release, alert.cohort)
    if value is not None and value.n and family.rate:
        hits = round(value.value * value.n)
        if errors:
            headline = f"{evaluator}: {hits:,} of {value.n:,} judge attempts errored"
        elif alert.metric.startswith(("eval.", "eval_flagged.")):
            sample = "sampled" if alert.metric.startswith("eval.") else "flagged"
            headline = f"{evaluator}: {value.n - hits:,} of {value.n:,} {sample} records failed"
        if headline:  # the alert's own value may be pooled over a lookback
            headline += " in this window"
    examples = found.examples_of(evaluator, alert.release, alert.cohort, status)
    if not examples:
        return Finding(headline=headline)
    shown = examples[:EXAMPLES_SHOWN]
    what = "Errored" if errors else "Failing"
    scope = _where(alert)
    if not found.cohorts_known and alert.cohort != "*":
        scope = f"release {alert.release} (cohorts of stored judgments are not known)"
    rows = tuple(
        (
            clip(e.record_id, MAX_ID_CHARS),
            "-" if e.score is None else f"{e.score:.2f}",
            e.sample or "-",
            clip(e.reason) or "-",
        )
        for e in shown
    )
    table = Table(f"{what} records of {evaluator} ({scope})", _EXAMPLE_COLUMNS, rows)
    return Finding(headline=headline, tables=(table,))


# -- drift --------------------------------------------------------------------------------------


def drift_finding(alert: AlertState, rows: Sequence[DriftRow]) -> Finding:
    """The drifted column (for a group such as `drift.output`, the member that moved most): its
    effect size against the floor, the reference, the sample sizes and which cohort explains
    it."""
    from lookout.stages.drift.outcome import detail_lines  # the drift stage's own words

    family = FAMILIES.family(alert.metric)
    if family is None or not family.is_prefix:
        return NO_FINDING
    name = family.part(alert.metric)
    members = [
        r
        for r in rows
        if (r.release, r.cohort) == (alert.release, alert.cohort)
        and name in (r.column, r.group)
        and r.score is not None
    ]
    if not members:
        return NO_FINDING
    row = min(
        members,
        key=lambda r: (not r.alerting, not r.drifted, -(r.score or 0) / (r.threshold or 1)),
    )
    verdict = "drifted" if row.drifted else "did not drift"
    if row.drifted and row.explained_by and not row.alerting:
        # an alert resolved because the shift is another cohort's: say so in its first line
        verdict = f"drifted, explained by {row.explained_by},"
    moved = f"{row.shift}; " if row.shift else ""
    headline = (
        f"{row.column} {verdict} from {row.reference}: {moved}{row.method} {row.score:.3g} "
        f"(floor {row.threshold:.3g})"
    )
    detail = detail_lines([r for r in rows if r.release == alert.release]).get(
        (alert.release, alert.cohort, alert.metric)
    )
    return Finding(headline=headline, facts=(Fact("Detail", detail),) if detail else ())
