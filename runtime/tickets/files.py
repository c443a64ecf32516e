"""Attachments on tickets: bytes in the content-addressed store, a row per attachment, access as for the ticket."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.db.engine import write_transaction
from runtime.tickets import audit
from runtime.tickets.actors import Actor
from runtime.tickets.attachments import AttachmentStore, ByteStream
from runtime.tickets.errors import Forbidden, InvalidTicket, TicketNotFound
from runtime.tickets.records import load


class TicketFiles:
    def __init__(self, compiled: CompiledDesk, engine: sa.Engine) -> None:
        project = compiled.definitions.project
        self.compiled = compiled
        self.engine = engine
        self.store = AttachmentStore(compiled.root / project.attachments_dir, project.attachment_max_bytes)
        self.attachments = compiled.table("attachments")
        self.comments = compiled.table("comments")

    def attach(self, actor: Actor, ticket_id: int, data: bytes | ByteStream, filename: str,
               declared_type: str | None, channel: str = "api", comment_id: int | None = None) -> dict[str, Any]:
        """Store a file on the ticket or, with ``comment_id``, on one of its comments written by ``actor``
        (a requester sees it exactly when they see the comment)."""
        with self.engine.connect() as connection:
            load(connection, self.compiled, actor, ticket_id)  # refuse before reading a byte
            if comment_id is not None:
                self._check_comment(connection, actor, ticket_id, comment_id)
        stored = self.store.store(data, filename, declared_type)
        now = dt.datetime.now(dt.UTC)
        row = {"sha256": stored.sha256, "filename": stored.filename, "content_type": stored.content_type,
               "size": stored.size, "ticket_id": ticket_id, "comment_id": comment_id, "created_at": now}
        with write_transaction(self.engine) as connection:
            attachment_id = connection.execute(sa.insert(self.attachments).values(**row)
                                               .returning(self.attachments.c.id)).scalar_one()
            label = stored.filename if comment_id is None else f"{stored.filename} (comment {comment_id})"
            audit.record(connection, self.compiled.table("ticket_events"), ticket_id, actor, channel, "attachment",
                         {"attachment": (None, label)}, now)
        return {"id": attachment_id, **row}

    def _check_comment(self, connection: sa.Connection, actor: Actor, ticket_id: int, comment_id: int) -> None:
        comment = connection.execute(
            sa.select(self.comments.c.public, self.comments.c.author_agent_id, self.comments.c.author_contact_id)
            .where(self.comments.c.id == comment_id, self.comments.c.ticket_id == ticket_id)).first()
        if comment is None or (actor.kind == "contact" and not comment.public):
            msg = f"ticket {ticket_id} has no comment {comment_id}"
            raise InvalidTicket(msg, [{"field": "comment_id", "reason": msg}])
        author = comment.author_contact_id if actor.kind == "contact" else comment.author_agent_id
        if actor.kind != "system" and author != actor.id:
            msg = "files can be added only to one's own comments"
            raise Forbidden(msg)

    def by_comment(self, actor: Actor, ticket_id: int) -> dict[int, list[dict[str, Any]]]:
        """The files of each comment of a ticket that ``actor`` may see (the caller has checked the ticket)."""
        columns = (self.attachments.c.id, self.attachments.c.comment_id, self.attachments.c.filename,
                   self.attachments.c.content_type, self.attachments.c.size)
        found: dict[int, list[dict[str, Any]]] = {}
        with self.engine.connect() as connection:
            rows = connection.execute(self._visible_rows(actor).with_only_columns(*columns)
                                      .where(self.attachments.c.ticket_id == ticket_id,
                                             self.attachments.c.comment_id.is_not(None))
                                      .order_by(self.attachments.c.id))
            for row in rows:
                found.setdefault(row.comment_id, []).append(
                    {"id": row.id, "filename": row.filename, "content_type": row.content_type, "size": row.size})
        return found

    def _visible_rows(self, actor: Actor) -> sa.Select[Any]:
        query = sa.select(self.attachments).outerjoin(self.comments,
                                                      self.comments.c.id == self.attachments.c.comment_id)
        if actor.kind == "contact":
            # Requesters see files on the ticket itself and on public comments, never on internal notes.
            query = query.where(sa.or_(self.attachments.c.comment_id.is_(None), self.comments.c.public.is_(True)))
        return query

    def list(self, actor: Actor, ticket_id: int) -> list[dict[str, Any]]:
        with self.engine.connect() as connection:
            load(connection, self.compiled, actor, ticket_id)
            rows = connection.execute(self._visible_rows(actor).where(self.attachments.c.ticket_id == ticket_id)
                                      .order_by(self.attachments.c.id))
            return [dict(r._mapping) for r in rows]

    def find(self, actor: Actor, attachment_id: int) -> tuple[dict[str, Any], Path]:
        """The attachment's row and file, if ``actor`` may see its ticket and comment."""
        with self.engine.connect() as connection:
            row = connection.execute(self._visible_rows(actor).where(self.attachments.c.id == attachment_id)).first()
            if row is None or row.ticket_id is None:
                msg = f"no attachment {attachment_id}"
                raise TicketNotFound(msg)
            try:
                load(connection, self.compiled, actor, row.ticket_id)
            except TicketNotFound:
                msg = f"no attachment {attachment_id}"
                raise TicketNotFound(msg) from None
        return dict(row._mapping), self.store.path(row.sha256)
