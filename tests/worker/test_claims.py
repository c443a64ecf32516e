"""How background work is claimed when several workers share a database.

- The SLA sweep on PostgreSQL never waits for a lock: a due clock whose ticket, or another clock of whose ticket,
  someone holds (a ticket write, an agent's reply) is left for a later round and fired once after.
- A job with a slow first stage (knowledge capture) and a triage job are finished only by the worker whose claim
  still stands: one whose claim lapsed meanwhile, and was taken over, does nothing more.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from runtime.ai.proposals import Proposal, TicketText
from runtime.ai.triage import Triage, provider_for
from runtime.ai.triage_jobs import TriageWorker
from runtime.compile.desk import CompiledDesk
from runtime.sla.sweep import sweep
from runtime.worker import loop
from tests.tickets.service_fixtures import SeededDesk, seeded_desk
from tests.worker import scale_checks as check

PAST = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def desk(tmp_path: Path, database_url: str) -> Iterator[SeededDesk]:
    made = seeded_desk(tmp_path, database_url)
    yield made
    made.engine.dispose()


@pytest.fixture
def pg_desk(tmp_path: Path, pg_url: str) -> Iterator[SeededDesk]:
    made = seeded_desk(tmp_path, pg_url)
    yield made
    made.engine.dispose()


def new_ticket(desk: SeededDesk, priority: str = "P2") -> dict[str, Any]:
    return desk.service.create(desk.agent("alex"), "it_support", {
        "title": "Scanner on floor 3 is offline", "priority": priority, "team_id": 1, "assignee_id": 1,
        "requester_id": 1, "category": "hardware"})


def impatient(desk: SeededDesk) -> sa.Engine:
    """An engine on the desk's database whose statements give up after a few seconds of waiting for a lock: a sweep
    that waited would fail here instead of hanging the test."""
    return sa.create_engine(desk.engine.url, connect_args={"options": "-c lock_timeout=5000"})


# --- the SLA sweep ------------------------------------------------------------------------------------

@pytest.mark.postgres
def test_the_sweep_leaves_a_clock_whose_ticket_is_being_written(pg_desk: SeededDesk) -> None:
    ticket = new_ticket(pg_desk)
    moved = check.make_overdue(pg_desk, [ticket["id"]])
    tickets = pg_desk.compiled.table("tickets")
    engine = impatient(pg_desk)
    try:
        with pg_desk.engine.begin() as writer:  # a ticket write in progress holds the ticket's row
            writer.execute(sa.select(tickets.c.id).where(tickets.c.id == ticket["id"]).with_for_update())
            assert sweep(pg_desk.compiled, engine).clocks == 0
        assert check.fired(pg_desk) == []
        assert sweep(pg_desk.compiled, engine).clocks == len(moved)
        assert sweep(pg_desk.compiled, engine).clocks == 0
    finally:
        engine.dispose()
    steps = check.fired(pg_desk)
    assert check.repeated(steps) == []
    for timer_id, (_, metric) in moved.items():
        assert {(kind, index) for t, kind, index in steps if t == timer_id} == check.expected_steps(pg_desk, metric)
    assert pg_desk.service.get(pg_desk.agent("alex"), ticket["id"])["priority"] == "P1"  # raised once


@pytest.mark.postgres
def test_the_sweep_leaves_a_ticket_one_of_whose_clocks_is_held(pg_desk: SeededDesk) -> None:
    ticket = new_ticket(pg_desk)
    moved = check.make_overdue(pg_desk, [ticket["id"]])
    resolution = next(t for t, (_, metric) in moved.items() if metric == "resolution")
    timers = pg_desk.compiled.table("sla_timers")
    engine = impatient(pg_desk)
    try:
        # An agent's reply locks the ticket's clocks before its row; this holds one of them.
        with pg_desk.engine.begin() as reply:
            reply.execute(sa.select(timers.c.id).where(timers.c.id == resolution).with_for_update())
            assert sweep(pg_desk.compiled, engine).clocks == 0
        assert sweep(pg_desk.compiled, engine).clocks == len(moved)
    finally:
        engine.dispose()
    assert len(check.fired(pg_desk)) == len(set(check.fired(pg_desk))) > 0


@pytest.mark.postgres
def test_a_ticket_held_elsewhere_does_not_stop_the_sweep_of_the_others(pg_desk: SeededDesk) -> None:
    held, free = new_ticket(pg_desk), new_ticket(pg_desk)
    moved = check.make_overdue(pg_desk, [held["id"], free["id"]])
    timers = pg_desk.compiled.table("sla_timers")
    resolution = next(t for t, (ticket, metric) in moved.items() if (ticket, metric) == (held["id"], "resolution"))
    engine = impatient(pg_desk)
    try:
        with pg_desk.engine.begin() as reply:
            reply.execute(sa.select(timers.c.id).where(timers.c.id == resolution).with_for_update())
            # A batch of one, taken by the held ticket's other clock and given up: the sweep ends there rather
            # than trying the same clock again until the holder lets go.
            assert sweep(pg_desk.compiled, engine, batch=1).clocks == 0
            assert sweep(pg_desk.compiled, engine).clocks == sum(1 for t, _ in moved.values() if t == free["id"])
        assert sweep(pg_desk.compiled, engine).clocks == sum(1 for t, _ in moved.values() if t == held["id"])
    finally:
        engine.dispose()
    assert check.repeated(check.fired(pg_desk)) == []


def waiting_for_a_lock(desk: SeededDesk) -> bool:
    """Whether some session on the desk's database waits for a row lock now (polled, within a bound)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with desk.engine.connect() as connection:
            if connection.execute(sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                                          " AND wait_event_type = 'Lock'")).scalar():
                return True
        time.sleep(0.05)
    return False


@pytest.mark.postgres
def test_an_agents_reply_takes_the_tickets_row_before_its_clocks(pg_desk: SeededDesk) -> None:
    """A reply and a write of the same ticket at once: the write holds the row and then takes the clocks, so the
    reply must wait for the row before it takes the clocks, or the two deadlock."""
    ticket = new_ticket(pg_desk)
    tickets, timers = pg_desk.compiled.table("tickets"), pg_desk.compiled.table("sla_timers")
    failures: list[BaseException] = []

    def reply() -> None:
        try:
            pg_desk.service.comment(pg_desk.agent("alex"), ticket["id"], "Please restart the scanner.", public=True)
        except BaseException as exc:
            failures.append(exc)

    replying = threading.Thread(target=reply)
    with pg_desk.engine.connect() as writer, writer.begin():
        writer.execute(sa.update(tickets).where(tickets.c.id == ticket["id"]).values(title="Written meanwhile"))
        replying.start()
        assert waiting_for_a_lock(pg_desk)
        # The write's second half, as the ticket service's SLA hook does it.
        writer.execute(sa.select(timers.c.id).where(timers.c.ticket_id == ticket["id"]).with_for_update()).all()
    replying.join()
    assert failures == []
    assert pg_desk.service.get(pg_desk.agent("alex"), ticket["id"])["first_response_at"] is not None


# --- jobs with a first stage outside the transaction ---------------------------------------------------

@pytest.fixture
def jobs() -> Iterator[list[dict[str, Any]]]:
    ran: list[dict[str, Any]] = []

    def handle(_compiled: CompiledDesk, _connection: sa.Connection, payload: dict[str, Any]) -> None:
        ran.append(payload)

    loop.HANDLERS["slow"] = handle
    yield ran
    loop.HANDLERS.pop("slow")
    loop.PREPARE.pop("slow", None)


def add_job(desk: SeededDesk, kind: str) -> int:
    table = desk.compiled.table("jobs")
    with desk.engine.begin() as connection:
        return int(connection.execute(sa.insert(table).values(kind=kind, payload={"n": 1}, attempts=0,
                                                              run_at=dt.datetime.now(dt.UTC)).returning(table.c.id))
                   .scalar_one())


def lapse(desk: SeededDesk, table: str) -> None:
    """As if the claims had been made long ago: every claim of ``table`` has run out."""
    t = desk.compiled.table(table)
    with desk.engine.begin() as connection:
        connection.execute(sa.update(t).where(t.c.locked_until.is_not(None)).values(locked_until=PAST))


def test_a_job_whose_claim_lapsed_while_it_was_prepared_is_finished_by_the_worker_that_took_it(
        desk: SeededDesk, jobs: list[dict[str, Any]]) -> None:
    first, second = loop.Worker(desk.compiled, desk.engine), loop.Worker(desk.compiled, desk.engine)
    calls: list[str] = []

    def prepare(_compiled: CompiledDesk, _engine: sa.Engine, payload: dict[str, Any]) -> dict[str, Any]:
        calls.append("first" if not calls else "second")
        if calls == ["first"]:  # the first worker is slow: its claim runs out and the second takes the job
            lapse(desk, "jobs")
            assert second.run_due() == 1
        return payload | {"by": calls[-1] if calls[-1] == "second" else "first"}

    loop.PREPARE["slow"] = prepare
    job_id = add_job(desk, "slow")
    assert first.run_due() == 1
    assert calls == ["first", "second"]
    assert jobs == [{"n": 1, "by": "second"}]  # the second worker's run, once
    [row] = check.rows(desk, "jobs")
    assert (row.id, row.attempts, row.done_at is not None, row.last_error) == (job_id, 1, True, None)


def test_a_prepared_job_that_fails_lets_its_claim_go_and_waits_only_for_its_retry(
        desk: SeededDesk, jobs: list[dict[str, Any]]) -> None:
    def prepare(_compiled: CompiledDesk, _engine: sa.Engine, _payload: dict[str, Any]) -> dict[str, Any]:
        msg = "the model is not answering"
        raise ConnectionError(msg)

    loop.PREPARE["slow"] = prepare
    add_job(desk, "slow")
    before = dt.datetime.now(dt.UTC)
    assert loop.Worker(desk.compiled, desk.engine).run_due() == 1
    [row] = check.rows(desk, "jobs")
    assert row.locked_until is None
    assert row.run_at <= before + 2 * loop.RETRY_DELAY < before + loop.CLAIM_FOR
    assert (row.attempts, row.done_at, row.last_error) == (1, None, "ConnectionError: the model is not answering")
    assert jobs == []


# --- triage ----------------------------------------------------------------------------------------------

class TakenOverMeanwhile:
    """A provider that answers so slowly that the worker's claim runs out, and another worker triages the ticket
    before it answers."""

    def __init__(self, desk: SeededDesk, other: TriageWorker) -> None:
        self.desk, self.other = desk, other
        self.real = provider_for(desk.compiled)
        self.name = self.real.name
        self.settled_meanwhile = -1

    def triage(self, ticket: TicketText) -> Proposal:
        lapse(self.desk, "triage_jobs")
        self.settled_meanwhile = self.other.run_round()
        return self.real.triage(ticket)


def test_a_triage_job_whose_claim_lapsed_is_settled_once(desk: SeededDesk) -> None:
    ticket = new_ticket(desk)
    other = TriageWorker(desk.compiled, desk.engine, Triage(desk.compiled, provider_for(desk.compiled),
                                                            desk.service))
    slow = TakenOverMeanwhile(desk, other)
    first = TriageWorker(desk.compiled, desk.engine, Triage(desk.compiled, slow, desk.service))
    assert first.run_round() == 0  # its claim had lapsed: the ticket was the other worker's by then
    assert slow.settled_meanwhile == 1
    decisions = desk.compiled.table("ai_decisions")
    assert len(check.rows(desk, "ai_decisions", decisions.c.ticket_id == ticket["id"],
                          decisions.c.kind == "triage")) == 1
    assert check.rows(desk, "triage_jobs") == []
