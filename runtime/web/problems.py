"""Errors as RFC 9457 problem details: a status, a title, a detail and, for bad fields, which and why."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from pydantic import BaseModel, Field

from runtime.tickets.errors import TicketError

MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("tessera.web")


class FieldProblem(BaseModel):
    field: str = Field(description="the field, parameter or '(body)' that is wrong")
    reason: str = Field(description="what it should be")


class Problem(BaseModel):
    """RFC 9457 problem details, the body of every error response."""

    type: str = Field(description="always 'about:blank': the status says what kind of problem it is")
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] = Field(default_factory=list, description="one entry per bad field (422 only)")


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI documentation of the problem-details responses a route can give."""
    return {status: ResponseSpec(Problem, generate_examples=False, media_type=MEDIA_TYPE,
                                 description=_DESCRIPTIONS[status]) for status in statuses}


def problem(status: int, title: str, detail: str, errors: list[dict[str, str]] | None = None,
            headers: dict[str, str] | None = None) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    return Response(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def ticket_error(_request: Request[Any, Any, Any], exc: TicketError) -> Response[dict[str, Any]]:
    return problem(exc.status, exc.title, exc.detail, exc.errors)


def validation_error(_request: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    errors = [{"field": str(e.get("key") or "(body)"), "reason": str(e.get("message"))}
              for e in (exc.extra if isinstance(exc.extra, list) else []) if isinstance(e, dict)]
    status = 422 if errors else 400
    return problem(status, "Invalid request", exc.detail or "the request is not valid", errors)


def http_error(_request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    return problem(exc.status_code, str(exc.detail) if exc.status_code >= 500 else _title(exc.status_code),
                   str(exc.detail), headers=exc.headers)


def server_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(500, "Internal server error", "the server failed; the error is logged")


def _title(status: int) -> str:
    return {400: "Bad request", 401: "Not authenticated", 403: "Forbidden", 404: "Not found",
            405: "Method not allowed", 409: "Conflict", 413: "Payload too large", 415: "Unsupported media type",
            429: "Too many requests"}.get(status, "Error")


_DESCRIPTIONS = {
    400: "The request is malformed: not JSON, or a parameter of the wrong type",
    401: "No API token or session, or an unknown, revoked or expired one; or a wrong password",
    403: "The credential lacks the scope, the person the permission, or a browser write its CSRF token",
    404: "No such ticket or type, or one the caller may not see",
    409: "The version is stale, or the transition is not allowed now",
    422: "The data break the type's rules; `errors` names each field",
    429: "Too many failed sign-ins; Retry-After says when to try again",
}

HANDLERS: dict[int | type[Exception], Any] = {
    TicketError: ticket_error,
    ValidationException: validation_error,
    HTTPException: http_error,
    Exception: server_error,
}
