"""``cli.py export``: every ticket (or one type's, or those created since a date) as one JSON line, read in batches
by id so that memory stays the same however large the desk is. The line's shape is runtime/transfer/export_format.py.

Attachments are described (hash, name, type, size), not copied: their files stay in the desk's attachment folder,
which is copied with the database.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.transfer.export_format import (
    COMMENT_COLUMNS,
    EVENT_COLUMNS,
    FORMAT,
    PEOPLE_TARGETS,
    PLAIN,
    REFERENCES,
    SLA_EVENT_COLUMNS,
    TIMER_COLUMNS,
    dumps,
    event_reference,
)

BATCH = 500  # tickets per round of queries


class Exporter:
    def __init__(self, compiled: CompiledDesk, connection: sa.Connection, *, type_name: str | None = None,
                 since: dt.datetime | None = None, batch: int = BATCH) -> None:
        self.compiled, self.connection, self.batch = compiled, connection, batch
        self.type_name, self.since = type_name, since
        self.t = {name: compiled.table(name) for name in (
            "tickets", "comments", "attachments", "ticket_events", "sla_timers", "sla_events", "ticket_links",
            "ticket_ratings", "contacts", "agents", "teams", "organizations")}
        # Agents, teams and organizations are few; contacts and tickets are looked up per batch.
        self.names: dict[str, dict[int, Any]] = {
            "agent": dict(connection.execute(sa.select(self.t["agents"].c.id, self.t["agents"].c.username)).all()),
            "team": dict(connection.execute(sa.select(self.t["teams"].c.id, self.t["teams"].c.name)).all()),
            "organization": dict(connection.execute(
                sa.select(self.t["organizations"].c.id, self.t["organizations"].c.name)).all()),
        }
        desk = compiled.definitions
        master = {f.name: f for f in desk.master_fields}
        self.fields: dict[str, dict[str, Any]] = {t.name: {**master, **{f.name: f for f in t.fields}}
                                                  for t in desk.types}

    def count(self) -> int:
        return int(self.connection.execute(sa.select(sa.func.count()).select_from(
            self._tickets().subquery())).scalar_one())

    def _tickets(self) -> sa.Select[Any]:
        tickets = self.t["tickets"]
        query = sa.select(tickets)
        if self.type_name is not None:
            query = query.where(tickets.c.type == self.type_name)
        if self.since is not None:
            query = query.where(tickets.c.created_at >= self.since)
        return query

    def lines(self) -> Iterator[str]:
        tickets = self.t["tickets"]
        last = 0
        while True:
            rows = [dict(r._mapping) for r in self.connection.execute(
                self._tickets().where(tickets.c.id > last).order_by(tickets.c.id).limit(self.batch))]
            if not rows:
                return
            last = rows[-1]["id"]
            yield from self._batch(rows)

    def _by_ticket(self, table: str, ids: list[int], key: str = "ticket_id") -> dict[int, list[dict[str, Any]]]:
        t = self.t[table]
        grouped: dict[int, list[dict[str, Any]]] = defaultdict(list)
        order = t.c.id if "id" in t.c else t.c[key]  # ratings have no id of their own: one per ticket
        for row in self.connection.execute(sa.select(t).where(t.c[key].in_(ids)).order_by(order)):
            grouped[row._mapping[key]].append(dict(row._mapping))
        return grouped

    def _batch(self, rows: list[dict[str, Any]]) -> Iterator[str]:
        ids = [row["id"] for row in rows]
        extension: dict[int, dict[str, Any]] = {}
        for type_name in {row["type"] for row in rows}:
            table = self.compiled.metadata.tables.get(f"ticket_{type_name}")
            if table is not None:
                for own in self.connection.execute(sa.select(table).where(table.c.ticket_id.in_(ids))):
                    extension[own.ticket_id] = {k: v for k, v in own._mapping.items() if k != "ticket_id"}
        comments = self._by_ticket("comments", ids)
        attachments = self._by_ticket("attachments", ids)
        events = self._by_ticket("ticket_events", ids)
        timers = self._by_ticket("sla_timers", ids)
        ledger = self._by_ticket("sla_events", [t["id"] for ts in timers.values() for t in ts], "timer_id")
        links = self._by_ticket("ticket_links", ids)
        ratings = {r["ticket_id"]: r for rs in self._by_ticket("ticket_ratings", ids).values() for r in rs}
        self._contacts = self._look_up_contacts(rows, extension, comments, events, ratings)
        self._numbers = self._look_up_numbers(rows, links, events)
        for row in rows:
            ticket_id = row["id"]
            yield dumps(self._line(row, extension.get(ticket_id, {}), comments.get(ticket_id, []),
                                   attachments.get(ticket_id, []), events.get(ticket_id, []),
                                   timers.get(ticket_id, []), ledger, links.get(ticket_id, []),
                                   ratings.get(ticket_id)))

    def _look_up_contacts(self, rows: list[dict[str, Any]], extension: dict[int, dict[str, Any]],
                          comments: dict[int, list[dict[str, Any]]], events: dict[int, list[dict[str, Any]]],
                          ratings: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
        wanted = {row["requester_id"] for row in rows}
        wanted |= {c["author_contact_id"] for cs in comments.values() for c in cs}
        wanted |= {r["contact_id"] for r in ratings.values()}
        wanted |= {v for es in events.values() for e in es if event_reference(e["action"], e["field"]) == "contact"
                   for v in (e["old_value"], e["new_value"]) if isinstance(v, int)}
        wanted |= {extension.get(row["id"], row).get(name, row.get(name)) for row in rows
                   for name, f in self.fields.get(row["type"], {}).items()
                   if f.kind == "relation" and f.to == "contact"}
        wanted.discard(None)
        contacts = self.t["contacts"]
        found = {}
        for start in range(0, len(wanted), 500):
            chunk = sorted(wanted)[start:start + 500]
            for row in self.connection.execute(sa.select(contacts.c.id, contacts.c.email, contacts.c.name,
                                                         contacts.c.organization_id)
                                               .where(contacts.c.id.in_(chunk))):
                found[row.id] = {"contact": row.email, "name": row.name,
                                 "organization": self.names["organization"].get(row.organization_id)}
        return found

    def _look_up_numbers(self, rows: list[dict[str, Any]], links: dict[int, list[dict[str, Any]]],
                         events: dict[int, list[dict[str, Any]]]) -> dict[int, str]:
        wanted = {row["duplicate_of_id"] for row in rows} | {link["other_id"] for ls in links.values() for link in ls}
        wanted |= {v for es in events.values() for e in es if event_reference(e["action"], e["field"]) == "ticket"
                   for v in (e["old_value"], e["new_value"]) if isinstance(v, int)}
        wanted.discard(None)
        tickets = self.t["tickets"]
        found: dict[int, str] = {}
        ordered = sorted(wanted)
        for start in range(0, len(ordered), 500):
            query = sa.select(tickets.c.id, tickets.c.number).where(tickets.c.id.in_(ordered[start:start + 500]))
            found |= {row.id: row.number for row in self.connection.execute(query)}
        return found

    def reference(self, kind: str, row_id: Any, *, full: bool = False) -> Any:
        """How the line names the row ``row_id`` of ``kind``; the id itself when it names nothing (any more)."""
        if row_id is None or not isinstance(row_id, int):
            return row_id
        if kind == "contact":
            contact = self._contacts.get(row_id)
            if contact is None:
                return row_id
            return contact if full else {"contact": contact["contact"]}
        if kind == "ticket":
            number = self._numbers.get(row_id)
            return row_id if number is None else {"ticket": number}
        name = self.names[kind].get(row_id)
        return row_id if name is None else {kind: name}

    def _line(self, row: dict[str, Any], own: dict[str, Any], comments: list[dict[str, Any]],
              attachments: list[dict[str, Any]], events: list[dict[str, Any]], timers: list[dict[str, Any]],
              ledger: dict[int, list[dict[str, Any]]], links: list[dict[str, Any]], rating: dict[str, Any] | None
              ) -> dict[str, Any]:
        line: dict[str, Any] = {"format": FORMAT, **{name: row[name] for name in PLAIN}}
        for column, kind in REFERENCES.items():
            line[column.removesuffix("_id")] = self.reference(kind, row[column], full=column == "requester_id")
        comment_index = {c["id"]: i for i, c in enumerate(comments)}
        attachment_index = {a["id"]: i for i, a in enumerate(attachments)}
        fields = {}
        for name, field in self.fields.get(row["type"], {}).items():
            value = own[name] if name in own else row.get(name)
            if field.kind == "relation" and field.to in PEOPLE_TARGETS:
                value = self.reference(PEOPLE_TARGETS[field.to], value)
            elif field.kind == "attachment":
                value = _attachment_refs(value, attachment_index)
            fields[name] = value
        line["fields"] = fields
        line["comments"] = [{**{k: c[k] for k in COMMENT_COLUMNS}, "author": (
            self.reference("agent", c["author_agent_id"]) if c["author_agent_id"] is not None
            else self.reference("contact", c["author_contact_id"], full=True))} for c in comments]
        line["attachments"] = [{"sha256": a["sha256"], "filename": a["filename"], "content_type": a["content_type"],
                                "size": a["size"], "created_at": a["created_at"],
                                "comment": comment_index.get(a["comment_id"], a["comment_id"])}
                               for a in attachments]
        line["events"] = [self._event(e) for e in events]
        line["sla"] = [{**{k: t[k] for k in TIMER_COLUMNS},
                        "events": [{k: e[k] for k in SLA_EVENT_COLUMNS} for e in ledger.get(t["id"], [])]}
                       for t in timers]
        line["links"] = [{"relation": link["relation"], "ticket": self.reference("ticket", link["other_id"]),
                          "created_at": link["created_at"], "score": link["score"]} for link in links]
        line["rating"] = None if rating is None else {
            "contact": self.reference("contact", rating["contact_id"], full=True), "score": rating["score"],
            "comment": rating["comment"], "rated_at": rating["rated_at"]}
        return line

    def _event(self, event: dict[str, Any]) -> dict[str, Any]:
        found = {k: event[k] for k in EVENT_COLUMNS}
        kind = event_reference(event["action"], event["field"])
        if kind is not None:
            found["old_value"] = self.reference(kind, event["old_value"])
            found["new_value"] = self.reference(kind, event["new_value"])
        return found


def _attachment_refs(value: Any, index: dict[int, int]) -> Any:
    def one(attachment_id: Any) -> Any:
        return {"attachment": index[attachment_id]} if attachment_id in index else attachment_id

    if isinstance(value, list):
        return [one(v) for v in value]
    return one(value)


def export(compiled: CompiledDesk, connection: sa.Connection, out: Any, *, type_name: str | None = None,
           since: dt.datetime | None = None, progress: Any = None) -> int:
    """Write the export to the text stream ``out``; return how many tickets it holds."""
    exporter = Exporter(compiled, connection, type_name=type_name, since=since)
    total = exporter.count() if progress is not None else 0
    written = 0
    for text in exporter.lines():
        out.write(text)
        out.write("\n")
        written += 1
        if progress is not None:
            progress(written, total)
    return written
