"""Reading stored intake messages for people: pages of them by state and channel, newest first, without their
raw bytes; one with its metadata; the number of the ticket each made."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


class IntakeMessages:
    def __init__(self, compiled: CompiledDesk, engine: sa.Engine) -> None:
        self.engine = engine
        t, tickets = compiled.table("intake_messages"), compiled.table("tickets")
        self.table = t
        joined = t.outerjoin(tickets, tickets.c.id == t.c.ticket_id)
        self._columns = compiled.memo("intake.messages_columns", lambda: sa.select(
            t.c.id, t.c.channel, t.c.source, t.c.external_id, t.c.state, t.c.error.label("reason"), t.c.ticket_id,
            tickets.c.number.label("ticket_number"), t.c.received_at, t.c.processed_at,
            sa.func.length(t.c.raw).label("size")).select_from(joined))
        self._one = compiled.memo("intake.message_detail", lambda: self._columns.add_columns(t.c.metadata).where(
            t.c.id == sa.bindparam("id")))
        self._raw = compiled.memo("intake.message_raw", lambda: sa.select(t.c.channel, t.c.raw).where(
            t.c.id == sa.bindparam("id")))
        self._number = compiled.memo("intake.ticket_number", lambda: sa.select(tickets.c.number).where(
            tickets.c.id == sa.bindparam("id")))

    def page(self, state: str | None, channel: str | None, limit: int, before: int | None) -> Page:
        """Up to ``limit`` messages with ids below ``before`` (the cursor), newest first."""
        query = self._columns.order_by(self.table.c.id.desc()).limit(limit + 1)
        if state is not None:
            query = query.where(self.table.c.state == state)
        if channel is not None:
            query = query.where(self.table.c.channel == channel)
        if before is not None:
            query = query.where(self.table.c.id < before)
        with self.engine.connect() as connection:
            rows = [dict(r._mapping) for r in connection.execute(query)]
        more = len(rows) > limit
        rows = rows[:limit]
        return Page(rows, str(rows[-1]["id"]) if more else None)

    def detail(self, message_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as connection:
            row = connection.execute(self._one, {"id": message_id}).first()
        return None if row is None else dict(row._mapping)

    def raw(self, message_id: int) -> tuple[str, bytes] | None:
        """The channel and the bytes as they arrived."""
        with self.engine.connect() as connection:
            row = connection.execute(self._raw, {"id": message_id}).first()
        return None if row is None else (row.channel, bytes(row.raw))

    def ticket_number(self, ticket_id: int | None) -> str | None:
        if ticket_id is None:
            return None
        with self.engine.connect() as connection:
            number: Any = connection.execute(self._number, {"id": ticket_id}).scalar()
        return None if number is None else str(number)
