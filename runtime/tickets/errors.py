"""What the service layer refuses, each with the HTTP status it maps to and a reason for the caller."""

from __future__ import annotations

from runtime.errors import TesseraError


class TicketError(TesseraError):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class TicketNotFound(TicketError):
    """Also raised for tickets the actor may not see, so that existence does not leak."""

    status = 404
    title = "Not found"


class Forbidden(TicketError):
    status = 403
    title = "Forbidden"


class InvalidTicket(TicketError):
    status = 422
    title = "Invalid ticket data"


class StaleVersion(TicketError):
    status = 409
    title = "Version conflict"


class TransitionRefused(TicketError):
    status = 409
    title = "Transition not allowed"
