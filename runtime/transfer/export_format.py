"""The shape of a Tessera export line, shared by the exporter that writes it and the import that reads it back.

One ticket per line: its master columns by name, its builder fields (master and extension) under ``fields``, and
what hangs off it (comments, attachments' metadata, audit events, SLA clocks with their ledger, links, the
requester's rating). Nothing in it is a database id of the desk it came from, so that another desk can read it:
people are named by username (agents), email (contacts) or name (teams, organizations), other tickets by number,
a field's attachments by their place in the ticket's ``attachments`` list. Relations to reference collections are
the exception: they keep the collection row's id, since the collections are copied with the desk.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
from typing import Any

FORMAT = "tessera-export/1"  # each line's "format": what the import recognises an export by
# Master columns written as they are, in this order.
PLAIN = ("number", "type", "title", "description", "status", "status_category", "priority", "category", "source",
         "source_name", "external_ref", "language", "tags", "created_at", "updated_at", "status_changed_at",
         "first_response_at", "resolved_at", "closed_at", "version")
TIMES = ("created_at", "updated_at", "status_changed_at", "first_response_at", "resolved_at", "closed_at")
# Master columns that hold another row's id, and how the line names that row.
REFERENCES = {"requester_id": "contact", "organization_id": "organization", "assignee_id": "agent",
              "team_id": "team", "duplicate_of_id": "ticket"}
# A relation field's target (as the YAML writes it) → how the line names the row.
PEOPLE_TARGETS = {"contact": "contact", "agent": "agent", "team": "team", "organization": "organization"}
COMMENT_COLUMNS = ("created_at", "public", "direction", "channel", "body", "body_html", "message_id")
EVENT_COLUMNS = ("at", "actor", "channel", "action", "field", "old_value", "new_value")
TIMER_COLUMNS = ("metric", "policy", "calendar", "state", "target_seconds", "elapsed_seconds", "started_at",
                 "running_since", "due_at", "breached_at", "stopped_at", "next_check_at", "pauses", "fired")
TIMER_TIMES = ("started_at", "running_since", "due_at", "breached_at", "stopped_at", "next_check_at")
SLA_EVENT_COLUMNS = ("kind", "escalation", "at", "detail")


def event_reference(action: str | None, field: str | None) -> str | None:
    """What an audit event's values name, when they are ids: a person or a ticket (a link's other end)."""
    if action == "link":
        return "ticket"
    return REFERENCES.get(field or "")


def _plain(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    msg = f"{type(value).__name__} is not JSON"
    raise TypeError(msg)


def dumps(line: dict[str, Any]) -> str:
    return json.dumps(line, ensure_ascii=False, separators=(",", ":"), default=_plain)


def time(value: Any) -> dt.datetime | None:
    """An instant of the line (ISO 8601 with its offset) as an aware datetime."""
    if value is None:
        return None
    if not isinstance(value, str):
        msg = f"{value!r} is not a time"
        raise ValueError(msg)
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        msg = f"{value!r} has no time zone offset"
        raise ValueError(msg)
    return parsed.astimezone(dt.UTC)
