"""Relevance without a model: is the retrieved context about the question, and does the answer
address it?

Both measure coverage twice, on the asking part of the input (its sentences ending in '?')
and on the whole input, and keep the better: a greeting or a pasted profile ("Hi, this is
Dana. ...") does not dilute the question, and details told after it ("My requests time
out.") still count. Lexical only: a context that says "incident" for the question's
"outage" is not recognised as relevant.

- context_relevance: the share of the question's content words found in the context, names
  and numbers counting double (they are what retrieval must get right). Half of the words
  found is full marks: questions carry filler the context need not repeat.
- answer_relevance: the same coverage of the question by the answer, plus an answer-type
  check from the question word ('how many' wants a number, 'who' a name, 'is/are' a yes or
  no). A reply of at most four words to a wh-question ("Delhi", "Todd Phillips") counts as
  a direct answer, whatever its words; a refusal or a non-answer ("I don't know") scores 0.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar

from lookout.checks.evaluators.offline import OfflineEvaluator
from lookout.checks.evaluators.text import (
    content_terms,
    normalize,
    numbers,
    sentences,
    stem,
    words,
)
from lookout.sources.drift_columns import REFUSAL_PHRASES

__all__ = ["AnswerRelevance", "ContextRelevance", "answer_relevance", "context_relevance"]

CODE_VERSION = "1"
FULL_COVERAGE = 0.5  # the share of question words that earns full marks
MISSING_TYPE_FACTOR = 0.4  # on topic but without the asked number or name: below 0.5
TERSE_WORDS = 4  # a reply this short to a wh-question is taken as a direct answer
# Courtesy and chat words: never what a question is about.
FILLER = frozenset(
    """
    hi hello hey thanks thank please help question ask wonder wondering know tell anyone
    somebody someone quick now right currently today just really need want like way
    """.split()  # noqa: SIM905 - a word list reads better as text
)
NON_ANSWERS = ("i don't know", "i do not know", "not sure", "no idea", "cannot answer")
NUMBER_CUES = (
    "how many",
    "how much",
    "how long",
    "how old",
    "how far",
    "how tall",
    "how big",
    "how often",
    "what year",
    "which year",
    "what percentage",
    "what age",
    "when",
)
NAME_CUES = ("who", "whom", "whose", "where")
POLAR_STARTS = frozenset(
    """
    is are was were do does did can could has have had will would should am isn't aren't
    wasn't weren't don't doesn't didn't
    """.split()  # noqa: SIM905 - a word list reads better as text
)
POLAR = frozenset({"yes", "no", "true", "false", "correct", "incorrect"})
MONTHS = frozenset(
    "january february march april may june july august september october november december".split()  # noqa: SIM905
)


def question_part(text: str) -> str:
    """The sentences that ask (end with '?'), or the whole text when none does."""
    asked = [s for s in sentences(text) if s.rstrip(" \"')").endswith("?")]
    return " ".join(asked) if asked else normalize(text)


def _weighted_terms(text: str) -> dict[str, float]:
    """Content stems of the question, weight 2 for a capitalised word or a number, else 1."""
    weights: dict[str, float] = {}
    for index, word in enumerate(words(text)):
        for term in content_terms(word):
            if term in FILLER or stem(term) in FILLER:
                continue
            special = word[:1].isdigit() or (index > 0 and word[:1].isupper())
            weights[term] = max(weights.get(term, 0.0), 2.0 if special else 1.0)
    return weights


def _coverage(question: str, text: str) -> tuple[float, list[str]]:
    """Weighted share of the question's terms found in `text` (on the asking part and on the
    whole question, the better of the two), and the missing terms of the asking part."""
    present = set(content_terms(text))
    best, missing_asked, weighed = 0.0, [], False
    asked = question_part(question)
    for index, part in enumerate(dict.fromkeys((asked, normalize(question)))):
        weights = _weighted_terms(part)
        if not weights:
            continue
        weighed = True
        found = sum(w for t, w in weights.items() if t in present)
        best = max(best, found / sum(weights.values()))
        if index == 0:
            missing_asked = [t for t in weights if t not in present]
    return (best, missing_asked) if weighed else (1.0, [])


def context_relevance(question: str, context: str) -> tuple[float, str]:
    """(score, reason): does the context talk about what the question asks?"""
    coverage, missing = _coverage(question, context)
    score = min(1.0, coverage / FULL_COVERAGE)
    reason = f"{coverage:.0%} of the question's terms in context"
    if missing and score < 1.0:
        reason += "; missing " + ", ".join(f"'{t}'" for t in missing[:4])
    return score, reason


def expected_type(question: str) -> str | None:
    """'number', 'name', 'polar' or None, from the question's wording."""
    lowered = " ".join(w.casefold() for w in words(question))
    padded = f" {lowered} "
    if any(f" {cue} " in padded for cue in NUMBER_CUES):
        return "number"
    if any(f" {cue} " in padded for cue in NAME_CUES):
        return "name"
    first = lowered.split(" ", 1)[0] if lowered else ""
    return "polar" if first in POLAR_STARTS else None


def _has_type(answer: str, kind: str) -> bool:
    """Does the answer hold what the question word asks for?"""
    tokens = words(answer)
    if not tokens:
        return False
    if kind == "number":
        return bool(numbers(answer, tokens=tokens)) or any(t.casefold() in MONTHS for t in tokens)
    if kind == "name":  # a capital past the first word, or a short capitalised reply
        return any(t[:1].isupper() for t in tokens[1:]) or (
            len(tokens) <= 6 and tokens[0][:1].isupper() and tokens[0].casefold() not in POLAR
        )
    return tokens[0].casefold() in POLAR


def _declines(answer: str) -> bool:
    lowered = normalize(answer).casefold()
    return any(p in lowered for p in (*REFUSAL_PHRASES, *NON_ANSWERS))


def answer_relevance(question: str, answer: str) -> tuple[float, str]:
    """(score, reason): does the answer take up the question (its words, its answer type)?"""
    if _declines(answer):
        return 0.0, "declines to answer"
    asked = question_part(question)
    coverage, _ = _coverage(question, answer)
    topical = min(1.0, coverage / FULL_COVERAGE)
    terms = f"{coverage:.0%} of the question's terms taken up"
    kind = expected_type(asked)
    if kind is not None and _has_type(answer, kind):
        return max(topical, 0.75), f"{kind} answer as asked; {terms}"
    if kind in ("number", "name"):
        return MISSING_TYPE_FACTOR * topical, f"no {kind} in the answer; {terms}"
    if 0 < len(words(answer)) <= TERSE_WORDS and _is_wh(asked):
        return max(topical, 0.75), f"short direct answer; {terms}"
    return topical, terms


def _is_wh(question: str) -> bool:
    tokens = {w.casefold() for w in words(question)}
    return bool(tokens & {"what", "which", "who", "whom", "whose", "where", "when", "how", "why"})


@dataclasses.dataclass(frozen=True)
class ContextRelevance(OfflineEvaluator):
    """Is the retrieved context about the question? (Retrieval quality, not answer quality.)"""

    CODE_VERSION: ClassVar[str] = CODE_VERSION
    needs: ClassVar[tuple[str, ...]] = ("input", "context")

    name: str = "context_relevance"
    threshold: float = 0.5

    def score(self, record: Mapping[str, Any]) -> tuple[float | None, str]:
        return context_relevance(str(record["input"]), str(record["context"]))


@dataclasses.dataclass(frozen=True)
class AnswerRelevance(OfflineEvaluator):
    """Does the answer address the question? (On topic and of the asked type; not whether it
    is true: that is groundedness.)"""

    CODE_VERSION: ClassVar[str] = CODE_VERSION
    needs: ClassVar[tuple[str, ...]] = ("input", "output")

    name: str = "answer_relevance"
    threshold: float = 0.5

    def score(self, record: Mapping[str, Any]) -> tuple[float | None, str]:
        return answer_relevance(str(record["input"]), str(record["output"]))
