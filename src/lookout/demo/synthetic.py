"""Synthetic production logs of an LLM support assistant, with injected incidents.

Deterministic (a seed) and vectorised, so the demo and the tests build the same three days of
traffic in a couple of seconds. Two releases; release 2 launches on day 2 and carries its
incidents: a slow tail on one route, an error spike in one region, an hour of broken latency
logging, and much longer prompts for one plan (a drift). Everything else is clean, so a correct
monitor alerts on exactly those.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "DEMO_DAYS",
    "DEMO_START",
    "INCIDENT_BAD_LOGGING_HOUR",
    "INCIDENT_ERROR_REGION",
    "INCIDENT_HALLUCINATION_ROUTE",
    "INCIDENT_LONG_PROMPT_PLAN",
    "INCIDENT_SLOW_ROUTE",
    "PRICES",
    "RELEASE_1",
    "RELEASE_2",
    "RELEASE_2_LAUNCH",
    "generate_requests",
    "write_duckdb",
]

DEMO_START = datetime(2026, 11, 2, tzinfo=UTC)
DEMO_DAYS = 3
RELEASE_1 = ("gpt-4o-mini-2024-07-18", "support-v7")
RELEASE_2 = ("gpt-4.1-mini-2025-04-14", "support-v8")
RELEASE_2_LAUNCH = DEMO_START + timedelta(days=1)
INCIDENT_SLOW_ROUTE = "search"
INCIDENT_ERROR_REGION = "apac"
# One hour in which release 2's logger writes a -1 sentinel instead of the latency.
INCIDENT_BAD_LOGGING_HOUR = DEMO_START + timedelta(days=2, hours=3)
BAD_LOGGING_SHARE = 0.3
# Release 2's prompt template pastes the whole account profile into enterprise prompts: a
# distribution shift of input length (and prompt tokens) in that one cohort.
INCIDENT_LONG_PROMPT_PLAN = "enterprise"
# Release 2's new prompt makes the model improvise on account questions: a quarter of its
# answers there are not grounded in the retrieved help-center snippets.
INCIDENT_HALLUCINATION_ROUTE = "account"
INCIDENT_HALLUCINATION_RATE = 0.25
ACCOUNT_PROFILE = (
    "\n\n[Account profile] Plan: Enterprise. Seats: 250. SSO: enabled (SAML). Region: primary. "
    "Support tier: premium with a 1-hour response target. Contract renewal: annual. Usage this "
    "month: 71% of committed volume. Open tickets: 3. Integrations: Slack, Jira, PagerDuty. "
    "Data residency: pinned. Admin contacts: 4. Audit logging: on. "
) * 3
# USD per 1M tokens (input, output) of each release's model.
PRICES = {RELEASE_1[0]: (0.15, 0.60), RELEASE_2[0]: (0.40, 1.60)}

ROUTES = (
    ("faq", 0.35, 900.0),
    ("search", 0.30, 1300.0),
    ("account", 0.25, 1100.0),
    ("fallback", 0.10, 1400.0),
)
PLANS = (("free", 0.50), ("pro", 0.35), ("enterprise", 0.15))
REGIONS = (("us", 0.45), ("eu", 0.35), ("apac", 0.20))
BASE_ERROR_RATE = 0.008
INCIDENT_ERROR_RATE = 0.15
SLOW_TAIL_SHARE = 0.12

# (question, knowledge-base snippets, grounded answer, hallucinated answer) per topic.
TOPICS: tuple[tuple[str, tuple[str, ...], str, str], ...] = (
    (
        "How do I rotate my API key without downtime?",
        (
            "API keys: each project can hold two active keys at once. Create the new key in "
            "Settings > API keys, deploy it, then revoke the old key. Revoked keys stop working "
            "within 60 seconds.",
            "Key hygiene: Acme recommends rotating keys every 90 days and storing them in a "
            "secrets manager rather than in source code.",
        ),
        "Create a second key in Settings > API keys (a project can hold two active keys), "
        "deploy it, then revoke the old one; revoked keys stop working within 60 seconds.",
        "Rotation is automatic every 30 days, and old keys keep working for 14 days after you "
        "revoke them, so no action is needed.",
    ),
    (
        "What are the rate limits on the Pro plan?",
        (
            "Rate limits: the Free plan allows 60 requests per minute, Pro allows 600 requests "
            "per minute and Enterprise limits are set per contract.",
            "When a limit is exceeded the API answers HTTP 429 with a Retry-After header; "
            "clients should back off and retry.",
        ),
        "The Pro plan allows 600 requests per minute; above that the API returns HTTP 429 with "
        "a Retry-After header, so back off and retry.",
        "Pro has no rate limit at all, and bursts of up to 50,000 requests per minute are allowed.",
    ),
    (
        "Why was I charged twice this month?",
        (
            "Billing: invoices are issued on the 1st of each month. A second charge usually "
            "means a plan upgrade mid-cycle, billed pro rata on the day of the upgrade.",
            "Refunds for duplicate charges are processed within 5 business days after support "
            "confirms the duplicate.",
        ),
        "A second charge usually comes from a mid-cycle plan upgrade, billed pro rata; if it is "
        "a real duplicate, support refunds it within 5 business days.",
        "Acme bills weekly, so two charges a month is expected; refunds take 45 days.",
    ),
    (
        "How do I set up SSO with Okta?",
        (
            "SSO: SAML 2.0 single sign-on is available on the Enterprise plan. Configure it in "
            "Organization > Security with the metadata URL from your identity provider.",
            "Supported identity providers include Okta, Azure AD and Google Workspace. SCIM "
            "provisioning is available for Okta and Azure AD.",
        ),
        "SSO (SAML 2.0) is on the Enterprise plan: add your Okta metadata URL in "
        "Organization > Security; SCIM provisioning works with Okta too.",
        "SSO is included on every plan and is configured automatically once you email your "
        "Okta password to support.",
    ),
    (
        "Is there an outage right now? My requests time out.",
        (
            "Status: live incident information is published at status.acme.example. Regional "
            "incidents affect only the listed regions.",
            "Timeouts: the default client timeout is 30 seconds; long-running exports should "
            "use the asynchronous export API instead.",
        ),
        "Check status.acme.example for live incidents (regional ones list their regions); the "
        "default client timeout is 30 seconds, so use the async export API for long jobs.",
        "There is a global outage since Monday affecting all regions; it will be fixed in "
        "version 12.4 next quarter.",
    ),
    (
        "How can I export all my project data?",
        (
            "Exports: project data can be exported as JSON or Parquet from Project > Export. "
            "Exports larger than 5 GB are split into parts.",
            "Export links expire after 7 days and are only visible to project admins.",
        ),
        "Use Project > Export to get JSON or Parquet (split into parts above 5 GB); the "
        "download link is for admins and expires after 7 days.",
        "Exports are only available as PDF and must be requested by phone; links never expire.",
    ),
)

FIRST_NAMES = ("Dana", "Lee", "Priya", "Marco", "Yuki", "Sam", "Ana", "Omar")


def _pick(rng: np.random.Generator, choices: tuple[tuple, ...], n: int) -> np.ndarray:
    names = np.array([c[0] for c in choices], dtype=object)
    weights = np.array([c[1] for c in choices], dtype=float)
    return rng.choice(names, size=n, p=weights / weights.sum())


def _timestamps(rng: np.random.Generator, start: datetime, days: int, per_hour: int) -> np.ndarray:
    """Event times with a diurnal curve (busier in UTC business hours), sorted."""
    hours = np.arange(days * 24)
    shape = 1 + 0.45 * np.sin(2 * np.pi * ((hours % 24) - 8) / 24)
    counts = np.maximum((per_hour * shape).round().astype(int), 1)
    offsets = np.repeat(hours * 3600.0, counts) + rng.uniform(0, 3600, counts.sum())
    offsets.sort()
    base = np.datetime64(start.replace(tzinfo=None), "us")
    return base + (offsets * 1e6).astype("timedelta64[us]")


def _texts(rng: np.random.Generator, n: int, hallucinated: np.ndarray, failed: np.ndarray):
    topic = rng.integers(0, len(TOPICS), n)
    name = rng.integers(0, len(FIRST_NAMES), n)
    rng.integers(1, 3, n)  # unused draw: keeps the random stream (every snippet is retrieved)
    noise = rng.random(n) < 0.3
    no_context = rng.random(n) < 0.03
    other = (topic + rng.integers(1, len(TOPICS), n)) % len(TOPICS)
    prompts, contexts, responses = [], [], []
    for i in range(n):
        question, kb, good, bad = TOPICS[topic[i]]
        prompts.append(f"Hi, this is {FIRST_NAMES[name[i]]}. {question}")
        parts = list(kb)  # the relevant snippets (+ an unrelated one sometimes)
        if noise[i]:
            parts.append(TOPICS[other[i]][1][0])
        contexts.append("" if no_context[i] else "\n\n".join(parts))
        responses.append("" if failed[i] else bad if hallucinated[i] else good)
    return prompts, contexts, responses


def generate_requests(
    start: datetime = DEMO_START,
    days: int = DEMO_DAYS,
    *,
    rows_per_hour: int = 2000,
    seed: int = 7,
) -> pd.DataFrame:
    """Three days (by default) of support-bot requests; same arguments, same frame."""
    rng = np.random.default_rng(seed)
    ts = _timestamps(rng, start, days, rows_per_hour)
    n = len(ts)
    launch = np.datetime64(RELEASE_2_LAUNCH.replace(tzinfo=None), "us")
    release2 = (ts >= launch) & (rng.random(n) < 0.5)
    route = _pick(rng, tuple((r, w) for r, w, _ in ROUTES), n)
    plan = _pick(rng, PLANS, n)
    region = _pick(rng, REGIONS, n)

    error_p = np.where(
        release2 & (region == INCIDENT_ERROR_REGION), INCIDENT_ERROR_RATE, BASE_ERROR_RATE
    )
    failed = rng.random(n) < error_p
    status = np.where(failed, np.where(rng.random(n) < 0.7, "error", "timeout"), "ok")
    hallucination_p = np.where(
        release2 & (route == INCIDENT_HALLUCINATION_ROUTE), INCIDENT_HALLUCINATION_RATE, 0.04
    )
    hallucinated = ~failed & (rng.random(n) < hallucination_p)

    median = np.select([route == r for r, _, _ in ROUTES], [m for _, _, m in ROUTES])
    latency = np.minimum(rng.lognormal(np.log(median), 0.35), 4500.0)
    slow = release2 & (route == INCIDENT_SLOW_ROUTE) & (rng.random(n) < SLOW_TAIL_SHARE)
    latency = np.where(slow, rng.uniform(11000, 16000, n), latency).round(1)
    ttft = np.where(failed, np.nan, (latency * rng.uniform(0.2, 0.35, n)).round(1))
    bad_hour = np.datetime64(INCIDENT_BAD_LOGGING_HOUR.replace(tzinfo=None), "us")
    in_bad_hour = (ts >= bad_hour) & (ts < bad_hour + np.timedelta64(1, "h"))
    bad_logging = release2 & in_bad_hour & (rng.random(n) < BAD_LOGGING_SHARE)
    latency = np.where(bad_logging, -1.0, latency)
    ttft = np.where(bad_logging, np.nan, ttft)

    prompts, contexts, responses = _texts(rng, n, hallucinated, failed)
    long_prompt = release2 & (plan == INCIDENT_LONG_PROMPT_PLAN)
    prompts = [
        p + ACCOUNT_PROFILE if long else p for p, long in zip(prompts, long_prompt, strict=True)
    ]
    context_len = np.array([len(c) for c in contexts])
    prompt_tokens = 180 + (context_len + np.array([len(p) for p in prompts])) // 4
    completion_tokens = np.array([len(r) for r in responses]) // 4
    model = np.where(release2, RELEASE_2[0], RELEASE_1[0])
    price_in = np.where(release2, PRICES[RELEASE_2[0]][0], PRICES[RELEASE_1[0]][0])
    price_out = np.where(release2, PRICES[RELEASE_2[0]][1], PRICES[RELEASE_1[0]][1])
    cost = (prompt_tokens * price_in + completion_tokens * price_out) / 1_000_000

    retry = np.where(rng.random(n) < np.where(failed, 0.3, 0.03), rng.integers(1, 3, n), 0)
    p_down = np.where(failed, 0.6, np.where(hallucinated, 0.5, 0.12))
    gave = rng.random(n) < 0.15
    feedback = np.where(gave, np.where(rng.random(n) < p_down, "thumbs_down", "thumbs_up"), None)

    delay = rng.lognormal(np.log(3.0), 0.5, n)
    late = rng.random(n) < 0.003
    delay = np.where(late, rng.uniform(20 * 60, 90 * 60, n), delay)
    ingested = ts + (delay * 1e6).astype("timedelta64[us]")

    new_session = rng.random(n) < 1 / 1.6
    new_session[0] = True
    session = np.cumsum(new_session)
    order = rng.permutation(n)
    return pd.DataFrame(
        {
            "request_id": [f"req_{seed:02d}{i:08d}" for i in order],
            "event_time": ts,
            "ingested_at": ingested,
            "model_version": model,
            "prompt_version": np.where(release2, RELEASE_2[1], RELEASE_1[1]),
            "route": route,
            "plan": plan,
            "region": region,
            "user_id": [f"user_{u:05d}" for u in rng.integers(0, 4000, n)],
            "session_id": [f"sess_{s:07d}" for s in session],
            "prompt": prompts,
            "context": contexts,
            "response": responses,
            "latency_ms": latency,
            "ttft_ms": ttft,
            "prompt_tokens": prompt_tokens.astype("int64"),
            "completion_tokens": completion_tokens.astype("int64"),
            "cost_usd": cost.round(8),
            "status": status,
            "is_fallback": route == "fallback",
            "retry_count": retry.astype("int64"),
            "feedback": feedback,
            "tool_calls": _tool_calls(rng, route, failed),
        }
    )


def _tool_calls(
    rng: np.random.Generator, route: np.ndarray, failed: np.ndarray
) -> list[str | None]:
    ok = ~failed & (rng.random(len(route)) < 0.97)
    calls = []
    for i, r in enumerate(route):
        if r != "account":
            calls.append(None)
            continue
        call = {
            "name": "lookup_account",
            "arguments": {"fields": ["plan", "usage"]},
            "ok": bool(ok[i]),
        }
        calls.append(json.dumps([call]))
    return calls


def write_duckdb(frame: pd.DataFrame, path: Path, table: str = "app_requests") -> int:
    """(Re)create `table` in the DuckDB file from the frame; timestamps as TIMESTAMP (µs)."""
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    conn = duckdb.connect(str(path))
    try:
        conn.register("demo_frame", frame)
        columns = [
            f'CAST("{c}" AS TIMESTAMP) AS "{c}"' if c in ("event_time", "ingested_at") else f'"{c}"'
            for c in frame.columns
        ]
        # `table` is a constant of this module's callers, not user input.
        conn.execute(
            f'CREATE OR REPLACE TABLE "{table}" AS SELECT {", ".join(columns)} FROM demo_frame'
        )
        conn.unregister("demo_frame")
        return int(conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])  # type: ignore[index]
    finally:
        conn.close()
