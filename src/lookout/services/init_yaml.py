"""`lookout init`'s proposal as commented YAML (pure): monitors.yml, and profiles.yml if missing.

Every guess carries its reason as a comment, so the file explains itself to whoever reviews
it; what could not be mapped is listed at the end of the monitor. Values are written quoted
wherever YAML could read them as something else (`"200"` stays a string). No secret is ever
written: a warehouse URL with a password becomes `{{ env_var('LOOKOUT_WAREHOUSE_URL') }}`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from lookout.config.models import AlertingConfig
from lookout.model.record import FIELD_UNIT, UNIT_WORDS
from lookout.services.init import Proposal
from lookout.services.init_drift import DRIFT_MIN_N
from lookout.services.init_rules import RulePlan

__all__ = ["WAREHOUSE_ENV", "render_monitors", "render_profiles"]

DEFAULT_STALE_AFTER = AlertingConfig().stale_after
STALE_WINDOWS = 3  # windows without records before an alert on a long-window monitor is stale

WAREHOUSE_ENV = "LOOKOUT_WAREHOUSE_URL"
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_YAML_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"})
_COMMENT_AT = 36


def _scalar(value: Any) -> str:
    """One YAML scalar that reads back as the same value and type."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    text = str(value)
    if _PLAIN.fullmatch(text) and text.lower() not in _YAML_WORDS:
        return text
    return json.dumps(text, ensure_ascii=False)


def _flow(value: Any) -> str:
    """A list or mapping on one line (`[a, b]`, `{kind: between, min: 1}`)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return _scalar(value)


def _comment(text: str) -> str:
    """A comment's text on one line, whatever a sampled value held."""
    return " ".join(re.sub(r"[\x00-\x1f\x7f\u2028\u2029\x85]", " ", text).split())


def _line(indent: int, body: str, comment: str = "") -> str:
    text = " " * indent + body
    if comment:
        text = text.ljust(_COMMENT_AT - 1) + " # " + _comment(comment)
    return text


def _wrapped(indent: int, text: str, width: int = 96) -> list[str]:
    """A comment of several lines, each within `width` characters."""
    lines: list[str] = []
    for word in _comment(text).split(" "):
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(" " * indent + "# " + word)
    return lines


def _duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, length in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % length == 0:
            return f"{seconds // length}{unit}"
    return f"{seconds}s"


def render_monitors(proposal: Proposal, now: datetime) -> str:
    """monitors.yml for the proposal (one owner, one monitor), with its reasons as comments."""
    p = proposal
    where = f"{p.schema}.{p.table}" if p.schema else p.table
    traffic = p.traffic
    rate = (
        f"~{traffic.rows_per_hour:,.1f} rows/hour over {traffic.over}"
        if traffic.rows_per_hour is not None
        else "traffic unknown"
    )
    out = [
        f"# WHAT Lookout watches in {where}: proposed by `lookout init` on {now:%Y-%m-%d}",
        f"# from {p.sample_rows:,} sampled rows of its newest day ({_comment(traffic.method)};",
        f"# {rate}). Each guess says why; check them, then run",
        "# `lookout validate-config --check-warehouse` and `lookout run`.",
        "",
        *_alerting(p),
        "owners:",
        _line(2, f"{p.rules[0].owner}:", "who is told: set the channel and the people"),
        _line(4, f"channel: {_scalar(_channel(p.monitor))}"),
        "    # slack_users: [U0123ABCD]",
        "    # runbook_base: https://runbooks.example.com/your-team",
        "",
        "monitors:",
        f"  - name: {_scalar(p.monitor)}",
        f"    description: {_scalar(f'Requests logged in {where}')}",
        "    source:",
        f"      table: {_scalar(p.table)}",
    ]
    if p.schema:
        out.append(f"      schema: {_scalar(p.schema)}")
    out += _json_fields(p)
    out.append(_line(6, "columns:", "canonical field: column in the table"))
    reasons = {r.column: r.reason for r in p.roles}
    for field, column in p.columns.items():
        out.append(_line(8, f"{field}: {_scalar(column)}", reasons.get(column, "")))
    if p.units:
        out.append(_line(6, f"units: {_flow(p.units)}", _units_comment(p)))
    if p.where:
        out.append(_line(6, f"where: {_flow(p.where)}", p.where_reason))
    if p.durations:
        out.append(_line(6, "durations:", "computed from two times by the warehouse, in ms"))
        for field, (start, end) in p.durations.items():
            times = f"{{start: {_scalar(start)}, end: {_scalar(end)}}}"
            out.append(_line(8, f"{field}: {times}", f"from {start} to {end}"))
    out.append(_line(6, f"release: {_flow(list(p.release))}", _release_comment(p)))
    cohorts = _flow(list(p.cohorts))
    out.append(_line(6, f"cohorts: {cohorts}", "metrics per value of each, too"))
    if p.null_status:
        why = "the status is an error column: NULL is a success, any value an error"
        out.append(_line(6, "null_status: ok", why))
    elif p.ok_statuses is not None:
        out.append(_line(6, f"ok_statuses: {_flow(list(p.ok_statuses))}", p.ok_reason))
    elif p.status_warning is not None:
        out += _wrapped(6, f"SET ok_statuses: {p.status_warning}")
    if p.fallback_statuses:
        why = "a fallback answered: no error, counted by the fallback rate"
        out.append(_line(6, f"fallback_statuses: {_flow(list(p.fallback_statuses))}", why))
    if p.status_rates:
        why = "a rate of their own, status_rate.<name>"
        out.append(_line(6, f"status_rates: {_flow(p.status_rates)}", why))
    if p.feedback_table is not None:
        why = "votes logged apart: each counts in the window it is given"
        out.append(_line(6, f"feedback_table: {_flow(p.feedback_table)}", why))
    if p.negative_feedback is not None:
        flow = _flow(list(p.negative_feedback))
        out.append(_line(6, f"negative_feedback: {flow}", "feedback values that count as negative"))
    if p.negative_feedback_below is not None:
        below = f"negative_feedback_below: {p.negative_feedback_below:g}"
        out.append(_line(6, below, "scores under the midpoint of their scale are negative"))
    out += _window(p)
    out += _validation(p)
    out += _drift(p)
    out += _evaluators(p)
    out += [
        "    health:",
        _line(6, "no_data: true", "far below the same hours' usual traffic (3+ days stored)"),
        "    rules:",
    ]
    for rule in p.rules:
        out += _rule(rule)
    out += _leftovers(p)
    return "\n".join(out) + "\n"


def _json_fields(p: Proposal) -> list[str]:
    """The values inside a JSON column the proposal uses, each with its role and why."""
    if not p.json_fields:
        return []
    roles = {r.column: f"{r.role}: {r.reason}" for r in p.roles}
    out = [_line(6, "json_fields:", "values inside a JSON column, used by these names")]
    for name, path in p.json_fields.items():
        # a path json_fields takes is a plain YAML scalar, quoted keys and all: it starts
        # with a name and holds no space (`attributes."gen_ai.request.model"`)
        out.append(_line(8, f"{_scalar(name)}: {path}", roles.get(name, "")))
    return out


def _release_comment(p: Proposal) -> str:
    if p.release_comment:
        return p.release_comment
    if not p.release:
        return "no model or version column found: one release, `default`"
    return "a release is one value of each (model@version)"


def _window(p: Proposal) -> list[str]:
    sizing = p.sizing
    why = (
        f"~{sizing.rows_per_window:,.0f} rows a window at this traffic (>= min_n 50 of error_rate)"
        if sizing.known
        else "traffic unknown: the default"
    )
    grace = (
        "the sample's p99 ingestion delay, at least 15m"
        if "ingested_at" in p.columns
        else "how long a window waits for late rows"
    )
    return [
        "    window:",
        _line(6, f"size: {_duration(sizing.window)}", why),
        _line(6, f"grace: {_duration(p.grace)}", grace),
        _line(6, f"# start: {_week_before(p)}", "uncomment to backfill (default: the day before)"),
    ]


def _alerting(p: Proposal) -> list[str]:
    """Long windows get a longer `stale_after`: at the default 24h, one quiet day of a daily
    window would resolve a firing alert as stale (and clear a pending one)."""
    stale = STALE_WINDOWS * p.sizing.window
    if stale <= DEFAULT_STALE_AFTER:
        return []
    why = f"{STALE_WINDOWS} windows without records, not one quiet day, end an alert"
    return ["alerting:", _line(2, f"stale_after: {_duration(stale)}", why), ""]


def _week_before(p: Proposal) -> str:
    """A start a week before the newest row, at midnight UTC: a backfill worth suggesting."""
    newest = p.traffic.newest
    if newest is None:
        return "2026-01-01T00:00:00Z"
    day = (newest - timedelta(days=7)).date()
    return f"{day:%Y-%m-%d}T00:00:00Z"


def _validation(p: Proposal) -> list[str]:
    out = [
        "    validation:",
        _line(6, "expectations:", "the record contract written out, plus checks of codes"),
    ]
    for spec in p.expectations:
        first = {k: spec[k] for k in ("kind", "column") if k in spec}
        out.append(f"        - {_flow({**first, **spec})}")
    return out


def _drift(p: Proposal) -> list[str]:
    if not p.drift:
        return [
            "    drift:",
            _line(
                6,
                "enabled: false",
                f"too few rows a drift period for a drift test ({DRIFT_MIN_N} a side)",
            ),
        ]
    if p.release:
        out = [
            "    drift:",
            _line(6, "enabled: true", "each window against the previous release's last day"),
            "      reference: {kind: previous_release, lookback: 1d}",
        ]
    else:  # one release: there is no previous one to compare with
        out = [
            "    drift:",
            _line(6, "enabled: true", "each window against the same hours a week earlier"),
            "      reference: {kind: week_ago}",
        ]
    if p.drift_features:
        if p.release:
            out += [
                "      # a release with no previous one is compared with itself a week earlier,",
                "      # once seen for a week; before that, pin a clean period: {kind: baseline}",
            ]
        out += [
            _line(
                6,
                f"features: {{numeric: {_flow(list(p.drift_features))}}}",
                "numeric columns no field took (a model's score and inputs)",
            ),
        ]
    out.append(
        _line(
            6,
            f"cohorts: {_scalar(p.drift_cohorts)}",
            "per cohort value too"
            if p.drift_cohorts
            else f"a typical cohort value has fewer than {DRIFT_MIN_N} rows a drift period",
        )
    )
    return out


def _evaluators(p: Proposal) -> list[str]:
    plan = p.evaluators
    if not plan.enabled:
        why = "no check the sample can work with (see Notes)" if plan.left_out else ""
        return [
            "    evaluators:",
            _line(6, "enabled: false", why or "no output column to evaluate"),
        ]
    out = [
        "    evaluators:",
        _line(6, "enabled: true", "offline checks: no key, no model download"),
        "      sampling:",
        _line(8, f"share: {_scalar(plan.share)}", "of other records: min_n 30 a window, + errors"),
        "      checks:",
    ]
    for name, why in plan.checks:
        out.append(_line(8, f"- {{name: {name}}}", why))
    for name, _ in plan.left_out:
        out.append(_line(8, f"# - {{name: {name}}}", "left out: the sample cannot work with it"))
    out.append("        # An LLM judge over the profile's OpenAI-compatible endpoint (judge:):")
    out.append("        # - {name: judge_helpfulness, kind: llm, evaluator: groundedness}")
    return out


def _rule(rule: RulePlan) -> list[str]:
    out = [
        f"      - name: {_scalar(rule.name)}",
        _line(8, f"metric: {_scalar(rule.metric)}", rule.comment),
        f"        op: {_scalar(rule.op)}",
        f"        threshold: {_scalar(float(rule.threshold))}",
    ]
    if rule.max_over is not None:
        out.append(
            _line(8, f"max_over: {_duration(rule.max_over)}", "pools this much to reach min_n")
        )
    if rule.min_n is not None:
        out.append(f"        min_n: {rule.min_n}")
    if rule.reference is not None:
        out.append(f"        reference: {rule.reference}")
    out += [
        f"        severity: {rule.severity}",
        f"        owner: {_scalar(rule.owner)}",
        f"        split_by: {_flow(list(rule.split_by))}",
    ]
    return out


def _units_comment(p: Proposal) -> str:
    """`duration_s in seconds: read as milliseconds (thresholds below are in ms)`, and the
    same for a cost in cents or micro-dollars, read as US dollars, and an event time in
    epoch milliseconds, read as UTC timestamps."""
    parts = []
    for read_in, after in (("ms", " (thresholds below are in ms)"), ("usd", ""), ("utc", "")):
        logged = [
            f"{p.columns[f]} in {UNIT_WORDS[u]}"
            for f, u in p.units.items()
            if FIELD_UNIT[f] == read_in
        ]
        if logged:
            parts.append(f"{', '.join(logged)}: read as {UNIT_WORDS[read_in]}{after}")
    return "; ".join(parts)


def _leftovers(p: Proposal) -> list[str]:
    out: list[str] = []
    unmapped = p.unmapped
    if unmapped:
        out.append("    # Not mapped:")
        out += [f"    #   {_comment(r.column)}: {_comment(r.reason)}" for r in unmapped]
    if p.notes:
        out.append("    # Notes:")
        out += [f"    #   {_comment(note)}" for note in p.notes]
    return out


def render_profiles(
    *, target: str, warehouse: str, directory: Path, env_url: bool, notes: Iterable[str] = ()
) -> str:
    """profiles.yml with one target: the warehouse (read-only), a SQLite results store and
    the output folder next to the file. `env_url`: the URL is read from the environment."""
    url = "{{ env_var('" + WAREHOUSE_ENV + "') }}" if env_url else warehouse
    home = directory.resolve() / "lookout"
    out = [
        "# WHERE Lookout reads and writes: written by `lookout init`. Secrets come from the",
        "# environment ({{ env_var('NAME') }}), never from this file.",
        f"target: {_scalar(target)}",
        "",
        "outputs:",
        f"  {_scalar(target)}:",
        "    warehouse:",
        _line(6, f"url: {json.dumps(url)}", "read-only: Lookout never writes here"),
        "      read_only: true",
        "    store:",
        _line(6, f"url: {json.dumps('sqlite:///' + str(home / 'results.sqlite'))}", "results"),
        _line(4, f"out_dir: {json.dumps(str(home))}", "reports and the file outbox"),
        "    slack:",
        _line(6, "bot_token: \"{{ env_var('SLACK_BOT_TOKEN', '') }}\"", "unset: files"),
        '      default_channel: "#lookout-alerts"',
    ]
    out += [f"# {_comment(note)}" for note in notes]
    return "\n".join(out) + "\n"


def _channel(monitor: str) -> str:
    """A Slack channel name for the monitor's alerts: Slack takes lower case letters, digits,
    hyphens and underscores, at most 80 characters (`#litellm-spendlogs-alerts`)."""
    return "#" + monitor.lower().replace("_", "-")[: 80 - len("-alerts")] + "-alerts"
