"""Form submissions as they arrive: the token checked, the fields checked against the type, then the
submission committed raw (its token as external id) and processed at once.

A submission whose fields the type refuses is not stored: the answer names each field and echoes everything
sent, so the form can show it again to be corrected, and its token stays unused for the corrected submission.
One with the honeypot filled is stored and ignored, with an answer like any other (spammers must not learn).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pydantic

from runtime.compile.models import EMAIL as EMAIL_PATTERN
from runtime.intake.form_flow import CHANNEL, EMAIL, NAME, TOKEN, read_submission
from runtime.intake.form_tokens import FormTokens, TokenRefused
from runtime.intake.pipeline import IntakePipeline
from runtime.intake.store import Inbound, IntakeMessage
from runtime.tickets.actors import Actor

_EMAIL = re.compile(EMAIL_PATTERN)
EMAIL_MAX, NAME_MAX = 320, 200
DESK_CHOSEN = ("requester_id", "assignee_id", "team_id")  # requesters may not choose these (the service agrees)


class Invalid(Exception):
    """Fields the type refuses, one entry each; nothing was stored."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("the submission has invalid fields")
        self.errors = errors


@dataclass(frozen=True)
class Submitted:
    message_id: int
    state: str
    ticket_id: int | None
    reason: str | None
    repeated: bool  # this token was submitted before: the first submission's outcome is the answer


def _field_errors(exc: pydantic.ValidationError) -> list[dict[str, str]]:
    return [{"field": ".".join(str(part) for part in e["loc"]) or "(body)", "reason": e["msg"]}
            for e in exc.errors()]


class FormIntake:
    def __init__(self, pipeline: IntakePipeline, tokens: FormTokens, run: Callable[[int], object] | None = None
                 ) -> None:
        """``run`` processes a stored submission (see ``Webhooks``)."""
        self.pipeline = pipeline
        self.run = run or pipeline.process
        self.tokens = tokens
        self.compiled = pipeline.compiled
        self.honeypot = self.compiled.definitions.project.intake.form_honeypot

    def submit(self, type_name: str, body: dict[str, Any], caller: Actor | None) -> Submitted:
        """``caller`` is the signed-in person, or None for an anonymous visitor (who must give ``email``)."""
        token = body.get(TOKEN)
        if not isinstance(token, str) or not token:
            raise TokenRefused(400, f"the submission has no token: get one from GET /api/v1/intake/forms/{type_name}"
                                    "/token and send it as 'token'")
        self.tokens.check(type_name, token)
        submission = read_submission(body, self.honeypot)
        if caller is None:
            submitter: dict[str, Any] = {"kind": "anonymous"}
        else:
            submitter = {"kind": caller.kind, "id": caller.id}
        if not submission.spam:
            self._check(type_name, body, caller)
        raw = json.dumps(body, sort_keys=True, ensure_ascii=False).encode()
        store = self.pipeline.store
        stored = store.store([Inbound(CHANNEL, type_name, token, raw, {"submitter": submitter})])[0]
        message = self._load(stored.id)
        first = message.metadata.get("copy_of")
        if first is not None:
            # The same token with other content: the first submission counts; this one is kept as a record.
            self.run(message.id)
            original = self._load(int(first))
            return Submitted(original.id, original.state, original.ticket_id, original.error, repeated=True)
        if not stored.new:
            return Submitted(message.id, message.state, message.ticket_id, message.error, repeated=True)
        self.run(message.id)
        done = self._load(message.id)
        return Submitted(done.id, done.state, done.ticket_id, done.error, repeated=False)

    def _check(self, type_name: str, body: dict[str, Any], caller: Actor | None) -> None:
        errors: list[dict[str, str]] = []
        submission = read_submission(body, self.honeypot)
        if caller is None:
            email, name = submission.email, submission.name
            if not isinstance(email, str) or len(email) > EMAIL_MAX or not _EMAIL.match(email.strip()) \
                    or "\x00" in email:
                errors.append({"field": EMAIL, "reason": "your email address, so that we can answer you"})
            if name is not None and (not isinstance(name, str) or len(name) > NAME_MAX or "\x00" in name):
                errors.append({"field": NAME, "reason": f"your name, as text of at most {NAME_MAX} characters"})
        if caller is None or caller.kind == "contact":
            errors += [{"field": key, "reason": "set by the desk, not by the requester"}
                       for key in DESK_CHOSEN if key in submission.fields]
        try:
            self.compiled.create_models[type_name].model_validate(submission.fields)
        except pydantic.ValidationError as exc:
            errors += _field_errors(exc)
        if errors:
            raise Invalid(errors)

    def _load(self, message_id: int) -> IntakeMessage:
        message = self.pipeline.store.load(message_id)
        assert message is not None  # rows are never deleted
        return message
