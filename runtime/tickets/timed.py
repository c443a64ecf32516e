"""Timed transitions declared in YAML (``after: 3d``), run by the worker as the system.

A ticket qualifies once it has been in a source state for ``after``; ``unless: [requester_reply]``
skips tickets whose requester wrote since they entered that state. Several workers may sweep at
once: the version check lets exactly one of them move each ticket.
"""

from __future__ import annotations

import datetime as dt
import logging

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.tickets.actors import SYSTEM
from runtime.tickets.errors import StaleVersion, TransitionRefused
from runtime.tickets.service import TicketService

log = logging.getLogger("tessera.timed")
BATCH = 500


def run_timed_transitions(compiled: CompiledDesk, engine: sa.Engine, now: dt.datetime | None = None) -> int:
    """Apply every timed transition that is due; return how many tickets moved."""
    now = now or dt.datetime.now(dt.UTC)
    tickets, comments = compiled.table("tickets"), compiled.table("comments")
    service = TicketService(compiled, engine)
    moved = 0
    for workflow_name, workflow in compiled.workflows.items():
        types = [t.name for t in compiled.definitions.types if t.workflow == workflow_name]
        for transition in workflow.transitions.values():
            if transition.after is None or not types:
                continue
            # Tickets from before status_changed_at existed count from their last update.
            entered = sa.func.coalesce(tickets.c.status_changed_at, tickets.c.updated_at)
            query = sa.select(tickets.c.id, tickets.c.version).where(
                tickets.c.type.in_(types), tickets.c.status.in_(sorted(transition.sources)),
                entered <= now - dt.timedelta(seconds=transition.after))
            if "requester_reply" in transition.unless:
                replied = sa.exists().where(comments.c.ticket_id == tickets.c.id,
                                            comments.c.direction == "inbound",
                                            comments.c.created_at >= entered)
                query = query.where(~replied)
            with engine.connect() as connection:
                due = connection.execute(query.order_by(entered).limit(BATCH)).all()
            for ticket_id, version in due:
                try:
                    service.transition(SYSTEM, ticket_id, transition.name, version, channel="worker")
                    moved += 1
                except (StaleVersion, TransitionRefused) as exc:
                    # Another worker got there first, or the ticket changed meanwhile: nothing to do.
                    log.info("timed %s skipped ticket %s: %s", transition.name, ticket_id, exc.detail)
    return moved
