"""Rebalancing a team: its open tickets that nobody holds, and the excess of agents over capacity, go to the agents
the team's strategy picks, each move decided, recorded and audited as the system's."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from runtime.ai.assignment import Decision, assigner_for
from runtime.tickets.actors import SYSTEM
from runtime.tickets.service import TicketService

CHANNEL = "assign"


@dataclass(frozen=True)
class Move:
    number: str
    from_agent: str | None
    decision: Decision

    @property
    def moved(self) -> bool:
        return self.decision.agent_id is not None


class UnknownTeam(LookupError):
    pass


def rebalance(service: TicketService, connection: sa.Connection, team: str, now: dt.datetime) -> list[Move]:
    """Decide for each ticket to move, in order (unassigned ones oldest first, then each overloaded agent's newest
    beyond capacity), and apply each decision at once, so that the next one sees the loads it leaves."""
    assigner = assigner_for(service.compiled)
    teams, t = service.compiled.table("teams"), service.tickets
    team_id = connection.execute(sa.select(teams.c.id).where(teams.c.name == team)).scalar()
    if team_id is None:
        raise UnknownTeam(team)
    columns = (t.c.id, t.c.number, t.c.type, t.c.category, t.c.team_id, t.c.assignee_id, t.c.version)
    open_tickets = sa.select(*columns).where(t.c.team_id == team_id, t.c.status_category == "open")
    queue = list(connection.execute(open_tickets.where(t.c.assignee_id.is_(None)).order_by(t.c.created_at, t.c.id)))
    members = {m.agent_id: m for m in assigner.members(connection, team_id)}
    for member in members.values():
        excess = member.load - member.capacity
        if excess > 0:
            newest = open_tickets.where(t.c.assignee_id == member.agent_id).order_by(t.c.created_at.desc(),
                                                                                    t.c.id.desc())
            queue += list(connection.execute(newest.limit(excess)))
    moves = []
    for row in queue:
        ticket = dict(row._mapping)
        decision = assigner.decide(connection, ticket, now)
        assigner.record(connection, decision, applied=decision.agent_id is not None, now=now)
        if decision.agent_id is not None:
            service.update_in(connection, SYSTEM, ticket["id"], {"assignee_id": decision.agent_id,
                                                                 "version": ticket["version"]}, CHANNEL)
        holder = members.get(ticket["assignee_id"])
        moves.append(Move(ticket["number"], holder.username if holder else None, decision))
    return moves
