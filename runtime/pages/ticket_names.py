"""What the ids and codes on a ticket page stand for, in the reader's language: people and teams by name, states,
categories and options by their labels, records of a collection by their display field.

The ticket page shows a value in its header, its sections and its audit trail; all three read it through here so
that an assignee is "Alex Morgan" everywhere, never 3 in one place and a name in another.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.config import ir
from runtime.pages.i18n import Translator
from runtime.tickets.records import relation_targets

# Tables whose rows a person recognises by a column other than a collection's display field.
PEOPLE_COLUMNS = {"contacts": ("name", "email"), "agents": ("name", "username"), "teams": ("label", "name"),
                  "organizations": ("name", "name")}
# Core columns that are states, times or people rather than a field a builder declared.
TIMES = frozenset({"created_at", "updated_at", "status_changed_at", "first_response_at", "resolved_at", "closed_at"})


def when(value: Any) -> str:
    """A stored time as people read it on the page (UTC, to the minute); the <time> element carries it exactly."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return aware.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return "" if value is None else str(value)


def iso(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()
    return "" if value is None else str(value)


class Names:
    """The display names a ticket page needs, read in a few small queries when the page is built."""

    def __init__(self, connection: sa.Connection, compiled: CompiledDesk, ticket: Mapping[str, Any],
                 t: Translator) -> None:
        self.compiled, self.desk, self.t = compiled, compiled.definitions, t
        self.ticket_type = self.desk.ticket_type(str(ticket["type"]))
        self.workflow = self.desk.workflow(self.ticket_type.workflow) if self.ticket_type else None
        self.targets = compiled.memo(("pages.relation_targets", str(ticket["type"])),
                                     lambda: relation_targets(compiled, str(ticket["type"])))
        self.fields: dict[str, ir.Field] = {f.name: f for f in (
            *self.desk.master_fields, *(self.ticket_type.fields if self.ticket_type else ()))}
        self._records: dict[tuple[str, int], str] = {}
        wanted: dict[str, set[int]] = {}
        for name, table in self.targets.items():
            for value in _ids(ticket.get(name)):
                wanted.setdefault(table, set()).add(value)
        agents = self.compiled.table("agents")
        # Audit events name agents by user name; the page shows who they are.
        rows = connection.execute(sa.select(agents.c.id, agents.c.username, agents.c.name)).all()
        self.agents_by_username: dict[str, str] = {str(row.username): str(row.name) for row in rows}
        self._records.update({("agents", row.id): row.name for row in rows})
        self.read(connection, wanted)

    def read(self, connection: sa.Connection, wanted: Mapping[str, set[int]]) -> None:
        """Look up the display text of more records (the ids an audit trail names, say)."""
        for table_name, ids in wanted.items():
            ids = {i for i in ids if (table_name, i) not in self._records}
            if not ids:
                continue
            table = self.compiled.table(table_name)
            column = self._display_column(table_name)
            if column is None:
                continue
            for row in connection.execute(sa.select(table.c.id, *column).where(table.c.id.in_(sorted(ids)))):
                self._records[(table_name, row[0])] = next((str(v) for v in row[1:] if v), f"#{row[0]}")

    def _display_column(self, table_name: str) -> list[sa.ColumnElement[Any]] | None:
        table = self.compiled.table(table_name)
        if table_name in PEOPLE_COLUMNS:
            return [table.c[name] for name in PEOPLE_COLUMNS[table_name]]
        collection = next((c for c in self.desk.collections if f"ref_{c.name}" == table_name), None)
        if collection is not None and collection.display in table.c:
            return [table.c[collection.display]]
        return None

    def record(self, table_name: str, record_id: Any) -> str:
        if record_id is None:
            return ""
        return self._records.get((table_name, int(record_id)), f"#{record_id}")

    def relation(self, field: str, value: Any) -> str:
        table = self.targets.get(field)
        if table is None:
            return str(value)
        return ", ".join(self.record(table, i) for i in _ids(value))

    def state(self, status: str | None) -> str:
        state = self.workflow.state(status) if self.workflow and status else None
        return ir.label_for(state.label, self.t.language, status or "") if state else (status or "")

    def labelled(self, labels: ir.Labels, fallback: str) -> str:
        return ir.label_for(labels, self.t.language, fallback)

    def type_label(self) -> str:
        return ir.label_for(self.ticket_type.label, self.t.language, "") if self.ticket_type else ""

    def category(self, value: str | None) -> str:
        option = next((c for c in self.desk.categories if c.value == value), None)
        return ir.label_for(option.label, self.t.language, value or "") if option else (value or "")

    def actor(self, label: str) -> str:
        """An audit event's actor (``agent:alex``, ``contact:maria@…``, ``system:ai-triage``) for people."""
        kind, _, name = label.partition(":")
        if kind == "agent":
            return self.agents_by_username.get(name, name)
        if kind == "system":
            return self.t("ticket.actor_ai") if name == "ai-triage" else self.t("ticket.actor_system")
        return name or label

    def value(self, field: str, value: Any) -> str:
        """Any field's value as text for people: the label of a choice, the name behind an id, a list joined."""
        if value is None or value == "" or value == []:
            return self.t("common.none")
        if field == "status":
            return self.state(str(value))
        if field == "category":
            return self.category(str(value))
        if field == "priority":
            return str(value)
        if field in self.targets:
            return self.relation(field, value)
        if field in TIMES:
            return when(value)
        definition = self.fields.get(field)
        if definition is not None and definition.options:
            chosen = value if isinstance(value, list) else [value]
            labels = {o.value: ir.label_for(o.label, self.t.language, o.value.replace("_", " ").capitalize())
                      for o in definition.options}
            return ", ".join(labels.get(str(v), str(v)) for v in chosen)
        if isinstance(value, bool):
            return self.t("ticket.bool_yes") if value else self.t("ticket.bool_no")
        if isinstance(value, list):
            return ", ".join(_plain(v) for v in value)
        return _plain(value)


def _plain(value: Any) -> str:
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, (dt.date, dt.datetime)):
        return when(value) if isinstance(value, dt.datetime) else value.isoformat()
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _ids(value: Any) -> list[int]:
    items = value if isinstance(value, list) else [value]
    return [int(v) for v in items if (isinstance(v, int) and not isinstance(v, bool))
            or (isinstance(v, str) and v.isdigit())]
