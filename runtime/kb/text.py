"""Words of knowledge-base articles and queries: index terms, and the passages a hit is shown by.

One stemmer serves English and German alike. A query's language is often unknown, so a word is stemmed the same
whichever language it is read as, and a query and an article always agree on its form; over-stemming a few words
(``printer`` and ``print``) costs less than missing ``Drucker`` for ``Druckers``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

from runtime.ai.signals import STOPWORDS

PASSAGE_LIMIT = 300

_WORD = re.compile(r"\w+", re.UNICODE)
_FOLD = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "ss"})
# Longest first, so that "ers" wins over "s"; checked once, after -ing/-ed, so that "ordered" and "orders" meet.
_ENDINGS = ("ungen", "ern", "ers", "en", "er", "es", "em", "e", "s", "n")
_NEVER_AFTER_S = ("ss", "us", "is")
_DERIVATIONS = ("ments", "ment", "able", "ible")
_MIN_DERIVED_STEM = 5
_MIN_STEM = 3
# word -> its term, or None for a word that is no term; one dict lookup per word on the indexing path.
_forms: dict[str, str | None] = {}
_tokens: dict[str, tuple[str, ...]] = {}  # a piece of text between white space -> its terms
_FORMS_LIMIT = 500_000

# Markdown that would only clutter a passage: heading marks and list bullets, emphasis, link targets.
_LINE_MARK = re.compile(r"^[ \t]*(?:#{1,6}|[-*+]|\d+[.)])[ \t]+", re.MULTILINE)
_EMPHASIS = str.maketrans("", "", "*`")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
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
    # After a suffix comes off, a final "s" belongs to the stem: "closing" and "closed" must meet "close" and
    # "closes" at "clos", and "reimbursing" and "reimbursable" meet "reimburse" at "reimburs".
    suffixed = False
    if word.endswith("ing") and len(word) - 3 >= _MIN_STEM:
        word, suffixed = _undouble(word[:-3]), True
    elif word.endswith("ed") and len(word) - 2 >= _MIN_STEM:
        word, suffixed = _undouble(word[:-2]), True
    for ending in _DERIVATIONS:
        # A longer stem is required here, so that "comment" or "table" stay whole.
        if word.endswith(ending) and len(word) - len(ending) >= _MIN_DERIVED_STEM:
            word, suffixed = word[: -len(ending)], True
            break
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= _MIN_STEM:
            if ending == "s" and (suffixed or word.endswith(_NEVER_AFTER_S)):
                return word
            return word[: -len(ending)]
    return word


def stem(word: str) -> str:
    """The index form of one lowercase word."""
    return _stem(word.translate(_FOLD))


def _form(word: str) -> str | None:
    if word in _forms:
        return _forms[word]
    form = None if len(word) < 2 or word in STOPWORDS or word.strip("_") != word else stem(word)
    if len(_forms) < _FORMS_LIMIT:  # a hostile stream of made-up words must not grow it without end
        _forms[word] = form
    return form


def words(text: str) -> Iterator[str]:
    """The lowercase words of ``text`` that are terms, in order."""
    for word in _WORD.findall(text.lower()):
        if _form(word) is not None:
            yield word


def term(word: str) -> str | None:
    """The term a lowercase word indexes as, None for a stopword or a single letter."""
    return _form(word)


def terms(text: str) -> list[str]:
    """The index terms of ``text``, in order, repeats kept."""
    return [form for form in map(_form, _WORD.findall(text.lower())) if form is not None]


def _token_terms(token: str) -> tuple[str, ...]:
    found = tuple(form for form in map(_form, _WORD.findall(token)) if form is not None)
    if len(_tokens) < _FORMS_LIMIT:
        _tokens[token] = found
    return found


def term_counts(text: str) -> dict[str, int]:
    """How often each term occurs in ``text``.

    The same words as ``terms``, found faster: splitting at white space and counting the pieces runs in C, and each
    distinct piece ("order," or "{{order") is then looked up once; the regex only sees pieces never met before.
    """
    counts: dict[str, int] = {}
    tokens = _tokens
    for token, n in Counter(text.lower().split()).items():
        found = tokens[token] if token in tokens else _token_terms(token)
        for form in found:
            counts[form] = counts.get(form, 0) + n
    return counts


def fold(text: str) -> str:
    """Lowercase with umlauts folded, as terms are."""
    lower = text.lower()
    # translate() with a table looks up every character in Python; most text has nothing to fold.
    return lower if lower.isascii() else lower.translate(_FOLD)


def without_links(markdown: str) -> str:
    """Link targets dropped, link texts kept: a URL's pieces are no words of the article."""
    return _LINK.sub(r"\1", markdown) if "](" in markdown else markdown


def plain(markdown: str) -> str:
    """Markdown reduced to its words and punctuation, for passages."""
    return _LINE_MARK.sub("", without_links(markdown)).translate(_EMPHASIS).replace("~~", "")


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
