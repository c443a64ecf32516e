"""Request models for people: what may be written, with the same limits as the tables."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
Email = Annotated[str, StringConstraints(max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Key = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_.-]*$")]
RefId = Annotated[int, Field(strict=True, ge=1)]


class PersonInput(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrganizationIn(PersonInput):
    name: Name
    domain: Annotated[str, StringConstraints(max_length=253)] | None = None
    notes: str | None = None


class ContactIn(PersonInput):
    email: Email | None = None
    name: Name | None = None
    phone: Annotated[str, StringConstraints(max_length=40)] | None = None
    language: Annotated[str, StringConstraints(max_length=16)] | None = None
    organization_id: RefId | None = None
    sees_organization_tickets: bool | None = None


class TeamIn(PersonInput):
    name: Key
    label: Name
    email: Email | None = None
    lead_id: RefId | None = None
    members: list[RefId] = Field(default_factory=list, max_length=500)


class AgentIn(PersonInput):
    username: Key
    email: Email
    name: Name
    roles: list[Annotated[str, StringConstraints(max_length=64)]] = Field(default_factory=lambda: ["agent"])
    skills: list[Annotated[str, StringConstraints(max_length=64)]] = Field(default_factory=list)
    capacity: Annotated[int, Field(strict=True, ge=0, le=1000)] = 10
    calendar: Annotated[str, StringConstraints(max_length=64)] | None = None
    language: Annotated[str, StringConstraints(max_length=16)] | None = None
    away: bool = False
    active: bool = True
    manager_id: RefId | None = None


# table name → (model, the column that names a row in errors, foreign keys to check)
KINDS: dict[str, tuple[type[PersonInput], str, dict[str, str]]] = {
    "organizations": (OrganizationIn, "name", {}),
    "contacts": (ContactIn, "email", {"organization_id": "organizations"}),
    "teams": (TeamIn, "name", {"lead_id": "agents"}),
    "agents": (AgentIn, "username", {"manager_id": "agents"}),
}
