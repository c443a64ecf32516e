"""A small scripted SLA history on the seeded desk, whose figures the metrics, API and replay tests check by hand.

The shipped policy on the Berlin office calendar (08:00-12:30 and 13:15-18:00 on weekdays): P1 promises a first
response in 1h and resolution in 8h, P2 in 4h and 24h. Every ticket is an IT support ticket of the service desk
team; the demo tickets are deleted first so that only these five count.

Monday 16 November 2026:
- A, P1 at 09:00, assigned to alex, answered 09:30 (30m), resolved 11:00 (2h): both met.
- B, P1 at 10:00, assigned to bea, answered 11:30 (1h30m), resolved Tuesday 10:00 (9h15m): both breached.
- E, P1 at 14:00, assigned to alex, answered 14:10 (10m), resolved 16:00 (2h): both met.
Tuesday 17 November, as of NOW (12:00):
- D, P1 at 08:00, unassigned and unanswered: first response 3h overdue, resolution 4h left.
- C, P2 at 09:00, unassigned and unanswered: first response 1h left, resolution 21h left.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from runtime.tickets import service as service_module
from tests.tickets.service_fixtures import SeededDesk, seeded_desk

BERLIN = ZoneInfo("Europe/Berlin")
HOUR, MINUTE = 3600, 60
MARIA = "maria.lopez@northwind.example.org"


def berlin(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=BERLIN).astimezone(dt.UTC)


NOW = berlin(17, 12)


class Clockwork:
    """The time the ticket service reads, set by the script (tests patch ``service._now`` with ``now``)."""

    def __init__(self) -> None:
        self.at = NOW

    def now(self) -> dt.datetime:
        return self.at


def script_history(desk: SeededDesk, clock: Clockwork) -> dict[str, dict[str, Any]]:
    """Play the history above through the ticket service; the tickets by letter."""
    desk.execute("DELETE FROM tickets")
    service, alex = desk.service, desk.agent("alex")
    team = desk.id_of("teams", "name", "service_desk")
    requester = desk.id_of("contacts", "email", MARIA)
    assignees = {name: desk.id_of("agents", "username", name) for name in ("alex", "bea")}
    tickets: dict[str, dict[str, Any]] = {}

    def at(day: int, hour: int, minute: int = 0) -> None:
        clock.at = berlin(day, hour, minute)

    def create(letter: str, priority: str) -> None:
        tickets[letter] = service.create(alex, "it_support", {
            "title": f"Ticket {letter}", "priority": priority, "team_id": team, "requester_id": requester})

    def move(letter: str, transition: str, **fields: Any) -> None:
        ticket_id = tickets[letter]["id"]
        service.transition(alex, ticket_id, transition, service.get(alex, ticket_id)["version"], fields or None)

    def answer(letter: str) -> None:
        service.comment(alex, tickets[letter]["id"], "We are on it.", public=True)

    at(16, 9)
    create("A", "P1")
    at(16, 9, 10)
    move("A", "assign", assignee_id=assignees["alex"])
    at(16, 9, 30)
    answer("A")
    at(16, 10)
    create("B", "P1")
    move("B", "assign", assignee_id=assignees["bea"])
    at(16, 11)
    move("A", "resolve")
    at(16, 11, 30)
    answer("B")
    at(16, 14)
    create("E", "P1")
    move("E", "assign", assignee_id=assignees["alex"])
    at(16, 14, 10)
    answer("E")
    at(16, 16)
    move("E", "resolve")
    at(17, 8)
    create("D", "P1")
    at(17, 9)
    create("C", "P2")
    at(17, 10)
    move("B", "resolve")
    clock.at = NOW
    return tickets


def scripted_desk(tmp: Path, database_url: str) -> tuple[SeededDesk, dict[str, dict[str, Any]]]:
    """A seeded desk with the history above played on it (the service's clock restored afterwards)."""
    desk = seeded_desk(tmp, database_url)
    clock = Clockwork()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(service_module, "_now", clock.now)
        tickets = script_history(desk, clock)
    return desk, tickets
