"""Access rules, applied inside every query the service makes, so lists and counts never leak.

- admin (and the system): every ticket;
- agent: tickets of their teams, assigned to them, or not yet routed to any team (the shared
  triage queue); every ticket with ``access.agents_see: all``;
- supervisor: as an agent, plus tickets assigned to the agents they manage;
- requester: their own tickets, and their organization's when allowed; public comments only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.tickets.actors import Actor

# Fields a requester never sees on their own tickets.
INTERNAL_FIELDS = frozenset({"assignee_id", "team_id"})


def facets(compiled: CompiledDesk, actor: Actor) -> tuple[str, ...]:
    """Which of the rule's clauses apply to ``actor``: the shape of their WHERE clause, whatever their ids."""
    if actor.has("admin"):
        return ("all",)
    if actor.kind == "contact":
        return ("own", "organization") if actor.sees_organization and actor.organization_id is not None else ("own",)
    if compiled.definitions.project.agents_see == "all":
        return ("all",)
    shape = ["assigned", "unrouted"]
    if actor.team_ids:
        shape.append("teams")
    if actor.has("supervisor") and actor.report_ids:
        shape.append("reports")
    return tuple(shape)


# The actor's values of the facets that have one, by facet.
_VALUES: dict[str, Callable[[Actor], Any]] = {
    "own": lambda actor: actor.id,
    "organization": lambda actor: actor.organization_id,
    "assigned": lambda actor: actor.id,
    "teams": lambda actor: sorted(actor.team_ids),
    "reports": lambda actor: sorted(actor.report_ids),
}


def _clause(tickets: sa.Table, shape: tuple[str, ...], value: Callable[[str], Any]) -> sa.ColumnElement[bool]:
    if shape == ("all",):
        return sa.true()
    build: dict[str, Callable[[], sa.ColumnElement[bool]]] = {
        "own": lambda: tickets.c.requester_id == value("own"),
        "organization": lambda: tickets.c.organization_id == value("organization"),
        "assigned": lambda: tickets.c.assignee_id == value("assigned"),
        "unrouted": lambda: tickets.c.team_id.is_(None),
        "teams": lambda: tickets.c.team_id.in_(value("teams")),
        "reports": lambda: tickets.c.assignee_id.in_(value("reports")),
    }
    clauses = [build[facet]() for facet in shape]
    return clauses[0] if len(clauses) == 1 else sa.or_(*clauses)


def visible(compiled: CompiledDesk, actor: Actor) -> sa.ColumnElement[bool]:
    """The WHERE clause restricting ``tickets`` to what ``actor`` may see."""
    return _clause(compiled.table("tickets"), facets(compiled, actor), lambda facet: _VALUES[facet](actor))


def bound_visible(tickets: sa.Table, shape: tuple[str, ...]) -> sa.ColumnElement[bool]:
    """``visible`` for every actor of this shape, their ids left as parameters (``visible_parameters``): a
    clause to build into a statement once and execute for many actors."""
    return _clause(tickets, shape, lambda facet: sa.bindparam(f"visible_{facet}", expanding=facet in ("teams",
                                                                                                      "reports")))


def visible_parameters(actor: Actor, shape: tuple[str, ...]) -> dict[str, Any]:
    """The values of ``bound_visible``'s parameters for ``actor``."""
    return {f"visible_{facet}": _VALUES[facet](actor) for facet in shape if facet in _VALUES}


def redact(ticket: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """What ``actor`` may read of a ticket they can see."""
    if actor.kind != "contact":
        return ticket
    return {k: v for k, v in ticket.items() if k not in INTERNAL_FIELDS}
