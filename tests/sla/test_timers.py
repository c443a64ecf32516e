"""SLA clocks follow tickets through the service (SQLite and PostgreSQL): started on create, stopped by the
first public agent reply, paused while waiting, re-targeted on a new priority, met on resolution, resumed on
reopening, a new clock for each requester reply, cancelled by a merge; shown by the API to agents only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from runtime.compile.desk import load_compiled
from runtime.tickets import service as service_module
from runtime.tickets.actors import Actor
from runtime.tickets.errors import Forbidden
from runtime.tickets.relations import TicketRelations
from runtime.tickets.service import TicketService
from tests.tickets.service_fixtures import SeededDesk, seeded_desk

BERLIN = ZoneInfo("Europe/Berlin")
HOUR, MINUTE = 3600, 60
MARIA = "maria.lopez@northwind.example.org"


def local(month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=BERLIN).astimezone(dt.UTC)


class Scene:
    """A seeded desk whose service reads the time from ``self.now``."""

    def __init__(self, desk: SeededDesk) -> None:
        self.desk = desk
        self.now = local(11, 27, 17, 30)  # a Friday, half an hour before closing
        self.alex = desk.agent("alex")
        self.maria = desk.contact(MARIA)

    def at(self, moment: dt.datetime) -> Scene:
        self.now = moment
        return self

    def create(self, priority: str = "P1") -> dict[str, Any]:
        team = self.desk.id_of("teams", "name", "service_desk")
        return self.desk.service.create(self.alex, "it_support", {
            "title": "VPN drops", "priority": priority, "team_id": team,
            "requester_id": self.desk.id_of("contacts", "email", MARIA)})

    def clocks(self, ticket_id: int) -> dict[str, dict[str, Any]]:
        """The live or last clock of each metric, by metric (next_response: the latest)."""
        return {c["metric"]: c for c in self.desk.service.sla_clocks(self.alex, ticket_id)}

    def events(self, ticket_id: int) -> list[tuple[str, str]]:
        timers, events = self.desk.compiled.table("sla_timers"), self.desk.compiled.table("sla_events")
        with self.desk.engine.connect() as connection:
            rows = connection.execute(sa.select(timers.c.metric, events.c.kind).join_from(
                events, timers, events.c.timer_id == timers.c.id).where(timers.c.ticket_id == ticket_id)
                .order_by(events.c.id))
            return [(r.metric, r.kind) for r in rows]

    def version(self, ticket_id: int) -> int:
        return int(self.desk.service.get(self.alex, ticket_id)["version"])

    def move(self, ticket_id: int, transition: str, actor: Actor | None = None, **fields: Any) -> None:
        self.desk.service.transition(actor or self.alex, ticket_id, transition, self.version(ticket_id),
                                     fields or None)


@pytest.fixture
def scene(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Scene]:
    desk = seeded_desk(tmp_path, database_url)
    made = Scene(desk)
    monkeypatch.setattr(service_module, "_now", lambda: made.now)
    yield made
    desk.engine.dispose()


def test_a_new_ticket_gets_its_first_response_and_resolution_clocks(scene: Scene) -> None:
    ticket = scene.create("P1")
    clocks = scene.clocks(ticket["id"])
    assert set(clocks) == {"first_response", "resolution"}
    first, resolution = clocks["first_response"], clocks["resolution"]
    # P1: first response 1h, resolution 8h on the Berlin office calendar, from Friday 17:30.
    assert (first["state"], first["target_seconds"], first["due_at"]) == ("running", HOUR, local(11, 30, 8, 30))
    assert (resolution["target_seconds"], resolution["due_at"]) == (8 * HOUR, local(11, 30, 16, 15))
    assert (first["policy"], first["calendar"]) == ("standard", "berlin_office")
    assert scene.events(ticket["id"]) == [("first_response", "started"), ("resolution", "started")]


def test_p0_counts_around_the_clock(scene: Scene) -> None:
    ticket = scene.create("P0")
    first = scene.clocks(ticket["id"])["first_response"]
    assert (first["calendar"], first["due_at"]) == ("24x7", local(11, 27, 17, 45))


def test_the_first_public_agent_reply_meets_the_first_response_clock(scene: Scene) -> None:
    ticket = scene.create("P1")
    scene.at(local(11, 30, 8)).desk.service.comment(scene.alex, ticket["id"], "checking the logs", public=False)
    assert scene.clocks(ticket["id"])["first_response"]["state"] == "running"  # an internal note is no answer
    scene.at(local(11, 30, 8, 15)).desk.service.comment(scene.alex, ticket["id"], "On it.", public=True)
    first = scene.clocks(ticket["id"])["first_response"]
    assert (first["state"], first["elapsed_seconds"], first["stopped_at"]) == ("met", 45 * MINUTE,
                                                                               local(11, 30, 8, 15))
    assert scene.clocks(ticket["id"])["resolution"]["state"] == "running"


def test_a_late_first_reply_is_a_breach_at_the_due_time(scene: Scene) -> None:
    ticket = scene.create("P1")
    scene.at(local(11, 30, 9)).desk.service.comment(scene.alex, ticket["id"], "Sorry for the wait.")
    first = scene.clocks(ticket["id"])["first_response"]
    assert (first["state"], first["breached_at"], first["elapsed_seconds"]) == ("breached", local(11, 30, 8, 30),
                                                                                90 * MINUTE)


def test_waiting_for_the_requester_pauses_and_resuming_continues(scene: Scene) -> None:
    ticket = scene.at(local(11, 26, 17)).create("P1")  # Thursday 17:00
    assignee = scene.desk.id_of("agents", "username", "alex")
    scene.at(local(11, 26, 17, 10)).move(ticket["id"], "assign", assignee_id=assignee)
    scene.move(ticket["id"], "start")
    scene.at(local(11, 26, 17, 30)).move(ticket["id"], "wait")
    paused = scene.clocks(ticket["id"])["resolution"]
    assert (paused["state"], paused["paused"], paused["due_at"], paused["elapsed_seconds"]) == (
        "paused", True, None, 30 * MINUTE)
    scene.at(local(11, 30, 10)).move(ticket["id"], "resume")  # Monday 10:00
    resolution = scene.clocks(ticket["id"])["resolution"]
    # 7.5h left from Monday 10:00: 2.5h to lunch, 4.75h in the afternoon, 15 minutes on Tuesday.
    assert (resolution["state"], resolution["due_at"]) == ("running", local(12, 1, 8, 15))
    assert resolution["pauses"] == [{"from": local(11, 26, 17, 30).isoformat(),
                                     "to": local(11, 30, 10).isoformat(), "reason": "waiting"}]
    assert ("resolution", "paused") in scene.events(ticket["id"])
    assert ("resolution", "resumed") in scene.events(ticket["id"])


def test_a_new_priority_retargets_and_keeps_the_elapsed_time(scene: Scene) -> None:
    ticket = scene.at(local(11, 30, 8)).create("P2")  # resolution 24h
    scene.at(local(11, 30, 10)).desk.service.update(scene.alex, ticket["id"], {"priority": "P1", "version": 1})
    resolution = scene.clocks(ticket["id"])["resolution"]
    assert (resolution["target_seconds"], resolution["elapsed_seconds"], resolution["due_at"]) == (
        8 * HOUR, 2 * HOUR, local(11, 30, 16, 45))
    first = scene.clocks(ticket["id"])["first_response"]
    assert (first["target_seconds"], first["state"], first["breached_at"]) == (HOUR, "running", None)
    assert first["due_at"] == local(11, 30, 10)  # 2h counted against a 1h target: due at once
    assert scene.events(ticket["id"]).count(("resolution", "retargeted")) == 1


def test_resolving_meets_the_resolution_clock_and_reopening_goes_on(scene: Scene) -> None:
    ticket = scene.at(local(11, 30, 8)).create("P1")
    assignee = scene.desk.id_of("agents", "username", "alex")
    scene.move(ticket["id"], "assign", assignee_id=assignee)
    scene.at(local(11, 30, 14, 15)).move(ticket["id"], "resolve")  # 5.5h of business time
    clocks = scene.clocks(ticket["id"])
    assert (clocks["resolution"]["state"], clocks["resolution"]["elapsed_seconds"]) == ("met", 5.5 * HOUR)
    assert clocks["first_response"]["state"] == "cancelled"  # resolved without a reply: nothing to answer
    scene.at(local(12, 3, 8)).move(ticket["id"], "reopen")
    resolution = scene.clocks(ticket["id"])["resolution"]
    assert (resolution["state"], resolution["elapsed_seconds"], resolution["due_at"]) == (
        "running", 5.5 * HOUR, local(12, 3, 10, 30))


def test_each_requester_reply_after_an_answer_starts_a_next_response_clock(scene: Scene) -> None:
    ticket = scene.at(local(11, 30, 8)).create("P1")
    service = scene.desk.service
    service.comment(scene.maria, ticket["id"], "Any news?")  # before any answer: the first response still runs
    assert "next_response" not in scene.clocks(ticket["id"])
    scene.at(local(11, 30, 8, 30)).desk.service.comment(scene.alex, ticket["id"], "Looking into it.")
    scene.at(local(11, 30, 9)).desk.service.comment(scene.maria, ticket["id"], "It happened again.")
    scene.at(local(11, 30, 9, 5)).desk.service.comment(scene.maria, ticket["id"], "And again.")
    waiting = [c for c in service.sla_clocks(scene.alex, ticket["id"]) if c["metric"] == "next_response"]
    assert len(waiting) == 1  # one clock per unanswered stretch, not per message
    assert waiting[0]["state"] == "running"
    scene.at(local(11, 30, 10)).desk.service.comment(scene.alex, ticket["id"], "Fixed.")
    scene.at(local(11, 30, 11)).desk.service.comment(scene.maria, ticket["id"], "Thanks, but...")
    waiting = [c for c in service.sla_clocks(scene.alex, ticket["id"]) if c["metric"] == "next_response"]
    assert [c["state"] for c in waiting] == ["met", "running"]
    assert waiting[0]["elapsed_seconds"] == HOUR


def test_a_merged_duplicate_has_its_clocks_cancelled(scene: Scene) -> None:
    original, duplicate = scene.create("P1"), scene.create("P1")
    TicketRelations(scene.desk.compiled, scene.desk.engine).merge(scene.alex, duplicate["id"], original["id"], 1)
    assert {c["state"] for c in scene.clocks(duplicate["id"]).values()} == {"cancelled"}
    assert {c["state"] for c in scene.clocks(original["id"]).values()} == {"running"}


def test_requesters_do_not_see_clocks(scene: Scene) -> None:
    ticket = scene.create("P1")
    with pytest.raises(Forbidden):
        scene.desk.service.sla_clocks(scene.maria, ticket["id"])


def test_the_demo_tickets_have_running_clocks(scene: Scene) -> None:
    timers = scene.desk.compiled.table("sla_timers")
    with scene.desk.engine.connect() as connection:
        states = set(connection.execute(sa.select(timers.c.state).distinct()).scalars())
    assert "running" in states


def test_a_policy_may_restart_the_resolution_clock_on_reopening(scene: Scene) -> None:
    policy = scene.desk.compiled.root / "sla_policies" / "standard.yaml"
    policy.write_text(policy.read_text().replace("    pause_on: [paused]\n",
                                                 "    pause_on: [paused]\n    on_reopen: restart\n"))
    compiled = load_compiled(scene.desk.compiled.root)
    assert compiled.definitions.policies[0].on_reopen == "restart"
    scene.desk.compiled, scene.desk.service = compiled, TicketService(compiled, scene.desk.engine)
    ticket = scene.at(local(11, 30, 8)).create("P1")
    assignee = scene.desk.id_of("agents", "username", "alex")
    scene.move(ticket["id"], "assign", assignee_id=assignee)
    scene.at(local(11, 30, 14, 15)).move(ticket["id"], "resolve")
    scene.at(local(12, 3, 8)).move(ticket["id"], "reopen")
    resolutions = [c for c in scene.desk.service.sla_clocks(scene.alex, ticket["id"]) if c["metric"] == "resolution"]
    assert [(c["state"], c["elapsed_seconds"]) for c in resolutions] == [("met", 5.5 * HOUR), ("running", 0)]
    assert resolutions[1]["due_at"] == local(12, 3, 16, 45)  # a full 8h from Thursday 08:00, lunch apart


def test_a_running_clock_counts_only_while_its_calendar_is_open(scene: Scene) -> None:
    """What a page may count down: the resolution clock runs all weekend but loses business time only on Monday."""
    ticket = scene.at(local(11, 27, 17, 30)).create("P2")  # Friday 17:30, half an hour before closing
    assert scene.clocks(ticket["id"])["resolution"]["counting"] is True
    scene.at(local(11, 28, 11))  # Saturday
    saturday = scene.clocks(ticket["id"])["resolution"]
    assert (saturday["state"], saturday["counting"]) == ("running", False)
    assert scene.at(local(11, 30, 9)).clocks(ticket["id"])["resolution"]["counting"] is True  # Monday 09:00
