"""The baseline for bench/api.py: bare Litestar endpoints with no database, served the same way.

``POST /api/v1/types/it_support/tickets`` validates the same JSON body as Tessera's typed create (a
pydantic model with the IT support fields and their constraints) and returns it with 201;
``GET /api/v1/tickets/{id}`` returns a fixed ticket-sized JSON object. Run with
``python -m runtime.web.processes bench.baseline_app:app --workers 2`` from the repository folder (as
``cli.py serve --workers 2`` serves the desk).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Litestar, get, post
from litestar.params import FromPath, JSONBody
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Id = Annotated[int, Field(strict=True, ge=1)]


class CreateItSupport(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    description: str = ""
    priority: Literal["P0", "P1", "P2", "P3"] = "P2"
    category: Literal["hardware", "software", "network", "access"] | None = None
    tags: list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]] = []
    requester_id: Id | None = None
    assignee_id: Id | None = None
    team_id: Id | None = None
    language: Annotated[str, StringConstraints(max_length=16)] | None = None
    impact: Literal["single_user", "team", "site", "company"] | None = "single_user"
    channel_reference: Annotated[str, StringConstraints(max_length=64)] | None = None
    location: Id | None = None
    asset_number: Annotated[str, StringConstraints(max_length=32, pattern=r"^[A-Z]{2,4}-\d{4,6}$")] | None = None
    operating_system: Literal["windows", "macos", "linux", "ios", "android", "other"] | None = None
    os_version: Annotated[str, StringConstraints(max_length=40)] | None = None
    software: Annotated[list[str], Field(max_length=1000)] | None = None
    remote_address: Annotated[str, StringConstraints(max_length=255)] | None = None
    error_code: Annotated[str, StringConstraints(max_length=64)] | None = None
    error_screenshot: list[Id] | None = None
    users_affected: Annotated[int, Field(strict=True, ge=1, le=100_000)] | None = 1


TICKET: dict[str, Any] = {
    "number": "IT-000042", "type": "it_support", "title": "Outlook does not sync the shared calendar",
    "description": "Since Monday the team calendar shows no new entries.", "status": "in_progress",
    "status_category": "open", "priority": "P2", "category": "software", "source": "api", "requester_id": 1,
    "organization_id": 1, "assignee_id": 1, "team_id": 1, "language": "en", "tags": [], "duplicate_of_id": None,
    "created_at": "2026-11-20T09:14:03.112233+00:00", "updated_at": "2026-11-21T10:01:44.998877+00:00",
    "first_response_at": None, "resolved_at": None, "closed_at": None, "version": 3, "impact": "team",
    "channel_reference": None, "location": 1, "asset_number": "LT-004711", "operating_system": "windows",
    "os_version": "11 23H2", "software": ["Outlook"], "remote_address": None, "error_code": "0x800CCC0E",
    "error_screenshot": None, "users_affected": 4,
}


@post("/api/v1/types/it_support/tickets", sync_to_thread=False)
def create(data: JSONBody[CreateItSupport]) -> dict[str, Any]:
    return {"id": 1, **data.model_dump()}


@get("/api/v1/tickets/{ticket_id:int}", sync_to_thread=False)
def read(ticket_id: FromPath[int]) -> dict[str, Any]:
    return {"id": ticket_id, **TICKET}


@get("/healthz", sync_to_thread=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


app = Litestar(route_handlers=[create, read, healthz])
