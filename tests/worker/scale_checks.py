"""What the scale-out test reads back from the database: the work still outstanding, and the traces that would
show an item handled twice or not at all."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from typing import Any

import sqlalchemy as sa

from runtime.intake.store import RECEIVED
from runtime.sla.timers import BREACH
from tests.tickets.service_fixtures import SeededDesk

# The writes that move a ticket's version on: every one goes through the ticket service's version check.
BUMPS = re.compile(r"^(update|transition:.+|first_response)$")


def rows(desk: SeededDesk, table: str, *where: Any) -> list[Any]:
    t = desk.compiled.table(table)
    with desk.engine.connect() as connection:
        return list(connection.execute(sa.select(t).where(*where).order_by(t.c[next(iter(t.primary_key)).name])))


def outstanding(desk: SeededDesk, closing: list[int]) -> dict[str, int]:
    """What the workers still have to do; empty once they have drained it all."""
    now = dt.datetime.now(dt.UTC)
    c = desk.compiled.table
    jobs, timers, messages, tickets = c("jobs"), c("sla_timers"), c("intake_messages"), c("tickets")
    counts = {
        "mail to process": sa.select(sa.func.count()).select_from(messages).where(messages.c.state == RECEIVED),
        "tickets to triage": sa.select(sa.func.count()).select_from(c("triage_jobs")),
        "jobs due or retrying": sa.select(sa.func.count()).select_from(jobs).where(jobs.c.done_at.is_(None)),
        "SLA clocks due": sa.select(sa.func.count()).select_from(timers).where(timers.c.next_check_at <= now),
        "resolved tickets to close": sa.select(sa.func.count()).select_from(tickets).where(
            tickets.c.id.in_(closing), tickets.c.status != "closed"),
    }
    with desk.engine.connect() as connection:
        found = {name: int(connection.execute(query).scalar_one()) for name, query in counts.items()}
    return {name: count for name, count in found.items() if count}


def make_overdue(desk: SeededDesk, ticket_ids: list[int]) -> dict[int, tuple[int, str]]:
    """Move the running clocks of ``ticket_ids`` three days into the past on the round-the-clock calendar, as if the
    tickets had waited that long: every breach and escalation step of theirs falls due at once. The clocks moved,
    as timer id → (ticket id, metric)."""
    timers = desk.compiled.table("sla_timers")
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
    moved: dict[int, tuple[int, str]] = {}
    with desk.engine.begin() as connection:
        # Locked as the ticket service locks them, so that a write on the ticket meanwhile waits for this one.
        running = connection.execute(sa.select(timers).where(timers.c.ticket_id.in_(ticket_ids),
                                                             timers.c.state == "running").with_for_update()).all()
        for row in running:
            connection.execute(sa.update(timers).where(timers.c.id == row.id).values(
                calendar="24x7", started_at=past, running_since=past, elapsed_seconds=0,
                due_at=past + dt.timedelta(seconds=row.target_seconds), next_check_at=past))
            moved[row.id] = (row.ticket_id, row.metric)
    return moved


def make_old(desk: SeededDesk, ticket_ids: list[int]) -> None:
    """Resolved four days ago, as far as the timed transitions can tell: past the three days of auto_close."""
    tickets = desk.compiled.table("tickets")
    with desk.engine.begin() as connection:
        connection.execute(sa.update(tickets).where(tickets.c.id.in_(ticket_ids)).values(
            status_changed_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=4)))


def expected_steps(desk: SeededDesk, metric: str) -> set[tuple[str, int]]:
    """Every once-only event of a long overdue clock of the standard policy: its breach and each of its steps."""
    policy = next(p for p in desk.compiled.definitions.policies if p.name == "standard")
    return {("breached", BREACH)} | {("escalation", i) for i, e in enumerate(policy.escalations) if e.metric == metric}


def fired(desk: SeededDesk) -> list[tuple[int, str, int]]:
    events = desk.compiled.table("sla_events")
    return [(r.timer_id, r.kind, r.escalation) for r in rows(desk, "sla_events",
                                                              events.c.kind.in_(("breached", "escalation")))]


def write_groups(desk: SeededDesk, ticket_id: int) -> list[tuple[Any, ...]]:
    """The audit trail of one ticket, a row per write (an audited write keeps a row per field it changed)."""
    events = desk.compiled.table("ticket_events")
    seen: dict[tuple[Any, ...], None] = {}
    for r in rows(desk, "ticket_events", events.c.ticket_id == ticket_id):
        seen.setdefault((r.at, r.actor, r.channel, r.action), None)
    return list(seen)


def titles_written(desk: SeededDesk, ticket_id: int) -> set[str]:
    events = desk.compiled.table("ticket_events")
    return {r.new_value for r in rows(desk, "ticket_events", events.c.ticket_id == ticket_id,
                                      events.c.field == "title")}


def numbers_by_prefix(desk: SeededDesk) -> dict[str, list[int]]:
    found: dict[str, list[int]] = defaultdict(list)
    for row in rows(desk, "tickets"):
        prefix, _, digits = row.number.rpartition("-")
        found[prefix].append(int(digits))
    return found


def counters(desk: SeededDesk) -> dict[str, int]:
    return {r.prefix: r.last_number for r in rows(desk, "ticket_counters")}


def repeated(values: list[Any]) -> list[Any]:
    return [value for value, count in Counter(values).items() if count > 1]
