"""Storing messages that arrive at the same time on many threads (web requests) with one commit for all of them.

Every stored message must be on disk before its sender hears "accepted", and on SQLite the wait for the disk
is most of what storing costs. So the first thread to arrive commits what it brought; threads that arrive
while that commit runs queue up, and when it is done one of them commits everything queued at once, and so on.
Nobody waits for a timer: alone, a message is committed at once; under load, one commit carries many.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from runtime.intake.store import Inbound, IntakeStore, Stored


@dataclass
class _Waiting:
    inbound: Inbound
    stored: Stored | None = None
    error: BaseException | None = None

    @property
    def done(self) -> bool:
        return self.stored is not None or self.error is not None


class GroupedStore:
    def __init__(self, store: IntakeStore) -> None:
        self.store = store
        self._changed = threading.Condition()
        self._queue: list[_Waiting] = []
        self._committing = False

    def store_one(self, inbound: Inbound) -> Stored:
        waiting = _Waiting(inbound)
        with self._changed:
            self._queue.append(waiting)
            while self._committing and not waiting.done:
                self._changed.wait()
            if not waiting.done:
                self._committing = True
                batch, self._queue = self._queue, []
        if not waiting.done:
            try:
                self._commit(batch)
            finally:
                with self._changed:
                    self._committing = False
                    self._changed.notify_all()
        if waiting.error is not None:
            raise waiting.error
        assert waiting.stored is not None
        return waiting.stored

    def _commit(self, batch: list[_Waiting]) -> None:
        try:
            for item, stored in zip(batch, self.store.store([w.inbound for w in batch]), strict=True):
                item.stored = stored
            return
        except Exception:
            if len(batch) == 1:
                raise
        for item in batch:
            try:
                item.stored = self.store.store([item.inbound])[0]
            except Exception as exc:
                item.error = exc
