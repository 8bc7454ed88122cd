"""init and JSON metadata columns (Langfuse/LiteLLM `metadata`, OTel `attributes`): their
frequent scalar keys are judged as columns, and the proposal names the ones it uses in
`source.json_fields`; message and payload columns are left as they were."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from lookout.config.loader import load_monitors
from lookout.services.init import Traffic, propose
from lookout.services.init_columns import ColumnInfo
from lookout.services.init_json import expand_json
from lookout.services.init_yaml import render_monitors

NOW = datetime(2026, 12, 1, tzinfo=UTC)
N = 1200


def _metadata(i: int, rng: np.random.Generator) -> dict:
    return {
        "tenant": str(rng.choice(["acme", "globex", "initech"])),
        "prompt_version": "v1" if i < N // 2 else "v2",
        "environment": "production" if rng.random() < 0.8 else "staging",
        "trace_id": f"{i:032x}",
        "account": {"plan": "pro" if i % 3 else "free", "seats": i % 7},
        "cached": bool(i % 2),
        "score": 0.5,
        "tags": ["a", "b"],
        "rare": "x" if i % 10 == 0 else None,
    }


def _frame(documents: list, **extra: object) -> pd.DataFrame:
    rng = np.random.default_rng(4)
    n = len(documents)
    return pd.DataFrame(
        {
            "id": [f"r{i:06d}" for i in range(n)],
            "created_at": pd.date_range(NOW - timedelta(hours=24), NOW, periods=n),
            "model": rng.choice(["gpt-4o", "gpt-4o-mini"], n),
            "latency_ms": rng.lognormal(7, 0.3, n),
            "status": np.where(rng.random(n) < 0.02, "error", "ok"),
            "metadata": documents,
            **extra,
        }
    )


def _columns(frame: pd.DataFrame) -> list[ColumnInfo]:
    kinds = {"created_at": "timestamp", "latency_ms": "number"}
    return [ColumnInfo(c, "JSON" if c == "metadata" else "T", kinds.get(c, "text")) for c in frame]  # type: ignore[arg-type]


def _documents(as_text: bool = True) -> list:
    rng = np.random.default_rng(7)
    docs = [_metadata(i, rng) for i in range(N)]
    return [json.dumps(d) if as_text else d for d in docs]


def test_frequent_scalar_keys_become_columns_with_values_as_sql_reads_them():
    frame = _frame(_documents())
    expansion = expand_json(_columns(frame), frame)
    assert expansion.fields == {
        "tenant": "metadata.tenant",
        "prompt_version": "metadata.prompt_version",
        "environment": "metadata.environment",
        "trace_id": "metadata.trace_id",
        "account_plan": "metadata.account.plan",
        "account_seats": "metadata.account.seats",
        "cached": "metadata.cached",
        "score": "metadata.score",
    }  # `tags` is an array, `rare` is on a tenth of the rows
    names = [c.name for c in expansion.columns]
    assert "metadata" not in names and names[-1] == "score"  # table columns first
    sample = expansion.sample
    assert list(sample["cached"][:2]) == ["false", "true"]  # JSON booleans as SQL reads them
    assert sample["score"][0] == "0.5" and sample["account_seats"][1] == "1"
    assert expansion.documents[0].keys[0] == "tenant"


def test_parsed_objects_and_nulls_read_alike():
    docs: list = _documents(as_text=False)
    docs[0] = None
    docs[1] = {**docs[1], "tenant": None}  # a JSON null is missing, as SQL reads it
    frame = _frame(docs)
    sample = expand_json(_columns(frame), frame).sample
    assert sample["tenant"][0] is None and sample["tenant"][1] is None
    assert sample["cached"][3] == "true" and sample["account_seats"][3] == "3"


def test_a_key_clashing_with_a_column_is_prefixed_and_unnamable_keys_are_skipped():
    rng = np.random.default_rng(1)
    docs = [
        json.dumps({"model": "m", "a b": "x", "prompt-version": "v1", "9lives": str(rng.random())})
        for _ in range(100)
    ]
    frame = _frame(docs)
    fields = expand_json(_columns(frame), frame).fields
    assert fields == {
        "metadata_model": "metadata.model",
        "prompt_version": "metadata.prompt-version",
        "metadata_9lives": "metadata.9lives",
    }  # `a b` cannot be written in a json_fields path


def test_a_flat_key_with_dots_is_one_quoted_key_apart_from_the_nested_path_it_spells():
    """OTel keeps `gen_ai.request.model` as one key of a flat object: its path quotes it, its
    name is a plain word; an object `{"account": {"plan": ...}}` beside a flat `account.plan`
    key stays another field (each read as SQL reads its own path)."""
    docs = [
        json.dumps(
            {
                "gen_ai.request.model": "gpt-4o",
                "k8s/pod.name": f"p{i % 3}",
                "k8s:ns": f"n{i % 3}",  # a colon too, quoted
                "account.plan": "flat",
                "account": {"plan": "nested"},
            }
        )
        for i in range(100)
    ]
    frame = _frame(docs)
    expansion = expand_json(_columns(frame), frame)
    assert expansion.fields == {
        "gen_ai_request_model": 'metadata."gen_ai.request.model"',
        "k8s_pod_name": 'metadata."k8s/pod.name"',
        "k8s_ns": 'metadata."k8s:ns"',
        "account_plan": 'metadata."account.plan"',
        "metadata_account_plan": "metadata.account.plan",
    }
    assert list(expansion.sample["account_plan"][:1]) == ["flat"]
    assert list(expansion.sample["metadata_account_plan"][:1]) == ["nested"]
    assert expansion.documents[0].keys[0] == '"gen_ai.request.model"'


def test_messages_payloads_lists_and_prose_are_not_expanded():
    messages = [json.dumps({"role": "user", "content": f"question {i}"}) for i in range(100)]
    payload = [json.dumps({"messages": [{"role": "user"}], "model": "m"}) for _ in range(100)]
    lists = [json.dumps([{"tenant": "a"}]) for _ in range(100)]
    nested = [json.dumps({"a": [1], "b": [2], "c": {"d": {"e": 1}}}) for _ in range(100)]
    for docs in (messages, payload, lists, nested):
        frame = _frame(docs)
        assert expand_json(_columns(frame), frame).fields == {}, docs[0]
    named_text = _frame(_documents()).rename(columns={"metadata": "request_body"})
    assert expand_json(_columns(named_text), named_text).documents == ()
    mostly_text = _frame([*_documents()[:1100], *["not json"] * 100])
    assert expand_json(_columns(mostly_text), mostly_text).documents == ()


def _proposal(frame: pd.DataFrame):
    traffic = Traffic(100.0, NOW, len(frame), len(frame), "test", timedelta(days=1))
    return propose(_columns(frame), frame, traffic, table="traces")


def test_the_proposal_uses_keys_as_columns_and_writes_the_ones_it_uses(tmp_path):
    proposal = _proposal(_frame(_documents()))
    assert proposal.where == {"environment": "production"}
    assert "tenant" in proposal.cohorts and "trace_id" not in proposal.cohorts
    assert proposal.columns["prompt_version"] == "prompt_version"
    assert proposal.release == ("model_version", "prompt_version")
    assert set(proposal.json_fields) >= {"tenant", "prompt_version", "environment"}
    assert "score" not in proposal.json_fields  # one value: no role, not written
    roles = {r.column: r for r in proposal.roles}
    assert roles["metadata"].role == "json_fields"
    assert roles["metadata"].reason.startswith("JSON object: keys tenant, prompt_version")
    assert "score" not in roles and roles["tenant"].role == "cohort"
    assert "input" not in proposal.columns and "output" not in proposal.columns
    path = tmp_path / "monitors.yml"
    path.write_text(render_monitors(proposal, NOW))
    source = load_monitors(path).monitors[0].source
    assert source.json_fields == proposal.json_fields
    text = path.read_text()
    assert text.index("json_fields:") < text.index("columns:")
    assert "tenant: metadata.tenant" in text and "# cohort: low-cardinality" in text


def test_a_table_without_json_is_proposed_as_before():
    frame = _frame(["plain words, nothing more"] * 200)
    proposal = _proposal(frame)
    assert proposal.json_fields == {}
    assert [r.column for r in proposal.roles] == list(frame.columns)
    unused = _proposal(_frame([json.dumps({"k": "same"})] * 200))  # keys, none of use
    role = next(r for r in unused.roles if r.column == "metadata")
    assert role.role == "-" and "none used" in role.reason and unused.json_fields == {}


def test_text_ids_that_look_like_numbers_are_profiled_without_crashing():
    """Hex trace ids that are digits with one `e` crashed pandas' number parser (leading
    zeros with an exponent); they are read as Python reads them, out of range as no number."""
    from lookout.services.init_columns import profile_column

    ids = ["000000000000000022476491082e6368", "00000000000000000000005", "7f3a", None]
    profile = profile_column(ColumnInfo("trace_id", "T", "text"), pd.Series(ids, dtype=object))
    assert profile.values == frozenset({5.0})  # not 0 (pandas' reading of the leading zeros)
