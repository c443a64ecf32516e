"""The SLA sweep: find the clocks whose breach or escalation has come, record it once, and act on it.

Each clock names the moment it next needs attention (``next_check_at``, indexed), so finding the due ones costs
the same whatever the number of open tickets. Everything a sweep does for one batch happens in one transaction:
the breach or escalation event, the ticket changes it orders, the in-app notices and the queued emails and
webhooks commit together or not at all, and the unique key on (clock, kind, escalation) makes a second
worker's attempt at the same step a no-op. After downtime the next sweep finds every clock whose moment has
passed and fires each step once, dated when it fell due.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.db.engine import write_transaction
from runtime.sla import clock as clocks
from runtime.sla.escalate import Escalator, Step
from runtime.sla.sweep_claims import claim_due
from runtime.sla.timers import BREACH, clocks_for

log = logging.getLogger("tessera.sla")
BATCH = 500  # clocks per transaction: a backlog after downtime goes in few round trips


@dataclass
class SweepResult:
    clocks: int = 0
    breaches: int = 0
    escalations: int = 0


def sweep(compiled: CompiledDesk, engine: sa.Engine, now: dt.datetime | None = None, batch: int = BATCH,
          max_batches: int | None = None) -> SweepResult:
    """Handle every clock due by ``now`` (default: the current time), ``batch`` clocks per transaction."""
    now = now or dt.datetime.now(dt.UTC)
    sla = clocks_for(compiled)
    escalator = Escalator(compiled, engine)
    timers = sla.timers
    tickets = compiled.table("tickets")
    due = (sa.select(timers).where(timers.c.next_check_at <= now)
           .order_by(timers.c.next_check_at, timers.c.id).limit(batch))
    result = SweepResult()
    rounds = 0
    while max_batches is None or rounds < max_batches:
        rounds += 1
        with write_transaction(engine) as connection:
            # On PostgreSQL what another worker or a ticket write holds is left for later rather than waited for
            # (see sweep_claims); SQLite has one writer anyway.
            if connection.dialect.name == "postgresql":
                looked_at, rows = claim_due(connection, timers, tickets, now, batch)
            else:
                rows = list(connection.execute(due))
                looked_at = len(rows)
            events: list[dict[str, Any]] = []
            stored: list[tuple[int, clocks.Clock, dt.datetime | None]] = []
            steps: dict[tuple[int, int], Step] = {}
            noticed = now.isoformat()
            for row in rows:
                clock = sla.clock_of(row)
                escalations = sla.escalations(row.policy)
                if clocks.breach_due(clock, now):
                    clocks.mark_breached(clock)
                    events.append({"timer_id": row.id, "kind": "breached", "escalation": BREACH,
                                   "at": clock.breached_at,
                                   "detail": {"noticed_at": noticed, "target_seconds": clock.target}})
                for index in clocks.due_escalations(clock, escalations, now):
                    clock.fired.append(index)
                    events.append({"timer_id": row.id, "kind": "escalation", "escalation": index, "detail": None,
                                   "at": _reached(clock, clocks.threshold(escalations[index], clock.target))})
                    steps[(row.id, index)] = Step(row.id, index, row.ticket_id, clock, escalations[index])
                stored.append((row.id, clock, clocks.next_check(clock, escalations)))
            # The unique key decides what is new: another worker may have recorded a step a moment ago.
            fresh = sla.record_many(connection, events)
            result.breaches += sum(1 for _, index in fresh if index == BREACH)
            # Stored before acting: a step that changes the ticket re-targets its clock from the database,
            # and must find it as the sweep left it.
            sla.store_many(connection, stored)
            acting = [step for key, step in steps.items() if key in fresh]
            if acting:
                done = escalator.fire_many(connection, acting, now)
                sla.note_many(connection, [(t, i, {"noticed_at": noticed, **d}) for (t, i), d in done.items()])
                result.escalations += len(acting)
            result.clocks += len(rows)
        # A full batch that was all held elsewhere ends the sweep too: the next one comes within a poll.
        if looked_at < batch or not rows:
            break
    if result.breaches or result.escalations:
        log.info("SLA sweep: %s clocks, %s breaches, %s escalations", result.clocks, result.breaches,
                 result.escalations)
    return result


def _reached(clock: clocks.Clock, seconds: int) -> dt.datetime:
    """When the clock reached ``seconds`` of business time (for the record: when the step fell due)."""
    assert clock.running_since is not None
    remaining = seconds - clock.elapsed
    return clock.running_since if remaining <= 0 else clock.calendar.add(clock.running_since, remaining)
