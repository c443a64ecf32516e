"""What an escalation step does: tell people (in the app at once; by email or webhook through the outbox),
change the ticket (raise its priority, set fields, reassign) and run a workflow transition — all inside the
sweep's transaction, as the system, audited on the ticket like any other change."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.config import ir
from runtime.config.core_columns import PRIORITIES
from runtime.notify.outbox import EMAIL, WEBHOOK, Outbox
from runtime.sla.clock import Clock
from runtime.tickets.actors import SYSTEM
from runtime.tickets.errors import TicketError
from runtime.tickets.records import load

log = logging.getLogger("tessera.sla")
CHANNEL = "sla"


@dataclass(frozen=True)
class Step:
    """One escalation step that has fallen due on one clock."""

    timer_id: int
    index: int
    ticket_id: int
    clock: Clock
    escalation: ir.Escalation


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
        self.tickets, self.notices = compiled.table("tickets"), compiled.table("notifications")

    def fire_many(self, connection: sa.Connection, steps: list[Step], now: dt.datetime
                  ) -> dict[tuple[int, int], dict[str, Any]]:
        """Carry out a batch of steps; what each did, by (clock, step), for its SLA event's record.

        Notices and deliveries of the whole batch are worked out first and written with one statement each,
        so a batch costs a fixed number of statements whatever its size; steps that change tickets then run
        one by one through the ticket service."""
        tickets = {row.id: dict(row._mapping) for row in connection.execute(
            sa.select(self.tickets).where(self.tickets.c.id.in_(sorted({s.ticket_id for s in steps}))))}
        people = _People(self, connection, tickets.values())
        notices: list[dict[str, Any]] = []
        letters: list[tuple[set[int], set[str], str, str]] = []
        jobs: list[tuple[str, dict[str, Any]]] = []
        done: dict[tuple[int, int], dict[str, Any]] = {}
        for step in steps:
            ticket = tickets[step.ticket_id]
            clock = step.clock
            late = clock.breached_at is not None
            title = (f"{ticket['number']}: {clock.metric.replace('_', ' ')} "
                     f"{'breached' if late else 'due ' + _when(clock.due_at)} ({clock.policy})")
            body = f"{ticket['title']}\nDue: {_when(clock.due_at)}\nPolicy: {clock.policy}"
            agents, emails, hooks = people.resolve(ticket, step.escalation.notify)
            notices += [{"agent_id": agent, "ticket_id": ticket["id"], "kind": "sla", "title": title[:300],
                         "body": body, "created_at": now} for agent in sorted(agents)]
            letters.append((agents, emails, title, body))
            payload = {"ticket": ticket["number"], "ticket_id": ticket["id"], "title": title, "at": now.isoformat()}
            jobs += [(WEBHOOK, {"url": url, "body": payload}) for url in hooks]
            done[(step.timer_id, step.index)] = {"notified": [*(f"agent:{a}" for a in sorted(agents)),
                                                              *sorted(emails), *hooks]}
        addresses = people.agent_emails({a for agents, _, _, _ in letters for a in agents})
        for agents, emails, title, body in letters:
            for address in sorted(emails | {addresses[a] for a in agents if a in addresses}):
                jobs.append((EMAIL, {"to": address, "subject": title, "body": body}))
        if notices:
            connection.execute(sa.insert(self.notices), notices)
        self.outbox.queue_many(connection, jobs, now)
        for step in steps:
            if step.escalation.updates or step.escalation.assign_team or step.escalation.assign_agent \
                    or step.escalation.transition:
                done[(step.timer_id, step.index)] |= self._act(connection, step.ticket_id, step.escalation)
        return done

    def _act(self, connection: sa.Connection, ticket_id: int, step: ir.Escalation) -> dict[str, Any]:
        done: dict[str, Any] = {}
        ticket = load(connection, self.compiled, SYSTEM, ticket_id)
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


class _People:
    """Who a batch's notify targets are, read once per batch: team members and leads, requesters' emails."""

    def __init__(self, escalator: Escalator, connection: sa.Connection, tickets: Iterable[dict[str, Any]]) -> None:
        self.e, self.connection = escalator, connection
        tickets = list(tickets)
        requesters = sorted({t["requester_id"] for t in tickets if t.get("requester_id")})
        contacts = escalator.contacts
        self.requester_email: dict[int, str] = {row.id: row.email for row in connection.execute(
            sa.select(contacts.c.id, contacts.c.email).where(contacts.c.id.in_(requesters)))} if requesters else {}
        self._teams: dict[int, tuple[int | None, list[tuple[int, bool]]]] = {}

    def resolve(self, ticket: dict[str, Any], targets: tuple[str, ...]) -> tuple[set[int], set[str], list[str]]:
        agents: set[int] = set()
        emails: set[str] = set()
        hooks: list[str] = []
        for target in targets:
            if target.startswith(("http://", "https://")):
                hooks.append(target)
            elif "@" in target:
                emails.add(target)
            elif target == "requester":
                email = self.requester_email.get(ticket.get("requester_id") or 0)
                if email:
                    emails.add(email)
            elif target == "assignee":
                agents |= {ticket["assignee_id"]} if ticket.get("assignee_id") else set()
            elif ticket.get("team_id") is not None:
                lead, members = self._team(ticket["team_id"])
                if target == "team_lead":
                    agents |= {lead} if lead else set()
                else:
                    agents |= {a for a, supervisor in members if target == "team" or supervisor}
        return agents, emails, hooks

    def agent_emails(self, agents: set[int]) -> dict[int, str]:
        if not agents:
            return {}
        table = self.e.agents
        return {row.id: row.email for row in self.connection.execute(sa.select(table.c.id, table.c.email).where(
            table.c.id.in_(sorted(agents)), table.c.active.is_(True)))}

    def _team(self, team_id: int) -> tuple[int | None, list[tuple[int, bool]]]:
        if team_id not in self._teams:
            e = self.e
            lead = self.connection.execute(sa.select(e.teams.c.lead_id).where(e.teams.c.id == team_id)).scalar()
            rows = self.connection.execute(sa.select(e.agents.c.id, e.agents.c.roles).join_from(
                e.members, e.agents, e.members.c.agent_id == e.agents.c.id).where(
                e.members.c.team_id == team_id, e.agents.c.active.is_(True))).all()
            self._teams[team_id] = (lead, [(r.id, "supervisor" in (r.roles or [])) for r in rows])
        return self._teams[team_id]


def _when(moment: dt.datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "now"
