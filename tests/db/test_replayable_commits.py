"""Write transactions on a SQLite file: an ordinary one is on disk before it returns, its log synced once the write
lock is let go (not while holding it); a replayable one commits without waiting for the disk; either way the
connection goes back to the pool waiting for the disk at every commit, as everything else writing through it
expects."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from runtime.db import engine as engines
from runtime.db.engine import make_engine, write_transaction, writer_gate

FULL, NORMAL = 2, 1


def synchronous(connection: sa.Connection) -> int:
    raw = connection.connection.driver_connection
    assert raw is not None
    return int(raw.execute("PRAGMA synchronous").fetchone()[0])


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    # Used one transaction at a time, the pool hands out its one connection again: what one leaves, the next sees.
    engine = make_engine(f"sqlite:///{tmp_path}/t.db", tmp_path)
    with write_transaction(engine) as connection:
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    yield engine
    engine.dispose()


@pytest.fixture
def syncs(engine: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Each data sync the engine module asks for: the file it syncs, and how deep the writer gate was held then."""
    gate = writer_gate(engine)
    assert gate is not None
    seen: list[tuple[str, int]] = []
    real = os.fdatasync

    def watched(fd: int) -> None:
        seen.append((os.readlink(f"/proc/self/fd/{fd}"), gate.depth))
        real(fd)

    monkeypatch.setattr(os, "fdatasync", watched)
    return seen


def count(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return int(connection.exec_driver_sql("SELECT count(*) FROM t").scalar_one())


def test_a_write_commits_without_the_disk_and_syncs_the_log_after_letting_go_of_the_lock_before_it_returns(
        engine: sa.Engine, tmp_path: Path, syncs: list[tuple[str, int]]) -> None:
    with write_transaction(engine) as connection:
        assert synchronous(connection) == NORMAL  # the commit itself does not wait for the disk …
        connection.exec_driver_sql("INSERT INTO t VALUES (1)")
        assert syncs == []
    # … the log is synced before the caller goes on, with the gate (and so SQLite's write lock) already let go.
    assert syncs == [(str(tmp_path / "t.db-wal"), 0)]
    assert count(engine) == 1
    with engine.connect() as connection:
        assert synchronous(connection) == FULL  # and the pooled connection is back to syncing at each commit


def test_a_replayable_write_does_not_wait_for_the_disk_at_all(engine: sa.Engine,
                                                               syncs: list[tuple[str, int]]) -> None:
    with write_transaction(engine, replayable=True) as connection:
        assert synchronous(connection) == NORMAL
        connection.exec_driver_sql("INSERT INTO t VALUES (1)")
    assert syncs == []
    assert count(engine) == 1
    with engine.connect() as connection:
        assert synchronous(connection) == FULL


@pytest.mark.parametrize("replayable", [False, True])
def test_a_failed_write_syncs_nothing_and_still_restores_full_durability(
        engine: sa.Engine, syncs: list[tuple[str, int]], replayable: bool) -> None:
    def failing() -> None:
        with write_transaction(engine, replayable=replayable) as connection:
            connection.exec_driver_sql("INSERT INTO t VALUES (1)")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        failing()
    assert syncs == []
    assert count(engine) == 0
    with engine.connect() as connection:
        assert synchronous(connection) == FULL


def test_a_database_without_a_write_ahead_log_commits_waiting_for_the_disk(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/t.db", tmp_path)
    with engine.connect() as connection:  # as on a file system where SQLite cannot keep a write-ahead log
        raw = connection.connection.driver_connection
        assert raw is not None
        raw.execute("PRAGMA journal_mode=DELETE")
        connection.connection.info[engines.IN_WAL] = False
    monkeypatch.setattr(os, "fdatasync", lambda _fd: pytest.fail("synced a log that is not there"))
    with write_transaction(engine) as connection:
        assert synchronous(connection) == FULL
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    assert not Path(f"{tmp_path}/t.db-wal").exists()
    engine.dispose()


def test_the_log_is_checkpointed_by_every_so_many_writes_after_the_lock_not_by_a_commit_inside_it(
        engine: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    gate = writer_gate(engine)
    assert gate is not None
    monkeypatch.setattr(engines, "CHECKPOINT_EVERY", 3)
    gate.commits = 0
    seen: list[tuple[str, int]] = []  # each statement SQLite ran on the connection, and the gate's depth then
    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        assert raw is not None
        raw.set_trace_callback(lambda sql: seen.append((sql, gate.depth)))
    try:
        for n in range(6):
            with write_transaction(engine, replayable=n % 2 == 1) as connection:
                connection.exec_driver_sql(f"INSERT INTO t VALUES ({n})")
                # SQLite's own checkpoint, which a commit would run inside the lock, is off for these commits.
                assert int(connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one()) == 0
    finally:
        raw.set_trace_callback(None)
    checkpoints = [depth for sql, depth in seen if sql.startswith("PRAGMA wal_checkpoint")]
    assert checkpoints == [0, 0]  # the third and the sixth write's, each once the gate was let go
    assert count(engine) == 6
    with engine.connect() as connection:  # back to SQLite's own for whatever else writes through the connection
        assert int(connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one()) == engines.AUTOCHECKPOINT


def test_a_checkpoint_that_fails_leaves_the_commit_standing(engine: sa.Engine, monkeypatch: pytest.MonkeyPatch,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    gate = writer_gate(engine)
    assert gate is not None
    monkeypatch.setattr(engines, "CHECKPOINT_EVERY", 1)
    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        assert raw is not None

        def refuse(action: int, name: str | None, *_: object) -> int:  # asked before each statement's parts
            return sqlite3.SQLITE_DENY if action == sqlite3.SQLITE_PRAGMA and name == "wal_checkpoint" else 0

        raw.set_authorizer(refuse)
    try:
        with write_transaction(engine) as connection:
            connection.exec_driver_sql("INSERT INTO t VALUES (1)")
    finally:
        raw.set_authorizer(None)
    assert count(engine) == 1
    assert "checkpointing the write-ahead log failed" in caplog.text
