"""A line of a Tessera export read back into an ``Incoming`` ticket, as it was: the built-in identity mapping.

Everything the line holds is kept (number, state, timestamps, version, comments, attachments' metadata, the
audit trail, the SLA clocks and their ledger, links, the rating), so that exporting the importing desk gives the
same lines again. The people it names are found by username, email or name; contacts and organizations that are
missing are created, agents and teams must exist.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from runtime.compile.desk import CompiledDesk
from runtime.transfer.export_format import (
    COMMENT_COLUMNS,
    FORMAT,
    PEOPLE_TARGETS,
    REFERENCES,
    TIMER_COLUMNS,
    TIMER_TIMES,
    TIMES,
    event_reference,
    time,
)
from runtime.transfer.incoming import (
    AGENT,
    CONTACT,
    CREATE,
    LEAVE_EMPTY,
    ORGANIZATION,
    REJECT,
    TEAM,
    TICKET,
    Incoming,
    IncomingAttachment,
    IncomingComment,
    Ref,
)
from runtime.transfer.people import PLACEHOLDER
from runtime.transfer.source_file import Record

CORE_VALUES = ("title", "description", "priority", "category", "tags", "language")
TABLES = {"contact": CONTACT, "agent": AGENT, "team": TEAM, "organization": ORGANIZATION, "ticket": TICKET}
KEYS = {"contact": "email", "agent": "username", "team": "name", "organization": "name", "ticket": "number"}


def reference(value: Any, missing: str) -> Ref | None:
    """The row a line names as ``{"agent": "alex"}`` (or contact, team, organization, ticket); None for null.
    A contact's name and organization come along, for creating it."""
    if not isinstance(value, dict):
        return None
    kind = next((k for k in TABLES if k in value), None)
    if kind is None:
        return None
    ref = Ref(TABLES[kind], KEYS[kind], value[kind], missing if kind in ("agent", "team", "ticket") else CREATE,
              written=value)
    if kind == "contact":
        ref.name = value.get("name")
        organization = value.get("organization")
        ref.organization = Ref(ORGANIZATION, "name", organization, CREATE) if organization else None
    return ref


class TesseraRows:
    def __init__(self, compiled: CompiledDesk) -> None:
        self.compiled = compiled
        desk = compiled.definitions
        master = {f.name: f for f in desk.master_fields}
        self.fields = {t.name: {**master, **{f.name: f for f in t.fields}} for t in desk.types}

    def convert(self, record: Record) -> Incoming:
        data = record.data
        row = Incoming(record.line, str(data.get("number") or ""))
        if record.problem is not None:
            row.reject(record.problem)
            return row
        if data.get("format") != FORMAT:
            row.reject(f"not a line of a Tessera export (no \"format\": \"{FORMAT}\"); "
                       "a file from elsewhere needs --mapping")
            return row
        ticket_type = self.compiled.definitions.ticket_type(str(data.get("type")))
        if ticket_type is None:
            row.reject(f"type: {data.get('type')!r} is not a ticket type of this desk")
            return row
        row.type_name = ticket_type.name
        row.number = row.key or None
        workflow = self.compiled.workflow_for(ticket_type.name)
        status = data.get("status")
        if status not in workflow.categories:
            row.reject(f"status: {status!r} is not a state of workflow {workflow.name}")
            return row
        try:
            self._read(row, data, workflow.categories[str(status)])
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            row.reject(f"not as an export writes it: {type(exc).__name__}: {exc}")
        return row

    def _read(self, row: Incoming, data: dict[str, Any], category: str) -> None:
        row.master = {"status": data["status"], "status_category": category, "source": data.get("source"),
                      "source_name": data.get("source_name"), "external_ref": data.get("external_ref"),
                      "version": data.get("version") or 1, **{name: time(data.get(name)) for name in TIMES}}
        if row.master["created_at"] is None:
            row.reject("created_at: a ticket needs its creation time")
        row.values = {name: data[name] for name in CORE_VALUES if name in data}
        for column in REFERENCES:
            if column == "duplicate_of_id":
                duplicate = data.get("duplicate_of")
                row.duplicate_of = duplicate.get("ticket") if isinstance(duplicate, dict) else None
                continue
            ref = reference(data.get(column.removesuffix("_id")), REJECT)
            if ref is not None and column == "organization_id":
                row.organization = ref
            elif ref is not None:
                row.refs[column] = ref
        self._fields(row, data.get("fields") or {})
        row.comments = [self._comment(c) for c in data.get("comments") or []]
        row.attachments = [IncomingAttachment(a["sha256"], a["filename"], a["content_type"], a["size"],
                                              _time(a["created_at"]), a.get("comment"))
                           for a in data.get("attachments") or []]
        row.events = [{**e, "at": _time(e["at"]), "old_value": self._event_value(e, "old_value"),
                       "new_value": self._event_value(e, "new_value")} for e in data.get("events") or []]
        row.clocks = [{**{k: (time(c[k]) if k in TIMER_TIMES else c[k]) for k in TIMER_COLUMNS},
                       "events": [{**e, "at": _time(e["at"])} for e in c.get("events") or []]}
                      for c in data.get("sla") or []]
        row.links = [{**link, "created_at": _time(link["created_at"]),
                      "ticket": (link.get("ticket") or {}).get("ticket")} for link in data.get("links") or []]
        rating = data.get("rating")
        if rating is not None:
            row.rating = {**rating, "contact": reference(rating.get("contact"), CREATE),
                          "rated_at": _time(rating["rated_at"])}

    def _fields(self, row: Incoming, fields: dict[str, Any]) -> None:
        kinds = self.fields[row.type_name]
        for name, value in fields.items():
            field = kinds.get(name)
            if field is None:
                row.reject(f"fields.{name}: not a field of {row.type_name} in this desk")
                continue
            if field.kind == "relation" and field.to in PEOPLE_TARGETS and isinstance(value, dict):
                ref = reference(value, REJECT)
                if ref is not None:
                    row.refs[name] = ref
                    continue
            if field.kind == "attachment" and value is not None:
                places = [v.get("attachment") if isinstance(v, dict) else None
                          for v in (value if isinstance(value, list) else [value])]
                if None in places:
                    row.reject(f"fields.{name}: an attachment is named by its place in 'attachments'")
                    continue
                row.attachment_fields[name] = places if isinstance(value, list) else places[0]
                value = [PLACEHOLDER] * len(places) if isinstance(value, list) else PLACEHOLDER
            row.values[name] = value

    @staticmethod
    def _comment(item: dict[str, Any]) -> IncomingComment:
        values = {k: item.get(k) for k in COMMENT_COLUMNS}
        return IncomingComment(_time(values["created_at"]), str(values["body"]), bool(values["public"]),
                               str(values["direction"]), str(values["channel"]),
                               reference(item.get("author"), REJECT), values["body_html"], values["message_id"])

    @staticmethod
    def _event_value(event: dict[str, Any], key: str) -> Any:
        value = event.get(key)
        if event_reference(event.get("action"), event.get("field")) is not None and isinstance(value, dict):
            return reference(value, LEAVE_EMPTY) or value
        return value


def _time(value: Any) -> dt.datetime:
    found = time(value)
    if found is None:
        msg = "a time is missing"
        raise ValueError(msg)
    return found
