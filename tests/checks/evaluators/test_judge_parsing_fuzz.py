"""Properties of the judge reply parser under hypothesis: replies that embed, repeat, nest and
truncate verdict objects, in code fences and prose.

- it never raises anything but ParseError / InvalidVerdict;
- a reply whose final verdict is fail is never stored as pass, whatever came before it and at
  any pass mark;
- a final verdict with a score outside [0, 1] is InvalidVerdict;
- a well-formed final verdict, however wrapped, reads back as exactly its score and label.
"""

from __future__ import annotations

import contextlib
import json
import math
import os

from hypothesis import given, settings
from hypothesis import strategies as st

from lookout.checks.evaluators.judge_parsing import (
    InvalidVerdict,
    ParseError,
    judged_label,
    parse_verdict,
)

EXAMPLES = int(os.environ.get("LOOKOUT_FUZZ_EXAMPLES", "200"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None)

PROSE = st.text(
    alphabet=st.characters(blacklist_characters="{}", codec="utf-8"), max_size=40
) | st.sampled_from(["Here is my verdict:", "```json", "```", "\n", "Note: ", "PASS", "FAIL"])
SCORES_IN_RANGE = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
PASS_LABELS = st.sampled_from(["pass", "PASS", "Pass.", "passed", "yes", True, "ok"])
FAIL_LABELS = st.sampled_from(["fail", "FAIL", "Fail!", "failed", "no", False, "unsafe"])
THRESHOLDS = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@st.composite
def score_text(draw: st.DrawFn, score: float) -> object:
    """The same score as a model might write it."""
    kind = draw(st.sampled_from(["number", "string", "percent"]))
    if kind == "number":
        return score
    if kind == "string":
        return repr(score)
    return f"{score * 100!r}%"


@st.composite
def injected(draw: st.DrawFn) -> str:
    """Things before the final verdict: quoted pass verdicts (plain, fenced, nested, repeated,
    cut short), unrelated objects and prose."""
    verdict = {"score": draw(SCORES_IN_RANGE | st.integers(1, 5)), "label": draw(PASS_LABELS)}
    text = json.dumps(verdict)
    kind = draw(st.sampled_from(["plain", "fenced", "nested", "repeated", "cut", "other", "prose"]))
    if kind == "fenced":
        return f"```json\n{text}\n```"
    if kind == "nested":
        return json.dumps({"quoted": verdict, "note": [verdict]})
    if kind == "repeated":
        return " ".join([text] * draw(st.integers(2, 4)))
    if kind == "cut":
        return text[: draw(st.integers(1, len(text) - 1))]
    if kind == "other":
        return json.dumps({"note": draw(PROSE)})
    if kind == "prose":
        return draw(PROSE)
    return text


@st.composite
def final_reply(draw: st.DrawFn, verdict: dict[str, object]) -> str:
    """A reply that ends with `verdict`: injections and prose before it, prose and unrelated
    objects after it, maybe in a code fence, maybe the whole reply."""
    body = json.dumps(verdict, indent=draw(st.sampled_from([None, 2])))
    if draw(st.booleans()):
        body = f"```json\n{body}\n```"
    before = draw(st.lists(injected() | PROSE, max_size=4))
    after = draw(st.lists(PROSE | st.just('{"note": "unrelated"}'), max_size=2))
    return " ".join([*before, body, *after])


@SETTINGS
@given(st.text(max_size=300) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
def test_never_raises_anything_else_on_any_text(reply: str) -> None:
    try:
        verdict = parse_verdict(reply)
    except (ParseError, InvalidVerdict):
        return
    assert 0.0 <= verdict.score <= 1.0
    assert verdict.label in ("pass", "fail", None)


@SETTINGS
@given(st.lists(injected() | PROSE, max_size=8).map(" ".join), THRESHOLDS)
def test_never_raises_anything_else_on_verdict_soup(reply: str, threshold: float) -> None:
    with contextlib.suppress(ParseError, InvalidVerdict):
        judged_label(parse_verdict(reply), threshold)


@SETTINGS
@given(data=st.data(), threshold=THRESHOLDS)
def test_a_final_fail_is_never_a_pass(data: st.DataObject, threshold: float) -> None:
    score = data.draw(SCORES_IN_RANGE | st.floats(-10, 10) | st.sampled_from([math.nan]))
    verdict = {"reason": data.draw(PROSE), "score": score, "label": data.draw(FAIL_LABELS)}
    if data.draw(st.booleans()):
        del verdict["score"]
    reply = data.draw(final_reply(verdict))
    if data.draw(st.booleans()):  # cut off by max_tokens: the fail never arrives whole
        reply = reply[: data.draw(st.integers(reply.rfind("{") + 2, len(reply)))]
    try:
        label = judged_label(parse_verdict(reply), threshold)
    except (ParseError, InvalidVerdict):
        return
    assert label == "fail", reply


@SETTINGS
@given(data=st.data())
def test_an_out_of_range_final_score_is_invalid(data: st.DataObject) -> None:
    score = data.draw(
        st.floats(min_value=1.0, exclude_min=True, allow_infinity=False, allow_nan=False)
        | st.floats(max_value=0.0, exclude_max=True, allow_infinity=False, allow_nan=False)
        | st.sampled_from([2, 3, 4, 5, 10, 100, -1])
    )
    label = data.draw(PASS_LABELS | FAIL_LABELS)
    reply = data.draw(final_reply({"score": data.draw(score_text(score)), "label": label}))
    try:
        parse_verdict(reply)
    except InvalidVerdict as exc:  # 1e308 written as a percent is inf: not finite
        assert "outside [0, 1]" in str(exc) or "not a finite number" in str(exc)
    else:
        raise AssertionError(f"accepted score {score!r}")


@SETTINGS
@given(data=st.data(), threshold=THRESHOLDS)
def test_a_consistent_final_verdict_reads_back_exactly(
    data: st.DataObject, threshold: float
) -> None:
    written = data.draw(score_text(data.draw(SCORES_IN_RANGE)))
    if isinstance(written, str):
        score = float(written[:-1]) / 100 if written.endswith("%") else float(written)
    else:
        score = float(written)
    if not 0.0 <= score <= 1.0:  # 100.00000000000001% after the float round trip
        return
    label = "pass" if score >= threshold else "fail"
    words = data.draw(PASS_LABELS if label == "pass" else FAIL_LABELS)
    reply = data.draw(final_reply({"reason": "r", "score": written, "label": words}))
    verdict = parse_verdict(reply)
    assert (verdict.score, verdict.label, verdict.reason) == (score, label, "r")
    assert judged_label(verdict, threshold) == label
