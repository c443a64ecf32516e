"""Requesters' satisfaction ratings (CSAT 1-5 with an optional comment), one per ticket: a later rating replaces
the earlier one. Who may rate is decided by the caller from the ticket the service let them read."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.db.engine import write_transaction

SCORES = range(1, 6)
COMMENT_MAX = 2000
RATEABLE = ("resolved", "closed")  # status categories after which the requester is asked


@dataclass(frozen=True)
class Rating:
    score: int
    comment: str | None
    rated_at: dt.datetime


class Ratings:
    def __init__(self, compiled: CompiledDesk, engine: sa.Engine) -> None:
        self.engine = engine
        self.table = compiled.table("ticket_ratings")

    def of(self, ticket_id: int) -> Rating | None:
        t = self.table
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(t.c.score, t.c.comment, t.c.rated_at)
                                     .where(t.c.ticket_id == ticket_id)).first()
        return None if row is None else Rating(int(row.score), row.comment, row.rated_at)

    def rate(self, ticket_id: int, contact_id: int, score: int, comment: str | None) -> Rating:
        """Store the rating, replacing an earlier one of the ticket."""
        if score not in SCORES:
            msg = f"score {score} is not from 1 to 5"
            raise ValueError(msg)
        now = dt.datetime.now(dt.UTC)
        values: dict[str, Any] = {"contact_id": contact_id, "score": score, "comment": comment or None,
                                  "rated_at": now}
        t = self.table
        for _attempt in range(2):
            try:
                with write_transaction(self.engine) as connection:
                    changed = connection.execute(sa.update(t).where(t.c.ticket_id == ticket_id).values(**values))
                    if changed.rowcount == 0:
                        connection.execute(sa.insert(t).values(ticket_id=ticket_id, **values))
                break
            except sa.exc.IntegrityError:
                continue  # a rating sent twice at once was inserted first by the other: now it is updated
        return Rating(score, values["comment"], now)
