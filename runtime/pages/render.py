"""The pages' shared parts: the Jinja2 environment, the ``Pages`` object every page module is built with, and the
HTML answers to what a page cannot show (sign in first, not yours, not found, a stale form)."""

from __future__ import annotations

import hashlib
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotFoundException
from litestar.response import Redirect

from runtime.compile.desk import CompiledDesk
from runtime.config.ir import Labels, label_for
from runtime.pages.visitors import CSRF_FIELD, CsrfRejected, SignInRequired, Visitor, Visitors, WrongPlace
from runtime.tickets.errors import TicketError
from runtime.tickets.service import TicketService
from runtime.web.auth import CSRF_HEADER, credentials_for

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


def _static_version() -> str:
    """A digest of the static files, appended to their links so a browser never keeps an old copy after an upgrade."""
    digest = hashlib.sha256()
    for path in sorted(STATIC.iterdir()):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, auto_reload=False)
    version = _static_version()
    env.globals["static"] = lambda name: f"/static/{name}?v={version}"
    env.globals["csrf_field"] = CSRF_FIELD
    env.globals["csrf_header"] = CSRF_HEADER
    return env


class Pages:
    """What the page modules share: the compiled desk, the engine, the service, who is visiting and the renderer."""

    def __init__(self, compiled: CompiledDesk, engine: sa.Engine) -> None:
        self.compiled, self.engine = compiled, engine
        self.desk = compiled.definitions
        self.credentials = credentials_for(compiled, engine)
        self.visitors = Visitors(compiled, self.credentials)
        self.env = environment()
        self._notifications = compiled.table("notifications")

    @cached_property
    def service(self) -> TicketService:
        return TicketService(self.compiled, self.engine)

    def label(self, labels: Labels, visitor: Visitor, fallback: str) -> str:
        return label_for(labels, visitor.language, fallback)

    def unread(self, visitor: Visitor) -> int:
        """The agent's unread notifications, for the count beside the bell on every page."""
        if not visitor.is_agent or visitor.actor is None:
            return 0
        table = self._notifications
        with self.engine.connect() as connection:
            return int(connection.execute(
                sa.select(sa.func.count()).select_from(table)
                .where(table.c.agent_id == visitor.actor.id, table.c.read_at.is_(None))).scalar_one())

    def html(self, template: str, visitor: Visitor, *, status: int = 200, headers: dict[str, str] | None = None,
             **context: Any) -> Response[str]:
        """A whole page (``base.html`` around it) or, with ``partial=True`` in the context, a fragment for htmx."""
        body = self.env.get_template(template).render(
            visitor=visitor, t=visitor.t, desk=self.desk.project.name, languages=self.visitors.languages,
            unread=context.pop("unread", None) if "unread" in context else self.unread(visitor), **context)
        return Response(body, media_type=MediaType.HTML, status_code=status, headers=headers or {})

    def redirect(self, path: str) -> Response[Any]:
        return Redirect(path, status_code=303)

    def exception_handlers(self) -> dict[type[Exception] | int, Any]:
        """Pages answer in HTML: sign in first, go to your own start page, or an error page with the reason."""

        def sign_in(request: Request[Any, Any, Any], exc: SignInRequired) -> Response[Any]:
            if request.headers.get("hx-request"):
                # htmx would swap the sign-in page into a fragment; tell it to load the whole page instead.
                return Response("", status_code=401, headers={"HX-Redirect": "/login"})
            return Redirect("/login?" + urlencode({"next": exc.next_path}), status_code=303)

        def elsewhere(_request: Request[Any, Any, Any], exc: WrongPlace) -> Response[Any]:
            return Redirect(exc.home, status_code=303)

        def stale(request: Request[Any, Any, Any], _exc: CsrfRejected) -> Response[str]:
            visitor = self.visitors.of(request)
            return self.error(visitor, 403, visitor.t("common.csrf_title"), visitor.t("common.csrf_detail"))

        def refused(request: Request[Any, Any, Any], exc: TicketError) -> Response[str]:
            visitor = self.visitors.of(request)
            return self.error(visitor, exc.status, visitor.t(f"common.status_{exc.status}"), exc.detail)

        def http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[str]:
            visitor = self.visitors.of(request)
            return self.error(visitor, exc.status_code, visitor.t(f"common.status_{exc.status_code}"),
                              str(exc.detail))

        return {SignInRequired: sign_in, WrongPlace: elsewhere, CsrfRejected: stale, TicketError: refused,
                HTTPException: http, NotFoundException: http}

    def error(self, visitor: Visitor, status: int, title: str, detail: str) -> Response[str]:
        return self.html("error.html", visitor, status=status, title=title, detail=detail)
