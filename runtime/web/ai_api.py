"""AI for agents over HTTP: the triage queue and verdicts on it, a ticket's decisions, triage and a suggested reply
on request, and the outbound check a composer runs before sending. The rules live in runtime/ai/."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import sqlalchemy as sa
from litestar import get as get_route
from litestar import post
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromQuery, JSONBody, QueryParameter
from pydantic import BaseModel, ConfigDict, Field

from runtime.ai.outbound import check_reply
from runtime.ai.replies import Replies
from runtime.ai.review import Reviews
from runtime.ai.triage import Triage, provider_for
from runtime.compile.desk import CompiledDesk
from runtime.tickets.actors import Actor
from runtime.tickets.errors import Forbidden
from runtime.tickets.service import TicketService
from runtime.web.auth import actor_dependency
from runtime.web.problems import problem_responses
from runtime.web.tickets_api import MAX_ID, NO_NUL, Id, Json, Who, as_json


class ReviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    verdict: Literal["accept", "override", "dismiss"]
    values: dict[str, str | None] | None = Field(default=None, description="override: the values a person chose "
                                                 "(category, priority, language)")
    version: int | None = Field(default=None, ge=1, le=MAX_ID, description="the ticket's version, when the verdict "
                                "changes it")


class CheckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: Annotated[str, Field(max_length=100_000, pattern=NO_NUL)]


def _agent(actor: Actor) -> None:
    if actor.kind != "agent":
        msg = "this is for agents"
        raise Forbidden(msg)


def ai_handlers(compiled: CompiledDesk, engine: sa.Engine) -> list[HTTPRouteHandler]:
    service = TicketService(compiled, engine)
    reviews = Reviews(compiled, engine, Triage(compiled, provider_for(compiled), service))
    replies = Replies(compiled, engine)
    dependencies = {"actor": actor_dependency(compiled, engine)}
    common: dict[str, Any] = {"sync_to_thread": True, "dependencies": dependencies, "tags": ["ai"],
                              "responses": problem_responses(400, 403, 404, 409, 422)}

    @get_route("/api/v1/ai/triage-queue", **common)
    def queue_route(actor: Who, after: FromQuery[int | None] = None,
                    limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50) -> Json:
        """Tickets waiting for a person's triage, oldest first, each with the proposal and why it waits; send the
        answer's ``next_after`` as ``after`` for the next page."""
        if after is not None and not 0 <= after <= MAX_ID:
            after = MAX_ID
        items, next_after = reviews.queue(actor, after, limit)
        return {"items": [as_json(i) | {"ticket": as_json(i["ticket"])} for i in items], "next_after": next_after}

    @post("/api/v1/ai/decisions/{decision_id:int}/review", status_code=200, **common)
    def review_route(actor: Who, decision_id: Id, data: JSONBody[ReviewRequest]) -> Json:
        """accept: make the proposed changes; override: make ``values`` instead; dismiss: change nothing. The
        ticket changes as the reviewing agent, with its version checked."""
        return as_json(reviews.review(actor, decision_id, data.verdict, data.values, data.version, "api", service))

    @get_route("/api/v1/tickets/{ticket_id:int}/ai/decisions", **common)
    def decisions_route(actor: Who, ticket_id: Id) -> list[Json]:
        """Every AI decision on the ticket (triage, assignment, reply suggestions), oldest first (agents only)."""
        return [as_json(d) for d in reviews.of_ticket(actor, ticket_id)]

    @post("/api/v1/tickets/{ticket_id:int}/ai/triage", status_code=201, **common)
    def triage_route(actor: Who, ticket_id: Id) -> Json:
        """Triage the ticket again now; the proposal waits in the triage queue for a person (nothing changes)."""
        return as_json(reviews.retriage(actor, ticket_id))

    @post("/api/v1/tickets/{ticket_id:int}/ai/reply", status_code=201, **common)
    def reply_route(actor: Who, ticket_id: Id) -> Json:
        """A suggested reply with the resolved tickets it draws on and the outbound check's verdict; send it (or
        an edit) as a comment with ``suggestion_id`` set to ``decision_id``."""
        decision_id, suggestion = replies.suggest(actor, ticket_id)
        return {"decision_id": decision_id, "provider": suggestion.provider, "model": suggestion.model,
                **suggestion.output()}

    @post("/api/v1/ai/check-reply", status_code=200, **common)
    def check_route(actor: Who, data: JSONBody[CheckRequest]) -> Json:
        """The outbound check on a draft: ``blocked`` with ``findings`` (secrets) and ``warnings`` (tone)."""
        _agent(actor)
        return check_reply(data.body).as_json()

    return [queue_route, review_route, decisions_route, triage_route, reply_route, check_route]
