"""Access rules, applied inside every query the service makes, so lists and counts never leak.

- admin (and the system): every ticket;
- agent: tickets of their teams, assigned to them, or not yet routed to any team (the shared
  triage queue); every ticket with ``access.agents_see: all``;
- supervisor: as an agent, plus tickets assigned to the agents they manage;
- requester: their own tickets, and their organization's when allowed; public comments only.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.tickets.actors import Actor

# Fields a requester never sees on their own tickets.
INTERNAL_FIELDS = frozenset({"assignee_id", "team_id"})


def visible(compiled: CompiledDesk, actor: Actor) -> sa.ColumnElement[bool]:
    """The WHERE clause restricting ``tickets`` to what ``actor`` may see."""
    tickets = compiled.table("tickets")
    if actor.has("admin"):
        return sa.true()
    if actor.kind == "contact":
        own = tickets.c.requester_id == actor.id
        if actor.sees_organization and actor.organization_id is not None:
            return sa.or_(own, tickets.c.organization_id == actor.organization_id)
        return own
    if compiled.definitions.project.agents_see == "all":
        return sa.true()
    clauses: list[sa.ColumnElement[bool]] = [tickets.c.assignee_id == actor.id, tickets.c.team_id.is_(None)]
    if actor.team_ids:
        clauses.append(tickets.c.team_id.in_(sorted(actor.team_ids)))
    if actor.has("supervisor") and actor.report_ids:
        clauses.append(tickets.c.assignee_id.in_(sorted(actor.report_ids)))
    return sa.or_(*clauses)


def redact(ticket: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """What ``actor`` may read of a ticket they can see."""
    if actor.kind != "contact":
        return ticket
    return {k: v for k, v in ticket.items() if k not in INTERNAL_FIELDS}
