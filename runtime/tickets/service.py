"""Create, update, transition and comment on tickets: one transaction each, audited, version-checked."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from pydantic import BaseModel

from runtime.ai.assignment import assigner_for
from runtime.ai.feedback import feedback_for
from runtime.ai.outbound import check_reply
from runtime.ai.triage_jobs import TriageQueue
from runtime.compile.desk import CompiledDesk
from runtime.db.engine import write_transaction, writer_gate
from runtime.db.group_commit import Alongside, group_commit
from runtime.kb.capture import KIND as CAPTURE
from runtime.notify.inbox import inbox_for
from runtime.notify.outbox import Outbox
from runtime.notify.replies import ReplyMail
from runtime.sla.timers import StartedClocks, clocks_for
from runtime.tickets import audit
from runtime.tickets.access import redact
from runtime.tickets.actors import SYSTEM, Actor
from runtime.tickets.driver_insert import RowDraft, RowInsert
from runtime.tickets.errors import Forbidden, InvalidTicket, StaleVersion, TicketNotFound, TransitionRefused
from runtime.tickets.numbers import TicketNumbers
from runtime.tickets.records import check_relations, load, split, validate

T = TypeVar("T")
REQUESTER_SETS = ("title", "description", "priority", "category", "tags", "language")


@dataclass(frozen=True)
class NewTicket:
    """A validated new ticket whose reads are done: what ``create_in`` inserts."""

    actor: Actor
    type_name: str
    number_prefix: str
    values: dict[str, Any]
    organization_id: int | None
    # The fields the creator (or an intake rule) set, as opposed to defaults: triage leaves these alone.
    given: frozenset[str] = frozenset()


@dataclass(frozen=True)
class _Draft:
    """A new ticket's rows converted ahead of its write (``TicketService._draft``), lacking what only the write
    knows: the ticket's key and number."""

    new: NewTicket
    channel: str
    now: dt.datetime
    master: dict[str, Any]
    own: dict[str, Any]
    ticket: RowDraft
    extension: RowDraft
    audit: list[dict[str, Any]]
    routed: list[dict[str, Any]] | None
    clocks: StartedClocks | None
    triage: RowDraft | None


@contextmanager
def _writing(engine: sa.Engine, replayable: bool) -> Iterator[sa.Connection]:
    with _integrity_as_invalid(), write_transaction(engine, replayable=replayable) as connection:
        yield connection


@contextmanager
def _integrity_as_invalid() -> Iterator[None]:
    """A value the database refuses (a duplicate in a unique field, say) is the caller's error, not a 500."""
    try:
        yield
    except sa.exc.IntegrityError as exc:
        reason = str(exc.orig).splitlines()[0] if exc.orig else "a constraint refused the change"
        raise InvalidTicket("the database refused the change", [{"field": "(ticket)", "reason": reason}]) from None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class TicketService:
    def __init__(self, compiled: CompiledDesk, engine: sa.Engine, *, capture: bool = True) -> None:
        """``capture=False``: resolving a ticket proposes no article, whatever the desk says (for seeding a history
        whose articles already exist)."""
        self.compiled = compiled
        self.engine = engine
        self.tickets = compiled.table("tickets")
        self.events = compiled.table("ticket_events")
        self.comments = compiled.table("comments")
        self._sla = clocks_for(compiled)
        self._assignment = assigner_for(compiled)
        self._triage = TriageQueue(compiled)
        self._feedback = feedback_for(compiled)
        self._capture = capture and compiled.definitions.project.kb.capture
        self._outbox = Outbox(compiled)
        self._reply_mail = ReplyMail(compiled)
        self._inbox = inbox_for(compiled)
        self._together = group_commit(engine)
        # On SQLite threads creating tickets validate and draft one at a time (the API's creates are drafted on the
        # event loop instead, one at a time too): the work is CPU (reads from the file take microseconds), threads
        # doing it side by side gain nothing under the GIL and take it in turns from the thread holding the write
        # lock. Measured (bench/api.py's creates, two processes): 860 -> 980-1,030
        # creates/s at c=64, 1.7 -> 1.5 ms of CPU per create. On PostgreSQL a draft waits for the server's answers
        # to its reads, which other threads' drafts should overlap.
        self._drafting: AbstractContextManager[Any] = (threading.Lock() if engine.dialect.name == "sqlite"
                                                       else nullcontext())
        # Built once and executed with parameters: building ``insert(...).values(**row)`` per call costs more
        # than running it.
        self._insert_ticket = RowInsert(self.tickets, "id")
        self._extension_inserts = {t.name: RowInsert(compiled.table(t.table_name)) for t in compiled.definitions.types}
        self._numbers = TicketNumbers(compiled.table("ticket_counters"))
        # Creates sharing a transaction write each table's rows in one statement: SQLite's (positional) driver takes
        # the rows of a multi-row INSERT as one flat list; psycopg runs an executemany in one round trip anyway.
        self._rows_at_once = engine.dialect.name == "sqlite"
        self.creates_on_loop = writer_gate(engine) is not None
        contacts = compiled.table("contacts")
        self._organization_of = sa.select(contacts.c.organization_id).where(contacts.c.id == sa.bindparam("contact"))

    def _type(self, type_name: str) -> str:
        if self.compiled.definitions.ticket_type(type_name) is None:
            msg = f"no ticket type '{type_name}'"
            raise TicketNotFound(msg)
        return type_name

    def create(self, actor: Actor, type_name: str, payload: dict[str, Any] | BaseModel,
               channel: str = "api", *, source_name: str | None = None,
               external_ref: str | None = None) -> dict[str, Any]:
        """``source_name`` and ``external_ref`` say where in the channel the ticket came from (intake sets them)."""
        with self._drafting:
            draft = self._drafted(actor, type_name, payload, channel, source_name=source_name,
                                  external_ref=external_ref)
        row = self.together(lambda connection: self._write_draft(connection, draft),
                            alongside=(self._write_drafts, draft) if self._rows_at_once else None)
        return redact(row, actor)

    async def create_async(self, actor: Actor, type_name: str, payload: dict[str, Any] | BaseModel,
                           channel: str = "api") -> dict[str, Any]:
        """``create`` for a coroutine on a SQLite file (``creates_on_loop``): validated and drafted right here on
        the event loop, written by the process's writer thread together with whatever else is queued."""
        draft = self._drafted(actor, type_name, payload, channel)
        with _integrity_as_invalid():
            row = await self._together.run_async(lambda connection: self._write_draft(connection, draft),
                                                 alongside=(self._write_drafts, draft))
        return redact(row, actor)

    def _drafted(self, actor: Actor, type_name: str, payload: dict[str, Any] | BaseModel, channel: str, *,
                 source_name: str | None = None, external_ref: str | None = None) -> _Draft:
        """A new ticket validated, its reads done and its rows drafted, on a reading connection of its own."""
        with self.engine.connect() as reading:
            new = self.prepare(actor, type_name, payload, reading=reading)
            return self._draft(reading, new, channel, source_name=source_name, external_ref=external_ref)

    def prepare(self, actor: Actor, type_name: str, payload: dict[str, Any] | BaseModel, *,
                reading: sa.Connection | None = None) -> NewTicket:
        """Validate a new ticket and do its reads, outside any write transaction: on SQLite that holds the one
        write lock, so every statement inside it limits how many tickets per second all processes can create.
        ``reading``: a connection to read with (else one of its own)."""
        ticket_type = self.compiled.definitions.ticket_type(self._type(type_name))
        assert ticket_type is not None
        values = validate(self.compiled.create_models[type_name], payload).model_dump()
        # What the creator set: a model's set fields (their values are in ``values``; no second dump), or the keys.
        given = {k: values[k] for k in payload.model_fields_set} if isinstance(payload, BaseModel) else payload
        if actor.kind == "contact":
            if any(name in given for name in ("requester_id", "assignee_id", "team_id")):
                msg = "requesters cannot choose the requester, assignee or team"
                raise Forbidden(msg)
            values["requester_id"] = actor.id
        elif not actor.is_agent:
            msg = "only agents and requesters create tickets"
            raise Forbidden(msg)
        with nullcontext(reading) if reading is not None else self.engine.connect() as connection:
            organization_id = check_relations(connection, self.compiled, type_name, values, organization=True)
        return NewTicket(actor, type_name, ticket_type.number_prefix, values, organization_id,
                         frozenset(k for k, v in given.items() if v not in (None, "", [])))

    def writing(self, *, replayable: bool = False) -> AbstractContextManager[sa.Connection]:
        """A write transaction in which a broken constraint is the caller's invalid ticket, not a server error;
        ``replayable`` as for ``write_transaction``."""
        return _writing(self.engine, replayable)

    def together(self, work: Callable[[sa.Connection], T], alongside: Alongside[T] | None = None) -> T:
        """``work(connection)`` in a write transaction that it may share with other threads' work, committed
        once for all of them (runtime/db/group_commit.py); as in ``writing``, a broken constraint is the caller's
        invalid ticket, and it fails this work alone. ``alongside``: how to do it together with like work in one
        go (see ``GroupCommit.run``)."""
        with _integrity_as_invalid():
            return self._together.run(work, alongside)

    def create_in(self, connection: sa.Connection, new: NewTicket, channel: str, *, source_name: str | None = None,
                  external_ref: str | None = None, team_id: int | None = None) -> dict[str, Any]:
        """Insert a prepared ticket in the caller's transaction (intake records its message in the same one, so a
        crash cannot leave a ticket whose message would make it again); returns the unredacted row.

        ``team_id`` routes it as the system's decision (a requester cannot choose a team), audited as such."""
        return self._write_draft(connection, self._draft(connection, new, channel, source_name=source_name,
                                                         external_ref=external_ref, team_id=team_id))

    def _draft(self, connection: sa.Connection, new: NewTicket, channel: str, *, source_name: str | None = None,
               external_ref: str | None = None, team_id: int | None = None) -> _Draft:
        """Everything a create writes that does not depend on what the write finds (the ticket's key and number,
        an automatic assignment), converted for the database ahead of the write: ``create`` does this before it
        takes SQLite's one write lock. The ticket is created at the time of its draft. ``connection`` only reads."""
        workflow = self.compiled.workflow_for(new.type_name)
        now = _now()
        master, own = split(self.compiled, new.type_name, new.values)
        master |= {
            "number": None,  # drawn in the write, where the counter's row is held
            "type": new.type_name, "status": workflow.initial, "status_category": workflow.categories[workflow.initial],
            "source": channel if channel in ("form", "email", "api", "webhook", "manual") else "api",
            "organization_id": new.organization_id,
            "created_at": now, "updated_at": now, "status_changed_at": now, "version": 1,
        }
        # Only intake knows these; left out otherwise, so that a ticket made by the API (or written by a test into
        # the schema of an older revision) names no column it does not need.
        if source_name:
            master["source_name"] = source_name[:200]
        if external_ref:
            master["external_ref"] = external_ref[:500]
        routed = {}
        if team_id is not None and team_id != master.get("team_id"):
            routed["team_id"] = (master.get("team_id"), team_id)
            master["team_id"] = team_id
        dialect = connection.dialect
        created = {k: (None, v) for k, v in new.values.items() if v not in (None, [], "")}
        ticket = {**master, **own}
        return _Draft(
            new, channel, now, master, own,
            self._insert_ticket.draft(dialect, {k: v for k, v in master.items() if k != "number"}, late=("number",)),
            self._extension_inserts[new.type_name].draft(dialect, own, late=("ticket_id",)),
            audit.draft(dialect, self.events, new.actor, channel, "create", created, now),
            audit.draft(dialect, self.events, SYSTEM, channel, "update", routed, now) if routed else None,
            self._sla.plan_created(connection, ticket, now), self._triage.draft(dialect, ticket, new.given, now))

    def _write_draft(self, connection: sa.Connection, draft: _Draft) -> dict[str, Any]:
        """Write a drafted ticket in the caller's transaction; returns the unredacted row."""
        new = draft.new
        number = self._numbers.next(connection, new.number_prefix)
        ticket_id = self._insert_ticket.execute_draft(connection, draft.ticket, {"number": number})
        self._extension_inserts[new.type_name].execute_draft(connection, draft.extension, {"ticket_id": ticket_id})
        audit.write(connection, self.events, draft.audit, ticket_id)
        if draft.routed is not None:
            audit.write(connection, self.events, draft.routed, ticket_id)
        ticket, clocks, triage = self._assign_new(connection, draft, ticket_id, number)
        self._sla.write_started(connection, clocks, ticket_id)
        self._triage.write(connection, triage, ticket_id)
        return ticket

    def _assign_new(self, connection: sa.Connection, draft: _Draft, ticket_id: int, number: str
                    ) -> tuple[dict[str, Any], StartedClocks | None, RowDraft | None]:
        """A written ticket's automatic assignment and its assignee's notification; the ticket's row, and its clocks
        and triage job as they are to be written."""
        new, now = draft.new, draft.now
        ticket = {"id": ticket_id, **draft.master, **draft.own}
        ticket["number"] = number
        automatic = self._assignment.ticket_created(connection, ticket, draft.channel, now)
        ticket |= automatic
        self._inbox.assigned(connection, ticket, None, SYSTEM if automatic else new.actor, now)
        if not automatic:
            return ticket, draft.clocks, draft.triage
        # Planned for the ticket as it was given: plan them for the ticket as assigned.
        return (ticket, self._sla.plan_created(connection, ticket, now),
                self._triage.draft(connection.dialect, ticket, new.given, now))

    def _write_drafts(self, connection: sa.Connection, drafts: list[_Draft]) -> list[dict[str, Any]]:
        """Write drafted tickets in the caller's transaction with a few statements for all of them; the same rows
        as ``_write_draft`` for each in turn, and their unredacted rows in the same order.

        Why: on SQLite these statements run while the one write lock is held, and each statement (each row of an
        executemany, too) lets go of the GIL and then waits to take it back behind the process's other threads, which
        are busy parsing and drafting the next requests. Fewer statements hold the lock for less time."""
        numbers: list[str] = [""] * len(drafts)
        by_prefix: dict[str, list[int]] = {}
        for index, draft in enumerate(drafts):
            by_prefix.setdefault(draft.new.number_prefix, []).append(index)
        for prefix, indexes in by_prefix.items():
            for index, number in zip(indexes, self._numbers.take(connection, prefix, len(indexes)), strict=True):
                numbers[index] = number
        ids = self._insert_ticket.execute_drafts(connection, [d.ticket for d in drafts],
                                                 [{"number": n} for n in numbers], match=("number",))
        by_type: dict[str, list[int]] = {}
        for index, draft in enumerate(drafts):
            by_type.setdefault(draft.new.type_name, []).append(index)
        for type_name, indexes in by_type.items():
            self._extension_inserts[type_name].execute_drafts(
                connection, [drafts[i].extension for i in indexes], [{"ticket_id": ids[i]} for i in indexes])
        events: list[dict[str, Any]] = []
        owners: list[int] = []
        for index, draft in enumerate(drafts):
            for drafted in (draft.audit, draft.routed or ()):
                events += drafted
                owners += [ids[index]] * len(drafted)
        audit.write_many(connection, self.events, events, owners)
        tickets, started, jobs = [], [], []
        for index, draft in enumerate(drafts):
            ticket, clocks, triage = self._assign_new(connection, draft, ids[index], numbers[index])
            started.append((clocks, ids[index]))
            jobs.append((triage, ids[index]))
            tickets.append(ticket)
        self._sla.write_started_many(connection, started)
        self._triage.write_many(connection, jobs)
        return tickets

    def _organization(self, connection: sa.Connection, requester_id: int | None) -> int | None:
        if requester_id is None:
            return None
        org: int | None = connection.execute(self._organization_of, {"contact": requester_id}).scalar()
        return org

    def get(self, actor: Actor, ticket_id: int) -> dict[str, Any]:
        with self.engine.connect() as connection:
            return redact(load(connection, self.compiled, actor, ticket_id), actor)

    def update(self, actor: Actor, ticket_id: int, payload: dict[str, Any] | BaseModel,
               channel: str = "api") -> dict[str, Any]:
        if actor.kind == "contact":
            msg = "requesters reply with comments; they cannot edit ticket fields"
            raise Forbidden(msg)
        with _integrity_as_invalid(), write_transaction(self.engine) as connection:
            return self.update_in(connection, actor, ticket_id, payload, channel)

    def update_in(self, connection: sa.Connection, actor: Actor, ticket_id: int,
                  payload: dict[str, Any] | BaseModel, channel: str) -> dict[str, Any]:
        """``update`` inside the caller's transaction (the SLA sweep changes tickets in its own)."""
        current = load(connection, self.compiled, actor, ticket_id)
        data = validate(self.compiled.update_models[current["type"]], payload)
        changes = data.model_dump(exclude_unset=True)
        version = changes.pop("version")
        self._keep_required(current["type"], changes)
        if "title" in changes and changes["title"] is None:
            raise InvalidTicket("title cannot be empty", [{"field": "title", "reason": "a ticket needs a title"}])
        return self._write(connection, actor, current, version, changes, channel, "update")

    def _keep_required(self, type_name: str, changes: dict[str, Any]) -> None:
        """A required field may change but not be emptied."""
        ticket_type = self.compiled.definitions.ticket_type(type_name)
        assert ticket_type is not None
        required = {f.name for f in (*self.compiled.definitions.master_fields, *ticket_type.fields) if f.required}
        errors = [{"field": name, "reason": "required: it cannot be emptied"}
                  for name, value in changes.items() if name in required and value in (None, "", [])]
        if errors:
            raise InvalidTicket("required fields cannot be emptied", errors)

    def _write(self, connection: sa.Connection, actor: Actor, current: dict[str, Any], version: int,
               changes: dict[str, Any], channel: str, action: str) -> dict[str, Any]:
        """Apply ``changes`` if ``version`` is still current; audit every field that really changed."""
        if version != current["version"]:
            msg = f"ticket {current['number']} is at version {current['version']}, not {version}: reload and retry"
            raise StaleVersion(msg)
        changed = {k: (current.get(k), v) for k, v in changes.items() if current.get(k) != v}
        check_relations(connection, self.compiled, current["type"], {k: new for k, (_, new) in changed.items()})
        master, own = split(self.compiled, current["type"], {k: new for k, (_, new) in changed.items()})
        now = _now()
        if "requester_id" in master:
            master["organization_id"] = self._organization(connection, master["requester_id"])
        result = connection.execute(
            sa.update(self.tickets).where(self.tickets.c.id == current["id"], self.tickets.c.version == version)
            .values(**master, version=version + 1, updated_at=now))
        if result.rowcount != 1:
            msg = f"ticket {current['number']} changed meanwhile: reload and retry"
            raise StaleVersion(msg)
        if own:
            extension = self.compiled.table(f"ticket_{current['type']}")
            connection.execute(sa.update(extension).where(extension.c.ticket_id == current["id"]).values(**own))
        audit.record(connection, self.events, current["id"], actor, channel, action, changed, now)
        if "assignee_id" in changed:
            self._assignment.assignee_changed(connection, current["id"], actor)
        self._feedback.fields_changed(connection, current["id"], changed, actor, now)
        after = {**current, **master, **own, "version": version + 1, "updated_at": now}
        if "assignee_id" in changed:
            self._inbox.assigned(connection, after, changed["assignee_id"][0], actor, now)
        self._sla.ticket_changed(connection, current, after, now)
        return redact(after, actor)

    def transition(self, actor: Actor, ticket_id: int, name: str, version: int,
                   fields: dict[str, Any] | None = None, channel: str = "api") -> dict[str, Any]:
        with _integrity_as_invalid(), write_transaction(self.engine) as connection:
            return self.transition_in(connection, actor, ticket_id, name, version, fields, channel)

    def transition_in(self, connection: sa.Connection, actor: Actor, ticket_id: int, name: str, version: int,
                      fields: dict[str, Any] | None, channel: str) -> dict[str, Any]:
        """``transition`` inside the caller's transaction."""
        current = load(connection, self.compiled, actor, ticket_id)
        workflow = self.compiled.workflow_for(current["type"])
        transition = workflow.transitions.get(name)
        if transition is None:
            msg = f"workflow has no transition '{name}'; it has {', '.join(workflow.transitions)}"
            raise TransitionRefused(msg)
        changes: dict[str, Any] = {}
        if fields:
            if actor.kind == "contact":
                msg = "requesters cannot change fields"
                raise Forbidden(msg)
            data = validate(self.compiled.update_models[current["type"]], {**fields, "version": version})
            changes = {k: v for k, v in data.model_dump(exclude_unset=True).items() if k != "version"}
            self._keep_required(current["type"], changes)
        changes |= dict(transition.updates)
        reasons = [] if current["status"] in transition.sources else [
            f"it does not leave state '{current['status']}'"]
        reasons += transition.blockers({**current, **changes}, actor.roles)
        if reasons:
            msg = f"cannot {name} ticket {current['number']}: {'; '.join(reasons)}"
            raise TransitionRefused(msg)
        target = workflow.move(current["status"], name)
        category = workflow.categories[target]
        changes |= {"status": target, "status_category": category, **self._stamps(current, category)}
        if target != current["status"]:
            changes["status_changed_at"] = _now()
        after = self._write(connection, actor, current, version, changes, channel, f"transition:{name}")
        if category == "resolved" and current["status_category"] != "resolved" and self._capture:
            # What solved it may help the next requester: the worker proposes a draft article from it.
            self._outbox.queue(connection, CAPTURE, {"ticket_id": current["id"]}, _now())
        return after

    @staticmethod
    def _stamps(current: dict[str, Any], category: str) -> dict[str, Any]:
        """Timestamps follow the status category: set on first arrival, cleared on reopening."""
        now = _now()
        if category == "resolved":
            return {"resolved_at": current["resolved_at"] or now, "closed_at": None}
        if category == "closed":
            return {"closed_at": now, "resolved_at": current["resolved_at"] or now}
        return {"resolved_at": None, "closed_at": None}

    def available_transitions(self, actor: Actor, ticket_id: int) -> list[dict[str, Any]]:
        ticket = self.get(actor, ticket_id)
        workflow = self.compiled.workflow_for(ticket["type"])
        return [{"name": t.name, "to": t.target, "label": dict(t.label)}
                for t in workflow.allowed(ticket["status"], ticket, actor.roles)]

    def comment(self, actor: Actor, ticket_id: int, body: str, *, public: bool = True,
                channel: str = "api", suggestion_id: int | None = None) -> dict[str, Any]:
        """An agent's public reply passes the outbound check first: a secret in it refuses it (422), a hostile
        tone comes back as ``warnings``. ``suggestion_id``: the reply suggestion it was written from."""
        if not body.strip():
            raise InvalidTicket("empty comment", [{"field": "body", "reason": "write something"}])
        if actor.kind == "contact" and not public:
            msg = "requesters cannot write internal notes"
            raise Forbidden(msg)
        warnings: list[dict[str, Any]] = []
        if public and actor.kind == "agent":
            check = check_reply(body)
            if check.blocked:
                raise InvalidTicket("the reply contains a secret and was not sent", [
                    {"field": "body", "reason": f"{f.message} at characters {f.start}-{f.end} ({f.excerpt})"}
                    for f in check.findings])
            warnings = check.as_json()["warnings"]
        with write_transaction(self.engine) as connection:
            row = self.comment_in(connection, actor, ticket_id, body, public=public, channel=channel)
            if suggestion_id is not None:
                self._feedback.reply_sent(connection, actor, ticket_id, suggestion_id, body, row["created_at"])
        return row | {"warnings": warnings} if warnings else row

    def comment_in(self, connection: sa.Connection, actor: Actor, ticket_id: int, body: str, *, public: bool,
                   channel: str, message_id: str | None = None, body_html: str | None = None) -> dict[str, Any]:
        """``comment`` in the caller's transaction; ``message_id`` and ``body_html`` come with inbound mail."""
        now = _now()
        current = load(connection, self.compiled, actor, ticket_id)
        row = {"ticket_id": ticket_id, "public": public, "channel": channel, "body": body, "created_at": now,
               "direction": "inbound" if actor.kind == "contact" else "outbound",
               "author_agent_id": actor.id if actor.kind == "agent" else None,
               "author_contact_id": actor.id if actor.kind == "contact" else None, "body_html": body_html}
        # An agent's public reply is mailed to the requester with this change; the Message-ID on the comment
        # threads their answer back here.
        row["message_id"] = message_id or self._reply_mail.queue(connection, current, actor, body, public=public,
                                                                 now=now)
        comment_id = connection.execute(sa.insert(self.comments).values(**row).returning(self.comments.c.id)
                                        ).scalar_one()
        audit.record(connection, self.events, ticket_id, actor, channel, "public_reply" if public else "note",
                     {}, now)
        self._inbox.commented(connection, current, actor, body, public=public, now=now)
        self._sla.commented(connection, current, public=public, by_agent=actor.kind == "agent", at=now)
        if public and actor.kind == "contact":
            current = self._on_requester_reply(connection, current, channel)
        if public and actor.kind == "agent" and current["first_response_at"] is None:
            connection.execute(sa.update(self.tickets).where(self.tickets.c.id == ticket_id)
                               .values(first_response_at=now, version=self.tickets.c.version + 1,
                                       updated_at=now))
            audit.record(connection, self.events, ticket_id, actor, channel, "first_response",
                         {"first_response_at": (None, now)}, now)
        return {"id": comment_id, **row}

    def _on_requester_reply(self, connection: sa.Connection, current: dict[str, Any], channel: str
                            ) -> dict[str, Any]:
        """Run the transition the workflow declares ``on: [requester_reply]`` from the ticket's state (a reply to a
        resolved ticket reopens it, one to a ticket waiting for the requester resumes it), as the system."""
        transition = self.compiled.workflow_for(current["type"]).on_event("requester_reply", current["status"])
        if transition is None or transition.blockers(current, SYSTEM.roles):
            return current
        return self.transition_in(connection, SYSTEM, int(current["id"]), transition.name, int(current["version"]),
                                  None, channel)

    def list_comments(self, actor: Actor, ticket_id: int) -> list[dict[str, Any]]:
        with self.engine.connect() as connection:
            load(connection, self.compiled, actor, ticket_id)
            query = sa.select(self.comments).where(self.comments.c.ticket_id == ticket_id)
            if actor.kind == "contact":
                query = query.where(self.comments.c.public.is_(True))
            return [dict(r._mapping) for r in connection.execute(query.order_by(self.comments.c.id))]

    def sla_clocks(self, actor: Actor, ticket_id: int) -> list[dict[str, Any]]:
        if actor.kind == "contact":
            msg = "SLA clocks are for agents"
            raise Forbidden(msg)
        with self.engine.connect() as connection:
            load(connection, self.compiled, actor, ticket_id)
            return self._sla.view(connection, ticket_id, _now())

    def list_events(self, actor: Actor, ticket_id: int) -> list[dict[str, Any]]:
        if actor.kind == "contact":
            msg = "the audit trail is for agents"
            raise Forbidden(msg)
        with self.engine.connect() as connection:
            load(connection, self.compiled, actor, ticket_id)
            query = sa.select(self.events).where(self.events.c.ticket_id == ticket_id).order_by(self.events.c.id)
            return [dict(r._mapping) for r in connection.execute(query)]
