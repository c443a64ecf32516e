"""Creates through the typed API with an ``Idempotency-Key``: the request is stored as an intake message
(channel ``api``, source the caller, external id the key) before the ticket is made, so the same key from the
same caller finds the first request and its ticket instead of making a second.

The ticket is made exactly as without the key (no enrichment, routing or acknowledgement: what an API caller
sends is what they get); only requests carrying the header pay for the extra writes.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.dialects import postgresql, sqlite

from runtime.compile.desk import CompiledDesk
from runtime.db.engine import write_transaction
from runtime.intake.claims import Claims, claims
from runtime.intake.outcome import Outcome, Unprocessable
from runtime.intake.store import PROCESSED, QUARANTINED, IntakeMessage, IntakeStore
from runtime.intake.wording import describe_failure
from runtime.tickets.access import redact
from runtime.tickets.actors import Actor, agent_actor, contact_actor
from runtime.tickets.errors import TicketError
from runtime.tickets.service import TicketService

CHANNEL = "api"
KEY_MAX = 200
# A request's row is written quarantined with this reason while its ticket is made: the worker only takes up
# received messages, so it cannot make the same ticket beside the request. If this reason stays, the process
# stopped before the ticket was committed; retrying the message makes it.
IN_FLIGHT = "being made by its API request (if this stays, that request stopped: retry the message)"


class KeyConflict(TicketError):
    status = 409
    title = "Idempotency-Key conflict"


def caller_source(actor: Actor) -> str:
    """Keys are the caller's own: the same key from two callers is two requests."""
    return f"{actor.kind}:{actor.id}"


class ApiFlow:
    def __init__(self, compiled: CompiledDesk, engine: sa.Engine, store: IntakeStore, service: TicketService
                 ) -> None:
        self.compiled = compiled
        self.engine = engine
        self.store = store
        self.service = service
        table = store.table
        dialect = sqlite if engine.dialect.name == "sqlite" else postgresql
        self._insert = compiled.memo(("intake.api_insert", engine.dialect.name), lambda: dialect.insert(table)
                                     .on_conflict_do_nothing(index_elements=["channel", "source", "external_id"])
                                     .returning(table.c.id))
        self._find = compiled.memo("intake.api_find", lambda: sa.select(
            table.c.id, table.c.raw, table.c.metadata, table.c.state, table.c.error).where(
            table.c.channel == CHANNEL, table.c.source == sa.bindparam("source"),
            table.c.external_id == sa.bindparam("external_id")))
        self._take = compiled.memo("intake.api_take", lambda: sa.update(table).where(
            table.c.id == sa.bindparam("row_id"), table.c.state == QUARANTINED,
            table.c.error == sa.bindparam("old_error")).values(error=IN_FLIGHT))

    def handle(self, message: IntakeMessage) -> Outcome:
        type_name = message.metadata.get("type")
        if not isinstance(type_name, str) or type_name not in self.compiled.create_models:
            msg = f"the stored request names no ticket type of this desk ({type_name!r})"
            raise Unprocessable(msg)
        ticket = self._make(message, self._caller(message.source), type_name, json.loads(message.raw))
        return Outcome(message.id, "ticket", int(ticket["id"]))

    def _make(self, message: IntakeMessage, actor: Actor, type_name: str, payload: dict[str, Any] | BaseModel
              ) -> dict[str, Any]:
        """The ticket and the note of it in the request's row commit together (in one savepoint when the
        transaction is shared with other creates): retrying after a crash can neither lose it nor make it twice."""
        new = self.service.prepare(actor, type_name, payload)

        def make(connection: sa.Connection) -> dict[str, Any]:
            row = self.service.create_in(connection, new, CHANNEL)
            self.store.record(connection, message, PROCESSED, ticket_id=int(row["id"]))
            return row

        return redact(self.service.together(make), actor)

    def _caller(self, source: str) -> Actor:
        kind, _, person = source.partition(":")
        if not person.isdigit() or kind not in ("agent", "contact"):
            msg = f"the stored request's caller '{source}' is not an agent or a contact"
            raise Unprocessable(msg)
        with self.engine.connect() as connection:
            if kind == "agent":
                return agent_actor(connection, self.compiled, int(person))
            return contact_actor(connection, self.compiled, int(person))

    def create_once(self, actor: Actor, type_name: str, data: BaseModel, key: str) -> dict[str, Any]:
        """The ticket the first request with ``key`` made (read now, as ``actor`` sees it), making it if this is
        the first; a failed first request is tried again, as the caller asks by sending the key again."""
        body = json.dumps(data.model_dump(mode="json", exclude_unset=True), sort_keys=True, ensure_ascii=False)
        # The request holds its row's claim while it makes the ticket: an administrator's retry (which claims
        # too) cannot run beside it, and a request that died lets go, so the next one with the key takes over.
        with claims(self.engine) as held:
            row_id, claimed = self._reserve(caller_source(actor), key, body.encode(), type_name, held)
            try:
                message = self.store.load(row_id)
                assert message is not None  # rows are never deleted
                if message.ticket_id is not None and message.state == PROCESSED:
                    return self.service.get(actor, message.ticket_id)
                try:
                    return self._make(message, actor, type_name, data)
                except Exception as exc:
                    self.store.finish(message, QUARANTINED, reason=describe_failure(exc))
                    raise
            finally:
                if claimed:
                    held.release(row_id)

    def _reserve(self, source: str, key: str, raw: bytes, type_name: str, held: Claims) -> tuple[int, bool]:
        """The request's row, claimed for this request: new, or an earlier attempt that failed (quarantined) or
        whose request died, or one already processed. Anything else with the key refuses with KeyConflict."""
        row = {"channel": CHANNEL, "source": source, "external_id": key, "raw": raw, "metadata": {"type": type_name},
               "state": QUARANTINED, "error": IN_FLIGHT, "received_at": dt.datetime.now(dt.UTC)}
        with write_transaction(self.engine) as connection:
            busy = "the first request with this Idempotency-Key is still being processed; send it again shortly"
            new_id = connection.execute(self._insert, row).scalar()
            if new_id is not None:
                if not held.claim(int(new_id)):  # only if another request took it over in this instant
                    raise KeyConflict(busy)
                return int(new_id), True
            found = connection.execute(self._find, {"source": source, "external_id": key}).one()
            if bytes(found.raw) != raw or (found.metadata or {}).get("type") != type_name:
                msg = "this Idempotency-Key was used before with a different request; use a new key for a new one"
                raise KeyConflict(msg)
            if found.state == PROCESSED:
                return int(found.id), False  # read, not made: no claim needed
            if found.state != QUARANTINED or not held.claim(int(found.id)):
                raise KeyConflict(busy)
            if found.error == IN_FLIGHT:
                # Claimable although in flight: the request that reserved it died before finishing.
                return int(found.id), True
            # Taken only if it is still as read: of two requests retrying one failed attempt, one goes ahead.
            if connection.execute(self._take, {"row_id": found.id, "old_error": found.error}).rowcount != 1:
                held.release(int(found.id))
                raise KeyConflict(busy)
            return int(found.id), True
