"""Ticket numbers taken several at a time (a shared transaction's creates of one type): consecutive, continuing the
counter, and starting a prefix that has no counter yet, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.db.engine import write_transaction
from runtime.tickets.numbers import TicketNumbers
from tests.tickets.service_fixtures import SeededDesk, seeded_desk


@pytest.fixture
def desk(tmp_path: Path, database_url: str) -> SeededDesk:
    return seeded_desk(tmp_path, database_url)


def test_numbers_taken_together_are_consecutive_and_continue_one_at_a_time(desk: SeededDesk) -> None:
    numbers = TicketNumbers(desk.compiled.table("ticket_counters"))
    with write_transaction(desk.engine) as connection:
        first = numbers.take(connection, "NEWP", 3)  # no counter row for the prefix yet
        one = numbers.take(connection, "NEWP", 1)
        more = numbers.take(connection, "NEWP", 4)
        after = numbers.next(connection, "NEWP")
    assert first == ["NEWP-000001", "NEWP-000002", "NEWP-000003"]
    assert one == ["NEWP-000004"]
    assert more == [f"NEWP-{n:06d}" for n in range(5, 9)]
    assert after == "NEWP-000009"


def test_numbers_taken_in_a_rolled_back_transaction_go_back(desk: SeededDesk) -> None:
    numbers = TicketNumbers(desk.compiled.table("ticket_counters"))
    with write_transaction(desk.engine) as connection:
        assert numbers.take(connection, "BACK", 2) == ["BACK-000001", "BACK-000002"]

    def take_then_fail() -> None:
        with write_transaction(desk.engine) as connection:
            numbers.take(connection, "BACK", 5)
            msg = "the write failed"
            raise RuntimeError(msg)

    with pytest.raises(RuntimeError):
        take_then_fail()
    with write_transaction(desk.engine) as connection:
        assert numbers.take(connection, "BACK", 2) == ["BACK-000003", "BACK-000004"]
