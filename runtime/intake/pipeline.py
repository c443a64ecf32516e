"""The pipeline's entry for every channel: a stored message becomes a ticket, a comment, a duplicate, or is
ignored — or, when any stage fails, stays quarantined with the reason. Running it again on a finished message
does nothing.

Each channel reads its own input (``mail_flow``, ``webhook_flow``, ``form_flow``, ``api_flow``); ``process``
picks the one the stored row names, so a retry from the CLI, the API or the worker works for any of them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.intake.api_flow import ApiFlow
from runtime.intake.create import Creator
from runtime.intake.form_flow import FormFlow
from runtime.intake.mail.identity import mail_external_id
from runtime.intake.mail_flow import CHANNEL, MailFlow
from runtime.intake.outcome import Outcome, Unprocessable
from runtime.intake.requesters import Requesters
from runtime.intake.store import DUPLICATE, FINAL, QUARANTINED, Inbound, IntakeMessage, IntakeStore, Stored
from runtime.intake.webhook_flow import WebhookFlow
from runtime.intake.wording import describe_failure
from runtime.tickets.errors import TicketError
from runtime.tickets.service import TicketService

__all__ = ["IntakePipeline", "MailPipeline", "Outcome", "Unprocessable"]

log = logging.getLogger("tessera.intake")
# What the external id of each channel is called, for the reason a copy is kept with.
EXTERNAL_ID_NAMES = {"email": "Message-ID", "webhook": "delivery id", "form": "submission token",
                     "api": "Idempotency-Key"}


class Flow(Protocol):
    def handle(self, message: IntakeMessage) -> Outcome: ...


class IntakePipeline:
    def __init__(self, compiled: CompiledDesk, engine: sa.Engine, service: TicketService | None = None) -> None:
        self.compiled = compiled
        self.engine = engine
        self.service = service or TicketService(compiled, engine)
        self.store = IntakeStore(compiled, engine)
        self.requesters = Requesters(compiled, engine)
        self.creator = Creator(compiled, engine, self.store, self.service)
        self.flows: dict[str, Flow] = {
            CHANNEL: MailFlow(compiled, engine, self.store, self.requesters, self.creator),
            "webhook": WebhookFlow(compiled, engine, self.requesters, self.creator),
            "form": FormFlow(compiled, engine, self.store, self.requesters, self.creator),
            "api": ApiFlow(compiled, engine, self.store, self.service),
        }

    def receive(self, raws: Sequence[bytes], source: str, metadata: Sequence[dict[str, Any]] | None = None
                ) -> list[Stored]:
        """Commit raw mail (stage 1) before anything parses it."""
        extras = metadata or [{} for _ in raws]
        return self.store.store([Inbound(CHANNEL, source, mail_external_id(raw), raw, {"size": len(raw), **extra})
                                 for raw, extra in zip(raws, extras, strict=True)])

    def process(self, message_id: int) -> Outcome:
        """Take one stored message, of any channel, through the remaining stages; never raises for a bad one."""
        message = self.store.load(message_id)
        if message is None:
            return Outcome(message_id, "missing", reason=f"no intake message {message_id}")
        if message.state in FINAL:
            return Outcome(message_id, "done before", message.ticket_id, message.error)
        try:
            return self._process(message)
        except Exception as exc:
            reason = describe_failure(exc)
            # What the message says (unreadable, or refused by the ticket type) is its own fault: one line. Anything
            # else may be ours, and gets its traceback.
            data_problem = isinstance(exc, Unprocessable | TicketError)
            log.warning("intake message %s quarantined: %s", message_id, reason, exc_info=not data_problem)
            # Reloaded: the steps that did succeed wrote their progress into the row's metadata, which stays.
            self.store.finish(self.store.load(message_id) or message, QUARANTINED, reason=reason)
            return Outcome(message_id, "quarantined", reason=reason)

    def process_all(self, message_ids: Sequence[int]) -> list[Outcome]:
        return [self.process(message_id) for message_id in message_ids]

    def _process(self, message: IntakeMessage) -> Outcome:
        copy_of = message.metadata.get("copy_of")
        if copy_of is not None:
            return self._copy(message, int(copy_of))
        flow = self.flows.get(message.channel)
        if flow is None:
            msg = f"no pipeline for the channel '{message.channel}'; known: {', '.join(self.flows)}"
            raise Unprocessable(msg)
        return flow.handle(message)

    def _copy(self, message: IntakeMessage, first_id: int) -> Outcome:
        """Different bytes stored under an id already taken: the first one counts, this one is a record."""
        first = self.store.load(first_id)
        what = EXTERNAL_ID_NAMES.get(message.channel, "external id")
        reason = f"same {what} as intake message {first_id} but different content: kept, not processed"
        ticket_id = first.ticket_id if first else None
        self.store.finish(message, DUPLICATE, reason=reason, ticket_id=ticket_id)
        return Outcome(message.id, "duplicate", ticket_id, reason)


# The name the mail channel's callers (CLI, importer, IMAP and SMTP listeners, worker) know it by.
MailPipeline = IntakePipeline
