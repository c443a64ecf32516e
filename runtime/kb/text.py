"""Words of knowledge-base articles and queries: index terms, and the passages a hit is shown by.

One stemmer serves English and German alike. A query's language is often unknown, so a word is stemmed the same
whichever language it is read as, and a query and an article always agree on its form; over-stemming a few words
(``printer`` and ``print``) costs less than missing ``Drucker`` for ``Druckers``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from runtime.ai.signals import STOPWORDS

PASSAGE_LIMIT = 300

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_FOLD = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "ss"})
# Longest first, so that "ers" wins over "s"; checked once, after -ing/-ed, so that "ordered" and "orders" meet.
_ENDINGS = ("ungen", "ern", "ers", "en", "er", "es", "em", "e", "s", "n")
_NEVER_AFTER_S = ("ss", "us", "is")
_MIN_STEM = 3
_stems: dict[str, str] = {}
_STEM_CACHE_LIMIT = 200_000

# Markdown that would only clutter a passage: headings, emphasis, code fences, list bullets, link targets.
_MARKDOWN = re.compile(r"^\s{0,3}(?:#{1,6}|[-*+]|\d+[.)])\s+|[*_`~]{1,3}|!?\[([^\]]*)\]\([^)]*\)", re.MULTILINE)
_PARAGRAPH = re.compile(r"\n\s*\n|\n(?=\s*(?:[-*+]|\d+[.)])\s)")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=\S)")


def _undouble(word: str) -> str:
    # "shipped" -> "shipp" -> "ship"; "cancelled" -> "cancel", as "canceled" gives.
    if len(word) > _MIN_STEM and word[-1] == word[-2] and word[-1] not in "aeiosu":
        return word[:-1]
    return word


def _stem(word: str) -> str:
    if len(word) <= _MIN_STEM or not word.isalpha():
        return word
    if word.endswith(("ies", "ied")) and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("sses"):
        return word[:-2]
    if word.endswith("ing") and len(word) - 3 >= _MIN_STEM:
        word = _undouble(word[:-3])
    elif word.endswith("ed") and len(word) - 2 >= _MIN_STEM:
        word = _undouble(word[:-2])
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= _MIN_STEM:
            if ending == "s" and word.endswith(_NEVER_AFTER_S):
                return word
            return word[: -len(ending)]
    return word


def stem(word: str) -> str:
    """The index form of one lowercase word."""
    found = _stems.get(word)
    if found is None:
        found = _stem(word.translate(_FOLD))
        if len(_stems) < _STEM_CACHE_LIMIT:  # a hostile stream of made-up words must not grow it without end
            _stems[word] = found
    return found


def words(text: str) -> Iterator[str]:
    """The lowercase words of ``text`` that carry meaning (no stopwords, no single letters)."""
    for word in _WORD.findall(text.lower()):
        if len(word) > 1 and word not in STOPWORDS:
            yield word


def terms(text: str) -> list[str]:
    """The index terms of ``text``, in order, repeats kept (they are term frequencies)."""
    return [stem(word) for word in words(text)]


def plain(markdown: str) -> str:
    """Markdown reduced to its words and punctuation, for passages."""
    return _MARKDOWN.sub(lambda m: m.group(1) or "", markdown)


def passages(title: str, problem: str, solution: str) -> list[str]:
    """The title, then each paragraph or sentence of the problem and the solution, none longer than the limit."""
    found = [" ".join(title.split())]
    for body in (problem, plain(solution)):
        for paragraph in _PARAGRAPH.split(body):
            paragraph = " ".join(paragraph.split())
            if not paragraph:
                continue
            if len(paragraph) <= PASSAGE_LIMIT:
                found.append(paragraph)
            else:
                found.extend(clip(s) for s in _SENTENCE.split(paragraph) if s)
    return [p for p in found if p]


def clip(text: str, limit: int = PASSAGE_LIMIT) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters, an ellipsis marking the cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(" ,;:") + "…"
