"""Lists across types: filters, cursor pages that neither skip nor repeat, counts that respect access."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.tickets.errors import InvalidTicket
from runtime.tickets.listing import ListQuery, list_tickets
from tests.tickets.service_fixtures import SeededDesk, seeded_desk


@pytest.fixture
def desk(tmp_path: Path, database_url: str) -> SeededDesk:
    desk = seeded_desk(tmp_path, database_url)
    alex = desk.agent("alex")
    team = desk.id_of("teams", "name", "service_desk")
    for index in range(12):
        desk.service.create(alex, "it_support", {
            "title": f"Laptop {index}", "team_id": team, "priority": ("P1", "P2", "P3")[index % 3],
            "tags": ["vip"] if index % 4 == 0 else [], "impact": "site" if index == 5 else "single_user",
            "assignee_id": alex.id if index % 2 else None})
    return desk


def numbers(desk: SeededDesk, username: str, **query: object) -> list[str]:
    with desk.engine.connect() as connection:
        page = list_tickets(connection, desk.compiled, desk.agent(username), ListQuery(**query))  # type: ignore[arg-type]
    return [str(t["number"]) for t in page.items]


def test_filters_combine(desk: SeededDesk) -> None:
    assert numbers(desk, "alex", equals={"type": "it_support", "priority": "P1"}, assignee="none") == [
        "IT-000009", "IT-000003"]
    assert numbers(desk, "alex", tags=("vip",)) == ["IT-000011", "IT-000007", "IT-000003"]
    assert numbers(desk, "alex", equals={"impact": "site"}) == ["IT-000008"]
    assert numbers(desk, "alex", text="LAPTOP 1") == ["IT-000014", "IT-000013", "IT-000004"]


def test_cursor_pages_cover_everything_once_in_order(desk: SeededDesk) -> None:
    seen: list[str] = []
    cursor = None
    with desk.engine.connect() as connection:
        while True:
            page = list_tickets(connection, desk.compiled, desk.agent("alex"),
                                ListQuery(sort="priority", cursor=cursor, limit=5))
            seen += [f"{t['priority']}:{t['number']}" for t in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
    assert len(seen) == len(set(seen)) == page.total
    assert [s.split(":")[0] for s in seen] == sorted(s.split(":")[0] for s in seen)


def test_lists_and_counts_hide_what_the_agent_may_not_see(desk: SeededDesk) -> None:
    with desk.engine.connect() as connection:
        alex_total = list_tickets(connection, desk.compiled, desk.agent("alex"), ListQuery()).total
        bea = list_tickets(connection, desk.compiled, desk.agent("bea"), ListQuery(equals={"type": "it_support"}))
    assert alex_total > bea.total
    assert all(t["team_id"] != desk.id_of("teams", "name", "service_desk") for t in bea.items)


@pytest.mark.parametrize(("query", "field"), [
    ({"sort": "title"}, "sort"), ({"limit": 0}, "limit"), ({"assignee": "bob"}, "assignee"),
    ({"equals": {"os_version": "1"}}, "os_version"), ({"cursor": "garbage"}, "cursor"),
])
def test_bad_parameters_are_refused_with_the_parameter_named(desk: SeededDesk, query: dict[str, object],
                                                             field: str) -> None:
    with pytest.raises(InvalidTicket) as caught, desk.engine.connect() as connection:
        list_tickets(connection, desk.compiled, desk.agent("alex"), ListQuery(**query))  # type: ignore[arg-type]
    assert caught.value.errors[0]["field"] == field


def _all_pages(desk: SeededDesk, sort: str, **query: object) -> list[str]:
    seen: list[str] = []
    cursor = None
    with desk.engine.connect() as connection:
        for _ in range(100):  # a broken cursor must fail the test, not loop forever
            page = list_tickets(connection, desk.compiled, desk.agent("alex"),
                                ListQuery(sort=sort, cursor=cursor, limit=3, **query))  # type: ignore[arg-type]
            seen += [str(t["number"]) for t in page.items]
            cursor = page.next_cursor
            if cursor is None:
                return seen
    pytest.fail(f"no last page after 100 pages: {seen[:10]}…")


@pytest.mark.parametrize("sort", ["-created_at", "created_at", "priority", "-number"])
def test_the_index_probe_gives_the_same_pages_as_the_plain_query(desk: SeededDesk, sort: str,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # A probe band of 4 rows is smaller than the table, so SQLite answers from the probe where it can.
    import runtime.tickets.listing as listing

    monkeypatch.setattr(listing, "PROBE_ROWS", 10**9)
    plain = _all_pages(desk, sort, equals={"priority": "P2"})
    monkeypatch.setattr(listing, "PROBE_ROWS", 4)
    assert _all_pages(desk, sort, equals={"priority": "P2"}) == plain
    assert len(plain) >= 5
