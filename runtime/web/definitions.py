"""The compiled definitions as JSON for clients (``/api/v1/types``)."""

from __future__ import annotations

from typing import Any

from runtime.config import ir


def _labels(labels: ir.Labels) -> dict[str, str]:
    return dict(labels)


def field_view(field: ir.Field) -> dict[str, Any]:
    view: dict[str, Any] = {"name": field.name, "kind": field.kind, "label": _labels(field.label),
                            "required": field.required}
    if field.help:
        view["help"] = _labels(field.help)
    if field.options:
        view["options"] = [{"value": o.value, "label": _labels(o.label)} for o in field.options]
    if field.to:
        view["to"] = field.to
    if field.of:
        view["of"] = field.of
    if field.default is not None:
        view["default"] = field.default
    return view


def workflow_view(workflow: ir.Workflow) -> dict[str, Any]:
    return {
        "initial": workflow.initial,
        "states": [{"name": s.name, "category": s.category, "label": _labels(s.label)} for s in workflow.states],
        "transitions": [{"name": t.name, "from": list(t.sources), "to": t.target, "label": _labels(t.label),
                         "roles": list(t.roles), "requires": list(t.requires)} for t in workflow.transitions],
    }


def type_view(desk: ir.Desk, ticket_type: ir.TicketType) -> dict[str, Any]:
    workflow = desk.workflow(ticket_type.workflow)
    return {
        "name": ticket_type.name,
        "label": _labels(ticket_type.label),
        "description": _labels(ticket_type.description),
        "number_prefix": ticket_type.number_prefix,
        "default_priority": ticket_type.default_priority,
        "categories": list(ticket_type.categories),
        "fields": [field_view(f) for f in (*desk.master_fields, *ticket_type.fields)],
        "form": [{"title": _labels(s.title), "fields": list(s.fields),
                  "visible_in": list(s.visible_in) if s.visible_in is not None else None}
                 for s in ticket_type.sections],
        "workflow": workflow_view(workflow) if workflow else None,
        "schema": f"/api/v1/types/{ticket_type.name}/schema",
    }
