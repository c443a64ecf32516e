"""The article form (new, edit, translate): what an agent typed read into the values ``KbArticles`` takes, and its
refusals placed next to their fields in the visitor's language, with everything typed kept for the form again.

The page refuses what the database could not store or the API would refuse by its model (NUL characters, very
long text, long keywords); every rule about articles themselves (required text, the desk's categories and
languages) is the knowledge base's, and its reasons are said again here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from runtime.pages.i18n import Translator

TEXT_MAX = 100_000  # as the API's article model
TITLE_MAX = 300
KEYWORD_MAX, KEYWORDS_MAX = 100, 20
NOTE_MAX = 1000
FIELDS = ("title", "problem", "solution", "category", "keywords", "visibility", "language", "note")


def text(raw: Any) -> str:
    """A form value as text; a name sent twice counts by its last value."""
    value = raw[-1] if isinstance(raw, list) and raw else raw
    return value if isinstance(value, str) else ""


def keyword_list(typed: str) -> list[str]:
    return [word.strip() for word in typed.replace("\n", ",").split(",") if word.strip()]


@dataclass
class ArticleForm:
    """The fields as typed (``typed``), the values for the knowledge base (``values``) and the messages per field
    (``errors``) and for the form as a whole (``general``)."""

    typed: dict[str, str]
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    @classmethod
    def of_article(cls, article: Mapping[str, Any]) -> ArticleForm:
        """The form filled with an article's current text, for editing it."""
        return cls({"title": str(article.get("title") or ""), "problem": str(article.get("problem") or ""),
                    "solution": str(article.get("solution") or ""), "category": str(article.get("category") or ""),
                    "keywords": ", ".join(str(k) for k in article.get("keywords") or []),
                    "visibility": str(article.get("visibility") or "internal"),
                    "language": str(article.get("language") or ""), "note": ""})

    @classmethod
    def read(cls, data: Mapping[str, Any], names: Sequence[str], t: Translator) -> ArticleForm:
        """The fields ``names`` of a submitted form, checked for what only the page can check."""
        form = cls({name: text(data.get(name)) for name in FIELDS})
        for name in names:
            typed = form.typed[name]
            limit = {"title": TITLE_MAX, "note": NOTE_MAX}.get(name, TEXT_MAX)
            if "\x00" in typed:
                form.errors[name] = t("knowledge.error_characters")
            elif len(typed) > limit:
                form.errors[name] = t("knowledge.error_too_long", n=limit)
            elif name == "keywords":
                words = keyword_list(typed)
                if any(len(word) > KEYWORD_MAX for word in words):
                    form.errors[name] = t("knowledge.error_keyword_long", n=KEYWORD_MAX)
                form.values[name] = words
            elif name == "category":
                form.values[name] = typed or None
            elif name != "note":
                form.values[name] = typed
        return form

    @property
    def note(self) -> str | None:
        return self.typed["note"].strip() or None

    def refused(self, items: Iterable[Mapping[str, Any]], shown: Sequence[str], t: Translator) -> None:
        """The knowledge base's refusals (``InvalidTicket.errors``) beside the fields shown, the rest on top."""
        for item in items:
            name, reason = str(item.get("field", "")), str(item.get("reason", ""))
            said = _message(name, reason, t)
            if name in shown and not reason.startswith("send title"):  # about the whole text, not the title
                self.errors.setdefault(name, said)
            elif said not in self.general:
                self.general.append(said)


def _message(name: str, reason: str, t: Translator) -> str:
    if reason == "required":
        return t("knowledge.error_required")
    if name == "title" and reason.startswith("at most"):
        return t("knowledge.error_too_long", n=TITLE_MAX)
    if name == "keywords" and reason.startswith("at most"):
        return t("knowledge.error_keywords", n=KEYWORDS_MAX)
    if name in ("category", "language", "visibility") and reason.startswith(("one of", "internal or public")):
        return t(f"knowledge.error_{name}")
    if name == "title" and reason.startswith("send title"):
        return t("knowledge.error_by_hand")
    return reason
