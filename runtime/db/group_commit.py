"""Write transactions shared by the threads that need one at the same time: one commit for all of them.

On SQLite every commit waits for the disk (an fsync of about 2 ms) while it holds the one write lock, so tickets
committed one by one cap every process together at a few hundred per second. Here the first thread to arrive
runs its work in a transaction at once; threads that arrive meanwhile queue up, and when that transaction is done
one of them (the leader) runs everything queued in one transaction and commits once; work queued while the leader
waits for its transaction to open (another process's at the writer gate) joins it. Nobody waits for a timer:
alone, work is committed at once; under load, one commit carries many.

In a shared transaction each piece of work runs in a savepoint of its own, so that one the database refuses (a
unique value already taken, a row it refers to deleted meanwhile) is rolled back and fails alone while the others
commit. If the shared transaction fails as a whole (it could not begin, or commit), nothing of it was written and
each thread runs its own work again in a transaction of its own, where any failure is its own. Every thread
learns its outcome from the leader before the leader lets go of the batch, so none waits for work that will not
be done.

Coroutines queue their work too (``run_async``) without holding a thread each: the process's writer thread leads
for them, and whichever leader writes their work tells each one's event loop once per batch. A create on SQLite
is drafted on the event loop and written this way, so that a process has two threads wanting the GIL, the loop and
the writer, instead of a pool of handler threads taking it in turns with the writer while it holds the write lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import weakref
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Generic, TypeVar

import sqlalchemy as sa

from runtime.db.engine import write_transaction, writer_gate

T = TypeVar("T")
Work = Callable[[sa.Connection], T]
Transaction = Callable[[], AbstractContextManager[sa.Connection]]
# How a job can be done together with like jobs of the same batch: a function doing the work of many items in one
# go (returning their results in order), and this job's item.
Alongside = tuple[Callable[[sa.Connection, list[Any]], list[T]], Any]

# Work items in one transaction at most: the write lock is held for all of them, and the first waits for the last.
MOST = 50
# Seconds the writer thread waits for coroutines' work before it ends (a test suite makes many engines, each with
# its own writer; a server's process makes one).
WRITER_IDLE = 10.0
SAVEPOINT, RELEASE, ROLLBACK_TO = "SAVEPOINT job", "RELEASE SAVEPOINT job", "ROLLBACK TO SAVEPOINT job"
log = logging.getLogger("tessera.db")


class _Job(Generic[T]):
    __slots__ = ("alone", "alongside", "done", "error", "result", "waiter", "work")

    def __init__(self, work: Work[T], alongside: Alongside[T] | None = None,
                 waiter: asyncio.Future[T] | None = None) -> None:
        self.work = work
        self.alongside = alongside
        # A coroutine awaiting the job (``run_async``) instead of a thread: told its outcome through its loop.
        self.waiter = waiter
        self.result: T | None = None
        self.error: Exception | None = None
        self.done = False
        # The shared transaction failed as a whole: the job's own thread runs it again, in a transaction of its own.
        self.alone = False

    @property
    def settled(self) -> bool:
        return self.done or self.alone


class GroupCommit:
    """Runs the work of concurrent threads in shared write transactions; one per engine and process."""

    def __init__(self, transaction: Transaction, *, most: int = MOST) -> None:
        self.transaction = transaction  # opens one write transaction (tests wrap it to hold or fail a batch)
        self.most = most
        self._changed = threading.Condition()
        self._queue: list[_Job[Any]] = []
        self._leading = False
        self._writer: threading.Thread | None = None  # leads for coroutines (``run_async``), started on first use

    @property
    def waiting(self) -> int:
        """Jobs queued behind the transaction in progress."""
        with self._changed:
            return len(self._queue)

    def run(self, work: Work[T], alongside: Alongside[T] | None = None) -> T:
        """``work(connection)`` in a write transaction, perhaps shared; its result once committed, or its error.

        ``alongside`` (``(many, item)``): when the shared transaction holds other jobs with the same ``many``, they
        are done by one call ``many(connection, items)`` in a savepoint of their own; should it fail, each of them
        is done by its own ``work`` in its own savepoint instead, so the outcome is as if they had run one by one."""
        job: _Job[T] = _Job(work, alongside)
        with self._changed:
            self._queue.append(job)
            while self._leading and not job.settled:
                self._changed.wait()
            batch: list[_Job[Any]] = []
            if not job.settled:
                self._leading = True
                self._queue.remove(job)
                batch, self._queue = [job, *self._queue[:self.most - 1]], self._queue[self.most - 1:]
        if batch:
            self._lead(batch)
        if job.alone:
            with self.transaction() as connection:
                return work(connection)
        if job.error is not None:
            raise job.error
        return job.result  # type: ignore[return-value]

    async def run_async(self, work: Work[T], alongside: Alongside[T] | None = None) -> T:
        """As ``run``, for a coroutine: the work is queued for this process's writer thread, which leads batches
        as any thread does, and the coroutine awaits its outcome without holding a thread of its own."""
        waiter: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        with self._changed:
            self._queue.append(_Job(work, alongside, waiter))
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_queued, name="tessera-writer", daemon=True)
                self._writer.start()
            self._changed.notify_all()
        return await waiter

    def _write_queued(self) -> None:
        while True:
            with self._changed:
                while self._leading or not self._queue:
                    if not self._changed.wait(WRITER_IDLE) and not self._queue:
                        self._writer = None  # the next coroutine's work starts another
                        return
                self._leading = True
                batch, self._queue = self._queue[:self.most], self._queue[self.most:]
            try:
                self._lead(batch)
            except BaseException:  # raised past Exception by some work: its waiter is answered, the next may come
                log.exception("the writer thread's batch was interrupted")

    def _lead(self, batch: list[_Job[Any]]) -> None:
        """Write ``batch`` as its leader (``_leading`` already set), then hand the lead on and tell the waiters."""
        try:
            self._write(batch)
        finally:
            with self._changed:
                for other in batch:
                    if not other.settled:  # only if the leader itself was interrupted (KeyboardInterrupt, say)
                        other.alone = True
                self._leading = False
                self._changed.notify_all()
            self._answer([job for job in batch if job.waiter is not None])

    def _answer(self, jobs: list[_Job[Any]]) -> None:
        """Tell coroutines their jobs' outcomes, each loop once; a job the shared transaction failed is done here
        again, alone, first (a thread does that itself)."""
        by_loop: dict[asyncio.AbstractEventLoop, list[_Job[Any]]] = {}
        for job in jobs:
            if job.alone:
                try:
                    with self.transaction() as connection:
                        job.result = job.work(connection)
                except Exception as exc:
                    job.error = exc
                except BaseException as exc:  # not for a future; and the other waiters must still be told
                    job.error = RuntimeError("the write was interrupted")
                    job.error.__cause__ = exc
            assert job.waiter is not None
            by_loop.setdefault(job.waiter.get_loop(), []).append(job)
        for loop, told in by_loop.items():
            with contextlib.suppress(RuntimeError):  # its loop is closed: nobody is left waiting there
                loop.call_soon_threadsafe(_settle, told)

    def _write(self, batch: list[_Job[Any]]) -> None:
        outcomes: list[tuple[_Job[Any], Any, Exception | None]] = []
        try:
            with self.transaction() as connection:
                self._join(batch)
                if len(batch) == 1:
                    batch[0].result = batch[0].work(connection)
                else:
                    self._each_in_savepoint(connection, batch, outcomes)
        except Exception as exc:
            if len(batch) == 1:  # its own transaction: the failure is its own
                batch[0].error = exc
                batch[0].done = True
                return
            log.warning("a shared write transaction of %d jobs failed; each runs again alone", len(batch),
                        exc_info=True)
            for job in batch:
                job.alone = True
            return
        if len(batch) == 1:
            batch[0].done = True
            return
        for job, result, error in outcomes:
            job.result, job.error, job.done = result, error, True

    def _join(self, batch: list[_Job[Any]]) -> None:
        """Work queued while the transaction was opened joins it: on SQLite the leader may have waited for another
        process's transaction at the writer gate, and every commit writes (and syncs) the pages it changed, so one
        commit for more creates costs less per create."""
        with self._changed:
            room = self.most - len(batch)
            if room > 0 and self._queue:
                batch += self._queue[:room]
                del self._queue[:room]

    @staticmethod
    def _each_in_savepoint(connection: sa.Connection, batch: list[_Job[Any]],
                           outcomes: list[tuple[_Job[Any], Any, Exception | None]]) -> None:
        # Straight to the driver: SQLAlchemy's begin_nested compiles its SAVEPOINT and RELEASE afresh each time,
        # which costs more than the rest of a small job's statements.
        driver = connection.connection.driver_connection
        assert driver is not None
        kinds: dict[Callable[..., Any], list[_Job[Any]]] = {}
        for job in batch:
            if job.alongside is not None:
                kinds.setdefault(job.alongside[0], []).append(job)
        one_by_one = [job for job in batch if job.alongside is None]
        for many, jobs in kinds.items():
            if len(jobs) < 2 or not GroupCommit._all_at_once(connection, driver, many, jobs, outcomes):
                one_by_one += jobs
        for job in one_by_one:
            driver.execute(SAVEPOINT)
            try:
                result = job.work(connection)
            except Exception as exc:
                # If the rollback fails too, the transaction is beyond repair: the whole batch goes again.
                driver.execute(ROLLBACK_TO)
                driver.execute(RELEASE)
                outcomes.append((job, None, exc))
            else:
                driver.execute(RELEASE)
                outcomes.append((job, result, None))

    @staticmethod
    def _all_at_once(connection: sa.Connection, driver: Any, many: Callable[[sa.Connection, list[Any]], list[Any]],
                     jobs: list[_Job[Any]], outcomes: list[tuple[_Job[Any], Any, Exception | None]]) -> bool:
        """Do ``jobs`` with one call of ``many`` in a savepoint; False (nothing of it kept) if that failed."""
        driver.execute(SAVEPOINT)
        try:
            results = many(connection, [job.alongside[1] for job in jobs])  # type: ignore[index]
            if len(results) != len(jobs):
                msg = f"{len(results)} results for {len(jobs)} jobs"
                raise RuntimeError(msg)
        except Exception:
            log.info("%d jobs done together failed; each runs on its own", len(jobs), exc_info=True)
            driver.execute(ROLLBACK_TO)
            driver.execute(RELEASE)
            return False
        driver.execute(RELEASE)
        outcomes.extend((job, result, None) for job, result in zip(jobs, results, strict=True))
        return True


def _settle(jobs: list[_Job[Any]]) -> None:
    for job in jobs:
        waiter = job.waiter
        if waiter is None or waiter.done():  # its request went away meanwhile
            continue
        if job.error is not None:
            waiter.set_exception(job.error)
        else:
            waiter.set_result(job.result)


class _Alone(GroupCommit):
    """Each thread's work in its own transaction: for in-memory SQLite, where every thread has its own database."""

    def run(self, work: Work[T], alongside: Alongside[T] | None = None) -> T:  # noqa: ARG002 - always alone
        with self.transaction() as connection:
            return work(connection)


_groups: weakref.WeakKeyDictionary[sa.Engine, GroupCommit] = weakref.WeakKeyDictionary()
_groups_lock = threading.Lock()


def _alive(held: weakref.ref[sa.Engine]) -> sa.Engine:
    engine = held()
    assert engine is not None  # the group is only reached through its engine
    return engine


def group_commit(engine: sa.Engine) -> GroupCommit:
    """The engine's shared writer in this process: every service writing through it shares its transactions."""
    group = _groups.get(engine)
    if group is None:
        with _groups_lock:
            group = _groups.get(engine)
            if group is None:
                shared = engine.dialect.name == "postgresql" or writer_gate(engine) is not None
                # Weakly: the group lives as long as its engine, and a closure holding the engine would keep both.
                held = weakref.ref(engine)
                group = (GroupCommit if shared else _Alone)(lambda: write_transaction(_alive(held)))
                _groups[engine] = group
    return group
