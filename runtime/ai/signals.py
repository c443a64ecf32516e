"""What the ``local`` provider reads from a ticket's text without a trained model: urgency, sentiment, keywords
and a one-line summary.

Word lists, not models: a desk has no labelled history of tone or urgency to learn from, and these signals only
inform (the triage queue, the agent's panel); they never set a field on their own. Lists cover English and German,
the languages the shipped desk writes; a desk in another language still gets keywords and a summary.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

_WORD = re.compile(r"[^\W_][\w'’-]*", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")

# Each phrase is matched as whole words in the lowercased text.
CRITICAL = ("outage", "down for everyone", "production down", "data loss", "security breach", "hacked",
            "ransomware", "cannot work at all", "everyone is affected", "ausfall", "komplett ausgefallen",
            "datenverlust", "sicherheitsvorfall")
HIGH = ("urgent", "urgently", "asap", "as soon as possible", "immediately", "right now", "emergency", "critical",
        "blocked", "blocking", "cannot work", "can't work", "deadline", "today", "dringend", "sofort",
        "schnellstmöglich", "notfall", "blockiert", "kann nicht arbeiten", "heute noch")
LOW = ("no rush", "when you have time", "whenever", "low priority", "not urgent", "nice to have", "no hurry",
       "keine eile", "nicht dringend", "wenn zeit ist")
NEGATIVE = ("angry", "annoyed", "frustrated", "furious", "disappointed", "unacceptable", "terrible", "awful",
            "worst", "ridiculous", "useless", "again and again", "still not", "complaint", "refund", "never again",
            "disgusting", "rude", "broken again", "waste of time", "verärgert", "enttäuscht", "unverschämt",
            "inakzeptabel", "schon wieder", "immer noch nicht", "frechheit", "beschwerde", "katastrophe")
POSITIVE = ("thank you", "thanks", "great", "awesome", "excellent", "appreciate", "appreciated", "happy",
            "love", "perfect", "wonderful", "kind regards", "danke", "vielen dank", "super", "toll", "prima",
            "hervorragend")
_STOPWORDS_TEXT = """
a about above after again against all am an and any are aren't as at be because been before being below between
both but by can can't cannot could did didn't do does doesn't doing don't down during each few for from further get
got had has have having he her here hers him his how i i'm if in into is isn't it it's its itself just let me more
most my myself no nor not now of off on once only or other our ours out over own please same she should so some
still such than thank thanks that the their theirs them then there these they this those through to too under until
up very was wasn't we were what when where which while who why will with won't would you your yours hi hello dear
regards best kind also since anymore ich mich mir mein meine wir uns unser sie es er ihr mit von zu zum zur auf für
im bei nach seit noch schon auch nur sehr hier heute wenn dass als wie was bitte danke immer mehr man der die das
den dem des ein eine einen einem einer und oder aber nicht kein keine ist sind war waren wird werden wurde kann
können habe hat haben hallo grüße gruß freundlichen viele
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())


def _phrase_pattern(phrases: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)(" + "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))
                      + r")(?!\w)")


_CRITICAL, _HIGH, _LOW = _phrase_pattern(CRITICAL), _phrase_pattern(HIGH), _phrase_pattern(LOW)
_NEGATIVE, _POSITIVE = _phrase_pattern(NEGATIVE), _phrase_pattern(POSITIVE)


@dataclass(frozen=True)
class Signals:
    urgency: str
    urgency_cues: tuple[str, ...]
    sentiment: str
    sentiment_cues: tuple[str, ...]
    keywords: tuple[str, ...]
    summary: str


def urgency(text: str) -> tuple[str, tuple[str, ...]]:
    """``critical``, ``high``, ``low`` or ``normal``, with the phrases that said so."""
    lowered = text.lower()
    for level, pattern in (("critical", _CRITICAL), ("high", _HIGH), ("low", _LOW)):
        cues = tuple(dict.fromkeys(pattern.findall(lowered)))
        if cues:
            return level, cues
    # Shouting (several exclamation marks, or a long run of capitals) is urgency the words may not carry.
    if text.count("!") >= 3 or re.search(r"\b[A-Z]{5,}\b.*\b[A-Z]{5,}\b", text):
        return "high", ("!!!" if text.count("!") >= 3 else "capitals",)
    return "normal", ()


def sentiment(text: str) -> tuple[str, tuple[str, ...]]:
    """``negative`` when more hostile or unhappy phrases than friendly ones appear, ``positive`` for the reverse."""
    lowered = text.lower()
    negative = tuple(dict.fromkeys(_NEGATIVE.findall(lowered)))
    positive = tuple(dict.fromkeys(_POSITIVE.findall(lowered)))
    if len(negative) > len(positive):
        return "negative", negative
    if len(positive) > len(negative):
        return "positive", positive
    return "neutral", ()


def keywords(title: str, text: str, limit: int = 8) -> tuple[str, ...]:
    """The most frequent content words, title words counting double (the requester chose them to say what it is
    about); first appearance breaks ties, so the answer is stable."""
    counts: Counter[str] = Counter()
    order: dict[str, int] = {}
    for weight, source in ((2, title), (1, text)):
        for word in _WORD.findall(source.lower()):
            word = word.strip("'’-")
            if len(word) < 3 or word in STOPWORDS or word.isdigit():
                continue
            counts[word] += weight
            order.setdefault(word, len(order))
    ranked = sorted(counts, key=lambda w: (-counts[w], order[w]))
    return tuple(ranked[:limit])


def summary(title: str, text: str, limit: int = 200) -> str:
    """The title, or the text's first sentence when there is no title; cut at a word boundary."""
    line = " ".join(title.split())
    if not line:
        first = next((s for s in _SENTENCE_END.split(text.strip()) if s.strip()), "")
        line = " ".join(first.split())
    if len(line) <= limit:
        return line
    cut = line[: limit - 1].rsplit(" ", 1)[0]
    return f"{cut}…"


def read(title: str, text: str) -> Signals:
    whole = f"{title}\n{text}"
    level, level_cues = urgency(whole)
    tone, tone_cues = sentiment(whole)
    return Signals(level, level_cues, tone, tone_cues, keywords(title, text), summary(title, text))
