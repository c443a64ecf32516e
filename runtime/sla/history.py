"""Each ticket's history as the SLA hooks received it, rebuilt from the audit trail (``ticket_events``).

A ticket as it was created is its row today with every audited change undone (each field takes the old value
of its earliest change); its steps are then its audited changes, public replies and merge, in time order.
The audit trail rather than the comments table supplies the replies: it keeps each reply on the ticket it was
written on (a merge moves comments) and, by the actor's kind, whether an agent wrote it.

Not in the audit trail, hence taken as they are today: the organization (it follows the requester without an
event of its own) and extension fields that a policy's ``applies_to`` names.

A ticket imported from another desk (``cli.py import tickets`` with a mapping) has no trail from before its
import, only its ``imported`` event: its history up to then is what its kept timestamps say (``imported_history``),
and the import computed its clocks from the same steps (runtime/sla/imported.py), so a replay agrees with them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk

BATCH = 500  # tickets read per round trip

CHANGED, REPLIED, MERGED = "changed", "replied", "merged"
SKIPPED_ACTIONS = frozenset({"create", "note"})  # the creation itself, and internal notes, which start nothing
IMPORTED = "imported"  # the event of a ticket that came from another desk through a mapping
DONE = ("resolved", "closed")


@dataclass(frozen=True)
class Step:
    """One thing that happened to the ticket: field changes, a public reply or its merge into another."""

    at: dt.datetime
    kind: str
    changes: dict[str, Any] = field(default_factory=dict)  # field → new value
    by_agent: bool = False


@dataclass(frozen=True)
class History:
    ticket: dict[str, Any]  # as created
    steps: list[Step]


def ticket_query(compiled: CompiledDesk, since: dt.datetime | None) -> sa.Select[Any]:
    tickets = compiled.table("tickets")
    query = sa.select(tickets)
    return query if since is None else query.where(tickets.c.created_at >= since)


def count_tickets(connection: sa.Connection, compiled: CompiledDesk, since: dt.datetime | None) -> int:
    counted: int = connection.execute(sa.select(sa.func.count()).select_from(
        ticket_query(compiled, since).subquery())).scalar_one()
    return counted


def histories(connection: sa.Connection, compiled: CompiledDesk, since: dt.datetime | None,
              extension_fields: frozenset[str] = frozenset()) -> Iterator[History]:
    """Every ticket created since ``since`` (all without it), in the order of their ids, with its history.
    ``extension_fields``: the type-specific fields selection needs, read from each type's own table."""
    tickets, events = compiled.table("tickets"), compiled.table("ticket_events")
    last = 0
    while True:
        rows = [dict(r._mapping) for r in connection.execute(
            ticket_query(compiled, since).where(tickets.c.id > last).order_by(tickets.c.id).limit(BATCH))]
        if not rows:
            return
        last = rows[-1]["id"]
        ids = [row["id"] for row in rows]
        _add_extension_fields(connection, compiled, rows, extension_fields)
        trail = connection.execute(sa.select(events).where(events.c.ticket_id.in_(ids))
                                   .order_by(events.c.ticket_id, events.c.at, events.c.id)).all()
        by_ticket = {ticket_id: list(group) for ticket_id, group in groupby(trail, key=lambda e: e.ticket_id)}
        for row in rows:
            yield _history(compiled, row, by_ticket.get(row["id"], []))


def _history(compiled: CompiledDesk, current: dict[str, Any], trail: list[Any]) -> History:
    changes = [e for e in trail if e.action not in SKIPPED_ACTIONS and e.field is not None]
    ticket = dict(current)
    for event in reversed(changes):
        ticket[event.field] = event.old_value
    ticket["status_category"] = _category(compiled, ticket)
    steps = []
    if any(e.action == IMPORTED for e in trail):
        imported = imported_history(compiled, ticket)
        ticket, steps = imported.ticket, imported.steps
    # One change writes one audit row per field, all with the same instant, action and actor.
    for (at, action, actor), group in groupby(trail, key=lambda e: (e.at, e.action, e.actor)):
        rows = list(group)
        if action == "public_reply":
            steps.append(Step(at, REPLIED, by_agent=actor.startswith("agent:")))
        elif action not in SKIPPED_ACTIONS:
            fields = {e.field: e.new_value for e in rows if e.field is not None}
            if fields:
                steps.append(Step(at, MERGED if action == "merged_into" else CHANGED, fields))
    return History(ticket, steps)


def imported_history(compiled: CompiledDesk, imported: dict[str, Any]) -> History:
    """What an imported ticket's timestamps say happened before it came: created in its workflow's initial state,
    answered at ``first_response_at``, moved to the state it came in at ``resolved_at`` (in a resolved or closed
    state) or ``status_changed_at``. What they cannot say (waiting periods, reopenings, earlier priorities) did
    not happen, as far as its clocks know."""
    workflow = compiled.memo(("history.workflow", imported["type"]), lambda: compiled.workflow_for(imported["type"]))
    created = _instant(imported["created_at"])
    assert created is not None
    ticket = {**imported, "status": workflow.initial, "status_category": workflow.categories[workflow.initial],
              "first_response_at": None}
    steps = []
    answered = _instant(imported.get("first_response_at"))
    if answered is not None:
        at = max(answered, created)
        steps += [Step(at, REPLIED, by_agent=True), Step(at, CHANGED, {"first_response_at": answered})]
    if imported["status"] != workflow.initial:
        moved = _instant(imported.get("resolved_at") if imported["status_category"] in DONE
                         else imported.get("status_changed_at"))
        steps.append(Step(max(moved or _instant(imported["updated_at"]) or created, created), CHANGED,
                          {"status": imported["status"]}))
    steps.sort(key=lambda step: step.at)  # stable: an answer at the same instant as the move comes first
    return History(ticket, steps)


def _instant(value: Any) -> dt.datetime | None:
    """A timestamp as the ticket row holds it, or as an undone audit value holds it (ISO text)."""
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else value


def apply(compiled: CompiledDesk, ticket: dict[str, Any], step: Step) -> dict[str, Any]:
    """The ticket after ``step``'s changes; its status category follows its status, as the workflow says."""
    after = {**ticket, **step.changes}
    after["status_category"] = "closed" if step.kind == MERGED else _category(compiled, after)
    return after


def _category(compiled: CompiledDesk, ticket: dict[str, Any]) -> Any:
    # A merge and older trails do not audit the category; the workflow knows it from the status. A status the
    # workflow no longer has keeps the category the trail gave.
    ticket_type = compiled.definitions.ticket_type(ticket.get("type") or "")
    if ticket_type is None:
        return ticket.get("status_category")
    return compiled.workflows[ticket_type.workflow].categories.get(str(ticket.get("status")),
                                                                    ticket.get("status_category"))


def _add_extension_fields(connection: sa.Connection, compiled: CompiledDesk, rows: list[dict[str, Any]],
                          names: frozenset[str]) -> None:
    if not names:
        return
    for type_name in {row["type"] for row in rows}:
        ticket_type = compiled.definitions.ticket_type(type_name)
        if ticket_type is None:
            continue
        table = compiled.table(ticket_type.table_name)
        columns = [table.c[name] for name in sorted(names) if name in table.c]
        if not columns:
            continue
        ids = [row["id"] for row in rows if row["type"] == type_name]
        values = {r.ticket_id: r._mapping for r in connection.execute(
            sa.select(table.c.ticket_id, *columns).where(table.c.ticket_id.in_(ids)))}
        for row in rows:
            if row["id"] in values:
                row.update({name: value for name, value in values[row["id"]].items() if name != "ticket_id"})
