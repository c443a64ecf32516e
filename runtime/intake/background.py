"""Stored messages processed in a thread of their own, so that whoever stored them (the SMTP listener's answer)
does not wait. What is still queued when the thread stops stays ``received`` for the worker."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Sequence

from runtime.intake.processing import IntakeProcessor

log = logging.getLogger("tessera.intake")


class BackgroundProcessing:
    def __init__(self, processor: IntakeProcessor) -> None:
        self.processor = processor
        self.queue: queue.Queue[list[int] | None] = queue.Queue()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="intake-processing", daemon=True)

    def start(self) -> BackgroundProcessing:
        self.thread.start()
        return self

    def submit(self, message_ids: Sequence[int]) -> None:
        self.queue.put(list(message_ids))

    def stop(self) -> None:
        """Finish the messages at hand and stop; the rest waits in the database."""
        self.stopping.set()
        self.queue.put(None)
        self.thread.join()

    def _run(self) -> None:
        while (ids := self.queue.get()) is not None and not self.stopping.is_set():
            try:
                self.processor.process(ids)
            except Exception:  # the database went away, say: the messages stay received, the worker retries
                log.exception("processing intake messages %s failed; they wait for the worker", ids)
