"""How alike two tickets' texts are, from 0 (nothing in common) to 1 (the same words, as often).

The score is the cosine between the two texts' word profiles. Before counting:

- quoted history and the signature are taken off the description (``quotes.new_text``): a second mail that
  quotes the first would otherwise match it on the quote alone, and two unrelated mails on one signature;
- a title's "Re:"/"Fwd:" prefixes go, and its words count twice: a subject is the sender's own summary;
- function words in the detected languages' lists and greeting formulas go: every mail shares them;
- words are lowercased, stripped of accents and cut to their first six letters, a crude stemmer that works the
  same in every language ("printer", "printers" and "printing" agree; "jams" and "jammed" do not, which is the
  price of not knowing the language);
- a word's weight grows with the logarithm of its count, so that one repeated word cannot carry the score.

Words rather than character shingles: character n-grams give any two texts in one language a sizeable score,
which would crowd the threshold, while a single changed word barely moves a word cosine. Without a corpus there
are no document frequencies; removing function words is what stands in for them.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from functools import lru_cache

from runtime.intake.language import FUNCTION_WORDS
from runtime.intake.mail.quotes import new_text

TITLE_WEIGHT = 2
STEM_LETTERS = 6
TEXT_CHARS = 4000  # a request says what it is about early; the rest (a pasted log, say) only costs time
# Greetings and thanks, in the languages ``language`` knows.
FORMULAS = ("hello hi hey dear regards thanks thank best kind cheers greetings help team sincerely hallo liebe "
            "lieber grüße gruß freundlichen mfg danke vielen bonjour madame monsieur cordialement salutations "
            "merci saludos hola gracias estimado estimada saluti cordiali grazie gentile groeten bedankt beste "
            "obrigado cumprimentos prezados")
IGNORED = FUNCTION_WORDS | frozenset(FORMULAS.split())
_WORD = re.compile(r"[^\W_]+")
_REPLY_PREFIX = re.compile(r"^\s*((re|fwd?|aw|wg|tr|sv|antw|rif|enc)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
NO_SUBJECT = "(no subject)"

Profile = dict[str, float]


@lru_cache(maxsize=65536)  # a desk's vocabulary repeats; normalising each word once is most of a profile's cost
def _stem(word: str) -> str:
    plain = "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))
    # Numbers and codes (order numbers, error codes) are kept whole: a different digit is a different thing.
    return plain[:STEM_LETTERS] if plain.isalpha() else plain


def words(text: str) -> list[str]:
    return [_stem(w) for w in _WORD.findall(text.lower()) if w not in IGNORED and (len(w) > 1 or w.isdigit())]


@lru_cache(maxsize=4096)  # the same recent tickets are candidates for one requester's every new message
def profile(title: str, description: str) -> Profile:
    """The text's weighted words; shared between callers through the cache, so never changed by them."""
    subject = _REPLY_PREFIX.sub("", title).strip()
    counts: Counter[str] = Counter()
    if subject.lower() != NO_SUBJECT:
        for word in words(subject):
            counts[word] += TITLE_WEIGHT
    counts.update(words(new_text(description[:TEXT_CHARS])))
    return {word: 1 + math.log(count) for word, count in counts.items()}


def similarity(a: Profile, b: Profile) -> float:
    if not a or not b:
        return 0.0
    if len(a) > len(b):
        a, b = b, a
    dot = sum(weight * b.get(word, 0.0) for word, weight in a.items())
    norm = math.sqrt(sum(w * w for w in a.values())) * math.sqrt(sum(w * w for w in b.values()))
    return min(dot / norm, 1.0)
