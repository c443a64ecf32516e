"""A person's verdict on triage, recorded where the decision is: when someone changes a field that a triage
decision set or proposed, the decision is marked accepted (they chose what it proposed) or overridden (they chose
otherwise), by whom and when, in the same transaction as the change.

That verdict is the feedback the next ``cli.py ai train`` learns from: tickets whose triage a person reviewed are
training examples even while still open, labelled with what the person chose.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from runtime.ai.triage import FIELDS, KIND, QUEUED
from runtime.compile.desk import CompiledDesk
from runtime.tickets.actors import Actor
from runtime.tickets.errors import InvalidTicket

ACCEPTED, OVERRIDDEN, DISMISSED = "accepted", "overridden", "dismissed"


def verdict(proposed: Mapping[str, Any], chosen: Mapping[str, Any]) -> str | None:
    """``accepted`` when every proposed field the person set got the proposed value, ``overridden`` when one got
    another; None when they set none of the proposed fields. ``proposed``: field → [old, new] as stored."""
    touched = [name for name in chosen if name in proposed]
    if not touched:
        return None
    return ACCEPTED if all(chosen[name] == proposed[name][1] for name in touched) else OVERRIDDEN


class Feedback:
    def __init__(self, compiled: CompiledDesk) -> None:
        d = self.decisions = compiled.table("ai_decisions")
        self._open = sa.select(d.c.id, d.c.output, d.c.review).where(
            d.c.ticket_id == sa.bindparam("ticket"), d.c.kind == KIND,
            sa.or_(d.c.review == QUEUED, sa.and_(d.c.applied.is_(True), d.c.review.is_(None))))

    def fields_changed(self, connection: sa.Connection, ticket_id: int, changed: Mapping[str, tuple[Any, Any]],
                       actor: Actor, now: dt.datetime) -> None:
        if actor.kind == "system":
            return
        chosen = {name: new for name, (_, new) in changed.items() if name in FIELDS}
        if not chosen:
            return
        for row in connection.execute(self._open, {"ticket": ticket_id}):
            proposed = (row.output or {}).get("changes") or {}
            said = verdict(proposed, chosen)
            if said is None and row.review == QUEUED:
                # They triaged by hand what the queue held: their choice stands instead of the proposal.
                said = OVERRIDDEN
            if said is None or (said == ACCEPTED and row.review != QUEUED):
                continue  # an applied decision a person agrees with needs no mark
            self.mark(connection, row.id, said, actor, now)

    def reply_sent(self, connection: sa.Connection, actor: Actor, ticket_id: int, decision_id: int, body: str,
                   now: dt.datetime) -> None:
        """A reply was sent from suggestion ``decision_id``: accepted as drafted, overridden when edited."""
        d = self.decisions
        row = connection.execute(sa.select(d.c.output, d.c.kind, d.c.ticket_id, d.c.review).where(
            d.c.id == decision_id)).first()
        if row is None or row.kind != "reply" or row.ticket_id != ticket_id:
            raise InvalidTicket("no such suggestion", [{"field": "suggestion_id", "reason": f"no reply suggestion "
                                                        f"{decision_id} for this ticket"}])
        if row.review is not None:
            return
        same = " ".join(str((row.output or {}).get("body", "")).split()) == " ".join(body.split())
        self.mark(connection, decision_id, ACCEPTED if same else OVERRIDDEN, actor, now)
        connection.execute(sa.update(d).where(d.c.id == decision_id).values(applied=True))

    def mark(self, connection: sa.Connection, decision_id: int, review: str, actor: Actor, now: dt.datetime) -> None:
        d = self.decisions
        values: dict[str, Any] = {"review": review, "reviewed_by": actor.label, "reviewed_at": now}
        if review == OVERRIDDEN:
            values["overridden_by"] = actor.label
        connection.execute(sa.update(d).where(d.c.id == decision_id).values(**values))


def feedback_for(compiled: CompiledDesk) -> Feedback:
    return compiled.memo("ai.feedback", lambda: Feedback(compiled))
