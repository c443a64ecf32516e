"""What an escalation step does: tell people (in the app at once; by email or webhook through the outbox),
change the ticket (raise its priority, set fields, reassign) and run a workflow transition — all inside the
sweep's transaction, as the system, audited on the ticket like any other change."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.config import ir
from runtime.config.core_columns import PRIORITIES
from runtime.notify.outbox import Outbox
from runtime.sla.clock import Clock
from runtime.tickets.actors import SYSTEM
from runtime.tickets.errors import TicketError
from runtime.tickets.records import load

log = logging.getLogger("tessera.sla")
CHANNEL = "sla"


def raised(priority: str | None) -> str | None:
    """One step more urgent (P3 → P2 … P0 stays P0)."""
    if priority not in PRIORITIES:
        return priority
    return PRIORITIES[max(0, PRIORITIES.index(priority) - 1)]


class Escalator:
    def __init__(self, compiled: CompiledDesk, engine: sa.Engine) -> None:
        # Imported here: the ticket service itself calls into the SLA clocks.
        from runtime.tickets.service import TicketService

        self.compiled = compiled
        self.service = TicketService(compiled, engine)
        self.outbox = Outbox(compiled)
        self.agents, self.teams = compiled.table("agents"), compiled.table("teams")
        self.members, self.contacts = compiled.table("team_members"), compiled.table("contacts")

    def fire(self, connection: sa.Connection, ticket_id: int, clock: Clock, step: ir.Escalation,
             now: dt.datetime) -> dict[str, Any]:
        """Carry out one step; returns what was done, for the SLA event's record."""
        ticket = load(connection, self.compiled, SYSTEM, ticket_id)
        late = clock.breached_at is not None
        title = (f"{ticket['number']}: {clock.metric.replace('_', ' ')} "
                 f"{'breached' if late else 'due ' + _when(clock.due_at)} ({clock.policy})")
        body = f"{ticket['title']}\nDue: {_when(clock.due_at)}\nPolicy: {clock.policy}"
        done: dict[str, Any] = {"notified": self._notify(connection, ticket, step.notify, title, body, now)}
        changes = self._changes(connection, ticket, step)
        if changes:
            try:
                with connection.begin_nested():  # a refused change must not undo the step's other effects
                    self.service.update_in(connection, SYSTEM, ticket_id, {**changes, "version": ticket["version"]},
                                           CHANNEL)
                done["changed"] = sorted(changes)
            except TicketError as exc:  # a field the YAML sets that the ticket refuses now: record, go on
                done["refused"] = exc.detail
        if step.transition:
            current = load(connection, self.compiled, SYSTEM, ticket_id)
            try:
                with connection.begin_nested():
                    self.service.transition_in(connection, SYSTEM, ticket_id, step.transition, current["version"],
                                               None, CHANNEL)
                done["transition"] = step.transition
            except TicketError as exc:
                done["transition_refused"] = exc.detail
        return done

    def _changes(self, connection: sa.Connection, ticket: dict[str, Any], step: ir.Escalation) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        for name, value in step.updates:
            changes[name] = raised(ticket.get(name)) if name == "priority" and value == "raise" else value
        if step.assign_team:
            team = connection.execute(sa.select(self.teams.c.id).where(self.teams.c.name == step.assign_team)).scalar()
            if team is not None:
                changes["team_id"] = team
        if step.assign_agent:
            agent = connection.execute(sa.select(self.agents.c.id).where(
                self.agents.c.username == step.assign_agent, self.agents.c.active.is_(True))).scalar()
            if agent is not None:
                changes["assignee_id"] = agent
        return {k: v for k, v in changes.items() if ticket.get(k) != v}

    def _notify(self, connection: sa.Connection, ticket: dict[str, Any], targets: tuple[str, ...], title: str,
                body: str, now: dt.datetime) -> list[str]:
        agents: set[int] = set()
        emails: set[str] = set()
        hooks: list[str] = []
        for target in targets:
            if target.startswith(("http://", "https://")):
                hooks.append(target)
            elif "@" in target:
                emails.add(target)
            elif target == "requester" and ticket.get("requester_id"):
                email = connection.execute(sa.select(self.contacts.c.email).where(
                    self.contacts.c.id == ticket["requester_id"])).scalar()
                if email:
                    emails.add(email)
            else:
                agents |= self._agents(connection, ticket, target)
        notices = self.compiled.table("notifications")
        if agents:
            connection.execute(sa.insert(notices), [
                {"agent_id": agent, "ticket_id": ticket["id"], "kind": "sla", "title": title[:300], "body": body,
                 "created_at": now} for agent in sorted(agents)])
            emails |= set(connection.execute(sa.select(self.agents.c.email).where(
                self.agents.c.id.in_(sorted(agents)), self.agents.c.active.is_(True))).scalars())
        for address in sorted(emails):
            self.outbox.email(connection, address, title, body, now)
        payload = {"ticket": ticket["number"], "ticket_id": ticket["id"], "title": title, "at": now.isoformat()}
        for url in hooks:
            self.outbox.webhook(connection, url, payload, now)
        return [*(f"agent:{a}" for a in sorted(agents)), *sorted(emails), *hooks]

    def _agents(self, connection: sa.Connection, ticket: dict[str, Any], target: str) -> set[int]:
        team_id = ticket.get("team_id")
        if target == "assignee":
            return {ticket["assignee_id"]} if ticket.get("assignee_id") else set()
        if target == "team_lead" and team_id is not None:
            lead = connection.execute(sa.select(self.teams.c.lead_id).where(self.teams.c.id == team_id)).scalar()
            return {lead} if lead else set()
        if target in ("team", "supervisors") and team_id is not None:
            rows = connection.execute(sa.select(self.agents.c.id, self.agents.c.roles).join_from(
                self.members, self.agents, self.members.c.agent_id == self.agents.c.id).where(
                self.members.c.team_id == team_id, self.agents.c.active.is_(True))).all()
            return {r.id for r in rows if target == "team" or "supervisor" in (r.roles or [])}
        return set()


def _when(moment: dt.datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "now"
