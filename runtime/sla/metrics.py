"""SLA figures over the clocks in ``sla_timers``, per policy, ticket type, team, agent or priority.

What each figure counts, per metric (first_response, next_response, resolution):

- ``met`` and ``breached``: stopped clocks, without and with a breach; ``compliance`` is met / (met + breached),
  None while no clock has stopped.
- ``open``: running and paused clocks; ``open_breached``: those of them already past their target, whether or
  not the sweep has noted it yet (a running clock past its due time, a paused one whose banked time reached it).
- ``cancelled``: clocks that no longer apply (closed unanswered, merged); they count nowhere else.
- ``mean_seconds`` and ``median_seconds``: business seconds of the stopped clocks, met or breached: the time to
  the first response, to each next response, to resolution.

A ticket belongs to a group by its current type, team, assignee and priority; ``since``/``until`` select tickets
by when they were created. Only tickets the asking actor may see are counted (``access.visible``), so neither
the lists nor the counts leak. Counting is one GROUP BY; medians read the elapsed times of stopped clocks only.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.config.ir import label_for
from runtime.sla import clock as clocks
from runtime.sla.policies import METRICS
from runtime.sla.timers import clocks_for
from runtime.tickets.access import visible
from runtime.tickets.actors import Actor
from runtime.tickets.errors import Forbidden, InvalidTicket

GROUPINGS = ("policy", "type", "team", "agent", "priority")
AT_RISK_LIMIT = 200  # the most running clocks one at-risk list shows


@dataclass(frozen=True)
class Tally:
    """One metric's figures in one group."""

    met: int = 0
    breached: int = 0
    open: int = 0
    open_breached: int = 0
    cancelled: int = 0
    mean_seconds: int | None = None
    median_seconds: int | None = None

    @property
    def finished(self) -> int:
        return self.met + self.breached

    @property
    def compliance(self) -> float | None:
        return self.met / self.finished if self.finished else None

    def as_json(self) -> dict[str, Any]:
        return {"met": self.met, "breached": self.breached, "compliance": self.compliance, "open": self.open,
                "open_breached": self.open_breached, "cancelled": self.cancelled,
                "mean_seconds": self.mean_seconds, "median_seconds": self.median_seconds}


@dataclass(frozen=True)
class GroupFigures:
    """The figures of one group: its key (a name, or a team's or agent's id), a name to show, each metric's."""

    key: Any
    name: str | None
    metrics: dict[str, Tally]

    @property
    def breaches(self) -> int:
        """Breached clocks, stopped or still open."""
        return sum(t.breached + t.open_breached for t in self.metrics.values())

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "name": self.name, "breaches": self.breaches,
                "metrics": {metric: tally.as_json() for metric, tally in self.metrics.items()}}


def tallies(connection: sa.Connection, timers: sa.Table, source: sa.FromClause,
            keys: Sequence[sa.ColumnElement[Any]], where: Sequence[sa.ColumnElement[bool]], now: dt.datetime,
            ) -> dict[tuple[Any, ...], dict[str, Tally]]:
    """Figures of the clocks in ``source`` (``timers`` or a join with it) that pass ``where``, by the values of
    ``keys`` and then by metric."""
    state = timers.c.state
    stopped, live = state == clocks.STOPPED, state.in_((clocks.RUNNING, clocks.PAUSED))
    noted = timers.c.breached_at.is_not(None)
    late = overdue(timers, now)

    def count(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[Any]:
        return sa.func.sum(sa.case((condition, 1), else_=0))

    width = len(keys)
    counted = sa.select(*keys, timers.c.metric, count(stopped & ~noted), count(stopped & noted), count(live),
                        count(live & late), count(state == clocks.CANCELLED),
                        sa.func.avg(sa.case((stopped, timers.c.elapsed_seconds)))
                        ).select_from(source).where(*where).group_by(*keys, timers.c.metric)
    times: defaultdict[tuple[Any, ...], list[int]] = defaultdict(list)
    for row in connection.execute(sa.select(*keys, timers.c.metric, timers.c.elapsed_seconds)
                                  .select_from(source).where(*where, stopped)):
        times[tuple(row[:width + 1])].append(row[width + 1])
    found: dict[tuple[Any, ...], dict[str, Tally]] = {}
    for row in connection.execute(counted):
        group, metric = tuple(row[:width]), row[width]
        met, breached, running, overdue_count, cancelled, mean = row[width + 1:]
        elapsed = times.get((*group, metric))
        found.setdefault(group, {})[metric] = Tally(
            int(met), int(breached), int(running), int(overdue_count), int(cancelled),
            _whole(mean), _whole(statistics.median(elapsed)) if elapsed else None)
    return found


def overdue(timers: sa.Table, now: dt.datetime) -> sa.ColumnElement[bool]:
    """A clock past its target at ``now``: its breach noted, or running past its due time, or paused with its
    banked time at the target (whether or not the sweep has noted it yet)."""
    state = timers.c.state
    return sa.or_(timers.c.breached_at.is_not(None), sa.and_(state == clocks.RUNNING, timers.c.due_at <= now),
                  sa.and_(state == clocks.PAUSED, timers.c.elapsed_seconds >= timers.c.target_seconds))


def sla_metrics(connection: sa.Connection, compiled: CompiledDesk, actor: Actor, group_by: str,
                since: dt.datetime | None, until: dt.datetime | None, now: dt.datetime) -> list[GroupFigures]:
    """The figures of every group with a clock, each with every metric (zeros where it has none of its clocks),
    sorted by name."""
    _agents_only(actor)
    if group_by not in GROUPINGS:
        raise _invalid("group_by", f"one of {', '.join(GROUPINGS)}")
    if since is not None and until is not None and until <= since:
        raise _invalid("until", "a time after 'since'")
    tickets, timers = compiled.table("tickets"), compiled.table("sla_timers")
    source: sa.FromClause = timers.join(tickets, tickets.c.id == timers.c.ticket_id)
    keys: list[sa.ColumnElement[Any]]
    if group_by in ("team", "agent"):
        people = compiled.table("teams" if group_by == "team" else "agents")
        column = tickets.c.team_id if group_by == "team" else tickets.c.assignee_id
        source = source.outerjoin(people, people.c.id == column)
        keys = [column, people.c.name if group_by == "team" else people.c.username]
    else:
        keys = [timers.c.policy if group_by == "policy" else tickets.c[group_by]]
    where = [visible(compiled, actor)]
    if since is not None:
        where.append(tickets.c.created_at >= since)
    if until is not None:
        where.append(tickets.c.created_at < until)
    found = tallies(connection, timers, source, keys, where, now)
    groups = [GroupFigures(group[0], _name(compiled, group_by, group),
                           {metric: metrics.get(metric, Tally()) for metric in METRICS})
              for group, metrics in found.items()]
    return sorted(groups, key=lambda g: (g.name is None, g.name or ""))


def at_risk(connection: sa.Connection, compiled: CompiledDesk, actor: Actor, limit: int,
            now: dt.datetime) -> list[dict[str, Any]]:
    """The running clocks of tickets ``actor`` may see, soonest due first (overdue ones lead), with the business
    time left at ``now`` (negative once overdue)."""
    _agents_only(actor)
    if not 1 <= limit <= AT_RISK_LIMIT:
        raise _invalid("limit", f"between 1 and {AT_RISK_LIMIT}")
    tickets, timers = compiled.table("tickets"), compiled.table("sla_timers")
    sla = clocks_for(compiled)
    statement = (sa.select(timers, tickets.c.number, tickets.c.title, tickets.c.type, tickets.c.priority,
                           tickets.c.status, tickets.c.team_id, tickets.c.assignee_id)
                 .join_from(timers, tickets, tickets.c.id == timers.c.ticket_id)
                 .where(timers.c.state == clocks.RUNNING, timers.c.due_at.is_not(None), visible(compiled, actor))
                 .order_by(timers.c.due_at, timers.c.id).limit(limit))
    items = []
    for row in connection.execute(statement):
        clock = sla.clock_of(row)
        remaining = clock.target - clock.elapsed_at(now)
        items.append({"ticket_id": row.ticket_id, "number": row.number, "title": row.title, "type": row.type,
                      "priority": row.priority, "status": row.status, "team_id": row.team_id,
                      "assignee_id": row.assignee_id, "timer_id": row.id, "metric": row.metric,
                      "policy": row.policy, "target_seconds": clock.target, "remaining_seconds": remaining,
                      "due_at": row.due_at, "overdue": remaining <= 0})
    return items


def instant(text: str) -> dt.datetime:
    """An ISO 8601 date or time as an aware UTC instant; a date is its midnight, a time without offset UTC.
    Raises ValueError on anything else."""
    try:
        parsed = dt.datetime.fromisoformat(text)
        # In UTC here, as the databases store it: a time at the edge of year 1 or 9999 may not fit.
        return parsed.astimezone(dt.UTC) if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    except (ValueError, OverflowError) as exc:
        msg = f"{text!r} is not an ISO 8601 date or time such as 2026-11-01 or 2026-11-01T08:00:00+01:00"
        raise ValueError(msg) from exc


def _agents_only(actor: Actor) -> None:
    if actor.kind == "contact":
        msg = "SLA figures are for agents"
        raise Forbidden(msg)


def _invalid(name: str, reason: str) -> InvalidTicket:
    return InvalidTicket(f"bad parameter '{name}'", [{"field": name, "reason": reason}])


def _name(compiled: CompiledDesk, group_by: str, group: tuple[Any, ...]) -> str | None:
    if group_by in ("team", "agent"):
        return str(group[1]) if group[1] is not None else None
    if group_by == "type":
        ticket_type = compiled.definitions.ticket_type(group[0])
        if ticket_type is not None:
            return label_for(ticket_type.label, compiled.definitions.project.default_language, ticket_type.name)
    return None if group[0] is None else str(group[0])


def _whole(seconds: Any) -> int | None:
    """Whole seconds, halves rounded up; PostgreSQL's averages come as decimals."""
    return None if seconds is None else math.floor(float(seconds) + 0.5)
