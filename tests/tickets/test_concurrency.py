"""Many writers at once: numbers stay unique and a stale version loses cleanly (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from runtime.tickets.errors import StaleVersion
from tests.tickets.service_fixtures import SeededDesk, seeded_desk


@pytest.fixture
def desk(tmp_path: Path, database_url: str) -> SeededDesk:
    return seeded_desk(tmp_path, database_url)


def test_fifty_parallel_creates_get_fifty_distinct_numbers(desk: SeededDesk) -> None:
    alex = desk.agent("alex")

    def create(index: int) -> str:
        return str(desk.service.create(alex, "customer_complaint", {"title": f"Complaint {index}",
                                                                    "complaint_level": "level_1"})["number"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        numbers = list(pool.map(create, range(50)))
    assert len(set(numbers)) == 50
    assert sorted(numbers) == [f"CC-{n:06d}" for n in range(3, 53)]  # the demo seeded CC-000001 and 2


def test_two_writers_with_one_version_one_wins_one_gets_a_conflict(desk: SeededDesk) -> None:
    alex = desk.agent("alex")
    ticket_id = int(desk.service.create(alex, "it_support", {"title": "Race"})["id"])
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def write(priority: str) -> None:
        start.wait()
        try:
            desk.service.update(alex, ticket_id, {"version": 1, "priority": priority})
            outcomes.append(f"won:{priority}")
        except StaleVersion:
            outcomes.append("conflict")

    threads = [threading.Thread(target=write, args=(p,)) for p in ("P0", "P3")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(o.split(":")[0] for o in outcomes) == ["conflict", "won"]
    winner = next(o for o in outcomes if o.startswith("won")).split(":")[1]
    ticket = desk.service.get(alex, ticket_id)
    assert (ticket["priority"], ticket["version"]) == (winner, 2)
