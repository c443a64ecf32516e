"""Acknowledgements: the requester whose message opened a ticket is told its number, within limits.

Mail and form requesters get one: they wrote to us themselves and wait for a sign. A webhook's ticket gets
none: the system that posted it had its answer in the HTTP response, and the requester its payload names did
not write to us (an alert about their machine, say), so a mail would come out of the blue, one per alert.

The acknowledgement answers the customer's mail (In-Reply-To, References) and is an auto-reply (RFC 3834), so
compliant auto-responders stay silent. It is recorded as an internal outbound comment carrying its Message-ID:
that is where threading looks up the Message-IDs of mail we sent, so an answer to it lands on the ticket, and
agents see what the customer was told. Loops: what auto-responders send back is ignored by the loop guard, and
whatever slips through is capped by the hourly limit per address, counted in ``intake_acks``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.config import ir
from runtime.intake.draft import Draft
from runtime.notify import mail_texts
from runtime.notify.email import AUTO_REPLIED, MailHeaders, new_message_id
from runtime.notify.outbox import Outbox
from runtime.notify.recipients import Recipient, Recipients

CHANNELS = frozenset({"email", "form"})
WINDOW = dt.timedelta(hours=1)


class Acknowledger:
    def __init__(self, compiled: CompiledDesk) -> None:
        self.compiled = compiled
        self.settings = compiled.definitions.project.acknowledge
        self.outbox = Outbox(compiled)
        self.recipients = Recipients(compiled)
        acks, comments = compiled.table("intake_acks"), compiled.table("comments")
        self._recent = compiled.memo("intake.recent_acks", lambda: sa.select(sa.func.count()).select_from(acks).where(
            acks.c.address == sa.bindparam("address"), acks.c.sent_at > sa.bindparam("since")))
        self._record = compiled.memo("intake.record_ack", lambda: sa.insert(acks))
        self._forget = compiled.memo("intake.forget_acks", lambda: sa.delete(acks).where(
            acks.c.address == sa.bindparam("address"), acks.c.sent_at <= sa.bindparam("since")))
        self._note = compiled.memo("intake.ack_note", lambda: sa.insert(comments))

    def queue(self, connection: sa.Connection, ticket: dict[str, Any], draft: Draft, now: dt.datetime) -> bool:
        """Queue the acknowledgement in the caller's transaction; False when none is due."""
        # Without mail.outgoing nothing could send it: a queued job would only fail, again and again.
        if not self.settings.enabled or draft.channel not in CHANNELS or self.compiled.definitions.project.smtp is None:
            return False
        recipient = self.recipients.requester(connection, ticket, lock=True)
        if recipient is None:
            return False
        address = recipient.email.lower()
        sent: int = connection.execute(self._recent, {"address": address, "since": now - WINDOW}).scalar_one()
        if sent >= self.settings.per_sender_per_hour:
            return False
        subject, body = self._texts(ticket, recipient)
        message_id = new_message_id(self.compiled)
        original = draft.external_ref if draft.channel == "email" and (draft.external_ref or "").startswith("<") \
            else None
        headers = MailHeaders(message_id=message_id, in_reply_to=original, references=(original,) if original else (),
                              reply_to=self.recipients.reply_to(ticket), auto_submitted=AUTO_REPLIED)
        self.outbox.email(connection, recipient.address, subject, body, now, headers)
        # Only the last hour counts: older rows of this address go as a new one comes, so the table stays small.
        connection.execute(self._forget, {"address": address, "since": now - WINDOW})
        connection.execute(self._record, {"address": address, "ticket_id": ticket["id"], "sent_at": now})
        connection.execute(self._note, {
            "ticket_id": ticket["id"], "public": False, "direction": "outbound", "channel": "email",
            "body": f"Acknowledgement mailed to {recipient.email}: {subject}\n\n{body}", "message_id": message_id,
            "created_at": now})
        return True

    def _texts(self, ticket: dict[str, Any], recipient: Recipient) -> tuple[str, str]:
        context = {"ticket": ticket, "requester": {"name": recipient.name, "email": recipient.email},
                   "desk": {"name": self.compiled.definitions.project.name}}
        subject = mail_texts.render(self.settings.subject, ir.Acknowledge().subject, context)
        body = mail_texts.render(self.settings.body or mail_texts.ACK_BODY, mail_texts.ACK_BODY, context)
        return subject, body
