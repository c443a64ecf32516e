"""Messages stored from many threads at once share commits, each thread gets its own row, one bad message
costs only itself; on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from runtime.intake.group_store import GroupedStore
from runtime.intake.store import Inbound, IntakeStore, Stored
from tests.intake.mail_fixtures import IntakeDesk, intake_desk


@pytest.fixture
def intake(tmp_path: Path, database_url: str) -> IntakeDesk:
    return intake_desk(tmp_path, database_url)


class CountingStore(IntakeStore):
    """The real store, counting its transactions; the first one waits until the other threads have queued."""

    def __init__(self, real: IntakeStore, grouped: list[GroupedStore], others: int) -> None:
        super().__init__(real.compiled, real.engine)
        self.batches: list[int] = []
        self.grouped, self.others = grouped, others

    def store(self, messages: Sequence[Inbound]) -> list[Stored]:
        if not self.batches:
            deadline = time.monotonic() + 10
            while len(self.grouped[0]._queue) < self.others and time.monotonic() < deadline:
                time.sleep(0.005)
        self.batches.append(len(messages))
        return super().store(messages)


def run_threads(grouped: GroupedStore, inbounds: list[Inbound]) -> dict[int, object]:
    results: dict[int, object] = {}

    def one(n: int) -> None:
        try:
            results[n] = grouped.store_one(inbounds[n])
        except Exception as exc:  # recorded for the assertions
            results[n] = exc

    threads = [threading.Thread(target=one, args=(n,)) for n in range(len(inbounds))]
    threads[0].start()
    time.sleep(0.05)  # the first thread commits alone and holds the others back until they have all queued
    for thread in threads[1:]:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_messages_arriving_together_share_a_commit_and_each_gets_its_row(intake: IntakeDesk) -> None:
    holder: list[GroupedStore] = []
    store = CountingStore(intake.pipeline.store, holder, others=19)
    grouped = GroupedStore(store)
    holder.append(grouped)
    inbounds = [Inbound("webhook", "monitoring", f"d-{n}", f'{{"n": {n}}}'.encode()) for n in range(20)]
    inbounds[7] = inbounds[3]  # the same delivery twice in one batch is stored once
    results = run_threads(grouped, inbounds)
    assert store.batches == [1, 19]
    rows = {r["external_id"]: r for r in intake.rows("intake_messages")}
    assert len(rows) == 19
    for n, inbound in enumerate(inbounds):
        stored = results[n]
        assert not isinstance(stored, Exception), stored
        assert stored.id == rows[inbound.external_id]["id"]  # type: ignore[attr-defined]
    assert sorted(results[n].new for n in (3, 7)) == [False, True]  # type: ignore[attr-defined]


def test_a_message_the_database_refuses_fails_alone(intake: IntakeDesk) -> None:
    holder: list[GroupedStore] = []
    store = CountingStore(intake.pipeline.store, holder, others=5)
    grouped = GroupedStore(store)
    holder.append(grouped)
    inbounds = [Inbound("webhook", "monitoring", f"e-{n}", b"{}") for n in range(6)]
    inbounds[4] = Inbound("webhook", "monitoring", "e-4", None)  # type: ignore[arg-type]  # raw may not be NULL
    results = run_threads(grouped, inbounds)
    assert isinstance(results[4], Exception)
    assert sorted(r["external_id"] for r in intake.rows("intake_messages")) == ["e-0", "e-1", "e-2", "e-3", "e-5"]
    assert all(not isinstance(results[n], Exception) for n in (0, 1, 2, 3, 5))
