"""A row of another desk's file, read through a mapping into an ``Incoming`` ticket: its type, state, fields,
people, timestamps and comments, or the reasons it cannot be one."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runtime.compile.columns import relation_table
from runtime.compile.desk import CompiledDesk
from runtime.compile.models import EMAIL
from runtime.config.core_columns import SOURCES
from runtime.transfer.incoming import (
    AGENT,
    CONTACT,
    CREATE,
    ORGANIZATION,
    TEAM,
    Incoming,
    IncomingComment,
    Ref,
)
from runtime.transfer.mapping import CORE_FIELDS, TIMESTAMPS, Mapping, Pick
from runtime.transfer.source_file import Record, column_value
from runtime.transfer.values import COERCED_KINDS, BadValue, coerce, parse_time

AUTHOR = "authors"  # a comment's author: an agent by username or email, else a contact by email
EXTERNAL_REF_MAX = 500
_EMAIL = re.compile(EMAIL)


def _reader(pick: Pick) -> Callable[[dict[str, Any]], Any]:
    """``MappedRows.read`` for one pick, with what it needs bound once: it runs for every column of every row."""
    if pick.column is None:
        fixed = pick.value
        return lambda _data: fixed
    column, default, values = pick.column, pick.default, pick.values

    def read(data: dict[str, Any]) -> Any:
        value = data.get(column)
        if value is None:
            value = column_value(data, column)
            if value is None:
                return default
        if value.__class__ is str:
            value = value.strip()
            if not value:
                return default
            return values.get(value, value) if values else value
        return values.get(json.dumps(value), value) if values else value

    return read


@dataclass(frozen=True)
class FieldPlan:
    name: str
    pick: Pick
    kind: str
    table: str | None  # where a relation given ``by`` a column is looked up
    read: Callable[[dict[str, Any]], Any]


class MappedRows:
    def __init__(self, compiled: CompiledDesk, mapping: Mapping, file: Path, now: dt.datetime) -> None:
        self.compiled, self.mapping, self.now = compiled, mapping, now
        self.file = file.name
        desk = compiled.definitions
        self.types = {t.name: t for t in desk.types}
        self.workflows = {t.name: compiled.workflow_for(t.name) for t in desk.types}
        self._readers: dict[tuple[str | int, ...], Callable[[dict[str, Any]], Any]] = {}
        self.plans: dict[str, list[FieldPlan]] = {}
        for ticket_type in desk.types:
            kinds = {f.name: f for f in (*desk.master_fields, *ticket_type.fields)}
            plans = []
            for name, pick in mapping.fields.get(ticket_type.name, {}).items():
                field = kinds.get(name)
                kind = CORE_FIELDS.get(name) or (field.kind if field else "string")
                table = relation_table(field.to or "") if field is not None and pick.by else None
                plans.append(FieldPlan(name, pick, kind, table, self._reader(pick)))
            self.plans[ticket_type.name] = plans
        self.stamps = [(name, self._reader(pick)) for name, pick in mapping.timestamps.items()]
        requester = mapping.requester
        self._external_ref, self._type, self._channel, self._number = (
            self._bound(mapping.external_ref), self._bound(mapping.type), self._bound(mapping.channel),
            self._bound(mapping.number))
        self._status = self._bound(mapping.status) if mapping.status is not None else None
        self._email, self._organization, self._name = (
            self._bound(requester.get("email")), self._bound(requester.get("organization")),
            self._bound(requester.get("name")))
        self._assignee, self._team = self._bound(mapping.assignee), self._bound(mapping.team)

    def _bound(self, pick: Pick | None) -> Callable[[dict[str, Any]], Any]:
        """The reader of a pick the mapping may leave out: a missing one reads nothing."""
        return (lambda _data: None) if pick is None else self._reader(pick)

    def _reader(self, pick: Pick) -> Callable[[dict[str, Any]], Any]:
        read = self._readers.get(pick.path)
        if read is None:
            read = self._readers[pick.path] = _reader(pick)
        return read

    def read(self, pick: Pick | None, data: dict[str, Any]) -> Any:
        """The value ``pick`` gives for this row: the column's (trimmed; empty is None, then the default), mapped
        through its values, or the fixed value."""
        if pick is None:
            return None
        return self._reader(pick)(data)

    def convert(self, record: Record) -> Incoming:
        row = Incoming(record.line, "")
        if record.problem is not None:
            row.reject(record.problem)
            return row
        data, mapping = record.data, self.mapping
        reference = self._external_ref(data)
        row.key = "" if reference is None else str(reference)
        if not row.key:
            row.reject("no external reference: its column is empty")
        elif len(row.key) > EXTERNAL_REF_MAX:
            row.reject(f"the external reference is longer than {EXTERNAL_REF_MAX} characters")
        type_name = self._type(data)
        ticket_type = self.types.get(type_name) if isinstance(type_name, str) else None
        if ticket_type is None:
            names = ", ".join(t.name for t in self.compiled.definitions.types)
            row.reject(f"type: {type_name!r} is not a ticket type of this desk ({names}) nor mapped to one")
            return row
        row.type_name = ticket_type.name
        workflow = self.workflows[ticket_type.name]
        status = self._status(data) if self._status is not None else workflow.initial
        if status not in workflow.categories:
            row.reject(f"status: {status!r} is not a state of this type's workflow "
                       f"({', '.join(workflow.categories)}) nor mapped to one")
            return row
        channel = self._channel(data)
        if channel not in SOURCES:
            row.reject(f"channel: {channel!r} is not one of {', '.join(SOURCES)}")
        number = self._number(data)
        row.number = None if number is None else str(number)
        row.master = {"status": status, "status_category": workflow.categories[status], "source": channel,
                      "source_name": mapping.source[:200], "external_ref": row.key, "version": 1}
        self._fields(row, data)
        self._people(row, data)
        self._timestamps(row, data)
        self._comments(row, data, str(channel))
        row.imported_from = {"source": mapping.source, "ref": row.key, "file": self.file, "line": record.line}
        return row

    def _fields(self, row: Incoming, data: dict[str, Any]) -> None:
        separator = self.mapping.csv.list_separator
        for plan in self.plans[row.type_name]:
            value = plan.read(data)
            if value is None:
                continue
            if plan.table is not None and plan.pick.by is not None:
                row.refs[plan.name] = Ref(plan.table, plan.pick.by, value)
            elif plan.kind == "datetime":
                try:
                    row.values[plan.name] = parse_time(value, self.mapping.time_format, self.mapping.zone)
                except BadValue as exc:
                    row.reject(f"{plan.name}: {exc}")
            elif plan.kind in COERCED_KINDS:
                row.values[plan.name] = coerce(plan.kind, value, separator)
            else:
                row.values[plan.name] = value

    def _people(self, row: Incoming, data: dict[str, Any]) -> None:
        mapping = self.mapping
        email = self._email(data)
        if email is not None:
            email = str(email).strip()
            if not _EMAIL.match(email):
                row.reject(f"requester: {email!r} is not an email address")
            else:
                organization = self._organization(data)
                name = self._name(data)
                row.refs["requester_id"] = Ref(
                    CONTACT, "email", email, CREATE, None if name is None else str(name)[:200],
                    Ref(ORGANIZATION, "name", str(organization)[:200], CREATE) if organization else None)
        for slot, pick, read, table in (("assignee_id", mapping.assignee, self._assignee, AGENT),
                                        ("team_id", mapping.team, self._team, TEAM)):
            value = read(data)
            if pick is not None and value is not None:
                row.refs[slot] = Ref(table, pick.by or "name", str(value), pick.missing)

    def _timestamps(self, row: Incoming, data: dict[str, Any]) -> None:
        stamps: dict[str, dt.datetime | None] = dict.fromkeys(TIMESTAMPS)
        time_format, zone = self.mapping.time_format, self.mapping.zone
        for name, read in self.stamps:
            try:
                stamps[name] = parse_time(read(data), time_format, zone)
            except BadValue as exc:
                row.reject(f"{name}: {exc}")
        created = stamps["created_at"] or self.now
        early = [name for name, value in stamps.items() if value is not None and value < created]
        if early:
            row.reject(f"{', '.join(early)} before created_at ({created.isoformat()})")
        row.master |= {"created_at": created, **{k: v for k, v in stamps.items() if k != "created_at"}}

    def _comments(self, row: Incoming, data: dict[str, Any], channel: str) -> None:
        spec = self.mapping.comments
        if spec is None:
            return
        items = column_value(data, spec.column)
        if isinstance(items, str):
            if not items.strip():
                return
            try:
                items = json.loads(items)
            except ValueError as exc:
                row.reject(f"comments: not a JSON list: {exc}")
                return
        if items is None:
            return
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            row.reject("comments: not a list of objects")
            return
        for index, item in enumerate(items):
            where = f"comments[{index}]"
            body = item.get(spec.body)
            if not isinstance(body, str) or not body.strip() or "\x00" in body:
                row.reject(f"{where}.{spec.body}: a comment needs a text (without NUL characters)")
                continue
            try:
                created = parse_time(item.get(spec.created_at) if spec.created_at else None,
                                     self.mapping.time_format, self.mapping.zone)
            except BadValue as exc:
                row.reject(f"{where}.{spec.created_at}: {exc}")
                continue
            public = coerce("boolean", item.get(spec.public, True) if spec.public else True, ";")
            if not isinstance(public, bool):
                row.reject(f"{where}.{spec.public}: {public!r} is not true or false")
                continue
            author = item.get(spec.author) if spec.author else None
            html = item.get(spec.html) if spec.html else None
            if isinstance(html, str) and "\x00" in html:
                row.reject(f"{where}.{spec.html}: NUL characters are not text")
                continue
            row.comments.append(IncomingComment(
                created or row.master["created_at"], body, public, "inbound",
                str(item.get(spec.channel) or channel)[:16] if spec.channel else channel[:16],
                Ref(AUTHOR, "login", str(author).strip()) if author else None,
                html if isinstance(html, str) else None))

    def finish(self, row: Incoming) -> None:
        """Once the people are known: comments by agents go out, the first public one is the first response
        (when the file does not say when that was), and the timestamps agree with the state as the service keeps
        them."""
        for comment in row.comments:
            if comment.author is not None and comment.author.table == AGENT:
                comment.direction = "outbound"
        master = row.master
        if master["first_response_at"] is None:
            answers = [c.created_at for c in row.comments if c.public and c.direction == "outbound"]
            master["first_response_at"] = min(answers, default=None)
        created, category = master["created_at"], master["status_category"]
        resolved, closed = master["resolved_at"], master["closed_at"]
        if category == "resolved":
            resolved, closed = resolved or closed or master["updated_at"] or created, None
        elif category == "closed":
            closed = closed or resolved or master["updated_at"] or created
            resolved = resolved or closed
        else:
            resolved = closed = None
        initial = self.workflows[row.type_name].initial
        changed = master["status_changed_at"] or (
            closed if category == "closed" else resolved if category == "resolved"
            else created if master["status"] == initial else master["updated_at"] or created)
        stamps = [s for s in (master["updated_at"], created, master["first_response_at"], resolved, closed, changed)
                  if s is not None]
        master |= {"resolved_at": resolved, "closed_at": closed, "status_changed_at": changed,
                   "updated_at": max(stamps)}
