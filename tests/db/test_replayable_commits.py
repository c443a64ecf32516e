"""Replayable write transactions: SQLite commits them without waiting for the disk, and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from runtime.db.engine import make_engine, write_transaction

FULL, NORMAL = 2, 1


def synchronous(connection: sa.Connection) -> int:
    raw = connection.connection.driver_connection
    assert raw is not None
    return int(raw.execute("PRAGMA synchronous").fetchone()[0])


def test_only_a_replayable_transaction_skips_waiting_for_the_disk(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/t.db", tmp_path)
    engine.pool = sa.pool.StaticPool(engine.pool._creator)  # one connection: what one transaction leaves, the next sees
    with write_transaction(engine) as connection:
        assert synchronous(connection) == FULL
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    with write_transaction(engine, replayable=True) as connection:
        assert synchronous(connection) == NORMAL
        connection.exec_driver_sql("INSERT INTO t VALUES (1)")
    with write_transaction(engine) as connection:
        assert synchronous(connection) == FULL
        assert connection.exec_driver_sql("SELECT count(*) FROM t").scalar() == 1


def test_a_failed_replayable_transaction_still_restores_full_durability(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/t.db", tmp_path)
    engine.pool = sa.pool.StaticPool(engine.pool._creator)
    with pytest.raises(RuntimeError), write_transaction(engine, replayable=True):
        raise RuntimeError
    with engine.connect() as connection:
        assert synchronous(connection) == FULL
