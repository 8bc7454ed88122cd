"""Two weeks (or more) of an LLM support assistant's request log, with the scenario's incidents.

Deterministic (a seed) and vectorised (numpy/pandas; only the texts are built per row). What
makes it realistic, and why it matters for alerting:

- traffic is the sum of four regions' working days (eu, us, apac, latam, each peaking in its
  own afternoon), so the total peaks mid-day UTC (~650 rows/h on weekdays), nights hold 20-60
  rows/h, and the region mix shifts through the day; weekends carry about half the daytime
  traffic; each day gets a random level (lognormal, ~12%) and each hour a gamma-distributed
  rate before the Poisson draw, so counts are overdispersed like real traffic, not
  Poisson-perfect;
- releases roll out as canaries (5% -> 25% -> 100%, the old release fading out);
- latency is time to first token (lognormal per route) + generation time (tokens x the
  model's per-token time) + network, with a 1% provider-hiccup tail (2-4x) and ~0.3% client
  timeouts at 20-30 s (status `timeout`): small windows see a few of them by chance;
- baseline errors (0.6-1.4% by region) fail fast with empty answers; feedback is sparse
  (5-10% of records by plan) and more negative for failed or ungrounded answers;
- prompts, contexts and answers come from the demo's help-center topics (plus two), with a
  heavy-tailed prompt length (extra details, pasted error logs), so the offline groundedness
  evaluator tells grounded answers from invented ones.

`--variant low` is the same shape at ~3,000 rows a day. The warehouse is a DuckDB file with one
table, `requests`, whose column names are the application's (not Lookout's canonical names);
`incidents.json` next to it is the scenario's ground truth (see `scenario.py`).

    python benchmarks/soak/generate.py --dir /tmp/soak [--variant low] [--days 14] [--seed 17]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

if __package__ in (None, ""):  # run as a script: make `soak` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lookout.demo.synthetic import FIRST_NAMES, TOPICS
from soak.scenario import (
    DEFAULT_DAYS,
    DEFAULT_START,
    Scenario,
    build_scenario,
)
from soak.votes import write_votes

__all__ = [
    "LOW_SCALE",
    "TABLE",
    "build",
    "generate",
    "hourly_rates",
    "write_warehouse",
]

TABLE = "requests"
LOW_SCALE = 0.5  # the low-traffic variant: ~3,000 rows a day instead of ~6,000

# region: (share of traffic, UTC hour of its afternoon peak, spread in hours, error rate)
REGIONS = {
    "eu": (0.46, 12.5, 3.0, 0.006),
    "us": (0.30, 16.5, 2.8, 0.007),
    "apac": (0.12, 7.5, 2.2, 0.014),
    "latam": (0.12, 15.5, 2.8, 0.011),
}
PEAK_SCALE = 900.0  # rows/h a region of share 1 would send at its peak (weekday)
NIGHT_FLOOR = 24.0  # rows/h that never sleep (bots, night owls), split by region share
WEEKEND_DAYTIME = 0.5  # weekend daytime traffic relative to weekdays
DAY_SIGMA = 0.12  # day-to-day level: lognormal sigma
HOUR_SHAPE = 20.0  # gamma shape of each hour's rate (CV ~22%): overdispersed counts

ROUTES = {  # share, median time to first token (ms), topics it answers
    "faq": (0.32, 450.0, (1, 5, 0)),
    "search": (0.24, 900.0, (5, 1, 7, 3)),
    "account": (0.18, 650.0, (0, 3)),
    "billing": (0.14, 550.0, (2, 6)),
    "troubleshoot": (0.12, 750.0, (4, 7)),
}
PLANS = {
    "free": (0.50, 0.05),
    "pro": (0.28, 0.07),
    "team": (0.10, 0.09),
    "enterprise": (0.12, 0.10),
}
MODELS = {  # per-token generation time (ms), tokens per character of answer, USD per 1M in/out
    "gpt-4o-mini-2024-07-18": (14.0, 0.25, 0.15, 0.60),
    "gpt-4.1-mini-2025-04-14": (11.0, 0.29, 0.40, 1.60),
}
SYSTEM_PROMPT_TOKENS = {"support-v7": 420, "support-v8": 380, "support-v9": 450}
TIMEOUT_RATE = 0.003
HICCUP_RATE = 0.01
HALLUCINATION_RATE = 0.03
NO_CONTEXT_RATE = 0.02
P_DOWN = {"good": 0.13, "ungrounded": 0.55, "failed": 0.65}

EXTRA_TOPICS: tuple[tuple[str, tuple[str, ...], str, str], ...] = (
    (
        "How do I change my plan or download an invoice?",
        (
            "Plans: organization owners can upgrade or downgrade in Billing > Plan. Upgrades "
            "apply at once and are billed pro rata; downgrades apply at the next invoice.",
            "Invoices: every invoice is available as a PDF in Billing > Invoices for 24 months.",
        ),
        "Owners change plans in Billing > Plan: upgrades apply at once and are billed pro rata, "
        "downgrades at the next invoice. Invoices are PDFs in Billing > Invoices for 24 months.",
        "Plan changes need a signed form sent by fax, and invoices are deleted after 30 days.",
    ),
    (
        "My webhooks stopped arriving, what should I check?",
        (
            "Webhooks: deliveries are retried 8 times over 24 hours with exponential backoff. "
            "An endpoint must answer 2xx within 10 seconds.",
            "Webhook signing: each delivery carries an X-Acme-Signature header; rotate the "
            "signing secret in Settings > Webhooks.",
        ),
        "Check that your endpoint answers 2xx within 10 seconds: failed deliveries are retried "
        "8 times over 24 hours. Verify the X-Acme-Signature header against the signing secret "
        "in Settings > Webhooks.",
        "Webhooks are paused every weekend and must be re-enabled by support each Monday.",
    ),
)
ALL_TOPICS = TOPICS + EXTRA_TOPICS
DETAILS = (
    "I'm on the {plan} plan.",
    "We use the Python SDK.",
    "This started yesterday after our deploy.",
    "I already read the docs but could not find it.",
    "It's fairly urgent, customers are affected.",
    "Thanks in advance!",
    "Could you also point me to the right docs page?",
    "We have about 40 projects in the organization.",
    "A colleague asked the same last week but we lost the answer.",
    "We are evaluating whether to move more teams onto Acme.",
)
ERROR_LOG = "ERROR 2026-10-01T12:00:03Z acme.client request failed: HTTP 504 upstream timeout\n"
# R3's template pastes the account profile into enterprise prompts (DRIFT1).
ACCOUNT_PROFILE = (
    "\n\n[Account profile] Plan: Enterprise. Seats: 250. SSO: SAML. Support tier: premium "
    "(1-hour response). Usage this month: 71% of commitment. Integrations: Slack, Jira."
)


def _bump(hours: np.ndarray, peak: float, spread: float) -> np.ndarray:
    distance = (hours - peak + 12.0) % 24.0 - 12.0
    return np.exp(-0.5 * (distance / spread) ** 2)


def hourly_rates(scenario: Scenario, rng: np.random.Generator, scale: float) -> np.ndarray:
    """Expected rows per hour and region, shape (hours, regions): the diurnal curve of each
    region, weekends, a random level per day and a gamma-distributed rate per hour."""
    hours = np.arange(scenario.days * 24)
    hour_of_day = (hours % 24) + 0.5
    day = hours // 24
    weekday = (scenario.start.weekday() + day) % 7
    daytime = np.where(weekday >= 5, WEEKEND_DAYTIME, 1.0)
    day_level = rng.lognormal(0.0, DAY_SIGMA, scenario.days)[day]
    rates = np.empty((len(hours), len(REGIONS)))
    for column, (share, peak, spread, _) in enumerate(REGIONS.values()):
        curve = (
            NIGHT_FLOOR * share + PEAK_SCALE * share * _bump(hour_of_day, peak, spread) * daytime
        )
        rates[:, column] = curve * day_level * scale
    hour_noise = rng.gamma(HOUR_SHAPE, 1.0 / HOUR_SHAPE, len(hours))
    return rates * hour_noise[:, None]


def _pick(rng: np.random.Generator, table: dict[str, tuple], n: int) -> np.ndarray:
    names = np.array(list(table), dtype=object)
    weights = np.array([v[0] for v in table.values()], dtype=float)
    return rng.choice(names, size=n, p=weights / weights.sum())


def _timestamps(
    scenario: Scenario, rng: np.random.Generator, scale: float
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted event times and each row's region."""
    counts = rng.poisson(hourly_rates(scenario, rng, scale))  # (hours, regions)
    n_hours, n_regions = counts.shape
    flat = counts.ravel()  # hour-major: (hour 0, each region), (hour 1, ...), ...
    hours = np.repeat(np.repeat(np.arange(n_hours), n_regions), flat)
    regions = np.repeat(np.tile(np.array(list(REGIONS), dtype=object), n_hours), flat)
    seconds = hours * 3600.0 + rng.uniform(0.0, 3600.0, len(hours))
    order = np.argsort(seconds, kind="stable")
    base = np.datetime64(scenario.start.replace(tzinfo=None), "us")
    return base + (seconds[order] * 1e6).astype("timedelta64[us]"), regions[order]


def _releases(scenario: Scenario, ts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each row's release label, drawn from the rollout step in force at its time."""
    steps = [
        np.datetime64(t.astimezone(UTC).replace(tzinfo=None), "us") for t, _ in scenario.rollout
    ]
    step = np.searchsorted(np.array(steps), ts, side="right") - 1
    draw = rng.random(len(ts))
    out = np.empty(len(ts), dtype=object)
    for index, (_, shares) in enumerate(scenario.rollout):
        rows = step == index
        edges = np.cumsum(list(shares.values()))
        names = np.array(list(shares), dtype=object)
        out[rows] = names[
            np.minimum(np.searchsorted(edges, draw[rows], side="right"), len(names) - 1)
        ]
    return out


def _between(ts: np.ndarray, start: datetime, end: datetime | None) -> np.ndarray:
    lo = np.datetime64(start.astimezone(UTC).replace(tzinfo=None), "us")
    if end is None:
        return ts >= lo
    hi = np.datetime64(end.astimezone(UTC).replace(tzinfo=None), "us")
    return (ts >= lo) & (ts < hi)


def _texts(
    rng: np.random.Generator,
    route: np.ndarray,
    plan: np.ndarray,
    ungrounded: np.ndarray,
    failed: np.ndarray,
    verbose: np.ndarray,
) -> tuple[list[str], list[str], list[str]]:
    """Prompts (heavy-tailed length), retrieved contexts and answers, one per row."""
    n = len(route)
    topic = np.empty(n, dtype=int)
    for name, (_, _, topics) in ROUTES.items():
        rows = route == name
        topic[rows] = np.array(topics)[rng.integers(0, len(topics), rows.sum())]
    first_name = rng.integers(0, len(FIRST_NAMES), n)
    n_details = np.minimum(rng.poisson(1.2, n), 5)
    detail_draws = rng.integers(0, len(DETAILS), (n, 5))
    pasted_log = np.where(rng.random(n) < 0.04, rng.geometric(0.35, n), 0)
    unrelated = rng.random(n) < 0.3
    other = (topic + rng.integers(1, len(ALL_TOPICS), n)) % len(ALL_TOPICS)
    no_context = rng.random(n) < NO_CONTEXT_RATE
    follow_up = rng.random(n) < 0.25
    prompts, contexts, answers = [], [], []
    for i in range(n):
        question, kb, good, bad = ALL_TOPICS[topic[i]]
        details = " ".join(DETAILS[d].format(plan=plan[i]) for d in detail_draws[i, : n_details[i]])
        prompt = f"Hi, this is {FIRST_NAMES[first_name[i]]}. {question}"
        if details:
            prompt += " " + details
        if pasted_log[i]:
            prompt += "\n" + ERROR_LOG * pasted_log[i]
        prompts.append(prompt)
        parts = [*kb, ALL_TOPICS[other[i]][1][0]] if unrelated[i] else list(kb)
        contexts.append("" if no_context[i] else "\n\n".join(parts))
        if failed[i]:
            answers.append("")
            continue
        answer = bad if ungrounded[i] else good
        if follow_up[i]:
            answer += " " + kb[1]
        if verbose[i]:
            answer += " To recap: " + kb[0]
        answers.append(answer)
    return prompts, contexts, answers


def generate(scenario: Scenario) -> pd.DataFrame:
    """The request log of the scenario; the same scenario (and seed) gives the same frame."""
    rng = np.random.default_rng(scenario.seed)
    scale = LOW_SCALE if scenario.variant == "low" else 1.0
    ts, region = _timestamps(scenario, rng, scale)
    n = len(ts)
    release = _releases(scenario, ts, rng)
    model = np.array([r.split("@", 1)[0] for r in release], dtype=object)
    prompt_version = np.array([r.split("@", 1)[1] for r in release], dtype=object)
    route = _pick(rng, ROUTES, n)
    plan = _pick(rng, PLANS, n)

    incidents = {i.id: i for i in scenario.incidents}
    active = {key: _between(ts, i.onset, i.end) for key, i in incidents.items()}

    def scoped(key: str) -> np.ndarray:
        """Rows the incident touches: its period, release and cohort."""
        incident = incidents[key]
        rows = active[key].copy()
        if incident.release is not None:
            rows &= release == incident.release
        if incident.cohort is not None:
            column, value = incident.cohort.split("=", 1)
            rows &= {"route": route, "plan": plan, "region": region}[column] == value
        return rows

    error_p = np.select([region == r for r in REGIONS], [v[3] for v in REGIONS.values()])
    for incident in scenario.incidents:
        if incident.family == "errors":
            error_p = np.where(scoped(incident.id), incident.effect["rate"], error_p)
    draw = rng.random(n)
    timed_out = draw < TIMEOUT_RATE
    errored = ~timed_out & (draw < TIMEOUT_RATE + error_p)
    failed = timed_out | errored
    status = np.where(timed_out, "timeout", np.where(errored, "error", "ok")).astype(object)

    ungrounded_p = np.full(n, HALLUCINATION_RATE)
    verbose = np.zeros(n, dtype=bool)
    for incident in scenario.incidents:
        if incident.family == "hallucination":
            ungrounded_p = np.where(scoped(incident.id), incident.effect["rate"], ungrounded_p)
        elif incident.family == "tokens":
            verbose |= scoped(incident.id)
    ungrounded = ~failed & (rng.random(n) < ungrounded_p)

    prompts, contexts, answers = _texts(rng, route, plan, ungrounded, failed, verbose)
    for incident in scenario.incidents:
        if incident.family == "drift":
            for i in np.flatnonzero(scoped(incident.id)):
                prompts[i] += ACCOUNT_PROFILE
    prompt_chars = np.array([len(p) for p in prompts])
    context_chars = np.array([len(c) for c in contexts])
    answer_chars = np.array([len(a) for a in answers])

    per_token, tokens_per_char, price_in, price_out = (
        np.select([model == m for m in MODELS], [v[k] for v in MODELS.values()]) for k in range(4)
    )
    system_tokens = np.select(
        [prompt_version == v for v in SYSTEM_PROMPT_TOKENS], list(SYSTEM_PROMPT_TOKENS.values())
    )
    prompt_tokens = system_tokens + np.ceil((prompt_chars + context_chars) / 4.0).astype(int)
    completion_tokens = np.where(
        failed, 0, np.ceil(answer_chars * tokens_per_char * rng.lognormal(0.0, 0.08, n))
    ).astype(int)
    cost = (prompt_tokens * price_in + completion_tokens * price_out) / 1_000_000

    ttft_median = np.select([route == r for r in ROUTES], [v[1] for v in ROUTES.values()])
    ttft = rng.lognormal(np.log(ttft_median), 0.45)
    generation = completion_tokens * per_token * rng.lognormal(0.0, 0.3, n)
    latency = ttft + generation + rng.lognormal(np.log(120.0), 0.4, n)
    hiccup = rng.random(n) < HICCUP_RATE
    latency = np.where(hiccup, latency * rng.uniform(2.0, 4.0, n), latency)
    for incident in scenario.incidents:
        if incident.family == "latency":
            slow = scoped(incident.id) * (incident.effect["factor"] - 1.0)
            stretch = 1.0 + slow * rng.lognormal(0.0, 0.15, n)
            latency, ttft = latency * stretch, ttft * stretch
    latency = np.where(errored, rng.lognormal(np.log(800.0), 0.8, n).clip(50, 10_000), latency)
    latency = np.where(timed_out, rng.uniform(20_000.0, 30_000.0, n), latency)
    ttft = np.where(failed, np.nan, ttft)

    gives = rng.random(n) < np.select([plan == p for p in PLANS], [v[1] for v in PLANS.values()])
    p_down = np.where(failed, P_DOWN["failed"], np.where(ungrounded, P_DOWN["ungrounded"], 0.0))
    good_p_down = np.full(n, P_DOWN["good"])
    for incident in scenario.incidents:
        if incident.family == "feedback":
            good_p_down = np.where(scoped(incident.id), incident.effect["p_down"], good_p_down)
    p_down = np.where(failed | ungrounded, p_down, good_p_down)
    feedback = np.where(gives, np.where(rng.random(n) < p_down, "down", "up"), None)

    retry = np.where(rng.random(n) < np.where(failed, 0.35, 0.02), rng.integers(1, 4, n), 0)
    is_fallback = rng.random(n) < np.where(failed, 0.2, 0.015)
    delay_s = rng.lognormal(np.log(3.0), 0.6, n)
    delay_s = np.where(rng.random(n) < 0.002, rng.uniform(20 * 60, 90 * 60, n), delay_s)
    ingested = ts + (delay_s * 1e6).astype("timedelta64[us]")
    new_session = rng.random(n) < 1 / 2.2
    new_session[0] = True

    latency_ms = latency.round(1)
    ttft_ms = ttft.round(1)
    for incident in scenario.incidents:
        if incident.family != "logging":
            continue
        broken = scoped(incident.id) & (rng.random(n) < incident.effect["share"])
        if incident.effect["kind"] == "latency_sentinel":
            latency_ms = np.where(broken, -1.0, latency_ms)
            ttft_ms = np.where(broken, np.nan, ttft_ms)
        elif incident.effect["kind"] == "null_prompt_version":
            prompt_version = np.where(broken, None, prompt_version)

    frame = pd.DataFrame(
        {
            "request_id": [f"req_{scenario.seed:03d}_{i:07d}" for i in rng.permutation(n)],
            "created_at": ts,
            "ingested_at": ingested,
            "model": model,
            "prompt_version": prompt_version,
            "route": route,
            "plan": plan,
            "region": region,
            "session_id": [f"sess_{s:07d}" for s in np.cumsum(new_session)],
            "prompt": prompts,
            "context": contexts,
            "response": answers,
            "latency_ms": latency_ms,
            "ttft_ms": ttft_ms,
            "prompt_tokens": prompt_tokens.astype("int64"),
            "completion_tokens": completion_tokens.astype("int64"),
            "cost_usd": cost.round(8),
            "status": status,
            "is_fallback": is_fallback,
            "retry_count": retry.astype("int64"),
            "feedback": feedback,
        }
    )
    lost = np.zeros(n, dtype=bool)  # the log shipper lost these rows: they never arrive
    for incident in scenario.incidents:
        if incident.family == "gap":
            lost |= active[incident.id]
    return frame[~lost].reset_index(drop=True)


def write_warehouse(frame: pd.DataFrame, path: Path, seed: int = 17) -> int:
    """(Re)create the `requests` table in a DuckDB file (timestamps as TIMESTAMP, UTC, naive),
    and its feedback logged apart (`soak.votes`)."""
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    conn = duckdb.connect(str(path))
    try:
        conn.register("soak_frame", frame)
        conn.execute(f"CREATE TABLE {TABLE} AS SELECT * FROM soak_frame ORDER BY created_at")
        conn.unregister("soak_frame")
        write_votes(conn, frame, seed)
        return int(conn.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0])  # type: ignore[index]
    finally:
        conn.close()


def build(
    directory: Path,
    *,
    days: int = DEFAULT_DAYS,
    seed: int = 17,
    variant: str = "normal",
    start: datetime = DEFAULT_START,
) -> tuple[Scenario, int]:
    """Write `warehouse.duckdb` and `incidents.json` into `directory`; returns the rows."""
    scenario = build_scenario(start, days, variant=variant, seed=seed)
    rows = write_warehouse(generate(scenario), directory / "warehouse.duckdb", seed)
    (directory / "incidents.json").write_text(scenario.dumps())
    return scenario, rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True, type=Path, help="where to write the files")
    parser.add_argument("--variant", choices=("normal", "low"), default="normal")
    parser.add_argument("--days", type=int, default=DEFAULT_DAYS, help=">= 14")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument(
        "--start",
        type=datetime.fromisoformat,
        default=DEFAULT_START,
        help="UTC midnight of day 0 (default %(default)s, a Monday)",
    )
    args = parser.parse_args(argv)
    if args.days < DEFAULT_DAYS:
        parser.error(f"--days must be at least {DEFAULT_DAYS}")
    start = args.start if args.start.tzinfo else args.start.replace(tzinfo=UTC)
    clock = time.perf_counter()
    scenario, rows = build(
        args.dir, days=args.days, seed=args.seed, variant=args.variant, start=start
    )
    print(
        f"{args.dir / 'warehouse.duckdb'}: {rows:,} rows over {scenario.days} days "
        f"({rows / scenario.days:,.0f} a day, {args.variant}), {len(scenario.incidents)} "
        f"incidents in {args.dir / 'incidents.json'} ({time.perf_counter() - clock:.1f} s)"
    )


if __name__ == "__main__":
    main()
