"""New tickets from the generated forms: agents' internal form (``/tickets/new``) created through the ticket
service as the agent, and the public forms (``/forms``) for anonymous visitors through the form intake."""

from __future__ import annotations

from functools import partial
from typing import Any

import anyio.to_thread
from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath

from runtime.pages.form_choices import relation_choices
from runtime.pages.form_fields import TypeForm
from runtime.pages.form_intake import desk_timezone
from runtime.pages.form_views import FormPage, refusals, show_form, submitted, type_entries, types_page
from runtime.pages.render import Pages
from runtime.pages.request_forms import RequestForms
from runtime.pages.visitors import CSRF_FIELD, Visitor, check_csrf
from runtime.tickets.errors import InvalidTicket, TicketError, TicketNotFound
from runtime.tickets.files import TicketFiles

CHANNEL = "form"


def form_handlers(pages: Pages) -> list[HTTPRouteHandler]:
    requests = RequestForms(pages)
    files = TicketFiles(pages.compiled, pages.engine)
    timezone = desk_timezone(pages.desk)

    def agent_form(type_name: str) -> TypeForm:
        form = TypeForm.of(pages.desk, type_name, "agent", timezone=timezone)
        if form is None:
            msg = f"no ticket type '{type_name[:100]}'"
            raise NotFoundException(msg)
        return form

    def show_agent_form(visitor: Visitor, form: TypeForm, status: int = 200, **shown: Any) -> Response[str]:
        ticket_type = form.ticket_type
        page = FormPage(form, f"/tickets/new/{ticket_type.name}",
                        pages.label(ticket_type.label, visitor, ticket_type.name),
                        pages.label(ticket_type.description, visitor, ""),
                        ((CSRF_FIELD, visitor.csrf_token or ""),), back="/tickets/new")
        return show_form(pages, visitor, page, choices=relation_choices(pages.compiled, pages.engine, form.fields),
                         status=status, **shown)

    @get("/tickets/new", sync_to_thread=True)
    def choose_type(request: Request[Any, Any, Any]) -> Response[str]:
        visitor = pages.visitors.agent(request)
        t = visitor.t
        return types_page(pages, visitor, type_entries(pages, visitor, pages.desk.types, "/tickets/new"),
                          t("forms.new_ticket"), t("forms.choose_type"))

    @get("/tickets/new/{type_name:str}", sync_to_thread=True)
    def new_ticket(request: Request[Any, Any, Any], type_name: FromPath[str]) -> Response[str]:
        visitor = pages.visitors.agent(request)
        return show_agent_form(visitor, agent_form(type_name))

    def create(request: Request[Any, Any, Any], type_name: str, data: dict[str, Any]) -> Response[Any]:
        visitor = pages.visitors.agent(request)
        check_csrf(request, visitor, data)
        assert visitor.actor is not None
        form = agent_form(type_name)
        parsed = form.parse(data)
        try:
            if parsed.errors:
                per_field, rest = form.place_errors(refusals(parsed, pages.compiled.create_models[type_name]),
                                                    visitor.t, parsed.errors)
                return show_agent_form(visitor, form, 422, values=data, errors=per_field, form_errors=rest)
            ticket = pages.service.create(visitor.actor, type_name, parsed.payload, CHANNEL)
        except InvalidTicket as exc:
            per_field, rest = form.place_errors(exc.errors, visitor.t)
            return show_agent_form(visitor, form, 422, values=data, errors=per_field, form_errors=rest)
        visible = True
        try:
            pages.service.get(visitor.actor, int(ticket["id"]))
        except TicketNotFound:
            visible = False  # routed to a team whose tickets this agent does not see
        problems = attach(visitor, form, int(ticket["id"]), data) if visible else \
            [visitor.t("forms.files_not_attached")] if form.uploads(data) else []
        if problems or not visible:
            return pages.html("form_created.html", visitor, title=visitor.t("forms.created_title"),
                              number=ticket["number"], ticket_id=ticket["id"], problems=problems, visible=visible)
        return pages.redirect(f"/tickets/{ticket['id']}")

    def attach(visitor: Visitor, form: TypeForm, ticket_id: int, data: dict[str, Any]) -> list[str]:
        """Files go on the new ticket, then into their fields; a file refused leaves the ticket, and says why."""
        assert visitor.actor is not None
        problems: list[str] = []
        chosen: dict[str, Any] = {}
        for name, uploads in form.uploads(data).items():
            ids = []
            for upload in uploads:
                try:
                    stored = files.attach(visitor.actor, ticket_id, upload.file, upload.filename, upload.content_type,
                                          channel=CHANNEL)
                except TicketError as exc:
                    problems.append(visitor.t("forms.file_refused", name=upload.filename, reason=exc.detail))
                    continue
                ids.append(int(stored["id"]))
            if ids:
                multiple = form.definitions[name].multiple
                chosen[name] = ids if multiple else ids[0]
        if chosen:
            try:
                version = pages.service.get(visitor.actor, ticket_id)["version"]
                pages.service.update(visitor.actor, ticket_id, {**chosen, "version": version}, CHANNEL)
            except TicketError as exc:
                problems.append(exc.detail)
        return problems

    @post("/tickets/new/{type_name:str}")
    async def create_ticket(request: Request[Any, Any, Any], type_name: FromPath[str]) -> Response[Any]:
        data = await submitted(request)
        return await anyio.to_thread.run_sync(partial(create, request, type_name, data))

    @get("/forms", sync_to_thread=True)
    def public_forms(request: Request[Any, Any, Any]) -> Response[str]:
        visitor = pages.visitors.of(request)
        t = visitor.t
        public = [ticket_type for ticket_type in pages.desk.types if ticket_type.public_form]
        return types_page(pages, visitor, type_entries(pages, visitor, public, "/forms"), t("forms.public_title"),
                          t("forms.public_intro"))

    @get("/forms/{type_name:str}", sync_to_thread=True)
    def public_form(request: Request[Any, Any, Any], type_name: FromPath[str]) -> Response[Any]:
        visitor = pages.visitors.of(request)
        form = requests.form(type_name, public=True)
        if visitor.actor is not None:
            # Signed in, they are known: their own form, without asking who they are.
            return pages.redirect(f"/tickets/new/{type_name}" if visitor.is_agent else f"/portal/new/{type_name}")
        return requests.show(visitor, form)

    def submit_public(request: Request[Any, Any, Any], type_name: str, data: dict[str, Any]) -> Response[Any]:
        visitor = pages.visitors.of(request)
        form = requests.form(type_name, public=True)
        # Whoever is signed in, this form asks who they are: it is submitted as the address typed into it.
        anonymous = Visitor(None, None, visitor.language, visitor.t, visitor.path)
        return requests.submit(request, anonymous, form, data, None)

    @post("/forms/{type_name:str}")
    async def submit_public_form(request: Request[Any, Any, Any], type_name: FromPath[str]) -> Response[Any]:
        data = await submitted(request)
        return await anyio.to_thread.run_sync(partial(submit_public, request, type_name, data))

    return [choose_type, new_ticket, create_ticket, public_forms, public_form, submit_public_form]
