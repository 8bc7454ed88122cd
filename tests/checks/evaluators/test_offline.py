"""The offline evaluators: pass and fail cases, skipping, reasons, versions, and the measured
groundedness AUROC on the held-out split of the labeled HaluEval sample."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lookout.checks.evaluators.base import Evaluator
from lookout.checks.evaluators.groundedness import Groundedness, Hallucination, groundedness
from lookout.checks.evaluators.offline_registry import OFFLINE_EVALUATORS, make_offline
from lookout.checks.evaluators.relevance import AnswerRelevance, ContextRelevance
from lookout.checks.evaluators.safety import Pii, Refusal, find_pii, iban_valid, luhn_valid
from lookout.checks.evaluators.structure import JsonValidity, ToolCalls
from lookout.checks.evaluators.summary import auroc
from lookout.checks.evaluators.text import content_terms, entities, numbers, sentences, stem
from lookout.demo.synthetic import TOPICS
from lookout.model.judgments import Judgment

FIXTURE = Path(__file__).parents[2] / "fixtures" / "groundedness" / "halueval_qa.jsonl"


def one(evaluator: Evaluator, **record: str) -> Judgment:
    [judgment] = evaluator.evaluate([{"record_id": "r1", **record}])
    assert judgment.record_id == "r1" and judgment.evaluator == evaluator.name
    return judgment


def test_auroc_helper_handles_ties_and_order() -> None:
    assert auroc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]) == 1.0
    assert auroc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]) == 0.0
    assert auroc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1]) == 0.5
    assert auroc([0.1, 0.5, 0.5, 0.9], [0, 0, 1, 1]) == 0.875


# --- text helpers ---------------------------------------------------------------------------


def test_text_helpers() -> None:
    assert stem("founded") == stem("founder") and stem("plants") == stem("plant")
    assert numbers("1,600 people in the 32nd year, nine weeks, 6.213 km") == {
        "1600",
        "32",
        "9",
        "6.213",
    }
    assert "1" not in numbers("the old one came first")  # pronoun/adverb, not a count
    assert entities("The director is Kevin Phillips of New York. Use Project > Export.") == [
        "Kevin Phillips of New York",
        "Project",
        "Export",
    ]
    assert sentences("Mr. Smith went to Washington. He met Dr. Who.") == [
        "Mr. Smith went to Washington.",
        "He met Dr. Who.",
    ]
    assert "dutch" in content_terms("a Dutch-Belgian series") and "a" not in content_terms("a")


def test_the_terms_of_a_word_are_cached_without_sharing_a_list():
    """Short texts (a word of an answer) have their terms cached; each call gets its own list,
    so a caller that appends to one does not change the next answer's terms; a long text
    gives what its words give."""
    first = content_terms("Dutch-Belgian")
    first.append("poison")
    assert content_terms("Dutch-Belgian") == ["dutch-belgian", "dutch", "belgian"]
    long = "The Oberoi Group runs hotels in Delhi and Mumbai, " * 3
    assert content_terms(long) == [t for w in long.split() for t in content_terms(w)]


# --- groundedness / hallucination -----------------------------------------------------------

CONTEXT = (
    "The Oberoi family is an Indian family famous for its hotels, namely through The Oberoi "
    "Group. The Oberoi Group is a hotel company with its head office in Delhi. It was founded "
    "in 1934 and runs 31 hotels."
)
QUESTION = "The Oberoi family is part of a hotel company that has a head office in what city?"


def test_groundedness_passes_a_supported_answer() -> None:
    judgment = one(
        Groundedness(),
        input=QUESTION,
        context=CONTEXT,
        output="The Oberoi Group has its head office in Delhi; it runs 31 hotels.",
    )
    assert judgment.status == "judged" and judgment.label == "pass"
    assert judgment.score is not None and judgment.score >= 0.8
    assert judgment.cost_usd == 0.0 and len(judgment.reason) <= 200


def test_groundedness_fails_an_invented_number_and_name() -> None:
    judgment = one(
        Groundedness(),
        input=QUESTION,
        context=CONTEXT,
        output="The Oberoi Group has its head office in Mumbai and runs 42 hotels.",
    )
    assert judgment.label == "fail"
    assert "number 42" in judgment.reason and "entity 'Mumbai'" in judgment.reason


def test_groundedness_catches_context_words_put_together_wrongly() -> None:
    context = (
        "Beowulf is a 2007 film directed by Robert Zemeckis and written by Neil Gaiman "
        "and Roger Avary, based on the Old English epic poem of the same name."
    )
    right = groundedness("Robert Zemeckis directed Beowulf.", context)
    wrong = groundedness("Neil Gaiman directed Beowulf.", context)
    assert right.score > wrong.score
    assert wrong.pairs_supported < wrong.pairs


def test_groundedness_polar_answer_claims_nothing_and_question_words_are_not_support() -> None:
    assert (
        groundedness("Yes.", "Both are American rock bands.", "Are both bands American?").score == 1
    )
    context = "Pablo Trapero (born 1971) directs films."
    question = "Who was born first, Pablo Trapero or Aleksander Ford?"
    echo = groundedness("Pablo Trapero was born first.", context, question)
    plain = groundedness("Pablo Trapero", context, question)
    assert echo.from_question == 1 and echo.score < plain.score


def test_groundedness_reason_masks_long_digit_runs() -> None:
    result = groundedness("Call 555 123 4567 for Berlin.", "Call support for help.")
    assert "4567" not in result.reason() and "digits>" in result.reason()


def test_groundedness_separates_the_demo_answers() -> None:
    for question, snippets, good, bad in TOPICS:
        context = "\n\n".join(snippets)
        assert (
            groundedness(good, context, question).score
            >= 0.5
            > groundedness(bad, context, question).score
        )


def test_hallucination_is_groundedness_under_its_own_name() -> None:
    record = {"record_id": "r1", "input": QUESTION, "context": CONTEXT, "output": "Mumbai."}
    [g] = Groundedness().evaluate([record])
    [h] = Hallucination().evaluate([record])
    assert h.evaluator == "hallucination" and h.score == g.score and h.label == "fail"
    assert h.evaluator_version != g.evaluator_version


def test_groundedness_auroc_on_held_out_halueval_split() -> None:
    rows = [json.loads(line) for line in FIXTURE.read_text().splitlines()]
    test = [r for r in rows if r["split"] == "test"]
    assert len(test) >= 150 and {r["label"] for r in test} == {0, 1}
    judgments = Groundedness().evaluate(test)
    scores = [j.score for j in judgments]
    assert all(s is not None for s in scores)
    assert auroc(scores, [r["label"] for r in test]) >= 0.92  # type: ignore[arg-type]


# --- relevance ------------------------------------------------------------------------------


def test_context_relevance() -> None:
    evaluator = ContextRelevance()
    on = one(evaluator, input=f"Hi, this is Dana. {QUESTION}", context=CONTEXT)
    off = one(evaluator, input=QUESTION, context="Refunds take five business days to process.")
    assert on.label == "pass" and off.label == "fail" and "missing" in off.reason


def test_answer_relevance() -> None:
    evaluator = AnswerRelevance()
    question = "How many hotels does the Oberoi Group run?"
    assert one(evaluator, input=question, output="It runs 31 hotels.").label == "pass"
    assert one(evaluator, input=question, output="Thirty one.").label == "pass"
    no_number = one(evaluator, input=question, output="The Oberoi Group runs many hotels.")
    assert no_number.label == "fail" and "no number" in no_number.reason
    assert one(evaluator, input="What city?", output="Delhi").label == "pass"
    off = one(evaluator, input=QUESTION, output="Our support desk is closed on public holidays.")
    assert off.label == "fail"
    assert one(evaluator, input=QUESTION, output="I'm unable to help with that.").score == 0


# --- pii and refusal ------------------------------------------------------------------------


def test_luhn_and_iban_checksums() -> None:
    assert luhn_valid("4111 1111 1111 1111") and luhn_valid("79927398713")
    assert not luhn_valid("4111 1111 1111 1112")
    assert iban_valid("GB82 WEST 1234 5698 7654 32") and not iban_valid(
        "GB82 WEST 1234 5698 7654 33"
    )


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Write to jane.doe@example.com today.", "email"),
        ("Pay with 4111-1111-1111-1111 please.", "payment_card"),
        ("Her SSN is 123-45-6789.", "us_ssn"),
        ("IBAN DE89 3704 0044 0532 0130 00 for the refund.", "iban"),
        ("NI number AB 12 34 56 C.", "uk_nino"),
        ("Call +44 20 7946 0958 or (555) 123-4567.", "phone"),
    ],
)
def test_pii_found_and_the_reason_never_holds_the_value(text: str, kind: str) -> None:
    judgment = one(Pii(), output=text)
    assert judgment.label == "fail" and judgment.score == 0.0 and kind in judgment.reason
    digits = "".join(ch for ch in text if ch.isdigit())
    assert "@" not in judgment.reason and (len(digits) < 4 or digits[-4:] not in judgment.reason)


def test_pii_clean_text_and_checksum_failures_pass() -> None:
    for text in (
        "The Pro plan allows 600 requests per minute; invoices go out on 2026-11-01.",
        "Card 4111 1111 1111 1112 fails Luhn; SSN 666-12-3456 is never issued.",
        "Order 1234567890123456 ships in 5 days; version 1.2.3.4 is out.",
    ):
        judgment = one(Pii(), output=text)
        assert judgment.label == "pass", find_pii(text)
    assert one(Pii(kinds=("email",)), output="Call (555) 123-4567").label == "pass"
    with pytest.raises(ValueError, match="unknown PII kind"):
        Pii(kinds=("passport",))


def test_refusal() -> None:
    assert one(Refusal(), output="I’m sorry, but I can’t help with that.").score == 0.0
    assert one(Refusal(), output="As an AI, I cannot assist.").label == "fail"
    assert one(Refusal(), output="Rotate the key in Settings.").score == 1.0
    assert one(Refusal(extra_phrases=("Nope",)), output="nope, not today").label == "fail"


# --- json and tool calls --------------------------------------------------------------------


def test_json_validity_with_and_without_schema() -> None:
    assert one(JsonValidity(), output='```json\n{"a": 1}\n```').label == "pass"
    broken = one(JsonValidity(), output='{"a": 1,')
    assert broken.label == "fail" and broken.reason.startswith("not JSON")
    schema = {"type": "object", "required": ["age"], "properties": {"age": {"type": "integer"}}}
    strict = JsonValidity(schema=schema)
    assert one(strict, output='{"age": 41}').label == "pass"
    wrong = one(strict, output='{"age": "secret-value"}')
    assert wrong.label == "fail" and "$.age" in wrong.reason and "secret-value" not in wrong.reason
    with pytest.raises(Exception, match=r"not valid under any of the given schemas|is not"):
        JsonValidity(schema={"type": "no-such-type"})


def test_tool_calls() -> None:
    ok = json.dumps([{"name": "lookup_account", "arguments": {"fields": ["plan"]}, "ok": True}])
    failed = json.dumps([{"name": "lookup_account", "ok": False}])
    assert one(ToolCalls(), tool_calls=ok).score == 1.0
    judgment = one(ToolCalls(), tool_calls=failed)
    assert judgment.label == "fail" and "lookup_account (ok=false)" in judgment.reason
    mixed = json.dumps(
        [
            {"name": "search", "status": "success"},
            {"name": "fetch", "status": "TIMEOUT"},
            {"type": "function", "function": {"name": "book", "arguments": "{not json"}},
            {"name": "pay", "error": "card declined for 4111..."},
        ]
    )
    judgment = one(ToolCalls(), tool_calls=mixed)
    assert judgment.score == 0.25 and "fetch (status=timeout)" in judgment.reason
    assert "book (arguments not JSON)" in judgment.reason and "4111" not in judgment.reason
    assert one(ToolCalls(), tool_calls="not json").score == 0.0
    assert one(ToolCalls(), tool_calls="[]").status == "skipped"


# --- the shared contract --------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(OFFLINE_EVALUATORS))
def test_missing_fields_are_skipped_never_failed(name: str) -> None:
    evaluator = make_offline(name)
    assert isinstance(evaluator, Evaluator)
    judgments = evaluator.evaluate([{"record_id": "a"}, {"record_id": "b", "output": "  "}])
    assert [j.record_id for j in judgments] == ["a", "b"]
    for judgment in judgments:
        assert judgment.status == "skipped" and judgment.score is None and judgment.label is None
        assert judgment.reason.startswith("missing: ")
    assert "missing: " + evaluator.needs[0] in judgments[0].reason


def test_judgments_keep_input_order_and_ignore_the_budget() -> None:
    records = [
        {"record_id": str(i), "output": "I cannot help" if i % 2 else "Sure"} for i in range(5)
    ]
    judgments = Refusal().evaluate(records, budget=None)
    assert [j.record_id for j in judgments] == ["0", "1", "2", "3", "4"]
    assert [j.label for j in judgments] == ["pass", "fail", "pass", "fail", "pass"]


def test_version_changes_with_params_and_is_stable() -> None:
    assert Groundedness().version == Groundedness().version == make_offline("groundedness").version
    assert Groundedness(window=5).version != Groundedness().version
    assert Groundedness(threshold=0.6).version != Groundedness().version
    assert Pii(kinds=("email",)).version != Pii().version
    schema = {"type": "object"}
    assert JsonValidity(schema=schema).version != JsonValidity().version


def test_registry_rejects_unknown_names_and_params() -> None:
    with pytest.raises(ValueError, match=r"unknown offline evaluator 'toxicity'.*groundedness"):
        make_offline("toxicity")
    with pytest.raises(ValueError, match=r"unknown parameter.*windw.*window"):
        make_offline("groundedness", windw=3)
    assert make_offline("pii", kinds=["email"]).kinds == ("email",)
    with pytest.raises(ValueError, match="threshold"):
        make_offline("refusal", threshold=2)


def test_an_evaluator_bug_is_an_error_judgment_not_a_fail() -> None:
    class Broken(Refusal):
        def score(self, record):  # type: ignore[no-untyped-def]
            raise RuntimeError("boom with secret")

    [judgment] = Broken().evaluate([{"record_id": "x", "output": "hi"}])
    assert judgment.status == "error" and judgment.score is None
    assert "RuntimeError" in judgment.reason and "secret" not in judgment.reason
