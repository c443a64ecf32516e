"""Assignment strategies: who may take a ticket, who is chosen among them, and the words that say why."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from runtime.ai.assignment import Candidate, assigner_for, choose
from runtime.tickets.actors import SYSTEM
from runtime.tickets.service import TicketService
from tests.tickets.service_fixtures import SeededDesk, migrated_desk

SUNDAY = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)
MONDAY_MORNING = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)  # 10:00 in Berlin
IT_SKILLS = ["desktop", "network", "identity"]


def c(agent_id: int, name: str, skills: int = 0, load: int = 0, capacity: int = 4) -> Candidate:
    return Candidate(agent_id, name, ("s",) * skills, load, capacity)


def test_round_robin_ignores_skills_and_load_and_goes_round() -> None:
    pool = [c(1, "ann", 0, 3), c(2, "ben", 2, 0), c(3, "cat", 1, 1)]
    chosen, passed, words = choose("round_robin", ["s", "s"], pool, last_agent=2)
    assert chosen is not None
    assert chosen.username == "cat"
    assert words == "load 1/4, next in rotation"
    assert passed == {1: "not next in rotation", 2: "not next in rotation"}
    wrapped, _, _ = choose("round_robin", [], pool, last_agent=3)
    assert wrapped is not None
    assert wrapped.username == "ann"


def test_least_loaded_compares_shares_of_capacity() -> None:
    pool = [c(1, "ann", load=3, capacity=8), c(2, "ben", load=2, capacity=4)]
    chosen, passed, words = choose("least_loaded", [], pool, last_agent=None)
    assert chosen is not None
    assert chosen.username == "ann"
    assert words == "load 3/8, least loaded"
    assert passed == {2: "more load 2/4"}


def test_skills_then_load_prefers_skills_over_load() -> None:
    pool = [c(1, "ann", skills=1, load=0), c(2, "ben", skills=2, load=3), c(3, "cat", skills=2, load=3)]
    chosen, passed, words = choose("skills_then_load", ["a", "b"], pool, last_agent=2)
    assert chosen is not None
    assert chosen.username == "cat"
    assert words == "skills 2/2, load 3/4, next in rotation"
    assert passed == {1: "fewer skills 1/2", 2: "not next in rotation"}


def test_nobody_available_chooses_nobody() -> None:
    assert choose("skills_then_load", ["a"], [], last_agent=None) == (None, {}, "")


AUTO = """
assignment:
  auto: true
  teams: {customer_care: round_robin}
  category_skills: {network: [vpn]}
"""


@pytest.fixture
def desk(tmp_path: Path, database_url: str) -> SeededDesk:
    """The shipped desk assigning automatically, its service desk staffed by test agents only."""
    _, compiled, engine = migrated_desk(tmp_path, database_url, AUTO)
    seeded = SeededDesk(compiled, engine, TicketService(compiled, engine))
    team = seeded.id_of("teams", "name", "service_desk")
    agents, members = compiled.table("agents"), compiled.table("team_members")
    now = dt.datetime.now(dt.UTC)
    people: list[tuple[str, list[str], dict[str, Any]]] = [
        ("ann", IT_SKILLS, {}), ("ben", IT_SKILLS, {}), ("cat", ["desktop"], {}),
        ("dan", IT_SKILLS, {"away": True}), ("eve", IT_SKILLS, {"active": False}),
        ("fox", IT_SKILLS, {"calendar": "berlin_office"}), ("gil", IT_SKILLS, {"capacity": 0}),
    ]
    with engine.begin() as connection:
        connection.execute(sa.delete(members).where(members.c.team_id == team))
        for name, skills, extra in people:
            row = {"username": name, "email": f"{name}@example.org", "name": name.title(), "roles": ["agent"],
                   "skills": skills, "capacity": 4, "away": False, "active": True, "created_at": now,
                   "updated_at": now} | extra
            agent = connection.execute(sa.insert(agents).values(**row).returning(agents.c.id)).scalar_one()
            connection.execute(sa.insert(members).values(team_id=team, agent_id=agent))
    return seeded


def _create(desk: SeededDesk, title: str, category: str | None = None) -> dict[str, Any]:
    team = desk.id_of("teams", "name", "service_desk")
    payload = {"title": title, "team_id": team} | ({"category": category} if category else {})
    return desk.service.create(desk.agent("alex"), "it_support", payload)


def _decisions(desk: SeededDesk, ticket_id: int) -> list[Any]:
    table = desk.compiled.table("ai_decisions")
    with desk.engine.connect() as connection:
        return list(connection.execute(sa.select(table).where(table.c.ticket_id == ticket_id)))


def test_new_tickets_are_assigned_explained_recorded_and_rotated(desk: SeededDesk) -> None:
    # fox works Berlin office hours, so whether fox is on duty depends on the clock: give fox no calendar here.
    desk.execute("UPDATE agents SET calendar = NULL WHERE username = 'fox'")
    desk.execute("UPDATE agents SET capacity = 0 WHERE username = 'fox'")
    first = _create(desk, "Laptop does not boot")
    ann, ben = desk.id_of("agents", "username", "ann"), desk.id_of("agents", "username", "ben")
    assert first["assignee_id"] == ann
    assert desk.service.get(SYSTEM, first["id"])["assignee_id"] == ann
    [decision] = _decisions(desk, first["id"])
    assert (decision.kind, decision.provider, decision.applied) == ("assignment", "rules", True)
    assert decision.explanation == (
        "ann: skills 3/3, load 0/4, next in rotation; passed over: ben (not next in rotation), "
        "cat (fewer skills 1/3), dan (away), eve (inactive), fox (at capacity 0/0), gil (at capacity 0/0)")
    assert decision.output["agent"] == "ann"
    assert decision.output["strategy"] == "skills_then_load"
    assert [x["username"] for x in decision.output["candidates"]] == ["ann", "ben", "cat", "dan", "eve", "fox", "gil"]
    events = desk.service.list_events(SYSTEM, first["id"])
    assert [(e["actor"], e["field"], e["new_value"]) for e in events if e["field"] == "assignee_id"] == [
        ("system:system", "assignee_id", ann)]

    second = _create(desk, "Printer jams")
    assert second["assignee_id"] == ben
    assert _decisions(desk, second["id"])[0].explanation.startswith("ben: skills 3/3, load 0/4, least loaded;")
    third = _create(desk, "Monitor flickers")
    assert third["assignee_id"] == ann
    assert _decisions(desk, third["id"])[0].explanation.startswith("ann: skills 3/3, load 1/4, next in rotation;")


def test_category_skills_and_calendar_decide(desk: SeededDesk) -> None:
    desk.execute("UPDATE agents SET away = TRUE WHERE username IN ('ann', 'ben', 'cat')")
    # Made without a team, so that the real clock (when it is created) does not assign it; decided for the team.
    made = desk.service.create(desk.agent("alex"), "it_support", {"title": "VPN drops", "category": "network"})
    ticket = made | {"team_id": desk.id_of("teams", "name", "service_desk")}
    assigner = assigner_for(desk.compiled)
    with desk.engine.connect() as connection:
        closed = assigner.decide(connection, ticket, SUNDAY)
        opened = assigner.decide(connection, ticket, MONDAY_MORNING)
    assert closed.agent_id is None
    assert closed.explanation == (
        "no agent available in service_desk: ann (away), ben (away), cat (away), dan (away), eve (inactive), "
        "fox (off duty (berlin_office closed)), gil (at capacity 0/0)")
    assert opened.username == "fox"
    assert opened.required == (*IT_SKILLS, "vpn")
    assert opened.explanation.startswith("fox: skills 3/4, load 0/4, the only agent available;")


def test_auto_assignment_leaves_tickets_without_team_or_with_assignee(desk: SeededDesk) -> None:
    alex = desk.agent("alex")
    no_team = desk.service.create(alex, "it_support", {"title": "No team"})
    assert no_team["assignee_id"] is None
    assert _decisions(desk, no_team["id"]) == []
    chosen = desk.service.create(alex, "it_support", {"title": "Mine", "team_id": desk.id_of(
        "teams", "name", "service_desk"), "assignee_id": alex.id})
    assert chosen["assignee_id"] == alex.id
    assert _decisions(desk, chosen["id"]) == []


def test_a_person_moving_an_assigned_ticket_marks_the_decision_overridden(desk: SeededDesk) -> None:
    made = _create(desk, "Dock is dead")
    [decision] = _decisions(desk, made["id"])
    assert (decision.applied, decision.overridden_by) == (True, None)
    ann = desk.agent("ann")  # a member of the service desk, who sees its tickets
    ben = desk.id_of("agents", "username", "ben")
    other = ben if made["assignee_id"] != ben else desk.id_of("agents", "username", "cat")
    desk.service.update(ann, made["id"], {"title": "Dock is dead (USB-C)", "version": made["version"]})
    assert _decisions(desk, made["id"])[0].overridden_by is None  # another field changed: the decision stands
    current = desk.service.get(ann, made["id"])
    desk.service.update(ann, made["id"], {"assignee_id": other, "version": current["version"]})
    assert _decisions(desk, made["id"])[0].overridden_by == "agent:ann"
