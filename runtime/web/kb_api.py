"""The knowledge base over HTTP: articles (write, review, publish, archive, translate, rate, search) for signed-in
callers within their access rules, recommendations for a ticket, and the public portal's deflection: articles
suggested while a requester types, and "this solved it". The rules live in runtime/kb/."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import sqlalchemy as sa
from litestar import Request, delete, get, patch, post
from litestar.exceptions import TooManyRequestsException
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromQuery, JSONBody, QueryParameter
from pydantic import BaseModel, ConfigDict, Field

from runtime.compile.desk import CompiledDesk
from runtime.intake.rate_limit import RateLimit
from runtime.kb.articles import STATUSES, KbArticles
from runtime.kb.index import index_for
from runtime.kb.recommend import Recommender
from runtime.kb.translate import translate
from runtime.tickets.actors import Actor
from runtime.web.auth import actor_dependency
from runtime.web.problems import problem_responses
from runtime.web.threaded import threaded
from runtime.web.tickets_api import MAX_ID, NO_NUL, Id, Json, Who, as_json

Text = Annotated[str, Field(min_length=1, max_length=100_000, pattern=NO_NUL)]
Query = Annotated[str | None, QueryParameter(max_length=2000)]
PUBLIC_PER_MINUTE = 60


class ArticleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Annotated[str, Field(min_length=1, max_length=300, pattern=NO_NUL)]
    problem: Text
    solution: Text = Field(description="markdown")
    category: str | None = None
    keywords: list[Annotated[str, Field(max_length=100)]] = Field(default_factory=list, max_length=20)
    language: str | None = None
    visibility: Literal["internal", "public"] = "internal"


class ArticleChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=1, le=MAX_ID)
    title: Annotated[str | None, Field(max_length=300, pattern=NO_NUL)] = None
    problem: Text | None = None
    solution: Text | None = None
    category: str | None = None
    keywords: list[Annotated[str, Field(max_length=100)]] | None = Field(default=None, max_length=20)
    language: str | None = None
    visibility: Literal["internal", "public"] | None = None
    note: Annotated[str | None, Field(max_length=1000)] = None


class VersionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=1, le=MAX_ID)


class TranslationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    language: Annotated[str, Field(min_length=2, max_length=16)]
    title: Annotated[str | None, Field(max_length=300, pattern=NO_NUL)] = None
    problem: Text | None = None
    solution: Text | None = None


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["helpful", "not_helpful", "solved"]
    ticket_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    query: Annotated[str | None, Field(max_length=2000, pattern=NO_NUL)] = None


class SolvedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query: Annotated[str | None, Field(max_length=2000, pattern=NO_NUL)] = None


def kb_handlers(compiled: CompiledDesk, engine: sa.Engine) -> list[HTTPRouteHandler]:
    articles = KbArticles(compiled, engine)
    recommender = Recommender(compiled, engine)
    limit = RateLimit(PUBLIC_PER_MINUTE)
    dependencies = {"actor": actor_dependency(compiled, engine)}
    common: dict[str, Any] = {"dependencies": dependencies, "tags": ["knowledge base"],
                              "responses": problem_responses(400, 403, 404, 409, 422)}
    public: dict[str, Any] = {"tags": ["knowledge base"],
                              "responses": problem_responses(400, 404, 422, 429)}

    def throttle(request: Request[Any, Any, Any]) -> None:
        wait = limit.take(request.client.host if request.client else "unknown")
        if wait:
            raise TooManyRequestsException(f"too many requests; try again in {wait} s",
                                           headers={"Retry-After": str(wait)})

    @get("/api/v1/kb/articles", **common)
    @threaded
    def kb_list(actor: Who, q: Query = None, status: FromQuery[str | None] = None,
                   language: FromQuery[str | None] = None, category: FromQuery[str | None] = None,
                   after: FromQuery[int | None] = None, limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20
                   ) -> Json:
        """Articles newest first, or with ``q`` the best matches (requesters: published public ones only)."""
        if status is not None and status not in STATUSES:
            status = "none"  # matches nothing, as an unknown value should
        if q:
            statuses = (status,) if status and actor.kind != "contact" else ("published",)
            hits = index_for(compiled, engine).search(
                q, language=language, k=limit, statuses=statuses,
                visibilities=("public",) if actor.kind == "contact" else ("public", "internal"))
            return {"items": [{"id": h.article_id, "score": round(h.score, 4), "passage": h.passage,
                               "language": h.language} for h in hits], "next_after": None}
        items = articles.page(actor, status=status, language=language, category=category,
                              after=after if after is None or 0 < after <= MAX_ID else MAX_ID, limit=limit)
        return {"items": [as_json(a) for a in items],
                "next_after": items[-1]["id"] if len(items) == limit else None}

    @post("/api/v1/kb/articles", status_code=201, **common)
    @threaded
    def kb_create(actor: Who, data: JSONBody[ArticleIn]) -> Json:
        """A draft article (agents)."""
        values = data.model_dump(exclude_none=True)
        return as_json(articles.create(actor, values))

    @get("/api/v1/kb/articles/{article_id:int}", **common)
    @threaded
    def kb_get(actor: Who, article_id: Id, language: FromQuery[str | None] = None) -> Json:
        """The article with its translations (and, for agents, the tickets it came from); with ``language``, its
        published translation in that language when there is one. A requester's read counts as a view."""
        if language:
            article_id = articles.in_language(actor, article_id, language)
        return as_json(articles.get(actor, article_id, count_view=actor.kind == "contact"))

    @patch("/api/v1/kb/articles/{article_id:int}", **common)
    @threaded
    def kb_update(actor: Who, article_id: Id, data: JSONBody[ArticleChange]) -> Json:
        """Edit text or settings, based on ``version`` (409 when stale); a new version is kept."""
        values = data.model_dump(exclude_unset=True)
        version, note = values.pop("version"), values.pop("note", None)
        return as_json(articles.update(actor, article_id, values, version, note))

    @delete("/api/v1/kb/articles/{article_id:int}", status_code=204, **common)
    @threaded
    def kb_delete(actor: Who, article_id: Id) -> None:
        """Drafts only; a published article is archived instead."""
        articles.delete(actor, article_id)

    @post("/api/v1/kb/articles/{article_id:int}/publish", status_code=200, **common)
    @threaded
    def kb_publish(actor: Who, article_id: Id, data: JSONBody[VersionIn]) -> Json:
        """Reviewers: publish a draft, or write an update proposal into its article."""
        return as_json(articles.publish(actor, article_id, data.version))

    @post("/api/v1/kb/articles/{article_id:int}/archive", status_code=200, **common)
    @threaded
    def kb_archive(actor: Who, article_id: Id, data: JSONBody[VersionIn]) -> Json:
        return as_json(articles.archive(actor, article_id, data.version))

    @get("/api/v1/kb/articles/{article_id:int}/versions", **common)
    @threaded
    def kb_versions(actor: Who, article_id: Id) -> list[Json]:
        """Every saved state of the article, oldest first (agents)."""
        return [as_json(v) for v in articles.history(actor, article_id)]

    @post("/api/v1/kb/articles/{article_id:int}/translations", status_code=201, **common)
    @threaded
    def kb_translation(actor: Who, article_id: Id, data: JSONBody[TranslationIn]) -> Json:
        """A draft translation: with title, problem and solution as given, or without them written by the llm
        provider."""
        return as_json(translate(compiled, engine, actor, article_id, data.model_dump(exclude_none=True)))

    @post("/api/v1/kb/articles/{article_id:int}/feedback", status_code=200, **common)
    @threaded
    def kb_feedback(actor: Who, article_id: Id, data: JSONBody[FeedbackIn]) -> Json:
        return articles.rate(actor, article_id, data.kind, ticket_id=data.ticket_id, query=data.query)

    @get("/api/v1/tickets/{ticket_id:int}/recommendations", **common)
    @threaded
    def kb_recommendations(actor: Who, ticket_id: Id) -> Json:
        """Articles (requesters: public ones) and, for agents, similar resolved tickets, each with its score and the
        passage that matched."""
        return recommender.for_ticket(actor, ticket_id)

    @get("/api/v1/kb/public/suggest", **public)
    @threaded
    def kb_suggest(request: Request[Any, Any, Any], q: Query = None, language: FromQuery[str | None] = None,
                      limit: Annotated[int, QueryParameter(ge=1, le=10)] = 5) -> Json:
        """Published public articles for what a requester has typed so far (no sign-in; rate-limited)."""
        throttle(request)
        items = recommender.articles_for(q or "", language, public_only=True, k=limit) if q else []
        return {"items": items}

    @get("/api/v1/kb/public/articles/{article_id:int}", **public)
    @threaded
    def kb_public_article(request: Request[Any, Any, Any], article_id: Id,
                          language: FromQuery[str | None] = None) -> Json:
        """A published public article (counts a view); with ``language``, its translation when there is one."""
        throttle(request)
        if language:
            article_id = articles.in_language(_anonymous(), article_id, language)
        return as_json(articles.get(_anonymous(), article_id, count_view=True))

    @post("/api/v1/kb/public/articles/{article_id:int}/solved", status_code=200, **public)
    @threaded
    def kb_solved(request: Request[Any, Any, Any], article_id: Id, data: JSONBody[SolvedIn]) -> Json:
        """"This solved it": the requester needed no ticket (no sign-in; rate-limited)."""
        throttle(request)
        return articles.rate(None, article_id, "solved", query=data.query)

    return [kb_list, kb_create, kb_get, kb_update, kb_delete, kb_publish, kb_archive,
            kb_versions, kb_translation, kb_feedback, kb_recommendations, kb_suggest,
            kb_public_article, kb_solved]


def _anonymous() -> Actor:
    return Actor("contact", None, "anonymous", frozenset())
