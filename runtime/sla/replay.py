"""Replay: every ticket's history played again through the SLA clocks under two sets of policies, the desk's
own and candidate ones, so that a policy change is judged on real tickets before it ships.

The clocks are the production ones (``SlaClocks``), fed the historical instants, each set of policies in its own
scratch SQLite database in memory; the desk's database is only read. Both runs end at the same ``now``, and
their outcomes are compared per policy and metric (as ``metrics.tallies`` counts them) and per ticket.

What a replay cannot know: escalations fire in the sweep, and the changes they made (a raised priority, say)
are in the history as they happened under the policies of the time, so they are replayed as they were.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.sla.history import MERGED, REPLIED, History, apply, count_tickets, histories
from runtime.sla.metrics import Tally, tallies
from runtime.sla.timers import SlaClocks

CHANGES_KEPT = 1_000  # changed outcomes listed; beyond that only counted

Progress = Callable[[int, int], None]  # (tickets replayed, tickets in all)


@dataclass(frozen=True)
class OutcomeChange:
    """A ticket whose clocks of one metric end differently under the candidate policies."""

    ticket_id: int
    number: str
    metric: str
    current: tuple[str, ...]  # the outcome of each of its clocks of that metric, oldest first
    candidate: tuple[str, ...]


@dataclass
class Comparison:
    tickets: int
    current: dict[tuple[str, str], Tally]  # (policy, metric) → figures
    candidate: dict[tuple[str, str], Tally]
    changes: list[OutcomeChange] = field(default_factory=list)
    changed: int = 0  # every changed (ticket, metric), of which ``changes`` lists the first CHANGES_KEPT


class ScratchClocks:
    """One desk's SLA clocks on an in-memory database holding only what the hooks read and write."""

    def __init__(self, compiled: CompiledDesk, organizations: list[dict[str, Any]]) -> None:
        self.compiled = compiled
        self.clocks = SlaClocks(compiled)
        self.engine = sa.create_engine("sqlite://")
        self.connection = self.engine.connect()
        self.connection.begin()  # never committed: the database lives as long as this connection
        tables = [compiled.table(name) for name in ("organizations", "sla_timers", "sla_events")]
        compiled.metadata.create_all(self.connection, tables=tables)
        if organizations:
            self.connection.execute(sa.insert(compiled.table("organizations")), organizations)

    def play(self, history: History) -> None:
        ticket = history.ticket
        connection, clocks = self.connection, self.clocks
        clocks.ticket_created(connection, ticket, ticket["created_at"])
        for step in history.steps:
            if step.kind == REPLIED:
                clocks.commented(connection, ticket, public=True, by_agent=step.by_agent, at=step.at)
                continue
            after = apply(self.compiled, ticket, step)
            if step.kind == MERGED:
                clocks.ticket_merged(connection, ticket["id"], str(step.changes.get("duplicate_of_id")), step.at)
            else:
                clocks.ticket_changed(connection, ticket, after, step.at)
            ticket = after

    def outcomes(self, ticket_id: int, now: dt.datetime) -> dict[str, tuple[str, ...]]:
        """The outcome of each clock of the ticket by metric; a live clock past its target reads ``overdue``."""
        timers = self.clocks.timers
        found: dict[str, tuple[str, ...]] = {}
        for row in self.connection.execute(sa.select(timers).where(timers.c.ticket_id == ticket_id)
                                           .order_by(timers.c.id)):
            clock = self.clocks.clock_of(row)
            outcome = clock.outcome()
            if clock.live and outcome != "breached" and clock.elapsed_at(now) >= clock.target:
                outcome = "overdue"
            found[clock.metric] = (*found.get(clock.metric, ()), outcome)
        return found

    def tallies(self, now: dt.datetime) -> dict[tuple[str, str], Tally]:
        timers = self.clocks.timers
        found = tallies(self.connection, timers, timers, [timers.c.policy], [], now)
        return {(group[0], metric): tally for group, metrics in found.items() for metric, tally in metrics.items()}

    def close(self) -> None:
        self.connection.close()
        self.engine.dispose()


def replay(connection: sa.Connection, current: CompiledDesk, candidate: CompiledDesk, since: dt.datetime | None,
           now: dt.datetime, progress: Progress | None = None) -> Comparison:
    """Replay the tickets created since ``since`` (all without it) from ``connection``'s database under the
    policies of ``current`` and of ``candidate`` (the same desk but for its SLA files), as of ``now``."""
    books = [SlaClocks(desk).book for desk in (current, candidate)]
    organizations: list[dict[str, Any]] = []
    if any(p.organizations for book in books for p in book.policies):
        table = current.table("organizations")
        organizations = [dict(r._mapping) for r in connection.execute(sa.select(table))]
    extension_fields = frozenset(name for book in books for p in book.policies for name, _ in p.field_matches
                                 ) - set(current.table("tickets").c.keys())
    runs = [ScratchClocks(desk, organizations) for desk in (current, candidate)]
    try:
        total = count_tickets(connection, current, since)
        comparison = Comparison(total, {}, {})
        for done, history in enumerate(histories(connection, current, since, extension_fields), start=1):
            for run in runs:
                run.play(history)
            _compare(comparison, history, *(run.outcomes(history.ticket["id"], now) for run in runs))
            if progress is not None:
                progress(done, total)
        comparison.current, comparison.candidate = (run.tallies(now) for run in runs)
        return comparison
    finally:
        for run in runs:
            run.close()


def _compare(comparison: Comparison, history: History, current: dict[str, tuple[str, ...]],
             candidate: dict[str, tuple[str, ...]]) -> None:
    for metric in sorted(current.keys() | candidate.keys()):
        before, after = current.get(metric, ()), candidate.get(metric, ())
        if before == after:
            continue
        comparison.changed += 1
        if len(comparison.changes) < CHANGES_KEPT:
            ticket = history.ticket
            comparison.changes.append(OutcomeChange(ticket["id"], ticket["number"], metric, before, after))

