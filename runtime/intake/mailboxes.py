"""Which declared mailbox a mail arrived at, and so which ticket type it opens and which team gets it."""

from __future__ import annotations

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.config import ir
from runtime.errors import TesseraError
from runtime.intake.teams import TeamNames


class NoMailboxes(TesseraError):
    """The desk declares no inbound mailbox, so a mail has no ticket type to open."""


class Mailboxes:
    def __init__(self, compiled: CompiledDesk) -> None:
        project = compiled.definitions.project
        self.by_name = {m.name: m for m in project.mailboxes}
        self.by_address = {m.address.lower(): m for m in project.mailboxes}
        self.default = project.mailbox(project.default_mailbox) if project.default_mailbox else None
        self.hinted: dict[str, list[ir.TicketType]] = {}
        for ticket_type in compiled.definitions.types:
            if ticket_type.email_mailbox and ticket_type.email_subject_hint:
                self.hinted.setdefault(ticket_type.email_mailbox, []).append(ticket_type)
        self.teams = TeamNames(compiled)

    def type_for(self, mailbox: ir.Mailbox, subject: str) -> str:
        """The mailbox's type, unless a type that takes mail from this mailbox names a hint (``[EQ]``) that the
        subject carries: then that type (types in file order; the first hint found wins)."""
        lowered = subject.lower()
        for ticket_type in self.hinted.get(mailbox.name, ()):
            if ticket_type.email_subject_hint and ticket_type.email_subject_hint.lower() in lowered:
                return ticket_type.name
        return mailbox.type

    @property
    def addresses(self) -> frozenset[str]:
        return frozenset(self.by_address)

    def resolve(self, source: str, recipients: tuple[str, ...]) -> ir.Mailbox:
        """The mailbox named by the channel (``source``), else the first recipient that is one, else the default.

        A recipient with a +tag (it+vpn@example.org) counts as the address without it."""
        if source in self.by_name:
            return self.by_name[source]
        for address in recipients:
            local, _, domain = address.rpartition("@")
            found = self.by_address.get(address) or self.by_address.get(f"{local.split('+', 1)[0]}@{domain}")
            if found is not None:
                return found
        if self.default is None:
            msg = "no inbound mailboxes: declare mail.mailboxes and mail.default_mailbox in tessera.yaml"
            raise NoMailboxes(msg)
        return self.default

    def team_id(self, connection: sa.Connection, mailbox: ir.Mailbox) -> int | None:
        """The id of the mailbox's team; None when it names none, or one that does not exist (yet)."""
        return self.teams.team_id(connection, mailbox.team, f"mailbox {mailbox.name}")

