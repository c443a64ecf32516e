"""The contract of a canned response's template: the sandbox it is compiled and filled in, and the names it may use.

The desk's checks compile every body with this environment when the definitions load, and the ticket page fills
them with it, so that a template that passed the check cannot fail on a name the page does not provide.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jinja2 import StrictUndefined, meta, nodes
from jinja2.sandbox import SandboxedEnvironment

from runtime.config import ir
from runtime.config.core_columns import CORE_COLUMNS

# What a template finds beside the ticket's own fields: the names people read instead of ids and codes.
TICKET_EXTRAS = ("requester_name", "requester_email", "assignee_name", "team_name", "type_label", "status_label")
TOP_NAMES = ("ticket", "agent_name")


def _blank_none(value: Any) -> Any:
    # An empty field reads as nothing in a reply, not as the word "None".
    return "" if value is None else value


def environment() -> SandboxedEnvironment:
    """A sandbox (no attribute tricks reach Python internals) in which an unknown name is an error, not a blank."""
    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, finalize=_blank_none,
                                keep_trailing_newline=False)


def ticket_names(desk: ir.Desk, ticket_type: ir.TicketType) -> tuple[str, ...]:
    """Every ``ticket.<name>`` a template of this type may use."""
    return (*CORE_COLUMNS, *(f.name for f in desk.master_fields), *(f.name for f in ticket_type.fields),
            *TICKET_EXTRAS)


def unknown_names(template: nodes.Template, ticket: tuple[str, ...]) -> Iterator[tuple[str, int]]:
    """The names a parsed template uses that filling it will not provide, each with its line in the template."""
    undeclared = meta.find_undeclared_variables(template) - set(TOP_NAMES)
    for name in sorted(undeclared):
        line = next((n.lineno for n in template.find_all(nodes.Name) if n.name == name), 1)
        yield name, line
    known = set(ticket)
    for node in template.find_all((nodes.Getattr, nodes.Getitem)):
        assert isinstance(node, (nodes.Getattr, nodes.Getitem))
        attribute = _key(node)
        if isinstance(node.node, nodes.Name) and node.node.name == "ticket" and attribute is not None \
                and attribute not in known:
            yield f"ticket.{attribute}", node.lineno


def _key(node: nodes.Getattr | nodes.Getitem) -> str | None:
    """The name read by ``ticket.name`` or ``ticket['name']``; None for a computed key."""
    if isinstance(node, nodes.Getattr):
        return str(node.attr)
    if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
        return node.arg.value
    return None
