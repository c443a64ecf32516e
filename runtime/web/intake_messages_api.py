"""The stored intake messages for the desk's supervisors and administrators: what arrived on every channel,
what became of it, and why a quarantined one stopped; administrators retry those.

Raw bytes are only ever a download: a stored mail or payload is whatever a stranger sent, and shown inline a
browser could run it on the desk's origin.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import sqlalchemy as sa
from litestar import Response, get, post
from litestar.exceptions import NotFoundException, ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromQuery, PathParameter, QueryParameter
from pydantic import BaseModel, Field

from runtime.compile.desk import CompiledDesk
from runtime.intake.claims import claims
from runtime.intake.messages import IntakeMessages
from runtime.intake.pipeline import IntakePipeline
from runtime.intake.store import QUARANTINED, STATES
from runtime.tickets.actors import Actor
from runtime.tickets.errors import Forbidden, TicketError
from runtime.web.auth import actor_dependency
from runtime.web.intake_answers import IntakeOutcome
from runtime.web.problems import problem_responses
from runtime.web.tickets_api import MAX_ID, Who

Id = Annotated[int, PathParameter(ge=1, le=MAX_ID)]
EXTENSIONS = {"email": "eml", "webhook": "json", "form": "json", "api": "json"}


class NotRetryable(TicketError):
    status = 409
    title = "Conflict"


class IntakeMessageOut(BaseModel):
    id: int
    channel: str
    source: str
    external_id: str = Field(description="the channel's id: Message-ID, delivery id, form token, Idempotency-Key")
    state: str
    reason: str | None = None
    ticket_id: int | None = None
    ticket_number: str | None = None
    received_at: dt.datetime
    processed_at: dt.datetime | None = None
    size: int = Field(description="bytes of the raw message")


class IntakeMessageDetail(IntakeMessageOut):
    metadata: dict[str, Any] = Field(description="what the channel and the pipeline noted: headers, submitter, "
                                                 "progress")


class IntakePage(BaseModel):
    items: list[IntakeMessageOut]
    next_cursor: str | None = Field(description="send as 'cursor' for the next, older page; null on the last")


def _reviewer(actor: Actor) -> None:
    if actor.kind != "agent" or not (actor.has("admin") or actor.has("supervisor")):
        msg = "intake messages are for agents with the supervisor or admin role"
        raise Forbidden(msg)


def _admin(actor: Actor) -> None:
    if actor.kind != "agent" or not actor.has("admin"):
        msg = "retrying intake messages is for agents with the admin role"
        raise Forbidden(msg)


def _cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    if not (cursor.isascii() and cursor.isdigit() and 0 < len(cursor) <= 19):
        raise ValidationException("bad cursor: send the next_cursor of the previous page",
                                  extra=[{"key": "cursor", "message": "the next_cursor of the previous page"}])
    return int(cursor)


def intake_message_handlers(compiled: CompiledDesk, engine: sa.Engine) -> list[HTTPRouteHandler]:
    messages = IntakeMessages(compiled, engine)
    pipeline = IntakePipeline(compiled, engine)
    dependencies = {"actor": actor_dependency(compiled, engine)}
    common: dict[str, Any] = {"sync_to_thread": True, "dependencies": dependencies, "tags": ["intake"]}
    base = "/api/v1/intake/messages"

    def found(message_id: int) -> dict[str, Any]:
        row = messages.detail(message_id)
        if row is None:
            msg = f"no intake message {message_id}"
            raise NotFoundException(msg)
        return row

    @get(base, **common)
    def list_messages(actor: Who, in_state: Annotated[str | None, QueryParameter(name="state")] = None,
                      channel: FromQuery[str | None] = None,
                      limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
                      cursor: FromQuery[str | None] = None) -> IntakePage:
        """Stored messages, newest first, by state (quarantined, say) and channel; without their bytes."""
        _reviewer(actor)
        if in_state is not None and in_state not in STATES:
            raise ValidationException(f"no state '{in_state}'", extra=[{"key": "state",
                                                                        "message": f"one of {', '.join(STATES)}"}])
        page = messages.page(in_state, channel, limit, _cursor(cursor))
        return IntakePage(items=[IntakeMessageOut(**row) for row in page.items], next_cursor=page.next_cursor)

    @get(f"{base}/{{message_id:int}}", **common)
    def read_message(actor: Who, message_id: Id) -> IntakeMessageDetail:
        """One stored message: its metadata, state, reason and ticket."""
        _reviewer(actor)
        return IntakeMessageDetail(**found(message_id))

    @get(f"{base}/{{message_id:int}}/raw", media_type="application/octet-stream",
         responses={200: ResponseSpec(bytes, media_type="application/octet-stream", generate_examples=False,
                                      description="the bytes as they arrived, as a download")}, **common)
    def raw_message(actor: Who, message_id: Id) -> Response[bytes]:
        """The message's bytes exactly as they arrived, as a file to download."""
        _reviewer(actor)
        stored = messages.raw(message_id)
        if stored is None:
            msg = f"no intake message {message_id}"
            raise NotFoundException(msg)
        channel, raw = stored
        filename = f"intake-{message_id}.{EXTENSIONS.get(channel, 'bin')}"
        return Response(raw, media_type="application/octet-stream", headers={
            "Content-Disposition": f'attachment; filename="{filename}"', "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox"})

    @post(f"{base}/{{message_id:int}}/retry", status_code=200, responses=problem_responses(409), **common)
    def retry_message(actor: Who, message_id: Id) -> IntakeOutcome:
        """Process a quarantined message again, from the bytes stored; answers what it came to."""
        _admin(actor)
        row = found(message_id)
        if row["state"] != QUARANTINED:
            msg = f"intake message {message_id} is {row['state']}, not quarantined: nothing to retry"
            raise NotRetryable(msg)
        with claims(engine) as held:
            # Another retry (the CLI's, say) processing it right now finishes it; one beside it could not.
            if not held.claim(message_id):
                msg = f"intake message {message_id} is being processed by another process right now"
                raise NotRetryable(msg)
            try:
                pipeline.process(message_id)
            finally:
                held.release(message_id)
        done = found(message_id)
        return IntakeOutcome(message_id=message_id, state=done["state"], ticket_id=done["ticket_id"],
                             ticket_number=done["ticket_number"], reason=done["reason"])

    return [list_messages, read_message, raw_message, retry_message]
