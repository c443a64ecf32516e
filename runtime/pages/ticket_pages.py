"""The agent's ticket page and what it loads on request: a canned response or a suggested reply put into the
composer, and similar tickets and articles. The changes the page makes are in ``ticket_actions``."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, Response, get
from litestar.handlers import HTTPRouteHandler
from litestar.params import PathParameter

from runtime.pages.render import Pages
from runtime.pages.ticket_actions import action_handlers
from runtime.pages.ticket_answer import Answers, is_htmx
from runtime.pages.ticket_canned import CannedFailed, context, fill
from runtime.pages.ticket_names import Names
from runtime.pages.ticket_view import Draft, TicketView
from runtime.pages.visitors import Visitor
from runtime.tickets.listing import MAX_ID

Id = Annotated[int, PathParameter(ge=1, le=MAX_ID)]
Name = Annotated[str, PathParameter(max_length=100)]


def _number(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() and 0 < int(text) <= MAX_ID else None


def ticket_handlers(pages: Pages) -> list[HTTPRouteHandler]:
    view = TicketView(pages)
    answers = Answers(pages, view)

    def prefilled(visitor: Visitor, ticket_id: int, canned: str | None, suggestion: int | None) -> Draft:
        """The reply box with a canned response or a suggested reply in it (or a message saying why not)."""
        assert visitor.actor is not None
        if suggestion is not None:
            body = view.ai.reply_body(visitor.actor, ticket_id, suggestion)
            if body is None:
                return Draft(canned_error=visitor.t("ticket.suggestion_missing"))
            return Draft(body=body, suggestion_id=suggestion)
        if canned:
            ticket = pages.service.get(visitor.actor, ticket_id)
            with pages.engine.connect() as connection:
                names = Names(connection, pages.compiled, ticket, visitor.t)
                values = context(connection, pages.compiled, ticket, names)
            try:
                agent = names.record("agents", visitor.actor.id)
                return Draft(body=fill(pages.compiled, values, canned, visitor.language, agent))
            except CannedFailed as exc:
                return Draft(canned_error=visitor.t("ticket.canned_failed", reason=str(exc)))
        return Draft()

    def reply_box(request: Request[Any, Any, Any], ticket_id: int, canned: str | None, suggestion: int | None
                  ) -> Response[Any]:
        visitor = pages.visitors.agent(request)
        if not is_htmx(request):
            query = {"canned": canned} if canned else {"suggestion": suggestion} if suggestion else {}
            return pages.redirect(f"/tickets/{ticket_id}?{urlencode(query)}#reply-body")
        draft = prefilled(visitor, ticket_id, canned, suggestion)
        return pages.html("_ticket_reply_box.html", visitor, unread=0, reply=draft)

    @get("/tickets/{ticket_id:int}", sync_to_thread=True)
    def ticket_page(request: Request[Any, Any, Any], ticket_id: Id) -> Response[str]:
        visitor = pages.visitors.agent(request)
        query = dict(request.query_params)
        reply = prefilled(visitor, ticket_id, query.get("canned") or None, _number(query.get("suggestion")))
        return answers.page(request, visitor, ticket_id, reply=reply, notice=answers.notice(visitor, query),
                            sent=_number(query.get("sent")))

    @get("/tickets/{ticket_id:int}/canned/{name:str}", sync_to_thread=True)
    def canned_response(request: Request[Any, Any, Any], ticket_id: Id, name: Name) -> Response[Any]:
        return reply_box(request, ticket_id, name, None)

    @get("/tickets/{ticket_id:int}/canned", sync_to_thread=True)
    def canned_chosen(request: Request[Any, Any, Any], ticket_id: Id) -> Response[Any]:
        """The composer's select sends the response's name as a parameter (a form cannot put it in the path)."""
        return reply_box(request, ticket_id, str(request.query_params.get("name") or "")[:100] or None, None)

    @get("/tickets/{ticket_id:int}/composer", sync_to_thread=True)
    def composer(request: Request[Any, Any, Any], ticket_id: Id) -> Response[Any]:
        return reply_box(request, ticket_id, None, _number(request.query_params.get("suggestion")))

    @get("/tickets/{ticket_id:int}/similar", sync_to_thread=True)
    def similar(request: Request[Any, Any, Any], ticket_id: Id) -> Response[str]:
        visitor = pages.visitors.agent(request)
        assert visitor.actor is not None
        found = view.ai.similar(visitor.actor, ticket_id)
        if is_htmx(request):
            return pages.html("_ticket_similar.html", visitor, unread=0, similar=found)
        ticket = pages.service.get(visitor.actor, ticket_id)
        return pages.html("ticket_similar.html", visitor, similar=found, ticket_id=ticket_id,
                          number=ticket["number"])

    return [ticket_page, canned_response, canned_chosen, composer, similar, *action_handlers(pages, view, answers)]
