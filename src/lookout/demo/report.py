"""Rich rendering of the demo outcome and of alert lists (console only; no logic)."""

from __future__ import annotations

import json

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lookout.config.loader import LookoutConfig
from lookout.demo.runner import DemoOutcome
from lookout.model.alerts import AlertState
from lookout.notify.builder import format_value
from lookout.services.alerts import owner_mentions, runbook_url

__all__ = ["alert_lines", "print_demo_summary"]


def alert_lines(
    alerts: list[AlertState], config: LookoutConfig, title: str = "Alerts firing"
) -> list[str]:
    """Rich markup, a few lines per alert; URLs are never wrapped (print with soft_wrap)."""
    lines = [f"[bold]{title}: {len(alerts)}[/]"]
    colours = {"P0": "bold red", "P1": "yellow", "P2": "cyan"}
    for alert in alerts:
        value = format_value(alert.metric, alert.value)
        threshold = format_value(alert.metric, alert.threshold)
        colour = colours.get(alert.severity, "white")
        if alert.metric.startswith("drift."):  # a 1/0 flag: "drifted", not "1 >= 1"
            headline = f"{'no longer drifted' if alert.state == 'resolved' else value}"
            headline += f" (n={alert.n:,})"
        elif alert.state == "resolved":
            headline = f"back to {value} (alerted at {alert.op} {threshold})"
        else:
            headline = f"{value} {alert.op} {threshold} (n={alert.n:,})"
        lines += [
            f"[{colour}]{alert.severity}[/] {escape(alert.monitor)} · {alert.metric} {headline}",
            f"    release {escape(alert.release)} · cohort {escape(alert.cohort)} · "
            f"since {alert.first_window_start:%Y-%m-%d %H:%M} UTC",
            f"    owner {escape(owner_mentions(config, alert.owner))}",
            f"    runbook {escape(runbook_url(config, alert))}",
        ]
    return lines


def validation_lines(outcome: DemoOutcome) -> list[str]:
    failed = outcome.failed_validations
    windows = {row["window_start"] for row in failed}
    lines = [
        f"[bold]Data quality:[/] {len(failed)} failing expectation(s) in {len(windows)} "
        f"window(s), {outcome.quarantined:,} record(s) quarantined"
    ]
    for row in failed[:10]:
        examples = ", ".join(json.loads(row["examples"] or "[]")[:3])
        share = "" if row["unexpected_percent"] is None else f" ({row['unexpected_percent']:.1f}%)"
        lines.append(
            f"    {row['window_start']:%Y-%m-%d %H:%M} {escape(row['release'])} · "
            f"{escape(row['expectation'])} {escape('[' + row['severity'] + ']')}: "
            f"{row['unexpected_count']} of {row['element_count']} unexpected{share}"
            + (f", e.g. {escape(examples)}" if examples else "")
        )
    return lines


def print_demo_summary(console: Console, outcome: DemoOutcome) -> None:
    built = "built" if outcome.built_warehouse else "reused"
    console.print(
        f"[bold]Lookout demo[/] in {escape(str(outcome.directory))}\n"
        f"warehouse: {outcome.warehouse_rows:,} synthetic requests ({built}); "
        f"windows run now: {outcome.windows_run} ({outcome.rows:,} rows)"
        + ("" if outcome.windows_run else " — all windows were already processed (idempotent)"),
        soft_wrap=True,
        highlight=False,
    )
    releases = Table(
        title="Results per release (whole release, all windows)",
        caption="errors and $/trace pooled over windows; p99: median of the hourly p99s",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    releases.add_column("release", no_wrap=True)
    for column in ("windows", "records", "errors", "p99 ms", "$/trace"):
        releases.add_column(column, justify="right", no_wrap=True)
    for row in outcome.releases:
        releases.add_row(
            escape(str(row["release"])),
            str(row["windows"]),
            f"{int(row['records']):,}",
            "-" if row["error_rate"] is None else f"{row['error_rate']:.2%}",
            "-" if row["median_window_p99_ms"] is None else f"{row['median_window_p99_ms']:,.0f}",
            "-" if row["cost_per_trace_usd"] is None else f"${row['cost_per_trace_usd']:.5f}",
        )
    console.print(releases)
    lines = alert_lines(outcome.alerts, outcome.config)
    if outcome.resolved:
        lines += alert_lines(outcome.resolved, outcome.config, "Alerts resolved")
    lines += validation_lines(outcome)
    for line in lines:
        console.print(line, soft_wrap=True, highlight=False)
    delivery = outcome.delivery
    console.print()
    console.print(
        f"Messages: {delivery['sent']} delivered now (one file each in "
        f"{escape(str(outcome.slack_dir))}/, named by kind and role, with the exact Block Kit "
        f"payload; set SLACK_BOT_TOKEN to send them), {delivery.get('carried', 0)} inside "
        f"grouped messages, {delivery['failed']} failed\n"
        f"Results store: {escape(outcome.config.target.store.display_url)}",
        soft_wrap=True,
        highlight=False,
    )
    if outcome.report_index is not None:
        console.print(
            f"Drift reports: {escape(str(outcome.report_index))} (browse them with "
            f"`lookout reports serve --dir {escape(str(outcome.report_index.parent))}`)",
            soft_wrap=True,
            highlight=False,
        )
