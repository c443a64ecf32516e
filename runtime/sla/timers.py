"""SLA clocks in the database, driven by what happens to tickets: created, changed, commented on.

The ticket service calls these hooks inside its own write transaction, so a ticket and its clocks never
disagree. Every change of a clock's state is also an ``sla_events`` row, the ledger that metrics and replay read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from runtime.compile.desk import CompiledDesk
from runtime.config import ir
from runtime.sla import clock as clocks
from runtime.sla.clock import Clock
from runtime.sla.policies import Facts, PolicyBook
from runtime.tickets.driver_insert import DriverInsert, RowDraft, RowInsert

RESPONSE_METRICS = ("first_response", "next_response")
BREACH = -1  # the escalation number of a breach event, so that the unique key makes it once-only too
DONE = ("resolved", "closed")


@dataclass(frozen=True)
class StartedClocks:
    """Clocks about to start, converted for the database: their rows (without the ticket's key) and ledger events
    (without their clock's key; ``owners`` says which clock of ``timers`` each event belongs to)."""

    timers: list[RowDraft]
    events: list[dict[str, Any]]
    owners: list[int]


class SlaClocks:
    """The clocks of one compiled desk; one instance per process is enough."""

    def __init__(self, compiled: CompiledDesk) -> None:
        self.compiled = compiled
        self.book = PolicyBook(compiled.definitions)
        self.timers = compiled.table("sla_timers")
        self.events = compiled.table("sla_events")
        organizations = compiled.table("organizations")
        self._organization_name = sa.select(organizations.c.name).where(organizations.c.id == sa.bindparam("org"))
        self._needs_organization = any(p.organizations for p in self.book.policies)
        # Changing any of these may change which policy applies, or its target.
        self._selection_fields = {"type", "priority", "category", "organization_id"} | {
            name for p in self.book.policies for name, _ in p.field_matches}
        # Built once: these run inside the ticket's write transaction, which on SQLite holds the one write lock.
        self._insert = RowInsert(self.timers, "id")
        self._insert_event = DriverInsert(self.events, ("timer_id", "kind", "escalation", "at", "detail"))
        self._update = sa.update(self.timers).where(self.timers.c.id == sa.bindparam("the_timer"))
        self._note = sa.update(self.events).where(
            self.events.c.timer_id == sa.bindparam("the_timer"), self.events.c.kind == "escalation",
            self.events.c.escalation == sa.bindparam("the_step"))
        self._of_ticket = sa.select(self.timers).where(self.timers.c.ticket_id == sa.bindparam("ticket"))
        tickets = compiled.table("tickets")
        # What an UPDATE of the row takes (NO KEY UPDATE): rows merely referring to the ticket are not held up.
        self._hold_ticket = sa.select(tickets.c.id).where(tickets.c.id == sa.bindparam("ticket")).with_for_update(
            key_share=True)
        # Breaches and escalation steps go in once per clock and step (the unique key), a whole batch in one
        # statement that says which (clock, step) pairs were new.
        self._once_many = {
            name: dialect.insert(self.events).on_conflict_do_nothing().returning(
                self.events.c.timer_id, self.events.c.escalation, sort_by_parameter_order=True)
            for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))}

    # --- hooks called by the ticket service -------------------------------------------------------------

    def ticket_created(self, connection: sa.Connection, ticket: Mapping[str, Any], at: dt.datetime) -> None:
        self.write_started(connection, self.plan_created(connection, ticket, at), ticket["id"])

    def plan_created(self, connection: sa.Connection, ticket: Mapping[str, Any], at: dt.datetime
                     ) -> StartedClocks | None:
        """The clocks ``ticket_created`` starts, as rows converted ahead: the ticket need not be written yet (the
        ticket service plans them before it takes SQLite's write lock). ``connection`` only reads."""
        if ticket["status_category"] in DONE:  # imported history: nothing left to promise
            return None
        policy = self.book.select(self._facts(connection, ticket))
        if policy is None:
            return None
        paused = self.book.pauses(policy, ticket["status"], ticket["status_category"])
        metrics = ["resolution"] if ticket.get("first_response_at") is not None else ["first_response", "resolution"]
        return self._plan_start(connection.dialect, ticket, policy, metrics, at, paused=paused)

    def write_started(self, connection: sa.Connection, started: StartedClocks | None, ticket_id: int) -> None:
        """Insert planned clocks and their ledger events for the ticket ``ticket_id``."""
        if started is None:
            return
        # One insert per clock (two at most): SQLAlchemy's many-row insert that returns the keys in order costs
        # more than both.
        ids = [self._insert.execute_draft(connection, row, {"ticket_id": ticket_id}) for row in started.timers]
        self._insert_event.execute_draft(connection, started.events, [{"timer_id": ids[i]} for i in started.owners])

    def write_started_many(self, connection: sa.Connection, started: list[tuple[StartedClocks | None, int]]) -> None:
        """``write_started`` for several tickets (each planned clocks with its ticket's key), each table's rows in
        multi-row statements."""
        timers: list[RowDraft] = []
        late: list[dict[str, Any]] = []
        owners: list[int] = []
        events: list[dict[str, Any]] = []
        for planned, ticket_id in started:
            if planned is None:
                continue
            first = len(timers)
            timers += planned.timers
            late += [{"ticket_id": ticket_id}] * len(planned.timers)
            events += planned.events
            owners += [first + i for i in planned.owners]
        if not timers:
            return
        # A ticket starts one clock per metric: the ticket and the metric tell the returned keys apart.
        ids = self._insert.execute_drafts(connection, timers, late, match=("ticket_id", "metric"))
        self._insert_event.execute_draft(connection, events, [{"timer_id": ids[i]} for i in owners])

    def ticket_changed(self, connection: sa.Connection, before: Mapping[str, Any], after: Mapping[str, Any],
                       at: dt.datetime) -> None:
        reselect = any(before.get(name) != after.get(name) for name in self._selection_fields)
        moved = (before["status"], before["status_category"]) != (after["status"], after["status_category"])
        if not reselect and not moved:
            return
        stored = self._load(connection, after["id"])
        policy = self.book.select(self._facts(connection, after))
        if reselect:
            self._retarget(connection, after, stored, policy, at)
        if moved:
            self._follow_status(connection, before, after, stored, policy, at)

    def ticket_merged(self, connection: sa.Connection, ticket_id: int, into_number: str, at: dt.datetime) -> None:
        """A duplicate's promises were not kept or missed: they are the original's now."""
        for timer_id, clock in self._load(connection, ticket_id):
            if clock.live:
                clocks.cancel(clock, at)
                self._save(connection, timer_id, clock, "cancelled", at, {"reason": f"merged into {into_number}"})

    def commented(self, connection: sa.Connection, ticket: Mapping[str, Any], *, public: bool, by_agent: bool,
                  at: dt.datetime) -> None:
        if not public:
            return
        if connection.dialect.name == "postgresql":
            # The ticket's row before its clocks, the order a ticket write takes them in. A reply that locked the
            # clocks first and then wrote the row (first_response_at, a transition on the requester's reply)
            # deadlocked with a concurrent write of the ticket: half of 60 such pairs in a trial.
            connection.execute(self._hold_ticket, {"ticket": ticket["id"]})
        stored = self._load(connection, ticket["id"])
        if by_agent:
            for timer_id, clock in stored:
                if clock.metric in RESPONSE_METRICS and clock.live:
                    clocks.stop(clock, at)
                    self._save(connection, timer_id, clock, "met", at)
            return
        # A requester's reply awaits an answer once an agent has answered before; the first answer has its own
        # clock already.
        waiting = any(c.metric in RESPONSE_METRICS and c.live for _, c in stored)
        if waiting or ticket.get("first_response_at") is None or ticket["status_category"] in DONE:
            return
        policy = self.book.select(self._facts(connection, ticket))
        if policy is not None:
            paused = self.book.pauses(policy, ticket["status"], ticket["status_category"])
            self._start(connection, ticket, policy, ["next_response"], at, paused=paused)

    # --- reading ----------------------------------------------------------------------------------------

    def view(self, connection: sa.Connection, ticket_id: int, now: dt.datetime) -> list[dict[str, Any]]:
        """Every clock of a ticket, as the API shows it: target, due, elapsed and remaining business time."""
        rows = connection.execute(sa.select(self.timers).where(self.timers.c.ticket_id == ticket_id)
                                  .order_by(self.timers.c.id)).all()
        return [self.describe(row.id, self.clock_of(row), now) for row in rows]

    def describe(self, timer_id: int, clock: Clock, now: dt.datetime) -> dict[str, Any]:
        elapsed = clock.elapsed_at(now) if clock.state == clocks.RUNNING else clock.elapsed
        return {"id": timer_id, "metric": clock.metric, "policy": clock.policy, "calendar": clock.calendar.name,
                "state": clock.outcome(), "paused": clock.state == clocks.PAUSED,
                # Running but outside its calendar's hours (at night, say), a clock loses no business time: a page
                # counting it down must stand still until the calendar opens.
                "counting": clock.state == clocks.RUNNING and clock.calendar.is_open(now),
                "target_seconds": clock.target, "elapsed_seconds": elapsed,
                "remaining_seconds": clock.target - elapsed, "started_at": clock.started_at,
                "due_at": clock.due_at, "breached_at": clock.breached_at, "stopped_at": clock.stopped_at,
                "pauses": clock.pauses}

    def clock_of(self, row: Any) -> Clock:
        calendar = self.book.calendars.get(row.calendar or "") or self.book.calendars["24x7"]
        return Clock(metric=row.metric, policy=row.policy, calendar=calendar, target=row.target_seconds or 0,
                     started_at=row.started_at, state=row.state, elapsed=row.elapsed_seconds,
                     running_since=row.running_since, due_at=row.due_at, breached_at=row.breached_at,
                     stopped_at=row.stopped_at, pauses=list(row.pauses or []), fired=list(row.fired or []))

    def escalations(self, policy_name: str) -> tuple[ir.Escalation, ...]:
        policy = self.book.by_name.get(policy_name)
        return policy.escalations if policy is not None else ()

    # --- writing ----------------------------------------------------------------------------------------

    def record(self, connection: sa.Connection, timer_id: int, kind: str, at: dt.datetime,
               detail: dict[str, Any] | None = None) -> None:
        """Add a ledger event (breaches and escalations go through ``record_many``, once-only)."""
        self._insert_event.execute(connection, {"escalation": None, "at": at},
                                   [{"timer_id": timer_id, "kind": kind, "detail": detail}])

    def record_many(self, connection: sa.Connection, rows: list[dict[str, Any]]) -> set[tuple[int, int]]:
        """Add once-only events (breaches, escalations) in one statement; the (clock, step) pairs that were new."""
        if not rows:
            return set()
        inserted = connection.execute(self._once_many[connection.dialect.name], rows)
        return {(r.timer_id, r.escalation) for r in inserted}

    def store_many(self, connection: sa.Connection, clocks_and_checks: list[tuple[int, Clock, dt.datetime | None]]
                   ) -> None:
        if clocks_and_checks:
            connection.execute(self._update, [{"the_timer": timer_id, **self._columns(clock), "next_check_at": check}
                                              for timer_id, clock, check in clocks_and_checks])

    def note_many(self, connection: sa.Connection, notes: list[tuple[int, int, dict[str, Any]]]) -> None:
        if notes:
            connection.execute(self._note, [{"the_timer": t, "the_step": i, "detail": d} for t, i, d in notes])

    def store(self, connection: sa.Connection, timer_id: int, clock: Clock, next_check: dt.datetime | None
              ) -> None:
        connection.execute(self._update, {"the_timer": timer_id, **self._columns(clock), "next_check_at": next_check})

    def _start(self, connection: sa.Connection, ticket: Mapping[str, Any], policy: ir.Policy,
               metrics: list[str], at: dt.datetime, *, paused: bool) -> None:
        """Start a clock for each metric the policy sets a target for."""
        self.write_started(connection, self._plan_start(connection.dialect, ticket, policy, metrics, at,
                                                        paused=paused), ticket["id"])

    def _plan_start(self, dialect: sa.Dialect, ticket: Mapping[str, Any], policy: ir.Policy, metrics: list[str],
                    at: dt.datetime, *, paused: bool) -> StartedClocks | None:
        started = []
        for metric in metrics:
            goal = self.book.goal(policy, ticket.get("priority"), metric)
            if goal is None:
                continue
            clock = clocks.start(metric, policy.name, goal.calendar, goal.seconds, at)
            if paused:
                clocks.pause(clock, at, ticket["status"])
            started.append((clock, goal))
        if not started:
            return None
        timers = [self._insert.draft(dialect, {**self._columns(clock),
                                               "next_check_at": clocks.next_check(clock, policy.escalations)},
                                     late=("ticket_id",)) for clock, _ in started]
        events = [{"kind": "started", "detail": {"target_seconds": goal.seconds, "calendar": goal.calendar.name}}
                  for _, goal in started]
        owners = list(range(len(started)))
        if paused:
            events += [{"kind": "paused", "detail": {"status": ticket["status"]}} for _ in started]
            owners += owners
        return StartedClocks(timers, self._insert_event.draft(dialect, {"escalation": None, "at": at}, events),
                             owners)

    def _retarget(self, connection: sa.Connection, ticket: Mapping[str, Any], stored: list[tuple[int, Clock]],
                  policy: ir.Policy | None, at: dt.datetime) -> None:
        for timer_id, clock in stored:
            if not clock.live:
                continue
            goal = self.book.goal(policy, ticket.get("priority"), clock.metric) if policy is not None else None
            if goal is None:
                clocks.cancel(clock, at)
                self._save(connection, timer_id, clock, "cancelled", at, {"reason": "no target applies any more"})
                continue
            if (goal.policy, goal.seconds, goal.calendar.name) == (clock.policy, clock.target, clock.calendar.name):
                continue
            old = {"policy": clock.policy, "target_seconds": clock.target, "calendar": clock.calendar.name}
            clocks.retarget(clock, goal.policy, goal.calendar, goal.seconds, at)
            self._save(connection, timer_id, clock, "retargeted", at,
                       {"from": old, "to": {"policy": goal.policy, "target_seconds": goal.seconds,
                                            "calendar": goal.calendar.name}})
        if policy is not None and ticket["status_category"] not in DONE:
            have = {clock.metric for _, clock in stored if clock.live or clock.state == clocks.STOPPED}
            paused = self.book.pauses(policy, ticket["status"], ticket["status_category"])
            missing = [m for m in ("first_response", "resolution") if m not in have
                       and not (m == "first_response" and ticket.get("first_response_at"))]
            if missing:
                self._start(connection, ticket, policy, missing, at, paused=paused)

    def _follow_status(self, connection: sa.Connection, before: Mapping[str, Any], after: Mapping[str, Any],
                       stored: list[tuple[int, Clock]], policy: ir.Policy | None, at: dt.datetime) -> None:
        was_done, done = before["status_category"] in DONE, after["status_category"] in DONE
        paused = policy is not None and self.book.pauses(policy, after["status"], after["status_category"])
        latest = max((timer_id for timer_id, clock in stored if clock.metric == "resolution"), default=None)
        for timer_id, clock in stored:
            if done and not was_done:
                if clock.metric == "resolution" and clock.live:
                    clocks.stop(clock, at)
                    self._save(connection, timer_id, clock, "met", at, {"status": after["status"]})
                elif clock.live:
                    clocks.cancel(clock, at)
                    self._save(connection, timer_id, clock, "cancelled", at, {"status": after["status"]})
            elif was_done and not done:
                if clock.metric == "resolution" and clock.state == clocks.STOPPED and timer_id == latest:
                    if policy is not None and policy.on_reopen == "restart":
                        # The kept promise stays on record; a new clock makes the new one.
                        self._start(connection, after, policy, ["resolution"], at, paused=paused)
                        continue
                    clocks.reopen(clock, at)
                    if paused:
                        clocks.pause(clock, at, after["status"])
                    self._save(connection, timer_id, clock, "reopened", at, {"status": after["status"]})
            elif paused and clock.state == clocks.RUNNING:
                clocks.pause(clock, at, after["status"])
                self._save(connection, timer_id, clock, "paused", at, {"status": after["status"]})
            elif not paused and clock.state == clocks.PAUSED:
                clocks.resume(clock, at)
                self._save(connection, timer_id, clock, "resumed", at, {"status": after["status"]})

    def _save(self, connection: sa.Connection, timer_id: int, clock: Clock, kind: str, at: dt.datetime,
              detail: dict[str, Any] | None = None) -> None:
        self.store(connection, timer_id, clock, clocks.next_check(clock, self.escalations(clock.policy)))
        self.record(connection, timer_id, kind, at, detail)

    def _load(self, connection: sa.Connection, ticket_id: int) -> list[tuple[int, Clock]]:
        # On PostgreSQL the rows are locked, so that the sweep (which skips locked clocks) and a ticket change
        # never both rewrite the same clock.
        query = self._of_ticket.with_for_update() if connection.dialect.name == "postgresql" else self._of_ticket
        return [(row.id, self.clock_of(row)) for row in connection.execute(query, {"ticket": ticket_id})]

    def _facts(self, connection: sa.Connection, ticket: Mapping[str, Any]) -> Facts:
        organization = None
        if self._needs_organization and ticket.get("organization_id") is not None:
            organization = connection.execute(self._organization_name, {"org": ticket["organization_id"]}).scalar()
        return Facts(ticket, organization, ticket["created_at"])

    @staticmethod
    def _columns(clock: Clock) -> dict[str, Any]:
        return {"metric": clock.metric, "policy": clock.policy, "calendar": clock.calendar.name,
                "state": clock.state, "target_seconds": clock.target, "elapsed_seconds": clock.elapsed,
                "started_at": clock.started_at, "running_since": clock.running_since, "due_at": clock.due_at,
                "breached_at": clock.breached_at, "stopped_at": clock.stopped_at, "pauses": clock.pauses,
                "fired": clock.fired}



def clocks_for(compiled: CompiledDesk) -> SlaClocks:
    """The desk's clocks, built once: the calendars inside cache their years of holidays."""
    return compiled.memo("sla_clocks", lambda: SlaClocks(compiled))
