"""Near duplicates: a new ticket much like a recent open one from the same requester or their organization.

The candidates are the open or paused tickets created within ``intake.near_duplicates.window`` by the
requester or anyone of the requester's organization, the most recent first and at most ``CANDIDATES`` of
them, so that a busy organization costs no more than a quiet one. Each is scored against the draft by
``likeness`` (title and new text, see there); the best from ``flag_at`` on is a match.

A match is only flagged (a ``similar`` link with its score, and an audit event on the new ticket), unless the
draft's type sets ``merge_duplicates_above`` and the score exceeds it for a ticket of the same type and the same
requester: then the draft becomes a comment there. A colleague's ticket is never merged into: the sender may not
be able to see it, and the two may be different people's problems worded alike.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.intake.draft import Draft
from runtime.intake.likeness import TEXT_CHARS, profile, similarity
from runtime.tickets import audit
from runtime.tickets.actors import SYSTEM
from runtime.tickets.relations import SIMILAR

CANDIDATES = 50
LIVE = ("open", "paused")


@dataclass(frozen=True)
class Match:
    ticket_id: int
    number: str
    score: float
    merge: bool  # above the type's merge threshold: the draft becomes a comment on this ticket
    channel: str  # the draft's, for the audit trail of the flag


def _candidates(compiled: CompiledDesk) -> sa.Select[Any]:
    def build() -> sa.Select[Any]:
        tickets, contacts = compiled.table("tickets"), compiled.table("contacts")
        requester: sa.BindParameter[int] = sa.bindparam("requester")
        organization = sa.select(contacts.c.organization_id).where(contacts.c.id == requester).scalar_subquery()
        return (sa.select(tickets.c.id, tickets.c.number, tickets.c.type, tickets.c.requester_id, tickets.c.title,
                          sa.func.substr(tickets.c.description, 1, TEXT_CHARS).label("description"))
                .where(tickets.c.status_category.in_(LIVE), tickets.c.created_at >= sa.bindparam("since"),
                       sa.or_(tickets.c.requester_id == requester, tickets.c.organization_id == organization))
                .order_by(tickets.c.created_at.desc(), tickets.c.id.desc()).limit(CANDIDATES))

    return compiled.memo("intake.near_candidates", build)


class NearDuplicates:
    def __init__(self, compiled: CompiledDesk) -> None:
        self.compiled = compiled
        self.settings = compiled.definitions.project.intake
        self.events = compiled.table("ticket_events")
        self._candidates = _candidates(compiled)
        links = compiled.table("ticket_links")
        self._link = compiled.memo("intake.similar_link", lambda: sa.insert(links))

    def find(self, connection: sa.Connection, draft: Draft, requester_id: int | None, now: dt.datetime
             ) -> Match | None:
        if requester_id is None:
            return None
        since = now - dt.timedelta(seconds=self.settings.near_window_seconds)
        rows = connection.execute(self._candidates, {"requester": requester_id, "since": since}).all()
        if not rows:
            return None
        mine = profile(str(draft.payload.get("title") or ""), str(draft.payload.get("description") or ""))
        scored = [(similarity(mine, profile(row.title, row.description or "")), row) for row in rows]
        flagged = [(score, row) for score, row in scored if score >= self.settings.near_flag_at]
        if not flagged:
            return None
        ticket_type = self.compiled.definitions.ticket_type(draft.ticket_type)
        above = ticket_type.merge_duplicates_above if ticket_type else None
        mergeable = [(score, row) for score, row in flagged if above is not None and score > above and
                     row.type == draft.ticket_type and row.requester_id == requester_id]
        # max keeps the first of equals, and the rows come most recent first.
        score, row = max(mergeable or flagged, key=lambda pair: pair[0])
        return Match(int(row.id), str(row.number), score, bool(mergeable), draft.channel)

    def flag(self, connection: sa.Connection, ticket_id: int, match: Match, now: dt.datetime) -> None:
        """Record on the new ticket that it looks like ``match``'s, with the score."""
        score = round(match.score, 3)
        connection.execute(self._link, {"ticket_id": ticket_id, "other_id": match.ticket_id, "relation": SIMILAR,
                                        "created_at": now, "score": score})
        audit.record(connection, self.events, ticket_id, SYSTEM, match.channel, "near_duplicate",
                     {"similar_to": (None, f"possible duplicate of {match.number} (score {score:.2f})")}, now)
