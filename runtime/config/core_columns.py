"""The master table's columns that the runtime owns; builder fields may not reuse these names."""

from __future__ import annotations

# name → field kind as a builder would declare it (used by the language checks and the API).
CORE_COLUMNS: dict[str, str] = {
    "id": "integer",
    "number": "string",
    "type": "string",
    "title": "string",
    "description": "text",
    "status": "string",
    "status_category": "choice",
    "priority": "choice",
    "category": "choice",
    "source": "choice",
    "source_name": "string",
    "external_ref": "string",
    "requester_id": "relation",
    "organization_id": "relation",
    "assignee_id": "relation",
    "team_id": "relation",
    "language": "string",
    "tags": "list",
    "duplicate_of_id": "relation",
    "created_at": "datetime",
    "updated_at": "datetime",
    "status_changed_at": "datetime",
    "first_response_at": "datetime",
    "resolved_at": "datetime",
    "closed_at": "datetime",
    "version": "integer",
}
# Names a relation field may point at besides the reference collections.
BUILTIN_RELATION_TARGETS = ("contact", "agent", "team", "organization")
STATUS_CATEGORIES = ("open", "paused", "resolved", "closed")
PRIORITIES = ("P0", "P1", "P2", "P3")
SOURCES = ("form", "email", "api", "webhook", "manual")
