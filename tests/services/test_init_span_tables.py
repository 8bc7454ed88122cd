"""`lookout init` on two span tables as their tools write them, which trials found it misread:
an OpenTelemetry collector export (epoch nanoseconds, a `Duration` in nanoseconds, integer
status codes where 1 is OK, attributes with dotted keys holding the prompt and the answer) and
Langfuse's observations (a `level` beside a `status_message` that warnings fill too)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from lookout.config.loader import load_monitors
from lookout.services.init import Proposal, Traffic, propose
from lookout.services.init_columns import ColumnInfo
from lookout.services.init_yaml import render_monitors

NOW = datetime(2026, 12, 1, tzinfo=UTC)
KINDS = {"i": "integer", "f": "number", "M": "timestamp", "b": "boolean"}


def _propose(frame: pd.DataFrame, json_columns: tuple[str, ...] = ()) -> Proposal:
    columns = [
        ColumnInfo(name, "JSON" if name in json_columns else "T", _kind(frame[name], name))
        for name in frame.columns
    ]
    traffic = Traffic(200.0, NOW, len(frame), len(frame), "test", timedelta(days=1))
    return propose(columns, frame, traffic, table="spans")


def _kind(values: pd.Series, name: str):  # type: ignore[no-untyped-def]
    return KINDS.get(values.dtype.kind, "text")


def _written(proposal: Proposal, tmp_path: Path) -> str:
    path = tmp_path / "monitors.yml"
    path.write_text(render_monitors(proposal, NOW))
    load_monitors(path)  # what init writes loads
    return path.read_text()


def _otel_export(n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    start = pd.Timestamp(NOW - timedelta(hours=20)).value
    starts = np.sort(start + rng.integers(0, 20 * 3600 * 10**9, n))
    durations = (rng.lognormal(0, 0.5, n) * 10**9).astype(np.int64)  # ~1 s, in nanoseconds
    completion = "Here is what I found about your order: it ships on Monday. " * 3
    attributes = [
        json.dumps(
            {
                "gen_ai.system": "openai",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.usage.input_tokens": int(rng.integers(100, 900)),
                "gen_ai.usage.output_tokens": int(rng.integers(20, 300)),
                "app.route": str(rng.choice(["search", "support", "billing"])),
                "gen_ai.prompt": "where is my order?",
                "gen_ai.completion": completion,
            }
        )
        for _ in range(n)
    ]
    return pd.DataFrame(
        {
            "TraceId": [f"{i // 2:032x}" for i in range(n)],
            "SpanId": [f"{i:016x}" for i in range(n)],
            "StartTimeUnixNano": starts,
            "Duration": durations,
            "StatusCode": rng.choice([1, 2], n, p=[0.97, 0.03]),  # 1 is OK
            "Attributes": attributes,
        }
    )


def test_an_opentelemetry_export_is_read_in_its_own_units_and_codes(tmp_path):
    proposal = _propose(_otel_export(), json_columns=("Attributes",))
    columns = proposal.columns
    assert columns["record_id"] == "SpanId"  # not the unique StartTimeUnixNano
    assert columns["ts"] == "StartTimeUnixNano"
    assert proposal.units["ts"] == "epoch_ns"
    assert columns["latency_ms"] == "Duration" and proposal.units["latency_ms"] == "ns"
    assert any("looks like nanoseconds" in note for note in proposal.notes)
    assert columns["status"] == "StatusCode"
    assert proposal.ok_statuses == ("0", "1")  # OTel: 0 unset, 1 ok, 2 error
    assert "OpenTelemetry status codes" in proposal.ok_reason
    assert not any("errors with ok_statuses" in note for note in proposal.notes)
    assert columns["output"] == "gen_ai_completion"  # long text, named as the answer
    assert proposal.json_fields["gen_ai_completion"] == 'Attributes."gen_ai.completion"'
    latency = next(rule for rule in proposal.rules if rule.metric == "latency_p95_ms")
    assert 1_000 < latency.threshold < 20_000  # milliseconds (was 7.9e9: "45 days")
    text = _written(proposal, tmp_path)
    assert "units: {ts: epoch_ns, latency_ms: ns}" in text


def test_a_status_that_reads_as_mostly_errors_is_pointed_out():
    frame = _otel_export()
    frame = frame.rename(columns={"StatusCode": "result"})
    frame["result"] = np.where(np.arange(len(frame)) % 5 < 3, "ok", "partial")
    proposal = _propose(frame, json_columns=("Attributes",))
    assert proposal.ok_statuses == ("ok",)
    [note] = [note for note in proposal.notes if "errors with ok_statuses" in note]
    assert note.startswith("the sample shows 40% errors with ok_statuses ['ok']")


def _langfuse(n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(6)
    level = rng.choice(["DEFAULT", "DEBUG", "WARNING", "ERROR"], n, p=[0.88, 0.05, 0.05, 0.02])
    message = np.where(
        level == "WARNING",
        "retried after a 429 from the provider",
        np.where(level == "ERROR", "provider returned 500", None),
    )
    start = pd.Timestamp(NOW - timedelta(hours=20))
    starts = start + pd.to_timedelta(np.sort(rng.uniform(0, 20 * 3600, n)), unit="s")
    return pd.DataFrame(
        {
            "id": [f"obs-{i:06d}" for i in range(n)],
            "trace_id": [f"tr-{i // 3:06d}" for i in range(n)],
            "start_time": starts.tz_localize(None),
            "end_time": (starts + pd.to_timedelta(rng.lognormal(0, 0.4, n), unit="s")).tz_localize(
                None
            ),
            "level": level,
            "status_message": message,
            "tenant": rng.choice(["acme", "globex", "initech"], n),
        }
    )


def test_a_langfuse_level_is_the_status_and_warnings_are_no_errors(tmp_path):
    proposal = _propose(_langfuse())
    assert proposal.columns["status"] == "level"
    assert not proposal.null_status
    ok = proposal.ok_statuses or ()
    assert {"DEFAULT", "DEBUG", "WARNING", "INFO"} <= set(ok) and "ERROR" not in ok
    assert "level" not in proposal.cohorts  # the status is no cohort (ERROR would be 100%)
    assert "tenant" in proposal.cohorts
    errors = next(rule for rule in proposal.rules if rule.name == "error_rate")
    assert errors.threshold < 0.2  # sized on ~2% errors, not the 7% warnings and errors
    text = _written(proposal, tmp_path)
    assert "status: level" in text and "null_status" not in text
    assert "reference: {kind: week_ago}" in text  # one release: no previous one


def test_a_lowercase_level_keeps_its_spelling():
    frame = _langfuse()
    frame["level"] = frame["level"].str.lower()
    proposal = _propose(frame)
    assert proposal.columns["status"] == "level"
    assert {"default", "warning", "info"} <= set(proposal.ok_statuses or ())
