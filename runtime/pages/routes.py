"""All pages as one router, with HTML error answers of their own, and the vendored static files."""

from __future__ import annotations

import sqlalchemy as sa
from litestar import Router
from litestar.datastructures import CacheControlHeader
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler

from runtime.compile.desk import CompiledDesk
from runtime.pages.admin_pages import admin_handlers
from runtime.pages.dashboard_pages import dashboard_handlers
from runtime.pages.form_pages import form_handlers
from runtime.pages.knowledge_pages import knowledge_handlers
from runtime.pages.login_pages import login_handlers
from runtime.pages.portal_pages import portal_handlers
from runtime.pages.queue_pages import queue_handlers
from runtime.pages.render import STATIC, Pages
from runtime.pages.ticket_pages import ticket_handlers


def page_routes(compiled: CompiledDesk, engine: sa.Engine) -> list[ControllerRouterHandler]:
    pages = Pages(compiled, engine)
    handlers = [*login_handlers(pages), *queue_handlers(pages), *ticket_handlers(pages), *form_handlers(pages),
                *portal_handlers(pages), *dashboard_handlers(pages), *admin_handlers(pages),
                *knowledge_handlers(pages)]
    router = Router(path="/", route_handlers=handlers, exception_handlers=pages.exception_handlers(),
                    include_in_schema=False)
    # Links to static files carry the files' digest (render._static_version), so a browser may keep them long.
    static = create_static_files_router(path="/static", directories=[STATIC], include_in_schema=False,
                                        name="static",
                                        cache_control=CacheControlHeader(max_age=365 * 24 * 3600))
    return [router, static]
