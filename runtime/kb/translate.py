"""Machine translation of an article on demand: the ``llm`` provider writes it, and it is stored as a draft linked
to the original's translation group, for a reviewer who reads that language to publish. The ``local`` provider
does not translate; a translation written by hand goes through the same path with its text."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field

from runtime.compile.desk import CompiledDesk
from runtime.kb.articles import KbArticles
from runtime.tickets.actors import Actor
from runtime.tickets.errors import InvalidTicket, TicketError

NAMES = {"en": "English", "de": "German", "fr": "French", "es": "Spanish", "it": "Italian", "nl": "Dutch",
         "pt": "Portuguese"}


class TranslationFailed(TicketError):
    status = 502
    title = "Bad gateway"


class TranslationAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(max_length=300)
    problem: str = Field(max_length=8000)
    solution: str = Field(max_length=20000, description="markdown, with the original's structure kept")


def translate(compiled: CompiledDesk, engine: sa.Engine, actor: Actor, article_id: int,
              values: dict[str, Any]) -> dict[str, Any]:
    """A draft translation: ``values`` holds the language and either the translated text (by hand) or nothing
    else (machine translation by the ``llm`` provider)."""
    articles = KbArticles(compiled, engine)
    if {"title", "problem", "solution"} & values.keys():
        return articles.translate(actor, article_id, values)
    settings = compiled.definitions.project.ai
    if settings.provider != "llm" or settings.llm is None:
        raise InvalidTicket("machine translation needs the llm provider", [{
            "field": "title", "reason": "send title, problem and solution to add a translation by hand, or set "
            "ai.provider: llm"}])
    language = str(values.get("language"))
    original = articles.get(actor, article_id)
    from runtime.ai.llm import LlmError
    from runtime.ai.llm_provider import SYSTEM, client_for

    prompt = (f"Translate this help article from {NAMES.get(original['language'], original['language'])} into "
              f"{NAMES.get(language, language)}. Keep its markdown, product names and numbers as they are.\n"
              f"<<<TICKET\nTitle: {original['title']}\nProblem: {original['problem']}\nSolution:\n"
              f"{original['solution']}\nTICKET>>>")
    try:
        answer = client_for(compiled, settings.llm).ask(TranslationAnswer, SYSTEM, prompt).value
    except LlmError as exc:
        raise TranslationFailed(f"the translation failed: {exc}") from None
    return articles.translate(actor, article_id, {"language": language, "title": answer.title,
                                                   "problem": answer.problem, "solution": answer.solution})
