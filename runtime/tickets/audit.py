"""Audit events: one row per changed field, written in the same transaction as the change."""

from __future__ import annotations

import datetime as dt
import decimal
import weakref
from typing import Any

import sqlalchemy as sa

from runtime.tickets.actors import Actor
from runtime.tickets.driver_insert import DriverInsert

_COLUMNS = ("ticket_id", "at", "actor", "channel", "action", "field", "old_value", "new_value")
# One per events table (one per compiled desk), so that each is compiled once per dialect.
_inserts: weakref.WeakKeyDictionary[sa.Table, DriverInsert] = weakref.WeakKeyDictionary()


_PLAIN = frozenset({str, int, float, bool, type(None)})  # most values: JSON as they are, told by one lookup


def json_value(value: Any) -> Any:
    """A JSON-safe form of a field value for the audit trail and API responses."""
    if type(value) in _PLAIN:
        return value
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    return value


def _insert(events: sa.Table) -> DriverInsert:
    insert = _inserts.get(events)
    if insert is None:
        insert = _inserts.setdefault(events, DriverInsert(events, _COLUMNS))
    return insert


def record(connection: sa.Connection, events: sa.Table, ticket_id: int, actor: Actor, channel: str, action: str,
           changes: dict[str, tuple[Any, Any]], at: dt.datetime) -> None:
    write(connection, events, draft(connection.dialect, events, actor, channel, action, changes, at), ticket_id)


def draft(dialect: sa.Dialect, events: sa.Table, actor: Actor, channel: str, action: str,
          changes: dict[str, tuple[Any, Any]], at: dt.datetime) -> list[dict[str, Any]]:
    """The events of ``changes`` converted for ``dialect``, before the ticket they belong to has its key."""
    rows = [{"field": name, "old_value": json_value(old), "new_value": json_value(new)}
            for name, (old, new) in changes.items()] or [{"field": None, "old_value": None, "new_value": None}]
    return _insert(events).draft(dialect, {"at": at, "actor": actor.label, "channel": channel, "action": action},
                                 rows)


def write(connection: sa.Connection, events: sa.Table, drafted: list[dict[str, Any]], ticket_id: int) -> None:
    _insert(events).execute_draft(connection, drafted, {"ticket_id": ticket_id})


def write_many(connection: sa.Connection, events: sa.Table, drafted: list[dict[str, Any]], tickets: list[int]) -> None:
    """Drafted events of several tickets, ``tickets`` naming each one's ticket."""
    if drafted:
        _insert(events).execute_draft(connection, drafted, [{"ticket_id": t} for t in tickets])
