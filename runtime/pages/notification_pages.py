"""An agent's notifications: assignments, mentions and SLA warnings and breaches, unread ones first, each linking
to its ticket; marking one or all read (the count beside the bell in the header follows)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, Response, get, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath

from runtime.db.engine import write_transaction
from runtime.notify.inbox import Notices
from runtime.pages.login_pages import Form
from runtime.pages.render import Pages
from runtime.pages.visitors import SignInRequired, Visitor, check_csrf, safe_next
from runtime.tickets.actors import Actor
from runtime.tickets.listing import MAX_ID

UNREAD_SHOWN = 200  # unread notices on one page; reading them brings up the rest
READ_PAGE = 50
KINDS = ("assigned", "mention", "sla")  # the kinds with words of their own in the catalog


def agent_visit(pages: Pages, request: Request[Any, Any, Any]) -> tuple[Visitor, Actor, int]:
    """The signed-in agent, their actor and id (else the visitor is sent to sign in, or to the portal)."""
    visitor = pages.visitors.agent(request)
    actor = visitor.actor
    if actor is None or actor.id is None:  # visitors.agent has made sure of both; this tells the type checker
        raise SignInRequired(visitor.path)
    return visitor, actor, actor.id


def row_key(text: str | None) -> int | None:
    """A row's id from the address, or None when it is not one (a 404, not a database error)."""
    if text and text.isascii() and text.isdigit() and len(text) < 20 and 0 < int(text) <= MAX_ID:
        return int(text)
    return None


def notification_handlers(pages: Pages) -> list[HTTPRouteHandler]:
    engine = pages.engine
    notices = Notices(pages.compiled)

    @get("/notifications", sync_to_thread=True)
    def listing(request: Request[Any, Any, Any]) -> Response[str]:
        visitor, _, agent_id = agent_visit(pages, request)
        asked = request.query_params.get("before")
        before = row_key(asked)
        if asked and before is None:
            return pages.error(visitor, 400, visitor.t("common.status_400"), visitor.t("notifications.bad_page"))
        with engine.connect() as connection:
            unread = notices.unread(connection, agent_id, UNREAD_SHOWN) if before is None else []
            read = notices.read(connection, agent_id, before, READ_PAGE + 1)
        older = f"/notifications?before={read[READ_PAGE - 1].id}" if len(read) > READ_PAGE else None
        kinds = {kind: visitor.t(f"notifications.kind_{kind}") for kind in KINDS}
        return pages.html("notifications.html", visitor, unread_notices=unread, read_notices=read[:READ_PAGE],
                          older=older, paged=before is not None, kinds=kinds, here=visitor.path)

    @post("/notifications/{notice_id:str}/read", sync_to_thread=True)
    def mark_read(request: Request[Any, Any, Any], notice_id: FromPath[str], data: Form) -> Response[Any]:
        visitor, _, agent_id = agent_visit(pages, request)
        check_csrf(request, visitor, data)
        key = row_key(notice_id)
        with write_transaction(engine) as connection:
            found = key is not None and notices.mark_read(connection, agent_id, key, dt.datetime.now(dt.UTC))
        if not found:
            return pages.error(visitor, 404, visitor.t("common.status_404"), visitor.t("notifications.missing"))
        return pages.redirect(safe_next(str(data.get("next") or ""), "/notifications"))

    @post("/notifications/read-all", sync_to_thread=True)
    def mark_all_read(request: Request[Any, Any, Any], data: Form) -> Response[Any]:
        visitor, _, agent_id = agent_visit(pages, request)
        check_csrf(request, visitor, data)
        with write_transaction(engine) as connection:
            notices.mark_all_read(connection, agent_id, dt.datetime.now(dt.UTC))
        return pages.redirect(safe_next(str(data.get("next") or ""), "/notifications"))

    return [listing, mark_read, mark_all_read]
