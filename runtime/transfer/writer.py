"""Writing a batch of checked tickets in the caller's transaction: one multi-row insert per table (tickets, each
type's extension rows, audit events, comments, attachments' rows, SLA clocks and their ledger), with ids taken up
front so that the rows that point at each other can be written together. On SQLite the full-text index follows
through its triggers, on PostgreSQL through its expression index; nothing goes through the ORM or per-row
statements."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.sla.history import imported_history
from runtime.sla.imported import ImportedClocks
from runtime.sla.policies import PolicyBook
from runtime.tickets.records import split
from runtime.transfer.bulk_insert import BulkInsert
from runtime.transfer.incoming import AGENT, CONTACT, Incoming, Ref

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
    def __init__(self, compiled: CompiledDesk) -> None:
        self.compiled = compiled
        t = compiled.table
        self.tickets, self.comments, self.attachments = t("tickets"), t("comments"), t("attachments")
        self.timers, self.events, self.ledger = t("sla_timers"), t("ticket_events"), t("sla_events")
        self._inserts: dict[tuple[str, str], BulkInsert] = {}
        self._clocks = ImportedClocks(compiled, PolicyBook(compiled.definitions))
        # Only policies that select by organization need the requester's organization's name.
        self.needs_organization = any(p.organizations for p in compiled.definitions.policies)
        # Master fields holding one attachment point at attachments, which point at the ticket: set afterwards.
        self._master_attachments = [f.name for f in compiled.definitions.master_fields
                                    if f.kind == "attachment" and not f.multiple]

    def _rows(self, connection: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
        """Insert ``rows``; the tables whose ids the database gives (audit and SLA events) get none from us."""
        if not rows:
            return
        key = (table.name, connection.dialect.name)
        insert = self._inserts.get(key)
        if insert is None:
            generated = table in (self.events, self.ledger)
            columns = [c.name for c in table.columns if not (generated and c.primary_key)]
            insert = self._inserts[key] = BulkInsert(table, columns, connection.dialect)
        insert.execute(connection, rows)

    def write(self, connection: sa.Connection, rows: list[Incoming], numbers: list[str], now: dt.datetime
              ) -> list[int]:
        """Insert ``rows`` with ``numbers``; return their new ticket ids."""
        ids = reserve_ids(connection, self.tickets, len(rows))
        comment_ids = iter(reserve_ids(connection, self.comments, sum(len(r.comments) for r in rows)))
        attachment_ids = iter(reserve_ids(connection, self.attachments, sum(len(r.attachments) for r in rows)))
        masters, comments, attachments, later = [], [], [], []
        extensions: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row, ticket_id, number in zip(rows, ids, numbers, strict=True):
            placed = [next(comment_ids) for _ in row.comments]
            stored = [next(attachment_ids) for _ in row.attachments]
            for name, place in row.attachment_fields.items():
                row.values[name] = [stored[p] for p in place] if isinstance(place, list) else stored[place]
            master, own = split(self.compiled, row.type_name, row.values)
            master |= row.master | {"id": ticket_id, "number": number, "type": row.type_name}
            deferred = {name: master.pop(name) for name in self._master_attachments if master.get(name) is not None}
            if deferred:
                later.append({"the_ticket": ticket_id, **deferred})
            masters.append(master)
            extensions[row.type_name].append({"ticket_id": ticket_id, **own})
            comments += [_comment(c, comment_id, ticket_id) for c, comment_id in zip(row.comments, placed,
                                                                                     strict=True)]
            attachments += [{"id": attachment_id, "ticket_id": ticket_id, "sha256": a.sha256, "filename": a.filename,
                             "content_type": a.content_type, "size": a.size, "created_at": a.created_at,
                             "comment_id": placed[a.comment] if a.comment is not None and 0 <= a.comment < len(placed)
                             else None} for a, attachment_id in zip(row.attachments, stored, strict=True)]
        self._rows(connection, self.tickets, masters)
        self._rows(connection, self.attachments, attachments)
        for name in self._master_attachments:
            changes = [{"the_ticket": c["the_ticket"], name: c[name]} for c in later if name in c]
            if changes:
                connection.execute(sa.update(self.tickets).where(self.tickets.c.id == sa.bindparam("the_ticket")),
                                   changes)
        for type_name, own_rows in extensions.items():
            self._rows(connection, self.compiled.table(f"ticket_{type_name}"), own_rows)
        self._rows(connection, self.comments, comments)
        self._rows(connection, self.events, [e for row, master in zip(rows, masters, strict=True)
                                             for e in self._events(row, master, now)])
        self._sla(connection, rows, ids)
        self._rows(connection, self.compiled.table("ticket_ratings"), [
            {**row.rating, "ticket_id": ticket_id, "contact_id": _value(row.rating["contact"])}
            for row, ticket_id in zip(rows, ids, strict=True) if row.rating is not None])
        return ids

    @staticmethod
    def _events(row: Incoming, master: dict[str, Any], now: dt.datetime) -> list[dict[str, Any]]:
        if row.events is not None:  # an export's own trail, as it was
            return [{**e, "ticket_id": master["id"], "old_value": _value(e["old_value"]),
                     "new_value": _value(e["new_value"])} for e in row.events]
        recorded = dict(row.imported_from)
        if row.number and row.number != master["number"]:
            recorded["number"] = row.number  # the other desk's number, where this desk gave another
        return [{"ticket_id": master["id"], "at": now, "actor": IMPORT_ACTOR, "channel": IMPORT_CHANNEL,
                 "action": IMPORTED, "field": None, "old_value": None, "new_value": recorded}]

    def play_clocks(self, row: Incoming, organization: str | None, now: dt.datetime) -> None:
        """A mapped row's SLA clocks from its timestamps, made while the batch before is being written (they need
        nothing of the database). Clocks from another desk's timestamps get no ledger: runtime/sla/imported.py."""
        ticket = {**row.master, **row.values, "type": row.type_name}
        row.clocks = [{**played.row(), "events": []}
                      for played in self._clocks.play(imported_history(self.compiled, ticket), organization, now)]

    def _sla(self, connection: sa.Connection, rows: list[Incoming], ids: list[int]) -> None:
        timers = [{**clock, "ticket_id": ticket_id} for row, ticket_id in zip(rows, ids, strict=True)
                  for clock in row.clocks or ()]
        timer_ids = reserve_ids(connection, self.timers, len(timers))
        for timer_id, timer in zip(timer_ids, timers, strict=True):
            timer["id"] = timer_id
        self._rows(connection, self.timers, timers)
        self._rows(connection, self.ledger, [{**e, "timer_id": timer["id"]} for timer in timers
                                             for e in timer["events"]])


def _comment(comment: Any, comment_id: int, ticket_id: int) -> dict[str, Any]:
    author = comment.author
    return {"id": comment_id, "ticket_id": ticket_id, "public": comment.public, "direction": comment.direction,
            "channel": comment.channel, "body": comment.body, "body_html": comment.body_html,
            "message_id": comment.message_id, "created_at": comment.created_at,
            "author_agent_id": author.id if author is not None and author.table == AGENT else None,
            "author_contact_id": author.id if author is not None and author.table == CONTACT else None}


def _value(value: Any) -> Any:
    return value.value() if isinstance(value, Ref) else value
