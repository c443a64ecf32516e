"""Which due clocks a sweep takes on PostgreSQL, where several workers sweep at once while tickets are written.

An escalation step may change its ticket (raise the priority, reassign, run a transition), and a ticket change
rewrites the ticket's clocks; a ticket write takes the ticket's row and then its clocks. A sweep that waited for
either lock while holding the other could close a cycle with such a write, and PostgreSQL would end one of the
two with a deadlock error (a worker that died of it in the scale-out test is how this was found). So the sweep
never waits: it takes a due clock only together with its ticket's row and every other clock of that ticket, all
with SKIP LOCKED, and leaves a ticket that anyone holds to a later round. Two sweeps never take the same clock,
and nothing can change a taken ticket under the sweep. The locks are NO KEY UPDATE, what an UPDATE of the rows
takes: a transaction that merely adds a row referring to the ticket (a comment, an audit event) goes on.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa


def claim_due(connection: sa.Connection, timers: sa.Table, tickets: sa.Table, now: dt.datetime,
              batch: int) -> tuple[int, list[sa.Row[Any]]]:
    """Lock up to ``batch`` due clocks with their tickets; (how many due clocks were free to look at, the ones
    taken: those whose ticket and sibling clocks could be locked as well)."""
    due = connection.execute(
        sa.select(timers).join(tickets, tickets.c.id == timers.c.ticket_id).where(timers.c.next_check_at <= now)
        .order_by(timers.c.next_check_at, timers.c.id).limit(batch)
        .with_for_update(of=[timers, tickets], skip_locked=True, key_share=True)).all()
    if not due:
        return 0, []
    ticket_ids = sorted({row.ticket_id for row in due})
    siblings = sa.select(timers.c.id, timers.c.ticket_id).where(timers.c.ticket_id.in_(ticket_ids))
    held = set(connection.execute(siblings.with_for_update(skip_locked=True, key_share=True)).scalars())
    # Read after locking: a clock committed meanwhile shows up here and, not being held, keeps its ticket out.
    whole = set(ticket_ids) - {row.ticket_id for row in connection.execute(siblings) if row.id not in held}
    return len(due), [row for row in due if row.ticket_id in whole]
