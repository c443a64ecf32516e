"""The admin view: the compiled definitions (ticket types and their fields and form sections, workflows drawn as
state diagrams, SLA policies, calendars, collections) and which version of them the desk runs."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath
from markupsafe import Markup

from runtime.config import ir
from runtime.pages.admin_view import Reader
from runtime.pages.config_version import desk_version
from runtime.pages.diagram import CATEGORY_COLOURS, workflow_diagram
from runtime.pages.render import Pages
from runtime.pages.visitors import Visitor
from runtime.tickets.errors import Forbidden, TicketNotFound


def admin_handlers(pages: Pages) -> list[HTTPRouteHandler]:
    desk = pages.desk

    def admin(request: Request[Any, Any, Any]) -> Visitor:
        visitor = pages.visitors.agent(request)
        if not visitor.can("admin"):
            raise Forbidden(visitor.t("admin.forbidden"))
        return visitor

    def diagram(workflow: ir.Workflow, index: int, visitor: Visitor) -> Markup:
        t, reader = visitor.t, Reader(desk, visitor.t)
        name = reader.label(workflow.label, workflow.name)
        initial = reader.state_label(workflow, workflow.initial)
        return workflow_diagram(
            f"workflow-{index}", workflow, visitor.language, title=t("admin.diagram_title", workflow=name),
            desc=t("admin.diagram_desc", states=len(workflow.states), transitions=len(workflow.transitions),
                   initial=initial),
            category_names={c: t(f"admin.category_{c}") for c in CATEGORY_COLOURS})

    def users(workflow: ir.Workflow) -> list[ir.TicketType]:
        return [ticket_type for ticket_type in desk.types if ticket_type.workflow == workflow.name]

    @get("/admin", sync_to_thread=True)
    def overview(request: Request[Any, Any, Any]) -> Response[str]:
        visitor = admin(request)
        workflows = [(workflow, diagram(workflow, i, visitor), users(workflow))
                     for i, workflow in enumerate(desk.workflows)]
        return pages.html("admin.html", visitor, title=visitor.t("admin.title"), definitions=desk,
                          reader=Reader(desk, visitor.t), version=desk_version(pages.compiled, pages.engine),
                          root=str(pages.compiled.root), workflows=workflows)

    @get("/admin/types/{type_name:str}", sync_to_thread=True)
    def ticket_type_page(request: Request[Any, Any, Any], type_name: FromPath[str]) -> Response[str]:
        visitor = admin(request)
        ticket_type = desk.ticket_type(type_name)
        if ticket_type is None:
            raise TicketNotFound(visitor.t("admin.no_type", name=type_name))
        reader = Reader(desk, visitor.t)
        workflow = desk.workflow(ticket_type.workflow)
        return pages.html("admin_type.html", visitor, title=reader.label(ticket_type.label, ticket_type.name),
                          definitions=desk, reader=reader, ticket_type=ticket_type, workflow=workflow)

    @get("/admin/workflows/{workflow_name:str}", sync_to_thread=True)
    def workflow_page(request: Request[Any, Any, Any], workflow_name: FromPath[str]) -> Response[str]:
        visitor = admin(request)
        workflow = desk.workflow(workflow_name)
        if workflow is None:
            raise TicketNotFound(visitor.t("admin.no_workflow", name=workflow_name))
        reader = Reader(desk, visitor.t)
        return pages.html("admin_workflow.html", visitor, title=reader.label(workflow.label, workflow.name),
                          reader=reader, workflow=workflow, diagram=diagram(workflow, 0, visitor),
                          types=users(workflow))

    return [overview, ticket_type_page, workflow_page]
