"""Work from many threads shares write transactions: one commit for all, each thread its own result or error, a
refused piece of work fails alone, a failed shared transaction is run again piece by piece, and no thread is left
waiting when the one writing for it is interrupted. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from runtime.db import group_commit as group_commit_module
from runtime.db.engine import make_engine, write_transaction
from runtime.db.group_commit import Alongside, GroupCommit, group_commit

metadata = sa.MetaData()
items = sa.Table("items", metadata, sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("name", sa.String(50), nullable=False, unique=True))
HANG_GUARD = 60.0  # seconds: far beyond any run; only a thread left waiting for ever reaches it


class Interrupted(BaseException):
    """As KeyboardInterrupt: not an Exception, so nothing on the way catches it."""


@pytest.fixture
def engine(tmp_path: Path, database_url: str) -> Iterator[sa.Engine]:
    engine = make_engine(database_url, tmp_path)
    metadata.create_all(engine)
    yield engine
    engine.dispose()


class Transactions:
    """Opens the group's write transactions and counts them. The first waits until ``others`` pieces of work have
    queued behind it, so that they join it (as work queued while a leader waits at the writer gate does); the one
    numbered ``fail_at`` fails as its commit would."""

    def __init__(self, engine: sa.Engine, others: int, fail_at: int | None = None) -> None:
        self.engine, self.others, self.fail_at = engine, others, fail_at
        self.group = GroupCommit(self)
        self.opened = 0

    @contextmanager
    def __call__(self) -> Iterator[sa.Connection]:
        number, self.opened = self.opened, self.opened + 1
        if number == 0:
            deadline = time.monotonic() + HANG_GUARD
            while self.group.waiting < self.others and time.monotonic() < deadline:
                time.sleep(0.002)
        with write_transaction(self.engine) as connection:
            yield connection
            if number == self.fail_at:
                msg = "the disk went away"
                raise OSError(msg)


def insert(name: str, then: Callable[[sa.Connection], object] | None = None) -> Callable[[sa.Connection], int]:
    def work(connection: sa.Connection) -> int:
        row_id = int(connection.execute(sa.insert(items).values(name=name).returning(items.c.id)).scalar_one())
        if then is not None:
            then(connection)
        return row_id

    return work


def run_all(transactions: Transactions, works: list[Callable[[sa.Connection], int]],
            alongside: list[Alongside[int] | None] | None = None) -> list[object]:
    """Each piece of work in a thread of its own, the first alone ahead of the others; each one's result or error.
    ``alongside``: each work's way to be done with like work (``GroupCommit.run``)."""
    outcomes: list[object] = [None] * len(works)
    together = alongside or [None] * len(works)

    def one(n: int) -> None:
        try:
            outcomes[n] = transactions.group.run(works[n], together[n])
        except BaseException as exc:  # recorded for the assertions, Interrupted included
            outcomes[n] = exc

    threads = [threading.Thread(target=one, args=(n,)) for n in range(len(works))]
    threads[0].start()
    deadline = time.monotonic() + HANG_GUARD
    while transactions.opened == 0 and time.monotonic() < deadline:
        time.sleep(0.002)  # the first is writing alone: the others queue behind it
    for thread in threads[1:]:
        thread.start()
    for thread in threads:
        thread.join(HANG_GUARD)
    assert not any(thread.is_alive() for thread in threads), "a thread is still waiting for its work"
    return outcomes


def names(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {row.name: row.id for row in connection.execute(sa.select(items))}


def test_work_arriving_together_shares_one_transaction_and_each_gets_its_own_result(engine: sa.Engine) -> None:
    transactions = Transactions(engine, others=7)
    outcomes = run_all(transactions, [insert(f"item {n}") for n in range(8)])
    assert transactions.opened == 1  # the seven that queued while the first's transaction was opened joined it
    stored = names(engine)
    assert outcomes == [stored[f"item {n}"] for n in range(8)]


def take(engine: sa.Engine, name: str) -> None:
    """A name stored before the test: work inserting it again is refused."""
    with engine.begin() as connection:
        connection.execute(sa.insert(items).values(name=name))


def test_work_the_database_refuses_fails_alone_and_leaves_nothing_behind(engine: sa.Engine) -> None:
    take(engine, "taken")
    transactions = Transactions(engine, others=5)

    def take_twice(connection: sa.Connection) -> object:
        return connection.execute(sa.insert(items).values(name="taken"))

    works = [insert(f"item {n}") for n in range(6)]
    works[3] = insert("written before the refusal", then=take_twice)
    outcomes = run_all(transactions, works)
    assert transactions.opened == 1
    assert isinstance(outcomes[3], sa.exc.IntegrityError)
    stored = names(engine)
    assert "written before the refusal" not in stored  # its savepoint was rolled back, and only it
    assert [outcomes[n] for n in (0, 1, 2, 4, 5)] == [stored[f"item {n}"] for n in (0, 1, 2, 4, 5)]


@pytest.mark.parametrize("waiting", ["threads", "coroutines"])
def test_a_shared_transaction_that_fails_is_run_again_job_by_job(engine: sa.Engine, waiting: str) -> None:
    """Threads each run their own again; the writer thread runs the coroutines' again for them."""
    transactions = Transactions(engine, others=5, fail_at=0)
    outcomes = (run_all if waiting == "threads" else run_all_async)(transactions,
                                                                     [insert(f"item {n}") for n in range(6)])
    assert transactions.opened == 1 + 6  # the failed batch, then each of its six alone
    stored = names(engine)
    assert len(stored) == 6
    assert outcomes == [stored[f"item {n}"] for n in range(6)]


class InsertMany:
    """Work done alongside: the names of several inserts in one statement; ``fail`` makes it write, then raise."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.calls: list[list[str]] = []

    def __call__(self, connection: sa.Connection, names: list[str]) -> list[int]:
        self.calls.append(names)
        connection.execute(sa.insert(items), [{"name": name} for name in names])
        if self.fail:
            msg = "refused after writing"
            raise RuntimeError(msg)
        found = dict(connection.execute(sa.select(items.c.name, items.c.id).where(items.c.name.in_(names))).all())
        return [found[name] for name in names]


def test_like_work_in_one_transaction_is_done_by_one_call_with_results_in_order(engine: sa.Engine) -> None:
    transactions = Transactions(engine, others=5)
    many, other = InsertMany(), InsertMany()
    works = [insert(f"item {n}") for n in range(6)]
    alongside: list[Alongside[int] | None] = [(many, f"item {n}") for n in range(6)]
    alongside[4] = None  # work of another kind runs on its own
    alongside[5] = (other, "item 5")  # the only one of its kind: its own work does it
    outcomes = run_all(transactions, works, alongside)
    assert transactions.opened == 1
    assert len(many.calls) == 1
    assert sorted(many.calls[0]) == [f"item {n}" for n in range(4)]
    assert other.calls == []
    stored = names(engine)
    assert outcomes == [stored[f"item {n}"] for n in range(6)]


def test_like_work_that_fails_together_is_done_one_by_one_and_a_refusal_stays_its_own(engine: sa.Engine) -> None:
    take(engine, "taken")
    transactions = Transactions(engine, others=4)
    many = InsertMany(fail=True)
    names_given = ["item 0", "item 1", "taken", "item 3", "item 4"]
    outcomes = run_all(transactions, [insert(name) for name in names_given], [(many, name) for name in names_given])
    assert transactions.opened == 1
    assert len(many.calls) == 1  # tried together once; what it wrote before failing was rolled back
    assert isinstance(outcomes[2], sa.exc.IntegrityError)
    stored = names(engine)
    assert sorted(stored) == ["item 0", "item 1", "item 3", "item 4", "taken"]
    assert [outcomes[n] for n in (0, 1, 3, 4)] == [stored[names_given[n]] for n in (0, 1, 3, 4)]


def interrupt(_connection: sa.Connection) -> object:
    raise Interrupted


def with_interruption() -> list[Callable[[sa.Connection], int]]:
    """Six inserts, the third of which raises ``Interrupted`` once it has written."""
    works = [insert(f"item {n}") for n in range(6)]
    works[2] = insert("interrupted", then=interrupt)
    return works


def test_an_interrupted_writer_leaves_no_thread_waiting(engine: sa.Engine) -> None:
    transactions = Transactions(engine, others=5)

    works = with_interruption()
    outcomes = run_all(transactions, works)  # fails if any thread is still waiting
    interrupted = [n for n, outcome in enumerate(outcomes) if isinstance(outcome, Interrupted)]
    # The interrupted work, and the thread that was writing the batch when it was interrupted (perhaps the same);
    # every other thread ran its work again alone.
    assert 2 in interrupted
    assert len(interrupted) <= 2
    stored = names(engine)
    assert "interrupted" not in stored
    for n, outcome in enumerate(outcomes):
        if n not in interrupted:
            assert outcome == stored[f"item {n}"]
    assert len(stored) == 6 - len(interrupted)
    assert transactions.group.waiting == 0


def test_in_memory_sqlite_runs_each_thread_work_in_its_own_transaction() -> None:
    """Every thread has a database of its own there: work run on another thread's connection would be lost."""
    engine = sa.create_engine("sqlite://")
    try:
        group = group_commit(engine)
        assert group is group_commit(engine)
        metadata.create_all(engine)
        assert group.run(insert("alone")) == 1
        assert names(engine) == {"alone": 1}
    finally:
        engine.dispose()


def run_all_async(transactions: Transactions, works: list[Callable[[sa.Connection], int]],
                  alongside: list[Alongside[int] | None] | None = None, *,
                  abandoned: frozenset[int] = frozenset()) -> list[object]:
    """As ``run_all``, each piece of work awaited by a coroutine of its own on one event loop (``run_async``): the
    process's writer thread writes them. The coroutines numbered in ``abandoned`` are cancelled while their work is
    queued, as when a client goes away; their outcome is None."""
    together = alongside or [None] * len(works)

    async def one(n: int) -> object:
        try:
            return await transactions.group.run_async(works[n], together[n])
        except Exception as exc:  # recorded for the assertions
            return exc

    async def main() -> list[object]:
        first = asyncio.ensure_future(one(0))
        deadline = time.monotonic() + HANG_GUARD
        while transactions.opened == 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.002)  # the first is being written alone: the others queue behind it
        others = [asyncio.ensure_future(one(n)) for n in range(1, len(works))]
        await asyncio.sleep(0)  # every coroutine has queued its work
        for n in abandoned:
            others[n - 1].cancel()
        done = await asyncio.wait_for(asyncio.gather(first, *others, return_exceptions=True), HANG_GUARD)
        return [None if isinstance(outcome, asyncio.CancelledError) else outcome for outcome in done]

    return asyncio.run(main())


def test_coroutines_work_is_written_together_by_the_writer_thread(engine: sa.Engine) -> None:
    take(engine, "taken")
    transactions = Transactions(engine, others=5)
    many = InsertMany()
    names_given = ["item 0", "item 1", "taken", "item 3", "item 4", "item 5"]
    writers: set[str] = set()

    def noted(name: str) -> Callable[[sa.Connection], int]:
        work = insert(name)

        def run(connection: sa.Connection) -> int:
            writers.add(threading.current_thread().name)
            return work(connection)

        return run

    alongside: list[Alongside[int] | None] = [(many, name) for name in names_given]
    alongside[0] = None  # the first is written alone, ahead of the others
    outcomes = run_all_async(transactions, [noted(name) for name in names_given], alongside)
    assert transactions.opened == 1  # the five that queued while the first's transaction was opened joined it
    assert writers == {"tessera-writer"}
    # Done together first; that failed on the name already taken, and then each on its own: the refusal is its own.
    assert len(many.calls) == 1
    assert isinstance(outcomes[2], sa.exc.IntegrityError)
    stored = names(engine)
    assert sorted(stored) == ["item 0", "item 1", "item 3", "item 4", "item 5", "taken"]
    assert [outcomes[n] for n in (0, 1, 3, 4, 5)] == [stored[names_given[n]] for n in (0, 1, 3, 4, 5)]
    assert transactions.group.waiting == 0


def test_a_coroutine_gone_away_is_still_written_and_the_others_are_told(engine: sa.Engine) -> None:
    transactions = Transactions(engine, others=5)
    outcomes = run_all_async(transactions, [insert(f"item {n}") for n in range(6)], abandoned=frozenset({3}))
    stored = names(engine)
    assert len(stored) == 6  # its work was under way: it is written, as a thread's would be
    assert outcomes[3] is None
    assert [outcomes[n] for n in (0, 1, 2, 4, 5)] == [stored[f"item {n}"] for n in (0, 1, 2, 4, 5)]


def test_work_interrupting_the_writer_thread_fails_alone_and_the_writer_goes_on(engine: sa.Engine) -> None:
    transactions = Transactions(engine, others=5)

    works = with_interruption()
    outcomes = run_all_async(transactions, works)
    assert isinstance(outcomes[2], RuntimeError)
    assert isinstance(outcomes[2].__cause__, Interrupted)
    stored = names(engine)
    assert "interrupted" not in stored
    assert [outcomes[n] for n in (0, 1, 3, 4, 5)] == [stored[f"item {n}"] for n in (0, 1, 3, 4, 5)]
    # The writer thread is still there for the next coroutine.
    later = asyncio.run(asyncio.wait_for(transactions.group.run_async(insert("later")), HANG_GUARD))
    assert later == names(engine)["later"]


def test_threads_and_coroutines_share_one_transaction(engine: sa.Engine) -> None:
    transactions = Transactions(engine, others=6)
    thread_outcomes: list[object] = []
    leader = threading.Thread(target=lambda: thread_outcomes.append(transactions.group.run(insert("by a thread"))))
    leader.start()
    deadline = time.monotonic() + HANG_GUARD
    while transactions.opened == 0 and time.monotonic() < deadline:
        time.sleep(0.002)  # the thread leads; the coroutines' work queues behind it and joins its transaction

    async def coroutines() -> list[int]:
        return list(await asyncio.gather(*(transactions.group.run_async(insert(f"item {n}")) for n in range(6))))

    outcomes = asyncio.run(asyncio.wait_for(coroutines(), HANG_GUARD))
    leader.join(HANG_GUARD)
    assert transactions.opened == 1
    stored = names(engine)
    assert thread_outcomes == [stored["by a thread"]]
    assert outcomes == [stored[f"item {n}"] for n in range(6)]


def test_an_idle_writer_thread_ends_and_the_next_coroutine_starts_another(
        engine: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(group_commit_module, "WRITER_IDLE", 0.05)
    group = GroupCommit(lambda: write_transaction(engine))

    def writers() -> list[threading.Thread]:
        return [thread for thread in threading.enumerate() if thread.name == "tessera-writer"]

    before = set(writers())
    assert asyncio.run(asyncio.wait_for(group.run_async(insert("first")), HANG_GUARD)) == names(engine)["first"]
    [first] = set(writers()) - before
    first.join(HANG_GUARD)
    assert not first.is_alive()  # nothing more came: it ended
    assert asyncio.run(asyncio.wait_for(group.run_async(insert("second")), HANG_GUARD)) == names(engine)["second"]
