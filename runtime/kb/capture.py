"""Capture: what one agent solved today becomes a draft article the next one finds tomorrow.

When a ticket is resolved, a ``kb_capture`` job is queued in the same transaction. The worker proposes a draft
from the ticket's problem (its description, summarised) and the public reply that resolved it (greetings and
sign-offs taken off): extractively with the ``local`` provider, written by the model with ``llm`` (falling back
to the extractive draft). Before writing, it looks for a near duplicate among the articles:

- a published article that says the same → a draft proposing an update to it (its solution with the new one
  added), which a reviewer publishes into it or deletes;
- a draft that says the same → the ticket is added to that draft's sources, and no new draft is made.

Every proposal waits for a reviewer (``status = draft``); nothing is published by capture. The decision is stored
in ``ai_decisions`` (kind ``kb_capture``) with what it did and why.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field

from runtime.ai import signals
from runtime.compile.desk import CompiledDesk
from runtime.intake.likeness import profile, similarity
from runtime.kb.articles import DRAFT, PUBLISHED, KbArticles
from runtime.tickets.actors import SYSTEM, Actor
from runtime.tickets.errors import TicketNotFound
from runtime.tickets.records import load

KIND = "kb_capture"
NEAR = 0.5  # word-profile similarity from which an article says the same as the draft would
CAPTURER = Actor("system", None, "kb-capture", SYSTEM.roles)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-ZÄÖÜ0-9])")
_GREETING = re.compile(r"^(hi|hello|hey|dear|good (morning|afternoon|evening)|hallo|guten (tag|morgen)|"
                       r"liebe[rs]?|sehr geehrte[rs]?)\b[^\n]{0,60}[,!:]?\s*$", re.IGNORECASE)
_SIGN_OFF = re.compile(r"^(best|kind|warm)?\s*(regards|wishes)|^(thanks|thank you|cheers|sincerely|"
                       r"viele grüße|mit freundlichen grüßen|beste grüße|danke)\b", re.IGNORECASE)


class CaptureAnswer(BaseModel):
    """What the ``llm`` provider writes for an article."""

    model_config = ConfigDict(extra="forbid")
    title: str = Field(max_length=200, description="a title that names the problem")
    problem: str = Field(max_length=2000, description="the problem in two or three sentences, no personal data")
    solution: str = Field(max_length=6000, description="the steps that solved it, as markdown")
    keywords: list[str] = Field(default_factory=list, max_length=8)


@dataclass(frozen=True)
class Draft:
    title: str
    problem: str
    solution: str
    keywords: list[str]
    provider: str
    fallback: str | None = None


def summarise(text: str, sentences: int = 3, limit: int = 600) -> str:
    """The ``sentences`` sentences that share most content words with the whole text, in their original order:
    the description's gist without its greetings and asides."""
    parts = [" ".join(p.split()) for p in _SENTENCE.split(text.strip()) if p.strip()]
    if len(parts) <= sentences:
        return " ".join(parts)[:limit]
    weights: dict[str, int] = {}
    for word in signals.keywords("", text, limit=30):
        weights[word] = weights.get(word, 0) + 1
    scored = sorted(range(len(parts)), key=lambda i: -sum(w in parts[i].lower() for w in weights))
    kept = sorted(scored[:sentences])
    return " ".join(parts[i] for i in kept)[:limit]


def solution_text(reply: str) -> str:
    """The reply without its greeting and sign-off lines (and whatever follows a sign-off: the signature)."""
    lines = reply.strip().splitlines()
    while lines and (not lines[0].strip() or _GREETING.match(lines[0].strip())):
        lines.pop(0)
    for i, line in enumerate(lines):
        if _SIGN_OFF.match(line.strip()):
            lines = lines[:i]
            break
    return "\n".join(lines).strip()


def _title(title: str) -> str:
    return re.sub(r"^((re|aw|fwd?|wg)\s*:\s*)+", "", title.strip(), flags=re.IGNORECASE)[:300] or "Untitled"


class Capture:
    def __init__(self, compiled: CompiledDesk, engine: sa.Engine) -> None:
        self.compiled = compiled
        self.engine = engine
        self.articles = KbArticles(compiled, engine)
        self.comments, self.decisions = compiled.table("comments"), compiled.table("ai_decisions")
        self.sources = compiled.table("kb_article_sources")

    def material(self, connection: sa.Connection, ticket_id: int) -> tuple[dict[str, Any], str] | None:
        """The ticket and the public agent reply that resolved it; None when there is nothing to capture."""
        try:
            ticket = load(connection, self.compiled, SYSTEM, ticket_id)
        except TicketNotFound:
            return None
        if ticket["status_category"] not in ("resolved", "closed") or ticket.get("duplicate_of_id"):
            return None
        c = self.comments
        reply = connection.execute(
            sa.select(c.c.body).where(c.c.ticket_id == ticket_id, c.c.public.is_(True),
                                      c.c.author_agent_id.is_not(None))
            .order_by(c.c.created_at.desc(), c.c.id.desc()).limit(1)).scalar()
        if not reply or not solution_text(reply):
            return None
        captured = connection.execute(sa.select(self.sources.c.article_id).where(
            self.sources.c.ticket_id == ticket_id).limit(1)).scalar()
        return None if captured is not None else (ticket, str(reply))

    def draft(self, ticket: dict[str, Any], reply: str) -> Draft:
        """The article's text, with no database work (the ``llm`` provider may take a while)."""
        local = Draft(_title(str(ticket.get("title") or "")), summarise(str(ticket.get("description") or ""))
                      or _title(str(ticket.get("title") or "")), solution_text(reply),
                      list(signals.keywords(str(ticket.get("title") or ""), str(ticket.get("description") or ""),
                                            limit=6)), "local")
        settings = self.compiled.definitions.project.ai
        if settings.provider != "llm" or settings.llm is None:
            return local
        from runtime.ai.llm import LlmError
        from runtime.ai.llm_provider import SYSTEM as SYSTEM_PROMPT
        from runtime.ai.llm_provider import client_for

        prompt = (f"Write a knowledge-base article from this resolved ticket, for the next agent or requester with "
                  f"the same problem. Leave out names, addresses and numbers that identify people.\n<<<TICKET\n"
                  f"Title: {ticket.get('title')}\n{str(ticket.get('description') or '')[:4000]}\nTICKET>>>\n"
                  f"The reply that solved it:\n<<<TICKET\n{reply[:4000]}\nTICKET>>>")
        try:
            answer = client_for(self.compiled, settings.llm).ask(CaptureAnswer, SYSTEM_PROMPT, prompt).value
        except LlmError as exc:
            return Draft(local.title, local.problem, local.solution, local.keywords, "local", f"llm failed: {exc}")
        return Draft(answer.title.strip() or local.title, answer.problem.strip() or local.problem,
                     answer.solution.strip() or local.solution, answer.keywords or local.keywords, "llm")

    def near(self, connection: sa.Connection, draft: Draft, language: str) -> tuple[dict[str, Any], float] | None:
        """The published or draft article that says what ``draft`` would, with its similarity; None if none does."""
        from runtime.kb.index import index_for

        hits = index_for(self.compiled, self.engine).search(
            f"{draft.title}\n{draft.problem}", language=language, k=3, statuses=(PUBLISHED, DRAFT),
            visibilities=("public", "internal"))
        mine = profile(draft.title, draft.problem)
        best: tuple[dict[str, Any], float] | None = None
        for hit in hits:
            try:
                article = self.articles.load(connection, SYSTEM, hit.article_id)
            except TicketNotFound:
                continue
            score = similarity(mine, profile(article["title"], article["problem"]))
            if score >= NEAR and (best is None or score > best[1]):
                best = (article, score)
        return best

    def settle(self, connection: sa.Connection, ticket: dict[str, Any], draft: Draft, now: dt.datetime) -> str:
        """Write the proposal (or the source on a near-duplicate draft) and record the decision; returns what
        was done, in words."""
        language = str(ticket.get("language") or self.compiled.definitions.project.default_language)
        if language not in self.compiled.definitions.project.languages:
            language = self.compiled.definitions.project.default_language
        start = time.perf_counter()
        found = self.near(connection, draft, language)
        values = {"title": draft.title, "problem": draft.problem, "solution": draft.solution,
                  "keywords": draft.keywords, "language": language, "category": ticket.get("category")}
        article_id: int
        if found is not None and found[0]["status"] == DRAFT:
            article_id = int(found[0]["id"])
            connection.execute(sa.insert(self.sources), {"article_id": article_id, "ticket_id": ticket["id"],
                                                         "kind": "captured", "created_at": now})
            said = f"{ticket['number']} added to draft article {article_id}, which says the same " \
                   f"(similarity {found[1]:.2f})"
        elif found is not None:
            target = found[0]
            values |= {"title": target["title"], "problem": target["problem"], "category": target.get("category"),
                       "keywords": list(dict.fromkeys([*target["keywords"], *draft.keywords]))[:20],
                       "solution": f"{target['solution']}\n\nAlso ({ticket['number']}):\n\n{draft.solution}"}
            created = self.articles.create_in(connection, CAPTURER, values, update_of_id=int(target["id"]),
                                              source_ticket_id=int(ticket["id"]),
                                              note=f"update proposed from {ticket['number']}")
            article_id = int(created["id"])
            said = f"update to article {target['id']} proposed as draft {article_id} from {ticket['number']} " \
                   f"(similarity {found[1]:.2f})"
        else:
            created = self.articles.create_in(connection, CAPTURER, values, source_ticket_id=int(ticket["id"]),
                                              note=f"captured from {ticket['number']}")
            article_id = int(created["id"])
            said = f"draft article {article_id} from {ticket['number']}"
        if draft.fallback:
            said = f"{draft.fallback}; the local provider wrote it; {said}"
        connection.execute(sa.insert(self.decisions), {
            "ticket_id": ticket["id"], "kind": KIND, "provider": draft.provider, "model": None,
            "output": {"article_id": article_id, "title": draft.title, "near": found[0]["id"] if found else None,
                       "similarity": round(found[1], 3) if found else None},
            "confidence": None, "explanation": said, "applied": True, "review": None,
            "latency_ms": round((time.perf_counter() - start) * 1000, 3), "created_at": now})
        return said


def prepare_capture(compiled: CompiledDesk, engine: sa.Engine, payload: dict[str, Any]) -> dict[str, Any]:
    """The worker's first stage, outside any transaction: the draft's text."""
    capture = Capture(compiled, engine)
    with engine.connect() as connection:
        found = capture.material(connection, int(payload["ticket_id"]))
    if found is None:
        return payload | {"skip": True}
    ticket, reply = found
    d = capture.draft(ticket, reply)
    return payload | {"draft": {"title": d.title, "problem": d.problem, "solution": d.solution,
                                "keywords": d.keywords, "provider": d.provider, "fallback": d.fallback}}


def run_capture(compiled: CompiledDesk, connection: sa.Connection, payload: dict[str, Any]) -> None:
    """The worker's second stage, in the job's transaction: check again, write, record."""
    if payload.get("skip") or "draft" not in payload:
        return
    capture = Capture(compiled, connection.engine)
    found = capture.material(connection, int(payload["ticket_id"]))
    if found is None:
        return
    capture.settle(connection, found[0], Draft(**payload["draft"]), dt.datetime.now(dt.UTC))
