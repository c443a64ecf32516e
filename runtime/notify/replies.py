"""An agent's public reply goes to the requester by mail, queued in the transaction that writes the comment.

The mail's Message-ID is stored on the comment, so the customer's answer (In-Reply-To) threads back to the
ticket; its In-Reply-To and References name the customer's latest mail on the ticket, so that their mail
program shows one conversation. Internal notes and the requester's own comments never go out. The comment's
files do not go with it: they are attached after the comment exists, each in a transaction of its own.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.notify import mail_texts
from runtime.notify.email import MailHeaders, new_message_id
from runtime.notify.outbox import Outbox
from runtime.notify.recipients import Recipients
from runtime.tickets.actors import Actor


class ReplyMail:
    def __init__(self, compiled: CompiledDesk) -> None:
        self.compiled = compiled
        self.outbox = Outbox(compiled)
        self.recipients = Recipients(compiled)
        comments, agents = compiled.table("comments"), compiled.table("agents")
        self._latest_inbound = compiled.memo("notify.latest_inbound", lambda: sa.select(comments.c.message_id).where(
            comments.c.ticket_id == sa.bindparam("ticket"), comments.c.direction == "inbound",
            comments.c.message_id.is_not(None)).order_by(comments.c.id.desc()).limit(1))
        self._agent_name = compiled.memo("notify.agent_name", lambda: sa.select(agents.c.name).where(
            agents.c.id == sa.bindparam("agent")))

    def queue(self, connection: sa.Connection, ticket: dict[str, Any], actor: Actor, body: str, *, public: bool,
              now: dt.datetime) -> str | None:
        """The Message-ID of the mail queued for this comment, or None when it is not mailed."""
        # Without mail.outgoing there is no way out (and a queued job would only fail, again and again).
        if not public or actor.kind != "agent" or self.compiled.definitions.project.smtp is None:
            return None
        recipient = self.recipients.requester(connection, ticket)
        if recipient is None:
            return None
        ref = ticket.get("external_ref") or ""
        original = ref if ticket.get("source") == "email" and ref.startswith("<") else None
        latest: str | None = connection.execute(self._latest_inbound, {"ticket": ticket["id"]}).scalar()
        answering = latest or original
        agent_name = connection.execute(self._agent_name, {"agent": actor.id}).scalar() or actor.name
        context = {"ticket": ticket, "requester": {"name": recipient.name, "email": recipient.email},
                   "desk": {"name": self.compiled.definitions.project.name}, "agent": {"name": agent_name},
                   "comment": {"body": body}, "replying": answering is not None}
        subject = mail_texts.render(mail_texts.REPLY_SUBJECT, mail_texts.REPLY_SUBJECT, context)
        text = mail_texts.render(mail_texts.REPLY_BODY, mail_texts.REPLY_BODY, context)
        message_id = new_message_id(self.compiled)
        # A person wrote it: no Auto-Submitted, so the customer's mail program treats it as any mail (RFC 3834).
        headers = MailHeaders(message_id=message_id, in_reply_to=answering,
                              references=tuple(dict.fromkeys(r for r in (original, latest) if r)),
                              reply_to=self.recipients.reply_to(ticket), auto_submitted=None)
        self.outbox.email(connection, recipient.address, subject, text, now, headers)
        return message_id
