"""The requester portal: a signed-in requester's own requests (and their organization's where the desk allows,
by the service's access rules), new requests by type, a request with its public conversation, replies, and a
satisfaction rating once it is resolved. Public help articles are in ``article_pages``."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

import anyio.to_thread
import sqlalchemy as sa
from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, FromQuery, QueryParameter

from runtime.pages.article_pages import article_handlers
from runtime.pages.form_choices import relation_choices
from runtime.pages.form_fields import TypeForm
from runtime.pages.form_views import submitted, text_of, type_entries, types_page
from runtime.pages.login_pages import Form
from runtime.pages.portal_view import field_rows, state_label, when
from runtime.pages.ratings import COMMENT_MAX, RATEABLE, SCORES, Ratings
from runtime.pages.render import Pages
from runtime.pages.request_forms import RequestForms
from runtime.pages.visitors import Visitor, check_csrf
from runtime.tickets.errors import InvalidTicket
from runtime.tickets.files import TicketFiles
from runtime.tickets.listing import MAX_ID, ListQuery, list_tickets

CHANNEL = "web"
PAGE_SIZE = 25
Cursor = Annotated[str | None, QueryParameter(max_length=500)]


def portal_handlers(pages: Pages) -> list[HTTPRouteHandler]:
    requests = RequestForms(pages)
    ratings = Ratings(pages.compiled, pages.engine)
    files = TicketFiles(pages.compiled, pages.engine)
    desk, timezone = pages.desk, requests.timezone

    def checked_id(ticket_id: int) -> int:
        if not 1 <= ticket_id <= MAX_ID:
            msg = f"no ticket {ticket_id}"
            raise NotFoundException(msg)
        return ticket_id

    @get("/portal", sync_to_thread=True)
    def my_requests(request: Request[Any, Any, Any], cursor: Cursor = None, mine: FromQuery[bool] = False
                    ) -> Response[str]:
        visitor = pages.visitors.contact(request)
        actor = visitor.actor
        assert actor is not None
        query = ListQuery(requester_id=actor.id if mine else None, sort="-updated_at", cursor=cursor,
                          limit=PAGE_SIZE)
        with pages.engine.connect() as connection:
            page = list_tickets(connection, pages.compiled, actor, query)
        rows = [{"id": item["id"], "number": item["number"], "title": item["title"],
                 "status": state_label(desk, item["type"], item["status"], visitor.language),
                 "category": item["status_category"], "updated": when(item["updated_at"], timezone),
                 "updated_iso": item["updated_at"].isoformat(), "own": item["requester_id"] == actor.id}
                for item in page.items]
        return pages.html("portal.html", visitor, title=visitor.t("portal.title"), rows=rows,
                          next_cursor=page.next_cursor, total=page.total, estimate=page.total_is_estimate,
                          organization=actor.sees_organization, mine=mine)

    @get("/portal/new", sync_to_thread=True)
    def choose_type(request: Request[Any, Any, Any]) -> Response[str]:
        visitor = pages.visitors.contact(request)
        t = visitor.t
        return types_page(pages, visitor, type_entries(pages, visitor, desk.types, "/portal/new"),
                          t("portal.new_title"), t("portal.new_intro"))

    @get("/portal/new/{type_name:str}", sync_to_thread=True)
    def new_request(request: Request[Any, Any, Any], type_name: FromPath[str]) -> Response[str]:
        visitor = pages.visitors.contact(request)
        return requests.show(visitor, requests.form(type_name, public=False))

    def submit(request: Request[Any, Any, Any], type_name: str, data: dict[str, Any]) -> Response[Any]:
        visitor = pages.visitors.contact(request)
        check_csrf(request, visitor, data)
        return requests.submit(request, visitor, requests.form(type_name, public=False), data, visitor.actor)

    @post("/portal/new/{type_name:str}")
    async def submit_request(request: Request[Any, Any, Any], type_name: FromPath[str]) -> Response[Any]:
        data = await submitted(request)
        return await anyio.to_thread.run_sync(partial(submit, request, type_name, data))

    def authors(comments: list[dict[str, Any]]) -> dict[tuple[str, int], str]:
        """Who wrote each comment, by (kind, id): agents by name, contacts by name or address."""
        wanted = {"agents": {c["author_agent_id"] for c in comments if c["author_agent_id"]},
                  "contacts": {c["author_contact_id"] for c in comments if c["author_contact_id"]}}
        found: dict[tuple[str, int], str] = {}
        with pages.engine.connect() as connection:
            for table_name, ids in wanted.items():
                if not ids:
                    continue
                table = pages.compiled.table(table_name)
                shown = table.c.name if table_name == "agents" else sa.func.coalesce(table.c.name, table.c.email)
                for row in connection.execute(sa.select(table.c.id, shown).where(table.c.id.in_(ids))):
                    found[(table_name, int(row[0]))] = str(row[1])
        return found

    def ticket_page(visitor: Visitor, ticket_id: int, *, status: int = 200, reply: str = "",
                    reply_error: str | None = None, rating_error: str | None = None,
                    rating_values: dict[str, Any] | None = None, notice: str | None = None) -> Response[str]:
        actor = visitor.actor
        assert actor is not None
        t = visitor.t
        ticket = pages.service.get(actor, ticket_id)
        comments = pages.service.list_comments(actor, ticket_id)  # public ones only, for a requester
        names = authors(comments)
        conversation = [{"id": c["id"], "body": c["body"], "at": when(c["created_at"], timezone),
                         "at_iso": c["created_at"].isoformat(), "from_desk": c["author_agent_id"] is not None,
                         "author": t("portal.you") if c["author_contact_id"] == actor.id else
                         names.get(("agents", c["author_agent_id"] or 0)) or
                         names.get(("contacts", c["author_contact_id"] or 0)) or t("portal.the_desk")}
                        for c in comments]
        form = TypeForm(desk, desk.ticket_type(ticket["type"]) or _missing(ticket["type"]), "requester",
                        status=ticket["status"], timezone=timezone)
        pointed = [f for f in form.fields if f.kind == "relation" and ticket.get(f.name)]
        rows = field_rows(form, ticket, t, relation_choices(pages.compiled, pages.engine, pointed))
        own = ticket["requester_id"] == actor.id
        rating = ratings.of(ticket_id) if own else None
        values = rating_values or ({"score": str(rating.score), "comment": rating.comment or ""} if rating else {})
        return pages.html(
            "portal_ticket.html", visitor, status=status, title=f"{ticket['number']} {ticket['title']}",
            ticket=ticket, status_label=state_label(desk, ticket["type"], ticket["status"], visitor.language),
            type_label=pages.label(form.ticket_type.label, visitor, form.ticket_type.name),
            created=when(ticket["created_at"], timezone), updated=when(ticket["updated_at"], timezone), rows=rows,
            conversation=conversation, files=files.list(actor, ticket_id), reply=reply, reply_error=reply_error,
            can_rate=own and ticket["status_category"] in RATEABLE, rating=rating, rating_error=rating_error,
            rating_values=values, scores=list(SCORES), comment_max=COMMENT_MAX, notice=notice)

    @get("/portal/tickets/{ticket_id:int}", sync_to_thread=True)
    def show_ticket(request: Request[Any, Any, Any], ticket_id: FromPath[int], rated: FromQuery[bool] = False
                    ) -> Response[str]:
        visitor = pages.visitors.contact(request)
        return ticket_page(visitor, checked_id(ticket_id), notice=visitor.t("portal.rating_thanks") if rated else None)

    @post("/portal/tickets/{ticket_id:int}/reply", sync_to_thread=True)
    def reply(request: Request[Any, Any, Any], ticket_id: FromPath[int], data: Form) -> Response[Any]:
        visitor = pages.visitors.contact(request)
        check_csrf(request, visitor, data)
        assert visitor.actor is not None
        body = text_of(data.get("body"))
        try:
            comment = pages.service.comment(visitor.actor, checked_id(ticket_id), body, public=True,
                                            channel=CHANNEL)
        except InvalidTicket:
            return ticket_page(visitor, ticket_id, status=422, reply=body, reply_error=visitor.t("portal.reply_empty"))
        return pages.redirect(f"/portal/tickets/{ticket_id}#comment-{comment['id']}")

    @post("/portal/tickets/{ticket_id:int}/rating", sync_to_thread=True)
    def rate(request: Request[Any, Any, Any], ticket_id: FromPath[int], data: Form) -> Response[Any]:
        visitor = pages.visitors.contact(request)
        check_csrf(request, visitor, data)
        actor, t = visitor.actor, visitor.t
        assert actor is not None
        assert actor.id is not None
        ticket = pages.service.get(actor, checked_id(ticket_id))  # not theirs to see: 404
        if ticket["requester_id"] != actor.id:
            return pages.error(visitor, 403, t("portal.rating_refused"), t("portal.rating_not_yours"))
        if ticket["status_category"] not in RATEABLE:
            return ticket_page(visitor, ticket_id, status=409, notice=t("portal.rating_too_early"))
        score_text = text_of(data.get("score"))
        comment = text_of(data.get("comment"))
        score = int(score_text) if score_text.isdigit() and len(score_text) <= 2 else 0
        if score not in SCORES:
            return ticket_page(visitor, ticket_id, status=422, rating_error=t("portal.rating_score"),
                               rating_values={"score": score_text, "comment": comment})
        if len(comment) > COMMENT_MAX or "\x00" in comment:
            return ticket_page(visitor, ticket_id, status=422, rating_values={"score": score_text, "comment": comment},
                               rating_error=t("portal.rating_comment_long", n=COMMENT_MAX))
        ratings.rate(ticket_id, actor.id, score, comment.strip())
        return pages.redirect(f"/portal/tickets/{ticket_id}?rated=true#rating")

    return [my_requests, choose_type, new_request, submit_request, show_ticket, reply, rate,
            *article_handlers(pages)]


def _missing(type_name: str) -> Any:
    msg = f"the ticket's type '{type_name}' is no longer defined"
    raise NotFoundException(msg)
