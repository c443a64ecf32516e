"""Ticket lists across types: filters, a stable sort, keyset (cursor) pages and a bounded count."""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import time
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from runtime.compile.desk import CompiledDesk
from runtime.tickets.access import redact, visible
from runtime.tickets.actors import Actor
from runtime.tickets.audit import json_value
from runtime.tickets.errors import InvalidTicket
from runtime.tickets.search import matches

SORTS = ("created_at", "updated_at", "priority", "number")
RELEVANCE = "relevance"  # a sort for searches (``q``): best match first, then the newest ticket
COUNT_LIMIT = 10_000
# Counting to COUNT_LIMIT visits up to that many rows (about 15 ms on SQLite with 1,000,000 tickets); a count
# beyond it is reported as an estimate anyway, so each process reuses that finding for this long per actor and filter.
CAPPED_COUNT_TTL = 10.0  # seconds
PROBE_ROWS = 1_000  # SQLite: how many rows, in the sort's order, a page looks through before the planner's plan
MAX_ID = 2**63 - 1  # the largest key either database stores
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
    text: str | None = None  # full-text search (runtime/tickets/search.py)
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


def _refuse_nul(query: ListQuery) -> None:
    """PostgreSQL text cannot hold NUL characters; say so rather than fail in the driver."""
    texts = [*query.equals.items(), ("assignee", query.assignee), *(("tag", t) for t in query.tags),
             ("q", query.text), ("sort", query.sort)]
    for name, value in texts:
        if isinstance(value, str) and "\x00" in value:
            raise _invalid(name, "text without NUL characters")


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
        elif query.assignee.isascii() and query.assignee.isdigit() and 0 < int(query.assignee) <= MAX_ID:
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
    """The sort value and ticket id a cursor carries. A cursor comes back from the client, so both are
    checked before they reach the database: every sort column holds a string or an aware time, relevance
    a finite number."""
    try:
        value, ticket_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if type(ticket_id) is not int or not 0 < ticket_id <= MAX_ID:
            raise ValueError(cursor)
        if column == RELEVANCE:
            if type(value) not in (int, float) or not math.isfinite(value):
                raise ValueError(cursor)
            return float(value), ticket_id
        if not isinstance(value, str) or "\x00" in value:
            raise ValueError(cursor)
        if column in ("created_at", "updated_at"):
            parsed = dt.datetime.fromisoformat(value)
            if parsed.tzinfo is None:
                raise ValueError(cursor)
            return parsed.astimezone(dt.UTC), ticket_id
        return value, ticket_id
    except (ValueError, TypeError, OverflowError) as exc:
        raise _invalid("cursor", "not a cursor this API returned") from exc


def list_tickets(connection: sa.Connection, compiled: CompiledDesk, actor: Actor, query: ListQuery) -> Page:
    """One page of the tickets ``actor`` may see, newest first unless sorted otherwise."""
    tickets = compiled.table("tickets")
    _refuse_nul(query)
    column_name = query.sort.lstrip("-")
    text = (query.text or "").strip() or None  # a blank search box filters nothing
    if query.sort == RELEVANCE and not text:
        raise _invalid("sort", "relevance ranks the matches of a search; give 'q' too")
    if column_name not in SORTS and query.sort != RELEVANCE:
        raise _invalid("sort", f"one of {', '.join(SORTS)}, optionally with a leading '-' for descending, or "
                               f"{RELEVANCE} with 'q'")
    if not 1 <= query.limit <= 200:
        raise _invalid("limit", "between 1 and 200")
    clauses = _where(compiled, actor, query, connection.dialect.name)
    found = matches(compiled, actor, text, connection.dialect.name) if text else None
    if text and found is None:  # no word in it: nothing can match
        return Page([], None, 0, False)
    searched: list[sa.ColumnElement[bool]] = [tickets.c.id.in_(sa.select(found.c.ticket_id))] if found is not None \
        else []
    total = _count(connection, tickets, clauses + searched, _count_key(connection, actor, query))
    if found is not None and query.sort == RELEVANCE:
        return _relevance_page(connection, tickets, found, clauses, actor, query, total)
    clauses += searched
    descending = query.sort.startswith("-")
    column = tickets.c[column_name]
    value: Any = None
    if query.cursor:
        value, last_id = decode_cursor(query.cursor, column_name)
        after = (column < value) | ((column == value) & (tickets.c.id < last_id)) if descending else \
            (column > value) | ((column == value) & (tickets.c.id > last_id))
        clauses.append(after)
    rows = [dict(r._mapping) for r in _page(connection, tickets, clauses, column, descending, value, query.limit + 1)]
    more = len(rows) > query.limit
    rows = rows[:query.limit]
    cursor = encode_cursor(rows[-1][column_name], rows[-1]["id"]) if more and rows else None
    return Page([redact(r, actor) for r in rows], cursor, min(total, COUNT_LIMIT), total > COUNT_LIMIT)


def _relevance_page(connection: sa.Connection, tickets: sa.Table, found: sa.Subquery,
                    clauses: list[sa.ColumnElement[bool]], actor: Actor, query: ListQuery, total: int) -> Page:
    """A page of search matches, best first; among equals, the newest ticket first."""
    relevance = found.c.relevance
    label = "_search_relevance"  # beside the ticket's columns, whatever a builder named their fields
    if query.cursor:
        value, last_id = decode_cursor(query.cursor, RELEVANCE)
        clauses = [*clauses, (relevance < value) | ((relevance == value) & (tickets.c.id < last_id))]
    statement = sa.select(tickets, relevance.label(label)).join(found, found.c.ticket_id == tickets.c.id) \
        .where(*clauses).order_by(relevance.desc(), tickets.c.id.desc()).limit(query.limit + 1)
    rows = [dict(r._mapping) for r in connection.execute(statement)]
    more = len(rows) > query.limit
    ranks = [row.pop(label) for row in rows[:query.limit]]
    rows = rows[:query.limit]
    cursor = encode_cursor(ranks[-1], rows[-1]["id"]) if more and rows else None
    return Page([redact(r, actor) for r in rows], cursor, min(total, COUNT_LIMIT), total > COUNT_LIMIT)


_capped_counts: dict[tuple[Any, ...], float] = {}  # count key → until when (time.monotonic()) it is known capped


def _count_key(connection: sa.Connection, actor: Actor, query: ListQuery) -> tuple[Any, ...]:
    """What a count depends on: the database, who asks (the access rules) and the filters, not sort or page."""
    return (str(connection.engine.url), actor, tuple(sorted(query.equals.items())), query.assignee, query.team_id,
            query.requester_id, query.tags, query.created_after, query.created_before, query.updated_after,
            query.updated_before, query.text)


def _count(connection: sa.Connection, tickets: sa.Table, clauses: list[sa.ColumnElement[bool]],
           key: tuple[Any, ...]) -> int:
    """The number of matching tickets, exact up to COUNT_LIMIT; above it, COUNT_LIMIT + 1."""
    now = time.monotonic()
    if _capped_counts.get(key, 0.0) > now:
        return COUNT_LIMIT + 1
    bounded = sa.select(tickets.c.id).where(*clauses).limit(COUNT_LIMIT + 1).subquery()
    total: int = connection.execute(sa.select(sa.func.count()).select_from(bounded)).scalar_one()
    if total > COUNT_LIMIT:
        if len(_capped_counts) >= 1_000:
            _capped_counts.clear()
        _capped_counts[key] = now + CAPPED_COUNT_TTL
    return total


def _leads_an_index(tickets: sa.Table, column: sa.Column[Any]) -> bool:
    firsts = [next(iter(i.columns), None) for i in tickets.indexes]
    firsts += [next(iter(c.columns), None) for c in tickets.constraints if isinstance(c, sa.UniqueConstraint)]
    return any(c is column for c in firsts)


def _page(connection: sa.Connection, tickets: sa.Table, clauses: list[sa.ColumnElement[bool]], column: sa.Column[Any],
          descending: bool, cursor_value: Any, limit: int) -> list[sa.Row[Any]]:
    """The first ``limit`` rows by ``column`` (then id), after the cursor's value if there is one.

    Without statistics SQLite takes an equality filter on an indexed column (status_category = 'open') as
    selective, reads every match through that index and sorts them all: 40 ms for 20,000 open tickets. So on
    SQLite the page is first looked for among the next PROBE_ROWS rows of the sort column's index, with the
    filters hidden in a function so that no other index is chosen; that is the answer whenever it yields a full
    page (every row it skipped sorts after them). Otherwise the planner's plan runs, as before.
    """
    order = (column.desc(), tickets.c.id.desc()) if descending else (column.asc(), tickets.c.id.asc())
    if connection.dialect.name == "sqlite" and _leads_an_index(tickets, column):
        edge = sa.select(column).order_by(*order).offset(PROBE_ROWS - 1).limit(1)
        if cursor_value is not None:
            edge = edge.where(column <= cursor_value if descending else column >= cursor_value)
        bound = column >= edge.scalar_subquery() if descending else column <= edge.scalar_subquery()
        probe = sa.select(tickets).where(sa.func.coalesce(sa.and_(*clauses), False), bound).order_by(*order)
        rows = list(connection.execute(probe.limit(limit)))
        if len(rows) == limit:
            return rows
    return list(connection.execute(sa.select(tickets).where(*clauses).order_by(*order).limit(limit)))
