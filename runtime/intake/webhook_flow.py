"""A stored webhook delivery through the mapping of its source in tessera.yaml: a new ticket, or — when its
external id matches an earlier ticket from the same source — a comment on that ticket.

The mapping runs on the stored bytes and headers, so a retry after fixing what the mapping needed (a contact,
a referenced record) sees exactly the delivery that came.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.compile.models import EMAIL
from runtime.config import ir
from runtime.config.checks.intake import is_template
from runtime.intake.create import Creator
from runtime.intake.draft import Draft, Reply
from runtime.intake.mail.headers import Address
from runtime.intake.mapping import MappingError, Missing, evaluate
from runtime.intake.outcome import Outcome, Unprocessable
from runtime.intake.requesters import Requesters
from runtime.intake.store import IntakeMessage
from runtime.intake.teams import TeamNames
from runtime.intake.threads import Threads
from runtime.tickets.actors import SYSTEM, Actor
from runtime.tickets.errors import Forbidden, TicketNotFound

CHANNEL = "webhook"
_EMAIL = re.compile(EMAIL)


@dataclass(frozen=True)
class Mapped:
    ticket_type: str
    fields: dict[str, Any]
    external_id: str | None
    requester: Address | None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def map_delivery(compiled: CompiledDesk, hook: ir.Webhook, payload: Any, headers: dict[str, str]) -> Mapped:
    """The ticket a delivery asks for, by the source's mapping; a value it cannot give is a MappingError."""
    # A type is named as it is, or chosen per delivery by a template; never a path into the payload.
    type_name = _text(evaluate("type", hook.type, payload, headers)) if is_template(hook.type) else hook.type
    if type_name is None or compiled.definitions.ticket_type(type_name) is None:
        known = ", ".join(t.name for t in compiled.definitions.types)
        msg = f"type: '{hook.type}' gave {type_name!r}, which is not a ticket type (known: {known})"
        raise MappingError(msg)
    fields: dict[str, Any] = {}
    for name, text in hook.fields:
        value = evaluate(f"fields.{name}", text, payload, headers)
        # Nothing (null, an undefined name, an empty rendering) leaves the field to its default.
        if value is not None and value != "":
            fields[name] = value
    return Mapped(type_name, fields, _optional(hook.external_id, "external_id", payload, headers),
                  _requester(hook.requester, payload, headers))


def _optional(text: str | None, where: str, payload: Any, headers: dict[str, str]) -> str | None:
    """A value the delivery may lack (external id, requester): missing is None, not an error."""
    if text is None:
        return None
    try:
        return _text(evaluate(where, text, payload, headers))
    except Missing:
        return None


def _requester(text: str | None, payload: Any, headers: dict[str, str]) -> Address | None:
    written = _optional(text, "requester", payload, headers)
    if written is None:
        return None
    name, email = parseaddr(written)
    if not _EMAIL.match(email):
        msg = f"requester: {written!r} is not an email address"
        raise MappingError(msg)
    return Address(name, email)


class WebhookFlow:
    def __init__(self, compiled: CompiledDesk, engine: sa.Engine, requesters: Requesters, creator: Creator
                 ) -> None:
        self.compiled = compiled
        self.engine = engine
        self.requesters = requesters
        self.creator = creator
        tickets = compiled.table("tickets")
        self._earlier = compiled.memo("intake.webhook_earlier", lambda: sa.select(tickets.c.id).where(
            tickets.c.source == CHANNEL, tickets.c.source_name == sa.bindparam("source"),
            tickets.c.external_ref == sa.bindparam("ref")).order_by(tickets.c.id.desc()).limit(1))
        self.threads = Threads(compiled, CHANNEL)  # a merged ticket's follow-ups go where it was merged
        self.teams = TeamNames(compiled)

    def handle(self, message: IntakeMessage) -> Outcome:
        hook = self.compiled.definitions.project.intake.webhook(message.source)
        if hook is None:
            msg = f"tessera.yaml no longer declares the webhook source '{message.source}'"
            raise Unprocessable(msg)
        try:
            payload = json.loads(message.raw)
        except ValueError as exc:
            msg = f"the stored delivery is not JSON: {exc}"
            raise Unprocessable(msg) from exc
        headers = {str(k): str(v) for k, v in (message.metadata.get("headers") or {}).items()}
        mapped = map_delivery(self.compiled, hook, payload, headers)
        actor = self._actor(mapped.requester)
        progress: dict[str, Any] = {"source": hook.name, "contact_id": actor.id, "external_id": mapped.external_id}
        resumed_comment = message.metadata.get("comment_id") is not None
        earlier = None
        if mapped.external_id is not None and "ticket_id" not in message.metadata:
            earlier = self._earlier_ticket(hook.name, mapped.external_id)
        related_id = None
        if resumed_comment or earlier is not None:
            ticket_id: int = message.metadata.get("ticket_id") or earlier or 0
            try:
                made = self.creator.comment(message, actor, ticket_id, self._reply(mapped, actor), progress)
                return Outcome(message.id, made.kind, made.ticket_id)
            except (TicketNotFound, Forbidden):
                if resumed_comment:
                    raise
                # Another requester's ticket: this one becomes a new ticket beside it.
                related_id = earlier
                progress["thread"] = f"external id of ticket {earlier} (requester may not write on it)"
        draft = Draft(CHANNEL, mapped.ticket_type, mapped.fields, source_name=hook.name,
                      external_ref=mapped.external_id or message.external_id, team_id=self._team_id(hook),
                      related_id=related_id, sender_email=mapped.requester.email if mapped.requester else None,
                      type_fixed=True)  # the source's mapping chose it, and maps that type's fields
        made = self.creator.ticket(message, actor, draft, progress)
        return Outcome(message.id, made.kind, made.ticket_id)

    def _actor(self, requester: Address | None) -> Actor:
        """The requester's contact (created if new); without one the desk itself opens the ticket."""
        if requester is None:
            return SYSTEM
        return self.requesters.actor(requester)

    @staticmethod
    def _reply(mapped: Mapped, actor: Actor) -> Reply:
        title = _text(mapped.fields.get("title")) or "(no title)"
        description = _text(mapped.fields.get("description"))
        body = title if description in (None, title) else f"{title}\n\n{description}"
        # Without a requester the source system speaks: its follow-up is for the agents, not the customer.
        return Reply(CHANNEL, body, public=actor.kind == "contact")

    def _earlier_ticket(self, source: str, external_id: str) -> int | None:
        with self.engine.connect() as connection:
            found: Any = connection.execute(self._earlier, {"source": source, "ref": external_id[:500]}).scalar()
            return None if found is None else self.threads.surviving(connection, int(found))

    def _team_id(self, hook: ir.Webhook) -> int | None:
        with self.engine.connect() as connection:
            return self.teams.team_id(connection, hook.team, f"webhook source {hook.name}")
