"""Ticket numbers for imported tickets: the one asked for when it is written as this desk writes its numbers
(the type's prefix, a hyphen, at least six digits) and is free, else the next of the type's counter. The counter
is raised past every number kept, so a later create never hands one out again."""

from __future__ import annotations

import re
from collections import defaultdict

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from runtime.compile.desk import CompiledDesk

_DIGITS = re.compile(r"^([A-Z][A-Z0-9]{1,5})-(\d{6,18})$")


def number_value(number: str | None, prefix: str) -> int | None:
    """The counter value ``number`` stands for under ``prefix``, or None when it is not written as ours."""
    found = _DIGITS.match(number or "")
    if found is None or found.group(1) != prefix:
        return None
    value = int(found.group(2))
    return value if f"{prefix}-{value:06d}" == number else None


class Numbers:
    def __init__(self, compiled: CompiledDesk, dialect_name: str) -> None:
        self.compiled = compiled
        counters = compiled.table("ticket_counters")
        dialect = postgresql if dialect_name == "postgresql" else sqlite
        insert = dialect.insert(counters)
        self._raise = insert.values(prefix=sa.bindparam("p"), last_number=sa.bindparam("n")).on_conflict_do_update(
            index_elements=["prefix"], set_={"last_number": sa.case(
                (counters.c.last_number > insert.excluded.last_number, counters.c.last_number),
                else_=insert.excluded.last_number)})
        self._bump = (sa.update(counters).where(counters.c.prefix == sa.bindparam("p"))
                      .values(last_number=counters.c.last_number + sa.bindparam("k", type_=sa.BigInteger()))
                      .returning(counters.c.last_number))
        self._start = insert.values(prefix=sa.bindparam("p"), last_number=0).on_conflict_do_nothing()

    def taken(self, connection: sa.Connection, numbers: list[str]) -> dict[str, object]:
        """Which of ``numbers`` this desk has, each with its ticket's creation time."""
        tickets = self.compiled.table("tickets")
        found: dict[str, object] = {}
        for start in range(0, len(numbers), 500):
            chunk = numbers[start:start + 500]
            query = sa.select(tickets.c.number, tickets.c.created_at).where(tickets.c.number.in_(chunk))
            found |= dict(connection.execute(query).all())
        return found

    def assign(self, connection: sa.Connection, wanted: list[tuple[str, int | None]]) -> list[str]:
        """A number for each (prefix, kept value or None) in this transaction: the kept ones as they are, new ones
        from the counters, which end past every number handed out or kept."""
        highest: dict[str, int] = {}
        for prefix, value in wanted:
            if value is not None:
                highest[prefix] = max(highest.get(prefix, 0), value)
        for prefix, value in highest.items():
            connection.execute(self._raise, {"p": prefix, "n": value})
        needed: dict[str, int] = defaultdict(int)
        for prefix, value in wanted:
            if value is None:
                needed[prefix] += 1
        next_of: dict[str, int] = {}
        for prefix, count in needed.items():
            last = connection.execute(self._bump, {"p": prefix, "k": count}).scalar()
            if last is None:
                connection.execute(self._start, {"p": prefix})
                last = connection.execute(self._bump, {"p": prefix, "k": count}).scalar_one()
            next_of[prefix] = last - count + 1
        numbers = []
        for prefix, value in wanted:
            if value is None:
                value = next_of[prefix]
                next_of[prefix] += 1
            numbers.append(f"{prefix}-{value:06d}")
        return numbers
