"""What the intake routes answer: the outcome of a stored message, and refusals as problem details."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from litestar import Response
from litestar.openapi.datastructures import ResponseSpec
from pydantic import BaseModel, Field

from runtime.intake.messages import IntakeMessages
from runtime.web.problems import MEDIA_TYPE, Problem, problem

ANONYMOUS_STATE = "accepted"  # all an anonymous visitor learns of their submission
_REASONS = {
    400: "The request is malformed: a body that is not JSON, a submission without its token",
    401: "A webhook delivery unsigned, wrongly signed or outside its time window; a form that needs a sign-in",
    403: "A form token that is invalid, expired or for another form; a credential lacking the scope",
    404: "No such webhook source or ticket type",
    409: "The delivery id was used before with a different body",
    422: "Fields the type refuses: `errors` names each, `submitted` echoes what was sent",
    429: "Too many anonymous submissions from this address; Retry-After says when to try again",
    503: "The webhook source has no secret configured on the desk yet",
}


class IntakeOutcome(BaseModel):
    message_id: int = Field(description="the stored intake message")
    state: str = Field(description="received, processed, duplicate, ignored or quarantined; an anonymous form "
                                   f"submitter always sees '{ANONYMOUS_STATE}'")
    ticket_id: int | None = None
    ticket_number: str | None = None
    reason: str | None = Field(default=None, description="why it was quarantined, ignored or a duplicate")


def intake_problems(*statuses: int) -> dict[int, ResponseSpec]:
    return {status: ResponseSpec(Problem, generate_examples=False, media_type=MEDIA_TYPE,
                                 description=_REASONS[status]) for status in statuses}


def repeated_response(description: str) -> dict[int, ResponseSpec]:
    """The 200 of a route whose first answer is 202: the same thing sent again gets its first outcome."""
    return {200: ResponseSpec(IntakeOutcome, generate_examples=False, description=description)}


def refusal(status: int, reason: str, headers: dict[str, str] | None = None) -> Response[dict[str, Any]]:
    return problem(status, HTTPStatus(status).phrase, reason, headers=headers)


def outcome(messages: IntakeMessages, message_id: int, state: str, ticket_id: int | None,
            reason: str | None) -> IntakeOutcome:
    return IntakeOutcome(message_id=message_id, state=state, ticket_id=ticket_id,
                         ticket_number=messages.ticket_number(ticket_id), reason=reason)
