"""The language a ticket is written in, guessed from its function words, or None when the text does not say.

Function words (articles, pronouns, prepositions, auxiliaries) make up a third to a half of any ordinary
sentence and are almost disjoint between languages, so counting them tells a handful of languages apart from a
sentence or two, without a trained model. A word several languages share counts for each of them by a share
(1/n), and letters only some languages write add a little, so that Spanish, Portuguese and Italian, which share
many short words, still separate. Text with too few words, or too few function words of any one language (code,
logs, gibberish), gets None rather than a guess.
"""

from __future__ import annotations

import re
from collections import Counter

PROFILES: dict[str, frozenset[str]] = {language: frozenset(words.split()) for language, words in {
    "en": "the a an and or but of to in on at by for with from as into about after since than then that this "
          "these those there here what which who when where why how is are was were be been being have has had "
          "do does did not no can could will would should may might must i my me we our us you your he she it "
          "its they them their again still just only also very any some all more please thanks get got",
    "de": "der die das den dem des ein eine einen einem einer und oder aber nicht kein keine ist sind war "
          "waren wird werden wurde kann können habe hat haben ich mich mir mein meine wir uns unser sie es er "
          "ihr mit von zu zum zur auf für im bei nach seit noch schon auch nur sehr hier heute wenn dass als "
          "wie was bitte danke immer mehr man dieser diese funktioniert geht gibt",
    "fr": "le la les l un une des du de d et ou mais ne pas plus est sont été ai avons avez a fait je j nous "
          "vous il elle ils elles on se ce cette ces mon ma mes notre votre son sa ses leur dans pour sur avec "
          "par au aux que qui qu depuis toujours encore aussi très merci bonjour comme tout rien sans y",
    "es": "el la los las un una unos unas y o pero no es son está están fue ha han hay tengo tenemos de del "
          "al en por para con sin se lo le les me nos mi mis su sus nuestro nuestra este esta esto como muy "
          "ya también desde cuando todo porque puede funciona sigue hola gracias otra otro",
    "it": "il lo la l gli le un uno una e è non ma o che di del della dei delle da dal dalla in nel nella "
          "al alla per con su sono ho abbiamo ha hanno mi ci si questo questa come anche più molto già ancora "
          "grazie buongiorno mio mia nostro nostra perché quando funziona sempre stato essere",
    "nl": "de het een en of maar niet geen is zijn was wordt worden werd kan kunnen heb hebben heeft ik we "
          "wij je jij u uw mijn ons onze dat die dit deze in op met voor naar aan bij te om er ook nog al meer "
          "dan wel graag bedankt alvast sinds steeds werkt hoe wat wanneer",
    "pt": "o a os as um uma e ou mas não é são está estão foi há tenho temos de do da dos das em no na nos "
          "nas por para com sem se me meu minha nosso nossa seu sua este esta isso isto como muito já também "
          "desde quando tudo porque pode funciona ainda olá obrigado obrigada você ele ela ao aos",
}.items()}
# Letters some of these languages write and the others do not (or hardly).
LETTERS: dict[str, tuple[str, ...]] = {
    "ß": ("de",), "ä": ("de",), "ö": ("de",), "ü": ("de",), "ñ": ("es",), "¿": ("es",), "¡": ("es",),
    "ã": ("pt",), "õ": ("pt",), "œ": ("fr",), "ê": ("fr", "pt"), "ç": ("fr", "pt"), "è": ("fr", "it"),
    "ì": ("it",), "ò": ("it",),
}
FUNCTION_WORDS: frozenset[str] = frozenset().union(*PROFILES.values())
_SHARE = {word: 1 / sum(word in words for words in PROFILES.values()) for word in FUNCTION_WORDS}
_WORD = re.compile(r"[^\W\d_]+")

MIN_WORDS = 4
MIN_SCORE = 1.0
MIN_SHARE_OF_WORDS = 0.15  # function words of the language among all words
MIN_LEAD = 1.5  # the best language's score over the runner-up's
SAMPLE_CHARS = 4000  # the start of a long text says as much as the whole


def words_of(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def detect_language(text: str) -> str | None:
    """An ISO 639-1 code (en, de, fr, es, it, nl, pt), or None when unsure."""
    sample = text[:SAMPLE_CHARS]
    words = words_of(sample)
    if len(words) < MIN_WORDS:
        return None
    scores: dict[str, float] = dict.fromkeys(PROFILES, 0.0)
    hits: Counter[str] = Counter()
    for word in words:
        share = _SHARE.get(word)
        if share is None:
            continue
        for language, profile in PROFILES.items():
            if word in profile:
                scores[language] += share
                hits[language] += 1
    for letter in set(sample.lower()) & LETTERS.keys():
        for language in LETTERS[letter]:
            scores[language] += 1 / len(LETTERS[letter])
    (best, score), (_, runner_up) = sorted(scores.items(), key=lambda item: -item[1])[:2]
    if score < MIN_SCORE or hits[best] < 2 or hits[best] < MIN_SHARE_OF_WORDS * len(words):
        return None
    return best if score >= MIN_LEAD * runner_up else None
