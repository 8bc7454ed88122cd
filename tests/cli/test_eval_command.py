"""`lookout eval`: a JSONL file scored offline and by a judge over the fake endpoint."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from lookout.cli import app

CONTEXT = "The Pro plan allows 600 requests per minute; Enterprise limits are set per contract."
LINES = [
    {
        "record_id": "a",
        "input": "Pro rate limit?",
        "context": CONTEXT,
        "output": "600 requests per minute",
        "label": 1,
    },
    {
        "record_id": "b",
        "input": "Pro rate limit?",
        "context": CONTEXT,
        "output": "Pro has no limit, 50,000 per second in Berlin",
        "label": 0,
    },
    "{not json",
    {"input": "no id"},
    {"record_id": "c", "input": "Pro rate limit?", "output": "600 requests per minute"},
    {
        "record_id": 7,
        "input": "Enterprise?",
        "context": CONTEXT,
        "output": "set per contract",
        "expected": "pass",
    },
]


def _write(path):
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in LINES)
    path.write_text(text + "\n")


def test_eval_scores_good_lines_and_names_the_bad_ones(tmp_path):
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write(source)
    result = CliRunner().invoke(
        app,
        ["eval", "--evaluator", "groundedness", "--input", str(source), "--output", str(target)],
    )
    assert result.exit_code == 1, result.output  # some lines had problems
    assert f"{source}:3: not valid JSON" in result.output
    assert f"{source}:4: missing record_id" in result.output
    assert f"{source}:5: groundedness: missing context" in result.output
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    by_id = {r["record_id"]: r for r in rows}
    assert set(by_id) == {"a", "b", "c", "7"}
    assert by_id["a"]["label"] == "pass" and by_id["b"]["label"] == "fail"
    assert by_id["c"]["status"] == "skipped" and by_id["c"]["score"] is None
    assert by_id["a"]["line"] == 1 and by_id["7"]["line"] == 6
    assert {"evaluator", "score", "reason", "cost_usd", "prompt_tokens"} <= set(rows[0])
    # labels of lines a, b and 7 agree with the judge: accuracy 100%
    assert "groundedness vs human labels: n=3, accuracy 100.0%" in result.output


def test_eval_with_an_llm_judge_over_the_fake_endpoint(tmp_path, fake_openai, monkeypatch):
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text(
        "\n".join(
            json.dumps(line) for line in LINES if isinstance(line, dict) and "context" in line
        )
    )
    monkeypatch.setenv("LOOKOUT_JUDGE_API_KEY", fake_openai.api_key)
    result = CliRunner().invoke(
        app,
        [
            "eval",
            "--judge",
            "groundedness",
            "--input",
            str(source),
            "--output",
            str(target),
            "--base-url",
            fake_openai.base_url,
            "--model",
            "fake-judge",
            "--max-judgments",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    assert len(fake_openai.requests) == 2  # the budget held
    assert "budget reached (max_judgments)" in result.output
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    assert [r["status"] for r in rows] == ["judged", "judged", "skipped"]
    assert fake_openai.api_key not in result.output + target.read_text()


def test_eval_needs_an_evaluator_and_a_known_name(tmp_path):
    source = tmp_path / "in.jsonl"
    _write(source)
    runner = CliRunner()
    out = str(tmp_path / "o.jsonl")
    assert runner.invoke(app, ["eval", "--input", str(source), "--output", out]).exit_code == 2
    unknown = runner.invoke(
        app, ["eval", "--evaluator", "nope", "--input", str(source), "--output", out]
    )
    assert unknown.exit_code == 2 and "unknown offline evaluator 'nope'" in unknown.output
