"""Whom mail about a ticket goes to, and where their answer should go."""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import formataddr, parseaddr
from typing import Any

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk


@dataclass(frozen=True)
class Recipient:
    contact_id: int
    email: str
    name: str | None

    @property
    def address(self) -> str:
        return formataddr((self.name, self.email)) if self.name else self.email


class Recipients:
    def __init__(self, compiled: CompiledDesk) -> None:
        project = compiled.definitions.project
        self.mailboxes = {m.name: m.address for m in project.mailboxes}
        self.default_mailbox = project.default_mailbox
        sender = parseaddr(project.smtp.sender)[1].lower() if project.smtp else ""
        # Mail to ourselves would come back through intake: at best ignored, at worst answered again.
        self.own = frozenset({a.lower() for a in self.mailboxes.values()} | ({sender} if sender else set()))
        self.sender = sender
        contacts = compiled.table("contacts")
        query = sa.select(contacts.c.email, contacts.c.name, contacts.c.bounced_at).where(
            contacts.c.id == sa.bindparam("contact"))
        self._contact = compiled.memo("notify.requester", lambda: query)
        # Held to the end of the caller's transaction: counting and recording mail to one person is then one
        # step on PostgreSQL too (SQLite writers take turns anyway and leave FOR UPDATE out).
        self._locked = compiled.memo("notify.requester_locked", lambda: query.with_for_update())

    def requester(self, connection: sa.Connection, ticket: dict[str, Any], *, lock: bool = False
                  ) -> Recipient | None:
        """The ticket's requester, when mail can reach them: an address, not ours, that has not bounced."""
        contact_id = ticket.get("requester_id")
        if contact_id is None:
            return None
        row = connection.execute(self._locked if lock else self._contact, {"contact": contact_id}).first()
        if row is None or not row.email or row.bounced_at is not None or row.email.lower() in self.own:
            return None
        return Recipient(int(contact_id), row.email, row.name)

    def reply_to(self, ticket: dict[str, Any]) -> str | None:
        """The mailbox the ticket came in through (else the default one), when it is not the sender already:
        answers go there, into intake, whatever address the desk sends from."""
        name = ticket.get("source_name") if ticket.get("source") == "email" else None
        address = self.mailboxes.get(name or "") or self.mailboxes.get(self.default_mailbox or "")
        return address if address and address.lower() != self.sender else None
