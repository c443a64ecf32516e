"""A stored form submission: a new ticket of the form's type, as whoever submitted it — a signed-in agent or
requester, or, for a public form, the contact of the address the visitor gave (created if new).

A submission is JSON: the type's fields, the token, the honeypot field and, from an anonymous visitor, ``email``
and ``name``. One with the honeypot filled is ignored here too, so that a retry never turns spam into a ticket.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.intake.create import Creator
from runtime.intake.draft import Draft
from runtime.intake.mail.headers import Address
from runtime.intake.outcome import Outcome, Unprocessable
from runtime.intake.requesters import Requesters
from runtime.intake.store import IGNORED, IntakeMessage, IntakeStore
from runtime.tickets.actors import Actor, agent_actor, contact_actor

CHANNEL = "form"
TOKEN, EMAIL, NAME = "token", "email", "name"  # the submission's own keys; the rest are the type's fields
HONEYPOT_REASON = "honeypot"


@dataclass(frozen=True)
class Submission:
    fields: dict[str, Any]
    email: Any
    name: Any
    spam: bool


def read_submission(body: dict[str, Any], honeypot: str) -> Submission:
    fields = {k: v for k, v in body.items() if k not in (TOKEN, EMAIL, NAME, honeypot)}
    return Submission(fields, body.get(EMAIL), body.get(NAME), body.get(honeypot) not in (None, ""))


class FormFlow:
    def __init__(self, compiled: CompiledDesk, engine: sa.Engine, store: IntakeStore, requesters: Requesters,
                 creator: Creator) -> None:
        self.compiled = compiled
        self.engine = engine
        self.store = store
        self.requesters = requesters
        self.creator = creator
        self.honeypot = compiled.definitions.project.intake.form_honeypot

    def handle(self, message: IntakeMessage) -> Outcome:
        if self.compiled.definitions.ticket_type(message.source) is None:
            msg = f"the form's ticket type '{message.source}' is no longer defined"
            raise Unprocessable(msg)
        try:
            body = json.loads(message.raw)
        except (ValueError, RecursionError) as exc:
            msg = f"the stored submission is not JSON: {exc}"
            raise Unprocessable(msg) from exc
        if not isinstance(body, dict):
            msg = "the stored submission is not a JSON object"
            raise Unprocessable(msg)
        submission = read_submission(body, self.honeypot)
        if submission.spam:
            self.store.finish(message, IGNORED, reason=HONEYPOT_REASON)
            return Outcome(message.id, "ignored", reason=HONEYPOT_REASON)
        actor, email = self._actor(message.metadata.get("submitter") or {}, submission)
        # The submitter chose the type by choosing its form, and the fields were checked against it.
        draft = Draft(CHANNEL, message.source, submission.fields, source_name=message.source, sender_email=email,
                      type_fixed=True)
        made = self.creator.ticket(message, actor, draft, {"submitter": actor.label})
        return Outcome(message.id, made.kind, made.ticket_id)

    def _actor(self, submitter: dict[str, Any], submission: Submission) -> tuple[Actor, str | None]:
        kind, person = submitter.get("kind"), submitter.get("id")
        with self.engine.connect() as connection:
            if kind == "agent" and isinstance(person, int):
                return agent_actor(connection, self.compiled, person), None
            if kind == "contact" and isinstance(person, int):
                actor = contact_actor(connection, self.compiled, person)
                return actor, actor.name
        if not isinstance(submission.email, str) or "@" not in submission.email:
            msg = "an anonymous submission without the submitter's email address"
            raise Unprocessable(msg)
        name = submission.name if isinstance(submission.name, str) else ""
        actor = self.requesters.actor(Address(name.strip(), submission.email.strip()))
        return actor, submission.email.strip().lower()
