"""Litestar app factory: refuses to build on a database behind the definitions, then serves the desk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from litestar import Litestar, MediaType, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig

from runtime.artifacts import migration_paths
from runtime.compile.desk import CompiledDesk
from runtime.config.ir import label_for
from runtime.db.guard import ensure_current
from runtime.web.definitions import type_view
from runtime.web.problems import HANDLERS
from runtime.web.tickets_api import ticket_handlers

TEMPLATES = Path(__file__).with_name("templates")


def create_app(compiled: CompiledDesk, engine: sa.Engine) -> Litestar:
    ensure_current(migration_paths(compiled), compiled.schema_snapshot, engine)
    desk = compiled.definitions
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

    def schema_of(type_name: str) -> Any:
        # Litestar's router prefers a static path segment and does not fall back to a parameter, so each
        # type, which has static /tickets routes, also gets its own static /schema route.
        @get(f"/api/v1/types/{type_name}/schema", sync_to_thread=False, name=f"schema_{type_name}")
        def schema() -> dict[str, Any]:
            return compiled.type_schemas[type_name]

        return schema

    @get("/", media_type=MediaType.HTML, sync_to_thread=True)
    def home() -> Template:
        language = desk.project.default_language
        type_rows = [{"name": t.name, "label": label_for(t.label, language, t.name), "prefix": t.number_prefix,
                      "fields": len(t.fields), "workflow": t.workflow} for t in desk.types]
        return Template("index.html", context={"desk": desk.project.name, "types": type_rows})

    return Litestar(
        route_handlers=[healthz, list_types, type_schema, home, *(schema_of(t.name) for t in desk.types),
                        *ticket_handlers(compiled, engine)],
        template_config=TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine),
        exception_handlers=HANDLERS,
    )
