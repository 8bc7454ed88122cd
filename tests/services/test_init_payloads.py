"""Where the prompt and the answer are inside raw request and response JSON (`lookout init`'s
`init_payloads`), on documents whole and cut at the sample's length, and through init and a
window on SQLite: the evaluators judge the user's last message and the answer, not braces."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa
from tests.cli.init_files import check_and_run, init_project
from tests.conftest import write_table
from tests.fixtures.init_tables import times_before

from lookout.pipeline import Context
from lookout.services.init_columns import TEXT_CHARS
from lookout.services.init_payloads import payload_text
from lookout.windows import Window

END = datetime(2026, 11, 9, tzinfo=UTC)


def _request(i: int) -> dict:
    """A chat request of 2 or 4 messages: the user's question is last, at no fixed index."""
    messages = [{"role": "system", "content": "You are a support assistant."}]
    if i % 2:
        messages += [
            {"role": "user", "content": "hello"},
            {"role": "assistant", "content": "Hi! How can I help?"},
        ]
    messages.append({"role": "user", "content": f"how do I reset my password? ({i})"})
    return {"model": "gpt-4o-mini", "messages": messages, "stream": False}


def _response(i: int) -> dict:
    answer = {"role": "assistant", "content": f"Open settings, then security ({i})."}
    usage = {"prompt_tokens": 40, "completion_tokens": 12}
    return {
        "id": f"c{i}",
        "choices": [{"message": answer, "finish_reason": "stop"}],
        "usage": usage,
    }


def test_a_chat_request_is_read_at_its_last_message_and_a_response_at_its_first_choice():
    requests = [json.dumps(_request(i)) for i in range(30)]
    assert payload_text(requests) == (("messages", -1, "content"), "prompt")
    responses = [_response(i) for i in range(30)]  # a driver's dicts (jsonb)
    assert payload_text(responses) == (("choices", 0, "message", "content"), "answer")
    anthropic = [{"content": [{"type": "text", "text": "a"}], "role": "assistant"}] * 12
    assert payload_text(anthropic) == (("content", 0, "text"), "answer")
    gemini = [{"candidates": [{"content": {"parts": [{"text": "x"}]}}]}] * 12
    assert payload_text(gemini) == (("candidates", 0, "content", "parts", 0, "text"), "answer")


def test_documents_cut_at_the_sample_length_are_judged_by_their_start():
    long_system = "You are a careful assistant. " * 200
    cut = []
    for i in range(20):
        doc = _request(i)
        doc["messages"][0]["content"] = long_system
        cut.append(json.dumps(doc)[:TEXT_CHARS])
    assert all(len(c) == TEXT_CHARS for c in cut)
    assert payload_text(cut) == (("messages", -1, "content"), "prompt")


def test_metadata_and_prose_are_no_payload():
    metadata = [json.dumps({"tenant": "acme", "plan": "pro"})] * 20
    assert payload_text(metadata) is None
    assert payload_text(["How do I reset my password?"] * 20) is None
    assert payload_text([json.dumps(_request(1))] * 5) is None  # too few to say


def test_init_on_a_gateway_log_proposes_the_texts_inside_its_bodies(tmp_path):
    rng = np.random.default_rng(3)
    n, hours = 1200, 24
    created = times_before(END, hours, n, rng)
    frame = pd.DataFrame(
        {
            "request_id": [f"req-{i:06d}" for i in range(n)],
            "created_at": created.astype("datetime64[us]"),
            "http_status": np.where(rng.random(n) < 0.02, 500, 200),
            "latency_ms": rng.lognormal(7, 0.4, n).round(1),
            "request_body": [json.dumps(_request(i)) for i in range(n)],
            "response_body": [json.dumps(_response(i)) for i in range(n)],
        }
    )
    url = f"sqlite:///{tmp_path / 'gateway.sqlite'}"
    write_table(sa.create_engine(url), frame, table="request_log")
    cfg = tmp_path / "cfg"
    _output, source = init_project(cfg, url, "request_log")
    assert source.json_fields["prompt"] == "request_body.messages[-1].content"
    assert source.json_fields["answer"] == "response_body.choices[0].message.content"
    assert source.columns["input"] == "prompt" and source.columns["output"] == "answer"
    hour = Window(END - timedelta(hours=1), END)
    config = check_and_run(cfg, [hour])
    ctx = Context.from_config(config)
    try:
        read = ctx.warehouse.read_window(config.monitors.monitors[0], hour, ["input", "output"])
    finally:
        ctx.close()
    assert len(read) > 0
    assert read["input"].str.startswith("how do I reset my password?").all()
    assert read["output"].str.startswith("Open settings, then security").all()
