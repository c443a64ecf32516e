"""Litestar app factory: refuses to build on a database behind the definitions, then serves the desk."""

from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from litestar import Litestar, MediaType, get
from litestar.exceptions import NotFoundException
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.params import FromPath
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig

from runtime.artifacts import migration_paths
from runtime.compile.desk import CompiledDesk
from runtime.config.ir import label_for
from runtime.db.guard import ensure_current
from runtime.observe.metrics import RequestMetrics
from runtime.observe.request_log import RequestObserver
from runtime.observe.routes import observe_handlers
from runtime.pages.routes import page_routes
from runtime.web.ai_api import ai_handlers
from runtime.web.definitions import type_view
from runtime.web.forms_api import form_handlers
from runtime.web.intake_messages_api import intake_message_handlers
from runtime.web.kb_api import kb_handlers
from runtime.web.people_api import people_handlers
from runtime.web.problems import HANDLERS, problem_responses
from runtime.web.relations_api import relation_handlers
from runtime.web.sessions_api import SESSION_SCHEME, session_handlers
from runtime.web.sla_api import sla_handlers
from runtime.web.threaded import use_handler_threads
from runtime.web.tickets_api import ticket_handlers
from runtime.web.webhooks_api import webhook_handlers

TEMPLATES = Path(__file__).with_name("templates")
PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
BEARER = "BearerToken"
SESSION = SESSION_SCHEME


def tessera_version() -> str:
    """The version in pyproject.toml beside the code, else the installed one, else 0.1.0."""
    if PYPROJECT.is_file():
        return str(tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["version"])
    try:
        return importlib.metadata.version("tessera")
    except importlib.metadata.PackageNotFoundError:
        return "0.1.0"


def openapi_config(compiled: CompiledDesk) -> OpenAPIConfig:
    bearer = SecurityScheme(type="http", scheme="bearer",
                            description="An API token from `python cli.py token`, sent as 'Authorization: Bearer "
                                        "<token>'; reading needs the scope tickets:read, writing tickets:write")
    session = SecurityScheme(type="apiKey", name="tessera_session", security_scheme_in="cookie",
                             description="The cookie set by POST /api/v1/auth/login; requests other than GET "
                                         "must also send the session's CSRF token in the X-CSRF-Token header")
    return OpenAPIConfig(
        title=f"Tessera: {compiled.definitions.project.name}", version=tessera_version(),
        description="The ticket API of this desk, compiled from its definitions: one typed create, read and "
                    "update per ticket type, shared routes for lists, transitions, comments and the audit "
                    "trail. Errors are RFC 9457 problem details (application/problem+json).",
        components=Components(security_schemes={BEARER: bearer, SESSION: session}),
    )


def documented(handlers: list[HTTPRouteHandler]) -> list[HTTPRouteHandler]:
    """Say in OpenAPI what the app-wide guards answer on every route that takes the caller's token: the bearer
    scheme, and problem details for a malformed (400) or invalid (422) request, a missing or bad token (401),
    a lacking scope (403) and, on a path with a parameter, a record that is not there (404). The route's own
    ``responses`` (409, say) come on top."""
    for handler in handlers:
        if "actor" in (handler.dependencies or {}):
            statuses = [400, 401, 403, 422, *([404] if any("{" in path for path in handler.paths) else [])]
            handler.security = handler.security or [{BEARER: []}, {SESSION: []}]
            handler.responses = dict(sorted({**problem_responses(*statuses), **(handler.responses or {})}.items()))
    return handlers


def openapi_document(compiled: CompiledDesk) -> dict[str, Any]:
    """The OpenAPI document of the desk's app, built without a database."""
    engine = sa.create_engine("sqlite://")
    try:
        return create_app(compiled, engine, check_database=False).openapi_schema.to_schema()
    finally:
        engine.dispose()


def create_app(compiled: CompiledDesk, engine: sa.Engine, *, check_database: bool = True) -> Litestar:
    """The app; ``check_database=False`` skips the startup guard, for building the OpenAPI document only."""
    if check_database:
        ensure_current(migration_paths(compiled), compiled.schema_snapshot, engine)
    desk = compiled.definitions
    types_json = [type_view(desk, t) for t in desk.types]

    @get("/healthz", sync_to_thread=False, description="200 while the process runs; no database work, no credential.")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @get("/api/v1/types", sync_to_thread=False)
    def list_types() -> list[dict[str, Any]]:
        return types_json

    @get("/api/v1/types/{type_name:str}/schema", sync_to_thread=False, responses=problem_responses(400, 404))
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

    @get("/", media_type=MediaType.HTML, sync_to_thread=True, include_in_schema=False)
    def home() -> Template:
        language = desk.project.default_language
        type_rows = [{"name": t.name, "label": label_for(t.label, language, t.name), "prefix": t.number_prefix,
                      "fields": len(t.fields), "workflow": t.workflow} for t in desk.types]
        return Template("index.html", context={"desk": desk.project.name, "types": type_rows})

    metrics = RequestMetrics()
    app = Litestar(
        route_handlers=[healthz, *observe_handlers(compiled, engine, metrics), list_types, type_schema, home,
                        *(schema_of(t.name) for t in desk.types),
                        *session_handlers(compiled, engine), *webhook_handlers(compiled, engine),
                        *form_handlers(compiled, engine),
                        *documented([*ticket_handlers(compiled, engine), *relation_handlers(compiled, engine),
                                     *people_handlers(compiled, engine), *sla_handlers(compiled, engine),
                                     *intake_message_handlers(compiled, engine), *ai_handlers(compiled, engine),
                                     *kb_handlers(compiled, engine)]),
                        *page_routes(compiled, engine)],
        template_config=TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine),
        exception_handlers=HANDLERS,
        openapi_config=openapi_config(compiled),
        # Attachments are the largest bodies; the store itself enforces the exact limit.
        request_max_body_size=desk.project.attachment_max_bytes + 1024 * 1024,
        # Logging is set up once per process by its entry point (runtime.observe.logs), not by every app built.
        logging_config=None,
        on_startup=[use_handler_threads],
    )
    app.asgi_handler = RequestObserver(app.asgi_handler, metrics)
    return app
