"""Processing stored messages from any process (worker, poller, SMTP listener) without two of them running one
message at the same time."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from runtime.intake.claims import claims
from runtime.intake.pipeline import MailPipeline, Outcome
from runtime.intake.store import RECEIVED


class IntakeProcessor:
    def __init__(self, pipeline: MailPipeline) -> None:
        self.pipeline = pipeline
        table = pipeline.store.table
        # Every channel's: the pipeline picks each message's own stages.
        self._waiting = sa.select(table.c.id).where(table.c.state == RECEIVED).order_by(table.c.id).limit(
            sa.bindparam("limit"))
        self._state = sa.select(table.c.state).where(table.c.id == sa.bindparam("id"))

    def waiting(self, limit: int) -> list[int]:
        """The oldest messages still to process."""
        with self.pipeline.engine.connect() as connection:
            return list(connection.execute(self._waiting, {"limit": limit}).scalars())

    def process_waiting(self, limit: int) -> list[Outcome]:
        """Process up to ``limit`` of the oldest received messages that no other process holds."""
        return self.process(self.waiting(limit))

    def process(self, message_ids: Sequence[int]) -> list[Outcome]:
        """Process the given messages that are still waiting; those another process holds are left to it."""
        outcomes = []
        with claims(self.pipeline.engine) as held:
            for message_id in message_ids:
                if not held.claim(message_id):
                    continue
                try:
                    # Read after the claim: the process that held it a moment ago may have finished (or
                    # quarantined) it since the list was read, and a quarantined message waits for a person.
                    if self._still_waiting(message_id):
                        outcomes.append(self.pipeline.process(message_id))
                finally:
                    held.release(message_id)
        return outcomes

    def _still_waiting(self, message_id: int) -> bool:
        with self.pipeline.engine.connect() as connection:
            return connection.execute(self._state, {"id": message_id}).scalar() == RECEIVED
