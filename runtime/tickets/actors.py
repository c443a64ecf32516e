"""Who is acting: an agent, a requester (contact) or the system, with what the access rules need."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.tickets.errors import Forbidden


@dataclass(frozen=True)
class Actor:
    kind: str  # agent | contact | system
    id: int | None
    name: str
    roles: frozenset[str]
    team_ids: frozenset[int] = field(default_factory=frozenset)
    report_ids: frozenset[int] = field(default_factory=frozenset)  # agents a supervisor manages
    organization_id: int | None = None
    sees_organization: bool = False

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.name}"

    @property
    def is_agent(self) -> bool:
        return self.kind in ("agent", "system")

    def has(self, role: str) -> bool:
        return role in self.roles or "system" in self.roles


SYSTEM = Actor("system", None, "system", frozenset({"system", "admin"}))


def _agent_queries(compiled: CompiledDesk) -> tuple[sa.Select[Any], sa.Select[Any], sa.Select[Any]]:
    def build() -> tuple[sa.Select[Any], sa.Select[Any], sa.Select[Any]]:
        agents, members = compiled.table("agents"), compiled.table("team_members")
        agent: sa.BindParameter[int] = sa.bindparam("agent_id")
        return (sa.select(agents.c.username, agents.c.roles, agents.c.active).where(agents.c.id == agent),
                sa.select(members.c.team_id).where(members.c.agent_id == agent),
                sa.select(agents.c.id).where(agents.c.manager_id == agent))

    return compiled.memo("actors.agent", build)


def agent_actor(connection: sa.Connection, compiled: CompiledDesk, agent_id: int) -> Actor:
    agent, teams_of, reports_of = _agent_queries(compiled)
    parameters = {"agent_id": agent_id}
    row = connection.execute(agent, parameters).first()
    if row is None or not row.active:
        msg = "unknown or inactive agent"
        raise Forbidden(msg)
    teams = connection.execute(teams_of, parameters).scalars()
    reports = connection.execute(reports_of, parameters).scalars()
    return Actor("agent", agent_id, row.username, frozenset(row.roles) | {"agent"}, frozenset(teams),
                 frozenset(reports))


def contact_actor(connection: sa.Connection, compiled: CompiledDesk, contact_id: int) -> Actor:
    def build() -> sa.Select[Any]:
        contacts = compiled.table("contacts")
        return sa.select(contacts.c.email, contacts.c.organization_id, contacts.c.sees_organization_tickets
                         ).where(contacts.c.id == sa.bindparam("contact_id"))

    row = connection.execute(compiled.memo("actors.contact", build), {"contact_id": contact_id}).first()
    if row is None:
        msg = "unknown contact"
        raise Forbidden(msg)
    sees = bool(row.sees_organization_tickets) or compiled.definitions.project.requesters_see_organization
    return Actor("contact", contact_id, row.email or f"contact-{contact_id}", frozenset({"requester"}),
                 organization_id=row.organization_id, sees_organization=sees and row.organization_id is not None)
