"""False alerts of a rule split by many cohorts: 30 tenants of very unequal traffic.

The soak's cohort columns hold 3-5 values. A team's own table is often split by tenant or
customer (an adoption trial had 30): each cohort is a test every hour, and at 2.5% a test a
rule of 30 cohorts breaches by chance far more often than one of 4. This scenario measures
that, and what `alerting.split_budget: 8` (cohorts past 8 share one level) buys and costs:

- 7 days of hourly traffic (diurnal, quieter weekend, ~400 rows an hour at noon on weekdays),
  30 tenants with Zipf-like shares (the largest ~25%, the smallest ~0.6%);
- each tenant's own error rate, 0.5-3.5%, made bursty: the hour's rate is the tenant's times a
  gamma factor of 50% variation (a user retrying a failing request, a bad batch);
- one incident: a mid-size tenant (the 6th) at 20% errors for 4 hours on day 3, 10:20-14:20;
- the rule a user writes: `error_rate > 5%` split by tenant, P1, every default (significance,
  `for`, `over: auto`).

Every window runs through the real `run_window` (DuckDB warehouse, SQLite store), twice in the
same process, each into a fresh store: with the budget off (the default: every cohort at
2.5%, the baseline) and with `alerting: {split_budget: 8}`, for each of several seeds
(one week of one seed is a handful of alerts).
Prints, per seed and in all, the false alerts (openings other than the incident tenant's, from
its onset to 3 windows past its end, on tenants whose own rate stayed at or under 5% in the
opening window and the one before), the real exceedances (the rest: a bursty tenant's hour
that really passed 5%, which the rule as written asks for) and the incident's detect delay.

    python benchmarks/soak/tenants.py [--dir /tmp/tenants] [--days 7] [--seeds 1,2,3] [--tenants 30]
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from lookout.alerts.rules import SPLIT_BUDGET

os.environ.update(
    {
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "GX_ANALYTICS_ENABLED": "false",
    }
)

START = datetime(2026, 10, 5, tzinfo=UTC)  # a Monday
INCIDENT_TENANT = 5  # the 6th largest
INCIDENT_DAY, INCIDENT_START, INCIDENT_HOURS = 3, timedelta(hours=10, minutes=20), 4
INCIDENT_RATE = 0.20
THRESHOLD = 0.05  # the rule's

MONITORS = """
alerting: {{split_budget: {budget}}}
owners:
  oncall:
    slack_users: [U0TENANT1]
    channel: "#tenants-alerts"
monitors:
  - name: tenants
    owner: oncall
    source:
      table: requests
      columns:
        record_id: request_id
        ts: created_at
        model_version: model
        prompt_version: prompt_version
        latency_ms: latency_ms
        status: status
      cohorts: [tenant]
      ok_statuses: [ok]
    window: {{size: 1h, grace: 10m, start: "{start}"}}
    validation: {{enabled: false}}
    rules:
      - name: error_rate_per_tenant
        metric: error_rate
        op: ">"
        threshold: 0.05
        split_by: [tenant]
        severity: P1
        owner: oncall
"""
PROFILES = """
target: bench
outputs:
  bench:
    warehouse: {{url: "duckdb:///{dir}/warehouse.duckdb"}}
    store: {{url: "sqlite:///{dir}/{store}.sqlite"}}
    out_dir: "{dir}/{store}"
"""


def generate(days: int, tenants: int, seed: int) -> pd.DataFrame:
    """The request log: hourly counts by the time of day and week, tenants by share, each
    hour's errors drawn at the tenant's bursty rate (plus the incident). The true rates, hour
    x tenant, are `log.attrs["true_rate"]`: an hour whose own rate really passed 5% is no
    chance page."""
    rng = np.random.default_rng(seed)
    share = 1.0 / np.arange(1, tenants + 1) ** 1.1
    share /= share.sum()
    own_rate = rng.uniform(0.005, 0.035, tenants)
    frames = []
    true_rate = np.zeros((days * 24, tenants))
    for hour in range(days * 24):
        at = START + timedelta(hours=hour)
        daylight = 0.12 + 0.88 * max(0.0, np.sin(np.pi * (at.hour - 6) / 16)) ** 1.5
        weekend = 0.55 if at.weekday() >= 5 else 1.0
        n = int(rng.poisson(400 * daylight * weekend)) + 3
        tenant = rng.choice(tenants, n, p=share)
        offsets = np.sort(rng.uniform(0, 3600, n))
        times = [at + timedelta(seconds=float(s)) for s in offsets]
        burst = rng.gamma(4.0, 0.25, tenants)  # mean 1, 50% variation hour to hour
        true_rate[hour] = np.clip(own_rate * burst, 0, 1)
        rate = true_rate[hour][tenant]
        incident = (tenant == INCIDENT_TENANT) & np.array([_in_incident(t) for t in times])
        rate = np.where(incident, INCIDENT_RATE, rate)
        failed = rng.random(n) < rate
        frames.append(
            pd.DataFrame(
                {
                    "created_at": pd.to_datetime(times).tz_localize(None),
                    "tenant": [f"tenant-{t:02d}" for t in tenant],
                    "status": np.where(failed, "error", "ok"),
                    "latency_ms": rng.lognormal(7.0, 0.5, n).round(1),
                }
            )
        )
    log = pd.concat(frames, ignore_index=True)
    log.insert(0, "request_id", [f"q{i:07d}" for i in range(len(log))])
    log["model"], log["prompt_version"] = "gpt-4o-mini", "v1"
    log.attrs["true_rate"] = true_rate
    return log


def _in_incident(at: datetime) -> bool:
    onset = START + timedelta(days=INCIDENT_DAY) + INCIDENT_START
    return onset <= at < onset + timedelta(hours=INCIDENT_HOURS)


def run(directory: Path, store: str, days: int, budget: int) -> tuple[list[tuple[int, str]], float]:
    """Every window in order into a fresh store; the openings as (window index, cohort)."""
    from lookout.config import load_config
    from lookout.pipeline import Context, run_window
    from lookout.windows import Window

    cfg = directory / store
    shutil.rmtree(cfg, ignore_errors=True)
    (directory / f"{store}.sqlite").unlink(missing_ok=True)
    cfg.mkdir(parents=True)
    text = MONITORS.format(start=START.isoformat(), budget="null" if budget is None else budget)
    (cfg / "monitors.yml").write_text(text)
    (cfg / "profiles.yml").write_text(PROFILES.format(dir=directory, store=store))
    ctx = Context.from_config(load_config(cfg / "profiles.yml", cfg / "monitors.yml"))
    monitor = ctx.config.monitors.monitors[0]
    opened: list[tuple[int, str]] = []
    began = time.perf_counter()
    for index in range(days * 24):
        start = START + timedelta(hours=index)
        window = Window(start, start + timedelta(hours=1))
        result = run_window(ctx, monitor, window, as_of=window.end + timedelta(minutes=10))
        if result.status != "succeeded":
            raise SystemExit(f"window {window.start:%Y-%m-%d %H:%M} failed: {result.error}")
        if result.alerts_opened:
            alerts = {a.fingerprint: a for a in ctx.store.alerts("tenants")}
            opened += [
                (index, alerts[key].cohort)
                for key in result.alerts_opened
                if alerts[key].rule == "error_rate_per_tenant"
            ]
    ctx.store.engine.dispose()
    return opened, time.perf_counter() - began


def score(opened: list[tuple[int, str]], true_rate: np.ndarray) -> tuple[int, int, int | None]:
    """(false alerts, real exceedances, the incident's detect delay in windows or None). An
    opening of the incident tenant from its onset window to 3 windows past its end detects it;
    any other opening is a real exceedance when the tenant's own rate passed the rule's 5% in
    its window or the one before (the two `for: 2` looks at), else a false alert."""
    onset = INCIDENT_DAY * 24 + 10
    culprit = f"tenant=tenant-{INCIDENT_TENANT:02d}"
    hits, false, real = [], 0, 0
    for index, cohort in opened:
        if cohort == culprit and onset <= index <= onset + INCIDENT_HOURS + 3:
            hits.append(index)
            continue
        tenant = int(cohort.rsplit("-", 1)[1])
        if true_rate[max(index - 1, 0) : index + 1, tenant].max() > THRESHOLD:
            real += 1
        else:
            false += 1
    return false, real, (min(hits) - onset if hits else None)


def run_seed(directory: Path, days: int, tenants: int, seed: int) -> dict[str, tuple]:
    """One seed's warehouse, run with the budget off (the default, the baseline) and at 8."""
    directory.mkdir(parents=True, exist_ok=True)
    log = generate(days, tenants, seed)
    engine = sa.create_engine(f"duckdb:///{directory / 'warehouse.duckdb'}")
    log.to_sql("requests", engine, if_exists="replace", index=False, chunksize=50_000)
    engine.dispose()
    out = {}
    for label, budget in (("baseline", None), ("budget", SPLIT_BUDGET)):
        opened, seconds = run(directory, label, days, budget)
        out[label] = (*score(opened, log.attrs["true_rate"]), seconds, len(log))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--tenants", type=int, default=30)
    parser.add_argument("--seeds", default="1,2,3,4,5,6,7")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    directory = args.dir or Path(tempfile.mkdtemp(prefix="lookout-tenants-"))
    weeks = args.days / 7
    totals: dict[str, list] = {"baseline": [0, 0, []], "budget": [0, 0, []]}
    print("seed  rows     every cohort at 2.5%: false / real / detect   split_budget 8: the same")
    for seed in (int(s) for s in args.seeds.split(",")):
        # a warehouse of its own per seed: DuckDB keeps one configuration per open file
        result = run_seed(directory / f"seed{seed}", args.days, args.tenants, seed)
        cells = []
        for label, (false, real, delay, _, _) in result.items():
            totals[label][0] += false
            totals[label][1] += real
            totals[label][2].append(delay)
            cells.append(f"{false:>3} / {real:>2} / {'missed' if delay is None else delay:<6}")
        print(f"{seed:>4}  {result['budget'][4]:>7,}  {cells[0]:>40}   {cells[1]:>20}")
    for label, (false, real, delays) in totals.items():
        found = [d for d in delays if d is not None]
        runs = weeks * len(delays)
        print(
            f"{label}: {false / runs:.1f} false alerts a week ({real / runs:.1f} more on hours"
            f" whose own rate passed 5%); incident detected on {len(found)} of {len(delays)}"
            f" seeds, after {sorted(found)} windows"
        )
    if args.dir is None:
        shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
