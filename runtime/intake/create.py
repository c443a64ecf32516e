"""The last stages, the same for every channel: enrich, look for a near duplicate, then a new ticket (routed,
acknowledged) or a comment, as the sender, then the files.

Each step that commits leaves a note in the intake row (the ticket or comment id) in the same transaction as
the step after it, so a message that failed halfway resumes where it stopped: the ticket or comment is never
made twice, and files already attached are not attached again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.intake.acknowledge import Acknowledger
from runtime.intake.draft import Draft, Reply
from runtime.intake.enrich import Enricher
from runtime.intake.mail.html_text import sanitize
from runtime.intake.mail.mime import Attachment
from runtime.intake.requesters import Requesters
from runtime.intake.similar import NearDuplicates
from runtime.intake.store import PROCESSED, RECEIVED, IntakeMessage, IntakeStore
from runtime.intake.wording import describe_failure
from runtime.tickets.actors import SYSTEM, Actor
from runtime.tickets.errors import InvalidTicket
from runtime.tickets.files import TicketFiles
from runtime.tickets.relations import TicketRelations
from runtime.tickets.service import TicketService


@dataclass(frozen=True)
class Made:
    kind: str  # ticket | comment
    ticket_id: int


def replayable(channel: str) -> bool:
    """Mail is processed in the background from its stored bytes, and nobody is told the result before its
    commit is on disk, so that commit may skip the wait (see ``write_transaction``). Webhooks, forms and the API
    answer their caller with the ticket: theirs must be durable first."""
    return channel == "email"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Creator:
    def __init__(self, compiled: CompiledDesk, engine: sa.Engine, store: IntakeStore, service: TicketService
                 ) -> None:
        self.engine = engine
        self.store = store
        self.service = service
        self.files = TicketFiles(compiled, engine)
        self.relations = TicketRelations(compiled, engine)
        self.enricher = Enricher(compiled)
        self.near = NearDuplicates(compiled)
        self.acknowledger = Acknowledger(compiled)
        attachments = compiled.table("attachments")
        self.requesters = Requesters(compiled, engine)
        files = sa.select(attachments.c.sha256).where(attachments.c.ticket_id == sa.bindparam("ticket"))
        self._on_ticket = files.where(attachments.c.comment_id.is_(None))
        self._on_comment = files.where(attachments.c.comment_id == sa.bindparam("comment"))

    def ticket(self, message: IntakeMessage, actor: Actor, draft: Draft, progress: dict[str, Any]) -> Made:
        """A new ticket from ``draft`` — or, when it nearly repeats a recent ticket above the type's merge
        threshold, a comment on that one."""
        ticket_id: int | None = message.metadata.get("ticket_id")
        resumed = ticket_id is not None
        if ticket_id is None:
            draft = self.enricher.apply(draft)
            with self.engine.connect() as connection:
                match = self.near.find(connection, draft, actor.id if actor.kind == "contact" else None, _now())
            if match is not None and match.merge:
                reply = Reply(draft.channel, str(draft.payload.get("description") or draft.payload.get("title")),
                              message_id=draft.external_ref if draft.channel == "email" else None,
                              html=draft.html, files=draft.files)
                merged = {**progress, "merged_into": match.ticket_id, "score": round(match.score, 3)}
                return self.comment(message, actor, match.ticket_id, reply, merged)
            new = self.service.prepare(actor, draft.ticket_type, draft.payload)
            progress = {**progress, "outcome": "ticket"}
            if draft.applied_rules:
                progress["rules"] = list(draft.applied_rules)
            if draft.notes:
                progress["enrichment_notes"] = list(draft.notes)
            if match is not None:
                progress["similar_to"] = {"ticket_id": match.ticket_id, "score": round(match.score, 3)}
            more_to_do = bool(draft.files) or draft.related_id is not None
            now = _now()
            # One transaction from the ticket to the note of it in the intake row: a crash in between can
            # neither lose the ticket nor, on a retry, make it twice.
            with self.service.writing(replayable=replayable(draft.channel)) as connection:
                ticket = self.service.create_in(connection, new, draft.channel, source_name=draft.source_name,
                                                external_ref=draft.external_ref, team_id=draft.team_id)
                ticket_id = int(ticket["id"])
                progress["ticket_id"] = ticket_id
                if match is not None:
                    self.near.flag(connection, ticket_id, match, now)
                if self.acknowledger.queue(connection, ticket, draft, now):
                    progress["acknowledged"] = True
                self._delivers(connection, actor, draft.channel)
                self.store.record(connection, message, RECEIVED if more_to_do else PROCESSED, ticket_id=ticket_id,
                                  metadata=progress)
            if not more_to_do:
                return Made("ticket", ticket_id)
            message = replace(message, metadata={**message.metadata, **progress}, ticket_id=ticket_id)
        if draft.related_id is not None and draft.related_id != ticket_id:
            self.relations.link(SYSTEM, ticket_id, draft.related_id, "related")
        self._finish(message, draft.files, actor, ticket_id, None, draft.channel, resumed=resumed)
        return Made("ticket", ticket_id)

    def comment(self, message: IntakeMessage, actor: Actor, ticket_id: int, reply: Reply,
                progress: dict[str, Any]) -> Made:
        comment_id: int | None = message.metadata.get("comment_id")
        resumed = comment_id is not None
        if comment_id is None:
            if not reply.body.strip():
                raise InvalidTicket("empty comment", [{"field": "body", "reason": "the message has no text"}])
            # The comment and the note of it in the intake row commit together (see ``ticket``). The Message-ID
            # makes later replies to this mail thread here; the HTML is kept for display.
            with self.service.writing(replayable=replayable(reply.channel)) as connection:
                comment = self.service.comment_in(connection, actor, ticket_id, reply.body, public=reply.public,
                                                  channel=reply.channel, message_id=reply.message_id,
                                                  body_html=sanitize(reply.html) if reply.html else None)
                comment_id = int(comment["id"])
                progress = {**progress, "ticket_id": ticket_id, "comment_id": comment_id, "outcome": "comment"}
                self._delivers(connection, actor, reply.channel)
                self.store.record(connection, message, RECEIVED if reply.files else PROCESSED,
                                  ticket_id=ticket_id, metadata=progress)
            if not reply.files:
                return Made("comment", ticket_id)
            message = replace(message, metadata={**message.metadata, **progress}, ticket_id=ticket_id)
        self._finish(message, reply.files, actor, ticket_id, comment_id, reply.channel, resumed=resumed)
        return Made("comment", ticket_id)

    def _delivers(self, connection: sa.Connection, actor: Actor, channel: str) -> None:
        """Mail from a contact whose address once bounced shows the address works again: mail to it resumes."""
        if channel == "email" and actor.kind == "contact" and actor.id is not None:
            self.requesters.delivers(connection, actor.id)

    def _finish(self, message: IntakeMessage, files: tuple[Attachment, ...], actor: Actor, ticket_id: int,
                comment_id: int | None, channel: str, *, resumed: bool) -> None:
        warnings = self._attach(files, actor, ticket_id, comment_id, channel, resumed=resumed)
        self.store.finish(message, PROCESSED, ticket_id=ticket_id,
                          metadata={"warnings": warnings} if warnings else None)

    def _attach(self, files: tuple[Attachment, ...], actor: Actor, ticket_id: int, comment_id: int | None,
                channel: str, *, resumed: bool) -> list[str]:
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
        for attachment in files:
            if hashlib.sha256(attachment.data).hexdigest() in done:
                continue
            try:
                self.files.attach(actor, ticket_id, attachment.data, attachment.filename, attachment.content_type,
                                  channel=channel, comment_id=comment_id)
            except Exception as exc:  # one unstorable file must not cost the message its ticket
                warnings.append(f"{attachment.filename}: {describe_failure(exc)}")
        return warnings
