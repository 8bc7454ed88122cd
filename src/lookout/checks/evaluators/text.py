"""Small text helpers shared by the offline evaluators: tokens, stems, numbers, entities.

Deliberately crude and dependency-free (stdlib only): the offline evaluators run on every
record of a window, so they must be fast and deterministic, and they must not download a
tokenizer or a model. Everything here works on English-like Latin text; other scripts fall
back to plain lower-cased word tokens.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

__all__ = [
    "LONG_DIGIT_RUN",
    "STOPWORDS",
    "content_terms",
    "entities",
    "fold",
    "normalize",
    "numbers",
    "sentences",
    "stem",
    "words",
]

# Function words and fillers: they carry no checkable claim, so they are neither support nor
# evidence against it. Lower-case.
STOPWORDS = frozenset(
    """
    a about above after again against all also am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do does
    doesn't doing don't down during each either else ever few for from further had hadn't has
    hasn't have haven't having he he'd he'll he's her here here's hers herself him himself his
    how how's however i i'd i'll i'm i've if in into is isn't it it's its itself just let's me
    more most much must mustn't my myself neither nor of off on once one only or other ought our
    ours ourselves out over own per same shan't she she'd she'll she's should shouldn't so some
    such than that that's the their theirs them themselves then there there's these they they'd
    they'll they're they've this those through thus to too under until up upon us very was
    wasn't we we'd we'll we're we've were weren't what what's when when's where where's whether
    which while who who's whom whose why why's will with within without won't would wouldn't
    yet you you'd you'll you're you've your yours yourself yourselves
    actually also called known named namely etc ie eg via since ago
    """.split()  # noqa: SIM905 - a word list reads better as text
)

NUMBER_WORDS = {
    "zero": "0",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
    "eleven": "11",
    "twelve": "12",
    "thirteen": "13",
    "fourteen": "14",
    "fifteen": "15",
    "sixteen": "16",
    "seventeen": "17",
    "eighteen": "18",
    "nineteen": "19",
    "twenty": "20",
    "thirty": "30",
    "forty": "40",
    "fifty": "50",
    "sixty": "60",
    "seventy": "70",
    "eighty": "80",
    "ninety": "90",
    "hundred": "100",
    "thousand": "1000",
    "third": "3",
    "fourth": "4",
    "fifth": "5",
    "sixth": "6",
    "seventh": "7",
    "eighth": "8",
    "ninth": "9",
    "tenth": "10",
}

_TRANSLATE = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u02bc": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u00a0": " ",
    }
)
# A word: letters/digits, with inner apostrophes, hyphens, dots or commas between digits.
_WORD = re.compile(r"[^\W_]+(?:(?:'|-|(?<=\d)[.,](?=\d))[^\W_]+)*")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?:st|nd|rd|th|s)?(?![\w])|\d+")
# Digits with spaces, dots or dashes between them (phone, card, account numbers); callers keep
# the runs holding 7+ digits.
LONG_DIGIT_RUN = re.compile(r"\d(?:[ .-]?\d){6,}")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_CONNECTORS = frozenset({"of", "de", "la", "le", "van", "von", "del", "da", "di", "du", "der"})
_ABBREVIATIONS = ("mr.", "mrs.", "ms.", "dr.", "st.", "jr.", "sr.", "vs.", "no.", "u.s.", "e.g.")


def normalize(text: str) -> str:
    """NFKC, typographic quotes and dashes made plain, whitespace collapsed (case kept)."""
    text = unicodedata.normalize("NFKC", text).translate(_TRANSLATE)
    return " ".join(text.split())


def fold(word: str) -> str:
    """Lower-case and strip accents, so 'Único' and 'Unico' meet."""
    if word.isascii():
        return word.casefold()
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    """Word tokens as they appear (case kept), possessive 's removed."""
    out = []
    for match in _WORD.finditer(normalize(text)):
        token = match.group()
        if token.endswith(("'s", "'S")):
            token = token[:-2]
        out.append(token.strip("'"))
    return [t for t in out if t]


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light suffix stripper (plural, -ing, -ed, -ly, ...): enough to match 'founded' with
    'founder' or 'plants' with 'plant' without a dictionary. Not a linguistic stemmer."""
    w = fold(word)
    if len(w) <= 3 or not w.isalpha():
        return w
    for suffix, repl, min_len in (
        ("ization", "ize", 8),
        ("iveness", "ive", 8),
        ("fulness", "ful", 8),
        ("ousness", "ous", 8),
        ("ations", "at", 7),
        ("ation", "at", 6),
        ("ement", "", 8),
        ("ments", "", 8),
        ("ities", "", 7),
        ("ness", "", 7),
        ("ment", "", 7),
        ("ings", "", 6),
        ("ing", "", 6),
        ("ied", "y", 5),
        ("ies", "y", 5),
        ("edly", "", 6),
        ("ors", "", 8),
        ("ers", "", 6),
        ("or", "", 7),
        ("er", "", 5),
        ("ed", "", 5),
        ("ly", "", 5),
        ("es", "", 5),
        ("s", "", 4),
    ):
        if w.endswith(suffix) and len(w) >= min_len and not w.endswith("ss"):
            w = w[: len(w) - len(suffix)] + repl
            break
    if len(w) >= 4 and w[-1] == w[-2] and w[-1] not in "lsz":  # runn -> run, stopp -> stop
        w = w[:-1]
    return w.rstrip("e") if len(w) > 4 else w


def content_terms(text: str | list[str]) -> list[str]:
    """Stems of the words that can carry a claim (stopwords dropped), in order; a hyphenated
    word also yields its parts, so 'Dutch-Belgian' supports 'Dutch'. Takes text or the
    `words()` of a text (to tokenise a long context once)."""
    if isinstance(text, str):
        if len(text) <= _SHORT:  # a word, as the judges ask per word of an answer: cached
            return list(_short_terms(text))
        text = words(text)
    return _terms(text)


# Texts up to this long have their terms cached: the judges ask for the terms of each word
# of every answer (a million times in the demo), and a vocabulary repeats.
_SHORT = 40


@lru_cache(maxsize=65536)
def _short_terms(text: str) -> tuple[str, ...]:
    return tuple(_terms(words(text)))


def _terms(tokens: list[str]) -> list[str]:
    out: list[str] = []
    for token in tokens:
        folded = fold(token)
        if folded in STOPWORDS:
            continue
        out.append(stem(folded))
        if "-" in folded:
            out.extend(stem(p) for p in folded.split("-") if p and p not in STOPWORDS)
    return out


def _number_value(raw: str) -> str:
    raw = raw.casefold()
    raw = re.sub(r"(st|nd|rd|th|s)$", "", raw) if raw[:1].isdigit() else raw
    raw = raw.replace(",", "")
    if "." in raw:
        raw = raw.rstrip("0").rstrip(".") or "0"
    return raw.lstrip("0") or "0"


def numbers(text: str, *, words_too: bool = True, tokens: list[str] | None = None) -> set[str]:
    """Normalised numbers in the text ('1,600' -> '1600', '32nd' -> '32', 'nine' -> '9');
    number words are included when `words_too` ('one', 'first' and 'second' are not: they are
    more often a pronoun, an adverb or a unit than a count). `tokens`: the text's `words()`,
    when the caller has them already."""
    found = {_number_value(m.group()) for m in _NUMBER.finditer(normalize(text))}
    if words_too:
        tokens = words(text) if tokens is None else tokens
        found |= {NUMBER_WORDS[w] for w in (fold(t) for t in tokens) if w in NUMBER_WORDS}
    return found


def entities(text: str) -> list[str]:
    """Capitalised spans ('Kevin Phillips', 'New York City'), a rough proper-noun detector.

    A span is a run of capitalised words separated by spaces only (punctuation ends it), with
    lower-case connectors ('of', 'de', 'von', ...) allowed inside. The word that opens a
    sentence is capitalised anyway ('The', 'Use'), so it never starts a span: 'Kevin Phillips
    directed it.' yields 'Phillips'. Joined with one space; the case is kept.
    """
    spans: list[str] = []
    for sentence in sentences(text):
        current: list[str] = []
        previous_end = 0
        for index, match in enumerate(_WORD.finditer(sentence)):
            token = match.group()
            if token.endswith(("'s", "'S")):
                token = token[:-2]
            if sentence[previous_end : match.start()].strip():  # punctuation between words
                spans.extend(_close(current))
                current = []
            previous_end = match.end()
            name_word = token[:1].isupper() and index > 0
            if name_word or (current and token.casefold() in _CONNECTORS):
                current.append(token)
            else:
                spans.extend(_close(current))
                current = []
        spans.extend(_close(current))
    return spans


def _close(current: list[str]) -> Iterable[str]:
    while current and current[-1].casefold() in _CONNECTORS:
        current = current[:-1]
    if current:
        yield " ".join(current)


def sentences(text: str) -> list[str]:
    """Split on ., ! or ? followed by a capital or digit; common abbreviations do not split."""
    text = normalize(text)
    if not text:
        return []
    pieces = _SENTENCE_END.split(text)
    merged: list[str] = []
    for piece in pieces:
        if merged and merged[-1].casefold().endswith(_ABBREVIATIONS):
            merged[-1] = f"{merged[-1]} {piece}"
        else:
            merged.append(piece)
    return [p.strip() for p in merged if p.strip()]
