"""The ``intake_messages`` table: raw messages committed on arrival, and how far each got.

A row is written once per (channel, source, external id): storing the same delivery again finds the row
already there. Its state moves from ``received`` to one of the final states, or to ``quarantined`` with the
reason when processing failed (a quarantined message can be retried; final ones are never processed again).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from runtime.compile.desk import CompiledDesk
from runtime.db.engine import write_transaction

RECEIVED, PROCESSED, DUPLICATE, IGNORED, QUARANTINED = "received", "processed", "duplicate", "ignored", "quarantined"
STATES = (RECEIVED, PROCESSED, DUPLICATE, IGNORED, QUARANTINED)
FINAL = frozenset({PROCESSED, DUPLICATE, IGNORED})
REASON_MAX = 2000
COPY_MARK = "#copy-"  # external id of a copy: "<the taken id> #copy-<sha256 of its bytes>"


@dataclass(frozen=True)
class Inbound:
    """A message as a channel delivers it, before anything reads it."""

    channel: str
    source: str
    external_id: str
    raw: bytes
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Stored:
    id: int
    state: str
    new: bool  # False: this delivery was stored before
    copy_of: int | None = None  # different bytes under an id already taken: the row that has it


@dataclass(frozen=True)
class IntakeMessage:
    id: int
    channel: str
    source: str
    external_id: str
    raw: bytes
    metadata: dict[str, Any]
    state: str
    error: str | None
    ticket_id: int | None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class IntakeStore:
    def __init__(self, compiled: CompiledDesk, engine: sa.Engine) -> None:
        self.compiled = compiled
        self.engine = engine
        self.table = table = compiled.table("intake_messages")
        dialect = sqlite if engine.dialect.name == "sqlite" else postgresql
        self._insert = compiled.memo(("intake.insert", engine.dialect.name), lambda: dialect.insert(table)
                                     .on_conflict_do_nothing(index_elements=["channel", "source", "external_id"])
                                     .returning(table.c.id))
        self._find = compiled.memo("intake.find", lambda: sa.select(table.c.id, table.c.state, table.c.raw).where(
            table.c.channel == sa.bindparam("channel"), table.c.source == sa.bindparam("source"),
            table.c.external_id == sa.bindparam("external_id")))
        self._load = compiled.memo("intake.load", lambda: sa.select(table).where(table.c.id == sa.bindparam("id")))
        self._set = compiled.memo("intake.set", lambda: sa.update(table).where(table.c.id == sa.bindparam("row_id")))

    def store(self, messages: Sequence[Inbound]) -> list[Stored]:
        """Commit every message (one transaction for the batch); the ones stored before are found, not doubled.

        Different bytes under an external id already taken (a mail program reusing a Message-ID, or one mail
        exported twice with different headers) are still kept, as a copy pointing at the first: nothing that
        arrives is thrown away."""
        now = _now()
        result = []
        with write_transaction(self.engine) as connection:
            for message in messages:
                key = {"channel": message.channel, "source": message.source[:200],
                       "external_id": message.external_id[:998]}
                row = {"raw": message.raw, "metadata": message.metadata, "state": RECEIVED, "received_at": now}
                row_id = connection.execute(self._insert, {**key, **row}).scalar()
                if row_id is not None:
                    result.append(Stored(row_id, RECEIVED, new=True))
                    continue
                existing = connection.execute(self._find, key).one()
                if bytes(existing.raw) == message.raw:
                    result.append(Stored(existing.id, existing.state, new=False))
                    continue
                digest = hashlib.sha256(message.raw).hexdigest()
                copy_key = {**key, "external_id": f"{key['external_id'][:900]} {COPY_MARK}{digest}"}
                row["metadata"] = {**message.metadata, "copy_of": existing.id}
                row_id = connection.execute(self._insert, {**copy_key, **row}).scalar()
                if row_id is not None:
                    result.append(Stored(row_id, RECEIVED, new=True, copy_of=existing.id))
                else:
                    copy = connection.execute(self._find, copy_key).one()
                    result.append(Stored(copy.id, copy.state, new=False, copy_of=existing.id))
        return result

    def load(self, message_id: int) -> IntakeMessage | None:
        with self.engine.connect() as connection:
            row = connection.execute(self._load, {"id": message_id}).first()
        if row is None:
            return None
        return IntakeMessage(row.id, row.channel, row.source, row.external_id, bytes(row.raw), dict(row.metadata),
                             row.state, row.error, row.ticket_id)

    def record(self, connection: sa.Connection, message: IntakeMessage, state: str, *, reason: str | None = None,
               ticket_id: int | None = None, metadata: dict[str, Any] | None = None) -> None:
        """Set the message's state inside the caller's transaction (so it commits with what caused it)."""
        values: dict[str, Any] = {"state": state, "error": reason[:REASON_MAX] if reason else None,
                                  "metadata": {**message.metadata, **(metadata or {})}}
        if ticket_id is not None:
            values["ticket_id"] = ticket_id
        if state in FINAL:
            values["processed_at"] = _now()
        connection.execute(self._set, {"row_id": message.id, **values})

    def finish(self, message: IntakeMessage, state: str, *, reason: str | None = None, ticket_id: int | None = None,
               metadata: dict[str, Any] | None = None) -> None:
        """``record`` in a transaction of its own."""
        with write_transaction(self.engine) as connection:
            self.record(connection, message, state, reason=reason, ticket_id=ticket_id, metadata=metadata)

    def ids(self, state: str, channel: str | None = None) -> list[int]:
        query = sa.select(self.table.c.id).where(self.table.c.state == state).order_by(self.table.c.id)
        if channel is not None:
            query = query.where(self.table.c.channel == channel)
        with self.engine.connect() as connection:
            return list(connection.execute(query).scalars())

    def listing(self, state: str | None = None, limit: int = 100, channel: str | None = None
                ) -> list[dict[str, Any]]:
        """Rows without their raw bytes, newest first."""
        t = self.table
        query = sa.select(t.c.id, t.c.channel, t.c.source, t.c.external_id, t.c.state, t.c.error, t.c.ticket_id,
                          t.c.received_at, t.c.processed_at, sa.func.length(t.c.raw).label("size")
                          ).order_by(t.c.id.desc()).limit(limit)
        if state is not None:
            query = query.where(t.c.state == state)
        if channel is not None:
            query = query.where(t.c.channel == channel)
        with self.engine.connect() as connection:
            return [dict(r._mapping) for r in connection.execute(query)]

    def counts(self) -> dict[str, int]:
        t = self.table
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(t.c.state, sa.func.count()).group_by(t.c.state))
            return {row.state: int(row[1]) for row in rows}
