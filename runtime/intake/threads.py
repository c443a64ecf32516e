"""Which ticket a mail continues.

1. In-Reply-To and References against the Message-IDs we know: those of comments (ours sent out, and mail
   that became comments) and of mail that opened tickets.
2. A ticket number in the subject (``[IT-000123]``), only when the sender takes part in that ticket: its
   requester, or a contact who wrote on it. Anyone else quoting the number gets a new ticket, related to it.

A merged ticket's mail goes on to the ticket it was merged into.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.intake.mail.message import ParsedMail

TICKET_REFERENCE = re.compile(r"\[([A-Z][A-Z0-9]{1,5}-\d{1,12})\]")
MERGE_HOPS = 5  # a merged ticket's original may itself have been merged; a cycle must not loop forever


@dataclass(frozen=True)
class Thread:
    ticket_id: int | None = None  # the ticket the mail is a reply on
    related_id: int | None = None  # a ticket it names but may not add to: the new ticket links to it
    via: str = ""


class Threads:
    def __init__(self, compiled: CompiledDesk, channel: str = "email") -> None:
        comments, intake, tickets = (compiled.table(n) for n in ("comments", "intake_messages", "tickets"))
        ids: sa.BindParameter[str] = sa.bindparam("ids", expanding=True)
        self._by_comment = compiled.memo("intake.thread_by_comment", lambda: sa.select(
            comments.c.message_id, comments.c.ticket_id).where(comments.c.message_id.in_(ids)))
        self._by_intake = compiled.memo(("intake.thread_by_intake", channel), lambda: sa.select(
            intake.c.external_id.label("message_id"), intake.c.ticket_id).where(
            intake.c.channel == channel, intake.c.external_id.in_(ids), intake.c.ticket_id.is_not(None)))
        self._by_number = compiled.memo("intake.ticket_by_number", lambda: sa.select(
            tickets.c.id, tickets.c.requester_id).where(tickets.c.number == sa.bindparam("number")))
        self._merged_into = compiled.memo("intake.merged_into", lambda: sa.select(tickets.c.duplicate_of_id).where(
            tickets.c.id == sa.bindparam("ticket")))
        self._wrote_on = compiled.memo("intake.wrote_on", lambda: sa.select(comments.c.id).where(
            comments.c.ticket_id == sa.bindparam("ticket"), comments.c.author_contact_id == sa.bindparam("contact")
        ).limit(1))

    def find(self, connection: sa.Connection, mail: ParsedMail, contact_id: int | None) -> Thread:
        """The ticket ``mail`` replies on, from the headers first, then the subject."""
        by_header = self._by_headers(connection, mail.thread_ids)
        if by_header is not None:
            return Thread(self.surviving(connection, by_header), via="In-Reply-To/References")
        for number in TICKET_REFERENCE.findall(mail.subject):
            ticket = connection.execute(self._by_number, {"number": number}).first()
            if ticket is None:
                continue
            ticket_id = self.surviving(connection, ticket.id)
            if contact_id is not None and self._participant(connection, ticket_id, ticket.requester_id,
                                                            contact_id):
                return Thread(ticket_id, via=f"subject {number}")
            return Thread(related_id=ticket_id, via=f"subject {number} (sender not a participant)")
        return Thread()

    def _by_headers(self, connection: sa.Connection, ids: tuple[str, ...]) -> int | None:
        if not ids:
            return None
        found: dict[str, int] = {}
        for query in (self._by_intake, self._by_comment):
            for row in connection.execute(query, {"ids": list(ids)}):
                found.setdefault(row.message_id, row.ticket_id)
        return next((found[i] for i in ids if i in found), None)

    def surviving(self, connection: sa.Connection, ticket_id: int) -> int:
        """The ticket ``ticket_id`` was merged into (through any chain of merges), or itself."""
        for _ in range(MERGE_HOPS):
            merged_into: Any = connection.execute(self._merged_into, {"ticket": ticket_id}).scalar()
            if merged_into is None:
                break
            ticket_id = int(merged_into)
        return ticket_id

    def _participant(self, connection: sa.Connection, ticket_id: int, requester_id: int | None,
                     contact_id: int) -> bool:
        if requester_id == contact_id:
            return True
        # Comments move with a merge, so the surviving ticket holds everything the sender wrote.
        return connection.execute(self._wrote_on, {"ticket": ticket_id, "contact": contact_id}).first() is not None
