"""Ticket types: unique names and prefixes, known workflows and categories, consistent forms."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePosixPath

from runtime.config import ir
from runtime.config.checks import Problem
from runtime.config.errors import did_you_mean, format_path, one_of

# Core columns an agent edits through a type's form.
FORM_CORE_FIELDS = ("title", "description", "priority", "category", "tags", "requester_id", "assignee_id",
                    "team_id", "language")


def _form_problems(desk: ir.Desk, ticket_type: ir.TicketType) -> Iterator[Problem]:
    known = [*FORM_CORE_FIELDS, *(f.name for f in desk.master_fields), *(f.name for f in ticket_type.fields)]
    workflow = desk.workflow(ticket_type.workflow)
    states = [s.name for s in workflow.states] if workflow else []
    placed: dict[str, ir.Src] = {}
    for section in ticket_type.sections:
        for index, name in enumerate(section.fields):
            src = section.src.at("fields", index)
            if name not in known:
                yield Problem(src, "form names an unknown field", expected=one_of(known, limit=20),
                              found=f"'{name}'", hint=did_you_mean(name, known) or "declare it under 'fields' first")
            elif name in placed:
                yield Problem(src, "duplicate field: placed in two form sections", found=f"'{name}'",
                              hint=f"it is already in {format_path(placed[name].path[:-2])}; keep one")
            else:
                placed[name] = src
        for index, state in enumerate(section.visible_in or ()):
            if workflow and state not in states:
                yield Problem(section.src.at("visible_in", index), "visible_in names an unknown state",
                              expected=one_of(states), found=f"'{state}'", hint=did_you_mean(state, states))


def check(desk: ir.Desk) -> Iterator[Problem]:
    seen_names: dict[str, ir.TicketType] = {}
    seen_prefixes: dict[str, ir.TicketType] = {}
    workflows = [w.name for w in desk.workflows if not w.name.endswith("(inline)")]
    categories = [c.value for c in desk.categories]
    for ticket_type in desk.types:
        stem = PurePosixPath(ticket_type.src.file).stem
        if ticket_type.name != stem:
            yield Problem(ticket_type.src.at("type"), "type name differs from its file name",
                          expected=f"'{stem}' (the file is {ticket_type.src.file})", found=f"'{ticket_type.name}'",
                          hint="rename the file or the type so that each type is found by its name")
        if ticket_type.name in seen_names:
            first = seen_names[ticket_type.name]
            yield Problem(ticket_type.src.at("type"), "ticket type defined twice", found=f"'{ticket_type.name}'",
                          hint=f"it is also defined in {first.src.file}")
        seen_names.setdefault(ticket_type.name, ticket_type)
        if ticket_type.number_prefix in seen_prefixes:
            other = seen_prefixes[ticket_type.number_prefix]
            yield Problem(ticket_type.src.at("number_prefix"), "number prefix already used by another type",
                          found=f"'{ticket_type.number_prefix}'",
                          hint=f"'{other.name}' numbers its tickets {other.number_prefix}-000001; pick another")
        seen_prefixes.setdefault(ticket_type.number_prefix, ticket_type)
        if desk.workflow(ticket_type.workflow) is None:
            yield Problem(ticket_type.src.at("workflow"), "unknown workflow", expected=one_of(workflows),
                          found=f"'{ticket_type.workflow}'", hint=did_you_mean(ticket_type.workflow, workflows)
                          or "define it in ticket_types/_workflows.yaml or inline under 'workflow:'")
        for index, category in enumerate(ticket_type.categories):
            if category not in categories:
                yield Problem(ticket_type.src.at("categories", index), "unknown category",
                              expected=one_of(categories), found=f"'{category}'",
                              hint=did_you_mean(category, categories) or "add it to categories in _master.yaml")
        yield from _form_problems(desk, ticket_type)
