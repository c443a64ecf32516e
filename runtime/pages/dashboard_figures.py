"""The supervisor dashboard's figures, each an SQL aggregate (GROUP BY) over the tickets the viewer may see.

The viewer is a supervisor (the tickets the access rules show them: their teams', their reports', their own and
the unrouted ones) or an admin (all). A period is the last 7, 30 or 90 days in the desk's time zone, today
included; it selects tickets by when they were created for SLA outcomes and times (as the SLA API does), breaches
by when they happened and ratings by when they were given. Backlog and workload are as of now.

SLA outcomes count clocks as runtime/sla/metrics.py does: met and breached are stopped clocks without and with a
breach, overdue are clocks still running (or paused) past their target. Times are the business seconds the
stopped clocks counted on their policy's calendar; the median is the middle value (the mean of the two middle
ones), the 90th percentile the nearest rank (the smallest time that at least 90 % of the clocks stayed within),
both worked out by the database with window functions.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.config.core_columns import PRIORITIES
from runtime.sla import clock as clocks
from runtime.sla.metrics import overdue
from runtime.sla.policies import METRICS
from runtime.tickets.access import facets, visible
from runtime.tickets.actors import Actor
from runtime.tickets.errors import Forbidden

PERIODS = (7, 30, 90)
DEFAULT_PERIOD = 30
OUTCOME_METRICS = ("first_response", "resolution")
UNRESOLVED = ("open", "paused")


@dataclass(frozen=True)
class Outcome:
    """One priority's clocks of one metric."""

    priority: str
    metric: str
    met: int = 0
    breached: int = 0
    overdue: int = 0
    median_seconds: int | None = None
    p90_seconds: int | None = None

    @property
    def compliance(self) -> float | None:
        finished = self.met + self.breached
        return self.met / finished if finished else None


@dataclass(frozen=True)
class AgentLoad:
    agent_id: int
    username: str
    name: str
    open: int
    capacity: int
    away: bool


@dataclass(frozen=True)
class Figures:
    days: int
    since: dt.datetime  # the period's first local midnight
    now: dt.datetime
    timezone: str
    outcomes: list[Outcome]  # by priority, then metric
    backlog: dict[tuple[str, str], int]  # (status, priority) → unresolved tickets
    workload: list[AgentLoad]
    breach_days: list[dt.date]
    breaches: dict[str, list[int]]  # metric → breaches per day of ``breach_days``
    ratings: dict[int, int]  # score → how many

    @property
    def rating_count(self) -> int:
        return sum(self.ratings.values())

    @property
    def rating_average(self) -> float | None:
        count = self.rating_count
        return sum(score * n for score, n in self.ratings.items()) / count if count else None


def may_view(actor: Actor) -> bool:
    return actor.kind == "agent" and (actor.has("supervisor") or actor.has("admin"))


def desk_timezone(compiled: CompiledDesk) -> str:
    """The zone whose days the dashboard counts in: the first policy's calendar's, else the first calendar's."""
    desk = compiled.definitions
    for name in [p.calendar for p in desk.policies] + [c.name for c in desk.calendars]:
        calendar = desk.calendar(name)
        if calendar is not None:
            return calendar.timezone
    return "UTC"


def dashboard_figures(connection: sa.Connection, compiled: CompiledDesk, actor: Actor, days: int,
                      now: dt.datetime, refusal: str = "The dashboard is for supervisors and admins") -> Figures:
    """Every figure of the dashboard for ``actor`` over the last ``days`` days (one of PERIODS) at ``now``."""
    if not may_view(actor):
        raise Forbidden(refusal)
    if days not in PERIODS:
        msg = f"the period is one of {', '.join(map(str, PERIODS))} days"
        raise ValueError(msg)
    zone = desk_timezone(compiled)
    today = now.astimezone(ZoneInfo(zone)).date()
    day_list = [today - dt.timedelta(days=days - 1 - i) for i in range(days)]
    starts = [dt.datetime.combine(day, dt.time(), ZoneInfo(zone)).astimezone(dt.UTC) for day in day_list]
    seen = visible(compiled, actor)
    return Figures(days=days, since=starts[0], now=now, timezone=zone,
                   outcomes=_outcomes(connection, compiled, seen, starts[0], now),
                   backlog=_backlog(connection, compiled, seen),
                   workload=_workload(connection, compiled, actor, seen),
                   breach_days=day_list, breaches=_breaches(connection, compiled, seen, starts, now),
                   ratings=_ratings(connection, compiled, seen, starts[0]))


def _count(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[Any]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def _outcomes(connection: sa.Connection, compiled: CompiledDesk, seen: sa.ColumnElement[bool],
              since: dt.datetime, now: dt.datetime) -> list[Outcome]:
    tickets, timers = compiled.table("tickets"), compiled.table("sla_timers")
    where = [seen, tickets.c.created_at >= since, timers.c.metric.in_(OUTCOME_METRICS)]
    joined = timers.join(tickets, tickets.c.id == timers.c.ticket_id)
    stopped, noted = timers.c.state == clocks.STOPPED, timers.c.breached_at.is_not(None)
    live = timers.c.state.in_((clocks.RUNNING, clocks.PAUSED))
    counts = sa.select(tickets.c.priority, timers.c.metric, _count(stopped & ~noted), _count(stopped & noted),
                       _count(live & overdue(timers, now))).select_from(joined).where(*where) \
        .group_by(tickets.c.priority, timers.c.metric)
    group = [tickets.c.priority, timers.c.metric]
    ranked = sa.select(tickets.c.priority, timers.c.metric, timers.c.elapsed_seconds.label("elapsed"),
                       sa.func.row_number().over(partition_by=group, order_by=timers.c.elapsed_seconds).label("rn"),
                       sa.func.count().over(partition_by=group).label("n")) \
        .select_from(joined).where(*where, stopped).subquery()
    rn, n, elapsed = ranked.c.rn, ranked.c.n, ranked.c.elapsed
    # The middle one or two of n ranks: 2·rn is n, n+1 or n+2. Nearest rank for 90 %: the least rn with
    # rn ≥ 0.9·n, in integers so that both databases agree.
    middle = sa.and_(rn * 2 >= n, rn * 2 <= n + 2)
    p90 = sa.and_(rn * 10 >= n * 9, (rn - 1) * 10 < n * 9)
    spreads = sa.select(ranked.c.priority, ranked.c.metric, sa.func.avg(sa.case((middle, elapsed))),
                        sa.func.max(sa.case((p90, elapsed)))).group_by(ranked.c.priority, ranked.c.metric)
    times = {(row[0], row[1]): (_whole(row[2]), _whole(row[3])) for row in connection.execute(spreads)}
    found = [Outcome(priority, metric, int(met), int(breached), int(late), *times.get((priority, metric),
                                                                                      (None, None)))
             for priority, metric, met, breached, late in connection.execute(counts)]
    order = {p: i for i, p in enumerate(PRIORITIES)}
    return sorted(found, key=lambda o: (order.get(o.priority, len(order)), o.priority or "",
                                        OUTCOME_METRICS.index(o.metric)))


def _backlog(connection: sa.Connection, compiled: CompiledDesk, seen: sa.ColumnElement[bool]
             ) -> dict[tuple[str, str], int]:
    tickets = compiled.table("tickets")
    statement = sa.select(tickets.c.status, tickets.c.priority, sa.func.count()) \
        .where(seen, tickets.c.status_category.in_(UNRESOLVED)).group_by(tickets.c.status, tickets.c.priority)
    return {(status, priority): int(n) for status, priority, n in connection.execute(statement)}


def _workload(connection: sa.Connection, compiled: CompiledDesk, actor: Actor, seen: sa.ColumnElement[bool]
              ) -> list[AgentLoad]:
    """Every active agent the viewer oversees (all for an admin; else themselves, their teams' members and
    their reports) with their unresolved tickets that the viewer may see."""
    agents, members, tickets = compiled.table("agents"), compiled.table("team_members"), compiled.table("tickets")
    scope: list[sa.ColumnElement[bool]] = [agents.c.active.is_(True)]
    if "all" not in facets(compiled, actor):
        team_members = sa.select(members.c.agent_id).where(members.c.team_id.in_(sorted(actor.team_ids)))
        scope.append(sa.or_(agents.c.id == actor.id, agents.c.id.in_(team_members),
                            agents.c.id.in_(sorted(actor.report_ids))))
    assigned = sa.and_(tickets.c.assignee_id == agents.c.id, tickets.c.status_category.in_(UNRESOLVED), seen)
    statement = sa.select(agents.c.id, agents.c.username, agents.c.name, agents.c.capacity, agents.c.away,
                          sa.func.count(tickets.c.id)) \
        .select_from(agents.outerjoin(tickets, assigned)).where(*scope) \
        .group_by(agents.c.id, agents.c.username, agents.c.name, agents.c.capacity, agents.c.away) \
        .order_by(agents.c.name, agents.c.id)
    return [AgentLoad(int(row[0]), row[1], row[2], int(row[5]), int(row[3]), bool(row[4]))
            for row in connection.execute(statement)]


def _breaches(connection: sa.Connection, compiled: CompiledDesk, seen: sa.ColumnElement[bool],
              starts: list[dt.datetime], now: dt.datetime) -> dict[str, list[int]]:
    """Breaches per local day and metric. A clock breaches at its due time: ``breached_at`` once noted, the due
    time of a running clock the sweep has not reached yet."""
    tickets, timers = compiled.table("tickets"), compiled.table("sla_timers")
    moment = sa.func.coalesce(timers.c.breached_at, sa.case(
        (sa.and_(timers.c.state == clocks.RUNNING, timers.c.due_at <= now), timers.c.due_at)))
    # Local days are not all 24 hours long (summer time), so each day is bounded by its own midnights.
    day = sa.case(*[(moment < start, i - 1) for i, start in enumerate(starts[1:], start=1)], else_=len(starts) - 1)
    dated = sa.select(day.label("day"), timers.c.metric) \
        .select_from(timers.join(tickets, tickets.c.id == timers.c.ticket_id)) \
        .where(seen, moment >= starts[0], moment <= now).subquery()
    per_day = sa.select(dated.c.day, dated.c.metric, sa.func.count()).group_by(dated.c.day, dated.c.metric)
    found = {metric: [0] * len(starts) for metric in METRICS}
    for index, metric, n in connection.execute(per_day):
        if metric in found:
            found[metric][int(index)] = int(n)
    return found


def _ratings(connection: sa.Connection, compiled: CompiledDesk, seen: sa.ColumnElement[bool],
             since: dt.datetime) -> dict[int, int]:
    ratings, tickets = compiled.table("ticket_ratings"), compiled.table("tickets")
    statement = sa.select(ratings.c.score, sa.func.count()) \
        .select_from(ratings.join(tickets, tickets.c.id == ratings.c.ticket_id)) \
        .where(seen, ratings.c.rated_at >= since).group_by(ratings.c.score)
    return {int(score): int(n) for score, n in connection.execute(statement)}


def _whole(seconds: Any) -> int | None:
    """Whole seconds, halves rounded up; PostgreSQL's averages come as decimals."""
    return None if seconds is None else math.floor(float(seconds) + 0.5)
