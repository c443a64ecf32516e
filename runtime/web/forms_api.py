"""Forms over HTTP: ``GET /api/v1/intake/forms/{type}/token`` and ``POST /api/v1/intake/forms/{type}``, anonymous
for the types with ``public_form: true``, else for signed-in agents and requesters (the rules are in
``runtime.intake.forms``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from litestar import Request, Response, get, post
from litestar.exceptions import NotAuthorizedException, NotFoundException
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, JSONBody
from pydantic import BaseModel, Field

from runtime.compile.desk import CompiledDesk
from runtime.intake.form_tokens import FormTokens, TokenRefused, desk_key
from runtime.intake.forms import FormIntake, Invalid
from runtime.intake.messages import IntakeMessages
from runtime.intake.pipeline import IntakePipeline
from runtime.intake.processing import IntakeProcessor
from runtime.intake.rate_limit import RateLimit
from runtime.tickets.actors import Actor
from runtime.web.auth import SESSION_COOKIE, actor_provider
from runtime.web.intake_answers import (
    ANONYMOUS_STATE,
    IntakeOutcome,
    intake_problems,
    outcome,
    refusal,
    repeated_response,
)
from runtime.web.problems import MEDIA_TYPE


class FormToken(BaseModel):
    token: str = Field(description="send it back as 'token' with the submission; one submission per token")
    expires_at: dt.datetime
    honeypot: str = Field(description="a field the form must render hidden and leave empty")


def form_handlers(compiled: CompiledDesk, engine: sa.Engine) -> list[HTTPRouteHandler]:
    pipeline = IntakePipeline(compiled, engine)
    processor = IntakeProcessor(pipeline)
    messages = IntakeMessages(compiled, engine)
    settings = compiled.definitions.project.intake
    # The key is read when the first token is made or checked: building the app (for its OpenAPI document, say)
    # must not create a key file.
    tokens = FormTokens(lambda: desk_key(compiled.root), settings.form_token_max_age_seconds)
    forms = FormIntake(pipeline, tokens, lambda message_id: processor.process([message_id]))
    rate = RateLimit(settings.form_per_address_per_minute)
    provide_actor = actor_provider(compiled, engine)
    common: dict[str, Any] = {"sync_to_thread": True, "tags": ["intake"]}

    def caller(request: Request[Any, Any, Any]) -> Actor | None:
        """The signed-in person when the request carries a credential (which must then be good), else None."""
        if request.headers.get("authorization") or request.cookies.get(SESSION_COOKIE):
            return provide_actor(request)
        return None

    def form_type(type_name: str, who: Actor | None) -> None:
        ticket_type = compiled.definitions.ticket_type(type_name)
        if ticket_type is None:
            msg = f"no form for '{type_name[:100]}': no such ticket type"
            raise NotFoundException(msg)
        if who is None and not ticket_type.public_form:
            msg = f"the form '{type_name}' is not public: sign in, or send an API token"
            raise NotAuthorizedException(msg)

    @get("/api/v1/intake/forms/{type_name:str}/token", responses=intake_problems(400, 401, 403, 404), **common)
    def form_token(type_name: FromPath[str], request: Request[Any, Any, Any]) -> FormToken:
        """A submission token for the form of a ticket type (anonymous for public forms, else signed in)."""
        form_type(type_name, caller(request))
        token, expires = tokens.issue(type_name)
        return FormToken(token=token, expires_at=dt.datetime.fromtimestamp(expires, dt.UTC),
                         honeypot=settings.form_honeypot)

    @post("/api/v1/intake/forms/{type_name:str}", status_code=202,
          responses={**repeated_response("This token was submitted before: the first outcome"),
                     **intake_problems(400, 401, 403, 404, 422, 429)}, **common)
    def submit_form(type_name: FromPath[str], request: Request[Any, Any, Any],
                    data: JSONBody[dict[str, Any]]) -> Response[Any]:
        """Submit a form: the type's fields, 'token' and, from an anonymous visitor, 'email' (and 'name').
        Invalid fields are refused (422) without using up the token."""
        who = caller(request)
        form_type(type_name, who)
        if who is None:
            wait = rate.take(request.client.host if request.client else "unknown")
            if wait:
                return refusal(429, f"too many submissions from your address; try again in {wait} s",
                               headers={"Retry-After": str(wait)})
        try:
            submitted = forms.submit(type_name, data, who)
        except TokenRefused as exc:
            return refusal(exc.status, exc.reason)
        except Invalid as exc:
            body = {"type": "about:blank", "title": "Invalid submission", "status": 422,
                    "detail": "some fields are not valid; nothing was stored and the token can be used again",
                    "errors": exc.errors, "submitted": data}
            return Response(body, status_code=422, media_type=MEDIA_TYPE)
        status = 200 if submitted.repeated else 202
        if who is None:
            return Response(IntakeOutcome(message_id=submitted.message_id, state=ANONYMOUS_STATE), status_code=status)
        answer = outcome(messages, submitted.message_id, submitted.state, submitted.ticket_id, submitted.reason)
        return Response(answer, status_code=status)

    return [form_token, submit_form]
