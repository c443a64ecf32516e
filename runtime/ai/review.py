"""People and AI decisions: the triage queue, a ticket's decisions, a verdict on a queued one, triage on request,
and a sent reply's suggestion marked as used. Agents only: requesters never see what AI thought of their ticket.

Reading and reviewing follow the ticket's access rules: a decision is visible exactly when its ticket is, and a
verdict changes the ticket through the service as the reviewing agent (audited, version-checked), so that the
queue cannot be used to change a ticket its reader could not change directly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from runtime.ai.feedback import ACCEPTED, DISMISSED, OVERRIDDEN, feedback_for, verdict
from runtime.ai.triage import FIELDS, KIND, QUEUED, Triage, Updates
from runtime.compile.desk import CompiledDesk
from runtime.db.engine import write_transaction
from runtime.tickets.access import visible
from runtime.tickets.actors import Actor
from runtime.tickets.errors import Forbidden, InvalidTicket, TicketError, TicketNotFound
from runtime.tickets.records import load

VERDICTS = ("accept", "override", "dismiss")
COLUMNS = ("id", "ticket_id", "kind", "provider", "model", "output", "confidence", "explanation", "applied", "review",
           "reviewed_by", "reviewed_at", "overridden_by", "inputs_hash", "latency_ms", "tokens", "created_at")


class AlreadyReviewed(TicketError):
    status = 409
    title = "Conflict"


def _agents_only(actor: Actor) -> None:
    if actor.kind != "agent":
        msg = "AI decisions are for agents"
        raise Forbidden(msg)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Reviews:
    def __init__(self, compiled: CompiledDesk, engine: sa.Engine, triage: Triage) -> None:
        self.compiled = compiled
        self.engine = engine
        self.triage = triage
        self.decisions, self.tickets = compiled.table("ai_decisions"), compiled.table("tickets")
        self.feedback = feedback_for(compiled)

    def _columns(self) -> list[sa.Column[Any]]:
        return [self.decisions.c[name] for name in COLUMNS]

    def queue(self, actor: Actor, after: int | None, limit: int) -> tuple[list[dict[str, Any]], int | None]:
        """Queued triage decisions, oldest first, of tickets ``actor`` may see; the last id for the next page."""
        _agents_only(actor)
        d, t = self.decisions, self.tickets
        query = (sa.select(*self._columns(), t.c.number, t.c.title, t.c.type, t.c.category, t.c.priority,
                           t.c.team_id, t.c.assignee_id, t.c.version)
                 .join(t, t.c.id == d.c.ticket_id)
                 .where(d.c.review == QUEUED, d.c.kind == KIND, visible(self.compiled, actor))
                 .order_by(d.c.id).limit(limit + 1))
        if after is not None:
            query = query.where(d.c.id > after)
        with self.engine.connect() as connection:
            rows = [dict(r._mapping) for r in connection.execute(query)]
        more = len(rows) > limit
        rows = rows[:limit]
        items = [{**{k: r[k] for k in COLUMNS},
                  "ticket": {k: r[k] for k in ("number", "title", "type", "category", "priority", "team_id",
                                              "assignee_id", "version")}} for r in rows]
        return items, rows[-1]["id"] if more else None

    def of_ticket(self, actor: Actor, ticket_id: int) -> list[dict[str, Any]]:
        _agents_only(actor)
        with self.engine.connect() as connection:
            load(connection, self.compiled, actor, ticket_id)
            rows = connection.execute(sa.select(*self._columns()).where(self.decisions.c.ticket_id == ticket_id)
                                      .order_by(self.decisions.c.id))
            return [dict(r._mapping) for r in rows]

    def _decision(self, connection: sa.Connection, actor: Actor, decision_id: int) -> dict[str, Any]:
        row = connection.execute(sa.select(*self._columns()).where(self.decisions.c.id == decision_id)).first()
        if row is None:
            msg = f"no AI decision {decision_id}"
            raise TicketNotFound(msg)
        decision = dict(row._mapping)
        try:
            load(connection, self.compiled, actor, decision["ticket_id"])
        except TicketNotFound:
            msg = f"no AI decision {decision_id}"  # a decision on a ticket one may not see does not exist for them
            raise TicketNotFound(msg) from None
        return decision

    def review(self, actor: Actor, decision_id: int, said: str, values: Mapping[str, Any] | None, version: int | None,
               channel: str, service: Updates) -> dict[str, Any]:
        """Accept a queued proposal (its changes are made as ``actor``), override it with ``values``, or dismiss it
        (nothing changes); returns the decision as it ends up."""
        _agents_only(actor)
        if said not in VERDICTS:
            raise InvalidTicket("unknown verdict", [{"field": "verdict", "reason": f"one of {', '.join(VERDICTS)}"}])
        with write_transaction(self.engine) as connection:
            decision = self._decision(connection, actor, decision_id)
            if decision["kind"] != KIND or decision["review"] != QUEUED:
                state = decision["review"] or ("applied" if decision["applied"] else "not queued")
                msg = f"AI decision {decision_id} is not waiting for review ({state})"
                raise AlreadyReviewed(msg)
            proposed = (decision["output"] or {}).get("changes") or {}
            changes = self._changes(said, proposed, values)
            if changes:
                if version is None:
                    raise InvalidTicket("version required", [{"field": "version", "reason": "send the ticket's "
                                                              "version, so that a change made meanwhile is not lost"}])
                service.update_in(connection, actor, decision["ticket_id"], {**changes, "version": version}, channel)
            # The ticket's update has marked the decision if it touched a proposed field; otherwise mark it here.
            now_review = connection.execute(sa.select(self.decisions.c.review).where(
                self.decisions.c.id == decision_id)).scalar()
            if now_review == QUEUED:
                mark = {"dismiss": DISMISSED, "accept": ACCEPTED}.get(said) or verdict(proposed, changes) or OVERRIDDEN
                self.feedback.mark(connection, decision_id, mark, actor, _now())
            return self._decision(connection, actor, decision_id)

    @staticmethod
    def _changes(said: str, proposed: Mapping[str, Any], values: Mapping[str, Any] | None) -> dict[str, Any]:
        if said == "dismiss":
            return {}
        if said == "accept":
            return {name: new for name, (_, new) in proposed.items()}
        if not values:
            raise InvalidTicket("nothing to override with", [{"field": "values", "reason": "give the values a person "
                                                              f"chose, of {', '.join(FIELDS)}"}])
        unknown = [name for name in values if name not in FIELDS]
        if unknown:
            raise InvalidTicket("not a triage field", [{"field": f"values.{name}", "reason": f"one of "
                                                        f"{', '.join(FIELDS)}"} for name in unknown])
        return dict(values)

    def retriage(self, actor: Actor, ticket_id: int) -> dict[str, Any]:
        """Ask the provider again, now; the proposal waits for a person (nothing is applied on request)."""
        _agents_only(actor)
        with self.engine.connect() as connection:
            ticket = self.triage.read(connection, ticket_id, actor)
        proposal = self.triage.propose(ticket)
        with write_transaction(self.engine) as connection:
            decision_id, _ = self.triage.settle(connection, ticket, proposal, now=_now(), may_apply=False)
            return self._decision(connection, actor, decision_id)
