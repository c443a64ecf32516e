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
from runtime.tickets.errors import TicketNotFound
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
               declared_type: str | None, channel: str = "api") -> dict[str, Any]:
        with self.engine.connect() as connection:
            load(connection, self.compiled, actor, ticket_id)  # refuse before reading a byte
        stored = self.store.store(data, filename, declared_type)
        now = dt.datetime.now(dt.UTC)
        row = {"sha256": stored.sha256, "filename": stored.filename, "content_type": stored.content_type,
               "size": stored.size, "ticket_id": ticket_id, "comment_id": None, "created_at": now}
        with write_transaction(self.engine) as connection:
            attachment_id = connection.execute(sa.insert(self.attachments).values(**row)
                                               .returning(self.attachments.c.id)).scalar_one()
            audit.record(connection, self.compiled.table("ticket_events"), ticket_id, actor, channel, "attachment",
                         {"attachment": (None, stored.filename)}, now)
        return {"id": attachment_id, **row}

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
