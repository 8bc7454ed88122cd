"""`lookout` command line (typer + rich): commands parse arguments and print; logic is elsewhere."""

from __future__ import annotations

import math
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.markup import escape

from lookout import cli_backfill, cli_deploy, cli_history, cli_init, cli_results, cli_tables
from lookout.cli_console import console, err_console
from lookout.cli_options import MonitorsOpt, ProfilesOpt, TargetOpt
from lookout.errors import ConfigError, LookoutError

app = typer.Typer(
    name="lookout",
    help="Watch ML and LLM systems in production: metrics per release, alerts to owners.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

VerboseOpt = Annotated[
    bool, typer.Option("--verbose", "-v", help="show Prefect's per-flow and per-task log lines")
]
# Options every command takes, before or after its name; given to a group (`lookout` or
# `lookout alerts`), they become the defaults of its commands (the command's own option wins).
SHARED_OPTIONS = ("profiles", "monitors", "target", "verbose")


@app.callback()
def _root(
    context: typer.Context,
    profiles: Annotated[
        Path | None, typer.Option("--profiles", help="profiles.yml (WHERE), for every command")
    ] = None,
    monitors: Annotated[
        Path | None, typer.Option("--monitors", help="monitors.yml (WHAT), for every command")
    ] = None,
    target: TargetOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    _pass_down(context)


def _pass_down(context: typer.Context) -> None:
    """The shared options given to this group, as defaults of every command below it."""
    given = {
        name: str(value) if isinstance(value, Path) else value
        for name, value in context.params.items()
        if name in SHARED_OPTIONS
        and getattr(context.get_parameter_source(name), "name", "DEFAULT") != "DEFAULT"
    }
    if given:
        context.default_map = _defaults_below(context.command, given, context.default_map or {})


def _defaults_below(command: object, given: dict, existing: dict) -> dict:
    """click's `default_map` for the commands of `command`: `given` for each option a command
    has, nested for groups."""
    found = dict(existing)
    for name, sub in getattr(command, "commands", {}).items():
        entry = dict(found.get(name) or {})
        entry.update({k: v for k, v in given.items() if k in {p.name for p in sub.params}})
        found[name] = _defaults_below(sub, given, entry)
    return found


def _fail(message: str, code: int = 1) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _finite(value: float | None) -> float | None:
    """Option callback: click's FLOAT (and FloatRange) accept "nan" and "inf"; refuse them."""
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"{value} is not a finite number")
    return value


@app.command("validate-config")
def validate_config(
    profiles: ProfilesOpt = Path("profiles.yml"),
    monitors: MonitorsOpt = Path("monitors.yml"),
    target: TargetOpt = None,
    check_warehouse: Annotated[
        bool, typer.Option(help="also check every mapped column against the live tables")
    ] = False,
) -> None:
    """Check profiles.yml and monitors.yml: every problem at once, each with file, line,
    column and key; then the databases' drivers (and with --check-warehouse, the tables)."""
    from lookout.config.loader import load_config
    from lookout.drivers import MissingDriverError, require_driver

    try:
        config = load_config(profiles, monitors, target=target)
    except ConfigError as exc:
        for issue in exc.issues:
            err_console.print(str(issue), highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    problems = []
    for key in ("warehouse", "store"):
        try:
            require_driver(getattr(config.target, key).url.get_secret_value(), key)
        except MissingDriverError as exc:
            problems.append(f"{profiles}: outputs.{config.target_name}.{key}.url: {exc}")
    if check_warehouse and not problems:
        problems += _warehouse_problems(config)
    if problems:
        for problem in problems:
            err_console.print(problem, highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(2)
    names = ", ".join(m.name for m in config.monitors.monitors)
    rules = sum(len(m.rules) for m in config.monitors.monitors)
    checked = ", columns checked against the tables" if check_warehouse else ""
    console.print(
        f"[green]ok[/]: target {escape(config.target_name)}: warehouse "
        f"{escape(config.target.warehouse.display_url)}, store "
        f"{escape(config.target.store.display_url)}; {len(config.monitors.monitors)} "
        f"monitor(s) ({escape(names)}), {rules} rule(s){checked}",
        highlight=False,
        soft_wrap=True,
    )


def _warehouse_problems(config) -> list[str]:
    """Every monitor's mapping against the live tables (all of them, not the first failure)."""
    from lookout.sources.warehouse import Warehouse

    warehouse = Warehouse.from_target(config.target.warehouse)
    problems = []
    try:
        for index, monitor in enumerate(config.monitors.monitors):
            try:
                warehouse.check_monitor(monitor, index)
            except LookoutError as exc:
                problems.append(str(exc))
    finally:
        warehouse.dispose()
    return problems


@app.command()
def run(
    profiles: ProfilesOpt = Path("profiles.yml"),
    monitors: MonitorsOpt = Path("monitors.yml"),
    target: TargetOpt = None,
    monitor: Annotated[list[str] | None, typer.Option(help="only these monitors")] = None,
    as_of: Annotated[
        datetime | None, typer.Option(help="process windows complete at this UTC time")
    ] = None,
    verbose: VerboseOpt = False,
) -> None:
    """Run the hourly flow once: every complete window since each monitor's watermark."""
    from datetime import UTC

    from lookout.windows import check_as_of

    if as_of is not None:
        try:
            as_of = check_as_of(as_of, datetime.now(UTC))
        except ValueError as exc:
            raise _fail(f"--as-of: {exc}", 2) from None
    config = _load(profiles, monitors, target)
    _chosen_monitors(config, monitor)
    quiet_prefect(verbose)
    from lookout.cli_summary import run_summary_line, run_summary_table
    from lookout.flows.hourly import hourly

    try:
        summary = hourly(
            as_of=as_of,
            monitors=monitor,
            profiles_path=str(profiles),
            monitors_path=str(monitors),
            target=target,
        )
    except ConfigError as exc:
        raise _fail(str(exc), 2) from None
    except LookoutError as exc:
        raise _fail(str(exc)) from None
    console.print(run_summary_table(summary["results"], "lookout run", console.width))
    line = run_summary_line(summary["results"], summary["delivery"])
    console.print(line, highlight=False, soft_wrap=True)


def quiet_prefect(verbose: bool) -> None:
    """Before Prefect is imported: telemetry off and, unless `verbose`, only its warnings (no
    line per task run, no temporary-server hint); the command prints one summary instead."""
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # without PREFECT_API_URL the flow runs against a temporary local API; on a busy machine
    # it needs longer than Prefect's default to start
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    if not verbose:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


@app.command()
def serve(
    profiles: ProfilesOpt = Path("profiles.yml"),
    monitors: MonitorsOpt = Path("monitors.yml"),
    target: TargetOpt = None,
) -> None:
    """Run the hourly and nightly schedules and the backfill deployment in this process (Prefect
    `serve`, no work pool): for small setups. Needs a Prefect API (PREFECT_API_URL)."""
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from prefect import serve as prefect_serve

    _load(profiles, monitors, target)  # a broken config fails here, with its line and column
    from lookout.flows.deployments import build_deployments

    prefect_serve(*build_deployments(profiles.resolve(), monitors.resolve(), target))


@app.command()
def automations(
    slack_webhook_env: Annotated[
        str | None,
        typer.Option(help="env var holding a Slack incoming-webhook URL (saved as a block)"),
    ] = None,
    block: Annotated[
        str | None,
        typer.Option(help="an existing Prefect notification block, <type slug>/<name>"),
    ] = None,
) -> None:
    """Create or update the Prefect automations that notify when a Lookout flow run fails,
    crashes or is late (needs a Prefect API: PREFECT_API_URL)."""
    os.environ.setdefault("DO_NOT_TRACK", "1")
    from lookout.flows.automations import block_id, deploy_automations, save_slack_webhook

    if (slack_webhook_env is None) == (block is None):
        raise _fail("give exactly one of --slack-webhook-env or --block", 2)
    if slack_webhook_env is not None:
        url = os.environ.get(slack_webhook_env, "")
        if not url.startswith("https://"):
            raise _fail(f"${slack_webhook_env} must hold an https:// webhook URL", 2)
        target = save_slack_webhook(url)
    else:
        target = block_id(block)  # type: ignore[arg-type]
    for line in deploy_automations(target):
        console.print(line)


def _period(since: datetime | None, until: datetime | None, default: timedelta):
    from datetime import UTC

    from lookout.windows import as_utc

    end = as_utc(until) if until is not None else datetime.now(UTC)
    start = as_utc(since) if since is not None else end - default
    if start >= end:
        raise _fail(f"--since ({start:%Y-%m-%d %H:%M}) must be before --until", 2)
    return start, end


def _monitor(config, name: str):
    return _chosen_monitors(config, [name])[0]


def _chosen_monitors(config, names: list[str] | None) -> list:
    """The monitors named (all when none is), in config order; an unknown name exits 2."""
    configured = config.monitors.monitors
    unknown = [n for n in names or [] if n not in {m.name for m in configured}]
    if unknown:
        listed = ", ".join(repr(n) for n in unknown)
        known = ", ".join(m.name for m in configured) or "none"
        raise _fail(f"unknown monitor {listed} (known: {known})", 2)
    return [m for m in configured if not names or m.name in names]


def _compare(
    config, monitor, baseline: str, candidate: str, since, until, cohorts, min_n, alpha=0.05
):
    from lookout.compare.releases import compare_releases
    from lookout.services.results import resolve_release
    from lookout.sources.warehouse import Warehouse

    store = _store(config)
    warehouse = Warehouse.from_target(config.target.warehouse)
    try:
        known = store.release_first_seen(monitor.name)
        try:  # a unique prefix of a stored release is enough
            baseline, candidate = (
                resolve_release(known, r, monitor.name) for r in (baseline, candidate)
            )
        except ValueError as exc:
            raise _fail(str(exc), 2) from None
        return compare_releases(
            store,
            warehouse,
            monitor,
            baseline,
            candidate,
            since,
            until,
            cohorts=cohorts,
            min_n=min_n,
            alpha=alpha,
        )
    finally:
        store.dispose()
        warehouse.dispose()


SinceOpt = Annotated[datetime | None, typer.Option(help="period start, UTC (default: 7 days)")]
UntilOpt = Annotated[datetime | None, typer.Option(help="period end, UTC (default: now)")]


@app.command()
def compare(
    monitor: Annotated[str, typer.Option(help="monitor name")],
    baseline: Annotated[str, typer.Option(help="release to compare against")],
    candidate: Annotated[str, typer.Option(help="release under review")],
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
    with an interval, and a verdict; writes the HTML scorecard next to the drift reports."""
    from lookout.compare.console import comparison_table
    from lookout.reports.scorecard import write_scorecard

    config = _load(profiles, monitors, target)
    item = _monitor(config, monitor)
    unknown = [c for c in cohort or [] if c not in item.source.cohorts]
    if unknown:
        known = ", ".join(item.source.cohorts) or "none"
        raise _fail(f"unknown cohort {', '.join(map(repr, unknown))} (known: {known})", 2)
    start, end = _period(since, until, timedelta(days=7))
    result = _compare(config, item, baseline, candidate, start, end, cohort, min_n)
    console.print(comparison_table(result, all_lines=show_all))
    counts = {v: len(result.flagged(v)) for v in ("worse", "better", "not enough data")}
    console.print(
        f"{counts['worse']} worse, {counts['better']} better, "
        f"{counts['not enough data']} without enough data, of {len(result.lines)} lines"
    )
    path = write_scorecard(Path(config.target.out_dir), result)
    console.print(f"scorecard: {escape(str(path))}", highlight=False, soft_wrap=True)


@app.command()
def gate(
    monitor: Annotated[str, typer.Option(help="monitor name")],
    candidate: Annotated[str, typer.Option(help="release under review")],
    policy: Annotated[Path, typer.Option(help="gate policy YAML")],
    baseline: Annotated[
        str | None, typer.Option(help="release to compare against (default: the policy's)")
    ] = None,
    until: UntilOpt = None,
    profiles: ProfilesOpt = Path("profiles.yml"),
    monitors: MonitorsOpt = Path("monitors.yml"),
    target: TargetOpt = None,
) -> None:
    """Exit 1 when the candidate breaks a policy condition (worse than allowed, significantly),
    printing which and why; 0 when it passes; 2 on a bad policy or unknown release."""
    from lookout.compare.console import gate_table
    from lookout.compare.gate import GatePolicy, check_gate, unchecked
    from lookout.compare.releases import previous_release
    from lookout.config.loader import load_model

    try:
        rules = load_model(policy, GatePolicy)
    except ConfigError as exc:
        raise _fail(str(exc), 2) from None
    config = _load(profiles, monitors, target)
    item = _monitor(config, monitor)
    chosen = baseline or rules.baseline
    if chosen == "previous":
        store = _store(config)
        try:
            chosen = previous_release(store, item.name, candidate) or ""
        finally:
            store.dispose()
        if not chosen:
            raise _fail(f"no release of {monitor} was seen before {candidate!r}", 2)
    start, end = _period(None, until, rules.period)
    result = _compare(config, item, chosen, candidate, start, end, None, rules.min_n, rules.alpha)
    outcomes = check_gate(rules, result)
    missing = unchecked(rules, outcomes)
    if missing:
        names = ", ".join(c.metric for c in missing)
        raise _fail(f"{policy}: no data for condition(s) on {names} in this period", 2)
    failed = [o for o in outcomes if o.status == "failed"]
    skipped = [o for o in outcomes if o.status == "skipped"]
    if failed or skipped:
        console.print(gate_table(outcomes))
    console.print(
        f"gate {'FAILED' if failed else 'passed'}: {candidate} vs {chosen}, "
        f"{len(outcomes) - len(skipped)} checks, {len(failed)} failed, {len(skipped)} skipped",
        highlight=False,
    )
    if failed:
        raise typer.Exit(1)


@app.command()
def demo(
    directory: Annotated[Path, typer.Option("--dir", help="where everything goes")] = Path(
        "lookout-demo"
    ),
    fresh: Annotated[bool, typer.Option(help="delete earlier demo results first")] = False,
) -> None:
    """Build a synthetic LLM-app warehouse with incidents, run it through Lookout, summarise."""
    from lookout.demo.report import print_demo_summary
    from lookout.demo.runner import run_demo

    with console.status("building the demo warehouse and running the hourly flow…"):
        try:
            outcome = run_demo(directory, fresh=fresh)
        except LookoutError as exc:
            raise _fail(str(exc)) from None
    print_demo_summary(console, outcome)


alerts_app = typer.Typer(help="Alerts: list them, silence them for a while.")
app.add_typer(alerts_app, name="alerts")


@alerts_app.callback(invoke_without_command=True)
def alerts(
    context: typer.Context,
    profiles: ProfilesOpt = Path("profiles.yml"),
    monitors: MonitorsOpt = Path("monitors.yml"),
    target: TargetOpt = None,
    state: Annotated[
        Literal["firing", "resolved", "all"], typer.Option(help="which alerts to list")
    ] = "firing",
) -> None:
    """List alerts from the results store (firing by default)."""
    _pass_down(context)
    if context.invoked_subcommand is not None:
        return
    from lookout.demo.report import owner_mentions, runbook_url

    config = _load(profiles, monitors, target)
    store = _store(config)
    try:
        rows = store.alerts(state=None if state == "all" else state)
    finally:
        store.dispose()
    title = f"Alerts {'firing and resolved' if state == 'all' else state}: {len(rows)}"
    cli_tables.print_alerts(
        console, rows, title, lambda o: owner_mentions(config, o), lambda a: runbook_url(config, a)
    )


def _store(config, *, must_exist: bool = True):
    """The results store; for commands that only read it, one that exists (a SQLite file
    that is not there is an error, not a new empty store)."""
    from lookout.store.existing import open_existing_store
    from lookout.store.results import ResultsStore

    if not must_exist:
        return ResultsStore.from_target(config.target.store)
    try:
        return open_existing_store(config.target.store)
    except LookoutError as exc:
        raise _fail(str(exc), 2) from None


@alerts_app.command("silence")
def alerts_silence(
    match: Annotated[
        list[str], typer.Option("--match", help="label=glob, e.g. rule=error_rate (repeatable)")
    ],
    duration: Annotated[str, typer.Option("--for", help="how long, e.g. 30m, 4h, 2d")] = "4h",
    comment: Annotated[str, typer.Option(help="why (shown in `lookout alerts silences`)")] = "",
    by: Annotated[str, typer.Option(help="who")] = "",
    profiles: ProfilesOpt = Path("profiles.yml"),
    monitors: MonitorsOpt = Path("monitors.yml"),
    target: TargetOpt = None,
) -> None:
    """Hold back the messages of matching alerts for a while (they still change state)."""
    import uuid
    from datetime import UTC

    from lookout.alerts.silences import parse_matchers
    from lookout.core.durations import parse_duration
    from lookout.model.alerts import Silence

    try:
        matchers = parse_matchers(match)
        length = parse_duration(duration)
    except ValueError as exc:
        raise _fail(str(exc), 2) from None
    config = _load(profiles, monitors, target)
    now = datetime.now(UTC)
    silence = Silence(uuid.uuid4().hex[:12], matchers, now, now + length, by, comment)
    store = _store(config, must_exist=False)  # a silence may come before the first run
    try:
        store.add_silence(silence)
    finally:
        store.dispose()
    shown = ", ".join(f"{k}={v}" for k, v in matchers.items())
    console.print(
        f"silence {silence.silence_id}: {escape(shown)} until {silence.ends_at:%Y-%m-%d %H:%M} UTC",
        highlight=False,
        soft_wrap=True,
    )


@alerts_app.command("ack")
def alerts_ack(
    alert_id: Annotated[str, typer.Argument(help="the alert's id (a prefix of its fingerprint)")],
    duration: Annotated[str, typer.Option("--for", help="how long, e.g. 4h")] = "4h",
    by: Annotated[str, typer.Option(help="who")] = "",
    profiles: ProfilesOpt = Path("profiles.yml"),
    monitors: MonitorsOpt = Path("monitors.yml"),
    target: TargetOpt = None,
) -> None:
    """Acknowledge one firing alert: no reminders or messages for it for a while."""
    import uuid
    from datetime import UTC

    from lookout.core.durations import parse_duration
    from lookout.model.alerts import Silence
    from lookout.notify.delivery import deliver, make_channels
    from lookout.notify.queue import ack_messages

    try:
        length = parse_duration(duration)
    except ValueError as exc:
        raise _fail(str(exc), 2) from None
    config = _load(profiles, monitors, target)
    store = _store(config)
    try:
        found = [a for a in store.alerts(state="firing") if a.fingerprint.startswith(alert_id)]
        if len(found) != 1:
            raise _fail(f"{len(found)} firing alerts match {alert_id!r}; give a longer id", 1)
        now = datetime.now(UTC)
        matchers = {"fingerprint": found[0].fingerprint}
        silence = Silence(uuid.uuid4().hex[:12], matchers, now, now + length, by, "acknowledged")
        store.add_silence(silence)
        acks = ack_messages(config, found[0], now)
        if acks:  # PagerDuty hears at once (a failure is retried by the next delivery)
            store.enqueue(acks)
            channels = make_channels(
                config.target, Path(config.target.out_dir), config.monitors.owners
            )
            report = deliver(store.outbox_repo, channels, types={"pagerduty"})
            for _, error in report.failed:
                err_console.print(f"PagerDuty: {escape(error)}", highlight=False, soft_wrap=True)
    finally:
        store.dispose()
    alert = found[0]
    console.print(
        f"acknowledged {escape(alert.rule)} {escape(alert.release)} {escape(alert.cohort)} "
        f"until {silence.ends_at:%Y-%m-%d %H:%M} UTC",
        highlight=False,
        soft_wrap=True,
    )


@alerts_app.command("silences")
def alerts_silences(
    profiles: ProfilesOpt = Path("profiles.yml"),
    monitors: MonitorsOpt = Path("monitors.yml"),
    target: TargetOpt = None,
) -> None:
    """Active silences."""
    from datetime import UTC

    from rich.table import Table

    config = _load(profiles, monitors, target)
    store = _store(config)
    try:
        active = store.silences(active_at=datetime.now(UTC))
    finally:
        store.dispose()
    table = Table("id", "matchers", "until (UTC)", "by", "comment")
    for item in active:
        shown = ", ".join(f"{k}={v}" for k, v in item.matchers.items())
        table.add_row(
            item.silence_id,
            escape(shown),
            f"{item.ends_at:%Y-%m-%d %H:%M}",
            escape(item.created_by),
            escape(item.comment),
        )
    console.print(table)


@alerts_app.command("unsilence")
def alerts_unsilence(
    silence_id: Annotated[str, typer.Argument(help="the silence's id")],
    profiles: ProfilesOpt = Path("profiles.yml"),
    monitors: MonitorsOpt = Path("monitors.yml"),
    target: TargetOpt = None,
) -> None:
    """End a silence now."""
    from datetime import UTC

    config = _load(profiles, monitors, target)
    store = _store(config)
    try:
        found = store.expire_silence(silence_id, datetime.now(UTC))
    finally:
        store.dispose()
    if not found:
        raise _fail(f"no silence {silence_id}", 1)
    console.print(f"silence {escape(silence_id)} ended", highlight=False)


@app.command("eval")
def eval_file(
    input_path: Annotated[Path, typer.Option("--input", help="JSONL, one record per line")],
    output_path: Annotated[Path, typer.Option("--output", help="JSONL of judgments")],
    evaluator: Annotated[
        list[str] | None, typer.Option("--evaluator", help="offline evaluator (repeatable)")
    ] = None,
    judge: Annotated[
        list[str] | None,
        typer.Option("--judge", help="LLM judge template (repeatable); needs --base-url/--model"),
    ] = None,
    base_url: Annotated[
        str | None, typer.Option(envvar="LOOKOUT_JUDGE_BASE_URL", help="OpenAI-compatible URL")
    ] = None,
    model: Annotated[str | None, typer.Option(envvar="LOOKOUT_JUDGE_MODEL")] = None,
    threshold: Annotated[
        float | None,
        typer.Option(min=0, max=1, callback=_finite, help="pass at score >= this"),
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="judge requests in flight")] = 8,
    max_judgments: Annotated[int | None, typer.Option(min=0, help="budget: judge requests")] = None,
    max_usd: Annotated[
        float | None, typer.Option(min=0, callback=_finite, help="budget: USD")
    ] = None,
) -> None:
    """Score a JSONL file with evaluators; the key of a judge comes from LOOKOUT_JUDGE_API_KEY."""
    from rich.table import Table

    from lookout.checks.evaluators.base import Budget
    from lookout.checks.evaluators.files import score_file
    from lookout.checks.evaluators.offline_registry import make_offline

    if not evaluator and not judge:
        raise _fail("name at least one --evaluator or --judge", 2)
    if not input_path.is_file():
        raise _fail(f"{input_path}: no such file", 2)
    built = []
    try:
        for name in evaluator or []:
            params = {} if threshold is None else {"threshold": threshold}
            built.append(make_offline(name, **params))
        if judge:
            from pydantic import SecretStr

            from lookout.checks.evaluators.judge_client import JudgeClient, JudgeSettings
            from lookout.checks.evaluators.llm_judge import LLMJudge

            if not base_url or not model:
                raise ValueError("--judge needs --base-url and --model (or LOOKOUT_JUDGE_*)")
            key = os.environ.get("LOOKOUT_JUDGE_API_KEY")
            client = JudgeClient(
                JudgeSettings(
                    base_url=base_url,
                    model=model,
                    api_key=SecretStr(key) if key else None,
                    concurrency=concurrency,
                )
            )
            for template in judge:
                built.append(
                    LLMJudge(
                        template,
                        client,
                        template=template,
                        threshold=0.5 if threshold is None else threshold,
                    )
                )
    except ValueError as exc:
        raise _fail(str(exc), 2) from None
    outcome = score_file(input_path, output_path, built, Budget(max_judgments, max_usd))
    for problem in outcome.errors:
        err_console.print(escape(str(problem)), highlight=False, soft_wrap=True)
    table = Table("evaluator", "judged", "pass rate", "skipped", "errors", "cost USD")
    for item in built:
        rows = [j for j in outcome.judgments if j.evaluator == item.name]
        judged = [j for j in rows if j.status == "judged"]
        passed = sum(j.label == "pass" for j in judged)
        table.add_row(
            item.name,
            str(len(judged)),
            f"{passed / len(judged):.1%}" if judged else "-",
            str(sum(j.status == "skipped" for j in rows)),
            str(sum(j.status == "error" for j in rows)),
            f"{sum(j.cost_usd for j in rows):.4f}",
        )
    console.print(table)
    for cal in outcome.calibration:
        kappa = "-" if cal.kappa is None else f"{cal.kappa:.3f}"
        cells = ", ".join(f"{k} {v}" for k, v in cal.confusion.items())
        console.print(
            f"{escape(cal.evaluator)} vs human labels: n={cal.n}, accuracy {cal.accuracy:.1%}, "
            f"kappa {kappa} (judge/human: {cells})",
            highlight=False,
            soft_wrap=True,
        )
    if outcome.budget_exhausted:
        console.print(f"budget reached ({outcome.budget_exhausted}): the rest was not judged")
    console.print(f"{outcome.records} record(s) -> {escape(str(output_path))}", highlight=False)
    if outcome.errors:
        raise typer.Exit(1)


reports_app = typer.Typer(help="Drift reports: serve the folder, rebuild a day, clean up.")
app.add_typer(reports_app, name="reports")


def _load(profiles: Path, monitors: Path, target: str | None):
    """The config, or exit 2 with its problems; a missing database driver is one line too."""
    from lookout.config.loader import load_config

    try:
        config = load_config(profiles, monitors, target=target)
    except ConfigError as exc:
        raise _fail(str(exc), 2) from None
    _check_drivers(config)
    return config


@reports_app.command("serve")
def reports_serve(
    directory: Annotated[
        Path | None, typer.Option("--dir", help="reports folder (default: <out_dir>/reports)")
    ] = None,
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="port on 127.0.0.1 (0: any free port)")
    ] = 8765,
    profiles: ProfilesOpt = Path("profiles.yml"),
    monitors: MonitorsOpt = Path("monitors.yml"),
    target: TargetOpt = None,
) -> None:
    """Serve the reports folder on 127.0.0.1 for local review (Ctrl-C stops)."""
    from lookout.reports.paths import REPORTS_DIR
    from lookout.reports.serve import make_server

    if directory is None:
        config = _load(profiles, monitors, target)
        directory = Path(config.target.out_dir) / REPORTS_DIR
    if not directory.is_dir():
        raise _fail(f"{directory}: no reports folder (run the hourly flow or `lookout demo`)")
    server = make_server(directory, port)
    host, bound = server.server_address[:2]
    console.print(f"serving {escape(str(directory))} at http://{host}:{bound}/", highlight=False)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@reports_app.command("build")
def reports_build(
    day: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="UTC day (default: yesterday)")
    ] = None,
    monitor: Annotated[list[str] | None, typer.Option(help="only these monitors")] = None,
    profiles: ProfilesOpt = Path("profiles.yml"),
    monitors: MonitorsOpt = Path("monitors.yml"),
    target: TargetOpt = None,
) -> None:
    """Rewrite a day's drift reports with the whole day's rows, clean old ones, refresh indexes."""
    from datetime import UTC, timedelta

    from lookout.reports.build import build_day_reports
    from lookout.reports.site import refresh_site
    from lookout.sources.warehouse import Warehouse
    from lookout.store.results import ResultsStore

    config = _load(profiles, monitors, target)
    now = datetime.now(UTC)
    the_day = day.date() if day is not None else (now - timedelta(days=1)).date()
    chosen = _chosen_monitors(config, monitor)
    out_dir = Path(config.target.out_dir)
    warehouse = Warehouse.from_target(config.target.warehouse)
    store = ResultsStore.from_target(config.target.store)
    failed = 0
    try:
        for item in chosen:
            if not item.drift.enabled:
                continue
            outcome = build_day_reports(warehouse, store, item, out_dir, the_day)
            failed += len(outcome.failed)
            for path in outcome.written:
                console.print(f"wrote {escape(path)}", highlight=False, soft_wrap=True)
            for problem in outcome.failed:
                err_console.print(f"failed {escape(problem)}", highlight=False, soft_wrap=True)
        pages = refresh_site(store, out_dir, chosen, now, config.monitors.alerting.stale_after)
    finally:
        warehouse.dispose()
        store.dispose()
    if pages:
        console.print(f"index: {escape(str(pages[-1]))}", highlight=False, soft_wrap=True)
    if failed:
        raise typer.Exit(1)


app.command("init")(cli_init.init)  # `lookout init` lives in its own module
alerts_app.command("history")(cli_history.history)  # episodes and stats: `cli_history`
alerts_app.command("stats")(cli_history.stats)
app.command("backfill")(cli_backfill.backfill)
app.command("releases")(cli_results.releases)
app.command("results")(cli_results.results)
app.command("deploy")(cli_deploy.deploy)


def main() -> None:
    """The `lookout` console script: an error Lookout raises on purpose (a missing driver deep
    in a command, a store that cannot be read) ends the command with its one line, exit 1,
    never a traceback."""
    try:
        app()
    except LookoutError as exc:
        raise SystemExit(_print_error(str(exc), 1)) from None


def _print_error(message: str, code: int) -> int:
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return code


def _check_drivers(config) -> None:
    """A missing database driver stops the command here, in one line naming the pip extra."""
    from lookout.drivers import MissingDriverError, require_driver

    try:
        require_driver(config.target.warehouse.url.get_secret_value(), "warehouse")
        require_driver(config.target.store.url.get_secret_value(), "store")
    except MissingDriverError as exc:
        raise _fail(str(exc), 2) from None
