"""The ticket API, built at startup from the compiled desk: typed routes per ticket type, shared routes
for lists, transitions, comments and the audit trail. Every rule lives in the service layer."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import anyio.to_thread
import sqlalchemy as sa
from litestar import Request, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, PathParameter, QueryParameter
from pydantic import BaseModel, ConfigDict, Field

from runtime.compile.desk import CompiledDesk
from runtime.intake.api_flow import KEY_MAX, ApiFlow
from runtime.intake.store import IntakeStore
from runtime.tickets.actors import Actor
from runtime.tickets.audit import json_value
from runtime.tickets.errors import InvalidTicket, TicketNotFound
from runtime.tickets.files import TicketFiles
from runtime.tickets.listing import ListQuery, filterable_fields, list_tickets
from runtime.tickets.service import TicketService
from runtime.web.auth import actor_dependency
from runtime.web.problems import problem_responses

Json = dict[str, Any]
Who = NamedDependency[Actor]
MAX_ID = 2**63 - 1  # the largest key either database stores; larger ones are refused, not sent to it
Id = Annotated[int, PathParameter(ge=1, le=MAX_ID)]
KeyFilter = Annotated[int | None, QueryParameter(ge=1, le=MAX_ID)]
NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL characters
# The app documents the bearer scheme, 400, 401, 403, 404 and 422 on every route with a caller; these add 409.
CONFLICT = problem_responses(409)
IdempotencyKey = Annotated[str | None, HeaderParameter(
    name="Idempotency-Key", min_length=1, max_length=KEY_MAX,
    description="a key of the caller's choosing: the same key again returns the ticket the first request made "
                "instead of making another (409 when it comes with a different request)")]


class TransitionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: Annotated[int, Field(strict=True, ge=1)]
    fields: dict[str, Any] = Field(default_factory=dict, description="field changes made with the transition")


class CommentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: Annotated[str, Field(min_length=1, max_length=100_000, pattern=NO_NUL)]
    public: bool = True
    suggestion_id: Annotated[int | None, Field(ge=1, le=2**63 - 1, description="the AI reply suggestion it was "
                                               "written from (its feedback: sent as drafted, or edited)")] = None


PLAIN = frozenset({str, int, float, bool, type(None)})  # already JSON: most of a ticket's values


def as_json(record: dict[str, Any]) -> Json:
    return {k: v if type(v) in PLAIN else json_value(v) for k, v in record.items()}


def _time(name: str, value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
        # In UTC here, as the database stores it: a time at the edge of year 1 or 9999 may not fit.
        return parsed.astimezone(dt.UTC) if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    except (ValueError, OverflowError):
        raise InvalidTicket(f"bad list parameter '{name}'", [{"field": name, "reason": "an ISO 8601 time"}]) from None


def ticket_handlers(compiled: CompiledDesk, engine: sa.Engine) -> list[HTTPRouteHandler]:
    service = TicketService(compiled, engine)
    attachments = TicketFiles(compiled, engine)
    extra_filters = filterable_fields(compiled)
    dependencies = {"actor": actor_dependency(compiled, engine)}
    common: dict[str, Any] = {"sync_to_thread": True, "dependencies": dependencies, "tags": ["tickets"]}

    @get("/api/v1/tickets", **common)
    def list_route(
        actor: Who, request: Request[Any, Any, Any],
        type: FromQuery[str | None] = None, status: FromQuery[str | None] = None,
        status_category: FromQuery[str | None] = None, priority: FromQuery[str | None] = None,
        assignee: FromQuery[str | None] = None, team: KeyFilter = None,
        requester: KeyFilter = None, tag: FromQuery[list[str] | None] = None,
        created_after: FromQuery[str | None] = None, created_before: FromQuery[str | None] = None,
        updated_after: FromQuery[str | None] = None, updated_before: FromQuery[str | None] = None,
        q: FromQuery[str | None] = None, sort: FromQuery[str] = "-created_at", cursor: FromQuery[str | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> Json:
        equals = {k: v for k, v in {"type": type, "status": status, "status_category": status_category,
                                    "priority": priority}.items() if v is not None}
        equals |= {k: v for k, v in request.query_params.items() if k in extra_filters}
        query = ListQuery(equals=equals, assignee=assignee, team_id=team, requester_id=requester,
                          tags=tuple(tag or ()), created_after=_time("created_after", created_after),
                          created_before=_time("created_before", created_before),
                          updated_after=_time("updated_after", updated_after),
                          updated_before=_time("updated_before", updated_before), text=q, sort=sort,
                          cursor=cursor, limit=limit)
        with engine.connect() as connection:
            page = list_tickets(connection, compiled, actor, query)
        return {"items": [as_json(t) for t in page.items], "next_cursor": page.next_cursor, "total": page.total,
                "total_is_estimate": page.total_is_estimate}

    @get("/api/v1/tickets/{ticket_id:int}", **common)
    def get_route(actor: Who, ticket_id: Id) -> Json:
        return as_json(service.get(actor, ticket_id))

    @get("/api/v1/tickets/{ticket_id:int}/transitions", **common)
    def transitions_route(actor: Who, ticket_id: Id) -> list[Json]:
        return service.available_transitions(actor, ticket_id)

    @post("/api/v1/tickets/{ticket_id:int}/transitions/{name:str}", status_code=200, responses=CONFLICT, **common)
    def transition_route(actor: Who, ticket_id: Id, name: FromPath[str], data: JSONBody[TransitionRequest]) -> Json:
        return as_json(service.transition(actor, ticket_id, name, data.version, data.fields))

    @get("/api/v1/tickets/{ticket_id:int}/comments", **common)
    def comments_route(actor: Who, ticket_id: Id) -> list[Json]:
        comments = service.list_comments(actor, ticket_id)
        files = attachments.by_comment(actor, ticket_id)
        return [{**as_json(c), "attachments": files.get(c["id"], [])} for c in comments]

    @post("/api/v1/tickets/{ticket_id:int}/comments", **common)
    def comment_route(actor: Who, ticket_id: Id, data: JSONBody[CommentRequest]) -> Json:
        """A public reply or internal note; an agent's public reply containing a secret (password, key, card
        number) is refused with 422 and the places it was found, a hostile tone is returned as ``warnings``."""
        return as_json(service.comment(actor, ticket_id, data.body, public=data.public,
                                       suggestion_id=data.suggestion_id))

    @get("/api/v1/tickets/{ticket_id:int}/sla", **common)
    def sla_route(actor: Who, ticket_id: Id) -> list[Json]:
        """The ticket's SLA clocks: target, due time, elapsed and remaining business time, state (agents only)."""
        return [as_json(c) for c in service.sla_clocks(actor, ticket_id)]

    @get("/api/v1/tickets/{ticket_id:int}/events", **common)
    def events_route(actor: Who, ticket_id: Id) -> list[Json]:
        return [as_json(e) for e in service.list_events(actor, ticket_id)]

    handlers: list[HTTPRouteHandler] = [list_route, get_route, transitions_route, transition_route,
                                        comments_route, comment_route, sla_route, events_route]
    once = ApiFlow(compiled, engine, IntakeStore(compiled, engine), service)
    for ticket_type in compiled.definitions.types:
        handlers += _typed_handlers(ticket_type.name, compiled, service, once, dependencies)
    return handlers


def _typed_handlers(type_name: str, compiled: CompiledDesk, service: TicketService, once: ApiFlow,
                    dependencies: dict[str, Provide]) -> list[HTTPRouteHandler]:
    """Create, read and update for one type, with its own request models so OpenAPI shows its fields."""
    base = f"/api/v1/types/{type_name}/tickets"

    def create(actor: Actor, data: Any, idempotency_key: IdempotencyKey = None) -> Json:
        if idempotency_key is None:
            return as_json(service.create(actor, type_name, data))
        return as_json(once.create_once(actor, type_name, data, idempotency_key))

    async def create_on_loop(actor: Actor, data: Any, idempotency_key: IdempotencyKey = None) -> Json:
        if idempotency_key is None:
            return as_json(await service.create_async(actor, type_name, data))
        return as_json(await anyio.to_thread.run_sync(once.create_once, actor, type_name, data, idempotency_key))

    def read(actor: Actor, ticket_id: int) -> Json:
        ticket = service.get(actor, ticket_id)
        if ticket["type"] != type_name:
            msg = f"ticket {ticket_id} is not of type {type_name}"
            raise TicketNotFound(msg)
        return as_json(ticket)

    def update(actor: Actor, ticket_id: int, data: Any) -> Json:
        read(actor, ticket_id)
        return as_json(service.update(actor, ticket_id, data))

    create_model, update_model = compiled.create_models[type_name], compiled.update_models[type_name]
    create.__annotations__ = {"actor": Who, "data": JSONBody[create_model],  # type: ignore[valid-type,misc]
                              "idempotency_key": IdempotencyKey, "return": Json}
    create_on_loop.__annotations__ = create.__annotations__
    read.__annotations__ = {"actor": Who, "ticket_id": Id, "return": Json}
    update.__annotations__ = {"actor": Who, "ticket_id": Id, "data": JSONBody[update_model],  # type: ignore[valid-type,misc]
                              "return": Json}
    on_loop: dict[str, Any] = {"dependencies": dependencies, "tags": [type_name]}
    common: dict[str, Any] = {"sync_to_thread": True, **on_loop}
    creating, options = (create_on_loop, on_loop) if service.creates_on_loop else (create, common)
    return [
        post(base, name=f"create_{type_name}", operation_id=f"create_{type_name}", responses=CONFLICT,
             **options)(creating),
        get(f"{base}/{{ticket_id:int}}", name=f"read_{type_name}", operation_id=f"read_{type_name}", **common)(read),
        patch(f"{base}/{{ticket_id:int}}", name=f"update_{type_name}", operation_id=f"update_{type_name}",
              responses=CONFLICT, **common)(update),
    ]
