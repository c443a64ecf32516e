"""Who may do what to one ticket: every role against every operation, each cell asserted.

The ticket belongs to requester Maria and the service desk team. Roles: Maria (its requester), Aiko
(another requester), Bea (an agent of another team), Dana (an agent of the service desk), Alex (the
service desk's supervisor), Root (an admin). The rules live in the service layer, so the matrix is
checked there; the API maps the outcomes to the same statuses (see tests/web/test_tickets_api.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from runtime.tickets.actors import Actor
from runtime.tickets.errors import TicketError
from runtime.tickets.listing import ListQuery, list_tickets
from tests.tickets.service_fixtures import SeededDesk, seeded_desk

ROLES = ("maria", "aiko", "bea", "dana", "alex", "root")
Operation = Callable[[SeededDesk, Actor, int], Any]


def _add_agent(desk: SeededDesk, username: str, roles: list[str], team: str | None) -> None:
    agents, members = desk.compiled.table("agents"), desk.compiled.table("team_members")
    now = dt.datetime.now(dt.UTC)
    with desk.engine.begin() as connection:
        agent_id = connection.execute(sa.insert(agents).values(
            username=username, email=f"{username}@example.org", name=username.title(), roles=roles, skills=[],
            capacity=5, away=False, active=True, created_at=now, updated_at=now).returning(agents.c.id)).scalar_one()
        if team:
            connection.execute(sa.insert(members).values(team_id=desk.id_of("teams", "name", team), agent_id=agent_id))


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory, module_database_url: str) -> SeededDesk:
    desk = seeded_desk(tmp_path_factory.mktemp("matrix"), module_database_url)
    _add_agent(desk, "dana", ["agent"], "service_desk")
    _add_agent(desk, "root", ["admin"], None)
    return desk


def actor(desk: SeededDesk, role: str) -> Actor:
    if role in ("maria", "aiko"):
        email = {"maria": "maria.lopez@northwind.example.org", "aiko": "aiko.tanaka@example.org"}[role]
        return desk.contact(email)
    return desk.agent(role)


def fresh_ticket(desk: SeededDesk) -> int:
    maria = desk.contact("maria.lopez@northwind.example.org")
    ticket = desk.service.create(desk.agent("alex"), "it_support", {
        "title": "Matrix", "requester_id": maria.id, "team_id": desk.id_of("teams", "name", "service_desk")})
    desk.service.comment(desk.agent("alex"), int(ticket["id"]), "internal remark", public=False)
    return int(ticket["id"])


def _count(desk: SeededDesk, who: Actor, ticket_id: int) -> int:
    with desk.engine.connect() as connection:
        page = list_tickets(connection, desk.compiled, who, ListQuery(text="matrix", limit=200))
    return sum(1 for t in page.items if t["id"] == ticket_id)


OPERATIONS: dict[str, Operation] = {
    "read": lambda d, a, t: d.service.get(a, t),
    "listed": lambda d, a, t: 200 if _count(d, a, t) == 1 else 404,
    "update": lambda d, a, t: d.service.update(a, t, {"version": 1, "priority": "P1"}),
    "assign": lambda d, a, t: d.service.transition(a, t, "assign", 1, {"assignee_id": d.id_of("agents", "username",
                                                                                              "alex")}),
    "cancel": lambda d, a, t: d.service.transition(a, t, "cancel", 1),
    "reply": lambda d, a, t: d.service.comment(a, t, "public reply"),
    "note": lambda d, a, t: d.service.comment(a, t, "internal note", public=False),
    "sees_notes": lambda d, a, t: 200 if any(not c["public"] for c in d.service.list_comments(a, t)) else 0,
    "events": lambda d, a, t: d.service.list_events(a, t),
}
# Expected outcome per operation, in the order of ROLES: 200 allowed, 0 allowed but nothing internal shown,
# 403 refused, 404 not visible, 409 refused by the workflow.
EXPECTED = {
    "read":       (200, 404, 404, 200, 200, 200),
    "listed":     (200, 404, 404, 200, 200, 200),
    "update":     (403, 403, 404, 200, 200, 200),
    "assign":     (403, 404, 404, 200, 200, 200),
    "cancel":     (409, 404, 404, 409, 200, 200),
    "reply":      (200, 404, 404, 200, 200, 200),
    "note":       (403, 403, 404, 200, 200, 200),
    "sees_notes": (0, 404, 404, 200, 200, 200),
    "events":     (403, 403, 404, 200, 200, 200),
}
CELLS = [(op, role, EXPECTED[op][i]) for op in OPERATIONS for i, role in enumerate(ROLES)]


@pytest.mark.parametrize(("operation", "role", "expected"), CELLS, ids=[f"{o}-{r}" for o, r, _ in CELLS])
def test_access_cell(desk: SeededDesk, operation: str, role: str, expected: int) -> None:
    ticket_id = fresh_ticket(desk)
    try:
        result = OPERATIONS[operation](desk, actor(desk, role), ticket_id)
        outcome = result if isinstance(result, int) else 200
    except TicketError as exc:
        outcome = exc.status
    assert outcome == expected


def test_matrix_covers_every_role_and_operation() -> None:
    assert all(len(row) == len(ROLES) for row in EXPECTED.values())
    assert set(EXPECTED) == set(OPERATIONS)
