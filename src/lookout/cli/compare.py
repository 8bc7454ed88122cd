"""`lookout compare` (two releases, a scorecard) and `lookout gate` (exit 1 when a candidate
breaks a policy). Parses and prints; the steps are in `lookout.services.compare`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from lookout.cli.common import command_context, fail, load, one_monitor, period
from lookout.cli.console import console, err_console
from lookout.cli.options import MonitorsOpt, ProfilesOpt, SinceOpt, TargetOpt, UntilOpt
from lookout.core.durations import format_duration
from lookout.errors import ConfigError

__all__ = ["compare", "gate"]


def compare(
    baseline: Annotated[str, typer.Option(help="release to compare against")],
    candidate: Annotated[str, typer.Option(help="release under review")],
    monitor: Annotated[
        str | None, typer.Option(help="monitor name (may be left out when there is one)")
    ] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    cohort: Annotated[
        list[str] | None, typer.Option(help="cohort columns to split by (default: all)")
    ] = None,
    min_n: Annotated[int, typer.Option(min=1, help="records needed on each side")] = 100,
    show_all: Annotated[bool, typer.Option("--all", help="every line, not only changes")] = False,
    profiles: ProfilesOpt = Path("profiles.yml"),
    monitors: MonitorsOpt = Path("monitors.yml"),
    target: TargetOpt = None,
) -> None:
    """Two releases over the same period and cohorts: every stored metric, its difference
    with an interval, and a verdict; writes the HTML scorecard next to the drift reports.
    Exit 2 when the period holds no results of a release, saying where they are."""
    from lookout.compare.console import comparison_table
    from lookout.reports.scorecard import write_scorecard
    from lookout.services.compare import UnknownRelease
    from lookout.services.compare import compare as compare_releases
    from lookout.services.compare_period import NoDataInPeriod

    config = load(profiles, monitors, target)
    item = one_monitor(config, monitor)
    unknown = [c for c in cohort or [] if c not in item.source.cohorts]
    if unknown:
        known = ", ".join(item.source.cohorts) or "none"
        raise fail(f"unknown cohort {', '.join(map(repr, unknown))} (known: {known})", 2)
    start, end = period(since, until, timedelta(days=7))
    with command_context(config) as ctx:
        try:
            result = compare_releases(
                ctx.store, ctx.warehouse, item, baseline, candidate, start, end,
                cohorts=cohort, min_n=min_n,
            )  # fmt: skip
        except UnknownRelease as exc:
            raise fail(str(exc), 2) from None
        except NoDataInPeriod as exc:
            before = "--until" if until is not None else "now"
            words = "" if since is not None else f"the default period: the 7 days before {before}"
            raise fail(f"{exc.message(words)}; {exc.compare_hint()}", 2) from None
    console.print(comparison_table(result, all_lines=show_all))
    if result.period_note:
        err_console.print(
            f"warning: {result.period_note}", highlight=False, markup=False, soft_wrap=True
        )
    counts = {v: len(result.flagged(v)) for v in ("worse", "better", "changed", "not enough data")}
    console.print(
        f"{counts['worse']} worse, {counts['better']} better, {counts['changed']} changed, "
        f"{counts['not enough data']} without enough data, of {len(result.lines)} lines"
    )
    path = write_scorecard(Path(config.target.out_dir), result)
    console.print(f"scorecard: {escape(str(path))}", highlight=False, soft_wrap=True)


def gate(
    candidate: Annotated[str, typer.Option(help="release under review")],
    policy: Annotated[Path, typer.Option(help="gate policy YAML")],
    monitor: Annotated[
        str | None, typer.Option(help="monitor name (may be left out when there is one)")
    ] = None,
    baseline: Annotated[
        str | None, typer.Option(help="release to compare against (default: the policy's)")
    ] = None,
    until: UntilOpt = None,
    profiles: ProfilesOpt = Path("profiles.yml"),
    monitors: MonitorsOpt = Path("monitors.yml"),
    target: TargetOpt = None,
) -> None:
    """Exit 1 when the candidate breaks a policy condition (worse than allowed, significantly),
    printing which and why; 0 when it passes; 2 on a bad policy, an unknown release, or a
    period without results of a release (saying where they are)."""
    from lookout.compare.console import gate_table
    from lookout.services.compare import (
        UnknownRelease,
        gate_baseline,
        judge_gate,
        load_gate_policy,
    )
    from lookout.services.compare import compare as compare_releases
    from lookout.services.compare_period import NoDataInPeriod

    config = load(profiles, monitors, target)
    item = one_monitor(config, monitor)
    try:
        rules = load_gate_policy(policy, item)
    except ConfigError as exc:
        raise fail(str(exc), 2) from None
    with command_context(config) as ctx:
        try:
            chosen = gate_baseline(ctx.store, item.name, candidate, baseline or rules.baseline)
        except ValueError as exc:
            raise fail(str(exc), 2) from None
        start, end = period(None, until, rules.period)
        try:
            result = compare_releases(
                ctx.store, ctx.warehouse, item, chosen, candidate, start, end,
                min_n=rules.min_n, alpha=rules.alpha,
            )  # fmt: skip
        except UnknownRelease as exc:
            raise fail(str(exc), 2) from None
        except NoDataInPeriod as exc:  # the period's doing, not the policy's
            words = f"the policy's period: {format_duration(rules.period)} before "
            words += "--until" if until is not None else "now"
            hint = exc.gate_hint(rules.period)
            message = f"{exc.message(words)}; not checked, so the gate does not pass; {hint}"
            raise fail(message, 2) from None
    verdict = judge_gate(rules, result)
    failed, skipped, missing = verdict.failed, verdict.skipped, verdict.missing
    if failed or skipped or missing:
        console.print(gate_table(verdict.outcomes, missing))
    if missing:  # the gate cannot pass on what it did not check
        names = ", ".join(
            g.condition.metric if g.cohort is None else f"{g.condition.metric} (cohort {g.cohort})"
            for g in missing
        )
        raise fail(
            f"{policy}: no data for condition(s) on {names} in either release over this "
            "period: not checked, so the gate does not pass",
            2,
        )
    console.print(
        f"gate {'FAILED' if failed else 'passed'}: {result.candidate} vs {result.baseline}, "
        f"{len(verdict.outcomes) - len(skipped)} checks, {len(failed)} failed, "
        f"{len(skipped)} skipped",
        highlight=False,
    )
    if failed:
        raise typer.Exit(1)
