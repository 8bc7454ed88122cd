"""Tolerant parsing of judge replies (pure)."""

from __future__ import annotations

import pytest

from lookout.checks.evaluators.judge_parsing import MAX_REASON_CHARS, ParseError, parse_verdict


@pytest.mark.parametrize(
    ("reply", "score", "label"),
    [
        ('{"score": 0.8, "label": "pass", "reason": "ok"}', 0.8, "pass"),
        ('  {"reason": "r", "score": 0, "label": "fail"}\n', 0.0, "fail"),
        ('```json\n{"score": 0.25, "label": "fail", "reason": "r"}\n```', 0.25, "fail"),
        ('```\n{"score": 1, "label": "pass"}\n```', 1.0, "pass"),
        ('Here is my verdict: {"score": 0.9, "label": "pass"} Hope it helps.', 0.9, "pass"),
        ('I think {not json} but {"score": "0.6", "label": "PASS"}', 0.6, "pass"),
        ('{"score": "80%", "label": "Pass"}', 0.8, "pass"),
        ('{"score": "4/5", "label": "pass"}', 0.8, "pass"),
        ('{"score": "3 out of 5"}', 0.6, None),
        ('{"score": 5, "label": "PASS"}', 1.0, "pass"),
        ('{"score": 3, "label": "FAIL"}', 0.5, "fail"),
        ('{"score": 2.0}', 0.25, None),
        ('{"Score": 1, "Verdict": "FAIL"}', 0.0, "fail"),  # 1 on a 1-5 scale
        ('{"label": "PASS", "reason": "fine"}', 1.0, "pass"),
        ('{"verdict": "fail"}', 0.0, "fail"),
        ('{"rating": 0.4, "result": true}', 0.4, "pass"),
        ('{"score": 0.7, "label": "maybe"}', 0.7, None),
    ],
)
def test_accepts_the_shapes_models_write(reply: str, score: float, label: str | None) -> None:
    verdict = parse_verdict(reply)
    assert verdict.score == pytest.approx(score)
    assert verdict.label == label


def test_nested_objects_and_reason_cleanup() -> None:
    reply = 'prose {"reason": "line one\n   line two", "score": 0.5, "extra": {"a": [1, 2]}} end'
    verdict = parse_verdict(reply)
    assert verdict.reason == "line one line two"
    assert verdict.score == 0.5


def test_long_reason_is_cut() -> None:
    verdict = parse_verdict('{"score": 1, "reason": "' + "x" * 5000 + '"}')
    assert len(verdict.reason) == MAX_REASON_CHARS


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ("", "empty reply"),
        (None, "empty reply"),
        ("The answer is grounded, PASS.", "no JSON object"),
        ('{"reason": "no verdict"}', "neither a score nor"),
        ('{"score": 7}', "outside"),
        ('{"score": -0.2}', "outside"),
        ('{"score": "high"}', "not a number"),
        ('{"score": true}', "boolean"),
        ('{"score": [1]}', "list"),
        ('{"score": "7/5"}', "outside 0..1"),
        ('{"score": "1/0"}', "zero denominator"),
        ('{"score": NaN}', "finite"),
        ("[1, 2, 3]", "no JSON object"),
    ],
)
def test_rejects_with_a_short_message(reply: str | None, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_verdict(reply)


def test_error_never_quotes_the_reply() -> None:
    secret_laden = "My SSN is 123-45-6789 and the answer is definitely PASS. " * 20
    with pytest.raises(ParseError) as info:
        parse_verdict(secret_laden)
    assert "123-45-6789" not in str(info.value)
    assert len(str(info.value)) < 100
