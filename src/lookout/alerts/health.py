"""Monitoring the monitor (pure): built-in rules (a failed window's message is built in
`lookout.notify.builder`).

A monitor that silently stops seeing data, or whose judges fail, is worse than no monitor:
`no_data` fires when a window holds far fewer rows than the same hours usually hold (see
`lookout.core.seasonal`), `min_rows` below a fixed floor, `judge_errors` when an LLM
judge errs on more than `health.max_judge_error_share` of its attempts; both go to the monitor's
owner through the normal lifecycle (open once, resolve, thread). A window that fails at any stage
sends its owner one message (per window: retries and re-runs do not repeat it).
"""

from __future__ import annotations

from lookout.config.models import AlertRule, Monitor

__all__ = ["TRAFFIC_RATIO", "WINDOW_ROWS", "builtin_rules"]

WINDOW_ROWS = "window_rows"  # rows read in the window, all releases (release and cohort `*`)
TRAFFIC_RATIO = "traffic_ratio"  # rows in the window / what the same hours usually hold


def builtin_rules(monitor: Monitor) -> list[AlertRule]:
    owner = monitor.health_owner
    if owner is None:
        return []
    health = monitor.health
    rules = []
    if health.no_data:
        rules.append(
            AlertRule(
                name="no_data",
                metric=TRAFFIC_RATIO,
                op="<",
                threshold=health.min_traffic_ratio,
                min_n=1,
                significance=True,
                severity="P1",
                owner=owner,
                split_by=["*"],
                remind_after=None,
                **{"for": 1},
            )
        )
    if health.min_rows is not None:
        rules.append(
            AlertRule(
                name="min_rows",
                metric=WINDOW_ROWS,
                op="<",
                threshold=health.min_rows,
                min_n=1,
                severity="P1",
                owner=owner,
                split_by=["*"],
                remind_after=None,
            )
        )
    if health.max_judge_error_share is not None:
        for spec in monitor.evaluators.checks:
            if spec.kind == "llm" and monitor.evaluators.enabled:
                rules.append(
                    AlertRule(
                        name=f"judge_errors_{spec.name}",
                        metric=f"eval_errors.{spec.name}",
                        op=">",
                        threshold=health.max_judge_error_share,
                        min_n=10,
                        severity="P2",
                        owner=owner,
                        split_by=["*"],
                        **{"for": 1},  # a judge that fails is an outage, not noise
                    )
                )
    return rules
