"""One SLA clock's arithmetic, free of the database: start, pause, resume, stop, re-target, and when it next
needs the sweep's attention.

A clock banks the business time it has counted (``elapsed``) each time it stops running, and measures the
running segment from ``running_since`` on its calendar when asked; so pausing over a night and a weekend
adds nothing, and a deadline is always ``calendar.add(running_since, target - elapsed)``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Protocol

from runtime.config import ir

RUNNING, PAUSED, STOPPED, CANCELLED = "running", "paused", "stopped", "cancelled"


class Calendar(Protocol):
    name: str

    def add(self, start: dt.datetime, seconds: int) -> dt.datetime: ...

    def between(self, earlier: dt.datetime, later: dt.datetime) -> int: ...

    def is_open(self, at: dt.datetime) -> bool: ...


@dataclass
class Clock:
    metric: str
    policy: str
    calendar: Calendar
    target: int  # business seconds
    started_at: dt.datetime
    state: str = RUNNING
    elapsed: int = 0  # banked business seconds, up to running_since
    running_since: dt.datetime | None = None
    due_at: dt.datetime | None = None
    breached_at: dt.datetime | None = None
    stopped_at: dt.datetime | None = None
    pauses: list[dict[str, Any]] = field(default_factory=list)
    fired: list[int] = field(default_factory=list)  # indexes into the policy's escalations

    @property
    def live(self) -> bool:
        return self.state in (RUNNING, PAUSED)

    def elapsed_at(self, now: dt.datetime) -> int:
        """Business seconds counted by ``now``."""
        if self.running_since is None or now <= self.running_since:
            return self.elapsed
        return self.elapsed + self.calendar.between(self.running_since, now)

    def outcome(self) -> str:
        """What a person reads: running, paused, met, breached or cancelled."""
        if self.state == CANCELLED:
            return CANCELLED
        if self.breached_at is not None:
            return "breached"
        return "met" if self.state == STOPPED else self.state


def start(metric: str, policy: str, calendar: Calendar, target: int, at: dt.datetime) -> Clock:
    clock = Clock(metric, policy, calendar, target, started_at=at, running_since=at)
    _schedule(clock)
    return clock


def pause(clock: Clock, at: dt.datetime, reason: str) -> None:
    if clock.state != RUNNING:
        return
    _bank(clock, at)
    clock.state, clock.due_at = PAUSED, None
    clock.pauses.append({"from": at.isoformat(), "to": None, "reason": reason})


def resume(clock: Clock, at: dt.datetime) -> None:
    if clock.state != PAUSED:
        return
    if clock.pauses and clock.pauses[-1]["to"] is None:
        clock.pauses[-1]["to"] = at.isoformat()
    clock.state, clock.running_since = RUNNING, at
    _schedule(clock)


def stop(clock: Clock, at: dt.datetime) -> None:
    """The promise was kept (late or not): the clock stops counting for good."""
    if not clock.live:
        return
    if clock.state == RUNNING:
        _note_breach(clock, at)
        _bank(clock, at)
    elif clock.pauses and clock.pauses[-1]["to"] is None:
        clock.pauses[-1]["to"] = at.isoformat()
    clock.state, clock.stopped_at, clock.due_at = STOPPED, at, None


def reopen(clock: Clock, at: dt.datetime) -> None:
    """A resolved ticket came back: the clock goes on from the business time it had counted."""
    if clock.state != STOPPED:
        return
    clock.state, clock.stopped_at, clock.running_since = RUNNING, None, at
    _schedule(clock)


def cancel(clock: Clock, at: dt.datetime) -> None:
    """The clock no longer applies (its ticket was closed unanswered, merged, or the policy dropped it)."""
    if not clock.live:
        return
    if clock.state == RUNNING:
        _bank(clock, at)
    clock.state, clock.stopped_at, clock.due_at = CANCELLED, at, None


def retarget(clock: Clock, policy: str, calendar: Calendar, target: int, at: dt.datetime) -> None:
    """A new priority, type or policy: keep the business time counted so far (on the old calendar up to
    ``at``) and measure the rest against the new target on the new calendar. A breach of the old target that
    the new one does not have is lifted; the fired escalations stay fired."""
    running = clock.state == RUNNING
    if running:
        _note_breach(clock, at)
        _bank(clock, at)
    clock.policy, clock.calendar, clock.target = policy, calendar, target
    if clock.breached_at is not None and clock.elapsed < target:
        clock.breached_at = None
    if running:
        clock.running_since = at
        _schedule(clock)


def threshold(escalation: ir.Escalation, target: int) -> int:
    """The business seconds at which an escalation fires: a share of the target plus an offset (negative
    before), or the target plus the offset."""
    base = target if escalation.percent is None else round(target * escalation.percent / 100)
    return max(0, base + escalation.offset)


def due_escalations(clock: Clock, escalations: tuple[ir.Escalation, ...], now: dt.datetime) -> list[int]:
    """Indexes of the escalations for this clock's metric that have fallen due by ``now`` and not fired."""
    if clock.state != RUNNING:
        return []
    counted = clock.elapsed_at(now)
    return [i for i, e in enumerate(escalations) if e.metric == clock.metric and i not in clock.fired
            and threshold(e, clock.target) <= counted]


def breach_due(clock: Clock, now: dt.datetime) -> bool:
    return clock.state == RUNNING and clock.breached_at is None and clock.elapsed_at(now) >= clock.target


def mark_breached(clock: Clock) -> None:
    clock.breached_at = clock.due_at or clock.running_since


def next_check(clock: Clock, escalations: tuple[ir.Escalation, ...]) -> dt.datetime | None:
    """When the sweep must next look at this clock: its breach or its next escalation, whichever comes
    first; None when nothing can happen until a person acts."""
    if clock.state != RUNNING or clock.running_since is None:
        return None
    moments: list[dt.datetime] = []
    if clock.breached_at is None and clock.due_at is not None:
        moments.append(clock.due_at)
    for index, escalation in enumerate(escalations):
        if escalation.metric != clock.metric or index in clock.fired:
            continue
        remaining = threshold(escalation, clock.target) - clock.elapsed
        moments.append(clock.running_since if remaining <= 0 else clock.calendar.add(clock.running_since,
                                                                                      remaining))
    return min(moments, default=None)


def _bank(clock: Clock, at: dt.datetime) -> None:
    clock.elapsed = clock.elapsed_at(at)
    clock.running_since = None


def _note_breach(clock: Clock, at: dt.datetime) -> None:
    # The sweep may not have come round yet; the breach happened at the due time all the same.
    if clock.breached_at is None and clock.due_at is not None and clock.due_at <= at \
            and clock.elapsed_at(at) >= clock.target:
        clock.breached_at = clock.due_at


def _schedule(clock: Clock) -> None:
    assert clock.running_since is not None
    remaining = clock.target - clock.elapsed
    if remaining > 0:
        clock.due_at = clock.calendar.add(clock.running_since, remaining)
    elif clock.breached_at is not None:
        clock.due_at = clock.breached_at
    else:
        clock.due_at = clock.running_since
