"""Groundedness (and its alias, hallucination): is what the answer says backed by the context?

No model: the answer's claims are checked against the retrieved context with word statistics.

- Term support: the share of the answer's content words (stemmed, stopwords dropped) found in
  the context. A word found only in the question gets half credit: repeating the question is
  not evidence, and it is not an invention either.
- Local support: the share of adjacent content-word pairs of an answer sentence that also sit
  within `window` content words of each other in the context. It catches answers made of
  context words put together wrongly ("Neil Gaiman directed Beowulf" when the context says
  "directed by Robert Zemeckis and written by Neil Gaiman").
- Hard checks, each multiplying the score down: a number absent from the context and the
  question (x e^-1), a capitalised name word absent from both (x e^-0.5), a multi-word name
  not found as such ("Amy Johnson" for "Amy Jo Johnson", x e^-0.3), a negation ("not",
  "never") when the context has none (x e^-0.5).

An answer with no checkable content ("Yes.", "No") scores 1: it claims nothing the context
could contradict. Measured on a labeled HaluEval QA sample (tests/fixtures/groundedness):
see benchmarks/bench_groundedness.py for AUROC and accuracy, and the README there for its
limits (its correct answers are short extracts, which favours any extractive check).
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from lookout.checks.evaluators.offline import OfflineEvaluator, mask_digits
from lookout.checks.evaluators.text import (
    LONG_DIGIT_RUN,
    content_terms,
    entities,
    fold,
    numbers,
    sentences,
    stem,
    words,
)

__all__ = ["Groundedness", "GroundednessResult", "Hallucination", "groundedness"]

CODE_VERSION = "1"
POLAR = frozenset({"yes", "no", "true", "false", "correct", "incorrect"})
NEGATIONS = frozenset({"not", "no", "never", "none", "nobody", "nothing", "neither", "nor"})
NUMBER_PENALTY = 1.0
ENTITY_PENALTY = 0.5
SPAN_PENALTY = 0.3
NEGATION_PENALTY = 0.5


@dataclasses.dataclass(frozen=True)
class GroundednessResult:
    """The score and what went into it (surface forms, for the reason)."""

    score: float
    terms: int
    supported: int
    from_question: int
    pairs: int
    pairs_supported: int
    unsupported_numbers: tuple[str, ...]
    unsupported_entities: tuple[str, ...]
    unmatched_names: tuple[str, ...]
    unsupported_negation: bool
    novel_words: tuple[str, ...]

    def reason(self) -> str:
        """Why, in a few words: what is unsupported first, then the support figures."""
        parts = [f"number {n}" for n in self.unsupported_numbers[:3]]
        parts += [f"entity '{e}'" for e in self.unsupported_entities[:3]]
        parts += [f"name '{e}' not as in context" for e in self.unmatched_names[:2]]
        if self.unsupported_negation:
            parts.append("negation absent from context")
        if not parts and self.novel_words:
            parts.append("words " + ", ".join(f"'{w}'" for w in self.novel_words[:4]))
        if self.terms == 0:
            summary = "no checkable claim"
        else:
            summary = f"{self.supported}/{self.terms} terms in context"
            if self.pairs:
                summary += f", {self.pairs_supported}/{self.pairs} pairs near each other"
        text = ("unsupported: " + ", ".join(parts) + "; " if parts else "") + summary
        return mask_digits(text)


def _fold_all(text: str) -> list[str]:
    return [fold(w) for w in words(text)]


def _near(positions: dict[str, list[int]], a: str, b: str, window: int) -> bool:
    """True when some occurrence of `a` is within `window` terms of some occurrence of `b`."""
    if a == b:
        return a in positions
    left, right = positions.get(a), positions.get(b)
    if not left or not right:
        return False
    for i in left:
        k = bisect.bisect_left(right, i - window)
        if k < len(right) and right[k] <= i + window:
            return True
    return False


def groundedness(
    output: str,
    context: str,
    question: str = "",
    *,
    window: int = 3,
    question_credit: float = 0.5,
) -> GroundednessResult:
    """Score how well `output` is backed by `context` (see the module docstring)."""
    context_words = words(context)
    question_words = words(question)
    context_terms = content_terms(context_words)
    context_set = set(context_terms)
    question_set = set(content_terms(question_words))
    terms = _answer_terms(output, context_terms, window)
    answer_terms = terms.terms
    supported = sum(t in context_set for t in answer_terms)
    from_question = sum(t not in context_set and t in question_set for t in answer_terms)
    novel = tuple(
        dict.fromkeys(
            terms.surface[t] for t in answer_terms if t not in context_set and t not in question_set
        )
    )
    bad_numbers = _unsupported_numbers(output, context, question, context_words, question_words)
    context_folded = [fold(w) for w in context_words]
    question_folded = [fold(w) for w in question_words]
    bad_entities, unmatched = _unsupported_names(output, context_folded, question_folded)
    bad_negation = bool(answer_terms) and _negates_unlike(output, context_folded)
    if not answer_terms:
        base = 1.0
    else:
        term_support = (supported + question_credit * from_question) / len(answer_terms)
        local_support = terms.pairs_supported / terms.pairs if terms.pairs else term_support
        base = (term_support + local_support) / 2
    penalty = (
        NUMBER_PENALTY * len(bad_numbers)
        + ENTITY_PENALTY * len(bad_entities)
        + SPAN_PENALTY * len(unmatched)
        + NEGATION_PENALTY * bad_negation
    )
    return GroundednessResult(
        score=base * math.exp(-penalty),
        terms=len(answer_terms),
        supported=supported,
        from_question=from_question,
        pairs=terms.pairs,
        pairs_supported=terms.pairs_supported,
        unsupported_numbers=bad_numbers,
        unsupported_entities=bad_entities,
        unmatched_names=unmatched,
        unsupported_negation=bad_negation,
        novel_words=novel,
    )


@dataclasses.dataclass
class _AnswerTerms:
    terms: list[str] = dataclasses.field(default_factory=list)
    surface: dict[str, str] = dataclasses.field(default_factory=dict)  # term -> word as written
    pairs: int = 0  # neighbouring terms in one sentence of the answer
    pairs_supported: int = 0  # of which near each other in the context too


def _answer_terms(output: str, context_terms: list[str], window: int) -> _AnswerTerms:
    """The answer's content terms (polarity words aside) and how many neighbouring pairs of
    them sit within `window` terms of each other in the context: words copied from the
    context but recombined into a new claim lose local support."""
    positions: dict[str, list[int]] = {}
    for index, term in enumerate(context_terms):
        positions.setdefault(term, []).append(index)
    found = _AnswerTerms()
    for sentence in sentences(output) or [output]:
        terms = []
        for word in words(sentence):
            for term in content_terms(word):
                if term in POLAR:
                    continue
                terms.append(term)
                found.surface.setdefault(term, word)
        found.terms.extend(terms)
        for a, b in itertools.pairwise(terms):
            found.pairs += 1
            found.pairs_supported += _near(positions, a, b, window)
    return found


def _unsupported_numbers(
    output: str,
    context: str,
    question: str,
    context_words: list[str],
    question_words: list[str],
) -> tuple[str, ...]:
    """Numbers in the answer that neither the context nor the question holds. A long digit
    run (a phone or account number) is checked whole and reported by its length only: a
    reason must not carry it, split into groups or not."""
    known_numbers = numbers(context, tokens=context_words) | numbers(
        question, tokens=question_words
    )
    known_runs = {re.sub(r"\D", "", m.group()) for m in LONG_DIGIT_RUN.finditer(context)}
    long_runs = [m.group() for m in LONG_DIGIT_RUN.finditer(output)]
    short_text = LONG_DIGIT_RUN.sub(" ", output)
    bad = tuple(sorted(n for n in numbers(short_text) if n not in known_numbers))
    return bad + tuple(
        f"<{len(digits)} digits>"
        for digits in (re.sub(r"\D", "", run) for run in long_runs)
        if digits not in known_runs and digits not in known_numbers
    )


def _unsupported_names(
    output: str, context_folded: list[str], question_folded: list[str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Capitalised words of the answer's names found in neither the context nor the question
    (names may come from either), and multi-word names whose words are all known but never
    appear together (an invented product built from real words)."""
    known_words = set(context_folded) | set(question_folded)
    known_stems = {stem(w) for w in known_words}
    names = entities(output)
    bad_entities = tuple(
        dict.fromkeys(
            word
            for name in names
            for word in name.split()
            if word[:1].isupper()
            and len(word) > 1
            and fold(word) not in known_words
            and stem(word) not in known_stems
        )
    )
    haystack = f" {' '.join(context_folded)} | {' '.join(question_folded)} "
    unmatched = tuple(
        dict.fromkeys(
            name
            for name in names
            if len(name.split()) > 1
            and not set(name.split()) & set(bad_entities)
            and f" {' '.join(_fold_all(name))} " not in haystack
        )
    )
    return bad_entities, unmatched


def _negated(folded: Iterable[str]) -> bool:
    folded = set(folded)
    return bool(folded & NEGATIONS or any(w.endswith("n't") for w in folded))


def _negates_unlike(output: str, context_folded: list[str]) -> bool:
    """The answer negates where the context never does: "is not included" from a context
    that says it is."""
    return _negated(_fold_all(output)) and not _negated(context_folded)


@dataclasses.dataclass(frozen=True)
class Groundedness(OfflineEvaluator):
    """Are the answer's claims, numbers and names backed by the retrieved context?

    `window`: how close (in content words) two adjacent answer words must sit in the context
    to count as a supported pair. `question_credit`: the credit of an answer word found in the
    question only. Uses the record's `input` (the question) when present.
    """

    CODE_VERSION: ClassVar[str] = CODE_VERSION
    needs: ClassVar[tuple[str, ...]] = ("output", "context")

    name: str = "groundedness"
    threshold: float = 0.5
    window: int = 3
    question_credit: float = 0.5

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.window < 1:
            raise ValueError(f"{self.name}: window must be >= 1, got {self.window!r}")
        if not 0.0 <= self.question_credit <= 1.0:
            raise ValueError(f"{self.name}: question_credit must be in [0, 1]")

    def score(self, record: Mapping[str, Any]) -> tuple[float | None, str]:
        question = record.get("input")
        result = groundedness(
            str(record["output"]),
            str(record["context"]),
            question if isinstance(question, str) else "",
            window=self.window,
            question_credit=self.question_credit,
        )
        return result.score, result.reason()


@dataclasses.dataclass(frozen=True)
class Hallucination(Groundedness):
    """The groundedness signal under the name users look for: a pass means not hallucinated
    (score = groundedness score, higher is better), a fail flags a likely hallucination."""

    name: str = "hallucination"
