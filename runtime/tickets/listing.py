"""Ticket lists across types: filters, a stable sort, keyset (cursor) pages and a bounded count."""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from runtime.compile.desk import CompiledDesk
from runtime.tickets.access import redact, visible
from runtime.tickets.actors import Actor
from runtime.tickets.audit import json_value
from runtime.tickets.errors import InvalidTicket

SORTS = ("created_at", "updated_at", "priority", "number")
COUNT_LIMIT = 10_000
EXACT_FILTERS = ("type", "status", "status_category", "priority", "category", "source", "language")


@dataclass(frozen=True)
class ListQuery:
    equals: dict[str, str] = field(default_factory=dict)  # core columns and indexed builder fields
    assignee: str | None = None  # an id, "me" or "none"
    team_id: int | None = None
    requester_id: int | None = None
    tags: tuple[str, ...] = ()
    created_after: dt.datetime | None = None
    created_before: dt.datetime | None = None
    updated_after: dt.datetime | None = None
    updated_before: dt.datetime | None = None
    text: str | None = None
    sort: str = "-created_at"
    cursor: str | None = None
    limit: int = 50


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None
    total: int
    total_is_estimate: bool


def filterable_fields(compiled: CompiledDesk) -> set[str]:
    """Indexed builder fields of the master table: the ones a list may filter on exactly."""
    return {c.name for c in compiled.table("tickets").columns if c.info.get("kind") and c.index}


def _invalid(name: str, reason: str) -> InvalidTicket:
    return InvalidTicket(f"bad list parameter '{name}'", [{"field": name, "reason": reason}])


def _where(compiled: CompiledDesk, actor: Actor, query: ListQuery, dialect: str) -> list[sa.ColumnElement[bool]]:
    tickets = compiled.table("tickets")
    allowed = set(EXACT_FILTERS) | filterable_fields(compiled)
    clauses = [visible(compiled, actor)]
    for name, value in query.equals.items():
        if name not in allowed:
            raise _invalid(name, f"not a filter; use one of {', '.join(sorted(allowed))}")
        clauses.append(tickets.c[name] == value)
    if query.assignee is not None:
        if query.assignee == "none":
            clauses.append(tickets.c.assignee_id.is_(None))
        elif query.assignee == "me":
            clauses.append(tickets.c.assignee_id == actor.id)
        elif query.assignee.isdigit():
            clauses.append(tickets.c.assignee_id == int(query.assignee))
        else:
            raise _invalid("assignee", "an agent id, 'me' or 'none'")
    if query.team_id is not None:
        clauses.append(tickets.c.team_id == query.team_id)
    if query.requester_id is not None:
        clauses.append(tickets.c.requester_id == query.requester_id)
    for tag in query.tags:
        clauses.append(_has_tag(tickets, tag, dialect))
    for column, low, high in (("created_at", query.created_after, query.created_before),
                              ("updated_at", query.updated_after, query.updated_before)):
        if low is not None:
            clauses.append(tickets.c[column] >= low)
        if high is not None:
            clauses.append(tickets.c[column] < high)
    if query.text:
        pattern = f"%{query.text.lower()}%"
        clauses.append(sa.or_(sa.func.lower(tickets.c.title).like(pattern),
                              sa.func.lower(tickets.c.description).like(pattern),
                              sa.func.lower(tickets.c.number).like(pattern)))
    return clauses


def _has_tag(tickets: sa.Table, tag: str, dialect: str) -> sa.ColumnElement[bool]:
    """JSON array membership: containment on PostgreSQL (index-friendly), json_each on SQLite."""
    if dialect == "postgresql":
        return sa.type_coerce(tickets.c.tags, postgresql.JSONB).contains([tag])
    items = sa.func.json_each(tickets.c.tags).table_valued("value")
    return sa.exists().select_from(items).where(items.c.value == tag)


def encode_cursor(value: Any, ticket_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([json_value(value), ticket_id]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, column: str) -> tuple[Any, int]:
    try:
        value, ticket_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if column in ("created_at", "updated_at"):
            value = dt.datetime.fromisoformat(value)
        return value, int(ticket_id)
    except (ValueError, TypeError) as exc:
        raise _invalid("cursor", "not a cursor this API returned") from exc


def list_tickets(connection: sa.Connection, compiled: CompiledDesk, actor: Actor, query: ListQuery) -> Page:
    """One page of the tickets ``actor`` may see, newest first unless sorted otherwise."""
    tickets = compiled.table("tickets")
    column_name = query.sort.lstrip("-")
    if column_name not in SORTS:
        raise _invalid("sort", f"one of {', '.join(SORTS)}, optionally with a leading '-' for descending")
    if not 1 <= query.limit <= 200:
        raise _invalid("limit", "between 1 and 200")
    descending = query.sort.startswith("-")
    column = tickets.c[column_name]
    clauses = _where(compiled, actor, query, connection.dialect.name)
    total_query = sa.select(tickets.c.id).where(*clauses).limit(COUNT_LIMIT + 1).subquery()
    total = connection.execute(sa.select(sa.func.count()).select_from(total_query)).scalar_one()
    page = sa.select(tickets).where(*clauses)
    if query.cursor:
        value, last_id = decode_cursor(query.cursor, column_name)
        after = (column < value) | ((column == value) & (tickets.c.id < last_id)) if descending else \
            (column > value) | ((column == value) & (tickets.c.id > last_id))
        page = page.where(after)
    order = (column.desc(), tickets.c.id.desc()) if descending else (column.asc(), tickets.c.id.asc())
    rows = [dict(r._mapping) for r in connection.execute(page.order_by(*order).limit(query.limit + 1))]
    more = len(rows) > query.limit
    rows = rows[:query.limit]
    cursor = encode_cursor(rows[-1][column_name], rows[-1]["id"]) if more and rows else None
    return Page([redact(r, actor) for r in rows], cursor, min(total, COUNT_LIMIT), total > COUNT_LIMIT)
