"""Assignment: which member of a ticket's team takes it, decided by rules and explained in words.

Configuration lives in ``tessera.yaml`` because strategies are desk policy, reviewed in git like the rest of the
definitions; teams themselves are database rows, so they are named there and matched by name when a decision is
made (a strategy for a team that does not exist yet is simply unused)::

    assignment:
      auto: true                      # assign new tickets that have a team and no assignee (default false)
      strategy: skills_then_load      # for every team not listed below (the default)
      teams: {service_desk: round_robin}
      category_skills: {network: [network]}   # skills a category adds to its type's ai.skills

Who can take a ticket: a member of its team who is active, not away, on duty (the business calendar of
``sla_policies`` named by ``agents.calendar`` is open at that moment; no calendar means always on duty) and below
capacity (their open and paused tickets, in any team, fewer than ``agents.capacity``). Among those:

- ``round_robin``: everyone is tied;
- ``least_loaded``: the lowest share of capacity in use (3/8 before 2/4), so that a part-timer is not flooded;
- ``skills_then_load``: the most of the ticket's required skills (its type's ``ai.skills`` and its category's
  ``category_skills``), then the lowest share of capacity.

Ties go round in agent id order, starting after the agent who last got a ticket of the team by an applied
decision; that memory is the ``ai_decisions`` table itself (kind ``assignment``), so it survives restarts and
needs no table of its own. Two tickets created at the same instant may both go to the same agent; the next one
continues the rotation from there.

Every decision is stored in ``ai_decisions`` (provider ``rules``) with every candidate and why each was passed
over, and its explanation reads like ``alex: skills 2/2, load 3/8, next in rotation; passed over: bea (away)``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from fractions import Fraction
from typing import Any

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.sla.calendar import BusinessCalendar
from runtime.sla.timers import clocks_for
from runtime.tickets import audit
from runtime.tickets.actors import SYSTEM, Actor

STRATEGIES = ("round_robin", "least_loaded", "skills_then_load")
WORKING = ("open", "paused")  # the status categories that count as an agent's load
KIND = "assignment"
PROVIDER = "rules"


@dataclass(frozen=True)
class Candidate:
    """A team member as the decision saw them; ``passed_over`` is None only for the one chosen."""

    agent_id: int
    username: str
    skills: tuple[str, ...]  # the required skills the agent has
    load: int
    capacity: int
    passed_over: str | None = None


@dataclass(frozen=True)
class Decision:
    ticket_id: int
    team_id: int
    team: str
    strategy: str
    required: tuple[str, ...]
    agent_id: int | None
    username: str | None
    explanation: str
    candidates: tuple[Candidate, ...]

    def output(self) -> dict[str, Any]:
        """The JSON stored in ``ai_decisions.output``."""
        return {"strategy": self.strategy, "team_id": self.team_id, "team": self.team,
                "required_skills": list(self.required), "agent_id": self.agent_id, "agent": self.username,
                "candidates": [asdict(c) | {"skills": list(c.skills)} for c in self.candidates]}


@dataclass(frozen=True)
class _Member:
    agent_id: int
    username: str
    skills: frozenset[str]
    capacity: int
    calendar: str | None
    away: bool
    active: bool
    load: int


def _share(c: Candidate) -> Fraction:
    return Fraction(c.load, c.capacity)


def _words(c: Candidate, required: Sequence[str], strategy: str) -> str:
    load = f"load {c.load}/{c.capacity}"
    if strategy != "skills_then_load":
        return load
    return f"skills {len(c.skills)}/{len(required)}, {load}" if required else f"no skills required, {load}"


def _keep_best(pool: list[Candidate], score: Callable[[Candidate], Any], reason: Callable[[Candidate], str],
               passed: dict[int, str]) -> list[Candidate]:
    """The candidates with the highest score; the rest are passed over for ``reason``."""
    best = max(score(c) for c in pool)
    for c in pool:
        if score(c) != best:
            passed[c.agent_id] = reason(c)
    return [c for c in pool if score(c) == best]


def choose(strategy: str, required: Sequence[str], pool: Sequence[Candidate], last_agent: int | None
           ) -> tuple[Candidate | None, dict[int, str], str]:
    """Pick among available candidates (sorted by agent id): the chosen one, why each other one was passed over,
    and the words that justify the choice."""
    passed: dict[int, str] = {}
    if not pool:
        return None, passed, ""
    tied = list(pool)
    why = "the only agent available"
    if strategy == "skills_then_load":
        tied = _keep_best(tied, lambda c: len(c.skills), lambda c: f"fewer skills {len(c.skills)}/{len(required)}",
                          passed)
        if len(tied) == 1 and len(pool) > 1:
            why = "most skills"
    if strategy in ("least_loaded", "skills_then_load"):
        narrowed = _keep_best(tied, lambda c: -_share(c), lambda c: f"more load {c.load}/{c.capacity}", passed)
        if len(narrowed) == 1 and len(tied) > 1:
            why = "least loaded"
        tied = narrowed
    chosen = tied[0]
    if len(tied) > 1:
        after = [c for c in tied if last_agent is not None and c.agent_id > last_agent]
        chosen = after[0] if after else tied[0]
        why = "next in rotation"
        for c in tied:
            if c is not chosen:
                passed[c.agent_id] = "not next in rotation"
    return chosen, passed, f"{_words(chosen, required, strategy)}, {why}"


class Assigner:
    """Decides, records and applies assignments for one compiled desk; built once (see ``assigner_for``)."""

    def __init__(self, compiled: CompiledDesk) -> None:
        self.compiled = compiled
        self.settings = compiled.definitions.project.assignment
        self.calendars: Mapping[str, BusinessCalendar] = clocks_for(compiled).book.calendars
        tables = compiled.metadata.tables
        self.tickets, self.decisions, self.events = tables["tickets"], tables["ai_decisions"], tables["ticket_events"]
        agents, members, teams = tables["agents"], tables["team_members"], tables["teams"]
        team: sa.BindParameter[int] = sa.bindparam("team")
        t = self.tickets
        self._team_name = sa.select(teams.c.name).where(teams.c.id == team)
        self._members = (
            sa.select(agents.c.id, agents.c.username, agents.c.skills, agents.c.capacity, agents.c.calendar,
                      agents.c.away, agents.c.active)
            .join(members, members.c.agent_id == agents.c.id).where(members.c.team_id == team)
            .order_by(agents.c.id))
        self._loads = (
            sa.select(t.c.assignee_id, sa.func.count()).join(members, members.c.agent_id == t.c.assignee_id)
            .where(members.c.team_id == team, t.c.status_category.in_(WORKING)).group_by(t.c.assignee_id))
        d = self.decisions
        self._last = (
            sa.select(d.c.output).join(t, t.c.id == d.c.ticket_id)
            .where(d.c.kind == KIND, d.c.applied.is_(True), t.c.team_id == team)
            .order_by(d.c.id.desc()).limit(1))
        self._insert = sa.insert(d)
        self._overridden = sa.update(d).where(
            d.c.ticket_id == sa.bindparam("ticket"), d.c.kind == KIND, d.c.applied.is_(True),
            d.c.overridden_by.is_(None)).values(overridden_by=sa.bindparam("by"))
        self._set_assignee = sa.update(t).where(t.c.id == sa.bindparam("ticket")).values(
            assignee_id=sa.bindparam("agent"))

    def required_skills(self, ticket: Mapping[str, Any]) -> tuple[str, ...]:
        ticket_type = self.compiled.definitions.ticket_type(str(ticket.get("type")))
        skills = (*(ticket_type.ai_skills if ticket_type else ()), *self.settings.skills_of(ticket.get("category")))
        return tuple(dict.fromkeys(skills))

    def team_name(self, connection: sa.Connection, team_id: int) -> str | None:
        name: str | None = connection.execute(self._team_name, {"team": team_id}).scalar()
        return name

    def members(self, connection: sa.Connection, team_id: int) -> list[_Member]:
        loads = {int(agent): int(count) for agent, count in connection.execute(self._loads, {"team": team_id})}
        return [_Member(r.id, r.username, frozenset(r.skills or ()), r.capacity, r.calendar, bool(r.away),
                        bool(r.active), int(loads.get(r.id, 0)))
                for r in connection.execute(self._members, {"team": team_id})]

    def _unavailable(self, member: _Member, now: dt.datetime) -> str | None:
        if not member.active:
            return "inactive"
        if member.away:
            return "away"
        if member.calendar is not None:
            calendar = self.calendars.get(member.calendar)
            if calendar is None:
                return f"unknown calendar '{member.calendar}'"
            if not calendar.is_open(now):
                return f"off duty ({member.calendar} closed)"
        if member.load >= member.capacity:
            return f"at capacity {member.load}/{member.capacity}"
        return None

    def decide(self, connection: sa.Connection, ticket: Mapping[str, Any], now: dt.datetime) -> Decision:
        """The agent of the ticket's team who should take it now, and why; changes nothing."""
        team_id = int(ticket["team_id"])
        team = self.team_name(connection, team_id) or f"team {team_id}"
        strategy = self.settings.strategy_of(team)
        required = self.required_skills(ticket) if strategy == "skills_then_load" else ()
        candidates, passed = [], {}
        for m in self.members(connection, team_id):
            candidate = Candidate(m.agent_id, m.username, tuple(s for s in required if s in m.skills), m.load,
                                  m.capacity)
            candidates.append(candidate)
            reason = self._unavailable(m, now)
            if reason is not None:
                passed[m.agent_id] = reason
        last = connection.execute(self._last, {"team": team_id}).scalar()
        last_agent = last.get("agent_id") if isinstance(last, dict) else None
        chosen, more, words = choose(strategy, required, [c for c in candidates if c.agent_id not in passed],
                                     last_agent)
        passed |= more
        listed = tuple(replace(c, passed_over=passed.get(c.agent_id)) for c in candidates)
        reasons = ", ".join(f"{c.username} ({c.passed_over})" for c in listed if c.passed_over)
        if chosen is None:
            explanation = f"no agent available in {team}: {reasons}" if candidates \
                else f"no agent available: {team} has no members"
        else:
            explanation = f"{chosen.username}: {words}" + (f"; passed over: {reasons}" if reasons else "")
        return Decision(int(ticket["id"]), team_id, team, strategy, required, chosen.agent_id if chosen else None,
                        chosen.username if chosen else None, explanation, listed)

    def record(self, connection: sa.Connection, decision: Decision, *, applied: bool, now: dt.datetime) -> None:
        connection.execute(self._insert, {
            "ticket_id": decision.ticket_id, "kind": KIND, "provider": PROVIDER, "output": decision.output(),
            "confidence": None, "explanation": decision.explanation, "applied": applied, "created_at": now})

    def ticket_created(self, connection: sa.Connection, ticket: Mapping[str, Any], channel: str, now: dt.datetime
                       ) -> dict[str, Any]:
        """The create hook: when the desk assigns automatically and the new ticket has a team but no assignee,
        decide, record and assign it as the system in the creating transaction; returns the columns changed.

        The ticket keeps version 1: being assigned is part of how it was created, as being routed is."""
        if not self.settings.auto or ticket.get("team_id") is None or ticket.get("assignee_id") is not None:
            return {}
        decision = self.decide(connection, ticket, now)
        self.record(connection, decision, applied=decision.agent_id is not None, now=now)
        if decision.agent_id is None:
            return {}
        connection.execute(self._set_assignee, {"ticket": decision.ticket_id, "agent": decision.agent_id})
        audit.record(connection, self.events, decision.ticket_id, SYSTEM, channel, "update",
                     {"assignee_id": (None, decision.agent_id)}, now)
        return {"assignee_id": decision.agent_id}


    def assignee_changed(self, connection: sa.Connection, ticket_id: int, actor: Actor) -> None:
        """A person moved the ticket to someone else: the automatic assignment it had was overridden, which is
        what the decision's record must say (the feedback later training and reports read)."""
        if actor.kind != "system":
            connection.execute(self._overridden, {"ticket": ticket_id, "by": actor.label})


def assigner_for(compiled: CompiledDesk) -> Assigner:
    return compiled.memo("ai.assigner", lambda: Assigner(compiled))
