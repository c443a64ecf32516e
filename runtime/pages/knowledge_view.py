"""How an article reads on the agents' knowledge pages: its settings in the visitor's language, its text rendered
from markdown safely (the public help pages' renderer), its translations, the tickets it came from (as far as the
agent may see them), its version history, what readers said of it, and what this agent may do with it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from litestar import Response
from litestar.exceptions import NotFoundException

from runtime.config import ir
from runtime.kb.articles import ARCHIVED, DRAFT, KbArticles, is_reviewer
from runtime.pages.i18n import Translator
from runtime.pages.markdown_text import render
from runtime.pages.render import Pages
from runtime.pages.ticket_names import iso, when
from runtime.pages.visitors import Visitor
from runtime.tickets.actors import Actor
from runtime.tickets.errors import TicketError
from runtime.tickets.listing import MAX_ID

SAID_AGAIN = ("created", "published", "archived")  # version notes the knowledge base writes in English words
SOURCES_SHOWN = 20  # each is read through the ticket service (its access rules); more are counted, not listed
CAPTURER = "system:kb-capture"  # the label capture writes its versions under (runtime.kb.capture.CAPTURER)


def checked_id(article_id: int) -> int:
    """Ids beyond what the database stores are no article either: 404, as for one that does not exist."""
    if not 1 <= article_id <= MAX_ID:
        msg = f"no article {article_id}"
        raise NotFoundException(msg)
    return article_id


@dataclass(frozen=True)
class Rights:
    edit: bool
    publish: bool
    archive: bool
    delete: bool


def rights(actor: Actor, article: Mapping[str, Any]) -> Rights:
    """What the knowledge base would allow ``actor`` (runtime.kb.articles), so the page offers only that."""
    reviewer = is_reviewer(actor)
    own_draft = article["status"] == DRAFT and article.get("author_agent_id") == actor.id
    return Rights(edit=reviewer or own_draft, publish=reviewer and article["status"] == DRAFT,
                  archive=reviewer and article["status"] != ARCHIVED,
                  delete=article["status"] == DRAFT and (reviewer or article.get("author_agent_id") == actor.id))


class KnowledgeView:
    def __init__(self, pages: Pages, articles: KbArticles) -> None:
        self.pages = pages
        self.kb = articles
        self.languages = tuple(pages.desk.project.languages)
        self.categories = {c.value: c.label for c in pages.desk.categories}
        self.llm = pages.desk.project.ai.provider == "llm" and pages.desk.project.ai.llm is not None
        self._agents, self._feedback = pages.compiled.table("agents"), pages.compiled.table("kb_feedback")

    # -- words for values -------------------------------------------------------------------------------------

    def category(self, value: str | None, t: Translator) -> str:
        return ir.label_for(self.categories[value], t.language, value) if value in self.categories else (value or "")

    def category_choices(self, t: Translator) -> list[tuple[str, str]]:
        return sorted(((v, self.category(v, t)) for v in self.categories), key=lambda c: c[1].lower())

    @staticmethod
    def language(code: str, t: Translator) -> str:
        """The language's name where the pages have one, else its code."""
        key = f"common.lang_{code}"
        name = t(key)
        return code if name == key else name

    def language_choices(self, t: Translator) -> list[tuple[str, str]]:
        return [(code, self.language(code, t)) for code in self.languages]

    @staticmethod
    def editor(label: str, t: Translator) -> str:
        """A version's ``edited_by`` (``kind:name``) as a reader says it."""
        if label == CAPTURER:
            return t("knowledge.by_capture")
        return label.partition(":")[2] or label

    # -- the article page -------------------------------------------------------------------------------------

    def free_languages(self, article: Mapping[str, Any]) -> list[str]:
        """The desk's languages this article's group has no live version in yet: what it may be translated into."""
        taken = {article["language"], *(o["language"] for o in article["translations"] if o["status"] != ARCHIVED)}
        return [code for code in self.languages if code not in taken]

    def page(self, actor: Actor, article_id: int, t: Translator) -> dict[str, Any]:
        """Everything the article page shows; the article read with the agent's actor (404 if not theirs)."""
        article = self.kb.get(actor, article_id)
        history = self.kb.history(actor, article_id)
        with self.pages.engine.connect() as connection:
            names = self._names(connection, [article.get("author_agent_id"), article.get("reviewer_agent_id")])
            solved = int(connection.execute(sa.select(sa.func.count()).select_from(self._feedback).where(
                self._feedback.c.article_id == article_id, self._feedback.c.kind == "solved")).scalar_one())
            update_of = None
            if article.get("update_of_id"):
                try:
                    update_of = self.kb.load(connection, actor, int(article["update_of_id"]))
                except TicketError:
                    update_of = None  # deleted since: the proposal still reads on its own
        sources = self._sources(actor, article["source_tickets"], t)
        return {
            "article": article, "problem": render(article["problem"]), "solution": render(article["solution"]),
            "category": self.category(article.get("category"), t),
            "language_name": self.language(article["language"], t),
            "translations": [o | {"language_name": self.language(o["language"], t)} for o in article["translations"]],
            "sources": sources, "more_sources": max(len(article["source_tickets"]) - SOURCES_SHOWN, 0),
            "captured": any(s["kind"] == "captured" for s in article["source_tickets"]),
            "update_of": update_of,
            "history": [v | {"by": self.editor(str(v["edited_by"]), t), "when": when(v["edited_at"]),
                             "iso": iso(v["edited_at"]), "note": _note(v.get("note"), t)} for v in reversed(history)],
            "author": names.get(int(article.get("author_agent_id") or 0)),
            "reviewer": names.get(int(article.get("reviewer_agent_id") or 0)),
            "updated": when(article.get("updated_at")), "updated_iso": iso(article.get("updated_at")),
            "solved": solved, "rights": rights(actor, article), "free_languages": [
                (code, self.language(code, t)) for code in self.free_languages(article)],
        }

    def html(self, visitor: Visitor, article_id: int, *, status: int = 200, notice: str | None = None,
             refusal: str | None = None) -> Response[str]:
        """The article page; ``refusal``: why the change just asked for was not made (with its 4xx ``status``)."""
        assert visitor.actor is not None
        context = self.page(visitor.actor, checked_id(article_id), visitor.t)
        return self.pages.html("knowledge_article.html", visitor, status=status, title=context["article"]["title"],
                               notice=notice, refusal=refusal, **context)

    def _names(self, connection: sa.Connection, ids: list[Any]) -> dict[int, str]:
        wanted = sorted({int(i) for i in ids if i is not None})
        if not wanted:
            return {}
        g = self._agents
        return {int(r.id): str(r.name) for r in connection.execute(sa.select(g.c.id, g.c.name).where(
            g.c.id.in_(wanted)))}

    def _sources(self, actor: Actor, sources: list[dict[str, Any]], t: Translator) -> list[dict[str, Any]]:
        """The source tickets as the agent may see them: number and title, or only that one exists."""
        shown = []
        for source in sources[:SOURCES_SHOWN]:
            ticket_id = int(source["ticket_id"])
            try:
                ticket = self.pages.service.get(actor, ticket_id)
            except TicketError:
                shown.append({"id": None, "number": "", "title": t("knowledge.source_hidden"),
                              "kind": source["kind"]})
                continue
            shown.append({"id": ticket_id, "number": str(ticket.get("number") or f"#{ticket_id}"),
                          "title": str(ticket.get("title") or ""), "kind": source["kind"]})
        return shown


def _note(note: str | None, t: Translator) -> str:
    """A version's note; the knowledge base's own one-word notes in the reader's language."""
    return t(f"knowledge.note_{note}") if note in SAID_AGAIN else (note or "")
