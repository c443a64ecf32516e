"""The worker claims due jobs, runs their handlers, retries failures and records unknown kinds."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from runtime.artifacts import migration_paths
from runtime.compile.desk import CompiledDesk, load_compiled
from runtime.db import migrations
from runtime.db.engine import make_engine
from runtime.worker import loop
from tests.desk_fixtures import SHIPPED, copy_shipped_desk

ran: list[dict[str, Any]] = []


def _record(_compiled: CompiledDesk, _connection: sa.Connection, payload: dict[str, Any]) -> None:
    ran.append(payload)


def _explode(_compiled: CompiledDesk, _connection: sa.Connection, payload: dict[str, Any]) -> None:
    msg = f"cannot handle {payload['n']}"
    raise RuntimeError(msg)


@pytest.fixture
def worker(tmp_path: Path, database_url: str) -> Iterator[loop.Worker]:
    root = copy_shipped_desk(tmp_path / "desk")
    shutil.copytree(SHIPPED / "generated", root / "generated")
    compiled = load_compiled(root)
    engine = make_engine(database_url, root)
    migrations.upgrade(migration_paths(compiled), engine)
    loop.HANDLERS.update(record=_record, explode=_explode)
    ran.clear()
    yield loop.Worker(compiled, engine)
    loop.HANDLERS.pop("record")
    loop.HANDLERS.pop("explode")


def _add_job(worker: loop.Worker, kind: str, payload: dict[str, Any], delay: dt.timedelta = dt.timedelta()) -> None:
    jobs = worker.jobs
    with worker.engine.begin() as connection:
        connection.execute(sa.insert(jobs).values(kind=kind, payload=payload, attempts=0,
                                                  run_at=dt.datetime.now(dt.UTC) + delay))


def _jobs(worker: loop.Worker) -> list[tuple[Any, ...]]:
    jobs = worker.jobs
    with worker.engine.connect() as connection:
        query = sa.select(jobs.c.kind, jobs.c.attempts, jobs.c.done_at.is_not(None), jobs.c.last_error)
        return [tuple(r) for r in connection.execute(query.order_by(jobs.c.id))]


def test_runs_due_jobs_in_order_and_leaves_future_ones(worker: loop.Worker) -> None:
    _add_job(worker, "record", {"n": 1})
    _add_job(worker, "record", {"n": 2})
    _add_job(worker, "record", {"n": 3}, delay=dt.timedelta(hours=1))
    assert worker.run_due() == 2
    assert ran == [{"n": 1}, {"n": 2}]
    assert [row[2] for row in _jobs(worker)] == [True, True, False]
    assert worker.run_due() == 0


def test_a_failing_job_is_retried_later_with_its_error_kept(worker: loop.Worker) -> None:
    _add_job(worker, "explode", {"n": 7})
    _add_job(worker, "record", {"n": 8})
    assert worker.run_due() == 2
    assert ran == [{"n": 8}]
    assert _jobs(worker)[0] == ("explode", 1, False, "RuntimeError: cannot handle 7")


def test_a_job_of_unknown_kind_is_closed_with_a_reason(worker: loop.Worker) -> None:
    _add_job(worker, "no_such_kind", {})
    assert worker.run_due() == 1
    assert _jobs(worker) == [("no_such_kind", 1, True, "no handler for job kind 'no_such_kind'")]
