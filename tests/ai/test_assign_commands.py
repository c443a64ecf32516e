"""``cli.py assign rebalance``: a dry run prints the plan and changes nothing; a real run moves the tickets."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import cli
from runtime.tickets.actors import SYSTEM
from tests.tickets.service_fixtures import SeededDesk, seeded_desk


def _state(desk: SeededDesk) -> tuple[list[Any], int, int]:
    tickets, decisions = desk.compiled.table("tickets"), desk.compiled.table("ai_decisions")
    with desk.engine.connect() as connection:
        rows = list(connection.execute(sa.select(tickets.c.number, tickets.c.assignee_id, tickets.c.version)
                                       .order_by(tickets.c.id)))
        count = connection.execute(sa.select(sa.func.count()).select_from(decisions)).scalar_one()
        events = connection.execute(sa.text("SELECT count(*) FROM ticket_events")).scalar_one()
    return rows, count, events


def _run(desk: SeededDesk, url: str, *args: str) -> int:
    return cli.main(["--root", str(desk.compiled.root), "--database-url", url, "assign", "rebalance", *args])


def test_rebalance_dry_run_then_real_run(tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]
                                         ) -> None:
    desk = seeded_desk(tmp_path, database_url)
    team = desk.id_of("teams", "name", "service_desk")
    alex = desk.id_of("agents", "username", "alex")
    now = dt.datetime.now(dt.UTC)
    agents, members = desk.compiled.table("agents"), desk.compiled.table("team_members")
    with desk.engine.begin() as connection:
        ben = connection.execute(sa.insert(agents).values(
            username="ben", email="ben@example.org", name="Ben", roles=["agent"], skills=["desktop", "network"],
            capacity=8, away=False, active=True, created_at=now, updated_at=now).returning(agents.c.id)).scalar_one()
        connection.execute(sa.insert(members).values(team_id=team, agent_id=ben))
    # The shipped desk does not assign automatically: these stay unassigned.
    made = [desk.service.create(SYSTEM, "it_support", {"title": f"Unassigned {n}", "team_id": team})
            for n in (1, 2)]
    assert [t["assignee_id"] for t in made] == [None, None]
    # alex holds one ticket more than a capacity of 1 allows.
    desk.service.create(SYSTEM, "it_support", {"title": "Alex's", "team_id": team, "assignee_id": alex})
    desk.execute(f"UPDATE agents SET capacity = 1 WHERE id = {alex}")
    with desk.engine.connect() as connection:
        tickets = desk.compiled.table("tickets")
        alex_load = connection.execute(sa.select(sa.func.count()).select_from(tickets).where(
            tickets.c.assignee_id == alex, tickets.c.status_category.in_(("open", "paused")))).scalar_one()
    before = _state(desk)

    assert _run(desk, database_url, "--team", "service_desk", "--dry-run") == 0
    plan = capsys.readouterr().out
    assert plan.startswith("Dry run, nothing changed: rebalancing service_desk")
    assert f"{made[0]['number']}: unassigned -> ben (skills_then_load) ben: skills 2/3, load 0/8" in plan
    assert "passed over: alex (at capacity" in plan
    assert _state(desk) == before

    assert _run(desk, database_url, "--team", "service_desk") == 0
    done = capsys.readouterr().out
    assert done.splitlines()[1:] == [*plan.splitlines()[1:-1], done.splitlines()[-1]]
    rows, decisions, _ = _state(desk)
    assigned = {r.number: r.assignee_id for r in rows}
    assert [assigned[t["number"]] for t in made] == [ben, ben]
    moved = int(done.splitlines()[-1].split()[1])
    assert moved >= 2 + alex_load - 1 - sum(1 for line in done.splitlines() if "-> stays" in line)
    assert decisions == len(done.splitlines()) - 2


def test_rebalance_refuses_an_unknown_team(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path}/tessera.db"
    desk = seeded_desk(tmp_path, url)
    assert _run(desk, url, "--team", "nobody") == 2
    assert "--team 'nobody': no such team" in capsys.readouterr().err
