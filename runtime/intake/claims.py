"""Who may process a stored message right now: one process at a time per message, and a crashed process lets go.

Processing a message writes to its ``intake_messages`` row from connections of its own, so the claim cannot be a
row lock (``SELECT … FOR UPDATE SKIP LOCKED`` held while processing would block those very writes). Instead:

- PostgreSQL: a session-level advisory lock per message, taken with ``pg_try_advisory_lock`` on a connection
  kept for the batch. Another worker's try fails at once and it moves on to the next message; when a worker dies,
  the server ends its session and the locks go with it, so the message is taken up again without waiting.
- SQLite: a record lock per message on a file beside the database (``FileClaims``), tried without waiting; the
  kernel drops a process's locks when it dies.
"""

from __future__ import annotations

import os
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

import sqlalchemy as sa

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: only the threads of one process are kept apart
    fcntl = None  # type: ignore[assignment]

# The advisory lock key of message N is KEY_BASE + N: a range of its own, so that other advisory locks (none yet)
# can use keys below it. Ids stay below 2**48 long after any desk's lifetime.
KEY_BASE = 0x5445 << 48


# Mailboxes are claimed while polled, in a range of ids no message reaches: two workers polling one folder at once
# would each fetch and store its mail (harmlessly) and then both move or delete it.
MAILBOX_BASE = 1 << 47


def mailbox_key(name: str) -> int:
    """The claim id of polling mailbox ``name``."""
    return MAILBOX_BASE + zlib.crc32(name.encode())


class Claims(Protocol):
    def claim(self, message_id: int, /) -> bool:
        """True when this process may now process the message; False when another one holds it."""

    def release(self, message_id: int, /) -> None: ...


class AdvisoryClaims:
    def __init__(self, connection: sa.Connection) -> None:
        self.connection = connection

    def claim(self, message_id: int) -> bool:
        return bool(self.connection.execute(sa.text("SELECT pg_try_advisory_lock(:key)"),
                                            {"key": KEY_BASE + message_id}).scalar())

    def release(self, message_id: int) -> None:
        self.connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": KEY_BASE + message_id})


class FileClaims:
    """SQLite: a one-byte POSIX record lock per message on ``<file>-intake``, at the message's id as offset.

    Record locks belong to the process (its threads share them) and all of them go when any descriptor of the file
    is closed, so each process keeps one descriptor open for good and keeps its own threads apart with a set."""

    def __init__(self, path: str | None) -> None:
        self.path = path  # None: an in-memory database, which no other process can see
        self.lock = threading.Lock()
        self.held: set[int] = set()
        self.descriptor: int | None = None
        self.pid = os.getpid()

    def claim(self, message_id: int, /) -> bool:
        with self.lock:
            if self.pid != os.getpid():  # a forked child inherits the set but not the locks
                self.held, self.descriptor, self.pid = set(), None, os.getpid()
            if message_id in self.held:
                return False
            if self.path is not None:
                if self.descriptor is None:
                    self.descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    fcntl.lockf(self.descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, message_id)
                except OSError:  # EAGAIN or EACCES: another process holds it
                    return False
            self.held.add(message_id)
            return True

    def release(self, message_id: int, /) -> None:
        with self.lock:
            if message_id not in self.held:
                return
            self.held.discard(message_id)
            if self.descriptor is not None:
                fcntl.lockf(self.descriptor, fcntl.LOCK_UN, 1, message_id)


class Batch:
    """The claims of one batch, let go at its end (whatever happened in it)."""

    def __init__(self, claims: Claims) -> None:
        self.claims = claims
        self.mine: set[int] = set()

    def claim(self, message_id: int, /) -> bool:
        if self.claims.claim(message_id):
            self.mine.add(message_id)
            return True
        return False

    def release(self, message_id: int, /) -> None:
        self.mine.discard(message_id)
        self.claims.release(message_id)

    def release_all(self) -> None:
        for message_id in list(self.mine):
            self.release(message_id)


_files: dict[str | None, FileClaims] = {}
_files_lock = threading.Lock()


def _file_claims(engine: sa.Engine) -> FileClaims:
    database = engine.url.database
    path = None if fcntl is None or not database or database == ":memory:" or database.startswith("file:") \
        else f"{database}-intake"
    with _files_lock:
        return _files.setdefault(path, FileClaims(path))


@contextmanager
def claims(engine: sa.Engine) -> Iterator[Claims]:
    """Claims for one batch; everything claimed is let go when the batch ends."""
    if engine.dialect.name == "postgresql":
        # Autocommit: the locks belong to the session, and no transaction stays open (and holds back vacuum)
        # while the batch runs.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            try:
                yield AdvisoryClaims(connection)
            finally:
                connection.execute(sa.text("SELECT pg_advisory_unlock_all()"))
        return
    batch = Batch(_file_claims(engine))
    try:
        yield batch
    finally:
        batch.release_all()
