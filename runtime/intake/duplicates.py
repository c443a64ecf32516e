"""Exact duplicates: a message already turned into a ticket or comment, arriving again by another way.

The same Message-ID (or, without one, the same bytes) delivered to a second mailbox, or a comment that already
carries this Message-ID, means the message was handled: it points at that ticket and makes nothing new.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.intake.store import DUPLICATE, PROCESSED, IntakeMessage


@dataclass(frozen=True)
class Duplicate:
    ticket_id: int
    reason: str


class Duplicates:
    def __init__(self, compiled: CompiledDesk) -> None:
        intake, comments = compiled.table("intake_messages"), compiled.table("comments")
        self._handled = compiled.memo("intake.handled_elsewhere", lambda: sa.select(
            intake.c.id, intake.c.ticket_id).where(
            intake.c.channel == sa.bindparam("channel"), intake.c.external_id == sa.bindparam("external_id"),
            intake.c.id != sa.bindparam("row_id"), intake.c.state.in_((PROCESSED, DUPLICATE)),
            intake.c.ticket_id.is_not(None)).order_by(intake.c.id).limit(1))
        self._comment = compiled.memo("intake.comment_by_message_id", lambda: sa.select(
            comments.c.id, comments.c.ticket_id).where(comments.c.message_id == sa.bindparam("message_id")
                                                       ).order_by(comments.c.id).limit(1))

    def find(self, connection: sa.Connection, message: IntakeMessage) -> Duplicate | None:
        earlier = connection.execute(self._handled, {"channel": message.channel, "external_id": message.external_id,
                                                     "row_id": message.id}).first()
        if earlier is not None:
            return Duplicate(earlier.ticket_id, f"same message as intake message {earlier.id} (via "
                                                f"another mailbox or source)")
        if message.external_id.startswith("<"):
            comment = connection.execute(self._comment, {"message_id": message.external_id}).first()
            if comment is not None:
                return Duplicate(comment.ticket_id, f"comment {comment.id} already holds this Message-ID")
        return None
