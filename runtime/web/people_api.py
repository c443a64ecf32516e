"""API routes for people: /api/v1/{organizations,contacts,teams,agents}."""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from litestar import get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.handlers import HTTPRouteHandler
from litestar.params import JSONBody, QueryParameter

from runtime.compile.desk import CompiledDesk
from runtime.people.models import KINDS
from runtime.people.service import PeopleService
from runtime.tickets.actors import Actor
from runtime.tickets.audit import json_value
from runtime.web.auth import actor_dependency
from runtime.web.tickets_api import MAX_ID, Id

Json = dict[str, Any]
Who = NamedDependency[Actor]


def people_handlers(compiled: CompiledDesk, engine: sa.Engine) -> list[HTTPRouteHandler]:
    service = PeopleService(compiled, engine)
    provide = actor_dependency(compiled, engine, scope_prefix="people")
    handlers: list[HTTPRouteHandler] = []
    for kind, (model, _, _) in KINDS.items():
        handlers += _kind_handlers(kind, model, service, provide)
    return handlers


def _kind_handlers(kind: str, model: type[Any], service: PeopleService, provide: Provide) -> list[HTTPRouteHandler]:
    def as_json(record: dict[str, Any]) -> Json:
        return {k: json_value(v) for k, v in record.items()}

    def create(actor: Who, data: Any) -> Json:
        return as_json(service.create(actor, kind, data.model_dump(exclude_unset=True)))

    def read(actor: Who, row_id: Id) -> Json:
        return as_json(service.get(actor, kind, row_id))

    def update(actor: Who, row_id: Id, data: dict[str, Any]) -> Json:
        return as_json(service.update(actor, kind, row_id, data))

    def listing(actor: Who, limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
                after_id: Annotated[int, QueryParameter(ge=0, le=MAX_ID)] = 0) -> list[Json]:
        return [as_json(r) for r in service.list(actor, kind, limit, after_id)]

    create.__annotations__ = {"actor": Who, "data": JSONBody[model], "return": Json}  # type: ignore[valid-type,misc]
    update.__annotations__ = {"actor": Who, "row_id": Id, "data": JSONBody[dict[str, Any]],
                              "return": Json}
    common: dict[str, Any] = {"sync_to_thread": True, "dependencies": {"actor": provide}, "tags": ["people"]}
    base = f"/api/v1/{kind}"
    return [
        post(base, name=f"create_{kind}", operation_id=f"create_{kind}", **common)(create),
        get(base, name=f"list_{kind}", operation_id=f"list_{kind}", **common)(listing),
        get(f"{base}/{{row_id:int}}", name=f"read_{kind}", operation_id=f"read_{kind}", **common)(read),
        patch(f"{base}/{{row_id:int}}", name=f"update_{kind}", operation_id=f"update_{kind}", **common)(update),
    ]
