"""The last stages: a new ticket (routed to the mailbox's team) or a comment, as the requester, then the files.

Each step that commits leaves a note in the intake row (the ticket or comment id) in the same transaction as
the step after it, so a message that failed halfway resumes where it stopped: the ticket or comment is never
made twice, and files already attached are not attached again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.db.engine import write_transaction
from runtime.intake.mail.html_text import sanitize
from runtime.intake.mail.message import ParsedMail
from runtime.intake.store import PROCESSED, RECEIVED, IntakeMessage, IntakeStore
from runtime.intake.wording import comment_body, describe_failure, ticket_payload
from runtime.tickets.actors import SYSTEM, Actor
from runtime.tickets.files import TicketFiles
from runtime.tickets.relations import TicketRelations
from runtime.tickets.service import TicketService

CHANNEL = "email"


@dataclass(frozen=True)
class Made:
    kind: str  # ticket | comment
    ticket_id: int


class Creator:
    def __init__(self, compiled: CompiledDesk, engine: sa.Engine, store: IntakeStore, service: TicketService
                 ) -> None:
        self.engine = engine
        self.store = store
        self.service = service
        self.files = TicketFiles(compiled, engine)
        self.relations = TicketRelations(compiled, engine)
        comments, attachments = compiled.table("comments"), compiled.table("attachments")
        self._mark_comment = compiled.memo("intake.mark_comment", lambda: sa.update(comments).where(
            comments.c.id == sa.bindparam("comment")))
        files = sa.select(attachments.c.sha256).where(attachments.c.ticket_id == sa.bindparam("ticket"))
        self._on_ticket = files.where(attachments.c.comment_id.is_(None))
        self._on_comment = files.where(attachments.c.comment_id == sa.bindparam("comment"))

    def ticket(self, message: IntakeMessage, mail: ParsedMail, actor: Actor, *, ticket_type: str,
               team_id: int | None, related_id: int | None, progress: dict[str, Any]) -> Made:
        ticket_id: int | None = message.metadata.get("ticket_id")
        resumed = ticket_id is not None
        if ticket_id is None:
            ticket = self.service.create(actor, ticket_type, ticket_payload(mail), channel=CHANNEL,
                                         source_name=progress.get("mailbox"), external_ref=message.external_id)
            ticket_id = int(ticket["id"])
            progress = {**progress, "ticket_id": ticket_id, "outcome": "ticket"}
            more_to_do = bool(mail.attachments) or related_id is not None
            with write_transaction(self.engine) as connection:
                if team_id is not None:
                    # Routing is the system's decision, recorded as such; the requester could not choose a team.
                    self.service.update_in(connection, SYSTEM, ticket_id,
                                           {"team_id": team_id, "version": ticket["version"]}, CHANNEL)
                self.store.record(connection, message, RECEIVED if more_to_do else PROCESSED, ticket_id=ticket_id,
                                  metadata=progress)
            if not more_to_do:
                return Made("ticket", ticket_id)
            message = replace(message, metadata={**message.metadata, **progress}, ticket_id=ticket_id)
        if related_id is not None and related_id != ticket_id:
            self.relations.link(SYSTEM, ticket_id, related_id, "related")
        self._finish(message, mail, actor, ticket_id, None, resumed=resumed)
        return Made("ticket", ticket_id)

    def comment(self, message: IntakeMessage, mail: ParsedMail, actor: Actor, ticket_id: int,
                progress: dict[str, Any]) -> Made:
        comment_id: int | None = message.metadata.get("comment_id")
        resumed = comment_id is not None
        if comment_id is None:
            comment = self.service.comment(actor, ticket_id, comment_body(mail), public=True, channel=CHANNEL)
            comment_id = int(comment["id"])
            progress = {**progress, "ticket_id": ticket_id, "comment_id": comment_id, "outcome": "comment"}
            with write_transaction(self.engine) as connection:
                # The Message-ID makes later replies to this mail thread here; the HTML is kept for display.
                own_id = message.external_id if message.external_id.startswith("<") else None
                connection.execute(self._mark_comment, {"comment": comment_id, "message_id": own_id,
                                                        "body_html": sanitize(mail.html) if mail.html else None})
                self.store.record(connection, message, RECEIVED if mail.attachments else PROCESSED,
                                  ticket_id=ticket_id, metadata=progress)
            if not mail.attachments:
                return Made("comment", ticket_id)
            message = replace(message, metadata={**message.metadata, **progress}, ticket_id=ticket_id)
        self._finish(message, mail, actor, ticket_id, comment_id, resumed=resumed)
        return Made("comment", ticket_id)

    def _finish(self, message: IntakeMessage, mail: ParsedMail, actor: Actor, ticket_id: int,
                comment_id: int | None, *, resumed: bool) -> None:
        warnings = self._attach(mail, actor, ticket_id, comment_id, resumed=resumed)
        self.store.finish(message, PROCESSED, ticket_id=ticket_id,
                          metadata={"warnings": warnings} if warnings else None)

    def _attach(self, mail: ParsedMail, actor: Actor, ticket_id: int, comment_id: int | None, *,
                resumed: bool) -> list[str]:
        """Store each file on the ticket or comment; a file that cannot be kept is noted and the message goes on
        (its bytes stay in the raw message)."""
        done: set[str] = set()
        if resumed:
            with self.engine.connect() as connection:
                if comment_id is None:
                    rows = connection.execute(self._on_ticket, {"ticket": ticket_id})
                else:
                    rows = connection.execute(self._on_comment, {"ticket": ticket_id, "comment": comment_id})
                done = set(rows.scalars())
        warnings = []
        for attachment in mail.attachments:
            if hashlib.sha256(attachment.data).hexdigest() in done:
                continue
            try:
                self.files.attach(actor, ticket_id, attachment.data, attachment.filename, attachment.content_type,
                                  channel=CHANNEL, comment_id=comment_id)
            except Exception as exc:  # one unstorable file must not cost the message its ticket
                warnings.append(f"{attachment.filename}: {describe_failure(exc)}")
        return warnings
