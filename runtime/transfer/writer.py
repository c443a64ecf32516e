"""Writing a batch of checked tickets: one multi-row insert per table (tickets, each type's extension rows, audit
events, comments, attachments' rows, SLA clocks and their ledger), with ids taken up front so that the rows that
point at each other can be written together. On SQLite the full-text index follows through its triggers, on
PostgreSQL through its expression index; nothing goes through the ORM or per-row statements.

The work is split in two: ``prepare`` does what needs no database and no transaction (the row's columns converted
for the driver, in the order of their statement, and its SLA clocks) while the batch is checked, and ``write``, in
the batch's write transaction, puts in the ids, numbers and new people's ids by place, and inserts.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.sla.history import imported_history
from runtime.sla.imported import ImportedClocks
from runtime.sla.policies import PolicyBook
from runtime.tickets.records import split
from runtime.transfer.bulk_insert import BulkInsert
from runtime.transfer.incoming import AGENT, CONTACT, Incoming, IncomingComment, Ready, Ref

IMPORT_ACTOR, IMPORT_CHANNEL, IMPORTED = "system:import", "import", "imported"


def reserve_ids(connection: sa.Connection, table: sa.Table, count: int) -> list[int]:
    """``count`` ids for rows of ``table`` that this transaction will insert with their ids given."""
    if count == 0:
        return []
    if connection.dialect.name == "postgresql":
        sequence = connection.execute(sa.text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name}
                                      ).scalar_one()
        return list(connection.execute(sa.text("SELECT nextval(:s) FROM generate_series(1, :n)"),
                                       {"s": sequence, "n": count}).scalars())
    # SQLite: the write transaction holds the database's one write lock, so nobody else takes these meanwhile.
    last = connection.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar_one()
    return list(range(last + 1, last + 1 + count))


class BatchWriter:
    def __init__(self, compiled: CompiledDesk, dialect: sa.Dialect) -> None:
        self.compiled = compiled
        t = compiled.table
        self.tickets, self.comments, self.attachments = t("tickets"), t("comments"), t("attachments")
        self.timers, self.events, self.ledger = t("sla_timers"), t("ticket_events"), t("sla_events")
        self.inserts = {table.name: BulkInsert(table, [c.name for c in table.columns if not (
            table.name in ("ticket_events", "sla_events") and c.primary_key)], dialect)
            for table in compiled.metadata.sorted_tables
            if table.name in ("tickets", "comments", "attachments", "sla_timers", "ticket_events", "sla_events",
                              "ticket_ratings") or table.info.get("role") == "extension"}
        self._clocks = ImportedClocks(compiled, PolicyBook(compiled.definitions))
        master_columns = set(self.tickets.c.keys())
        self._shared_names = {t.name: master_columns & set(compiled.table(f"ticket_{t.name}").c.keys())
                              for t in compiled.definitions.types}
        # Only policies that select by organization need the requester's organization's name.
        self.needs_organization = any(p.organizations for p in compiled.definitions.policies)
        # Master fields holding one attachment point at attachments, which point at the ticket: set afterwards.
        self._master_attachments = [f.name for f in compiled.definitions.master_fields
                                    if f.kind == "attachment" and not f.multiple]

    def prepare(self, row: Incoming, organization: str | None, now: dt.datetime) -> None:
        """A validated row's inserts, converted; a mapped row's SLA clocks played from its timestamps (without a
        ledger: runtime/sla/imported.py says why)."""
        # Each table's reader takes its own columns from the whole ticket: no need to split it first, unless a
        # builder's type has a field named as a master column, which split() gives to the extension row alone.
        if self._shared_names[row.type_name]:
            master, own = split(self.compiled, row.type_name, row.values)
            master |= row.master
            master["type"] = row.type_name
            ticket = master | own
        else:
            ticket = master = own = row.values | row.master
            ticket["type"] = row.type_name
        if row.clocks is None:
            row.clocks = [played.row() for played in self._clocks.play(
                imported_history(self.compiled, ticket), organization, now)]
        timers, ledger, comments = self.inserts["sla_timers"], self.inserts["sla_events"], self.inserts["comments"]
        row.ready = Ready(
            self.inserts["tickets"].values(master), self.inserts[f"ticket_{row.type_name}"].values(own),
            [comments.values(_comment(c)) for c in row.comments],
            [(timers.values(clock), [ledger.values(e) for e in clock.get("events", ())]) for clock in row.clocks])

    def write(self, connection: sa.Connection, rows: list[Incoming], numbers: list[str], now: dt.datetime
              ) -> list[int]:
        """Insert prepared ``rows`` with ``numbers``; return their new ticket ids."""
        ids = reserve_ids(connection, self.tickets, len(rows))
        comment_ids = iter(reserve_ids(connection, self.comments, sum(len(r.comments) for r in rows)))
        attachment_ids = iter(reserve_ids(connection, self.attachments, sum(len(r.attachments) for r in rows)))
        timer_ids = iter(reserve_ids(connection, self.timers, sum(len(r.clocks or ()) for r in rows)))
        masters: list[list[Any]] = []
        comments: list[list[Any]] = []
        timers: list[list[Any]] = []
        ledger: list[list[Any]] = []
        attachments: list[dict[str, Any]] = []
        later: list[dict[str, Any]] = []
        extensions: dict[str, list[list[Any]]] = defaultdict(list)
        at = self.inserts["tickets"].index
        ticket_id_at, number_at, organization_at = at["id"], at["number"], at["organization_id"]
        at_comment = self.inserts["comments"].index
        comment_slots = (at_comment["id"], at_comment["ticket_id"], at_comment["author_agent_id"],
                         at_comment["author_contact_id"])
        at_timer = self.inserts["sla_timers"].index
        timer_id_at, timer_ticket_at = at_timer["id"], at_timer["ticket_id"]
        ledger_timer_at = self.inserts["sla_events"].index["timer_id"]
        for row, ticket_id, number in zip(rows, ids, numbers, strict=True):
            ready = row.ready
            assert ready is not None
            ticket, own = ready.ticket, ready.own
            own_at = self.inserts[f"ticket_{row.type_name}"].index
            ticket[ticket_id_at], ticket[number_at] = ticket_id, number
            ticket[organization_at] = row.master.get("organization_id")
            own[own_at["ticket_id"]] = ticket_id
            for slot, ref in row.refs.items():  # people created in this transaction have their ids only now
                place = own_at.get(slot)
                if place is not None:
                    own[place] = None if ref.absent else ref.id
                else:
                    ticket[at[slot]] = None if ref.absent else ref.id
            placed = [next(comment_ids) for _ in row.comments]
            stored = [next(attachment_ids) for _ in row.attachments]
            self._attachment_fields(row, stored)
            deferred = {}
            for name in self._master_attachments:
                if ticket[at[name]] is not None:
                    deferred[name], ticket[at[name]] = ticket[at[name]], None
            if deferred:
                later.append({"the_ticket": ticket_id, **deferred})
            masters.append(ticket)
            extensions[row.type_name].append(own)
            for values, comment, comment_id in zip(ready.comments, row.comments, placed, strict=True):
                author = comment.author
                values[comment_slots[0]], values[comment_slots[1]] = comment_id, ticket_id
                values[comment_slots[2]] = author.id if author is not None and author.table == AGENT else None
                values[comment_slots[3]] = author.id if author is not None and author.table == CONTACT else None
                comments.append(values)
            attachments += [{"id": attachment_id, "ticket_id": ticket_id, "sha256": a.sha256, "filename": a.filename,
                             "content_type": a.content_type, "size": a.size, "created_at": a.created_at,
                             "comment_id": placed[a.comment] if a.comment is not None and 0 <= a.comment < len(placed)
                             else None} for a, attachment_id in zip(row.attachments, stored, strict=True)]
            for timer, entries in ready.clocks:
                timer_id = next(timer_ids)
                timer[timer_id_at], timer[timer_ticket_at] = timer_id, ticket_id
                timers.append(timer)
                for entry in entries:
                    entry[ledger_timer_at] = timer_id
                    ledger.append(entry)
        self.inserts["tickets"].execute_values(connection, masters)
        self.inserts["attachments"].execute(connection, attachments)
        for name in self._master_attachments:
            changes = [{"the_ticket": c["the_ticket"], name: c[name]} for c in later if name in c]
            if changes:
                connection.execute(sa.update(self.tickets).where(self.tickets.c.id == sa.bindparam("the_ticket")),
                                   changes)
        for type_name, own_rows in extensions.items():
            self.inserts[f"ticket_{type_name}"].execute_values(connection, own_rows)
        self.inserts["comments"].execute_values(connection, comments)
        self.inserts["ticket_events"].execute(connection, [
            e for row, ticket_id, number in zip(rows, ids, numbers, strict=True)
            for e in self._events(row, ticket_id, number, now)])
        self.inserts["sla_timers"].execute_values(connection, timers)
        self.inserts["sla_events"].execute_values(connection, ledger)
        self.inserts["ticket_ratings"].execute(connection, [
            {**row.rating, "ticket_id": ticket_id, "contact_id": _value(row.rating["contact"])}
            for row, ticket_id in zip(rows, ids, strict=True) if row.rating is not None])
        return ids

    def _attachment_fields(self, row: Incoming, stored: list[int]) -> None:
        """An export's attachment fields name their files by place; the rows' ids are known now."""
        ready = row.ready
        assert ready is not None
        for name, place in row.attachment_fields.items():
            value = [stored[p] for p in place] if isinstance(place, list) else stored[place]
            own = self.inserts[f"ticket_{row.type_name}"]
            target, insert = (ready.own, own) if name in own.index else (ready.ticket, self.inserts["tickets"])
            target[insert.index[name]] = insert.convert_value(name, value)

    @staticmethod
    def _events(row: Incoming, ticket_id: int, number: str, now: dt.datetime) -> list[dict[str, Any]]:
        if row.events is not None:  # an export's own trail, as it was
            return [{**e, "ticket_id": ticket_id, "old_value": _value(e["old_value"]),
                     "new_value": _value(e["new_value"])} for e in row.events]
        recorded = dict(row.imported_from)
        if row.number and row.number != number:
            recorded["number"] = row.number  # the other desk's number, where this desk gave another
        return [{"ticket_id": ticket_id, "at": now, "actor": IMPORT_ACTOR, "channel": IMPORT_CHANNEL,
                 "action": IMPORTED, "field": None, "old_value": None, "new_value": recorded}]


def _comment(comment: IncomingComment) -> dict[str, Any]:
    return {"public": comment.public, "direction": comment.direction, "channel": comment.channel,
            "body": comment.body, "body_html": comment.body_html, "message_id": comment.message_id,
            "created_at": comment.created_at}


def _value(value: Any) -> Any:
    return value.value() if isinstance(value, Ref) else value
