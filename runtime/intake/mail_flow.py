"""The mail stages after storing: parse, loop guard, thread, identify, exact duplicates, then the shared last
stages (``create``) as the sender."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.config import ir
from runtime.intake.create import Creator
from runtime.intake.draft import Draft, Reply
from runtime.intake.duplicates import Duplicate, Duplicates
from runtime.intake.loop_guard import ignore_reason
from runtime.intake.mail.message import ParsedMail, parse_mail
from runtime.intake.mailboxes import Mailboxes
from runtime.intake.outcome import Outcome, Unprocessable
from runtime.intake.requesters import Requesters
from runtime.intake.store import DUPLICATE, IGNORED, IntakeMessage, IntakeStore
from runtime.intake.threads import Thread, Threads
from runtime.intake.wording import comment_body, ticket_payload
from runtime.tickets.actors import Actor, contact_actor
from runtime.tickets.errors import Forbidden, TicketNotFound

CHANNEL = "email"


@dataclass(frozen=True)
class Facts:
    """What the database says about a mail, read together before anything is written."""

    contact_id: int | None
    actor: Actor | None
    thread: Thread
    duplicate: Duplicate | None
    team_id: int | None


class MailFlow:
    def __init__(self, compiled: CompiledDesk, engine: sa.Engine, store: IntakeStore, requesters: Requesters,
                 creator: Creator) -> None:
        self.compiled = compiled
        self.engine = engine
        self.store = store
        self.requesters = requesters
        self.creator = creator
        self.mailboxes = Mailboxes(compiled)
        self.threads = Threads(compiled, CHANNEL)
        self.duplicates = Duplicates(compiled)

    def handle(self, message: IntakeMessage) -> Outcome:
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
        draft = Draft(CHANNEL, self.mailboxes.type_for(mailbox, mail.subject), ticket_payload(mail),
                      source_name=mailbox.name,
                      external_ref=message.external_id, team_id=facts.team_id, related_id=thread.related_id,
                      sender_email=mail.sender.email, files=mail.attachments, html=mail.html)
        made = self.creator.ticket(message, actor, draft, progress)
        return Outcome(message.id, made.kind, made.ticket_id)

    @staticmethod
    def _reply(message: IntakeMessage, mail: ParsedMail) -> Reply:
        own_id = message.external_id if message.external_id.startswith("<") else None
        return Reply(CHANNEL, comment_body(mail), message_id=own_id, html=mail.html, files=mail.attachments)

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
        return self.requesters.actor(mail.sender)
