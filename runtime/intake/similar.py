"""Near duplicates: a new ticket much like a recent one from the same requester or organization."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.intake.draft import Draft


@dataclass(frozen=True)
class Match:
    ticket_id: int
    score: float
    merge: bool  # above the type's merge threshold: the draft becomes a comment on this ticket


class NearDuplicates:
    def __init__(self, compiled: CompiledDesk) -> None:
        self.compiled = compiled

    def find(self, connection: sa.Connection, draft: Draft, requester_id: int | None, now: dt.datetime
             ) -> Match | None:
        return None

    def flag(self, connection: sa.Connection, ticket_id: int, match: Match, now: dt.datetime) -> None:
        """Record on the new ticket that it looks like ``match``'s, with the score."""
