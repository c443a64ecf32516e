"""Engines for SQLite (the embedded default) and PostgreSQL (the scale path)."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: threads are still serialized, processes by SQLite alone
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("tessera.db")
MMAP_SIZE = 2**30  # bytes of a SQLite database file read through a memory map
GATE_TIMEOUT = 5.0  # seconds, as PRAGMA busy_timeout: after that a writer goes on and lets SQLite decide
AUTOCHECKPOINT = 1000  # log pages after which a commit outside ``write_transaction`` checkpoints (SQLite's default)
# ``write_transaction``'s commits of one process between the log checkpoints it runs itself, after the write lock: a
# batch of creates adds about 50-70 pages to the log: with two processes, about as often as SQLite's own would be.
CHECKPOINT_EVERY = 32


def database_url(url: str, root: Path) -> str:
    """Resolve a relative SQLite path against the desk's folder and make sure its folder exists."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database or "")
        if not path.is_absolute():
            path = root / path
        path.parent.mkdir(parents=True, exist_ok=True)
        return parsed.set(database=str(path)).render_as_string(hide_password=False)
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def _sqlite_pragmas(dbapi_connection: Any, record: Any) -> None:
    # Transactions are begun by us (below), not by the driver, so that writers can take the write lock
    # up front: a deferred transaction that reads first and writes later fails under concurrent writers.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the single writer; foreign keys are off by default in SQLite.
    mode = cursor.execute("PRAGMA journal_mode=WAL").fetchone()
    record.info[IN_WAL] = bool(mode) and str(mode[0]).lower() == "wal"
    # FULL: every commit is on disk before it is acknowledged, so an accepted message survives a power cut.
    # NORMAL would be faster (no fsync per commit) but could lose the last commits; intake must never do that.
    # (``write_transaction`` commits with NORMAL and syncs the log itself once the write lock is let go.)
    cursor.execute("PRAGMA synchronous=FULL")
    # Read the file through a memory map shared by all connections instead of each one's 2 MB page cache: a list
    # over 100,000 tickets counts its matches three times faster. (Address space only; the OS caches the pages.)
    cursor.execute(f"PRAGMA mmap_size={MMAP_SIZE}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


WRITE_BEGIN = "tessera_write"  # set on a pooled connection's info by ``write_transaction``, taken by the BEGIN
IN_WAL = "tessera_wal"  # on a pooled SQLite connection's info: its database keeps a write-ahead log


def _sqlite_begin(dbapi_connection: Any) -> None:
    # The dialect's own hook rather than a "begin" event listener: any listener on the engine makes every
    # statement dispatch its execute events, a few microseconds each, a dozen times per ticket created.
    # SQLAlchemy wraps what this raises (a busy database, say) as it would a statement's error.
    immediate = dbapi_connection.info.pop(WRITE_BEGIN, False)
    dbapi_connection.driver_connection.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")


class WriterGate:
    """Lets one writer at a time at a SQLite file: a lock among this process's threads, then an advisory
    ``flock`` on ``<database>-lock`` among processes.

    SQLite admits one writer anyway, but a writer that finds the file locked polls it, sleeping 1, 2, 5 … up to
    100 ms between tries (busy_timeout): with a dozen writers most of the time goes to sleeping while the file is
    free, and the unlucky ones fail after the timeout. Waiting here instead wakes the next writer as soon as the
    previous one commits. Writers that bypass the gate (other tools) are still serialized by SQLite itself.
    """

    def __init__(self, database: str) -> None:
        self.path = f"{database}-lock"
        self.log = f"{database}-wal"
        self.lock = threading.RLock()
        self.depth = 0  # nested write transactions of the holding thread
        self.fd: int | None = None
        self.pid = os.getpid()
        self.commits = 0  # write transactions of this process through the gate, for ``checkpoint_due``

    def checkpoint_due(self) -> bool:
        """Count a commit; True when it is this process's turn to checkpoint the log (every ``CHECKPOINT_EVERY``-th).
        Not locked: a count lost to a race only moves a checkpoint by one commit."""
        self.commits += 1
        return self.commits % CHECKPOINT_EVERY == 0

    @contextmanager
    def held(self) -> Iterator[None]:
        if not self.lock.acquire(timeout=GATE_TIMEOUT):
            yield  # something holds the gate too long: behave as without it
            return
        try:
            if self.depth == 0 and fcntl is not None:
                if self.fd is None or self.pid != os.getpid():  # a forked child needs its own open file
                    self.fd, self.pid = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600), os.getpid()
                fcntl.flock(self.fd, fcntl.LOCK_EX)
            self.depth += 1
            try:
                yield
            finally:
                self.depth -= 1
                if self.depth == 0 and fcntl is not None and self.fd is not None:
                    fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            self.lock.release()

    def sync(self) -> None:
        """Put what is committed to the file's write-ahead log on disk (what synchronous=FULL does at each
        commit), from a file of its own: the log's pages are the same whoever wrote them. The connection that
        committed is still open, so the log cannot have been removed in between."""
        fd = os.open(self.log, os.O_RDONLY)
        try:
            os.fdatasync(fd)
        finally:
            os.close(fd)


_gates: dict[str, WriterGate] = {}
_gates_lock = threading.Lock()


def writer_gate(engine: sa.Engine) -> WriterGate | None:
    """The gate of a SQLite file database (one per file and process); None for other databases."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or database in (None, "", ":memory:") or database.startswith("file:"):
        return None
    gate = _gates.get(database)
    if gate is None:
        with _gates_lock:
            gate = _gates.setdefault(database, WriterGate(database))
    return gate


def make_engine(url: str, root: Path) -> sa.Engine:
    engine = sa.create_engine(database_url(url, root))
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        engine.dialect.do_begin = _sqlite_begin  # type: ignore[method-assign]
    return engine


@contextmanager
def write_transaction(engine: sa.Engine, *, replayable: bool = False) -> Iterator[sa.Connection]:
    """A transaction that will write: on SQLite it takes the write lock at BEGIN (waiting up to the
    busy timeout) instead of failing halfway when another writer got there first, and waits for its
    turn at the file's writer gate before that.

    ``replayable``: the transaction only derives what a durable record already holds (intake processing a
    stored message), so on SQLite it commits without waiting for the disk. A power cut can then lose it, but
    only together with everything committed after it (the WAL is cut at its first missing frame), and the
    record it came from is still there to be processed again; the next ordinary commit makes it durable.

    Otherwise (a database with a write-ahead log) the transaction commits without waiting for the disk too, and the
    log is synced once the writer gate and the write lock are let go, before this returns: the caller's commit is
    as durable as with synchronous=FULL when it goes on, but the next writer need not wait for this one's disk
    sync (a millisecond or more, much of the time the lock was held for a batch of creates). A power cut in
    between loses the commit, which nobody has been told of yet, with anything committed after it.

    Nor does the commit copy the log into the database when the log has grown long (SQLite's automatic checkpoint,
    which the committing connection runs before it returns, while the gate is still held): every
    ``CHECKPOINT_EVERY``-th write of this process runs that checkpoint itself, after the gate is let go, while the
    next writer goes on."""
    gate = writer_gate(engine)
    with engine.connect() as connection:
        if gate is None:
            if engine.dialect.name == "sqlite":
                connection.connection.info[WRITE_BEGIN] = True
            with connection.begin():
                yield connection
            return
        logged = connection.connection.info.get(IN_WAL, False)
        raw = connection.connection.driver_connection if replayable or logged else None
        if raw is not None:  # on the driver: SQLAlchemy would begin a transaction
            raw.execute("PRAGMA synchronous=NORMAL")
            if logged:
                raw.execute("PRAGMA wal_autocheckpoint=0")
        try:
            with gate.held():
                connection.connection.info[WRITE_BEGIN] = True  # taken by the BEGIN just below
                with connection.begin():
                    yield connection
        finally:
            if raw is not None:
                raw.execute("PRAGMA synchronous=FULL")
                if logged:
                    raw.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT}")
        # Committed (an error would have left above).
        if logged and not replayable:
            gate.sync()
        if logged and gate.checkpoint_due():
            assert raw is not None
            try:
                raw.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error:  # the commit stands; the next turn (or SQLite's own) checkpoints
                log.warning("checkpointing the write-ahead log failed", exc_info=True)
