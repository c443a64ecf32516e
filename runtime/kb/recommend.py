"""Recommendations: the articles and resolved tickets that may answer a ticket or a question being typed.

For a ticket: the top published articles the reader may see (requesters: public ones only), searched in the
ticket's language first, each with its score and the passage that matched; for agents also the most similar
resolved tickets with the reply that solved them (the same retrieval reply suggestions use). For the public
form: published public articles for the words typed so far (deflection), nothing else.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from runtime.ai.replies import Replies
from runtime.compile.desk import CompiledDesk
from runtime.kb.articles import PUBLISHED
from runtime.kb.index import Hit, index_for
from runtime.tickets.actors import Actor
from runtime.tickets.records import load

ARTICLES = 5
PASSAGE = 300


class Recommender:
    def __init__(self, compiled: CompiledDesk, engine: sa.Engine) -> None:
        self.compiled = compiled
        self.engine = engine
        self.articles = compiled.table("kb_articles")
        self.replies = Replies(compiled, engine)

    def _described(self, hits: list[Hit]) -> list[dict[str, Any]]:
        if not hits:
            return []
        a = self.articles
        with self.engine.connect() as connection:
            rows = {r.id: r for r in connection.execute(
                sa.select(a.c.id, a.c.title, a.c.language, a.c.visibility, a.c.category, a.c.helpful)
                .where(a.c.id.in_([h.article_id for h in hits])))}
        return [{"id": h.article_id, "title": rows[h.article_id].title, "language": h.language,
                 "visibility": rows[h.article_id].visibility, "category": rows[h.article_id].category,
                 "score": round(h.score, 4), "passage": h.passage, "matched": list(h.matched)}
                for h in hits if h.article_id in rows]

    def articles_for(self, text: str, language: str | None, *, public_only: bool, k: int = ARTICLES
                     ) -> list[dict[str, Any]]:
        hits = index_for(self.compiled, self.engine).search(
            text, language=language, k=k, statuses=(PUBLISHED,),
            visibilities=("public",) if public_only else ("public", "internal"))
        return self._described(hits)

    def for_ticket(self, actor: Actor, ticket_id: int) -> dict[str, Any]:
        with self.engine.connect() as connection:
            ticket = load(connection, self.compiled, actor, ticket_id)
            similar = self.replies.sources(connection, actor, ticket) if actor.kind == "agent" else []
        text = f"{ticket.get('title') or ''}\n{ticket.get('description') or ''}"
        articles = self.articles_for(text, ticket.get("language"), public_only=actor.kind == "contact")
        tickets = [{"id": s.ticket_id, "number": s.number, "title": s.title, "score": round(s.score, 4),
                    "passage": s.solution[:PASSAGE]} for s in similar if s.kind == "ticket"]
        return {"ticket_id": ticket_id, "articles": articles, "tickets": tickets}
