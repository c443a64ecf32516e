"""The worker's part in intake: poll the IMAP mailboxes that are due, then process stored messages, a bounded
batch per round so that the SLA sweep and the jobs keep their pace behind a backlog."""

from __future__ import annotations

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.intake.imap_poll import ImapPolling
from runtime.intake.pipeline import MailPipeline
from runtime.intake.processing import IntakeProcessor

BATCH = 50  # messages per round


class IntakeDuty:
    def __init__(self, compiled: CompiledDesk, engine: sa.Engine, batch: int = BATCH) -> None:
        pipeline = MailPipeline(compiled, engine)
        self.polling = ImapPolling(pipeline)
        self.processor = IntakeProcessor(pipeline)
        self.batch = batch

    def run_round(self) -> bool:
        """One round; True when it did a full batch and more is waiting (the worker goes on without pausing)."""
        self.polling.poll_due()
        waiting = self.processor.waiting(self.batch + 1)
        done = self.processor.process(waiting[:self.batch])
        # Only progress counts: a worker whose messages another one holds pauses like an idle one.
        return len(done) == self.batch and len(waiting) > self.batch

    def wait(self, seconds: float) -> None:
        """The worker's pause between rounds, cut short when an idling mailbox reports mail."""
        self.polling.wait(seconds)

    def close(self) -> None:
        self.polling.close()
