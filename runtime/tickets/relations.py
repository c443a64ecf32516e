"""Links between tickets (parent/child, related, duplicate) and merging a duplicate into its original."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.db.engine import write_transaction
from runtime.sla.timers import clocks_for
from runtime.tickets import audit
from runtime.tickets.actors import Actor
from runtime.tickets.errors import Forbidden, InvalidTicket, StaleVersion, TicketNotFound
from runtime.tickets.records import load

# What a caller may ask for, stored as (ticket, other, relation) read as "other is ticket's <relation>".
RELATIONS = ("parent", "child", "related", "duplicate_of")
# Made by intake only, with the texts' similarity as its score: "other looks much like ticket" (either way round).
SIMILAR = "similar"


class TicketRelations:
    def __init__(self, compiled: CompiledDesk, engine: sa.Engine) -> None:
        self.compiled = compiled
        self.engine = engine
        self.links = compiled.table("ticket_links")
        self.tickets = compiled.table("tickets")
        self.events = compiled.table("ticket_events")

    def link(self, actor: Actor, ticket_id: int, other_id: int, relation: str) -> dict[str, Any]:
        if actor.kind == "contact":
            msg = "only agents link tickets"
            raise Forbidden(msg)
        if relation not in RELATIONS:
            raise InvalidTicket("unknown relation", [{"field": "relation", "reason": f"one of {', '.join(RELATIONS)}"}])
        if ticket_id == other_id:
            raise InvalidTicket("a ticket cannot be linked to itself",
                                [{"field": "other_id", "reason": "the same ticket"}])
        source, target, stored = (other_id, ticket_id, "parent") if relation == "child" else (ticket_id, other_id,
                                                                                              relation)
        now = dt.datetime.now(dt.UTC)
        with write_transaction(self.engine) as connection:
            for visible_id in (ticket_id, other_id):
                load(connection, self.compiled, actor, visible_id)
            exists = connection.execute(sa.select(self.links.c.id).where(
                self.links.c.ticket_id == source, self.links.c.other_id == target, self.links.c.relation == stored)
            ).first()
            if exists is None:
                connection.execute(sa.insert(self.links).values(ticket_id=source, other_id=target, relation=stored,
                                                                created_at=now))
                audit.record(connection, self.events, ticket_id, actor, "api", "link",
                             {relation: (None, other_id)}, now)
        return {"ticket_id": ticket_id, "other_id": other_id, "relation": relation}

    def list(self, actor: Actor, ticket_id: int) -> list[dict[str, Any]]:
        """Links in both directions, phrased from ``ticket_id``'s side; only to tickets the actor may see. A link
        intake made on suspecting a near duplicate carries its score."""
        with self.engine.connect() as connection:
            load(connection, self.compiled, actor, ticket_id)
            rows = connection.execute(sa.select(self.links).where(
                sa.or_(self.links.c.ticket_id == ticket_id, self.links.c.other_id == ticket_id))
                .order_by(self.links.c.id)).all()
            result = []
            for row in rows:
                outgoing = row.ticket_id == ticket_id
                other = row.other_id if outgoing else row.ticket_id
                relation = row.relation if outgoing else {"parent": "child", "duplicate_of": "duplicate"}.get(
                    row.relation, row.relation)
                try:
                    load(connection, self.compiled, actor, other)
                except TicketNotFound:  # a link to a ticket the actor may not see is left out
                    continue
                link = {"other_id": other, "relation": relation}
                result.append(link if row.score is None else {**link, "score": row.score})
            return result

    def merge(self, actor: Actor, duplicate_id: int, into_id: int, version: int) -> dict[str, Any]:
        """Move the duplicate's comments and attachments to the original and close it with a pointer."""
        if actor.kind == "contact":
            msg = "only agents merge tickets"
            raise Forbidden(msg)
        if duplicate_id == into_id:
            raise InvalidTicket("a ticket cannot be merged into itself", [{"field": "into", "reason": "same ticket"}])
        now = dt.datetime.now(dt.UTC)
        with write_transaction(self.engine) as connection:
            duplicate = load(connection, self.compiled, actor, duplicate_id)
            original = load(connection, self.compiled, actor, into_id)
            if duplicate["version"] != version:
                msg = f"ticket {duplicate['number']} is at version {duplicate['version']}, not {version}"
                raise StaleVersion(msg)
            workflow = self.compiled.workflow_for(duplicate["type"])
            closed = [s for s, c in workflow.categories.items() if c == "closed"]
            state = "closed" if "closed" in closed else closed[0]
            for table_name in ("comments", "attachments"):
                table = self.compiled.table(table_name)
                moved = connection.execute(sa.update(table).where(table.c.ticket_id == duplicate_id)
                                           .values(ticket_id=into_id))
                audit.record(connection, self.events, into_id, actor, "api", "merge",
                             {f"{table_name}_moved": (0, moved.rowcount)}, now)
            connection.execute(sa.update(self.tickets).where(self.tickets.c.id == duplicate_id).values(
                duplicate_of_id=into_id, status=state, status_category="closed", closed_at=now, updated_at=now,
                version=version + 1))
            connection.execute(sa.insert(self.links).values(ticket_id=duplicate_id, other_id=into_id,
                                                            relation="duplicate_of", created_at=now))
            clocks_for(self.compiled).ticket_merged(connection, duplicate_id, original["number"], now)
            audit.record(connection, self.events, duplicate_id, actor, "api", "merged_into", {
                "duplicate_of_id": (None, into_id), "status": (duplicate["status"], state)}, now)
        return {"duplicate": duplicate["number"], "into": original["number"], "status": state}
