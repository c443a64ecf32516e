"""Replay rebuilds each ticket's history from the audit trail and plays it through the production clocks: under
the desk's own policies every clock comes out as the live one is (SQLite and PostgreSQL), through re-targeting,
pauses, next responses, reopening, cancelling and merging, and for tickets that have no creation event."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from runtime.sla.history import histories
from runtime.sla.replay import ScratchClocks, replay
from runtime.tickets import service as service_module
from runtime.tickets.relations import TicketRelations
from tests.sla.sla_history import MARIA, Clockwork, berlin
from tests.tickets.service_fixtures import SeededDesk, seeded_desk

COMPARED = ("ticket_id", "metric", "policy", "calendar", "state", "target_seconds", "elapsed_seconds", "started_at",
            "running_since", "due_at", "breached_at", "stopped_at", "pauses")
LATER = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def played(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[SeededDesk]:
    """The demo tickets (clocks but no audit trail), and a week of work on five more."""
    desk = seeded_desk(tmp_path, database_url)
    clock = Clockwork()
    monkeypatch.setattr(service_module, "_now", clock.now)
    service, alex, maria = desk.service, desk.agent("alex"), desk.contact(MARIA)
    team = desk.id_of("teams", "name", "service_desk")
    requester = desk.id_of("contacts", "email", MARIA)

    def at(day: int, hour: int, minute: int = 0) -> None:
        clock.at = berlin(day, hour, minute)

    def create(priority: str) -> int:
        return int(service.create(alex, "it_support", {"title": "VPN drops", "priority": priority, "team_id": team,
                                                       "requester_id": requester})["id"])

    def move(ticket_id: int, transition: str, **fields: Any) -> None:
        service.transition(alex, ticket_id, transition, service.get(alex, ticket_id)["version"], fields or None)

    at(16, 9)
    worked = create("P2")
    at(16, 9, 5)
    original, duplicate = create("P1"), create("P1")
    at(16, 10)
    service.update(alex, worked, {"priority": "P1", "version": 1})
    at(16, 10, 10)
    move(worked, "assign", assignee_id=desk.id_of("agents", "username", "alex"))
    at(16, 10, 20)
    move(worked, "start")
    at(16, 10, 30)
    service.comment(alex, worked, "Which client version?")
    at(16, 10, 40)
    service.comment(maria, worked, "5.1, I think.")
    at(16, 11)
    service.comment(alex, worked, "Asked the network team.", public=False)
    at(16, 11, 30)
    move(worked, "wait")
    at(16, 14)
    service.comment(maria, worked, "Any news?")  # resumes it: the workflow's resume runs on a requester's reply
    at(16, 15)
    service.comment(alex, worked, "Please update to 5.2.")
    at(16, 16)
    move(worked, "resolve")
    at(17, 9)
    move(worked, "reopen")
    at(17, 10)
    move(worked, "resolve")
    at(17, 11)
    move(worked, "close")
    at(16, 20)
    urgent = create("P0")
    at(17, 7)
    move(urgent, "cancel")
    at(16, 9, 30)  # the merge takes the real time, after all of this
    TicketRelations(desk.compiled, desk.engine).merge(alex, duplicate, original, 1)
    at(16, 10)
    service.comment(alex, original, "Looking into it.")
    at(17, 8)
    from_requester = int(service.create(maria, "it_support", {"title": "Printer", "priority": "P3"})["id"])
    at(17, 8, 30)
    service.comment(maria, from_requester, "It is urgent after all.")
    at(17, 12)
    service.comment(alex, from_requester, "On our way.")
    yield desk
    desk.engine.dispose()


def live_clocks(desk: SeededDesk) -> list[tuple[Any, ...]]:
    timers = desk.compiled.table("sla_timers")
    with desk.engine.connect() as connection:
        rows = connection.execute(sa.select(timers).order_by(timers.c.ticket_id, timers.c.id)).all()
    return [tuple(getattr(row, name) for name in COMPARED) for row in rows]


def test_replay_under_the_desk_s_policies_reproduces_every_clock(played: SeededDesk) -> None:
    live = live_clocks(played)
    assert {row[4] for row in live} >= {"running", "stopped", "cancelled"}
    assert any(row[1] == "next_response" for row in live)
    assert any(row[12] for row in live)  # pauses
    scratch = ScratchClocks(played.compiled, [])
    try:
        with played.engine.connect() as connection:
            for history in histories(connection, played.compiled, None):
                scratch.play(history)
        timers = scratch.clocks.timers
        rows = scratch.connection.execute(sa.select(timers).order_by(timers.c.ticket_id, timers.c.id)).all()
        assert [tuple(getattr(row, name) for name in COMPARED) for row in rows] == live
    finally:
        scratch.close()


def test_the_same_policies_change_no_outcome(played: SeededDesk) -> None:
    with played.engine.connect() as connection:
        comparison = replay(connection, played.compiled, played.compiled, None, LATER)
    assert comparison.changed == 0
    assert comparison.current == comparison.candidate
    tickets = played.compiled.table("tickets")
    with played.engine.connect() as connection:
        assert comparison.tickets == connection.execute(sa.select(sa.func.count()).select_from(tickets)).scalar()
