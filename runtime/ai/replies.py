"""Suggested replies with their sources: the resolved tickets most like this one and the answer that solved each.

Retrieval: the ticket's keywords find candidates through the full-text index (any word, on SQLite FTS5 or
PostgreSQL), the candidates are ranked by the same word-profile similarity intake uses for near duplicates, and
each keeps the last public reply an agent wrote on it: the solution. Only tickets the asking agent may see are
used, so a suggestion never carries text from a ticket they could not open. Published knowledge-base articles found
by the retrieval index join them, scored the same way, so that the best answer leads whichever kind it is.

The ``local`` provider fills a Jinja2 template (the desk's ``ai.reply_template`` or the built-in one) with the best
source's solution; the ``llm`` provider writes a draft from all sources and says which it used (citations naming
no given source are dropped). Either way the draft passes the outbound check before an agent sees it, and the
suggestion is recorded in ``ai_decisions`` (kind ``reply``) so that sending it, edited or not, is its feedback.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import jinja2.sandbox
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field

from runtime.ai import signals
from runtime.ai.outbound import Check, check_reply
from runtime.compile.desk import CompiledDesk
from runtime.intake.likeness import profile, similarity
from runtime.tickets.access import visible
from runtime.tickets.actors import Actor
from runtime.tickets.errors import Forbidden
from runtime.tickets.records import load
from runtime.tickets.search import related

KIND = "reply"
CANDIDATES = 30
SOURCES = 3
MIN_SCORE = 0.15
BUILT_IN = Path(__file__).parent / "prompts"


@dataclass(frozen=True)
class Source:
    ticket_id: int  # the ticket's id, or the article's for an article
    number: str  # the ticket's number, or KB-<id> for an article
    title: str
    problem: str
    solution: str
    score: float
    kind: str = "ticket"  # ticket | article

    @property
    def id(self) -> str:
        return self.number

    def citation(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.ticket_id, "number": self.number, "title": self.title,
                "score": round(self.score, 3)}


@dataclass(frozen=True)
class Suggestion:
    body: str
    sources: tuple[Source, ...]  # what was retrieved
    cited: tuple[Source, ...]  # what the draft uses
    provider: str
    model: str
    check: Check
    latency_ms: float
    tokens: int | None = None
    fallback: str | None = None

    def output(self) -> dict[str, Any]:
        return {"body": self.body, "citations": [s.citation() for s in self.cited],
                "retrieved": [s.citation() for s in self.sources], "check": self.check.as_json(),
                "fallback": self.fallback}


class ReplyAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: str = Field(max_length=4000, description="the reply to the requester, plain text")
    citations: list[str] = Field(default_factory=list, max_length=5,
                                 description="the ids of the context entries the reply uses")


def _template(compiled: CompiledDesk) -> jinja2.Template:
    def build() -> jinja2.Template:
        own = compiled.definitions.project.ai.reply_template
        path = Path(compiled.root) / own if own else BUILT_IN / "reply_local.j2"
        return jinja2.sandbox.SandboxedEnvironment(keep_trailing_newline=False).from_string(
            path.read_text(encoding="utf-8"))

    return compiled.memo("ai.reply_template", build)


class Replies:
    def __init__(self, compiled: CompiledDesk, engine: sa.Engine) -> None:
        self.compiled = compiled
        self.engine = engine
        self.tickets, self.comments = compiled.table("tickets"), compiled.table("comments")
        self.contacts, self.decisions = compiled.table("contacts"), compiled.table("ai_decisions")
        self.articles = compiled.table("kb_articles")

    def sources(self, connection: sa.Connection, actor: Actor, ticket: dict[str, Any]) -> list[Source]:
        title, description = str(ticket.get("title") or ""), str(ticket.get("description") or "")
        keywords = signals.keywords(title, description, limit=8)
        found = related(self.compiled, " ".join(keywords), connection.dialect.name)
        if found is None:
            return []
        t = self.tickets
        rows = connection.execute(
            sa.select(t.c.id, t.c.number, t.c.title, t.c.description).join(found, found.c.ticket_id == t.c.id)
            .where(t.c.status_category.in_(("resolved", "closed")), t.c.id != ticket["id"],
                   t.c.duplicate_of_id.is_(None), visible(self.compiled, actor))
            .order_by(found.c.relevance.desc(), t.c.id.desc()).limit(CANDIDATES)).all()
        mine = profile(title, description)
        ranked = sorted(((similarity(mine, profile(r.title or "", r.description or "")), r) for r in rows),
                        key=lambda pair: (-pair[0], -pair[1].id))
        ranked = [(score, r) for score, r in ranked if score >= MIN_SCORE]
        solutions = self._solutions(connection, [r.id for _, r in ranked])
        sources = [Source(r.id, r.number, r.title or "", r.description or "", solutions[r.id], score)
                   for score, r in ranked if r.id in solutions]
        sources += self._articles(connection, f"{title}\n{description}", ticket.get("language"), mine)
        return sorted(sources, key=lambda s: -s.score)[:SOURCES]

    def _articles(self, connection: sa.Connection, text: str, language: str | None,
                  mine: dict[str, float]) -> list[Source]:
        """Published articles that answer the same question, scored like tickets (word-profile similarity of
        their title and problem), so that the two kinds rank together."""
        from runtime.kb.index import index_for

        hits = index_for(self.compiled, self.engine).search(text, language=language, k=SOURCES,
                                                             statuses=("published",))
        if not hits:
            return []
        a = self.articles
        rows = connection.execute(sa.select(a.c.id, a.c.title, a.c.problem, a.c.solution).where(
            a.c.id.in_([h.article_id for h in hits])))
        scored = [Source(r.id, f"KB-{r.id}", r.title, r.problem, r.solution,
                         similarity(mine, profile(r.title, r.problem)), "article") for r in rows]
        return [s for s in scored if s.score >= MIN_SCORE]

    def _solutions(self, connection: sa.Connection, ticket_ids: list[int]) -> dict[int, str]:
        """The last public reply an agent wrote on each ticket."""
        if not ticket_ids:
            return {}
        c = self.comments
        rows = connection.execute(
            sa.select(c.c.ticket_id, c.c.body).where(c.c.ticket_id.in_(ticket_ids), c.c.public.is_(True),
                                                     c.c.author_agent_id.is_not(None))
            .order_by(c.c.ticket_id, c.c.created_at, c.c.id))
        return {row.ticket_id: row.body for row in rows}  # later rows overwrite: the last reply wins

    def _requester_name(self, connection: sa.Connection, ticket: dict[str, Any]) -> str | None:
        if ticket.get("requester_id") is None:
            return None
        name: str | None = connection.execute(sa.select(self.contacts.c.name).where(
            self.contacts.c.id == ticket["requester_id"])).scalar()
        return name

    def local(self, ticket: dict[str, Any], sources: list[Source], requester: str | None, actor: Actor
              ) -> Suggestion:
        start = time.perf_counter()
        best = sources[0] if sources else None
        language = ticket.get("language") or self.compiled.definitions.project.default_language
        body = _template(self.compiled).render(
            ticket=ticket, requester_name=requester, agent_name=actor.name, language=language,
            source={"number": best.number, "title": best.title, "solution": best.solution, "kind": best.kind}
            if best else None,
            sources=sources).strip()
        return Suggestion(body, tuple(sources), (best,) if best else (), "local", "tessera-template",
                          check_reply(body), (time.perf_counter() - start) * 1000)

    def suggest(self, actor: Actor, ticket_id: int) -> tuple[int, Suggestion]:
        """A draft for ``ticket_id`` as ``actor`` would send it, recorded; returns the decision id with it."""
        if actor.kind != "agent":
            msg = "reply suggestions are for agents"
            raise Forbidden(msg)
        with self.engine.connect() as connection:
            ticket = load(connection, self.compiled, actor, ticket_id)
            sources = self.sources(connection, actor, ticket)
            requester = self._requester_name(connection, ticket)
        suggestion = self._generate(ticket, sources, requester, actor)
        with self.engine.begin() as connection:
            decision_id = connection.execute(sa.insert(self.decisions).returning(self.decisions.c.id), {
                "ticket_id": ticket_id, "kind": KIND, "provider": suggestion.provider, "model": suggestion.model,
                "output": suggestion.output(), "confidence": suggestion.cited[0].score if suggestion.cited else None,
                "explanation": _explain(suggestion), "applied": False, "latency_ms": round(suggestion.latency_ms, 3),
                "tokens": suggestion.tokens, "created_at": _now()}).scalar_one()
        return int(decision_id), suggestion

    def _generate(self, ticket: dict[str, Any], sources: list[Source], requester: str | None, actor: Actor
                  ) -> Suggestion:
        settings = self.compiled.definitions.project.ai
        if settings.provider != "llm" or settings.llm is None:
            return self.local(ticket, sources, requester, actor)
        from runtime.ai.llm import LlmError
        from runtime.ai.llm_provider import SYSTEM, client_for, prompt_template

        language = ticket.get("language") or self.compiled.definitions.project.default_language
        try:
            prompt = prompt_template(self.compiled, "reply").render(
                ticket=ticket, sources=[{"id": s.id, "title": s.title, "text": f"{s.problem}\n{s.solution}"}
                                        for s in sources],
                language_name={"de": "German", "en": "English"}.get(str(language), str(language)))
            answer = client_for(self.compiled, settings.llm).ask(ReplyAnswer, SYSTEM, prompt)
        except (LlmError, jinja2.TemplateError) as exc:
            fallback = self.local(ticket, sources, requester, actor)
            return Suggestion(fallback.body, fallback.sources, fallback.cited, fallback.provider, fallback.model,
                              fallback.check, fallback.latency_ms, fallback=f"llm failed: {exc}")
        by_id = {s.id: s for s in sources}
        cited = tuple(dict.fromkeys(by_id[c] for c in answer.value.citations if c in by_id))
        return Suggestion(answer.value.body.strip(), tuple(sources), cited, "llm", answer.model,
                          check_reply(answer.value.body), answer.latency_ms,
                          tokens=answer.prompt_tokens + answer.completion_tokens)


def _explain(suggestion: Suggestion) -> str:
    parts = [f"{suggestion.fallback}; the local provider answered"] if suggestion.fallback else []
    if suggestion.cited:
        parts.append("from " + ", ".join(f"{s.number} (similarity {s.score:.2f})" for s in suggestion.cited))
    else:
        parts.append("no similar resolved ticket: a holding reply")
    if suggestion.check.blocked:
        parts.append(f"blocked by the outbound check: {suggestion.check.reason()}")
    return "; ".join(parts)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
