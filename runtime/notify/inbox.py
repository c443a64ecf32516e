"""In-app notices for agents: a ticket given to them by someone else, and an ``@username`` in a colleague's
comment or internal note. They are written by the ticket service in the transaction of the change that causes
them (a rolled-back change leaves no notice), beside the SLA warnings the escalation steps write to the same
table; the pages list them and mark them read.

A notice's title is written once, in its reader's language (the agent's own, else the desk's default), because
it is stored text like the SLA notices, not a template the page fills in.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.pages.i18n import Translator
from runtime.tickets.access import visible
from runtime.tickets.actors import Actor, agent_actor

ASSIGNED, MENTION = "assigned", "mention"
# A username as the people service accepts them, after an @ that does not end a word or an email address
# (``maria@example.org`` mentions nobody). Trailing dots and dashes are punctuation: "thanks @alex."
MENTION_PATTERN = re.compile(r"(?<![\w@.+-])@([a-z][a-z0-9_.-]{0,63})", re.IGNORECASE)
TITLE_MAX, BODY_MAX = 300, 1000


def mentioned_usernames(body: str) -> list[str]:
    """The usernames ``@``-mentioned in a text, lower case, each once, in order of appearance."""
    found: dict[str, None] = {}
    for match in MENTION_PATTERN.finditer(body):
        found.setdefault(match.group(1).rstrip(".-").lower(), None)
    return list(found)


class Inbox:
    """Writes the notices of ticket changes; one per service, built once."""

    def __init__(self, compiled: CompiledDesk) -> None:
        self.compiled = compiled
        self.notices = compiled.table("notifications")
        self.agents = compiled.table("agents")
        self.tickets = compiled.table("tickets")
        self.default_language = compiled.definitions.project.default_language

    def assigned(self, connection: sa.Connection, ticket: dict[str, Any], before: int | None, actor: Actor,
                 now: dt.datetime) -> None:
        """The ticket now has an assignee it did not have ``before``: tell them, unless they took it themselves.

        Costs nothing when nobody was assigned, so creating unassigned tickets stays as fast as it was."""
        assignee = ticket.get("assignee_id")
        if assignee is None or assignee == before or (actor.kind == "agent" and actor.id == assignee):
            return
        row = connection.execute(sa.select(self.agents.c.language, self.agents.c.active)
                                 .where(self.agents.c.id == assignee)).first()
        if row is None or not row.active:
            return
        t = Translator(row.language or self.default_language)
        by = actor.name if actor.kind == "agent" else t("notifications.by_desk")
        self._write(connection, [assignee], ticket["id"], ASSIGNED,
                    {assignee: t("notifications.title_assigned", number=ticket["number"], by=by)},
                    str(ticket.get("title") or ""), now)

    def commented(self, connection: sa.Connection, ticket: dict[str, Any], actor: Actor, body: str, *,
                  public: bool, now: dt.datetime) -> None:
        """An agent's reply or note that ``@``-mentions colleagues: each active one who may see the ticket is told
        (one who may not would learn of a ticket the access rules hide from them). Requesters mention nobody."""
        if actor.kind != "agent":
            return
        names = [n for n in mentioned_usernames(body) if n != actor.name.lower()]
        if not names:
            return
        agents = self.agents
        rows = connection.execute(sa.select(agents.c.id, agents.c.language).where(
            sa.func.lower(agents.c.username).in_(names), agents.c.active.is_(True), agents.c.id != actor.id)).all()
        titles: dict[int, str] = {}
        for row in rows:
            if not self._sees(connection, row.id, int(ticket["id"])):
                continue
            t = Translator(row.language or self.default_language)
            key = "notifications.title_mentioned" if public else "notifications.title_mentioned_note"
            titles[row.id] = t(key, number=ticket["number"], by=actor.name)
        self._write(connection, sorted(titles), int(ticket["id"]), MENTION, titles, body, now)

    def _sees(self, connection: sa.Connection, agent_id: int, ticket_id: int) -> bool:
        reader = agent_actor(connection, self.compiled, agent_id)
        return connection.execute(sa.select(self.tickets.c.id).where(
            self.tickets.c.id == ticket_id, visible(self.compiled, reader))).first() is not None

    def _write(self, connection: sa.Connection, agent_ids: list[int], ticket_id: int, kind: str,
               titles: dict[int, str], body: str, now: dt.datetime) -> None:
        if agent_ids:
            connection.execute(sa.insert(self.notices), [
                {"agent_id": agent, "ticket_id": ticket_id, "kind": kind, "title": titles[agent][:TITLE_MAX],
                 "body": body[:BODY_MAX], "created_at": now} for agent in agent_ids])


def inbox_for(compiled: CompiledDesk) -> Inbox:
    return compiled.memo("notify.inbox", lambda: Inbox(compiled))


@dataclass(frozen=True)
class Notice:
    id: int
    ticket_id: int | None
    kind: str
    title: str
    body: str
    created_at: dt.datetime
    read_at: dt.datetime | None


class Notices:
    """An agent's own notices, for the pages: always filtered by the agent, so nobody reads or marks another's."""

    def __init__(self, compiled: CompiledDesk) -> None:
        self.table = compiled.table("notifications")

    def unread(self, connection: sa.Connection, agent_id: int, limit: int) -> list[Notice]:
        table = self.table
        return self._rows(connection, sa.select(table).where(table.c.agent_id == agent_id, table.c.read_at.is_(None))
                          .order_by(table.c.id.desc()).limit(limit))

    def read(self, connection: sa.Connection, agent_id: int, before: int | None, limit: int) -> list[Notice]:
        """Notices already read, newest first, older than the notice ``before`` when given (the next page)."""
        table = self.table
        query = sa.select(table).where(table.c.agent_id == agent_id, table.c.read_at.is_not(None))
        if before is not None:
            query = query.where(table.c.id < before)
        return self._rows(connection, query.order_by(table.c.id.desc()).limit(limit))

    def mark_read(self, connection: sa.Connection, agent_id: int, notice_id: int, now: dt.datetime) -> bool:
        """False when the agent has no such notice (someone else's is as unknown as a missing one)."""
        table = self.table
        found = connection.execute(sa.select(table.c.read_at).where(table.c.id == notice_id,
                                                                    table.c.agent_id == agent_id)).first()
        if found is None:
            return False
        if found.read_at is None:
            connection.execute(sa.update(table).where(table.c.id == notice_id).values(read_at=now))
        return True

    def mark_all_read(self, connection: sa.Connection, agent_id: int, now: dt.datetime) -> int:
        table = self.table
        result = connection.execute(sa.update(table).where(table.c.agent_id == agent_id, table.c.read_at.is_(None))
                                    .values(read_at=now))
        return int(result.rowcount or 0)

    @staticmethod
    def _rows(connection: sa.Connection, query: sa.Select[Any]) -> list[Notice]:
        return [Notice(r.id, r.ticket_id, r.kind, r.title, r.body or "", r.created_at, r.read_at)
                for r in connection.execute(query)]
