"""Litestar app factory: refuses to build on a database behind the definitions, then serves the desk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from litestar import Litestar, MediaType, get
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import FromPath, FromQuery
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig

from runtime.artifacts import migration_paths
from runtime.compile.desk import CompiledDesk
from runtime.config.ir import label_for
from runtime.db.guard import ensure_current
from runtime.web.definitions import type_view

TEMPLATES = Path(__file__).with_name("templates")
MAX_PAGE = 200


def create_app(compiled: CompiledDesk, engine: sa.Engine) -> Litestar:
    ensure_current(migration_paths(compiled), compiled.schema_snapshot, engine)
    desk = compiled.definitions
    tickets = compiled.table("tickets")
    types_json = [type_view(desk, t) for t in desk.types]

    @get("/healthz", sync_to_thread=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @get("/api/v1/types", sync_to_thread=False)
    def list_types() -> list[dict[str, Any]]:
        return types_json

    @get("/api/v1/types/{type_name:str}/schema", sync_to_thread=False)
    def type_schema(type_name: FromPath[str]) -> dict[str, Any]:
        if type_name not in compiled.type_schemas:
            msg = f"no ticket type '{type_name}'; known: {', '.join(compiled.type_schemas)}"
            raise NotFoundException(msg)
        return compiled.type_schemas[type_name]

    def recent_tickets(type_name: str | None, limit: int) -> list[dict[str, Any]]:
        query = sa.select(tickets.c.id, tickets.c.number, tickets.c.type, tickets.c.title, tickets.c.status,
                          tickets.c.status_category, tickets.c.priority, tickets.c.created_at)
        if type_name:
            query = query.where(tickets.c.type == type_name)
        with engine.connect() as connection:
            rows = connection.execute(query.order_by(tickets.c.id.desc()).limit(limit)).mappings()
            return [{**row, "created_at": row["created_at"].isoformat()} for row in rows]

    @get("/api/v1/tickets", sync_to_thread=True)
    def list_tickets(type: FromQuery[str | None] = None, limit: FromQuery[int] = 50) -> list[dict[str, Any]]:
        if type is not None and desk.ticket_type(type) is None:
            msg = f"unknown ticket type '{type}'"
            raise ValidationException(msg)
        if not 1 <= limit <= MAX_PAGE:
            msg = f"limit must be between 1 and {MAX_PAGE}"
            raise ValidationException(msg)
        return recent_tickets(type, limit)

    @get("/", media_type=MediaType.HTML, sync_to_thread=True)
    def home() -> Template:
        language = desk.project.default_language
        type_rows = [{"name": t.name, "label": label_for(t.label, language, t.name), "prefix": t.number_prefix,
                      "fields": len(t.fields), "workflow": t.workflow} for t in desk.types]
        return Template("index.html", context={"desk": desk.project.name, "types": type_rows,
                                               "tickets": recent_tickets(None, 50)})

    return Litestar(
        route_handlers=[healthz, list_types, type_schema, list_tickets, home],
        template_config=TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine),
    )
