"""SLA clocks of tickets imported from another desk, computed at import from their kept timestamps.

The steps are ``history.imported_history``'s, the ones a replay of the ticket later plays; they are played here
with the clock arithmetic of runtime/sla/clock.py in memory, doing to the clocks what ``SlaClocks``' hooks do for a
creation, an agent's answer and a change of state, so that tens of thousands of tickets get their clocks without a
round trip each. tests/transfer checks that a replay through the hooks themselves ends with the same clocks. The
hooks' ledger events are not made: they would only repeat the instants the clock rows hold.

Escalations of a clock still running that fell due before the import are counted as fired: the other desk
escalated (or did not) back then, and repeating it now would only notify people about history.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from runtime.compile.desk import CompiledDesk
from runtime.config import ir
from runtime.sla import clock as clocks
from runtime.sla.history import DONE, REPLIED, History
from runtime.sla.policies import Facts, PolicyBook
from runtime.sla.timers import RESPONSE_METRICS


@dataclass
class PlayedClock:
    clock: clocks.Clock
    next_check_at: dt.datetime | None = None

    def row(self) -> dict[str, Any]:
        """The clock as an ``sla_timers`` row, without its ids."""
        c = self.clock
        return {"metric": c.metric, "policy": c.policy, "calendar": c.calendar.name, "state": c.state,
                "target_seconds": c.target, "elapsed_seconds": c.elapsed, "started_at": c.started_at,
                "running_since": c.running_since, "due_at": c.due_at, "breached_at": c.breached_at,
                "stopped_at": c.stopped_at, "pauses": c.pauses, "fired": c.fired, "next_check_at": self.next_check_at}


class ImportedClocks:
    def __init__(self, compiled: CompiledDesk, book: PolicyBook) -> None:
        self.compiled, self.book = compiled, book
        # A step changes the status; its category follows from the type's workflow, as ``history.apply`` has it.
        self.categories = {t.name: compiled.workflow_for(t.name).categories for t in compiled.definitions.types}

    def play(self, history: History, organization: str | None, now: dt.datetime) -> list[PlayedClock]:
        ticket = history.ticket
        if ticket["status_category"] in DONE:
            return []
        policy = self.book.select(Facts(ticket, organization, ticket["created_at"]))
        if policy is None:
            return []
        played = self._start(ticket, policy)
        categories = self.categories[ticket["type"]]
        for step in history.steps:
            if step.kind == REPLIED:
                if step.by_agent:
                    for p in played:
                        if p.clock.metric in RESPONSE_METRICS and p.clock.live:
                            clocks.stop(p.clock, step.at)
                continue
            after = {**ticket, **step.changes}
            after["status_category"] = categories.get(after["status"], ticket["status_category"])
            if (ticket["status"], ticket["status_category"]) != (after["status"], after["status_category"]):
                self._follow_status(played, ticket, after, policy, step.at)
            ticket = after
        for p in played:
            self._settle(p, policy.escalations, now)
        return played

    def _start(self, ticket: dict[str, Any], policy: ir.Policy) -> list[PlayedClock]:
        at = ticket["created_at"]
        paused = self.book.pauses(policy, ticket["status"], ticket["status_category"])
        played = []
        for metric in ("first_response", "resolution"):
            goal = self.book.goal(policy, ticket.get("priority"), metric)
            if goal is None:
                continue
            clock = clocks.start(metric, policy.name, goal.calendar, goal.seconds, at)
            if paused:
                clocks.pause(clock, at, ticket["status"])
            played.append(PlayedClock(clock))
        return played

    def _follow_status(self, played: list[PlayedClock], before: dict[str, Any], after: dict[str, Any],
                       policy: ir.Policy, at: dt.datetime) -> None:
        was_done, done = before["status_category"] in DONE, after["status_category"] in DONE
        paused = self.book.pauses(policy, after["status"], after["status_category"])
        for p in played:
            clock = p.clock
            if done and not was_done:
                if clock.metric == "resolution" and clock.live:
                    clocks.stop(clock, at)
                elif clock.live:
                    clocks.cancel(clock, at)
            elif paused and clock.state == clocks.RUNNING:
                clocks.pause(clock, at, after["status"])
            elif not paused and clock.state == clocks.PAUSED:
                clocks.resume(clock, at)

    @staticmethod
    def _settle(p: PlayedClock, escalations: tuple[ir.Escalation, ...], now: dt.datetime) -> None:
        clock = p.clock
        if clock.live:
            counted = clock.elapsed_at(now)
            clock.fired += [i for i, e in enumerate(escalations)
                            if e.metric == clock.metric and clocks.threshold(e, clock.target) <= counted]
        p.next_check_at = clocks.next_check(clock, escalations)
