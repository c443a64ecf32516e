"""`cli.py worker` as operators run it, in its own process (SQLite and PostgreSQL): a clock that falls due while
the worker runs is breached and escalated by it, without anyone calling the sweep; and two worker processes
against one database fire each step once."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from runtime.tickets import service as service_module
from tests.desk_fixtures import SHIPPED
from tests.sla.test_timers import MARIA, Scene
from tests.tickets.service_fixtures import seeded_desk

WAIT = 60.0  # seconds: a bound on a loaded CI machine, not a speed figure


@pytest.fixture
def scene(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Scene]:
    desk = seeded_desk(tmp_path, database_url)
    desk.execute("DELETE FROM sla_timers")  # only the clocks made below
    made = Scene(desk)
    monkeypatch.setattr(service_module, "_now", lambda: made.now)
    yield made
    desk.engine.dispose()


def start_worker(scene: Scene) -> subprocess.Popen[bytes]:
    url = scene.desk.engine.url.render_as_string(hide_password=False)
    return subprocess.Popen(
        [sys.executable, str(SHIPPED / "cli.py"), "--root", str(scene.desk.compiled.root), "--database-url", url,
         "worker"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def stop(worker: subprocess.Popen[bytes]) -> str:
    worker.send_signal(signal.SIGTERM)
    try:
        _, err = worker.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        worker.kill()
        _, err = worker.communicate()
    return err.decode(errors="replace")


def fired(scene: Scene) -> list[tuple[int, str, int | None]]:
    events = scene.desk.compiled.table("sla_events")
    with scene.desk.engine.connect() as connection:
        return [(r.timer_id, r.kind, r.escalation) for r in connection.execute(
            sa.select(events).where(events.c.kind.in_(("breached", "escalation"))).order_by(events.c.id))]


def wait_for(condition: object) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.2)


def new_p0(scene: Scene, created: dt.datetime) -> dict[str, object]:
    scene.at(created)
    return scene.desk.service.create(scene.alex, "it_support", {
        "title": "Payments down", "priority": "P0", "team_id": scene.desk.id_of("teams", "name", "service_desk"),
        "assignee_id": scene.desk.id_of("agents", "username", "alex"),
        "requester_id": scene.desk.id_of("contacts", "email", MARIA)})


def test_a_running_worker_breaches_a_clock_when_it_falls_due(scene: Scene) -> None:
    # P0: first response 15 minutes around the clock; this one falls due two seconds from now.
    due = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)
    ticket = new_p0(scene, due - dt.timedelta(minutes=15))
    worker = start_worker(scene)
    try:
        wait_for(lambda: any(kind == "breached" for _, kind, _ in fired(scene)))
    finally:
        errors = stop(worker)
    events = scene.desk.compiled.table("sla_events")
    timers = scene.desk.compiled.table("sla_timers")
    with scene.desk.engine.connect() as connection:
        breach = connection.execute(sa.select(events.c.at, events.c.detail).join_from(
            events, timers, events.c.timer_id == timers.c.id).where(
            timers.c.ticket_id == ticket["id"], timers.c.metric == "first_response",
            events.c.kind == "breached")).one_or_none()
    assert breach is not None, errors
    assert abs(breach.at - due) < dt.timedelta(milliseconds=1)  # dated at the due instant itself
    assert dt.datetime.fromisoformat(breach.detail["noticed_at"]) >= due
    assert "Traceback" not in errors


def test_two_worker_processes_fire_each_step_once(scene: Scene) -> None:
    created = dt.datetime.now(dt.UTC) - dt.timedelta(hours=6)  # every P0 step is overdue
    tickets = [new_p0(scene, created) for _ in range(8)]
    workers = [start_worker(scene) for _ in range(2)]
    timers = scene.desk.compiled.table("sla_timers")
    try:
        def settled() -> bool:
            with scene.desk.engine.connect() as connection:
                return not connection.execute(sa.select(sa.func.count()).select_from(timers).where(
                    timers.c.next_check_at <= dt.datetime.now(dt.UTC))).scalar()
        wait_for(settled)
    finally:
        errors = [stop(worker) for worker in workers]
    steps = fired(scene)
    assert len(steps) == len(set(steps)), errors
    # Per ticket: both clocks breached, the first-response step and the three resolution steps.
    assert len(steps) == len(tickets) * (2 + 1 + 3), errors
    assert all("Traceback" not in e for e in errors), errors
