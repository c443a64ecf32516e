"""The email pipeline: a stored message becomes a ticket, a comment, a duplicate, or is ignored — or, when any
stage fails, stays quarantined with the reason. Running it again on a finished message does nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.config import ir
from runtime.intake.create import Creator
from runtime.intake.draft import Draft, Reply
from runtime.intake.duplicates import Duplicate, Duplicates
from runtime.intake.loop_guard import ignore_reason
from runtime.intake.mail.identity import mail_external_id
from runtime.intake.mail.message import ParsedMail, parse_mail
from runtime.intake.mailboxes import Mailboxes
from runtime.intake.requesters import Requesters
from runtime.intake.store import DUPLICATE, FINAL, IGNORED, QUARANTINED, Inbound, IntakeMessage, IntakeStore, Stored
from runtime.intake.threads import Thread, Threads
from runtime.intake.wording import comment_body, describe_failure, ticket_payload
from runtime.tickets.actors import Actor, contact_actor
from runtime.tickets.errors import Forbidden, TicketNotFound
from runtime.tickets.service import TicketService

log = logging.getLogger("tessera.intake")
CHANNEL = "email"


class Unprocessable(Exception):
    """A message the pipeline cannot turn into anything; it is quarantined with this reason."""


@dataclass(frozen=True)
class Outcome:
    message_id: int
    kind: str  # ticket, comment, duplicate, ignored, quarantined, done before, missing
    ticket_id: int | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Facts:
    """What the database says about a mail, read together before anything is written."""

    contact_id: int | None
    actor: Actor | None
    thread: Thread
    duplicate: Duplicate | None
    team_id: int | None


class MailPipeline:
    def __init__(self, compiled: CompiledDesk, engine: sa.Engine, service: TicketService | None = None) -> None:
        self.compiled = compiled
        self.engine = engine
        self.store = IntakeStore(compiled, engine)
        self.mailboxes = Mailboxes(compiled)
        self.requesters = Requesters(compiled, engine)
        self.threads = Threads(compiled, CHANNEL)
        self.duplicates = Duplicates(compiled)
        self.creator = Creator(compiled, engine, self.store, service or TicketService(compiled, engine))

    def receive(self, raws: Sequence[bytes], source: str, metadata: Sequence[dict[str, Any]] | None = None
                ) -> list[Stored]:
        """Commit raw messages (stage 1) before anything parses them."""
        extras = metadata or [{} for _ in raws]
        return self.store.store([Inbound(CHANNEL, source, mail_external_id(raw), raw, {"size": len(raw), **extra})
                                 for raw, extra in zip(raws, extras, strict=True)])

    def process(self, message_id: int) -> Outcome:
        """Take one stored message through the remaining stages; never raises for a bad message."""
        message = self.store.load(message_id)
        if message is None:
            return Outcome(message_id, "missing", reason=f"no intake message {message_id}")
        if message.state in FINAL:
            return Outcome(message_id, "done before", message.ticket_id, message.error)
        try:
            return self._process(message)
        except Exception as exc:
            reason = describe_failure(exc)
            if not isinstance(exc, Unprocessable):
                log.warning("intake message %s quarantined: %s", message_id, reason, exc_info=True)
            # Reloaded: the steps that did succeed wrote their progress into the row's metadata, which stays.
            self.store.finish(self.store.load(message_id) or message, QUARANTINED, reason=reason)
            return Outcome(message_id, "quarantined", reason=reason)

    def process_all(self, message_ids: Sequence[int]) -> list[Outcome]:
        return [self.process(message_id) for message_id in message_ids]

    def _process(self, message: IntakeMessage) -> Outcome:
        copy_of = message.metadata.get("copy_of")
        if copy_of is not None:
            return self._copy(message, int(copy_of))
        try:
            mail = parse_mail(message.raw)
        except Exception as exc:
            msg = f"cannot parse the message: {type(exc).__name__}: {exc}"
            raise Unprocessable(msg) from exc
        reason = ignore_reason(mail, self.mailboxes.addresses)
        if reason is not None:
            bounced = self.requesters.record_bounces(mail.bounced) if mail.bounced else 0
            self.store.finish(message, IGNORED, reason=reason,
                              metadata={"bounces_recorded": bounced} if bounced else None)
            return Outcome(message.id, "ignored", reason=reason)
        if mail.sender is None:
            msg = "no sender address (From, Sender, Reply-To and Return-Path are missing or unreadable)"
            raise Unprocessable(msg)
        mailbox = self.mailboxes.resolve(message.source, mail.recipients)
        facts = self._facts(message, mail, mailbox)
        if facts.duplicate is not None:
            self.store.finish(message, DUPLICATE, reason=facts.duplicate.reason, ticket_id=facts.duplicate.ticket_id)
            return Outcome(message.id, "duplicate", facts.duplicate.ticket_id, facts.duplicate.reason)
        actor = facts.actor or self._new_requester(mail)
        progress = {"mailbox": mailbox.name, "contact_id": actor.id, "thread": facts.thread.via or None}
        thread = facts.thread
        resumed_comment = message.metadata.get("comment_id") is not None
        if resumed_comment or (thread.ticket_id is not None and "ticket_id" not in message.metadata):
            ticket_id: int = message.metadata.get("ticket_id") or thread.ticket_id or 0
            try:
                made = self.creator.comment(message, actor, ticket_id, self._reply(message, mail), progress)
                return Outcome(message.id, made.kind, made.ticket_id)
            except (TicketNotFound, Forbidden):
                if resumed_comment:
                    raise
                # The headers point at a ticket this sender may not write on: theirs becomes a new one beside it.
                thread = Thread(related_id=thread.ticket_id, via=f"{thread.via} (sender may not write on it)")
                progress["thread"] = thread.via
        draft = Draft(CHANNEL, mailbox.type, ticket_payload(mail), source_name=mailbox.name,
                      external_ref=message.external_id, team_id=facts.team_id, related_id=thread.related_id,
                      sender_email=mail.sender.email, files=mail.attachments, html=mail.html)
        made = self.creator.ticket(message, actor, draft, progress)
        return Outcome(message.id, made.kind, made.ticket_id)

    @staticmethod
    def _reply(message: IntakeMessage, mail: ParsedMail) -> Reply:
        own_id = message.external_id if message.external_id.startswith("<") else None
        return Reply(CHANNEL, comment_body(mail), message_id=own_id, html=mail.html, files=mail.attachments)

    def _copy(self, message: IntakeMessage, first_id: int) -> Outcome:
        """A different message stored under an id already taken: the first one counts, this one is a record."""
        first = self.store.load(first_id)
        reason = f"same Message-ID as intake message {first_id} but different bytes: kept, not processed"
        ticket_id = first.ticket_id if first else None
        self.store.finish(message, DUPLICATE, reason=reason, ticket_id=ticket_id)
        return Outcome(message.id, "duplicate", ticket_id, reason)

    def _facts(self, message: IntakeMessage, mail: ParsedMail, mailbox: ir.Mailbox) -> Facts:
        assert mail.sender is not None
        with self.engine.connect() as connection:
            contact_id = self.requesters.find(connection, mail.sender)
            resuming = "ticket_id" in message.metadata
            return Facts(
                contact_id=contact_id,
                actor=contact_actor(connection, self.compiled, contact_id) if contact_id is not None else None,
                thread=self.threads.find(connection, mail, contact_id),
                duplicate=None if resuming else self.duplicates.find(connection, message),
                team_id=self.mailboxes.team_id(connection, mailbox),
            )

    def _new_requester(self, mail: ParsedMail) -> Actor:
        assert mail.sender is not None
        contact_id = self.requesters.identify(mail.sender)
        with self.engine.connect() as connection:
            return contact_actor(connection, self.compiled, contact_id)
