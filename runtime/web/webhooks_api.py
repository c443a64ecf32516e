"""``POST /api/v1/intake/webhooks/{source}``: signed deliveries from the sources in tessera.yaml (the rules are in
``runtime.intake.webhooks``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import sqlalchemy as sa
from litestar import Request, Response, post
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import FromPath, HeaderParameter, RawBody

from runtime.compile.desk import CompiledDesk
from runtime.intake.messages import IntakeMessages
from runtime.intake.pipeline import IntakePipeline
from runtime.intake.processing import IntakeProcessor
from runtime.intake.webhooks import Refused, Webhooks
from runtime.web.intake_answers import intake_problems, outcome, refusal, repeated_response

# Declared for the documentation; the route reads them with the other headers.
Timestamp = Annotated[str | None, HeaderParameter(name="X-Tessera-Timestamp", description="unix seconds")]
Signature = Annotated[str | None, HeaderParameter(
    name="X-Tessera-Signature", description="sha256=<hex HMAC-SHA256(secret, '<timestamp>.' + body)>")]


@dataclass
class JsonEvent(Operation):
    """The route reads its body as bytes (the signature covers them exactly); this documents it."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            content={"application/json": OpenAPIMediaType(schema=Schema(type=OpenAPIType.OBJECT))}, required=True,
            description="the event, as JSON; its bytes are signed (see X-Tessera-Signature)")


def webhook_handlers(compiled: CompiledDesk, engine: sa.Engine) -> list[HTTPRouteHandler]:
    pipeline = IntakePipeline(compiled, engine)
    processor = IntakeProcessor(pipeline)
    messages = IntakeMessages(compiled, engine)
    # Processed under a claim, so that a worker taking up waiting messages cannot process it at the same time.
    webhooks = Webhooks(pipeline, lambda message_id: processor.process([message_id]))

    @post("/api/v1/intake/webhooks/{source:str}", status_code=202, operation_class=JsonEvent, tags=["intake"],
          sync_to_thread=True, responses={**repeated_response("This delivery was received before: its first "
                                                              "outcome"),
                                          **intake_problems(400, 401, 404, 409, 503)})
    def webhook(source: FromPath[str], request: Request[Any, Any, Any], body: RawBody,
                timestamp: Timestamp = None, signature: Signature = None) -> Response[Any]:
        """Take a signed delivery from a webhook source declared in tessera.yaml: stored, then mapped to a new
        ticket or a comment at once (202), or by the worker for a source with ``process: queued`` (202, state
        received). The same delivery id again answers its first outcome (200)."""
        del timestamp, signature
        headers = {name.lower(): value for name, value in request.headers.items()}
        try:
            delivery = webhooks.receive(source, headers, bytes(body))
        except Refused as exc:
            return refusal(exc.status, exc.reason)
        answer = outcome(messages, delivery.message_id, delivery.state, delivery.ticket_id, delivery.reason)
        return Response(answer, status_code=200 if delivery.repeated else 202)

    return [webhook]
